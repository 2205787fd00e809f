/*
 * str.c - percent-encoding and JSON string escaping, the one copy of each
 * (see str.h). Both are table-free loops over bytes: no locale, no
 * allocation beyond the caller's buffer.
 */
#include "common/compat.h"

#include "common/str.h"

static const char HEX_UPPER[] = "0123456789ABCDEF";
static const char HEX_LOWER[] = "0123456789abcdef";

static int url_plain(unsigned char c, int keep_slash)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~' || (c == '/' && keep_slash);
}

enum cmn_err cmn_url_encode(struct cmn_buf *out, const char *s, size_t n, int keep_slash)
{
    enum cmn_err rc = CMN_OK;
    size_t run = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        if (url_plain(c, keep_slash))
            continue;
        if (i > run)
            rc = cmn_buf_add(out, s + run, i - run);
        char e[3] = {'%', HEX_UPPER[c >> 4], HEX_UPPER[c & 15]};
        if (!rc)
            rc = cmn_buf_add(out, e, 3);
        run = i + 1;
    }
    if (!rc && n > run)
        rc = cmn_buf_add(out, s + run, n - run);
    return rc;
}

long cmn_url_encode_to(char *out, size_t cap, const char *s, int keep_slash)
{
    size_t j = 0;
    if (!cap)
        return -1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = url_plain(c, keep_slash);
        if (j + (plain ? 1u : 3u) + 1 > cap) {
            out[0] = '\0';
            return -1;
        }
        if (plain) {
            out[j++] = (char)c;
        } else {
            out[j++] = '%';
            out[j++] = HEX_UPPER[c >> 4];
            out[j++] = HEX_UPPER[c & 15];
        }
    }
    out[j] = '\0';
    return (long)j;
}

size_t cmn_json_escape_char(unsigned char c, char e[CMN_JSON_ESC_MAX])
{
    char short_form = 0;
    switch (c) {
    case '"':
        short_form = '"';
        break;
    case '\\':
        short_form = '\\';
        break;
    case '\b':
        short_form = 'b';
        break;
    case '\f':
        short_form = 'f';
        break;
    case '\n':
        short_form = 'n';
        break;
    case '\r':
        short_form = 'r';
        break;
    case '\t':
        short_form = 't';
        break;
    default:
        if (c >= 0x20)
            return 0;
        e[0] = '\\', e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = HEX_LOWER[c >> 4], e[5] = HEX_LOWER[c & 15];
        return 6;
    }
    e[0] = '\\';
    e[1] = short_form;
    return 2;
}

enum cmn_err cmn_json_escape(struct cmn_buf *out, const char *s, size_t n)
{
    enum cmn_err rc = CMN_OK;
    size_t run = 0; /* start of the pending literal run */
    for (size_t i = 0; rc == CMN_OK && i < n; i++) {
        char e[CMN_JSON_ESC_MAX];
        size_t k = cmn_json_escape_char((unsigned char)s[i], e);
        if (!k)
            continue;
        if (i > run)
            rc = cmn_buf_add(out, s + run, i - run);
        if (rc == CMN_OK)
            rc = cmn_buf_add(out, e, k);
        run = i + 1;
    }
    if (rc == CMN_OK && n > run)
        rc = cmn_buf_add(out, s + run, n - run);
    return rc;
}

size_t cmn_json_escape_to(char *out, size_t cap, size_t at, const char *s)
{
    if (at >= cap)
        return at;
    for (; *s && at + CMN_JSON_ESC_MAX < cap; s++) {
        char e[CMN_JSON_ESC_MAX];
        size_t k = cmn_json_escape_char((unsigned char)*s, e);
        if (k) {
            memcpy(out + at, e, k);
            at += k;
        } else {
            out[at++] = *s;
        }
    }
    out[at] = '\0';
    return at;
}

void cmn_iso_time(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!cap)
        return;
    if (!gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "%lld", (long long)t);
}
