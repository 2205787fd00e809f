/*
 * h_dashboard.c - the dashboard's static files: GET / is index.html, GET
 * /ui/<file> the scripts, styles and icon it loads (also at /favicon.ico), all compiled into the binary
 * (pub_assets.h). The pages talk to the same /v1 API as every other client,
 * signed in by a session cookie (h_session.c). The security headers (CSP with
 * no inline script, frame-ancestors 'none', nosniff) are added to every reply
 * by http.c.
 */
#include "common/compat.h"

#include "pub_assets.h"
#include "pub_handlers.h"

static void serve(const char *name, struct pub_resp *out)
{
    for (size_t i = 0; i < pub_n_assets; i++) {
        const struct pub_asset *a = &pub_assets[i];
        if (strcmp(a->name, name) != 0)
            continue;
        out->raw = malloc(a->len ? a->len : 1);
        if (!out->raw) {
            pub_err(out, 500, "internal", "out of memory");
            return;
        }
        memcpy(out->raw, a->data, a->len);
        out->raw_len = a->len;
        out->ctype = a->ctype;
        out->status = 200;
        /* small files: always revalidate, so a new publisher build is picked up at once */
        out->cache_control = "no-cache";
        return;
    }
    pub_err(out, 404, "not_found", "no dashboard file '%.64s'", name);
}

void pub_h_dash_index(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    serve("index.html", out);
}

void pub_h_dash_asset(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    /* /favicon.ico (browsers ask for it even on JSON pages) is the SVG icon */
    serve(r->nsegs > 1 ? r->segs[1] : "favicon.svg", out);
}
