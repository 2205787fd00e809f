#include "common/compat.h"

/*
 * net.c - the SDK's HTTP client (libcurl easy interface): capped GETs for
 * check answers and manifests, JSON POSTs for reports, and the resumable
 * bundle download.
 *
 * The download appends to a partial file. When the file already holds bytes
 * it asks for the rest with a Range request; it hashes the kept prefix first
 * so the digest always covers the whole file. A 206 answer must start exactly
 * at the requested offset (Content-Range); a 200 answer means the server
 * ignored the range, so the file is truncated and hashing restarts. The
 * transfer is stopped as soon as more bytes than the signed size arrive.
 * Only http, https and file are allowed, and redirects only to http(s).
 */

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

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

char *hp__url_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return NULL;
    char *dup = strdup(e);
    curl_free(e);
    return dup;
}

static int xfer_cancel(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    const struct hp_client *c = ctx;
    return c->cancel ? 1 : 0;
}

static CURL *easy_new(struct hp_client *c, const char *url)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    long secs = (c->timeout_ms + 999) / 1000;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    /* file:// serves a local storage directory (tests, devices with side-loaded updates); never via redirect. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    /* A stalled transfer (less than 1 byte/s for the timeout) is a network error. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, secs > 0 ? secs : 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libhotpatch/" HP_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_cancel);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    return h;
}

static enum cmn_err curl_err(struct hp_client *c, CURLcode cc, const char *url, const char *detail,
                             struct cmn_errbuf *eb)
{
    if (cc == CURLE_ABORTED_BY_CALLBACK && c->cancel)
        return cmn_errf(eb, CMN_E_CANCELLED, "transfer of '%s' cancelled", url);
    return cmn_errf(eb, CMN_E_NET, "cannot fetch '%s': %s", url, detail[0] ? detail : curl_easy_strerror(cc));
}

struct membody {
    struct cmn_buf *b;
    int toobig;
};

static size_t mem_write(char *p, size_t sz, size_t nm, void *ctx)
{
    struct membody *m = ctx;
    if (cmn_buf_add(m->b, p, sz * nm) != CMN_OK) {
        m->toobig = 1;
        return 0;
    }
    return sz * nm;
}

/* Header callback: keep the value of X-HotPatch-Release (an unsigned hint, see hp_check). */
static size_t named_header(char *p, size_t sz, size_t nm, void *ctx)
{
    static const char name[] = "x-hotpatch-release:";
    char *named = ctx;
    size_t n = sz * nm;
    if (n > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1, *end = p + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        size_t len = (size_t)(end - v);
        if (len < HP__NAMED_MAX) {
            memcpy(named, v, len);
            named[len] = '\0';
        }
    }
    return n;
}

enum cmn_err hp__http_get(struct hp_client *c, const char *url, struct cmn_buf *body, char *named, long *status,
                          struct cmn_errbuf *eb)
{
    char detail[CURL_ERROR_SIZE] = "";
    struct membody m = {body, 0};
    CURL *h = easy_new(c, url);
    if (!h)
        return CMN_E_NOMEM;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mem_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &m);
    if (named) {
        named[0] = '\0';
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, named_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, named);
    }
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    CURLcode cc = curl_easy_perform(h);
    enum cmn_err rc = CMN_OK;
    if (m.toobig)
        rc = cmn_errf(eb, CMN_E_TOOBIG, "answer from '%s' is larger than %zu bytes", url, body->cap);
    else if (cc != CURLE_OK)
        rc = curl_err(c, cc, url, detail, eb);
    else
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (!rc && *status == 0 && strncmp(url, "file://", 7) == 0)
        *status = 200; /* a file that could be read */
    curl_easy_cleanup(h);
    return rc;
}

static size_t discard_write(char *p, size_t sz, size_t nm, void *ctx)
{
    (void)p;
    (void)ctx;
    return sz * nm;
}

enum cmn_err hp__http_post_json(struct hp_client *c, const char *url, const char *body, size_t n, long *status,
                                struct cmn_errbuf *eb)
{
    char detail[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    CURL *h = easy_new(c, url);
    if (!h)
        return CMN_E_NOMEM;
    hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (!hdr) {
        curl_easy_cleanup(h);
        return CMN_E_NOMEM;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_write);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    CURLcode cc = curl_easy_perform(h);
    enum cmn_err rc = CMN_OK;
    if (cc != CURLE_OK)
        rc = curl_err(c, cc, url, detail, eb);
    else
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    return rc;
}

/* ---- resumable download ---- */

struct dl {
    struct hp_client *c;
    CURL *h;
    int fd;
    uint64_t offset; /* bytes already in the file when the request was made */
    uint64_t have;   /* bytes in the file now */
    uint64_t size;   /* signed size */
    struct cmn_sha256 sha;
    int checked;      /* status/Content-Range examined */
    long range_start; /* from Content-Range, -1 when absent */
    enum cmn_err err;
    char msg[200];
    hp_progress_fn fn;
    void *ctx;
    uint64_t half_mark; /* test-only fault point "download-mid" */
    int is_file;        /* file:// URL: no status codes, no ranges */
};

long hp__content_range_start(const char *p, size_t n)
{
    static const char key[] = "content-range:";
    if (n < sizeof key - 1 || strncasecmp(p, key, sizeof key - 1) != 0)
        return -2;
    const char *q = p + sizeof key - 1;
    const char *end = p + n;
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

static size_t dl_header(char *p, size_t sz, size_t nm, void *ctx)
{
    struct dl *d = ctx;
    size_t n = sz * nm;
    long v = hp__content_range_start(p, n);
    if (v != -2)
        d->range_start = v;
    /* A new response (redirect) resets what we learnt. */
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
        d->range_start = -1;
    return n;
}

static int dl_fail(struct dl *d, enum cmn_err e, const char *msg)
{
    d->err = e;
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    return 0;
}

static size_t dl_write(char *p, size_t sz, size_t nm, void *ctx)
{
    struct dl *d = ctx;
    size_t n = sz * nm;
    if (!d->checked) {
        long code = 0;
        curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &code);
        if (code == 206 && d->offset > 0) {
            if (d->range_start != (long)d->offset)
                return dl_fail(d, CMN_E_HTTP, "server answered a different range than asked");
        } else if (code == 200 || (code == 0 && d->is_file)) {
            if (d->offset > 0) {
                /* Range ignored: start over, so the digest covers exactly the bytes on disk. */
                if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0)
                    return dl_fail(d, CMN_E_IO, "cannot truncate the partial download");
                cmn_sha256_init(&d->sha);
                d->have = 0;
                d->offset = 0;
            }
        } else {
            char m[64];
            snprintf(m, sizeof m, "HTTP status %ld", code);
            return dl_fail(d, CMN_E_HTTP, m);
        }
        d->checked = 1;
    }
    if (d->have + n > d->size)
        return dl_fail(d, CMN_E_TOOBIG, "bundle is larger than its signed size");
    const char *q = p;
    size_t left = n;
    while (left) {
        ssize_t w = write(d->fd, q, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return dl_fail(d, CMN_E_IO, "cannot write the download");
        q += w;
        left -= (size_t)w;
    }
    cmn_sha256_update(&d->sha, p, n);
    uint64_t before = d->have;
    d->have += n;
    if (d->half_mark && before < d->half_mark && d->have >= d->half_mark)
        hp__fault(d->c, "download-mid");
    if (d->fn && d->fn(d->ctx, (long long)d->have, (long long)d->size) != 0) {
        d->c->cancel = 1;
        return dl_fail(d, CMN_E_CANCELLED, "cancelled by the progress callback");
    }
    return n;
}

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
    char detail[CURL_ERROR_SIZE] = "";
    struct dl d;
    memset(&d, 0, sizeof d);
    d.c = c;
    d.size = size;
    d.range_start = -1;
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
        d.h = easy_new(c, url);
        if (!d.h) {
            rc = CMN_E_NOMEM;
            goto out;
        }
        curl_easy_setopt(d.h, CURLOPT_WRITEFUNCTION, dl_write);
        curl_easy_setopt(d.h, CURLOPT_WRITEDATA, &d);
        curl_easy_setopt(d.h, CURLOPT_HEADERFUNCTION, dl_header);
        curl_easy_setopt(d.h, CURLOPT_HEADERDATA, &d);
        curl_easy_setopt(d.h, CURLOPT_ERRORBUFFER, detail);
        char range[48];
        if (d.offset > 0) {
            /* CURLOPT_RANGE rather than RESUME_FROM: curl then hands us a 200 answer
             * (server ignoring ranges) instead of failing, and we restart cleanly. */
            snprintf(range, sizeof range, "%llu-", (unsigned long long)d.offset);
            curl_easy_setopt(d.h, CURLOPT_RANGE, range);
        }
        if (fn)
            fn(ctx, (long long)d.have, (long long)size);
        CURLcode cc = curl_easy_perform(d.h);
        if (d.err) {
            rc = cmn_errf(eb, d.err, "download of '%s': %s", url, d.msg);
            goto out;
        }
        if (cc != CURLE_OK) {
            rc = curl_err(c, cc, url, detail, eb);
            goto out;
        }
        if (!d.checked) {
            long code = 0;
            curl_easy_getinfo(d.h, CURLINFO_RESPONSE_CODE, &code);
            if (code != 200 && code != 206) {
                rc = cmn_errf(eb, CMN_E_HTTP, "download of '%s': HTTP status %ld", url, code);
                goto out;
            }
        }
    }
    if (d.have != size) {
        rc = cmn_errf(eb, CMN_E_NET, "download of '%s' ended after %llu of %llu bytes", url, (unsigned long long)d.have,
                      (unsigned long long)size);
        goto out;
    }
    if (fsync(d.fd) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot fsync '%s': %s", path, strerror(errno));
        goto out;
    }
    cmn_sha256_final(&d.sha, digest);
out:
    if (d.h)
        curl_easy_cleanup(d.h);
    close(d.fd);
    return rc;
}
