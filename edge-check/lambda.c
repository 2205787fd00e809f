/*
 * lambda.c - hotpatch-edge as an AWS Lambda custom runtime (the `bootstrap`).
 *
 * The Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
 * at $AWS_LAMBDA_RUNTIME_API is polled with common/http.c:
 *   GET  /2018-06-01/runtime/invocation/next        -> event + Lambda-Runtime-Aws-Request-Id
 *   POST /2018-06-01/runtime/invocation/<id>/response
 *   POST /2018-06-01/runtime/invocation/<id>/error   (an event we cannot map)
 *   POST /2018-06-01/runtime/init/error               (bad configuration at cold start)
 * Events are API Gateway HTTP API (payload 2.0) or Function URL requests
 * (rawPath, rawQueryString, headers, requestContext.http.method); REST API
 * (1.0: path, httpMethod, queryStringParameters) is accepted too. They go
 * through the same edge_handle() as the HTTP server; the answer is returned
 * as {statusCode, headers, body, isBase64Encoded}. The index lives under /tmp,
 * is synced at cold start and again before an invocation when it is older
 * than --refresh seconds (a failed refresh is logged; the old index serves).
 */
#include "common/compat.h"

#include <arpa/inet.h>
#include <jansson.h>

#include "common/http.h"
#include "common/log.h"
#include "common/str.h"
#include "edge.h"

#define LAMBDA_EVENT_MAX ((size_t)6 << 20)

struct lam {
    struct edge_config *cfg;
    struct edge_index ix;
    struct edge_sync sync;
    struct edge_sync_state ss;
    int64_t last_sync;
    uint64_t passes;
    char base[512];
    struct cmn_http *http;
};

/* ---- event mapping (also the edge_lambda fuzz target's entry point) ---- */

static const char *jstr(json_t *o, const char *k, size_t *n)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return NULL;
    if (n)
        *n = json_string_length(v);
    return json_string_value(v);
}

/* A header value, looked up case-insensitively (API Gateway lower-cases them, REST API does not). */
static const char *jheader(json_t *headers, const char *name, size_t *n)
{
    const char *k;
    json_t *v;
    if (!json_is_object(headers))
        return NULL;
    json_object_foreach(headers, k, v)
    {
        if (strcasecmp(k, name) == 0 && json_is_string(v)) {
            *n = json_string_length(v);
            return json_string_value(v);
        }
    }
    return NULL;
}

/* Rebuild a query string from REST API's queryStringParameters (percent-encoding names and values). */
static int rebuild_query(json_t *qsp, char *out, size_t cap, size_t *len)
{
    size_t o = 0;
    const char *k;
    json_t *v;
    json_object_foreach(qsp, k, v)
    {
        if (!json_is_string(v))
            continue;
        const char *parts[2] = {k, json_string_value(v)};
        if (o && o < cap)
            out[o++] = '&';
        for (int p = 0; p < 2; p++) {
            if (p == 1 && o < cap)
                out[o++] = '=';
            long n = o < cap ? cmn_url_encode_to(out + o, cap - o, parts[p], 0) : -1;
            if (n < 0)
                return -1;
            o += (size_t)n;
        }
    }
    *len = o;
    return 0;
}

enum cmn_err edge_lambda_invoke(struct edge_ctx *c, const char *event, size_t len, struct edge_resp *rs,
                                struct cmn_buf *out, struct cmn_errbuf *eb)
{
    json_error_t je;
    enum cmn_err rc = CMN_OK;
    char qbuf[8192];
    char bbuf[EDGE_REQ_BODY_MAX + 4]; /* a base64-decoded body */
    json_t *ev = NULL, *res = NULL, *hdrs = NULL;
    char *dump = NULL;

    if (len > LAMBDA_EVENT_MAX)
        return cmn_errf(eb, CMN_E_TOOBIG, "event larger than %zu bytes", LAMBDA_EVENT_MAX);
    ev = json_loadb(event, len, JSON_REJECT_DUPLICATES, &je);
    if (!ev || !json_is_object(ev)) {
        rc = cmn_errf(eb, CMN_E_PARSE, "event is not a JSON object: %s", ev ? "wrong type" : je.text);
        goto out;
    }
    struct edge_reqin in;
    memset(&in, 0, sizeof(in));
    json_t *http = json_object_get(json_object_get(ev, "requestContext"), "http");
    const char *method = jstr(http, "method", &in.method.n);
    if (!method)
        method = jstr(ev, "httpMethod", &in.method.n);
    const char *path = jstr(ev, "rawPath", &in.path.n);
    if (!path)
        path = jstr(ev, "path", &in.path.n);
    if (!method || !path) {
        rc = cmn_errf(eb, CMN_E_PARSE, "event has no method/path (want an API Gateway or Function URL event)");
        goto out;
    }
    in.method.p = method;
    in.path.p = path;
    const char *q = jstr(ev, "rawQueryString", &in.query.n);
    if (q) {
        in.query.p = q;
    } else if (json_is_object(json_object_get(ev, "queryStringParameters"))) {
        if (rebuild_query(json_object_get(ev, "queryStringParameters"), qbuf, sizeof(qbuf), &in.query.n)) {
            rc = cmn_errf(eb, CMN_E_TOOBIG, "query string too long");
            goto out;
        }
        in.query.p = qbuf;
    } else {
        in.query.p = "";
    }
    /* NUL or control bytes cannot arrive through HTTP; refuse them here too */
    if (memchr(in.path.p, '\0', in.path.n) || memchr(in.query.p, '\0', in.query.n) || in.query.n > 8192 ||
        in.path.n > 8192) {
        rc = cmn_errf(eb, CMN_E_PARSE, "invalid path or query");
        goto out;
    }
    json_t *h = json_object_get(ev, "headers");
    in.authorization.p = jheader(h, "authorization", &in.authorization.n);
    in.if_none_match.p = jheader(h, "if-none-match", &in.if_none_match.n);
    in.host.p = jheader(h, "host", &in.host.n);
    if (!in.host.p)
        in.host.n = 0;
    if (!in.authorization.p)
        in.authorization.n = 0;
    if (!in.if_none_match.p)
        in.if_none_match.n = 0;
    in.ctype.p = jheader(h, "content-type", &in.ctype.n);
    if (!in.ctype.p)
        in.ctype.n = 0;
    /* the body (device reports): as sent, or base64-decoded; over EDGE_REQ_BODY_MAX it is refused (413) */
    json_t *jb = json_object_get(ev, "body");
    if (json_is_string(jb) && json_string_length(jb)) {
        const char *bs = json_string_value(jb);
        size_t bl = json_string_length(jb), dl = 0;
        if (json_is_true(json_object_get(ev, "isBase64Encoded"))) {
            if (bl > (EDGE_REQ_BODY_MAX / 3 + 1) * 4) {
                in.body_too_large = 1;
            } else if (cmn_base64_decode(bs, bl, (uint8_t *)bbuf, sizeof(bbuf), &dl) != CMN_OK) {
                rc = cmn_errf(eb, CMN_E_PARSE, "event body is not valid base64");
                goto out;
            } else if (dl > EDGE_REQ_BODY_MAX) {
                in.body_too_large = 1;
            } else {
                in.body = (struct cmn_slice){bbuf, dl};
            }
        } else if (bl > EDGE_REQ_BODY_MAX) {
            in.body_too_large = 1;
        } else {
            in.body = (struct cmn_slice){bs, bl};
        }
    }
    /* the client's address, for the relay's per-address rate limit (IPv4; others share key 0) */
    const char *ip = jstr(json_object_get(json_object_get(ev, "requestContext"), "http"), "sourceIp", NULL);
    if (!ip)
        ip = jstr(json_object_get(json_object_get(ev, "requestContext"), "identity"), "sourceIp", NULL);
    struct in_addr ia;
    if (ip && inet_pton(AF_INET, ip, &ia) == 1)
        in.peer = ia.s_addr;

    edge_handle(c, &in, rs);

    res = json_object();
    hdrs = json_object();
    if (!res || !hdrs) {
        rc = CMN_E_NOMEM;
        goto done;
    }
    for (int i = 0; i < rs->nh; i++)
        json_object_set_new(hdrs, rs->h[i].name, json_stringn(rs->h[i].val, rs->h[i].len));
    json_object_set_new(res, "statusCode", json_integer(rs->status));
    json_object_set(res, "headers", hdrs);
    size_t bl = rs->head_only ? 0 : rs->body_len;
    json_t *body = bl ? json_stringn(rs->body, bl) : json_string("");
    if (body) {
        json_object_set_new(res, "body", body);
        json_object_set_new(res, "isBase64Encoded", json_false());
    } else { /* not UTF-8: send it base64-encoded */
        char *b64 = malloc(cmn_base64_len(bl));
        if (!b64) {
            rc = CMN_E_NOMEM;
            goto done;
        }
        cmn_base64_encode((const uint8_t *)rs->body, bl, b64);
        json_object_set_new(res, "body", json_string(b64));
        json_object_set_new(res, "isBase64Encoded", json_true());
        free(b64);
    }
    dump = json_dumps(res, JSON_COMPACT);
    if (!dump)
        rc = CMN_E_NOMEM;
    else
        rc = cmn_buf_addstr(out, dump);
done:
    edge_ctx_end(c);
out:
    free(dump);
    json_decref(hdrs);
    json_decref(res);
    json_decref(ev);
    return rc;
}

/* ---- Runtime API client ---- */

struct fetch {
    struct cmn_buf body;
    char request_id[128];
};

static void on_header(void *ctx, const char *name, size_t nlen, const char *val, size_t vlen)
{
    struct fetch *f = ctx;
    static const char want[] = "lambda-runtime-aws-request-id";
    if (nlen == sizeof(want) - 1 && strncasecmp(name, want, nlen) == 0 && vlen < sizeof(f->request_id)) {
        memcpy(f->request_id, val, vlen);
        f->request_id[vlen] = '\0';
    }
}

/* POST a JSON body; returns the HTTP status or -1. */
static long post(struct lam *L, const char *url, const char *body, size_t len, const char *error_type)
{
    struct cmn_buf sink;
    struct cmn_http_resp rs;
    char h[128];
    long code = -1;
    cmn_buf_init(&sink, 1 << 20);
    struct cmn_http_req rq = {.method = "POST", .url = url, .body = body ? body : "", .body_len = len};
    rq.body_out = &sink;
    rq.timeout_ms = 30000;
    (void)!cmn_http_req_header(&rq, "Content-Type: application/json");
    if (error_type) {
        snprintf(h, sizeof(h), "Lambda-Runtime-Function-Error-Type: %s", error_type);
        (void)!cmn_http_req_header(&rq, h);
    }
    if (cmn_http_perform(L->http, &rq, &rs, NULL) == CMN_OK)
        code = rs.status;
    cmn_http_resp_release(&rs);
    cmn_buf_release(&sink);
    return code;
}

static void post_error(struct lam *L, const char *url, const char *type, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s, s:[]}", "errorMessage", msg, "errorType", type, "stackTrace");
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s && post(L, url, s, strlen(s), type) < 0)
        cmn_error("lambda: cannot report error to '%s'", url);
    free(s);
    json_decref(o);
}

static void init_error(struct lam *L, const char *msg)
{
    char url[600];
    cmn_error("lambda init failed: %s", msg);
    snprintf(url, sizeof(url), "%s/init/error", L->base);
    post_error(L, url, "Runtime.InitError", msg);
}

static void lambda_sync(struct lam *L)
{
    struct edge_sync_stats st;
    struct cmn_errbuf eb = {{0}};
    int64_t now = (int64_t)time(NULL);
    enum cmn_err rc = edge_sync_pass(&L->sync, now, &st, &eb);
    L->passes++;
    pthread_mutex_lock(&L->ss.mu);
    L->ss.last_at = now;
    L->ss.passes = L->passes;
    L->ss.last_rc = rc;
    L->ss.rejected += st.rejected + st.lists_rejected;
    L->ss.n_roots = (unsigned)edge_roots_info(&L->sync, L->ss.roots, EDGE_MAX_ROOTS);
    if (rc) {
        L->ss.failures++;
        snprintf(L->ss.last_msg, sizeof(L->ss.last_msg), "%s", cmn_errmsg(&eb, rc));
        cmn_error("lambda: sync failed: %s", cmn_errmsg(&eb, rc));
    } else {
        L->ss.last_ok = now;
        snprintf(L->ss.last_msg, sizeof(L->ss.last_msg), "ok");
    }
    pthread_mutex_unlock(&L->ss.mu);
    L->last_sync = now; /* also after a failure: retry at the next refresh, not on every request */
}

static uint64_t lambda_trigger(void *arg)
{
    struct lam *L = arg;
    lambda_sync(L);
    return L->passes;
}

int edge_lambda_main(struct edge_config *cfg)
{
    static struct lam L; /* large, and lives for the process */
    struct edge_ctx ctx;
    struct edge_resp *rs = NULL;
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    struct cmn_errbuf eb = {{0}};
    char msg[512];
    int failures = 0;

    memset(&L, 0, sizeof(L));
    L.cfg = cfg;
    pthread_mutex_init(&L.ss.mu, NULL);
    if (!api || !*api) {
        fprintf(stderr, "hotpatch-edge: lambda mode needs AWS_LAMBDA_RUNTIME_API\n");
        return 2;
    }
    snprintf(L.base, sizeof(L.base), "http://%s/2018-06-01/runtime", api);
    if (cmn_http_new(&L.http, NULL) != CMN_OK) {
        fprintf(stderr, "hotpatch-edge: cannot initialise libcurl\n");
        return 1;
    }
    if (!cfg->source) {
        init_error(&L, "no storage configured (HOTPATCH_STORAGE)");
        return 1;
    }
    if (cfg->n_keys == 0 && cfg->n_roots == 0) {
        init_error(&L, "no trusted manifest keys (HOTPATCH_TRUSTED_KEYS)");
        return 1;
    }
    enum cmn_err rc = edge_index_open(&L.ix, cfg->data_dir, cfg->map_size ? cfg->map_size : (size_t)512 << 20, &eb);
    if (rc) {
        init_error(&L, cmn_errmsg(&eb, rc));
        return 1;
    }
    rc = cmn_storage_open(cfg->source, NULL, &L.sync.st, &eb);
    if (rc) {
        snprintf(msg, sizeof(msg), "cannot open storage '%s': %s", cfg->source, cmn_errmsg(&eb, rc));
        init_error(&L, msg);
        return 1;
    }
    L.sync.ix = &L.ix;
    L.sync.keyring.keys = cfg->keys;
    L.sync.keyring.n = cfg->n_keys;
    if ((rc = edge_roots_load(&L.sync, cfg->root_files, cfg->n_roots, cfg->data_dir, &eb))) {
        init_error(&L, cmn_errmsg(&eb, rc));
        return 1;
    }
    L.sync.full_interval_s = cfg->full_sync_s;
    lambda_sync(&L); /* cold start */
    rs = malloc(sizeof(*rs));
    if (!rs || edge_ctx_init(&ctx, cfg, &L.ix, &L.ss) != CMN_OK) {
        init_error(&L, "out of memory");
        return 1;
    }
    ctx.trigger = lambda_trigger;
    ctx.trigger_arg = &L;
    cmn_info("lambda runtime ready: %s", L.base);

    for (;;) {
        struct fetch f;
        char url[700];
        long code = -1;
        memset(f.request_id, 0, sizeof(f.request_id));
        cmn_buf_init(&f.body, LAMBDA_EVENT_MAX);
        snprintf(url, sizeof(url), "%s/invocation/next", L.base);
        struct cmn_http_req nrq = {.url = url, .body_out = &f.body, .on_header = on_header, .header_ctx = &f};
        nrq.timeout_ms = -1; /* next blocks until an event arrives */
        struct cmn_http_resp nrs;
        struct cmn_errbuf neb = {{0}};
        enum cmn_err nrc = cmn_http_perform(L.http, &nrq, &nrs, &neb);
        if (nrc == CMN_OK)
            code = nrs.status;
        cmn_http_resp_release(&nrs);
        if (nrc != CMN_OK || code != 200 || !f.request_id[0]) {
            cmn_buf_release(&f.body);
            if (++failures >= 5) {
                cmn_error("lambda: runtime API unreachable (%s, status %ld); exiting",
                          nrc != CMN_OK ? cmn_errmsg(&neb, nrc) : "bad answer", code);
                break;
            }
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        failures = 0;
        if ((int64_t)time(NULL) - L.last_sync >= cfg->lambda_refresh_s)
            lambda_sync(&L);

        struct cmn_buf out;
        struct cmn_errbuf ieb = {{0}};
        cmn_buf_init(&out, (size_t)8 << 20);
        uint64_t t0 = 0;
        {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            t0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        }
        rc = edge_lambda_invoke(&ctx, f.body.ptr ? f.body.ptr : "", f.body.len, rs, &out, &ieb);
        if (rc) {
            snprintf(url, sizeof(url), "%s/invocation/%s/error", L.base, f.request_id);
            post_error(&L, url, rc == CMN_E_NOMEM ? "Runtime.OutOfMemory" : "InvalidEvent", cmn_errmsg(&ieb, rc));
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            edge_metrics_observe(ctx.mx, EDGE_EP_OTHER, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - t0);
            snprintf(url, sizeof(url), "%s/invocation/%s/response", L.base, f.request_id);
            long pc = post(&L, url, out.ptr, out.len, NULL);
            if (pc < 200 || pc >= 300)
                cmn_error("lambda: posting the response for '%s' failed (status %ld)", f.request_id, pc);
        }
        /* Lambda freezes the sandbox while the runtime waits for the next event: post relayed reports now */
        size_t left = edge_relay_drain(cfg->relay, 3000);
        if (left)
            cmn_warn("lambda: %zu relayed reports still queued after 3 s (posted at the next invocation)", left);
        cmn_buf_release(&out);
        cmn_buf_release(&f.body);
    }
    edge_ctx_release(&ctx);
    free(rs);
    edge_sync_release(&L.sync);
    cmn_storage_free(L.sync.st);
    edge_index_close(&L.ix);
    cmn_http_free(L.http);
    return 1;
}
