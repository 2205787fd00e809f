/*
 * req.c - the edge's request handlers, shared by the HTTP event loop and the
 * Lambda runtime. A handler reads the request head (already parsed, slices
 * into the transport's buffer), decodes the query parameters it knows into a
 * fixed per-context arena, looks the channel up in LMDB through the
 * context's read transaction, runs the shared cmn_decide() over a zero-copy
 * view of the compiled record and fills a struct edge_resp whose header
 * values and small bodies live in the response's scratch area and whose large
 * body (the signed envelope) may point straight into the LMDB map. Nothing
 * here allocates; the transport serialises the response, then calls
 * edge_ctx_end() which resets the read transaction.
 */
#include "common/compat.h"

#include "common/log.h"
#include "common/str.h"
#include "common/ticket.h"
#include "edge.h"

#define MAX_SKIP 64

enum cmn_err edge_ctx_init(struct edge_ctx *c, const struct edge_config *cfg, struct edge_index *ix,
                           struct edge_sync_state *ss)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->ix = ix;
    c->ss = ss;
    c->view = calloc(1, sizeof(*c->view));
    if (!c->view)
        return CMN_E_NOMEM;
    c->mx = edge_metrics_register();
    return CMN_OK;
}

void edge_ctx_release(struct edge_ctx *c)
{
    if (c->txn)
        mdb_txn_abort(c->txn);
    c->txn = NULL;
    CMN_SAFEFREE(c->view);
}

static MDB_txn *ctx_txn(struct edge_ctx *c)
{
    if (c->txn_live)
        return c->txn;
    int mrc = c->txn ? mdb_txn_renew(c->txn) : mdb_txn_begin(c->ix->env, NULL, MDB_RDONLY, &c->txn);
    if (mrc) {
        cmn_error("cannot open a read transaction: %s", mdb_strerror(mrc));
        if (c->txn) {
            mdb_txn_abort(c->txn);
            c->txn = NULL;
        }
        return NULL;
    }
    c->txn_live = 1;
    return c->txn;
}

void edge_ctx_end(struct edge_ctx *c)
{
    if (c->txn_live) {
        mdb_txn_reset(c->txn);
        c->txn_live = 0;
    }
}

const char *edge_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* ---- response building (scratch-backed, never allocates) ---- */

static char *scratch_reserve(struct edge_resp *rs, size_t n)
{
    if (n > EDGE_SCRATCH - rs->used)
        return NULL;
    char *p = rs->scratch + rs->used;
    rs->used += n;
    return p;
}

static void add_header(struct edge_resp *rs, const char *name, const char *val, size_t len)
{
    if (rs->nh < EDGE_RESP_MAXH) {
        rs->h[rs->nh].name = name;
        rs->h[rs->nh].val = val;
        rs->h[rs->nh].len = len;
        rs->nh++;
    }
}

static void add_header_str(struct edge_resp *rs, const char *name, const char *val)
{
    add_header(rs, name, val, strlen(val));
}

/* Decimal digits of v at the end of t[24]; returns the start. */
static char *fmt_u64(char t[24], uint64_t v)
{
    char *p = t + 24;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

static void add_header_u64(struct edge_resp *rs, const char *name, uint64_t v)
{
    char *p = scratch_reserve(rs, 24);
    if (!p)
        return;
    char *s = fmt_u64(p, v);
    add_header(rs, name, s, (size_t)(p + 24 - s));
}

/* A writer appending to the free part of the scratch; `bad` set on overflow. */
struct sw {
    char *p;
    size_t n, cap;
    int bad;
};

static void sw_begin(struct sw *w, struct edge_resp *rs)
{
    w->p = rs->scratch + rs->used;
    w->n = 0;
    w->cap = EDGE_SCRATCH - rs->used;
    w->bad = 0;
}

static void sw_mem(struct sw *w, const char *s, size_t n)
{
    if (w->bad || n > w->cap - w->n) {
        w->bad = 1;
        return;
    }
    memcpy(w->p + w->n, s, n);
    w->n += n;
}

static void sw_str(struct sw *w, const char *s)
{
    sw_mem(w, s, strlen(s));
}

static void sw_u64(struct sw *w, uint64_t v)
{
    char t[24];
    char *s = fmt_u64(t, v);
    sw_mem(w, s, (size_t)(t + 24 - s));
}

/* JSON string content: runs copied as they are, the bytes that need it escaped by common/str.c's rule. */
static void sw_json_raw(struct sw *w, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const unsigned char *q = p;
        while (*q && *q >= 0x20 && *q != '"' && *q != '\\')
            q++;
        if (q > p) {
            sw_mem(w, (const char *)p, (size_t)(q - p));
            p = q;
            if (!*p)
                break;
        }
        char e[CMN_JSON_ESC_MAX];
        sw_mem(w, e, cmn_json_escape_char(*p, e));
    }
}

/* JSON string with its quotes. */
static void sw_json(struct sw *w, const char *s)
{
    sw_mem(w, "\"", 1);
    sw_json_raw(w, s);
    sw_mem(w, "\"", 1);
}

/* Finish: the written bytes become the body. */
static void sw_body(struct sw *w, struct edge_resp *rs)
{
    if (w->bad) {
        rs->status = 500;
        rs->body = "{\"error\":{\"code\":\"internal\",\"message\":\"response too large\"}}";
        rs->body_len = strlen(rs->body);
        return;
    }
    rs->body = w->p;
    rs->body_len = w->n;
    rs->used += w->n;
}

static void json_error(struct edge_resp *rs, int status, const char *code, const char *msg)
{
    struct sw w;
    rs->status = status;
    rs->nh = 0;
    add_header_str(rs, "Content-Type", "application/json");
    add_header_str(rs, "Cache-Control", "no-store");
    sw_begin(&w, rs);
    sw_str(&w, "{\"error\":{\"code\":");
    sw_json(&w, code);
    sw_str(&w, ",\"message\":");
    sw_json(&w, msg);
    sw_str(&w, "}}");
    sw_body(&w, rs);
}

/* ---- parameters ---- */

struct param {
    const char *name;
    const char *val; /* decoded, NUL-terminated, in the arena; NULL when absent */
    size_t len;
};

/* Decode the known parameters. Returns 0, or -1 after filling a 400. */
static int parse_params(struct edge_ctx *c, struct cmn_slice q, struct param *ps, size_t n, struct edge_resp *rs)
{
    struct cmn_slice rest = q, k, v;
    char msg[160];
    size_t nl[8];
    for (size_t i = 0; i < n && i < CMN_ARRAY_SIZE(nl); i++)
        nl[i] = ps[i].name ? strlen(ps[i].name) : 0;
    while (cmn_query_next(&rest, &k, &v)) {
        for (size_t i = 0; i < n && i < CMN_ARRAY_SIZE(nl); i++) {
            if (!ps[i].name || k.n != nl[i] || memcmp(k.p, ps[i].name, k.n) != 0)
                continue;
            if (ps[i].val) {
                snprintf(msg, sizeof(msg), "parameter '%s' given twice", ps[i].name);
                json_error(rs, 400, "bad_request", msg);
                return -1;
            }
            size_t room = sizeof(c->arena) - c->arena_used;
            char *out = c->arena + c->arena_used;
            long len = cmn_pct_decode(v, out, room, 1); /* the arena bounds all values together */
            if (len < 0) {
                snprintf(msg, sizeof(msg), "parameter '%s' is malformed or too long", ps[i].name);
                json_error(rs, 400, "bad_request", msg);
                return -1;
            }
            ps[i].val = out;
            ps[i].len = (size_t)len;
            c->arena_used += (size_t)len + 1;
            break;
        }
    }
    return 0;
}

static int need_id(struct param *p, int required, struct edge_resp *rs)
{
    char msg[160];
    if (!p->val) {
        if (!required)
            return 0;
        snprintf(msg, sizeof(msg), "missing parameter '%s'", p->name);
        json_error(rs, 400, "bad_request", msg);
        return -1;
    }
    if (!cmn_id_valid_n(p->val, p->len)) {
        snprintf(msg, sizeof(msg), "parameter '%s' must match [A-Za-z0-9._-]{1,64}, not starting with '.'", p->name);
        json_error(rs, 400, "bad_request", msg);
        return -1;
    }
    return 0;
}

static int need_device(struct param *p, struct edge_resp *rs)
{
    char msg[160];
    if (!p->val || !edge_valid_device(p->val, p->len)) {
        snprintf(msg, sizeof(msg), "%s parameter '%s' (1..128 printable characters)", p->val ? "invalid" : "missing",
                 p->name);
        json_error(rs, 400, "bad_request", msg);
        return -1;
    }
    return 0;
}

static int need_version(struct param *p, struct edge_resp *rs)
{
    char msg[160];
    struct cmn_semver sv;
    if (!p->val || p->len > 64 || cmn_semver_parse(p->val, &sv) != CMN_OK) {
        snprintf(msg, sizeof(msg), "%s parameter '%s' (a version like 1.2.3)", p->val ? "invalid" : "missing", p->name);
        json_error(rs, 400, "bad_request", msg);
        return -1;
    }
    return 0;
}

/* ---- the decision ---- */

static int list_member(void *ctx, const char *list, const char *device_id)
{
    struct edge_ctx *c = ctx;
    return c->txn_live && edge_index_list_has(c->ix, c->txn, list, device_id);
}

/* Look up the channel record and build the device's view. Returns 0 or fills an error response. */
static int load_view(struct edge_ctx *c, const char *app, const char *platform, const char *channel, const char *device,
                     struct edge_resp *rs, enum edge_outcome *oc)
{
    char key[3 * CMN_ID_MAX + 4];
    MDB_txn *txn = ctx_txn(c);
    if (!txn) {
        json_error(rs, 503, "unavailable", "index unavailable");
        *oc = EDGE_OUT_ERROR;
        return -1;
    }
    size_t kn = edge_manifest_key(app, platform, channel, key, sizeof(key));
    MDB_val k = {kn, key}, v;
    int mrc = mdb_get(txn, c->ix->manifests, &k, &v);
    if (mrc == MDB_NOTFOUND) {
        json_error(rs, 404, "not_found", "unknown app/platform/channel");
        *oc = EDGE_OUT_NOTFOUND;
        return -1;
    }
    if (mrc || edge_rec_view_cached(v.mv_data, v.mv_size, mdb_txn_id(txn), device, c->view) != CMN_OK) {
        cmn_error("index record '%s' is unreadable", key);
        json_error(rs, 500, "internal", "index record unreadable");
        *oc = EDGE_OUT_ERROR;
        return -1;
    }
    if ((int64_t)time(NULL) >= c->view->hdr.expires_at) {
        json_error(rs, 503, "manifest_expired", "the channel's manifest has expired and no newer one was synced");
        *oc = EDGE_OUT_EXPIRED;
        return -1;
    }
    return 0;
}

/* Seed endpoints report versions, not release ids: map a label (or an id) to the release id. */
static const char *resolve_current(const struct cmn_manifest *m, const char *cur)
{
    if (!cur || !*cur)
        return NULL;
    for (size_t i = 0; i < m->n_releases; i++)
        if (strcmp(m->releases[i].id, cur) == 0)
            return m->releases[i].id;
    for (size_t i = m->n_releases; i-- > 0;)
        if (strcmp(m->releases[i].version, cur) == 0)
            return m->releases[i].id;
    return cur;
}

static int decide(struct edge_ctx *c, struct cmn_device *dev, struct cmn_decision *d, struct edge_resp *rs,
                  enum edge_outcome *oc)
{
    enum cmn_err rc = cmn_decide(&c->view->m, dev, list_member, c, d);
    if (rc == CMN_E_INVAL) {
        json_error(rs, 400, "bad_request", "invalid device_id or binary version");
        *oc = EDGE_OUT_BAD;
        return -1;
    }
    if (rc) {
        json_error(rs, 500, "internal", cmn_strerror(rc));
        *oc = EDGE_OUT_ERROR;
        return -1;
    }
    if (d->kind == CMN_DECIDE_UPDATE && d->index >= c->view->m.n_releases) {
        json_error(rs, 500, "internal", "decision out of range");
        *oc = EDGE_OUT_ERROR;
        return -1;
    }
    *oc = d->kind == CMN_DECIDE_UPDATE     ? EDGE_OUT_UPDATE
          : d->kind == CMN_DECIDE_ROLLBACK ? EDGE_OUT_ROLLBACK
                                           : EDGE_OUT_NONE;
    return 0;
}

/*
 * ---- the check pipeline ----
 *
 * /v1/check, /update/check and /api/firmware/check are one pipeline, parse
 * the parameters -> validate -> look the channel up -> decide -> answer, and
 * three dialects that differ only in their parameter names, a few rules
 * (default channel, what "current" means, where the binary version comes
 * from) and the shape of the answer. Everything stays on the stack and in
 * the context's arena: no allocation on this path.
 */

/* The roles a check parameter can play; a dialect names the ones it has. */
enum role { Q_APP, Q_PLATFORM, Q_CHANNEL, Q_BINARY, Q_DEVICE, Q_CURRENT, Q_SKIP, Q_HW, Q__N };

struct dialect {
    const char *names[Q__N];     /* query parameter per role; NULL: the dialect does not have it */
    const char *default_channel; /* when the channel is absent; NULL: required */
    int current_is_label;        /* Q_CURRENT is a version label (mapped to a release), not a release id */
    int binary_from_hw;          /* no Q_BINARY: the hardware version, else the current version, is checked
                                    against target ranges (and the device is validated first) */
    void (*answer)(struct edge_ctx *c, const struct param *ps, const struct cmn_decision *d, struct edge_resp *rs);
};

/* Validate the decoded parameters in the dialect's order; *bin is the binary version to decide with. */
static int check_params(const struct dialect *dl, struct param *ps, const struct param **bin, const char **skip,
                        size_t *nskip, struct edge_resp *rs)
{
    if (!ps[Q_CHANNEL].val && dl->default_channel)
        ps[Q_CHANNEL].val = dl->default_channel, ps[Q_CHANNEL].len = strlen(dl->default_channel);
    if (need_id(&ps[Q_APP], 1, rs) || need_id(&ps[Q_PLATFORM], 1, rs) || need_id(&ps[Q_CHANNEL], 1, rs))
        return -1;
    if (dl->binary_from_hw) {
        /* The native-range check runs against the hardware/bootloader version when given. */
        struct param *b = ps[Q_HW].val ? &ps[Q_HW] : &ps[Q_CURRENT];
        *bin = b;
        if (need_device(&ps[Q_DEVICE], rs) || need_version(b, rs))
            return -1;
    } else {
        *bin = &ps[Q_BINARY];
        if (need_version(&ps[Q_BINARY], rs) || need_device(&ps[Q_DEVICE], rs))
            return -1;
    }
    if (dl->current_is_label) {
        if (ps[Q_CURRENT].val && ps[Q_CURRENT].len > 64) {
            char msg[160];
            snprintf(msg, sizeof(msg), "parameter '%s' is too long", ps[Q_CURRENT].name);
            json_error(rs, 400, "bad_request", msg);
            return -1;
        }
    } else if (ps[Q_CURRENT].val && ps[Q_CURRENT].len && need_id(&ps[Q_CURRENT], 1, rs)) {
        return -1;
    }
    *nskip = 0;
    if (ps[Q_SKIP].val && ps[Q_SKIP].len) {
        /* split in place: the arena copy is ours */
        char *s = (char *)ps[Q_SKIP].val;
        for (;;) {
            char *comma = strchr(s, ',');
            if (comma)
                *comma = '\0';
            if (*nskip == MAX_SKIP || !cmn_id_valid_n(s, strlen(s))) {
                json_error(rs, 400, "bad_request", "parameter 'skip' must be up to 64 comma-separated release ids");
                return -1;
            }
            skip[(*nskip)++] = s;
            if (!comma)
                break;
            s = comma + 1;
        }
    }
    return 0;
}

/*
 * An offer carries a telemetry ticket (common/ticket.h) in X-HotPatch-Ticket,
 * whatever the dialect: the device attaches it to its reports about this
 * release, and only ticketed reports count toward the publisher's auto-halt.
 * Without --ticket-key, or when the scratch is full, the offer goes out
 * without one (the reports are then stored but never halt a release).
 */
static void add_ticket(struct edge_ctx *c, const struct param *ps, const char *release, struct edge_resp *rs)
{
    const struct edge_config *cfg = c->cfg;
    if (!cfg->ticket_key)
        return;
    size_t used = rs->used, tl = 0;
    char *t = scratch_reserve(rs, CMN_TICKET_MAX + 1);
    if (!t || cmn_ticket_issue(cfg->ticket_key, ps[Q_APP].val, ps[Q_PLATFORM].val, ps[Q_CHANNEL].val, release,
                               ps[Q_DEVICE].val, (int64_t)time(NULL) + cfg->ticket_ttl_s, t, CMN_TICKET_MAX + 1,
                               &tl) != CMN_OK) {
        rs->used = used;
        return;
    }
    rs->used = used + tl + 1;
    add_header(rs, "X-HotPatch-Ticket", t, tl);
}

static enum edge_outcome run_check(struct edge_ctx *c, const struct dialect *dl, const struct edge_reqin *rq,
                                   struct edge_resp *rs)
{
    struct param ps[Q__N];
    const struct param *bin = NULL;
    const char *skip[MAX_SKIP];
    size_t nskip = 0;
    enum edge_outcome oc = EDGE_OUT_BAD;
    for (size_t i = 0; i < Q__N; i++)
        ps[i] = (struct param){dl->names[i], NULL, 0};

    if (parse_params(c, rq->query, ps, Q__N, rs) || check_params(dl, ps, &bin, skip, &nskip, rs))
        return EDGE_OUT_BAD;
    if (load_view(c, ps[Q_APP].val, ps[Q_PLATFORM].val, ps[Q_CHANNEL].val, ps[Q_DEVICE].val, rs, &oc))
        return oc;
    const char *cur = dl->current_is_label                     ? resolve_current(&c->view->m, ps[Q_CURRENT].val)
                      : ps[Q_CURRENT].val && ps[Q_CURRENT].len ? ps[Q_CURRENT].val
                                                               : NULL;
    struct cmn_device dev = {.device_id = ps[Q_DEVICE].val,
                             .binary_version = bin->val,
                             .current_release = cur,
                             .blocklist = nskip ? skip : NULL,
                             .n_blocklist = nskip};
    struct cmn_decision d;
    if (decide(c, &dev, &d, rs, &oc))
        return oc;
    dl->answer(c, ps, &d, rs);
    if (d.kind == CMN_DECIDE_UPDATE && rs->status == 200)
        add_ticket(c, ps, c->view->rel[d.index].id, rs);
    return oc;
}

/* /v1/check: 204, or 200 with the signed envelope and the decision in headers. */
static void answer_v1(struct edge_ctx *c, const struct param *ps, const struct cmn_decision *d, struct edge_resp *rs)
{
    const struct edge_view *v = c->view;
    (void)ps;
    rs->nh = 0;
    add_header_str(rs, "Cache-Control", "private, no-store");
    add_header_u64(rs, "X-HotPatch-Sequence", v->hdr.sequence);
    if (d->kind == CMN_DECIDE_NONE) {
        rs->status = 204;
        return;
    }
    rs->status = 200;
    add_header_str(rs, "Content-Type", "application/json");
    add_header_str(rs, "ETag", v->hdr.etag);
    add_header_str(rs, "X-HotPatch-Decision", d->kind == CMN_DECIDE_UPDATE ? "update" : "rollback");
    if (d->kind == CMN_DECIDE_UPDATE)
        add_header_str(rs, "X-HotPatch-Release", v->rel[d->index].id);
    add_header_str(rs, "X-HotPatch-Mandatory", d->mandatory ? "1" : "0");
    rs->body = v->env;
    rs->body_len = v->hdr.env_len;
}

static void sw_bundle_url(struct sw *w, const struct edge_config *cfg, const char *url)
{
    const char *base = cfg->public_base;
    if (!base || strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
        sw_json(w, url);
        return;
    }
    /* "base" + "/" + "relative", without doubling or dropping the slash */
    size_t bl = strlen(base);
    int base_slash = bl && base[bl - 1] == '/';
    if (base_slash && url[0] == '/')
        url++;
    sw_mem(w, "\"", 1);
    sw_json_raw(w, base);
    if (!base_slash && url[0] != '/')
        sw_mem(w, "/", 1);
    sw_json_raw(w, url);
    sw_mem(w, "\"", 1);
}

static void seed_headers(struct edge_resp *rs, int status)
{
    rs->status = status;
    rs->nh = 0;
    add_header_str(rs, "Content-Type", "application/json");
    add_header_str(rs, "Cache-Control", "private, no-store");
}

/* /update/check (seeds 000/001 field names) */
static void answer_update(struct edge_ctx *c, const struct param *ps, const struct cmn_decision *d,
                          struct edge_resp *rs)
{
    struct sw w;
    (void)ps;
    seed_headers(rs, 200);
    sw_begin(&w, rs);
    if (d->kind == CMN_DECIDE_UPDATE) {
        const struct cmn_release *r = &c->view->rel[d->index];
        sw_str(&w, "{\"updateAvailable\":true,\"version\":");
        sw_json(&w, r->version);
        sw_str(&w, ",\"bundleUrl\":");
        sw_bundle_url(&w, c->cfg, r->bundle_url);
        sw_str(&w, ",\"hash\":");
        sw_json(&w, r->sha256);
        sw_str(&w, ",\"signature\":");
        sw_json(&w, r->bundle_sig);
        sw_str(&w, ",\"signatureKeyId\":");
        sw_json(&w, r->bundle_keyid);
        sw_str(&w, d->mandatory ? ",\"mandatory\":true" : ",\"mandatory\":false");
        sw_str(&w, ",\"releaseId\":");
        sw_json(&w, r->id);
        sw_str(&w, ",\"size\":");
        sw_u64(&w, r->size);
        sw_str(&w, "}");
    } else if (d->kind == CMN_DECIDE_ROLLBACK) {
        sw_str(&w, "{\"updateAvailable\":false,\"rollback\":true}");
    } else {
        sw_str(&w, "{\"updateAvailable\":false}");
    }
    sw_body(&w, rs);
}

/* /api/firmware/check (seed 002 field names) */
static void answer_firmware(struct edge_ctx *c, const struct param *ps, const struct cmn_decision *d,
                            struct edge_resp *rs)
{
    const char *current = ps[Q_CURRENT].val;
    struct sw w;
    seed_headers(rs, 200);
    sw_begin(&w, rs);
    if (d->kind == CMN_DECIDE_UPDATE) {
        const struct cmn_release *r = &c->view->rel[d->index];
        sw_str(&w, "{\"update_available\":true");
        if (current) {
            sw_str(&w, ",\"current_version\":");
            sw_json(&w, current);
        }
        sw_str(&w, ",\"latest_version\":");
        sw_json(&w, r->version);
        sw_str(&w, ",\"download_url\":");
        sw_bundle_url(&w, c->cfg, r->bundle_url);
        sw_str(&w, ",\"file_size\":");
        sw_u64(&w, r->size);
        sw_str(&w, ",\"checksum_sha256\":");
        sw_json(&w, r->sha256);
        sw_str(&w, ",\"release_notes\":");
        sw_json(&w, r->notes ? r->notes : "");
        sw_str(&w, ",\"signature\":");
        sw_json(&w, r->bundle_sig);
        sw_str(&w, d->mandatory ? ",\"mandatory\":true" : ",\"mandatory\":false");
        sw_str(&w, ",\"release_id\":");
        sw_json(&w, r->id);
        sw_str(&w, "}");
    } else {
        sw_str(&w, "{\"update_available\":false");
        if (d->kind == CMN_DECIDE_ROLLBACK)
            sw_str(&w, ",\"rollback\":true");
        if (current) {
            sw_str(&w, ",\"current_version\":");
            sw_json(&w, current);
        }
        sw_str(&w, "}");
    }
    sw_body(&w, rs);
}

/* The three dialects: only names, rules and answers differ. */
static const struct dialect DIALECT_V1 = {
    .names = {[Q_APP] = "app",
              [Q_PLATFORM] = "platform",
              [Q_CHANNEL] = "channel",
              [Q_BINARY] = "binary_version",
              [Q_DEVICE] = "device",
              [Q_CURRENT] = "release",
              [Q_SKIP] = "skip"},
    .answer = answer_v1,
};
static const struct dialect DIALECT_UPDATE = {
    .names = {[Q_APP] = "appId",
              [Q_PLATFORM] = "platform",
              [Q_CHANNEL] = "channel",
              [Q_BINARY] = "binaryVersion",
              [Q_DEVICE] = "deviceId",
              [Q_CURRENT] = "currentVersion"},
    .default_channel = "production",
    .current_is_label = 1,
    .answer = answer_update,
};
static const struct dialect DIALECT_FIRMWARE = {
    .names = {[Q_APP] = "app",
              [Q_PLATFORM] = "platform",
              [Q_CHANNEL] = "channel",
              [Q_DEVICE] = "device_id",
              [Q_CURRENT] = "current_version",
              [Q_HW] = "hw_version"},
    .default_channel = "production",
    .current_is_label = 1,
    .binary_from_hw = 1,
    .answer = answer_firmware,
};

/* Does If-None-Match (a list of entity tags, or "*") match our strong ETag? Weak comparison (RFC 9110 13.1.2). */
static int etag_matches(struct cmn_slice inm, const char *etag)
{
    size_t el = strlen(etag), i = 0;
    while (i < inm.n) {
        while (i < inm.n && (inm.p[i] == ' ' || inm.p[i] == '\t' || inm.p[i] == ','))
            i++;
        if (i < inm.n && inm.p[i] == '*')
            return 1;
        if (i + 2 <= inm.n && inm.p[i] == 'W' && inm.p[i + 1] == '/')
            i += 2;
        size_t s = i;
        if (i < inm.n && inm.p[i] == '"') {
            i++;
            while (i < inm.n && inm.p[i] != '"')
                i++;
            if (i < inm.n)
                i++;
        } else {
            while (i < inm.n && inm.p[i] != ',')
                i++;
        }
        if (i - s == el && memcmp(inm.p + s, etag, el) == 0)
            return 1;
    }
    return 0;
}

/* GET /v1/manifests/<app>/<platform>/<channel>.json */
static void h_manifest(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs)
{
    static const char pre[] = "/v1/manifests/";
    struct cmn_slice p = {rq->path.p + sizeof(pre) - 1, rq->path.n - (sizeof(pre) - 1)};
    char ids[3][CMN_ID_MAX + 1];
    for (int i = 0; i < 3; i++) {
        const char *end = i < 2 ? memchr(p.p, '/', p.n) : (p.n > 5 ? p.p + p.n - 5 : NULL);
        if (!end || (i == 2 && memcmp(end, ".json", 5) != 0) || !cmn_id_valid_n(p.p, (size_t)(end - p.p))) {
            json_error(rs, 404, "not_found", "want /v1/manifests/<app>/<platform>/<channel>.json");
            return;
        }
        memcpy(ids[i], p.p, (size_t)(end - p.p));
        ids[i][end - p.p] = '\0';
        size_t adv = (size_t)(end - p.p) + 1;
        p.p += adv;
        p.n = p.n >= adv ? p.n - adv : 0;
    }
    MDB_txn *txn = ctx_txn(c);
    if (!txn) {
        json_error(rs, 503, "unavailable", "index unavailable");
        return;
    }
    char key[3 * CMN_ID_MAX + 4];
    size_t kn = edge_manifest_key(ids[0], ids[1], ids[2], key, sizeof(key));
    MDB_val k = {kn, key}, v;
    struct edge_rec_hdr hb, *h = &hb; /* not the view's: that one may be cached for /v1/check */
    int mrc = mdb_get(txn, c->ix->manifests, &k, &v);
    if (mrc == MDB_NOTFOUND) {
        json_error(rs, 404, "not_found", "unknown app/platform/channel");
        return;
    }
    if (mrc || edge_rec_header(v.mv_data, v.mv_size, h) != CMN_OK) {
        json_error(rs, 500, "internal", "index record unreadable");
        return;
    }
    rs->nh = 0;
    add_header_str(rs, "Cache-Control", "public, max-age=30");
    {
        /* hb lives on this stack frame: the header value must be copied into the response */
        size_t el = strlen(h->etag);
        char *e = scratch_reserve(rs, el + 1);
        if (e) {
            memcpy(e, h->etag, el + 1);
            add_header(rs, "ETag", e, el);
        }
    }
    add_header_u64(rs, "X-HotPatch-Sequence", h->sequence);
    if (rq->if_none_match.n && etag_matches(rq->if_none_match, h->etag)) {
        rs->status = 304;
        return;
    }
    rs->status = 200;
    add_header_str(rs, "Content-Type", "application/json");
    rs->body = (const char *)v.mv_data + h->off_env;
    rs->body_len = h->env_len;
}

/* POST /v1/sync with Authorization: Bearer <HOTPATCH_SYNC_TOKEN> */
static void h_sync(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs)
{
    if (!cmn_slice_eq(rq->method, "POST")) {
        json_error(rs, 405, "method_not_allowed", "use POST");
        add_header_str(rs, "Allow", "POST");
        return;
    }
    if (!c->cfg->sync_token || !c->cfg->sync_token[0]) {
        json_error(rs, 403, "disabled", "sync endpoint disabled: HOTPATCH_SYNC_TOKEN is not set");
        return;
    }
    struct cmn_slice a = rq->authorization;
    int good = 0;
    if (a.n > 7 && cmn_slice_ieq((struct cmn_slice){a.p, 7}, "bearer ")) {
        /* Compare digests so the comparison is constant-time whatever the lengths. */
        uint8_t got[CMN_SHA256_BYTES], want[CMN_SHA256_BYTES];
        size_t off = 7;
        while (off < a.n && a.p[off] == ' ')
            off++;
        cmn_sha256(a.p + off, a.n - off, got);
        cmn_sha256(c->cfg->sync_token, strlen(c->cfg->sync_token), want);
        good = cmn_ct_equal(got, want, sizeof(got));
        cmn_wipe(got, sizeof(got));
        cmn_wipe(want, sizeof(want));
    }
    if (!good) {
        json_error(rs, 401, "unauthorized", "missing or wrong bearer token");
        add_header_str(rs, "WWW-Authenticate", "Bearer");
        return;
    }
    uint64_t pass = c->trigger ? c->trigger(c->trigger_arg) : 0;
    struct sw w;
    rs->status = 202;
    rs->nh = 0;
    add_header_str(rs, "Content-Type", "application/json");
    add_header_str(rs, "Cache-Control", "no-store");
    sw_begin(&w, rs);
    sw_str(&w, "{\"status\":\"scheduled\",\"pass\":");
    sw_u64(&w, pass);
    sw_str(&w, "}");
    sw_body(&w, rs);
}

static size_t count_manifests(struct edge_ctx *c)
{
    MDB_stat st;
    MDB_txn *txn = ctx_txn(c);
    if (!txn || mdb_stat(txn, c->ix->manifests, &st) != 0)
        return 0;
    return st.ms_entries;
}

/* Last successful sync: this process's memory, else what the index remembers from before a restart. */
static void sync_snapshot(struct edge_ctx *c, struct edge_sync_state *out)
{
    memset(out, 0, sizeof(*out));
    if (c->ss) {
        pthread_mutex_lock(&c->ss->mu);
        out->last_ok = c->ss->last_ok;
        out->last_at = c->ss->last_at;
        out->passes = c->ss->passes;
        out->failures = c->ss->failures;
        out->rejected = c->ss->rejected;
        out->last_rc = c->ss->last_rc;
        out->storage_requests = c->ss->storage_requests;
        out->full_passes = c->ss->full_passes;
        out->feed_changes = c->ss->feed_changes;
        out->snapshot_loaded = c->ss->snapshot_loaded;
        memcpy(out->last_msg, c->ss->last_msg, sizeof(out->last_msg));
        out->missing = c->ss->missing;
        out->refused_now = c->ss->refused_now;
        out->n_problems = c->ss->n_problems;
        memcpy(out->problems, c->ss->problems, sizeof(out->problems));
        pthread_mutex_unlock(&c->ss->mu);
    }
    MDB_txn *txn = ctx_txn(c);
    char t[32];
    if (txn && !out->last_ok && edge_meta_get(c->ix, txn, "sync.last_ok", t, sizeof(t)))
        out->last_ok = strtoll(t, NULL, 10);
    if (txn && !out->last_at && edge_meta_get(c->ix, txn, "sync.last_at", t, sizeof(t)))
        out->last_at = strtoll(t, NULL, 10);
    if (txn && !out->last_msg[0])
        edge_meta_get(c->ix, txn, "sync.last_result", out->last_msg, sizeof(out->last_msg));
}

static void h_health(struct edge_ctx *c, struct edge_resp *rs)
{
    struct edge_sync_state s;
    int64_t now = (int64_t)time(NULL);
    sync_snapshot(c, &s);
    size_t n = count_manifests(c);
    int64_t age = s.last_ok ? now - s.last_ok : -1;
    int64_t stale = c->cfg->poll_ms > 0 ? (int64_t)c->cfg->poll_ms * 10 / 1000 + 60 : 600;
    /* a manifest deleted from storage, or one storage holds that is refused, is degraded too (issue 12 #4) */
    const char *status = !s.last_ok && n == 0                                                       ? "empty"
                         : (s.last_rc != 0 || age < 0 || age > stale || s.missing || s.refused_now) ? "degraded"
                                                                                                    : "ok";
    struct sw w;
    rs->status = strcmp(status, "empty") == 0 ? 503 : 200;
    rs->nh = 0;
    add_header_str(rs, "Content-Type", "application/json");
    add_header_str(rs, "Cache-Control", "no-store");
    sw_begin(&w, rs);
    sw_str(&w, "{\"status\":");
    sw_json(&w, status);
    sw_str(&w, ",\"manifests\":");
    sw_u64(&w, n);
    sw_str(&w, ",\"index_age_s\":");
    if (age < 0)
        sw_str(&w, "-1");
    else
        sw_u64(&w, (uint64_t)age);
    sw_str(&w, ",\"last_sync\":{\"at\":");
    sw_u64(&w, (uint64_t)(s.last_at > 0 ? s.last_at : 0));
    sw_str(&w, ",\"ok_at\":");
    sw_u64(&w, (uint64_t)(s.last_ok > 0 ? s.last_ok : 0));
    sw_str(&w, ",\"result\":");
    sw_json(&w, s.last_msg[0] ? s.last_msg : "none");
    sw_str(&w, ",\"passes\":");
    sw_u64(&w, s.passes);
    sw_str(&w, ",\"failures\":");
    sw_u64(&w, s.failures);
    sw_str(&w, ",\"rejected\":");
    sw_u64(&w, s.rejected);
    sw_str(&w, "},\"missing\":");
    sw_u64(&w, s.missing);
    sw_str(&w, ",\"refused\":");
    sw_u64(&w, s.refused_now);
    sw_str(&w, ",\"problems\":[");
    for (unsigned i = 0; i < s.n_problems && i < EDGE_MAX_PROBLEMS; i++) {
        sw_str(&w, i ? ",{\"key\":" : "{\"key\":");
        sw_json(&w, s.problems[i].key);
        sw_str(&w, ",\"problem\":");
        sw_json(&w, s.problems[i].what);
        sw_str(&w, "}");
    }
    sw_str(&w, "]}");
    sw_body(&w, rs);
}

static void h_metrics(struct edge_ctx *c, struct edge_resp *rs)
{
    struct cmn_buf b;
    struct edge_sync_state snap;
    size_t n = count_manifests(c);
    sync_snapshot(c, &snap);
    cmn_buf_init(&b, EDGE_SCRATCH - rs->used - 1);
    if (edge_metrics_render(&b, &snap, (int64_t)time(NULL), n) != CMN_OK) {
        cmn_buf_release(&b);
        json_error(rs, 500, "internal", "cannot render metrics");
        return;
    }
    /* copy into scratch so the response owns no heap */
    char *p = scratch_reserve(rs, b.len);
    if (!p) {
        cmn_buf_release(&b);
        json_error(rs, 500, "internal", "metrics too large");
        return;
    }
    memcpy(p, b.ptr, b.len);
    rs->status = 200;
    rs->nh = 0;
    add_header_str(rs, "Content-Type", "text/plain; version=0.0.4");
    add_header_str(rs, "Cache-Control", "no-store");
    rs->body = p;
    rs->body_len = b.len;
    cmn_buf_release(&b);
}

static int is_get(const struct edge_reqin *rq, struct edge_resp *rs)
{
    if (cmn_slice_eq(rq->method, "GET"))
        return 1;
    if (cmn_slice_eq(rq->method, "HEAD")) {
        rs->head_only = 1;
        return 1;
    }
    json_error(rs, 405, "method_not_allowed", "use GET");
    add_header_str(rs, "Allow", "GET, HEAD");
    return 0;
}

enum edge_endpoint edge_handle(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs)
{
    rs->status = 500;
    rs->nh = 0;
    rs->body = NULL;
    rs->body_len = 0;
    rs->head_only = 0;
    rs->used = 0;
    c->arena_used = 0;

    struct cmn_slice p = rq->path;
    enum edge_endpoint ep = EDGE_EP_OTHER;
    enum edge_outcome oc = EDGE_OUT__COUNT;

    if (cmn_slice_eq(p, "/v1/check")) {
        ep = EDGE_EP_CHECK;
        oc = is_get(rq, rs) ? run_check(c, &DIALECT_V1, rq, rs) : EDGE_OUT_BAD;
    } else if (cmn_slice_eq(p, "/update/check")) {
        ep = EDGE_EP_UPDATE_CHECK;
        oc = is_get(rq, rs) ? run_check(c, &DIALECT_UPDATE, rq, rs) : EDGE_OUT_BAD;
    } else if (cmn_slice_eq(p, "/api/firmware/check")) {
        ep = EDGE_EP_FIRMWARE;
        oc = is_get(rq, rs) ? run_check(c, &DIALECT_FIRMWARE, rq, rs) : EDGE_OUT_BAD;
    } else if (p.n > 14 && memcmp(p.p, "/v1/manifests/", 14) == 0) {
        ep = EDGE_EP_MANIFEST;
        if (is_get(rq, rs))
            h_manifest(c, rq, rs);
    } else if (cmn_slice_eq(p, "/v1/sync")) {
        ep = EDGE_EP_SYNC;
        h_sync(c, rq, rs);
    } else if (cmn_slice_eq(p, "/healthz")) {
        ep = EDGE_EP_HEALTH;
        if (is_get(rq, rs))
            h_health(c, rs);
    } else if (cmn_slice_eq(p, "/metrics")) {
        ep = EDGE_EP_METRICS;
        if (is_get(rq, rs))
            h_metrics(c, rs);
    } else {
        json_error(rs, 404, "not_found", "no such endpoint");
    }
    if (oc != EDGE_OUT__COUNT)
        edge_metrics_count(c->mx, oc);
    return ep;
}
