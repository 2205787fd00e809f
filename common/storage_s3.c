/*
 * storage_s3.c - the s3:// backend for AWS S3, Cloudflare R2, Ceph radosgw
 * and other S3 peers. Path-style URLs (<endpoint>/<bucket>/<prefix/key>),
 * SigV4 computed by libcurl (CURLOPT_AWS_SIGV4), and an x-amz-content-sha256
 * header on every request because libcurl 7.88 does not add one (it then
 * signs the value we give it, so the body hash is part of the signature).
 *
 * Conditional writes send If-Match with the bare ETag (radosgw only matches
 * the unquoted form) or If-None-Match: *, and a 412 becomes CMN_E_CONFLICT.
 * Files above 16 MiB go up as a multipart upload of 8 MiB parts, each part
 * hashed before it is sent; any failure aborts the upload so no parts are
 * left behind. Transport failures, 5xx and 429 are retried by http.c with
 * backoff; S3 error documents become "s3: <Code>: <Message>" details.
 */
#include "common/compat.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws_creds_int.h"
#include "common/crypto.h"
#include "common/http.h"
#include "common/http1.h"
#include "common/str.h"
#include "common/s3xml.h"
#include "common/storage.h"
#include "storage_int.h"

#define MULTIPART_THRESHOLD (16u * 1024 * 1024)
#define PART_SIZE (8u * 1024 * 1024)
#define MAX_PARTS 10000
#define LIST_BODY_MAX (16u * 1024 * 1024)
#define SMALL_BODY_MAX (1u * 1024 * 1024)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3store {
    struct cmn_storage base;
    struct cmn_http *http;
    char *endpoint; /* no trailing '/' */
    char *bucket;
    char *prefix; /* "" or "a/b" (no leading or trailing '/') */
    char *region;
    char *access;
    char *secret;          /* wiped on free */
    char *token;           /* wiped on free; NULL when absent */
    char *sigv4;           /* "aws:amz:<region>:s3" */
    int creds_dynamic;     /* credentials came from the container / instance role endpoint */
    int64_t creds_expires; /* ... and expire then (refreshed before each request when close) */
    long timeout_ms;
    int max_retries;
    int page_size;
};

static struct s3store *s3_of(struct cmn_storage *st)
{
    return (struct s3store *)st;
}

/* Header lines for one request, owned here (http.c borrows them). */
struct hdrs {
    struct cmn_buf b[CMN_HTTP_MAX_HEADERS];
    size_t n;
};

static void hdrs_release(struct hdrs *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (h->b[i].ptr)
            cmn_wipe(h->b[i].ptr, h->b[i].len); /* may hold the session token */
        cmn_buf_release(&h->b[i]);
    }
    h->n = 0;
}

static enum cmn_err hdr_add(struct hdrs *h, struct cmn_http_req *rq, const char *fmt, ...) CMN_PRINTF(3, 4);
static enum cmn_err hdr_add(struct hdrs *h, struct cmn_http_req *rq, const char *fmt, ...)
{
    if (h->n >= CMN_HTTP_MAX_HEADERS)
        return CMN_E_TOOBIG;
    struct cmn_buf *b = &h->b[h->n];
    cmn_buf_init(b, 8192);
    va_list ap;
    va_start(ap, fmt);
    enum cmn_err rc = cmn_buf_vaddf(b, fmt, ap);
    va_end(ap);
    if (rc)
        return rc;
    h->n++;
    return cmn_http_req_header(rq, b->ptr);
}

/* Progress adapter: http.c's four counters -> the storage callback's (done, total). */
struct prog {
    cmn_progress_fn fn;
    void *ctx;
    uint64_t base;  /* bytes finished by earlier requests (multipart) */
    uint64_t total; /* 0 = take it from the transfer */
    int upload;
};

static int prog_cb(void *ud, uint64_t dl_now, uint64_t dl_total, uint64_t ul_now, uint64_t ul_total)
{
    struct prog *p = ud;
    uint64_t now = p->upload ? ul_now : dl_now;
    uint64_t tot = p->total ? p->total : (p->upload ? ul_total : dl_total);
    return p->fn(p->ctx, p->base + now, tot);
}

static void wipe_free(char *p);

/*
 * Role credentials expire: take fresh ones (from the process cache, which
 * refetches near expiry) when ours are within five minutes of it. Best
 * effort: on failure the old ones stay, and S3's 403 will say what is wrong.
 * A handle is used by one thread at a time, and no request of it is in
 * flight here, so swapping the strings is safe.
 */
static void creds_refresh(struct s3store *s)
{
    int64_t now = (int64_t)time(NULL);
    if (!s->creds_dynamic || now < s->creds_expires - 300)
        return;
    struct cmn_aws_creds c = {0};
    if (cmn_aws_creds_get(now, &c, NULL) != CMN_OK)
        return;
    free(s->access);
    wipe_free(s->secret);
    wipe_free(s->token);
    s->access = c.access_key;
    s->secret = c.secret_key;
    s->token = c.token;
    s->creds_expires = c.expires;
}

static void req_init(struct s3store *s, struct cmn_http_req *rq, const char *method, const char *url, struct prog *pg)
{
    creds_refresh(s);
    memset(rq, 0, sizeof(*rq));
    rq->method = method;
    rq->url = url;
    rq->aws_sigv4 = s->sigv4;
    rq->user = s->access;
    rq->password = s->secret;
    rq->timeout_ms = s->timeout_ms;
    rq->connect_timeout_ms = s->timeout_ms < 10000 ? s->timeout_ms : 10000;
    rq->max_retries = s->max_retries;
    rq->retry_base_ms = 200;
    if (pg && pg->fn) {
        rq->progress = prog_cb;
        rq->progress_ctx = pg;
    }
}

/* Big bodies: no overall deadline, but abort a transfer stalled for timeout_ms. */
static void req_streaming(struct s3store *s, struct cmn_http_req *rq)
{
    rq->timeout_ms = -1;
    rq->low_speed_bytes = 1;
    rq->low_speed_secs = s->timeout_ms / 1000 > 0 ? s->timeout_ms / 1000 : 1;
}

static enum cmn_err common_hdrs(struct s3store *s, struct hdrs *h, struct cmn_http_req *rq, const char *sha_hex)
{
    enum cmn_err rc = hdr_add(h, rq, "x-amz-content-sha256: %s", sha_hex);
    if (!rc && s->token)
        rc = hdr_add(h, rq, "x-amz-security-token: %s", s->token);
    return rc;
}

/* URL of an object: <endpoint>/<bucket>/<prefix/>key, path-encoded; `query` (raw) appended when not NULL. */
static enum cmn_err object_url(struct s3store *s, const char *key, const char *query, struct cmn_buf *u)
{
    enum cmn_err rc = cmn_buf_addf(u, "%s/", s->endpoint);
    if (!rc)
        rc = cmn_url_encode(u, s->bucket, strlen(s->bucket), 0);
    if (!rc)
        rc = cmn_buf_add(u, "/", 1);
    if (!rc && s->prefix[0]) {
        rc = cmn_url_encode(u, s->prefix, strlen(s->prefix), 1);
        if (!rc)
            rc = cmn_buf_add(u, "/", 1);
    }
    if (!rc)
        rc = cmn_url_encode(u, key, strlen(key), 1);
    if (!rc && query)
        rc = cmn_buf_addf(u, "?%s", query);
    return rc;
}

/* Map a finished response to an error code with an "s3: Code: Message" detail. */
static enum cmn_err map_status(const char *op, const char *key, struct cmn_http_resp *rs, int conditional_put,
                               struct cmn_errbuf *eb)
{
    long st = rs->status;
    if (st >= 200 && st < 300)
        return CMN_OK;
    struct cmn_s3_error e;
    int have = rs->err_body.len && cmn_s3xml_parse_error(rs->err_body.ptr, rs->err_body.len, &e) == CMN_OK;
    enum cmn_err code;
    if (st == 304)
        return CMN_E_NOT_MODIFIED;
    else if (st == 404 && conditional_put)
        code = CMN_E_CONFLICT;
    else if (st == 404)
        code = CMN_E_NOTFOUND;
    else if (st == 412 || st == 409)
        code = CMN_E_CONFLICT;
    else if (st == 401 || st == 403)
        code = CMN_E_DENIED;
    else if (st == 416)
        code = CMN_E_INVAL;
    else
        code = CMN_E_HTTP;
    if (have)
        return cmn_errf(eb, code, "s3: %s: %s (http %ld, %s '%s')", e.code, e.message[0] ? e.message : "-", st, op,
                        key);
    return cmn_errf(eb, code, "s3: http %ld on %s '%s'", st, op, key);
}

/* One request: its URL, the header lines it borrows, and its response. */
struct s3req {
    struct cmn_buf url;
    struct hdrs h;
    struct cmn_http_req rq;
    struct cmn_http_resp rs;
};

static void s3req_init(struct s3req *r, size_t url_max)
{
    memset(r, 0, sizeof(*r));
    cmn_buf_init(&r->url, url_max);
}

/* Drop the response and header lines and empty the URL: ready for the next request. */
static void s3req_reset(struct s3req *r)
{
    cmn_http_resp_release(&r->rs);
    hdrs_release(&r->h);
    cmn_buf_reset(&r->url);
}

static void s3req_release(struct s3req *r)
{
    s3req_reset(r);
    cmn_buf_release(&r->url);
}

/* Set up a request to r->url: credentials, timeouts, the body hash and the session token. */
static enum cmn_err s3req_start(struct s3store *s, struct s3req *r, const char *method, const char *sha_hex,
                                struct prog *pg)
{
    req_init(s, &r->rq, method, r->url.ptr, pg);
    return common_hdrs(s, &r->h, &r->rq, sha_hex);
}

/* s3req_start on the URL of object `key` (`query` as object_url takes it). */
static enum cmn_err s3req_object(struct s3store *s, struct s3req *r, const char *method, const char *key,
                                 const char *query, const char *sha_hex, struct prog *pg)
{
    enum cmn_err rc = object_url(s, key, query, &r->url);
    return rc ? rc : s3req_start(s, r, method, sha_hex, pg);
}

/* Send the request; a status other than 2xx becomes an error code with an S3 detail (map_status). */
static enum cmn_err s3req_send(struct s3store *s, struct s3req *r, const char *op, const char *key, int conditional_put,
                               struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_http_perform(s->http, &r->rq, &r->rs, eb);
    return rc ? rc : map_status(op, key, &r->rs, conditional_put, eb);
}

static void sha256_hex(const void *p, size_t n, char hex[CMN_SHA256_HEX])
{
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256(p, n, d);
    cmn_hex_encode(d, sizeof(d), hex);
}

static enum cmn_err s3_head(struct cmn_storage *st, const char *key, char etag_out[CMN_ETAG_MAX], uint64_t *size,
                            struct cmn_errbuf *eb);

/* ---- put ---- */

static enum cmn_err cond_hdrs(struct hdrs *h, struct cmn_http_req *rq, const struct cmn_put_opts *o)
{
    enum cmn_err rc = CMN_OK;
    if (o->if_match)
        rc = hdr_add(h, rq, "If-Match: %s", o->if_match);
    if (!rc && o->if_none_match)
        rc = hdr_add(h, rq, "If-None-Match: *");
    return rc;
}

static int header_value_ok(const char *v)
{
    return v && !strpbrk(v, "\r\n") && strlen(v) < 1024;
}

static enum cmn_err meta_hdrs(struct hdrs *h, struct cmn_http_req *rq, const struct cmn_put_opts *o,
                              struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    if (o->content_type) {
        if (!header_value_ok(o->content_type))
            return cmn_errf(eb, CMN_E_INVAL, "invalid content type");
        rc = hdr_add(h, rq, "Content-Type: %s", o->content_type);
    }
    if (!rc && o->cache_control) {
        if (!header_value_ok(o->cache_control))
            return cmn_errf(eb, CMN_E_INVAL, "invalid cache control");
        rc = hdr_add(h, rq, "Cache-Control: %s", o->cache_control);
    }
    return rc;
}

/* Single PUT of memory (data) or a file (path): the body's SHA-256 is known. */
static enum cmn_err put_single(struct s3store *s, const char *key, const void *data, size_t len, const char *path,
                               uint64_t flen, const char *sha_hex, const struct cmn_put_opts *o,
                               char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct s3req r;
    struct prog pg = {o->progress, o->progress_ctx, 0, 0, 1};
    enum cmn_err rc;
    s3req_init(&r, 8192);
    rc = s3req_object(s, &r, "PUT", key, NULL, sha_hex, &pg);
    if (rc)
        goto out;
    if (path) {
        r.rq.upload_path = path;
        r.rq.upload_offset = 0;
        r.rq.upload_len = flen;
        if (flen > SMALL_BODY_MAX)
            req_streaming(s, &r.rq);
    } else {
        r.rq.body = data;
        r.rq.body_len = len;
        if (len > SMALL_BODY_MAX)
            req_streaming(s, &r.rq);
    }
    rc = cond_hdrs(&r.h, &r.rq, o);
    if (!rc)
        rc = meta_hdrs(&r.h, &r.rq, o, eb);
    if (!rc)
        rc = s3req_send(s, &r, "put", key, o->if_match || o->if_none_match, eb);
    if (!rc && etag_out)
        memcpy(etag_out, r.rs.etag, CMN_ETAG_MAX);
out:
    s3req_release(&r);
    return rc;
}

static enum cmn_err s3_put(struct cmn_storage *st, const char *key, const void *data, size_t len,
                           const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    char hex[CMN_SHA256_HEX];
    sha256_hex(data, len, hex);
    return put_single(s3_of(st), key, data, len, NULL, 0, hex, o, etag_out, eb);
}

/* The query naming a multipart upload, "[partNumber=N&]uploadId=<id>" (sorted: the SigV4 canonical form). */
static enum cmn_err upload_query(struct cmn_buf *q, uint64_t part, const char *upload_id)
{
    enum cmn_err rc = CMN_OK;
    cmn_buf_reset(q);
    if (part)
        rc = cmn_buf_addf(q, "partNumber=%" PRIu64 "&", part);
    if (!rc)
        rc = cmn_buf_addstr(q, "uploadId=");
    if (!rc)
        rc = cmn_url_encode(q, upload_id, strlen(upload_id), 0);
    return rc;
}

/* Abort a multipart upload so its parts do not linger (best effort). */
static void mp_abort(struct s3store *s, const char *key, const char *upload_id)
{
    struct s3req r;
    struct cmn_buf q;
    s3req_init(&r, 8192);
    cmn_buf_init(&q, 4096);
    if (upload_query(&q, 0, upload_id) == CMN_OK &&
        s3req_object(s, &r, "DELETE", key, q.ptr, EMPTY_SHA256, NULL) == CMN_OK &&
        cmn_http_perform(s->http, &r.rq, &r.rs, NULL) == CMN_OK && r.rs.status >= 300)
        fprintf(stderr, "warning: cannot abort multipart upload of '%s': http %ld\n", key, r.rs.status);
    s3req_release(&r);
    cmn_buf_release(&q);
}

static enum cmn_err put_multipart(struct s3store *s, const char *key, const char *path, uint64_t size,
                                  const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct cmn_buf q, body, xml;
    struct s3req r;
    char upload_id[1024] = "";
    char(*etags)[CMN_ETAG_MAX] = NULL;
    char *part = NULL;
    char hex[CMN_SHA256_HEX];
    int fd = -1;
    enum cmn_err rc;
    uint64_t nparts = (size + PART_SIZE - 1) / PART_SIZE;
    struct prog pg = {o->progress, o->progress_ctx, 0, size, 1};

    s3req_init(&r, 8192);
    cmn_buf_init(&q, 4096);
    cmn_buf_init(&body, 64 * 1024);
    cmn_buf_init(&xml, (size_t)nparts * 256 + 1024);
    if (nparts > MAX_PARTS) {
        rc = cmn_errf(eb, CMN_E_TOOBIG, "'%s' needs more than %d parts", path, MAX_PARTS);
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    etags = calloc((size_t)nparts, sizeof(*etags));
    part = malloc(PART_SIZE);
    if (!etags || !part) {
        rc = CMN_E_NOMEM;
        goto out;
    }

    /* 1. Initiate. */
    rc = s3req_object(s, &r, "POST", key, "uploads=", EMPTY_SHA256, NULL); /* "=" kept: SigV4 canonical query form */
    r.rq.body_out = &body;
    if (!rc)
        rc = meta_hdrs(&r.h, &r.rq, o, eb);
    if (!rc)
        rc = s3req_send(s, &r, "initiate multipart", key, 0, eb);
    if (!rc)
        rc = cmn_s3xml_parse_upload_id(body.ptr, body.len, upload_id, sizeof(upload_id), eb);
    s3req_reset(&r);
    if (rc)
        goto out;

    /* 2. Parts: read, hash, send. */
    for (uint64_t i = 0; i < nparts; i++) {
        uint64_t off = i * PART_SIZE;
        size_t n = size - off > PART_SIZE ? PART_SIZE : (size_t)(size - off);
        size_t got = 0;
        while (got < n) {
            ssize_t rd = pread(fd, part + got, n - got, (off_t)(off + got));
            if (rd < 0 && errno == EINTR)
                continue;
            if (rd <= 0) {
                rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", path, rd < 0 ? strerror(errno) : "file shrank");
                goto abort;
            }
            got += (size_t)rd;
        }
        sha256_hex(part, n, hex);
        pg.base = off;
        rc = upload_query(&q, i + 1, upload_id);
        if (!rc)
            rc = s3req_object(s, &r, "PUT", key, q.ptr, hex, &pg);
        req_streaming(s, &r.rq);
        r.rq.body = part;
        r.rq.body_len = n;
        if (!rc)
            rc = s3req_send(s, &r, "upload part", key, 0, eb);
        if (!rc && !r.rs.etag[0])
            rc = cmn_errf(eb, CMN_E_HTTP, "s3: no ETag for part %" PRIu64 " of '%s'", i + 1, key);
        if (!rc)
            memcpy(etags[i], r.rs.etag, CMN_ETAG_MAX);
        s3req_reset(&r);
        if (rc)
            goto abort;
    }

    /* 3. Complete. */
    rc = cmn_buf_addstr(&xml, "<CompleteMultipartUpload>");
    for (uint64_t i = 0; i < nparts && !rc; i++)
        rc =
            cmn_buf_addf(&xml, "<Part><PartNumber>%" PRIu64 "</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1, etags[i]);
    if (!rc)
        rc = cmn_buf_addstr(&xml, "</CompleteMultipartUpload>");
    cmn_buf_reset(&body);
    if (!rc)
        rc = upload_query(&q, 0, upload_id);
    if (rc)
        goto abort;
    {
        sha256_hex(xml.ptr, xml.len, hex);
        rc = s3req_object(s, &r, "POST", key, q.ptr, hex, NULL);
        /* radosgw may take a while to stitch the parts together. */
        r.rq.timeout_ms = s->timeout_ms * 4;
        r.rq.body = xml.ptr;
        r.rq.body_len = xml.len;
        r.rq.body_out = &body;
        if (!rc)
            rc = hdr_add(&r.h, &r.rq, "Content-Type: application/xml");
        if (!rc)
            rc = s3req_send(s, &r, "complete multipart", key, 0, eb);
        char etag[CMN_S3XML_ETAG_MAX];
        if (!rc)
            rc = cmn_s3xml_parse_complete(body.ptr, body.len, etag, eb);
        s3req_reset(&r);
        if (rc)
            goto abort;
        /* radosgw answers with an empty <ETag/>: ask for it. */
        if (!etag[0] && etag_out) {
            rc = s3_head(&s->base, key, etag, NULL, eb);
            if (rc)
                goto out; /* the object is complete; only its etag is unknown */
        }
        if (etag_out)
            memcpy(etag_out, etag, CMN_ETAG_MAX);
    }
    goto out;
abort:
    mp_abort(s, key, upload_id);
out:
    if (fd >= 0)
        close(fd);
    free(part);
    free(etags);
    cmn_buf_release(&xml);
    cmn_buf_release(&body);
    cmn_buf_release(&q);
    s3req_release(&r);
    return rc;
}

static enum cmn_err s3_put_file(struct cmn_storage *st, const char *key, const char *path, const struct cmn_put_opts *o,
                                char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct s3store *s = s3_of(st);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cmn_errf(eb, CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return cmn_errf(eb, CMN_E_IO, "'%s' is not a regular file", path);
    uint64_t size = (uint64_t)sb.st_size;
    /* Conditional writes stay single PUTs: S3 checks the condition atomically there. */
    if (size > MULTIPART_THRESHOLD && !o->if_match && !o->if_none_match)
        return put_multipart(s, key, path, size, o, etag_out, eb);
    uint8_t d[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    uint64_t hashed = 0;
    enum cmn_err rc = cmn_sha256_file(path, d, &hashed, eb);
    if (rc)
        return rc;
    if (hashed != size)
        return cmn_errf(eb, CMN_E_IO, "'%s' changed while being stored", path);
    cmn_hex_encode(d, sizeof(d), hex);
    return put_single(s, key, NULL, 0, path, size, hex, o, etag_out, eb);
}

/* ---- get / head ---- */

static enum cmn_err s3_get(struct cmn_storage *st, const char *key, const struct cmn_get_opts *o, struct cmn_buf *out,
                           char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct s3store *s = s3_of(st);
    struct s3req r;
    size_t len0 = out->len, cap0 = out->cap;
    enum cmn_err rc;
    s3req_init(&r, 8192);
    rc = s3req_object(s, &r, "GET", key, NULL, EMPTY_SHA256, NULL);
    if (!rc && o->has_range) {
        if (o->range_end == UINT64_MAX)
            rc = hdr_add(&r.h, &r.rq, "Range: bytes=%" PRIu64 "-", o->range_start);
        else
            rc = hdr_add(&r.h, &r.rq, "Range: bytes=%" PRIu64 "-%" PRIu64, o->range_start, o->range_end);
    }
    if (!rc && o->if_none_match)
        rc = hdr_add(&r.h, &r.rq, "If-None-Match: \"%s\"", o->if_none_match);
    if (rc)
        goto out;
    req_streaming(s, &r.rq);
    /* The object may not grow `out` past max_size (the buffer's own cap still applies). */
    if (o->max_size && o->max_size < out->cap - out->len)
        out->cap = out->len + o->max_size;
    r.rq.body_out = out;
    rc = cmn_http_perform(s->http, &r.rq, &r.rs, eb);
    out->cap = cap0;
    if (rc) {
        if (rc == CMN_E_TOOBIG)
            rc = cmn_errf(eb, CMN_E_TOOBIG, "object '%s' is too big", key);
        goto out;
    }
    rc = map_status("get", key, &r.rs, 0, eb);
    if (etag_out && (rc == CMN_OK || rc == CMN_E_NOT_MODIFIED))
        memcpy(etag_out, r.rs.etag[0] || !o->if_none_match ? r.rs.etag : o->if_none_match, CMN_ETAG_MAX);
    if (rc)
        goto out;
    if (o->has_range && r.rs.status == 200) {
        /* The server ignored the range: keep the requested slice. */
        size_t got = out->len - len0;
        if (o->range_start >= got) {
            out->len = len0;
            out->ptr[len0] = '\0';
            rc = cmn_errf(eb, CMN_E_INVAL, "range start beyond the end of '%s'", key);
            goto out;
        }
        size_t end = o->range_end >= got ? got - 1 : (size_t)o->range_end;
        size_t n = end - (size_t)o->range_start + 1;
        memmove(out->ptr + len0, out->ptr + len0 + o->range_start, n);
        out->len = len0 + n;
        out->ptr[out->len] = '\0';
    }
out:
    s3req_release(&r);
    return rc;
}

static enum cmn_err s3_head(struct cmn_storage *st, const char *key, char etag_out[CMN_ETAG_MAX], uint64_t *size,
                            struct cmn_errbuf *eb)
{
    struct s3store *s = s3_of(st);
    struct s3req r;
    s3req_init(&r, 8192);
    enum cmn_err rc = s3req_object(s, &r, "HEAD", key, NULL, EMPTY_SHA256, NULL);
    if (!rc)
        rc = s3req_send(s, &r, "head", key, 0, eb);
    if (!rc && etag_out)
        memcpy(etag_out, r.rs.etag, CMN_ETAG_MAX);
    if (!rc && size)
        *size = r.rs.content_length;
    s3req_release(&r);
    return rc;
}

/* ---- list ---- */

static enum cmn_err s3_list(struct cmn_storage *st, const char *prefix, cmn_list_fn fn, void *ctx,
                            struct cmn_errbuf *eb)
{
    struct s3store *s = s3_of(st);
    struct cmn_buf full, body;
    struct s3req r;
    struct cmn_s3_list page;
    char *token = NULL;
    enum cmn_err rc;
    int stop = 0;
    s3req_init(&r, 16384);
    cmn_buf_init(&full, 4096);
    cmn_buf_init(&body, LIST_BODY_MAX);
    memset(&page, 0, sizeof(page));
    /* Keys on the wire carry the store's prefix; callers see them without it. */
    rc = s->prefix[0] ? cmn_buf_addf(&full, "%s/", s->prefix) : cmn_buf_addstr(&full, "");
    if (rc)
        goto out;
    size_t strip = full.len;
    rc = cmn_buf_addstr(&full, prefix);
    if (rc)
        goto out;
    do {
        struct cmn_buf *url = &r.url;
        cmn_buf_reset(&body);
        /* Query parameters in sorted order (the SigV4 canonical form). */
        rc = cmn_buf_addf(url, "%s/", s->endpoint);
        if (!rc)
            rc = cmn_url_encode(url, s->bucket, strlen(s->bucket), 0);
        if (!rc)
            rc = cmn_buf_addstr(url, "?");
        if (!rc && token) {
            rc = cmn_buf_addstr(url, "continuation-token=");
            if (!rc)
                rc = cmn_url_encode(url, token, strlen(token), 0);
            if (!rc)
                rc = cmn_buf_addstr(url, "&");
        }
        if (!rc)
            rc = cmn_buf_addf(url, "list-type=2&max-keys=%d&prefix=", s->page_size);
        if (!rc)
            rc = cmn_url_encode(url, full.ptr, full.len, 0);
        if (!rc)
            rc = s3req_start(s, &r, "GET", EMPTY_SHA256, NULL);
        r.rq.body_out = &body;
        if (!rc)
            rc = s3req_send(s, &r, "list", full.ptr, 0, eb);
        s3req_reset(&r);
        if (rc)
            goto out;
        rc = cmn_s3xml_parse_list(body.ptr ? body.ptr : "", body.len, &page, eb);
        if (rc)
            goto out;
        for (size_t i = 0; i < page.n && !stop; i++) {
            const char *k = page.items[i].key;
            if (strlen(k) <= strip || strncmp(k, full.ptr, strip) != 0)
                continue;
            k += strip;
            if (cmn_storage_key_check(k, NULL) != CMN_OK)
                continue; /* not something this API could have written */
            stop = fn(ctx, k, page.items[i].etag, page.items[i].size);
        }
        free(token);
        token = NULL;
        if (page.truncated && !stop) {
            token = page.next_token;
            page.next_token = NULL;
            st->requests++; /* the front door counted the first page */
        }
        cmn_s3_list_release(&page);
    } while (token && !stop);
out:
    free(token);
    cmn_s3_list_release(&page);
    cmn_buf_release(&body);
    cmn_buf_release(&full);
    s3req_release(&r);
    return rc;
}

/* ---- get_many: parallel GETs on one libcurl multi handle ---- */

/*
 * One transfer slot. Only GETs of small objects go through here (manifests),
 * so the body goes straight into the item's buffer; anything that is not a
 * plain answer (a transport error, a 5xx or 429, a 403 that a credential
 * refresh might cure) is redone by s3_get, which owns the retry policy.
 */
struct mget {
    struct s3store *s;
    struct cmn_get_item *it;
    CURL *c;
    struct curl_slist *hdrs;
    struct cmn_buf url;
    size_t cap0, len0;
    int toobig;
    char etag[CMN_ETAG_MAX];
};

static size_t mget_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct mget *g = ud;
    size_t n = size * nmemb;
    long st = 0;
    curl_easy_getinfo(g->c, CURLINFO_RESPONSE_CODE, &st);
    if (st < 200 || st >= 300)
        return n; /* an error body: the status says enough here */
    if (cmn_buf_add(&g->it->out, p, n) != CMN_OK) {
        g->toobig = 1;
        return 0;
    }
    return n;
}

static size_t mget_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct mget *g = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncasecmp(p, "HTTP/", 5) == 0) {
        g->etag[0] = '\0';
    } else if (n > 5 && strncasecmp(p, "etag:", 5) == 0) {
        const char *v = p + 5, *e = p + n;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e - v >= 2 && v[0] == 'W' && v[1] == '/')
            v += 2;
        if (e - v >= 2 && *v == '"' && e[-1] == '"') {
            v++;
            e--;
        }
        size_t k = (size_t)(e - v);
        if (k < CMN_ETAG_MAX && !memchr(v, '"', k)) {
            memcpy(g->etag, v, k);
            g->etag[k] = '\0';
        }
    }
    return n;
}

static enum cmn_err mget_start(struct mget *g, struct cmn_get_item *it)
{
    struct s3store *s = g->s;
    enum cmn_err rc;
    struct cmn_buf line;
    g->it = it;
    g->toobig = 0;
    g->len0 = it->out.len;
    g->cap0 = it->out.cap;
    g->etag[0] = '\0';
    curl_slist_free_all(g->hdrs);
    g->hdrs = NULL;
    cmn_buf_reset(&g->url);
    rc = object_url(s, it->key, NULL, &g->url);
    if (rc)
        return rc;
    cmn_buf_init(&line, 4096);
    const char *lines[3];
    size_t nl = 0;
    char *owned[3] = {NULL, NULL, NULL};
    rc = cmn_buf_addf(&line, "x-amz-content-sha256: %s", EMPTY_SHA256);
    if (!rc && (owned[nl] = cmn_buf_take(&line, NULL)) != NULL)
        lines[nl] = owned[nl], nl++;
    if (!rc && s->token) {
        cmn_buf_init(&line, 8192);
        rc = cmn_buf_addf(&line, "x-amz-security-token: %s", s->token);
        if (!rc && (owned[nl] = cmn_buf_take(&line, NULL)) != NULL)
            lines[nl] = owned[nl], nl++;
    }
    if (!rc && it->if_none_match) {
        cmn_buf_init(&line, 256);
        rc = cmn_buf_addf(&line, "If-None-Match: \"%s\"", it->if_none_match);
        if (!rc && (owned[nl] = cmn_buf_take(&line, NULL)) != NULL)
            lines[nl] = owned[nl], nl++;
    }
    for (size_t i = 0; !rc && i < nl; i++) {
        struct curl_slist *x = curl_slist_append(g->hdrs, lines[i]);
        if (!x)
            rc = CMN_E_NOMEM;
        else
            g->hdrs = x;
    }
    for (size_t i = 0; i < nl; i++) {
        cmn_wipe(owned[i], strlen(owned[i])); /* may hold the session token */
        free(owned[i]);
    }
    cmn_buf_release(&line);
    if (rc)
        return rc;
    /* The object may not grow `out` past max_size (the buffer's own cap still applies). */
    if (it->max_size && it->max_size < it->out.cap - it->out.len)
        it->out.cap = it->out.len + it->max_size;
    CURL *c = g->c;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, g->url.ptr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms < 10000 ? s->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    const char *ca = getenv("CURL_CA_BUNDLE");
    if (!ca || !*ca)
        ca = getenv("SSL_CERT_FILE");
    if (ca && *ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, g->hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mget_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, mget_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, s->access);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
    curl_easy_setopt(c, CURLOPT_PRIVATE, g);
    return CMN_OK;
}

/* A transfer ended: settle its item, or leave it for the sequential retry (returns 1). */
static int mget_finish(struct mget *g, CURLcode cc)
{
    struct cmn_get_item *it = g->it;
    long st = 0;
    it->out.cap = g->cap0;
    curl_easy_getinfo(g->c, CURLINFO_RESPONSE_CODE, &st);
    if (g->toobig) {
        it->rc = cmn_errf(&it->eb, CMN_E_TOOBIG, "object '%s' is too big", it->key);
        return 0;
    }
    if (cc != CURLE_OK || st >= 500 || st == 429 || st == 401 || st == 403 || st == 0) {
        it->out.len = g->len0; /* a partial body goes; s3_get starts again */
        if (it->out.ptr)
            it->out.ptr[g->len0] = '\0';
        return 1;
    }
    if (st >= 200 && st < 300) {
        memcpy(it->etag, g->etag, CMN_ETAG_MAX);
        it->rc = CMN_OK;
    } else if (st == 304) {
        snprintf(it->etag, CMN_ETAG_MAX, "%s", g->etag[0] ? g->etag : it->if_none_match ? it->if_none_match : "");
        it->rc = CMN_E_NOT_MODIFIED;
    } else {
        struct cmn_http_resp rs;
        memset(&rs, 0, sizeof(rs));
        rs.status = st;
        it->rc = map_status("get", it->key, &rs, 0, &it->eb);
    }
    return 0;
}

static enum cmn_err s3_get_many(struct cmn_storage *st, struct cmn_get_item *items, size_t n, unsigned parallel)
{
    struct s3store *s = s3_of(st);
    enum cmn_err rc = CMN_OK;
    size_t next = 0, active = 0, nslots = parallel > 64 ? 64 : parallel;
    struct mget *slots = calloc(nslots, sizeof(*slots));
    unsigned char *retry = calloc(n + 1, 1);
    CURLM *m = curl_multi_init();
    if (!slots || !retry || !m) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    creds_refresh(s);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)nslots);
    for (size_t i = 0; i < nslots; i++) {
        slots[i].s = s;
        cmn_buf_init(&slots[i].url, 8192);
        slots[i].c = curl_easy_init();
        if (!slots[i].c) {
            rc = CMN_E_NOMEM;
            goto out;
        }
    }
    /* Fill every free slot, run, collect; until nothing is left. */
    for (;;) {
        for (size_t k = 0; k < nslots && next < n; k++) {
            if (slots[k].it)
                continue;
            while (next < n && items[next].rc != CMN_OK)
                next++; /* refused by the front door */
            if (next == n)
                break;
            struct cmn_get_item *it = &items[next++];
            if (mget_start(&slots[k], it) != CMN_OK || curl_multi_add_handle(m, slots[k].c) != CURLM_OK) {
                it->out.cap = slots[k].cap0;
                slots[k].it = NULL;
                retry[it - items] = 1;
                continue;
            }
            active++;
        }
        if (!active)
            break;
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct mget *g = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&g);
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, msg->easy_handle);
            if (g && g->it) {
                if (mget_finish(g, cc))
                    retry[g->it - items] = 1;
                g->it = NULL;
                active--;
            }
        }
        if (active && running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    /* The stragglers, one by one with retries and backoff. */
    for (size_t i = 0; i < n; i++) {
        if (!retry[i])
            continue;
        struct cmn_get_item *it = &items[i];
        struct cmn_get_opts go = {.if_none_match = it->if_none_match, .max_size = it->max_size};
        it->eb.msg[0] = '\0';
        it->rc = s3_get(st, it->key, &go, &it->out, it->etag, &it->eb);
    }
out:
    for (size_t i = 0; slots && i < nslots; i++) {
        if (slots[i].c) {
            if (m && slots[i].it)
                curl_multi_remove_handle(m, slots[i].c);
            curl_easy_cleanup(slots[i].c);
        }
        curl_slist_free_all(slots[i].hdrs);
        cmn_buf_release(&slots[i].url);
    }
    if (m)
        curl_multi_cleanup(m);
    free(slots);
    free(retry);
    return rc;
}

/* ---- delete ---- */

static enum cmn_err s3_del(struct cmn_storage *st, const char *key, struct cmn_errbuf *eb)
{
    struct s3store *s = s3_of(st);
    struct s3req r;
    s3req_init(&r, 8192);
    enum cmn_err rc = s3req_object(s, &r, "DELETE", key, NULL, EMPTY_SHA256, NULL);
    if (!rc)
        rc = cmn_http_perform(s->http, &r.rq, &r.rs, eb);
    if (!rc && r.rs.status != 404) /* already gone: done */
        rc = map_status("delete", key, &r.rs, 0, eb);
    s3req_release(&r);
    return rc;
}

/* ---- open / free ---- */

static void wipe_free(char *p)
{
    if (p) {
        cmn_wipe(p, strlen(p));
        free(p);
    }
}

static void s3_free(struct cmn_storage *st)
{
    struct s3store *s = s3_of(st);
    cmn_http_free(s->http);
    free(s->endpoint);
    free(s->bucket);
    free(s->prefix);
    free(s->region);
    free(s->access);
    wipe_free(s->secret);
    wipe_free(s->token);
    free(s->sigv4);
    free(s);
}

static const struct cmn_storage_ops s3_ops = {
    .put = s3_put,
    .put_file = s3_put_file,
    .get = s3_get,
    .head = s3_head,
    .list = s3_list,
    .del = s3_del,
    .get_many = s3_get_many,
    .free = s3_free,
};

void cmn_storage_s3_set_page_size(struct cmn_storage *st, int max_keys)
{
    if (st && !st->is_local)
        s3_of(st)->page_size = max_keys < 1 ? 1 : (max_keys > 1000 ? 1000 : max_keys);
}

/* Percent-decode s[0..n) ('+' is a space) into a heap string; NULL on bad escapes, NUL bytes or no memory. */
static char *pct_decode(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (o && cmn_pct_decode((struct cmn_slice){s, n}, o, n + 1, 1) < 0)
        CMN_SAFEFREE(o);
    return o;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static int bucket_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_'))
            return 0;
    }
    return 1;
}

enum cmn_err cmn_storage_s3_open(const char *url, const struct cmn_storage_opts *opts, struct cmn_storage **out,
                                 struct cmn_errbuf *eb)
{
    static const struct cmn_storage_opts none;
    enum cmn_err rc = CMN_OK;
    char *q_endpoint = NULL, *q_region = NULL;
    struct s3store *s = calloc(1, sizeof(*s));
    if (!s)
        return CMN_E_NOMEM;
    s->base.ops = &s3_ops;
    s->base.is_local = 0;
    if (!opts)
        opts = &none;

    /* s3://bucket[/prefix][?endpoint=..&region=..] */
    const char *p = url + 5;
    const char *qm = strchr(p, '?');
    size_t plen = qm ? (size_t)(qm - p) : strlen(p);
    const char *slash = memchr(p, '/', plen);
    size_t blen = slash ? (size_t)(slash - p) : plen;
    s->bucket = strndup(p, blen);
    const char *pre = slash ? slash + 1 : p + plen;
    size_t prelen = (size_t)(p + plen - pre);
    while (prelen && pre[prelen - 1] == '/')
        prelen--;
    s->prefix = strndup(pre, prelen);
    if (!s->bucket || !s->prefix) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    if (!bucket_ok(s->bucket)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "invalid bucket name in '%.200s'", url);
        goto out;
    }
    if (s->prefix[0] && cmn_storage_key_check(s->prefix, NULL) != CMN_OK) {
        rc = cmn_errf(eb, CMN_E_INVAL, "invalid prefix in '%.200s'", url);
        goto out;
    }
    for (const char *a = qm ? qm + 1 : NULL; a && *a;) {
        const char *amp = strchr(a, '&');
        size_t n = amp ? (size_t)(amp - a) : strlen(a);
        const char *eq = memchr(a, '=', n);
        if (!eq) {
            rc = cmn_errf(eb, CMN_E_INVAL, "bad query in '%.200s'", url);
            goto out;
        }
        size_t kn = (size_t)(eq - a);
        char *v = pct_decode(eq + 1, n - kn - 1);
        if (!v) {
            rc = cmn_errf(eb, CMN_E_INVAL, "bad query value in '%.200s'", url);
            goto out;
        }
        if (kn == 8 && memcmp(a, "endpoint", 8) == 0) {
            free(q_endpoint);
            q_endpoint = v;
        } else if (kn == 6 && memcmp(a, "region", 6) == 0) {
            free(q_region);
            q_region = v;
        } else {
            free(v);
            rc = cmn_errf(eb, CMN_E_INVAL, "unknown parameter '%.*s' in storage url", (int)kn, a);
            goto out;
        }
        a = amp ? amp + 1 : NULL;
    }

    const char *region = opts->region ? opts->region : q_region ? q_region : env_nonempty("AWS_REGION");
    if (!region)
        region = "us-east-1";
    s->region = strdup(region);
    if (!s->region) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    for (const char *c = s->region; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
            rc = cmn_errf(eb, CMN_E_INVAL, "invalid region '%.64s'", s->region);
            goto out;
        }
    }
    const char *ep = opts->endpoint ? opts->endpoint : q_endpoint ? q_endpoint : env_nonempty("HOTPATCH_S3_ENDPOINT");
    struct cmn_buf epb;
    cmn_buf_init(&epb, 2048);
    rc = ep ? cmn_buf_addstr(&epb, ep) : cmn_buf_addf(&epb, "https://s3.%s.amazonaws.com", s->region);
    if (rc)
        goto out;
    s->endpoint = cmn_buf_take(&epb, NULL);
    if (!s->endpoint) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    size_t en = strlen(s->endpoint);
    while (en && s->endpoint[en - 1] == '/')
        s->endpoint[--en] = '\0';
    if ((strncmp(s->endpoint, "http://", 7) != 0 && strncmp(s->endpoint, "https://", 8) != 0) ||
        strpbrk(s->endpoint, "?# \r\n")) {
        rc = cmn_errf(eb, CMN_E_INVAL, "invalid s3 endpoint '%.200s' (want http(s)://host[:port])", s->endpoint);
        goto out;
    }

    const char *ak = opts->access_key ? opts->access_key : env_nonempty("AWS_ACCESS_KEY_ID");
    const char *sk = opts->secret_key ? opts->secret_key : env_nonempty("AWS_SECRET_ACCESS_KEY");
    const char *tk = env_nonempty("AWS_SESSION_TOKEN");
    struct cmn_aws_creds role = {0};
    if (!ak || !sk) {
        /* No static keys: the task / instance role, as the AWS SDKs do. */
        struct cmn_errbuf reb = {{0}};
        enum cmn_err r2 = cmn_aws_creds_get((int64_t)time(NULL), &role, &reb);
        if (r2) {
            rc = cmn_errf(eb, r2 == CMN_E_NOMEM ? r2 : CMN_E_INVAL,
                          "no s3 credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an IAM "
                          "role: %s)",
                          cmn_errmsg(&reb, r2));
            goto out;
        }
        ak = role.access_key;
        sk = role.secret_key;
        tk = role.token;
        s->creds_dynamic = 1;
        s->creds_expires = role.expires;
    }
    if (strpbrk(ak, ":\r\n") || strpbrk(sk, "\r\n") || (tk && strpbrk(tk, "\r\n"))) {
        cmn_aws_creds_clear(&role);
        rc = cmn_errf(eb, CMN_E_INVAL, "invalid s3 credentials");
        goto out;
    }
    s->access = strdup(ak);
    s->secret = strdup(sk);
    s->token = tk ? strdup(tk) : NULL;
    cmn_aws_creds_clear(&role);
    struct cmn_buf sv;
    cmn_buf_init(&sv, 256);
    if (cmn_buf_addf(&sv, "aws:amz:%s:s3", s->region) == CMN_OK)
        s->sigv4 = cmn_buf_take(&sv, NULL);
    if (!s->access || !s->secret || (tk && !s->token) || !s->sigv4) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    s->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
    s->max_retries = opts->max_retries < 0 ? 0 : opts->max_retries == 0 ? 4 : opts->max_retries;
    s->page_size = 1000;
    rc = cmn_http_new(&s->http, eb);
out:
    free(q_endpoint);
    free(q_region);
    if (rc) {
        s3_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return CMN_OK;
}
