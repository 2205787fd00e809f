#include "common/compat.h"

/*
 * transport_curl.c - libhotpatch's default transport: the project's one HTTP
 * client (common/http.c, cmn_http) behind the hp_transport table
 * (hotpatch.h). It only moves bytes: it reports each response's status line
 * and headers to the sink and streams the body into it; net.c decides
 * everything. libhotpatch-core is built with transport_none.c instead and
 * links neither common/http.c nor libcurl.
 *
 * What the SDK asks of cmn_http: only http, https and file (redirects only to
 * http(s)), no automatic retries (the device retries at its next check and
 * resumes downloads with a Range start), no whole-request timeout but a
 * connect timeout and a stall limit (less than 1 byte/s for timeout_ms), CA
 * bundle from CURL_CA_BUNDLE / SSL_CERT_FILE when set (cmn_http's rule), and
 * cancellation: hp_cancel() sets c->cancel (a C11 atomic), which the progress
 * hook reads about once a second even while the transfer is idle.
 *
 * A non-2xx body never reaches cmn_http's write hook (it keeps it apart, up
 * to CMN_HTTP_ERRBODY_MAX bytes): it is handed to the sink once the transfer
 * ends, so net.c sees the same sequence as from any other transport.
 */

#include "common/http.h"
#include "hp_int.h"

enum cmn_err hp__http_global_init(void)
{
    struct cmn_errbuf eb = {0};
    return cmn_http_global_init(&eb);
}

int hp_has_default_transport(void)
{
    return 1;
}

struct cx {
    hp_http_sink *sink;
    const struct hp_client *c;
    int stopped; /* a sink call asked to stop */
};

static int on_progress(void *ctx, uint64_t dn, uint64_t dt, uint64_t un, uint64_t ut)
{
    (void)dn;
    (void)dt;
    (void)un;
    (void)ut;
    const struct cx *x = ctx;
    return atomic_load(&x->c->cancel) ? 1 : 0;
}

static int on_status(void *ctx, long status)
{
    struct cx *x = ctx;
    if (hp_sink_status(x->sink, (int)status))
        x->stopped = 1;
    return x->stopped;
}

static void on_header(void *ctx, const char *name, size_t nl, const char *value, size_t vl)
{
    struct cx *x = ctx;
    char n[64], v[512];
    if (x->stopped || nl >= sizeof n || vl >= sizeof v)
        return; /* no header the core reads is that long */
    memcpy(n, name, nl);
    n[nl] = '\0';
    memcpy(v, value, vl);
    v[vl] = '\0';
    if (hp_sink_header(x->sink, n, v))
        x->stopped = 1; /* the transfer stops at the next progress or body call */
}

static int on_body(void *ctx, const void *p, size_t n)
{
    struct cx *x = ctx;
    if (x->stopped || hp_sink_body(x->sink, p, n))
        x->stopped = 1;
    return x->stopped;
}

static hp_status curl_perform(void *ctx, const hp_http_request *rq, hp_http_sink *sink, char *errbuf, size_t errlen)
{
    struct hp_client *c = ctx;
    struct cx x = {sink, c, 0};
    struct cmn_errbuf eb = {0};
    struct cmn_http *h = NULL;
    struct cmn_http_req q;
    struct cmn_http_resp rs;
    memset(&q, 0, sizeof q);
    memset(&rs, 0, sizeof rs);
    if (cmn_http_new(&h, &eb) != CMN_OK) {
        snprintf(errbuf, errlen, "%s", eb.msg);
        return HP_E_NOMEM;
    }
    long secs = (rq->timeout_ms + 999) / 1000;
    q.method = rq->method;
    q.url = rq->url;
    for (const char *const *hl = rq->headers; hl && *hl; hl++) {
        if (cmn_http_req_header(&q, *hl) != CMN_OK) {
            cmn_http_free(h);
            snprintf(errbuf, errlen, "more than %d request headers", CMN_HTTP_MAX_HEADERS);
            return HP_E_INVAL;
        }
    }
    if (strcmp(rq->method, "POST") == 0) {
        q.body = rq->body ? rq->body : "";
        q.body_len = rq->body ? rq->body_len : 0;
    }
    q.write = on_body;
    q.write_ctx = &x;
    q.on_status = on_status;
    q.on_header = on_header;
    q.header_ctx = &x;
    q.progress = on_progress;
    q.progress_ctx = &x;
    /* Range: N- rather than a resume: a server ignoring ranges answers 200, which net.c restarts from. */
    q.has_range = rq->range_start > 0;
    q.range_start = rq->range_start > 0 ? (uint64_t)rq->range_start : 0;
    q.max_redirects = rq->follow_redirects ? 5 : 0;
    /* file:// serves a local storage directory (tests, devices with side-loaded updates); never via redirect. */
    q.protocols = "http,https,file";
    q.user_agent = "libhotpatch/" HP_VERSION_STRING;
    q.accept_encoding = rq->decompress ? "" : NULL;
    q.timeout_ms = -1; /* big bundles on slow links: only a stall fails */
    q.connect_timeout_ms = rq->timeout_ms;
    q.low_speed_bytes = 1;
    q.low_speed_secs = secs > 0 ? secs : 1;

    hp_status s = HP_OK;
    enum cmn_err rc = cmn_http_perform(h, &q, &rs, &eb);
    if (rc == CMN_OK && rs.err_body.len && !x.stopped && hp_sink_body(sink, rs.err_body.ptr, rs.err_body.len))
        x.stopped = 1;
    /* A file:// read reports no status: net.c knows what that means. */
    if (rc == CMN_OK && !x.stopped) {
        s = HP_OK;
    } else if (x.stopped || rc == CMN_E_CANCELLED) {
        s = HP_E_CANCELLED;
        snprintf(errbuf, errlen, "cancelled");
    } else if (rc == CMN_E_NOMEM) {
        s = HP_E_NOMEM;
        snprintf(errbuf, errlen, "out of memory");
    } else {
        s = HP_E_NET;
        snprintf(errbuf, errlen, "%s", rs.error[0] ? rs.error : eb.msg);
    }
    cmn_http_resp_release(&rs);
    cmn_http_free(h);
    return s;
}

void hp__transport_default(struct hp_client *c, hp_transport *out)
{
    memset(out, 0, sizeof *out);
    out->perform = curl_perform;
    out->ctx = c; /* cancellation is read from c->cancel by the progress hook */
}
