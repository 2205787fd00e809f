/*
 * h_manifests.c - GET /v1/manifests/<app>/<platform>/<channel>[.json]: the
 * signed manifest as stored, with ETag and conditional GET (304).
 */
#include "common/compat.h"

#include "common/manifest.h"

#include "common/log.h"
#include "pub_handlers.h"

void pub_h_manifest(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *app = r->segs[2], *platform = r->segs[3];
    char channel[CMN_ID_MAX + 8];
    snprintf(channel, sizeof(channel), "%s", r->segs[4]);
    size_t cl = strlen(channel);
    if (cl > 5 && !strcmp(channel + cl - 5, ".json"))
        channel[cl - 5] = '\0';
    if (!pub_valid_id(platform) || !pub_valid_id(channel)) {
        pub_err(out, 400, "bad_request", "bad platform or channel");
        return;
    }
    PGresult *a = pub_h_app(c, r, app, out);
    if (!a)
        return;
    PQclear(a);
    char key[CMN_STORAGE_KEY_MAX], etag[CMN_ETAG_MAX] = "";
    struct cmn_errbuf eb = {0};
    struct cmn_storage *st = NULL;
    struct cmn_buf doc;
    cmn_buf_init(&doc, CMN_MANIFEST_MAX_BYTES);
    enum cmn_err rc = cmn_storage_manifest_key(app, platform, channel, key, sizeof(key));
    if (!rc)
        rc = pub_storage_open(s, &st, &eb);
    /* conditional GET: If-None-Match with the (quoted or bare) ETag -> 304 */
    char inm[CMN_ETAG_MAX] = "";
    const char *h = pub_req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (h) {
        size_t hl = strlen(h);
        if (hl >= 2 && h[0] == '"' && h[hl - 1] == '"' && hl - 2 < sizeof(inm))
            snprintf(inm, sizeof(inm), "%.*s", (int)(hl - 2), h + 1);
        else if (hl < sizeof(inm))
            snprintf(inm, sizeof(inm), "%s", h);
    }
    struct cmn_get_opts go = {0};
    go.if_none_match = inm[0] ? inm : NULL;
    if (!rc)
        rc = cmn_storage_get(st, key, &go, &doc, etag, &eb);
    cmn_storage_free(st);
    if (rc == CMN_E_NOT_MODIFIED) {
        out->status = 304;
        out->cache_control = "public, max-age=30";
        snprintf(out->etag, sizeof(out->etag), "\"%s\"", inm);
    } else if (rc == CMN_E_NOTFOUND) {
        pub_err(out, 404, "not_found", "no manifest for %s/%s/%s", app, platform, channel);
    } else if (rc) {
        pub_err(out, 503, "storage_unavailable", "%s", cmn_errmsg(&eb, rc));
    } else {
        out->status = 200;
        out->raw = cmn_buf_take(&doc, &out->raw_len);
        out->ctype = "application/json";
        out->cache_control = "public, max-age=30";
        snprintf(out->etag, sizeof(out->etag), "\"%s\"", etag);
    }
    cmn_buf_release(&doc);
}
