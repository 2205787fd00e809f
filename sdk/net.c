#include "common/compat.h"

/*
 * net.c - the SDK's HTTP layer over a pluggable transport: capped GETs for
 * check answers and manifests, JSON POSTs for reports, and the resumable
 * bundle download.
 *
 * The transport (libcurl in libhotpatch, the host's HTTP stack in
 * libhotpatch-core, see hotpatch.h "host transport") only moves bytes into an
 * hp_http_sink. Every rule is applied here, once, whatever the transport:
 * statuses, Content-Range, reply caps, the signed size, hashing, progress and
 * cancellation.
 *
 * The download appends to a partial file. When the file already holds bytes
 * it asks for the rest with a Range request; it hashes the kept prefix first
 * so the digest always covers the whole file. A 206 answer must start exactly
 * at the requested offset (Content-Range); a 200 answer means the server
 * ignored the range, so the file is truncated and hashing restarts. The
 * transfer is stopped as soon as more bytes than the signed size arrive.
 */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"
#include "hp_int.h"

/* Download state: the file the core chose, the running digest. */
struct dl {
    int fd;
    uint64_t offset; /* bytes already in the file when the request was made */
    uint64_t have;   /* bytes in the file now */
    uint64_t size;   /* signed size */
    struct cmn_sha256 sha;
    hp_progress_fn fn;
    void *ctx;
    uint64_t half_mark; /* test-only fault point "download-mid" */
    int is_file;        /* file:// URL: the transport reports no status, no ranges */
};

struct hp_http_sink {
    struct hp_client *c;
    int status;       /* 0 until reported */
    long range_start; /* from Content-Range, -1 when absent or malformed */
    char *named;      /* receives X-HotPatch-Release, or NULL */
    struct cmn_buf *body;
    struct dl *dl;
    int checked; /* status/Content-Range examined (first body byte) */
    enum cmn_err err;
    char msg[200];
};

/* Query-value escaping: the project's one URL encoder (common/str.c), as a
 * malloc'd string for the check URL. NULL when out of memory. */
char *hp__url_escape(const char *s)
{
    struct cmn_buf b;
    size_t n = strlen(s);
    cmn_buf_init(&b, n * 3 + 1);
    if (cmn_url_encode(&b, s, n, 0) != CMN_OK)
        return NULL;
    return cmn_buf_take(&b, NULL);
}

static long content_range_value(const char *q, const char *end)
{
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (end - q <= 6 || strncasecmp(q, "bytes ", 6) != 0)
        return -1;
    q += 6;
    long v = 0;
    int digits = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        if (v > (LONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*q - '0');
        q++;
        digits++;
    }
    /* "bytes START-END/TOTAL": the start must be followed by '-'. */
    if (!digits || q >= end || *q != '-')
        return -1;
    return v;
}

long hp__content_range_start(const char *p, size_t n)
{
    static const char key[] = "content-range:";
    if (n < sizeof key - 1 || strncasecmp(p, key, sizeof key - 1) != 0)
        return -2;
    return content_range_value(p + sizeof key - 1, p + n);
}

static int sink_fail(struct hp_http_sink *s, enum cmn_err e, const char *msg)
{
    if (!s->err) {
        s->err = e;
        snprintf(s->msg, sizeof s->msg, "%s", msg);
    }
    return 1;
}

int hp_sink_status(hp_http_sink *s, int status)
{
    if (!s)
        return 1;
    s->status = status;
    /* A new response (redirect) resets what we learnt. */
    s->range_start = -1;
    if (s->named) {
        s->named[0] = '\0';
        s->c->check_ticket[0] = '\0';
    }
    return s->c->cancel ? 1 : 0;
}

int hp_sink_header(hp_http_sink *s, const char *name, const char *value)
{
    if (!s || !name || !value)
        return 1;
    size_t vn = strlen(value);
    while (vn > 0 && (value[vn - 1] == '\r' || value[vn - 1] == '\n' || value[vn - 1] == ' ' || value[vn - 1] == '\t'))
        vn--;
    if (strcasecmp(name, "content-range") == 0) {
        s->range_start = content_range_value(value, value + vn);
    } else if (s->named && strcasecmp(name, "x-hotpatch-release") == 0) {
        /* An unsigned hint (see hp_check): kept only when it fits. */
        while (vn > 0 && (*value == ' ' || *value == '\t')) {
            value++;
            vn--;
        }
        if (vn < HP__NAMED_MAX) {
            memcpy(s->named, value, vn);
            s->named[vn] = '\0';
        }
    } else if (s->named && strcasecmp(name, "x-hotpatch-ticket") == 0) {
        /* The edge's telemetry ticket for the offer: opaque, checked by the publisher. */
        while (vn > 0 && (*value == ' ' || *value == '\t')) {
            value++;
            vn--;
        }
        if (vn < HP__TICKET_MAX) {
            memcpy(s->c->check_ticket, value, vn);
            s->c->check_ticket[vn] = '\0';
        }
    }
    return s->c->cancel ? 1 : 0;
}

/* First body byte of a download: is this the answer we asked for? */
static int dl_check(struct hp_http_sink *s)
{
    struct dl *d = s->dl;
    if (s->status == 206 && d->offset > 0) {
        if (s->range_start != (long)d->offset)
            return sink_fail(s, CMN_E_HTTP, "server answered a different range than asked");
    } else if (s->status == 200 || (s->status == 0 && d->is_file)) {
        if (d->offset > 0) {
            /* Range ignored: start over, so the digest covers exactly the bytes on disk. */
            if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0)
                return sink_fail(s, CMN_E_IO, "cannot truncate the partial download");
            cmn_sha256_init(&d->sha);
            d->have = 0;
            d->offset = 0;
        }
    } else {
        char m[64];
        snprintf(m, sizeof m, "HTTP status %d", s->status);
        return sink_fail(s, CMN_E_HTTP, m);
    }
    return 0;
}

static int dl_body(struct hp_http_sink *s, const char *p, size_t n)
{
    struct dl *d = s->dl;
    if (d->have + n > d->size)
        return sink_fail(s, CMN_E_TOOBIG, "bundle is larger than its signed size");
    const char *q = p;
    size_t left = n;
    while (left) {
        ssize_t w = write(d->fd, q, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return sink_fail(s, CMN_E_IO, "cannot write the download");
        q += w;
        left -= (size_t)w;
    }
    cmn_sha256_update(&d->sha, p, n);
    uint64_t before = d->have;
    d->have += n;
    if (d->half_mark && before < d->half_mark && d->have >= d->half_mark)
        hp__fault(s->c, "download-mid");
    if (d->fn && d->fn(d->ctx, (long long)d->have, (long long)d->size) != 0) {
        s->c->cancel = 1;
        return sink_fail(s, CMN_E_CANCELLED, "cancelled by the progress callback");
    }
    return 0;
}

int hp_sink_body(hp_http_sink *s, const void *p, size_t n)
{
    if (!s || (!p && n))
        return 1;
    if (s->err)
        return 1;
    if (s->c->cancel)
        return 1; /* hp_cancel(): reported as "transfer ... cancelled" */
    if (s->dl) {
        if (!s->checked) {
            if (dl_check(s))
                return 1;
            s->checked = 1;
        }
        return n ? dl_body(s, p, n) : 0;
    }
    s->checked = 1;
    if (s->body && n && cmn_buf_add(s->body, p, n) != CMN_OK)
        return sink_fail(s, CMN_E_TOOBIG, "answer too large");
    return 0;
}

static void sink_init(struct hp_http_sink *s, struct hp_client *c)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->range_start = -1;
}

/* Run one request through the handle's transport; map what went wrong. */
static enum cmn_err perform(struct hp_client *c, const hp_http_request *rq, struct hp_http_sink *s,
                            struct cmn_errbuf *eb)
{
    char detail[CMN_ERRBUF_SIZE] = "";
    if (!c->tr.perform)
        return cmn_errf(eb, CMN_E_INVAL, "no HTTP transport: libhotpatch-core needs hp_set_transport()");
    hp_status ts = c->tr.perform(c->tr.ctx, rq, s, detail, sizeof detail);
    detail[sizeof detail - 1] = '\0';
    if (s->err) {
        if (s->err == CMN_E_TOOBIG && s->body && !s->dl)
            return cmn_errf(eb, CMN_E_TOOBIG, "answer from '%s' is larger than %zu bytes", rq->url, s->body->cap);
        return cmn_errf(eb, s->err, "download of '%s': %s", rq->url, s->msg);
    }
    if (ts == HP_OK)
        return CMN_OK;
    if (ts == HP_E_CANCELLED || c->cancel)
        return cmn_errf(eb, CMN_E_CANCELLED, "transfer of '%s' cancelled", rq->url);
    return cmn_errf(eb, CMN_E_NET, "cannot fetch '%s': %s", rq->url, detail[0] ? detail : "transport failed");
}

static void request_init(hp_http_request *rq, const struct hp_client *c, const char *method, const char *url)
{
    memset(rq, 0, sizeof *rq);
    rq->method = method;
    rq->url = url;
    rq->timeout_ms = c->timeout_ms;
    rq->follow_redirects = 1;
}

enum cmn_err hp__http_get(struct hp_client *c, const char *url, struct cmn_buf *body, char *named, long *status,
                          struct cmn_errbuf *eb)
{
    struct hp_http_sink s;
    hp_http_request rq;
    sink_init(&s, c);
    s.body = body;
    s.named = named;
    if (named) {
        named[0] = '\0';
        c->check_ticket[0] = '\0';
    }
    request_init(&rq, c, "GET", url);
    rq.decompress = 1;
    enum cmn_err rc = perform(c, &rq, &s, eb);
    if (rc)
        return rc;
    *status = s.status;
    if (*status == 0 && strncmp(url, "file://", 7) == 0)
        *status = 200; /* a file that could be read */
    return CMN_OK;
}

enum cmn_err hp__http_post_json(struct hp_client *c, const char *url, const char *body, size_t n, long *status,
                                struct cmn_errbuf *eb)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    struct hp_http_sink s;
    hp_http_request rq;
    sink_init(&s, c);
    request_init(&rq, c, "POST", url);
    rq.headers = hdrs;
    rq.body = body;
    rq.body_len = n;
    rq.follow_redirects = 0;
    enum cmn_err rc = perform(c, &rq, &s, eb);
    if (!rc)
        *status = s.status;
    return rc;
}

/* ---- resumable download ---- */

/* Hash the bytes already in the file (the resumed prefix). */
static enum cmn_err hash_prefix(int fd, struct cmn_sha256 *sha, uint64_t *len, struct cmn_errbuf *eb)
{
    char buf[65536];
    uint64_t total = 0;
    if (lseek(fd, 0, SEEK_SET) != 0)
        return cmn_errf(eb, CMN_E_IO, "cannot seek the partial download");
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cmn_errf(eb, CMN_E_IO, "cannot read the partial download: %s", strerror(errno));
        if (r == 0)
            break;
        cmn_sha256_update(sha, buf, (size_t)r);
        total += (uint64_t)r;
    }
    *len = total;
    return CMN_OK;
}

enum cmn_err hp__http_download(struct hp_client *c, const char *url, const char *path, uint64_t size,
                               uint8_t digest[CMN_SHA256_BYTES], hp_progress_fn fn, void *ctx, struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    struct dl d;
    memset(&d, 0, sizeof d);
    d.size = size;
    d.fn = fn;
    d.ctx = ctx;
    d.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (d.fd < 0)
        return cmn_errf(eb, CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    cmn_sha256_init(&d.sha);
    rc = hash_prefix(d.fd, &d.sha, &d.have, eb);
    if (rc)
        goto out;
    d.is_file = strncmp(url, "file://", 7) == 0;
    if (d.have > size || (d.is_file && d.have < size)) {
        /* Longer than signed: useless; or a local file, which is cheaper to read again. */
        if (ftruncate(d.fd, 0) != 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot truncate '%s'", path);
            goto out;
        }
        cmn_sha256_init(&d.sha);
        d.have = 0;
    }
    if (lseek(d.fd, (off_t)d.have, SEEK_SET) < 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot seek '%s'", path);
        goto out;
    }
    d.offset = d.have;
    if (c->fault && strcmp(c->fault, "download-mid") == 0 && d.have < size / 2)
        d.half_mark = size / 2 ? size / 2 : 1;
    if (d.have < size) {
        struct hp_http_sink s;
        hp_http_request rq;
        sink_init(&s, c);
        s.dl = &d;
        request_init(&rq, c, "GET", url);
        /* The digest must cover the bytes as stored: no content coding. */
        rq.range_start = (long long)d.offset;
        if (fn)
            fn(ctx, (long long)d.have, (long long)size);
        rc = perform(c, &rq, &s, eb);
        if (rc)
            goto out;
        if (!s.checked && s.status != 200 && s.status != 206 && !(d.is_file && s.status == 0)) {
            rc = cmn_errf(eb, CMN_E_HTTP, "download of '%s': HTTP status %d", url, s.status);
            goto out;
        }
    }
    if (d.have != size) {
        rc = cmn_errf(eb, CMN_E_NET, "download of '%s' ended after %llu of %llu bytes", url, (unsigned long long)d.have,
                      (unsigned long long)size);
        goto out;
    }
    /*
     * No fsync: the download is a cache, never trusted across a restart. The
     * digest above covers the bytes as received; a resumed or restarted
     * install re-hashes the file before extracting it (client.c), so bytes a
     * power cut lost are caught there and cost a new download, not a wrong
     * install. What must be durable is the extracted tree (hp__fsync_tree).
     */
    cmn_sha256_final(&d.sha, digest);
out:
    close(d.fd);
    return rc;
}
