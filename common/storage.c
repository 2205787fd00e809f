/*
 * storage.c - the storage front door: picks the backend from the URL scheme,
 * validates every key and prefix before a backend sees it (so neither the
 * file:// paths nor the s3:// URLs can be steered by a hostile key), and
 * builds the canonical object keys of the storage layout (docs/design.md).
 */
#include "common/compat.h"

#include <inttypes.h>

#include "common/crypto.h"
#include "common/storage.h"
#include "storage_int.h"

/* Length of the UTF-8 sequence at s (n bytes available), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

/* Shared rules for keys and prefixes; `is_prefix` allows "" and a trailing '/'. */
static enum cmn_err path_check(const char *what, const char *s, int is_prefix, struct cmn_errbuf *eb)
{
    if (!s)
        return cmn_errf(eb, CMN_E_INVAL, "%s is missing", what);
    size_t n = strlen(s);
    if (n == 0) {
        if (is_prefix)
            return CMN_OK;
        return cmn_errf(eb, CMN_E_INVAL, "%s is empty", what);
    }
    if (n >= CMN_STORAGE_KEY_MAX)
        return cmn_errf(eb, CMN_E_INVAL, "%s is longer than %d bytes", what, CMN_STORAGE_KEY_MAX - 1);
    if (s[0] == '/')
        return cmn_errf(eb, CMN_E_INVAL, "%s '%.80s' is absolute", what, s);
    if (strstr(s, ".."))
        return cmn_errf(eb, CMN_E_INVAL, "%s '%.80s' contains '..'", what, s);
    const unsigned char *u = (const unsigned char *)s;
    size_t seg_start = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '\\')
            return cmn_errf(eb, CMN_E_INVAL, "%s '%.80s' contains a backslash", what, s);
        if (c < 0x20 || c == 0x7F)
            return cmn_errf(eb, CMN_E_INVAL, "%s contains a control character", what);
        if (c == '/') {
            if (i == seg_start)
                return cmn_errf(eb, CMN_E_INVAL, "%s '%.80s' has an empty segment", what, s);
            seg_start = i + 1;
            i++;
            continue;
        }
        if (c == '.' && i == seg_start)
            return cmn_errf(eb, CMN_E_INVAL, "%s '%.80s' has a segment starting with '.'", what, s);
        size_t k = utf8_len(u + i, n - i);
        if (!k)
            return cmn_errf(eb, CMN_E_INVAL, "%s is not valid UTF-8", what);
        i += k;
    }
    if (seg_start == n && !is_prefix)
        return cmn_errf(eb, CMN_E_INVAL, "%s '%.80s' ends with '/'", what, s);
    return CMN_OK;
}

enum cmn_err cmn_storage_key_check(const char *key, struct cmn_errbuf *eb)
{
    return path_check("key", key, 0, eb);
}

enum cmn_err cmn_storage_prefix_check(const char *prefix, struct cmn_errbuf *eb)
{
    return path_check("prefix", prefix, 1, eb);
}

enum cmn_err cmn_storage_open(const char *url, const struct cmn_storage_opts *opts, struct cmn_storage **out,
                              struct cmn_errbuf *eb)
{
    struct cmn_storage *st = NULL;
    enum cmn_err rc;
    if (!url || !out)
        return cmn_errf(eb, CMN_E_INVAL, "storage url is missing");
    if (cmn_crypto_init() != CMN_OK)
        return cmn_errf(eb, CMN_E_INVAL, "cannot initialise libsodium");
    if (strncmp(url, "file://", 7) == 0)
        rc = cmn_storage_file_open(url, &st, eb);
    else if (strncmp(url, "s3://", 5) == 0)
        rc = cmn_storage_s3_open(url, opts, &st, eb);
    else
        return cmn_errf(eb, CMN_E_UNSUPPORTED,
                        "unsupported storage url '%.200s' (want file:///dir or s3://bucket/prefix)", url);
    if (rc)
        return rc;
    st->url = strdup(url);
    if (!st->url) {
        st->ops->free(st);
        return CMN_E_NOMEM;
    }
    *out = st;
    return CMN_OK;
}

void cmn_storage_free(struct cmn_storage *st)
{
    if (!st)
        return;
    free(st->url);
    st->url = NULL;
    st->ops->free(st);
}

const char *cmn_storage_url(const struct cmn_storage *st)
{
    return st->url;
}

int cmn_storage_is_local(const struct cmn_storage *st)
{
    return st->is_local;
}

static const struct cmn_put_opts no_put_opts;
static const struct cmn_get_opts no_get_opts;

static enum cmn_err put_opts_check(const struct cmn_put_opts *o, struct cmn_errbuf *eb)
{
    if (o->if_match && o->if_none_match)
        return cmn_errf(eb, CMN_E_INVAL, "if_match and if_none_match together");
    if (o->if_match && (!o->if_match[0] || strlen(o->if_match) >= CMN_ETAG_MAX || strpbrk(o->if_match, "\"\r\n")))
        return cmn_errf(eb, CMN_E_INVAL, "invalid if_match etag");
    return CMN_OK;
}

enum cmn_err cmn_storage_put(struct cmn_storage *st, const char *key, const void *data, size_t len,
                             const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_storage_key_check(key, eb);
    if (rc)
        return rc;
    if (!data && len)
        return cmn_errf(eb, CMN_E_INVAL, "put of '%s' without data", key);
    if (!o)
        o = &no_put_opts;
    rc = put_opts_check(o, eb);
    if (rc)
        return rc;
    return st->ops->put(st, key, data ? data : "", len, o, etag_out, eb);
}

enum cmn_err cmn_storage_put_file(struct cmn_storage *st, const char *key, const char *path,
                                  const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_storage_key_check(key, eb);
    if (rc)
        return rc;
    if (!path)
        return cmn_errf(eb, CMN_E_INVAL, "put of '%s' without a file", key);
    if (!o)
        o = &no_put_opts;
    rc = put_opts_check(o, eb);
    if (rc)
        return rc;
    return st->ops->put_file(st, key, path, o, etag_out, eb);
}

enum cmn_err cmn_storage_get(struct cmn_storage *st, const char *key, const struct cmn_get_opts *o, struct cmn_buf *out,
                             char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_storage_key_check(key, eb);
    if (rc)
        return rc;
    if (!out)
        return cmn_errf(eb, CMN_E_INVAL, "get of '%s' without a buffer", key);
    if (!o)
        o = &no_get_opts;
    if (o->has_range && o->range_end < o->range_start)
        return cmn_errf(eb, CMN_E_INVAL, "invalid range %" PRIu64 "-%" PRIu64, o->range_start, o->range_end);
    if (o->if_none_match && (strlen(o->if_none_match) >= CMN_ETAG_MAX || strpbrk(o->if_none_match, "\"\r\n")))
        return cmn_errf(eb, CMN_E_INVAL, "invalid if_none_match etag");
    return st->ops->get(st, key, o, out, etag_out, eb);
}

enum cmn_err cmn_storage_head(struct cmn_storage *st, const char *key, char etag_out[CMN_ETAG_MAX], uint64_t *size,
                              struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_storage_key_check(key, eb);
    if (rc)
        return rc;
    return st->ops->head(st, key, etag_out, size, eb);
}

enum cmn_err cmn_storage_list(struct cmn_storage *st, const char *prefix, cmn_list_fn fn, void *ctx,
                              struct cmn_errbuf *eb)
{
    if (!prefix)
        prefix = "";
    enum cmn_err rc = cmn_storage_prefix_check(prefix, eb);
    if (rc)
        return rc;
    if (!fn)
        return cmn_errf(eb, CMN_E_INVAL, "list without a callback");
    return st->ops->list(st, prefix, fn, ctx, eb);
}

enum cmn_err cmn_storage_delete(struct cmn_storage *st, const char *key, struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_storage_key_check(key, eb);
    if (rc)
        return rc;
    return st->ops->del(st, key, eb);
}

/*
 * App, platform and channel names: [A-Za-z0-9._-]{1,64}, not starting or
 * ending with '.' (a trailing dot would make "<channel>..json").
 */
static enum cmn_err name_check(const char *what, const char *s, struct cmn_errbuf *eb)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return cmn_errf(eb, CMN_E_INVAL, "%s must be 1-64 characters", what);
    if (s[0] == '.' || s[n - 1] == '.')
        return cmn_errf(eb, CMN_E_INVAL, "%s '%s' starts or ends with '.'", what, s);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return cmn_errf(eb, CMN_E_INVAL, "%s '%.64s' may only contain letters, digits, '.', '-' and '_'", what, s);
    }
    if (strstr(s, ".."))
        return cmn_errf(eb, CMN_E_INVAL, "%s '%s' contains '..'", what, s);
    return CMN_OK;
}

static enum cmn_err write_key(char *out, size_t cap, const char *fmt, ...) CMN_PRINTF(3, 4);
static enum cmn_err write_key(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = '\0';
        return CMN_E_TOOBIG;
    }
    return CMN_OK;
}

enum cmn_err cmn_storage_bundle_key(const char *app, const char *platform, const char *sha256_hex, char *out,
                                    size_t cap)
{
    if (!out)
        return CMN_E_INVAL;
    if (name_check("app", app, NULL) || name_check("platform", platform, NULL))
        return CMN_E_INVAL;
    if (!sha256_hex || strlen(sha256_hex) != 64)
        return CMN_E_INVAL;
    for (size_t i = 0; i < 64; i++) {
        char c = sha256_hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return CMN_E_INVAL;
    }
    return write_key(out, cap, "bundles/%s/%s/%s.zip", app, platform, sha256_hex);
}

enum cmn_err cmn_storage_manifest_key(const char *app, const char *platform, const char *channel, char *out, size_t cap)
{
    if (!out)
        return CMN_E_INVAL;
    if (name_check("app", app, NULL) || name_check("platform", platform, NULL) || name_check("channel", channel, NULL))
        return CMN_E_INVAL;
    return write_key(out, cap, "manifests/%s/%s/%s.json", app, platform, channel);
}
