/*
 * http.c - one libcurl easy handle per struct cmn_http, a request/response
 * pair that covers what HotPatch's clients need (SigV4, uploads from memory,
 * file slices or callbacks, capped bodies, header capture), and the retry
 * policy: exponential backoff with full jitter on transport failures, 5xx
 * and 429, never on other statuses. Non-2xx bodies never reach the caller's
 * sink: they go to resp->err_body, so an error page cannot be mistaken for
 * (or appended to) the object being downloaded.
 */
#include "common/compat.h"

#include <pthread.h>
#include <sys/types.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/crypto.h"
#include "common/http.h"

#define BACKOFF_CAP_MS 5000L

struct cmn_http {
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
};

/* Per-attempt transfer state shared with the curl callbacks. */
struct xfer {
    CURL *curl;
    const struct cmn_http_req *req;
    struct cmn_http_resp *resp;
    /* request body cursor */
    FILE *upf;
    uint64_t sent;
    /* outcome flags set by callbacks */
    int cancelled;
    int toobig;
    int read_failed;
    int delivered; /* bytes went to req->write (cannot be replayed) */
    int begun;     /* req->begin was called */
    long retry_after_s;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

enum cmn_err cmn_http_global_init(struct cmn_errbuf *eb)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return cmn_errf(eb, CMN_E_NET, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
    return CMN_OK;
}

enum cmn_err cmn_http_new(struct cmn_http **out, struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_http_global_init(eb);
    if (rc)
        return rc;
    struct cmn_http *h = calloc(1, sizeof(*h));
    if (!h)
        return CMN_E_NOMEM;
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return cmn_errf(eb, CMN_E_NOMEM, "cannot create a curl handle");
    }
    *out = h;
    return CMN_OK;
}

void cmn_http_free(struct cmn_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

void cmn_http_resp_release(struct cmn_http_resp *resp)
{
    if (resp)
        cmn_buf_release(&resp->err_body);
}

enum cmn_err cmn_http_req_header(struct cmn_http_req *req, const char *line)
{
    if (req->nheaders >= CMN_HTTP_MAX_HEADERS)
        return CMN_E_TOOBIG;
    req->headers[req->nheaders++] = line;
    return CMN_OK;
}

long cmn_http_backoff_ms(long base_ms, int attempt)
{
    if (base_ms <= 0)
        base_ms = 200;
    long ceil_ms = base_ms;
    for (int i = 1; i < attempt && ceil_ms < BACKOFF_CAP_MS; i++)
        ceil_ms *= 2;
    if (ceil_ms > BACKOFF_CAP_MS)
        ceil_ms = BACKOFF_CAP_MS;
    uint32_t r;
    cmn_random(&r, sizeof(r));
    /* Full jitter, but never below a tenth of the ceiling so retries are not instant. */
    long floor_ms = ceil_ms / 10;
    return floor_ms + (long)(r % (uint32_t)(ceil_ms - floor_ms + 1));
}

/* A success: a 2xx, or a protocol without statuses (file://), whose code stays 0. */
static int status_is_ok(CURL *c)
{
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    return (st >= 200 && st < 300) || st == 0;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!status_is_ok(x->curl)) {
        /* Keep what fits of an error body; never fail the transfer for it. */
        size_t room = x->resp->err_body.cap - x->resp->err_body.len;
        if (room)
            (void)!cmn_buf_add(&x->resp->err_body, p, n < room ? n : room);
        return n;
    }
    if (!x->begun) {
        x->begun = 1;
        if (x->req->begin) {
            curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->resp->status);
            if (x->req->begin(x->req->write_ctx, x->resp)) {
                x->cancelled = 1;
                return 0;
            }
        }
    }
    if (x->req->body_out) {
        if (cmn_buf_add(x->req->body_out, p, n) != CMN_OK) {
            x->toobig = 1;
            return 0;
        }
        return n;
    }
    if (x->req->write) {
        x->delivered = 1;
        if (x->req->write(x->req->write_ctx, p, n)) {
            x->cancelled = 1;
            return 0;
        }
    }
    return n;
}

static void copy_etag(char *dst, const char *v, size_t n)
{
    if (n >= 2 && v[0] == 'W' && v[1] == '/') {
        v += 2;
        n -= 2;
    }
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n >= CMN_HTTP_ETAG_MAX)
        n = CMN_HTTP_ETAG_MAX - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int header_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return 0;
    const char *v = line + k + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *val = v;
    *vlen = (size_t)(end - v);
    return 1;
}

static uint64_t parse_u64(const char *v, size_t n, int *okp)
{
    uint64_t r = 0;
    size_t i = 0;
    *okp = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
        if (r > (UINT64_MAX - 9) / 10)
            return 0;
        r = r * 10 + (uint64_t)(v[i] - '0');
    }
    *okp = i > 0;
    return r;
}

/* "HTTP/1.1 206 Partial Content" / "HTTP/2 200": the status code, or -1. */
static long status_code(const char *p, size_t n)
{
    const char *sp = memchr(p, ' ', n);
    if (!sp || (size_t)(p + n - sp) < 4)
        return -1;
    long code = 0;
    for (int i = 1; i <= 3; i++) {
        if (sp[i] < '0' || sp[i] > '9')
            return -1;
        code = code * 10 + (sp[i] - '0');
    }
    return code;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    const char *v;
    size_t vl;
    int okn;
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        long code = status_code(p, n);
        if (x->req->on_status && code >= 0 && x->req->on_status(x->req->header_ctx, code)) {
            x->cancelled = 1;
            return 0;
        }
        /* A new status line (after 100-continue or a redirect): forget earlier headers. */
        x->resp->etag[0] = '\0';
        x->resp->has_length = 0;
        x->resp->content_length = 0;
        x->resp->range_total = 0;
        x->resp->range_start = -1;
        x->resp->retry_after_s = 0;
        x->retry_after_s = 0;
        return n;
    }
    if (x->req->on_header) {
        const char *colon = memchr(p, ':', n);
        if (colon && colon > p) {
            const char *hv = colon + 1, *end = p + n;
            while (hv < end && (*hv == ' ' || *hv == '\t'))
                hv++;
            while (end > hv && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            x->req->on_header(x->req->header_ctx, p, (size_t)(colon - p), hv, (size_t)(end - hv));
        }
    }
    if (header_is(p, n, "etag", &v, &vl)) {
        copy_etag(x->resp->etag, v, vl);
    } else if (header_is(p, n, "content-length", &v, &vl)) {
        uint64_t len = parse_u64(v, vl, &okn);
        if (okn) {
            x->resp->content_length = len;
            x->resp->has_length = 1;
        }
    } else if (header_is(p, n, "content-range", &v, &vl)) {
        const char *slash = memchr(v, '/', vl);
        /* "bytes N-M/T": the start must be digits followed by '-' */
        if (vl > 6 && strncasecmp(v, "bytes ", 6) == 0) {
            size_t dn = 0;
            uint64_t st = parse_u64(v + 6, vl - 6, &okn);
            while (6 + dn < vl && v[6 + dn] >= '0' && v[6 + dn] <= '9')
                dn++;
            if (okn && 6 + dn < vl && v[6 + dn] == '-' && st <= INT64_MAX)
                x->resp->range_start = (int64_t)st;
        }
        if (slash) {
            uint64_t t = parse_u64(slash + 1, vl - (size_t)(slash + 1 - v), &okn);
            if (okn)
                x->resp->range_total = t;
        }
    } else if (header_is(p, n, "retry-after", &v, &vl)) {
        uint64_t s = parse_u64(v, vl, &okn);
        if (okn) {
            x->retry_after_s = s > 60 ? 60 : (long)s;
            x->resp->retry_after_s = x->retry_after_s;
        }
    }
    return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    const struct cmn_http_req *rq = x->req;
    size_t want = size * nmemb;
    size_t got = 0;
    if (rq->body) {
        size_t left = rq->body_len - (size_t)x->sent;
        got = want < left ? want : left;
        memcpy(p, (const char *)rq->body + x->sent, got);
    } else if (rq->upload_path) {
        uint64_t left = rq->upload_len - x->sent;
        size_t n = want < left ? want : (size_t)left;
        got = n ? fread(p, 1, n, x->upf) : 0;
        if (got < n) {
            x->read_failed = 1;
            return CURL_READFUNC_ABORT;
        }
    } else if (rq->read) {
        got = rq->read(rq->read_ctx, p, want);
        if (got == (size_t)-1) {
            x->cancelled = 1;
            return CURL_READFUNC_ABORT;
        }
    }
    x->sent += got;
    return got;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    if (x->req->progress && x->req->progress(x->req->progress_ctx, (uint64_t)dlnow, (uint64_t)dltotal, (uint64_t)ulnow,
                                             (uint64_t)ultotal)) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}

static int body_kind_count(const struct cmn_http_req *rq)
{
    return (rq->body != NULL) + (rq->upload_path != NULL) + (rq->read != NULL) + (rq->nparts > 0);
}

static uint64_t body_length(const struct cmn_http_req *rq)
{
    if (rq->body)
        return rq->body_len;
    if (rq->upload_path)
        return rq->upload_len;
    return rq->read_len;
}

static int curl_rc_retryable(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return 1;
    default:
        return 0;
    }
}

/* One attempt. Returns the curl code; fills resp. */
static CURLcode attempt(struct cmn_http *h, const struct cmn_http_req *rq, struct xfer *x, struct curl_slist *hdrs,
                        curl_mime *mime)
{
    CURL *c = h->curl;
    const char *method = rq->method ? rq->method : "GET";
    int has_body = body_kind_count(rq) > 0;
    curl_easy_reset(c);
    h->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    if (rq->timeout_ms >= 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : 10000L);
    if (rq->low_speed_bytes > 0 && rq->low_speed_secs > 0) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, rq->low_speed_bytes);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, rq->low_speed_secs);
    }
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, rq->protocols ? rq->protocols : "http,https");
    if (rq->max_redirects > 0) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)rq->max_redirects);
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    if (rq->user_agent)
        curl_easy_setopt(c, CURLOPT_USERAGENT, rq->user_agent);
    if (rq->accept_encoding)
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, rq->accept_encoding);
    char range[32];
    if (rq->has_range) {
        /* CURLOPT_RANGE rather than RESUME_FROM: a server that ignores ranges gives a 200 the caller can see. */
        snprintf(range, sizeof(range), "%llu-", (unsigned long long)rq->range_start);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    /* libcurl (unlike the curl tool) ignores CURL_CA_BUNDLE / SSL_CERT_FILE.
     * Honour them: the Lambda package bundles Debian's libcurl, whose built-in
     * CA path does not exist on Amazon Linux, and its bootstrap points
     * CURL_CA_BUNDLE at the runtime's bundle. */
    const char *ca = getenv("CURL_CA_BUNDLE");
    if (!ca || !*ca)
        ca = getenv("SSL_CERT_FILE");
    if (ca && *ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    if (rq->aws_sigv4) {
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
        curl_easy_setopt(c, CURLOPT_USERNAME, rq->user ? rq->user : "");
        curl_easy_setopt(c, CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (mime) {
        curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (has_body || strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
        /* Every method with a body goes through the upload path so that the
         * body is streamed by on_read and its length is exact. */
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, x);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_length(rq));
        if (strcmp(method, "PUT") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode cc = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    x->resp->status = st;
    return cc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

enum cmn_err cmn_http_perform(struct cmn_http *h, const struct cmn_http_req *rq, struct cmn_http_resp *resp,
                              struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    struct curl_slist *hdrs = NULL;
    size_t out_len0 = rq->body_out ? rq->body_out->len : 0;
    struct xfer x;

    curl_mime *mime = NULL;

    memset(resp, 0, sizeof(*resp));
    resp->range_start = -1;
    cmn_buf_init(&resp->err_body, CMN_HTTP_ERRBODY_MAX);
    if (!h || !rq->url || body_kind_count(rq) > 1 || rq->nheaders > CMN_HTTP_MAX_HEADERS ||
        rq->nparts > CMN_HTTP_MAX_PARTS)
        return cmn_errf(eb, CMN_E_INVAL, "invalid http request");
    int expect_set = 0;
    for (size_t i = 0; i < rq->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(hdrs, rq->headers[i]);
        if (!n) {
            rc = CMN_E_NOMEM;
            goto out;
        }
        hdrs = n;
        expect_set |= strncasecmp(rq->headers[i], "expect:", 7) == 0;
    }
    if ((rq->body || rq->nparts) && !expect_set && !rq->aws_sigv4) {
        /* Small bodies: no "Expect: 100-continue" round trip (curl would wait a second for a server that
         * does not answer 100). File and callback uploads keep it, so a refusal costs no upload. Not with
         * SigV4: libcurl signs the emptied "Expect:" header it then does not send, and S3 answers
         * SignatureDoesNotMatch (tests/integration/publisher/s3_test.c). */
        struct curl_slist *n = curl_slist_append(hdrs, "Expect:");
        if (!n) {
            rc = CMN_E_NOMEM;
            goto out;
        }
        hdrs = n;
    }
    if (rq->nparts) {
        mime = curl_mime_init(h->curl);
        if (!mime) {
            rc = CMN_E_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < rq->nparts; i++) {
            const struct cmn_http_part *pt = &rq->parts[i];
            curl_mimepart *mp = curl_mime_addpart(mime);
            if (!mp) {
                rc = CMN_E_NOMEM;
                goto out;
            }
            curl_mime_name(mp, pt->name);
            if (pt->path) {
                if (access(pt->path, R_OK) != 0 || curl_mime_filedata(mp, pt->path) != CURLE_OK) {
                    rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s'", pt->path);
                    goto out;
                }
            } else if (curl_mime_data(mp, pt->data ? pt->data : "", pt->len) != CURLE_OK) {
                rc = CMN_E_NOMEM;
                goto out;
            }
            if (pt->filename)
                curl_mime_filename(mp, pt->filename);
            if (pt->type)
                curl_mime_type(mp, pt->type);
        }
    }

    int max_attempts = 1 + (rq->max_retries > 0 ? rq->max_retries : 0);
    for (int a = 1;; a++) {
        memset(&x, 0, sizeof(x));
        x.curl = h->curl;
        x.req = rq;
        x.resp = resp;
        resp->status = 0;
        resp->etag[0] = '\0';
        resp->has_length = 0;
        resp->content_length = 0;
        resp->range_total = 0;
        resp->range_start = -1;
        resp->retry_after_s = 0;
        resp->attempts = a;
        cmn_buf_reset(&resp->err_body);
        if (rq->body_out) {
            /* Roll back a partial body from a failed attempt. */
            rq->body_out->len = out_len0;
            if (rq->body_out->ptr)
                rq->body_out->ptr[out_len0] = '\0';
        }
        if (rq->upload_path) {
            x.upf = fopen(rq->upload_path, "rb");
            if (!x.upf || fseeko(x.upf, (off_t)rq->upload_offset, SEEK_SET) != 0) {
                rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", rq->upload_path, strerror(errno));
                if (x.upf)
                    fclose(x.upf);
                goto out;
            }
        } else if (rq->read && a > 1) {
            if (!rq->rewind || rq->rewind(rq->read_ctx) != 0) {
                rc = cmn_errf(eb, CMN_E_NET, "request to '%s' failed and its body cannot be replayed", rq->url);
                goto out;
            }
        }

        CURLcode cc = attempt(h, rq, &x, hdrs, mime);
        if (x.upf)
            fclose(x.upf);

        if (x.toobig) {
            rc = cmn_errf(eb, CMN_E_TOOBIG, "response from '%s' exceeds %zu bytes", rq->url, rq->body_out->cap);
            goto out;
        }
        if (x.cancelled) {
            rc = cmn_errf(eb, CMN_E_CANCELLED, "request to '%s' cancelled", rq->url);
            goto out;
        }
        if (x.read_failed) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s' (file shrank?)", rq->upload_path);
            goto out;
        }
        int retry = 0;
        if (cc != CURLE_OK) {
            retry = curl_rc_retryable(cc);
            if (!retry || a >= max_attempts || x.delivered) {
                snprintf(resp->error, sizeof resp->error, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
                rc = cmn_errf(eb, CMN_E_NET, "%s %s: %s%s%s (after %d attempt%s)", rq->method ? rq->method : "GET",
                              rq->url, curl_easy_strerror(cc), h->errbuf[0] ? ": " : "", h->errbuf, a,
                              a == 1 ? "" : "s");
                goto out;
            }
        } else if (resp->status >= 500 || resp->status == 429) {
            retry = a < max_attempts && !x.delivered;
            if (!retry)
                goto out; /* the caller maps the status */
        } else {
            goto out;
        }
        long delay = cmn_http_backoff_ms(rq->retry_base_ms, a);
        if (x.retry_after_s > 0 && x.retry_after_s * 1000 > delay)
            delay = x.retry_after_s * 1000 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : x.retry_after_s * 1000;
        sleep_ms(delay);
    }
out:
    if (rc && rq->body_out && rq->body_out->ptr && rq->body_out->len >= out_len0) {
        /* A failed request appends nothing. */
        rq->body_out->len = out_len0;
        rq->body_out->ptr[out_len0] = '\0';
    }
    curl_mime_free(mime);
    curl_slist_free_all(hdrs);
    return rc;
}
