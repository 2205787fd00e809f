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
#include "check_int.h"
#include "common/ticket.h"

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
    case 302:
        return "Found";
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
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
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

void add_header_str(struct edge_resp *rs, const char *name, const char *val)
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

void sw_begin(struct sw *w, struct edge_resp *rs)
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

void sw_str(struct sw *w, const char *s)
{
    sw_mem(w, s, strlen(s));
}

void sw_u64(struct sw *w, uint64_t v)
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
void sw_json(struct sw *w, const char *s)
{
    sw_mem(w, "\"", 1);
    sw_json_raw(w, s);
    sw_mem(w, "\"", 1);
}

/* Finish: the written bytes become the body. */
void sw_body(struct sw *w, struct edge_resp *rs)
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

/* Start a JSON answer that no cache may keep: status, Content-Type, Cache-Control: no-store. */
static void json_head(struct edge_resp *rs, int status)
{
    rs->status = status;
    rs->nh = 0;
    add_header_str(rs, "Content-Type", "application/json");
    add_header_str(rs, "Cache-Control", "no-store");
}

void json_error(struct edge_resp *rs, int status, const char *code, const char *msg)
{
    struct sw w;
    json_head(rs, status);
    sw_begin(&w, rs);
    sw_str(&w, "{\"error\":{\"code\":");
    sw_json(&w, code);
    sw_str(&w, ",\"message\":");
    sw_json(&w, msg);
    sw_str(&w, "}}");
    sw_body(&w, rs);
}

/* ---- parameters ---- */

/* Decode the known parameters. Returns 0, or -1 after filling a 400. */
static int parse_params(struct edge_ctx *c, struct cmn_slice q, struct param *ps, size_t n, struct edge_resp *rs)
{
    struct cmn_slice rest = q, k, v;
    char msg[160];
    size_t nl[Q__N];
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
int load_view(struct edge_ctx *c, const char *app, const char *platform, const char *channel, const char *device,
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
const char *resolve_current(const struct cmn_manifest *m, const char *cur)
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

/* enum role and struct dialect: check_int.h (shared with the adapters in their own files) */

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
    } else if (dl->binary_optional && !ps[Q_BINARY].val) {
        /* seed 001: releases are published under the app's native version, so the current one stands for it */
        *bin = &ps[Q_VERSION];
        if (need_device(&ps[Q_DEVICE], rs) || need_version(&ps[Q_VERSION], rs))
            return -1;
    } else {
        *bin = &ps[Q_BINARY];
        if (need_version(&ps[Q_BINARY], rs) || need_device(&ps[Q_DEVICE], rs))
            return -1;
    }
    if (dl->names[Q_VERSION] && !ps[Q_CURRENT].val && ps[Q_VERSION].val)
        ps[Q_CURRENT] = ps[Q_VERSION]; /* `version` is the current version; `currentVersion` (older spelling) wins */
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

/* Seed 001 section 6 (monotonic versions): is `offered` newer than the device's `current` version?
 * Two versions compare as semver; anything else (an id, a label) only differs or not. */
static int newer_than(const char *offered, const char *current)
{
    struct cmn_semver a, b;
    if (strcmp(offered, current) == 0)
        return 0;
    if (cmn_semver_parse(offered, &a) != CMN_OK || cmn_semver_parse(current, &b) != CMN_OK)
        return 1;
    return cmn_semver_cmp(&a, &b) > 0;
}

/* Is the release the device reported (a resolved id) withdrawn (rolled back or disabled)? */
static int withdrawn(const struct cmn_manifest *m, const char *id)
{
    long i = id ? cmn_manifest_find(m, id) : -1;
    return i >= 0 && (m->releases[i].state == CMN_REL_ROLLED_BACK || m->releases[i].state == CMN_REL_DISABLED);
}

static int answer_update(struct edge_ctx *c, const struct edge_reqin *rq, const struct param *ps,
                         const struct cmn_decision *d, struct edge_resp *rs);
static int answer_firmware(struct edge_ctx *c, const struct edge_reqin *rq, const struct param *ps,
                           const struct cmn_decision *d, struct edge_resp *rs);

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

enum edge_outcome run_check(struct edge_ctx *c, const struct dialect *dl, const struct edge_reqin *rq,
                            struct edge_resp *rs)
{
    struct param ps[Q__N];
    const struct param *bin = NULL;
    const char *skip[MAX_SKIP];
    size_t nskip = 0;
    enum edge_outcome oc = EDGE_OUT_BAD;
    for (size_t i = 0; i < Q__N; i++)
        ps[i] = (struct param){dl->names[i], NULL, 0};

    if (parse_params(c, rq->query, ps, Q__N, rs))
        return EDGE_OUT_BAD;
    if (dl->model_maps_app && !ps[Q_APP].val && !ps[Q_PLATFORM].val) {
        /* seed 002 devices name their model, not an app: map it (--device-model, or the convention) */
        const struct edge_model *em;
        if (need_id(&ps[Q_MODEL], 1, rs))
            return EDGE_OUT_BAD;
        em = edge_model_find(c->cfg, ps[Q_MODEL].val);
        ps[Q_APP].val = em ? em->app : ps[Q_MODEL].val, ps[Q_APP].len = strlen(ps[Q_APP].val);
        ps[Q_PLATFORM].val = em ? em->platform : "firmware", ps[Q_PLATFORM].len = strlen(ps[Q_PLATFORM].val);
        if (!ps[Q_CHANNEL].val)
            ps[Q_CHANNEL].val = em ? em->channel : "production", ps[Q_CHANNEL].len = strlen(ps[Q_CHANNEL].val);
    } else {
        ps[Q_MODEL].val = NULL; /* answered with the app's own URLs */
    }
    if ((dl->prepare && dl->prepare(c, ps, rs)) || check_params(dl, ps, &bin, skip, &nskip, rs))
        return EDGE_OUT_BAD;
    if (load_view(c, ps[Q_APP].val, ps[Q_PLATFORM].val, ps[Q_CHANNEL].val, ps[Q_DEVICE].val, rs, &oc) ||
        (dl->admit && dl->admit(c, ps, rs, &oc)))
        return oc;
    const char *cur = dl->current                              ? dl->current(c, ps)
                      : dl->current_is_label                   ? resolve_current(&c->view->m, ps[Q_CURRENT].val)
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
    if (dl->forward_only && d.kind == CMN_DECIDE_UPDATE && ps[Q_CURRENT].val &&
        !newer_than(c->view->rel[d.index].version, ps[Q_CURRENT].val) &&
        (strcmp(c->view->rel[d.index].version, ps[Q_CURRENT].val) == 0 || !withdrawn(&c->view->m, cur))) {
        /* The seed's monotonic versions: never the version the device runs (no update loop), never an older one,
         * except the move off a withdrawn release to an older good one, which is our rollback. */
        d.kind = CMN_DECIDE_NONE;
        oc = EDGE_OUT_NONE;
    }
    if (dl->answer(c, rq, ps, &d, rs))
        oc = EDGE_OUT_BAD;
    else if (d.kind == CMN_DECIDE_UPDATE && rs->status == 200)
        add_ticket(c, ps, c->view->rel[d.index].id, rs);
    return oc;
}

/* /v1/check: 204, or 200 with the signed envelope and the decision in headers. */
static int answer_v1(struct edge_ctx *c, const struct edge_reqin *rq, const struct param *ps,
                     const struct cmn_decision *d, struct edge_resp *rs)
{
    const struct edge_view *v = c->view;
    (void)ps, (void)rq;
    rs->nh = 0;
    add_header_str(rs, "Cache-Control", "private, no-store");
    add_header_u64(rs, "X-HotPatch-Sequence", v->hdr.sequence);
    if (d->kind == CMN_DECIDE_NONE) {
        rs->status = 204;
        return 0;
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
    return 0;
}

/* A Host header we are willing to echo into a URL: host or [v6], optional :port. */
static int host_ok(struct cmn_slice h)
{
    if (h.n == 0 || h.n > 255)
        return 0;
    for (size_t i = 0; i < h.n; i++) {
        unsigned char ch = (unsigned char)h.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-' || ch == ':' || ch == '[' || ch == ']'))
            return 0;
    }
    return 1;
}

/* Seed clients download what bundleUrl names and know no base URL, so it must be
 * absolute: http(s):// URLs as they are; relative ones joined to --public-base, or
 * else to http://<Host>/ (the storage tree served on the edge's own origin, see
 * docs/compatibility.md). With neither (an HTTP/1.0 request or a Lambda event
 * without a Host header) the URL stays relative. Returns -1 for a Host header we
 * will not echo (the caller answers 400). */
int sw_bundle_url(struct sw *w, const struct edge_config *cfg, struct cmn_slice host, const char *url)
{
    const char *base = cfg->public_base;
    if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
        sw_json(w, url);
        return 0;
    }
    if (!base && host.n && !host_ok(host))
        return -1;
    sw_mem(w, "\"", 1);
    if (base) {
        /* "base" + "/" + "relative", without doubling or dropping the slash */
        size_t bl = strlen(base);
        int base_slash = bl && base[bl - 1] == '/';
        if (base_slash && url[0] == '/')
            url++;
        sw_json_raw(w, base);
        if (!base_slash && url[0] != '/')
            sw_mem(w, "/", 1);
    } else if (host.n) {
        sw_str(w, "http://");
        sw_mem(w, host.p, host.n);
        if (url[0] != '/')
            sw_mem(w, "/", 1);
    }
    sw_json_raw(w, url);
    sw_mem(w, "\"", 1);
    return 0;
}

static int bad_host(struct edge_resp *rs)
{
    json_error(rs, 400, "bad_request", "invalid Host header (want host[:port])");
    return -1;
}

void seed_headers(struct edge_resp *rs, int status)
{
    rs->status = status;
    rs->nh = 0;
    add_header_str(rs, "Content-Type", "application/json");
    add_header_str(rs, "Cache-Control", "private, no-store");
}

/* /update/check (seeds 000/001 field names). `signature` is the release's legacy
 * signature (Ed25519 over the raw SHA-256, seed 001) when the signed manifest
 * carries one, else our own bundle signature (see docs/compatibility.md). */
static int answer_update(struct edge_ctx *c, const struct edge_reqin *rq, const struct param *ps,
                         const struct cmn_decision *d, struct edge_resp *rs)
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
        if (sw_bundle_url(&w, c->cfg, rq->host, r->bundle_url))
            return bad_host(rs);
        sw_str(&w, ",\"hash\":");
        sw_json(&w, r->sha256);
        /* compiled into the record from the envelope the sync verified: no verification here */
        const char *legacy = r->legacy_signature;
        sw_str(&w, ",\"signature\":");
        sw_json(&w, legacy ? legacy : r->bundle_sig);
        sw_str(&w, ",\"signatureKeyId\":");
        sw_json(&w, r->bundle_keyid);
        sw_str(&w, legacy ? ",\"signatureKind\":\"legacy\"" : ",\"signatureKind\":\"hotpatch\"");
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
    return 0;
}

/* /api/firmware/check (seed 002 field names). A device that named its model gets
 * the seed's download path on this edge (absolute from the Host header), which
 * redirects to the object; one that named an app gets the object's URL. */
static int answer_firmware(struct edge_ctx *c, const struct edge_reqin *rq, const struct param *ps,
                           const struct cmn_decision *d, struct edge_resp *rs)
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
        if (ps[Q_MODEL].val) {
            if (rq->host.n && !host_ok(rq->host))
                return bad_host(rs);
            sw_mem(&w, "\"", 1);
            if (rq->host.n) {
                sw_str(&w, "http://");
                sw_mem(&w, rq->host.p, rq->host.n);
            }
            sw_str(&w, "/api/firmware/download/");
            sw_json_raw(&w, r->version);
            sw_str(&w, "?device_model=");
            sw_json_raw(&w, ps[Q_MODEL].val); /* an id: nothing to escape in a query */
            sw_mem(&w, "\"", 1);
        } else if (sw_bundle_url(&w, c->cfg, rq->host, r->bundle_url)) {
            return bad_host(rs);
        }
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
    return 0;
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
/* seed 000/001: `version` is the device's current version; binaryVersion is optional */
static const struct dialect DIALECT_UPDATE = {
    .names = {[Q_APP] = "appId",
              [Q_PLATFORM] = "platform",
              [Q_CHANNEL] = "channel",
              [Q_BINARY] = "binaryVersion",
              [Q_DEVICE] = "deviceId",
              [Q_CURRENT] = "currentVersion",
              [Q_VERSION] = "version"},
    .default_channel = "production",
    .current_is_label = 1,
    .binary_optional = 1,
    .forward_only = 1,
    .answer = answer_update,
};
/* seed 002: a device names device_model (mapped) or, our extension, app/platform */
static const struct dialect DIALECT_FIRMWARE = {
    .names = {[Q_APP] = "app",
              [Q_PLATFORM] = "platform",
              [Q_CHANNEL] = "channel",
              [Q_DEVICE] = "device_id",
              [Q_CURRENT] = "current_version",
              [Q_HW] = "hw_version",
              [Q_MODEL] = "device_model"},
    .default_channel = "production",
    .current_is_label = 1,
    .binary_from_hw = 1,
    .forward_only = 1,
    .model_maps_app = 1,
    .answer = answer_firmware,
};

/* ---- seed 002: device models, download, update-status ---- */

static int copy_id(char *dst, const char *s, size_t n)
{
    if (!cmn_id_valid_n(s, n))
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int edge_model_add(struct edge_config *cfg, const char *spec)
{
    struct edge_model em;
    const char *eq = strchr(spec, '=');
    if (!eq || cfg->n_models >= EDGE_MAX_MODELS || copy_id(em.model, spec, (size_t)(eq - spec)))
        return -1;
    const char *a = eq + 1, *s1 = strchr(a, '/');
    if (copy_id(em.app, a, s1 ? (size_t)(s1 - a) : strlen(a)))
        return -1;
    /* platform "firmware" by default, where the publisher's seed 002 admin API files firmware */
    const char *pl = s1 ? s1 + 1 : "firmware", *s2 = s1 ? strchr(pl, '/') : NULL;
    if (copy_id(em.platform, pl, s2 ? (size_t)(s2 - pl) : strlen(pl)))
        return -1;
    const char *ch = s2 ? s2 + 1 : "production";
    if (copy_id(em.channel, ch, strlen(ch)))
        return -1;
    if (edge_model_find(cfg, em.model))
        return -1;
    cfg->models[cfg->n_models++] = em;
    return 0;
}

const struct edge_model *edge_model_find(const struct edge_config *cfg, const char *model)
{
    for (size_t i = 0; i < cfg->n_models; i++)
        if (strcmp(cfg->models[i].model, model) == 0)
            return &cfg->models[i];
    return NULL;
}

/* The model's channel: its --device-model line, else app = model, platform "firmware", channel "production". */
static struct edge_model model_target(const struct edge_config *cfg, const char *model)
{
    const struct edge_model *em = edge_model_find(cfg, model);
    struct edge_model t;
    if (em)
        return *em;
    memset(&t, 0, sizeof(t));
    snprintf(t.model, sizeof(t.model), "%s", model);
    snprintf(t.app, sizeof(t.app), "%s", model);
    snprintf(t.platform, sizeof(t.platform), "firmware");
    snprintf(t.channel, sizeof(t.channel), "production");
    return t;
}

/* The newest release of the loaded view labelled `version` that is still offered (active or halted), or -1. */
static long find_version(const struct edge_view *v, const char *version)
{
    for (size_t i = v->m.n_releases; i-- > 0;)
        if (strcmp(v->m.releases[i].version, version) == 0 &&
            (v->m.releases[i].state == CMN_REL_ACTIVE || v->m.releases[i].state == CMN_REL_HALTED))
            return (long)i;
    return -1;
}

/* GET /api/firmware/download/<version>[?device_model=M]: 302 to the release's
 * object (absolute, as in the check answers). Without device_model, the one
 * configured --device-model is meant. Withdrawn releases are not served. */
static enum edge_outcome h_download(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs)
{
    static const char pre[] = "/api/firmware/download/";
    struct cmn_slice vs = {rq->path.p + sizeof(pre) - 1, rq->path.n - (sizeof(pre) - 1)};
    char version[CMN_ID_MAX + 1];
    struct param ps[1] = {{"device_model", 0, 0}};
    enum edge_outcome oc = EDGE_OUT_BAD;
    if (copy_id(version, vs.p, vs.n)) {
        json_error(rs, 404, "not_found", "want /api/firmware/download/<version>");
        return EDGE_OUT_NOTFOUND;
    }
    if (parse_params(c, rq->query, ps, 1, rs))
        return EDGE_OUT_BAD;
    struct edge_model t;
    if (ps[0].val) {
        if (need_id(&ps[0], 1, rs))
            return EDGE_OUT_BAD;
        t = model_target(c->cfg, ps[0].val);
    } else if (c->cfg->n_models == 1) {
        t = c->cfg->models[0];
    } else {
        json_error(rs, 400, "bad_request",
                   "missing parameter 'device_model' (needed unless exactly one --device-model is configured)");
        return EDGE_OUT_BAD;
    }
    if (load_view(c, t.app, t.platform, t.channel, "download", rs, &oc))
        return oc;
    long i = find_version(c->view, version);
    if (i < 0) {
        json_error(rs, 404, "not_found", "no such firmware version (or it was withdrawn)");
        return EDGE_OUT_NOTFOUND;
    }
    const struct cmn_release *r = &c->view->rel[i];
    struct sw w;
    seed_headers(rs, 302);
    sw_begin(&w, rs);
    if (sw_bundle_url(&w, c->cfg, rq->host, r->bundle_url))
        return bad_host(rs), EDGE_OUT_BAD;
    if (w.bad || w.n < 2) {
        json_error(rs, 500, "internal", "response too large");
        return EDGE_OUT_ERROR;
    }
    /* the Location is the quoted JSON string minus its quotes: the URL's bytes are ids and a
     * Host we checked, and --public-base, which the operator gave (JSON escapes nothing in a URL) */
    rs->used += w.n;
    add_header(rs, "Location", w.p + 1, w.n - 2);
    add_header_str(rs, "X-Checksum-SHA256", r->sha256);
    sw_begin(&w, rs);
    sw_str(&w, "{\"location\":");
    sw_mem(&w, rs->h[rs->nh - 2].val - 1, rs->h[rs->nh - 2].len + 2);
    sw_str(&w, ",\"checksum_sha256\":");
    sw_json(&w, r->sha256);
    sw_str(&w, "}");
    sw_body(&w, rs);
    return EDGE_OUT_UPDATE;
}

/*
 * What every relayed device report (seed 002 update-status, CodePush
 * report_status) goes through before its body is read: POST, a relay to
 * post to, the per-address rate limit, the body cap and a JSON (or absent)
 * Content-Type. Returns 0, or -1 after filling the error response.
 */
int report_admit(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs)
{
    if (!cmn_slice_eq(rq->method, "POST")) {
        json_error(rs, 405, "method_not_allowed", "use POST");
        add_header_str(rs, "Allow", "POST");
        return -1;
    }
    if (!c->cfg->relay) {
        json_error(rs, 503, "relay_disabled", "telemetry relay not configured (start the edge with --publisher-url)");
        return -1;
    }
    long wait = edge_relay_admit(c->cfg->relay, rq->peer);
    if (wait > 0) {
        json_error(rs, 429, "rate_limited", "too many reports from this address");
        add_header_u64(rs, "Retry-After", (uint64_t)wait);
        return -1;
    }
    if (rq->body_too_large) {
        json_error(rs, 413, "body_too_large", "request body larger than 4 KiB");
        return -1;
    }
    if (rq->ctype.n && !(rq->ctype.n >= 16 && cmn_slice_ieq((struct cmn_slice){rq->ctype.p, 16}, "application/json") &&
                         (rq->ctype.n == 16 || rq->ctype.p[16] == ';' || rq->ctype.p[16] == ' '))) {
        json_error(rs, 415, "unsupported_media_type", "send Content-Type: application/json");
        return -1;
    }
    return 0;
}

/* Queue an encoded installation batch for the publisher and answer 202 (queued, or dropped when full). */
void report_relay(struct edge_ctx *c, const char *body, size_t n, struct edge_resp *rs)
{
    int q = edge_relay_enqueue(c->cfg->relay, "/v1/installations", body, n);
    struct sw w;
    json_head(rs, 202);
    sw_begin(&w, rs);
    sw_str(&w, q == EDGE_RELAY_QUEUED ? "{\"status\":\"accepted\",\"queued\":true}"
                                      : "{\"status\":\"accepted\",\"queued\":false}");
    sw_body(&w, rs);
}

/* POST /api/device/<device_id>/update-status (seed 002): translated into one
 * of our installation events and relayed to the publisher's telemetry ingest
 * (the same counters and auto-halt as our SDK's reports). Best effort: 202
 * as soon as it is queued, or dropped (counted) when the queue is full. */
static void h_device_status(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs)
{
    static const char pre[] = "/api/device/", suf[] = "/update-status";
    char id[CMN_ID_MAX + 1], msg[320];
    if (!cmn_slice_eq(rq->method, "POST")) {
        json_error(rs, 405, "method_not_allowed", "use POST");
        add_header_str(rs, "Allow", "POST");
        return;
    }
    size_t idn = rq->path.n - (sizeof(pre) - 1) - (sizeof(suf) - 1);
    if (copy_id(id, rq->path.p + sizeof(pre) - 1, idn)) {
        json_error(rs, 400, "bad_request",
                   "device id in the path must match [A-Za-z0-9._-]{1,64}, not starting with '.'");
        return;
    }
    if (report_admit(c, rq, rs))
        return;
    struct edge_status st;
    if (edge_status_parse(rq->body.p, rq->body.n, id, &st, msg, sizeof(msg))) {
        json_error(rs, 400, "bad_request", msg);
        return;
    }
    /* which channel: the model named in the body, else the one configured model, else the one
     * configured model whose channel carries this version */
    struct edge_model t;
    enum edge_outcome oc;
    long idx = -1;
    if (st.device_model[0]) {
        t = model_target(c->cfg, st.device_model);
    } else if (c->cfg->n_models == 1) {
        t = c->cfg->models[0];
    } else {
        size_t found = 0;
        for (size_t i = 0; i < c->cfg->n_models && found < 2; i++) {
            struct edge_resp *scratch = rs; /* load_view fills an error we do not keep */
            if (load_view(c, c->cfg->models[i].app, c->cfg->models[i].platform, c->cfg->models[i].channel, id, scratch,
                          &oc) == 0 &&
                find_version(c->view, st.firmware_version) >= 0)
                t = c->cfg->models[i], found++;
        }
        if (found != 1) {
            snprintf(msg, sizeof(msg), "%s: add \"device_model\" to the body",
                     found ? "firmware_version is in several device models' channels"
                           : "no configured device model has this firmware_version");
            json_error(rs, found ? 400 : 404, found ? "bad_request" : "not_found", msg);
            return;
        }
        rs->status = 500, rs->nh = 0, rs->used = 0;
    }
    if (load_view(c, t.app, t.platform, t.channel, id, rs, &oc))
        return;
    idx = find_version(c->view, st.firmware_version);
    if (idx < 0) {
        snprintf(msg, sizeof(msg), "no release '%s' in %s/%s/%s", st.firmware_version, t.app, t.platform, t.channel);
        json_error(rs, 404, "not_found", msg);
        return;
    }
    char body[EDGE_RELAY_BODY_MAX];
    long n = edge_status_event(&st, id, &t, c->view->rel[idx].id, body, sizeof(body));
    if (n < 0) {
        json_error(rs, 500, "internal", "cannot encode the report");
        return;
    }
    report_relay(c, body, (size_t)n, rs);
}

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
    json_head(rs, 202);
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
        out->n_roots = c->ss->n_roots;
        memcpy(out->roots, c->ss->roots, sizeof(out->roots));
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
    json_head(rs, strcmp(status, "empty") == 0 ? 503 : 200);
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
    /* the root of trust each --root app's manifests are verified with (an expired one is a problem above) */
    sw_str(&w, "],\"roots\":[");
    for (unsigned i = 0; i < s.n_roots && i < EDGE_MAX_ROOTS; i++) {
        sw_str(&w, i ? ",{\"app\":" : "{\"app\":");
        sw_json(&w, s.roots[i].app);
        sw_str(&w, ",\"version\":");
        sw_u64(&w, s.roots[i].version);
        sw_str(&w, ",\"expires_at\":");
        sw_u64(&w, (uint64_t)(s.roots[i].expires_at > 0 ? s.roots[i].expires_at : 0));
        sw_str(&w, now >= s.roots[i].expires_at ? ",\"expired\":true}" : ",\"expired\":false}");
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
    struct edge_relay_stats rl;
    edge_relay_stats(c->cfg->relay, &rl);
    if (edge_metrics_render(&b, &snap, (int64_t)time(NULL), n, c->cfg->relay ? &rl : NULL) != CMN_OK) {
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
    } else if (edge_codepush_handle(c, rq, rs, &ep, &oc)) {
        /* /v0.1/public/codepush/...: codepush.c */
    } else if (cmn_slice_eq(p, "/api/firmware/check")) {
        ep = EDGE_EP_FIRMWARE;
        oc = is_get(rq, rs) ? run_check(c, &DIALECT_FIRMWARE, rq, rs) : EDGE_OUT_BAD;
    } else if (p.n > 23 && memcmp(p.p, "/api/firmware/download/", 23) == 0) {
        ep = EDGE_EP_DOWNLOAD;
        oc = is_get(rq, rs) ? h_download(c, rq, rs) : EDGE_OUT_BAD;
    } else if (p.n > 26 && memcmp(p.p, "/api/device/", 12) == 0 && memcmp(p.p + p.n - 14, "/update-status", 14) == 0) {
        ep = EDGE_EP_DEVICE_STATUS;
        h_device_status(c, rq, rs);
    } else if (p.n > 14 && memcmp(p.p, "/v1/manifests/", 14) == 0) {
        ep = EDGE_EP_MANIFEST;
        if (is_get(rq, rs))
            h_manifest(c, rq, rs);
    } else if (cmn_slice_eq(p, "/v1/sync")) {
        ep = EDGE_EP_SYNC;
        h_sync(c, rq, rs);
    } else if (cmn_slice_eq(p, "/healthz") || cmn_slice_eq(p, "/health")) { /* /health: seed 002 */
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
