#include "common/compat.h"

/*
 * transport_curl.c - libhotpatch's default transport: libcurl's easy
 * interface behind the hp_transport table (hotpatch.h). It only moves bytes:
 * it reports each response's status line and headers to the sink and streams
 * the body into it; net.c decides everything. libhotpatch-core is built with
 * transport_none.c instead and links no libcurl.
 *
 * Only http, https and file are allowed, and redirects only to http(s).
 * It uses libcurl directly rather than common/http.c (cmn_http): the SDK needs
 * every response header (Content-Range start, X-HotPatch-Release), file://
 * storage roots and no automatic retries, which cmn_http does not offer.
 */

#include <curl/curl.h>
#include <pthread.h>

#include "hp_int.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

enum cmn_err hp__http_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
    return curl_init_rc == CURLE_OK ? CMN_OK : CMN_E_NET;
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

static int xfer_cancel(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    const struct cx *x = ctx;
    return x->c->cancel ? 1 : 0;
}

/* "HTTP/1.1 206 Partial Content" / "HTTP/2 200": the status code, or -1. */
static int status_line(const char *p, size_t n)
{
    if (n < 5 || strncmp(p, "HTTP/", 5) != 0)
        return -1;
    const char *sp = memchr(p, ' ', n);
    if (!sp || (size_t)(p + n - sp) < 4)
        return -1;
    int code = 0;
    for (int i = 1; i <= 3; i++) {
        if (sp[i] < '0' || sp[i] > '9')
            return -1;
        code = code * 10 + (sp[i] - '0');
    }
    return code;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ctx)
{
    struct cx *x = ctx;
    size_t n = sz * nm;
    int code = status_line(p, n);
    if (code >= 0) {
        if (hp_sink_status(x->sink, code)) {
            x->stopped = 1;
            return 0;
        }
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon || colon == p)
        return n; /* the blank line ending the headers, or junk */
    char name[64], value[512];
    size_t nl = (size_t)(colon - p), vl = n - nl - 1;
    if (nl >= sizeof name || vl >= sizeof value)
        return n; /* no header the core reads is that long */
    memcpy(name, p, nl);
    name[nl] = '\0';
    const char *v = colon + 1;
    while (vl && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    memcpy(value, v, vl);
    value[vl] = '\0';
    if (hp_sink_header(x->sink, name, value)) {
        x->stopped = 1;
        return 0;
    }
    return n;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ctx)
{
    struct cx *x = ctx;
    size_t n = sz * nm;
    if (hp_sink_body(x->sink, p, n)) {
        x->stopped = 1;
        return 0;
    }
    return n;
}

static hp_status curl_perform(void *ctx, const hp_http_request *rq, hp_http_sink *sink, char *errbuf, size_t errlen)
{
    const struct hp_client *c = ctx;
    char detail[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    struct cx x = {sink, c, 0};
    hp_status s = HP_OK;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(errbuf, errlen, "cannot create a curl handle");
        return HP_E_NOMEM;
    }
    long secs = (rq->timeout_ms + 999) / 1000;
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, rq->follow_redirects ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    /* file:// serves a local storage directory (tests, devices with side-loaded updates); never via redirect. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->timeout_ms);
    /* A stalled transfer (less than 1 byte/s for the timeout) is a network error. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, secs > 0 ? secs : 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libhotpatch/" HP_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_cancel);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    if (rq->decompress)
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    char range[48];
    if (rq->range_start > 0) {
        /* CURLOPT_RANGE rather than RESUME_FROM: curl then hands over a 200 answer
         * (server ignoring ranges) instead of failing, and the core restarts cleanly. */
        snprintf(range, sizeof range, "%lld-", rq->range_start);
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    }
    for (const char *const *hl = rq->headers; hl && *hl; hl++) {
        struct curl_slist *nx = curl_slist_append(hdr, *hl);
        if (!nx) {
            s = HP_E_NOMEM;
            snprintf(errbuf, errlen, "out of memory");
            goto out;
        }
        hdr = nx;
    }
    if (hdr)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? (const char *)rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    CURLcode cc = curl_easy_perform(h);
    /* A file:// read reports no status: net.c knows what that means. */
    if (cc == CURLE_OK)
        s = HP_OK;
    else if (x.stopped || (cc == CURLE_ABORTED_BY_CALLBACK && c->cancel)) {
        s = HP_E_CANCELLED;
        snprintf(errbuf, errlen, "cancelled");
    } else {
        s = HP_E_NET;
        snprintf(errbuf, errlen, "%s", detail[0] ? detail : curl_easy_strerror(cc));
    }
out:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return s;
}

void hp__transport_default(struct hp_client *c, hp_transport *out)
{
    memset(out, 0, sizeof *out);
    out->perform = curl_perform;
    out->ctx = c; /* cancellation is read from c->cancel by the progress callback */
}
