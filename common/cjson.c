/*
 * cjson.c - strict JSON parsing and canonical rendering (cjson.h).
 *
 * Parsing runs in three steps. A byte scanner first checks nesting depth and
 * number tokens (fractions, exponents, integers beyond 2^53-1) so those
 * failures come with a line and column and so jansson never recurses deeper
 * than CMN_CJSON_MAX_DEPTH. jansson then parses with JSON_REJECT_DUPLICATES
 * (it also rejects invalid UTF-8, "\u0000" and trailing bytes). Finally a
 * walk of the tree re-checks types, depth and integer range, so the tree we
 * hand out satisfies the rules whatever jansson's build options are.
 *
 * Rendering is our own writer rather than json_dumps, so the escaping rules
 * are exactly those of manifests/SPEC.md "Canonical JSON".
 */
#include "common/compat.h"

#include "common/cjson.h"
#include "common/str.h"

struct pos {
    size_t line, col;
};

/* Line/column (1-based) of byte offset `off`. */
static struct pos pos_of(const char *p, size_t off)
{
    struct pos ps = {1, 1};
    for (size_t i = 0; i < off; i++) {
        if (p[i] == '\n') {
            ps.line++;
            ps.col = 1;
        } else if (((unsigned char)p[i] & 0xc0) != 0x80) {
            ps.col++; /* count characters, not UTF-8 continuation bytes */
        }
    }
    return ps;
}

static enum cmn_err prescan(const char *p, size_t n, struct cmn_errbuf *eb)
{
    int depth = 0;
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (c == '"') {
            /* Skip the string; jansson validates its contents. */
            for (i++; i < n && p[i] != '"'; i++)
                if (p[i] == '\\')
                    i++;
            i++;
            continue;
        }
        if (c == '[' || c == '{') {
            if (++depth > CMN_CJSON_MAX_DEPTH) {
                struct pos ps = pos_of(p, i);
                return cmn_errf(eb, CMN_E_TOOBIG, "json nesting deeper than %d at line %zu column %zu",
                                CMN_CJSON_MAX_DEPTH, ps.line, ps.col);
            }
        } else if (c == ']' || c == '}') {
            depth--;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i, digits = 0;
            int real = 0;
            uint64_t v = 0;
            int overflow = 0;
            if (p[i] == '-')
                i++;
            for (; i < n; i++) {
                char d = p[i];
                if (d >= '0' && d <= '9') {
                    digits++;
                    if (!real) {
                        if (v > (uint64_t)CMN_CJSON_MAX_INT / 10)
                            overflow = 1;
                        v = v * 10 + (uint64_t)(d - '0');
                        if (v > (uint64_t)CMN_CJSON_MAX_INT)
                            overflow = 1;
                    }
                } else if (d == '.' || d == 'e' || d == 'E') {
                    real = 1;
                } else if ((d == '+' || d == '-') && (p[i - 1] == 'e' || p[i - 1] == 'E')) {
                    continue; /* exponent sign */
                } else {
                    break;
                }
            }
            if (real) {
                struct pos ps = pos_of(p, start);
                return cmn_errf(eb, CMN_E_PARSE, "non-integer number at line %zu column %zu (floats are not allowed)",
                                ps.line, ps.col);
            }
            if (overflow && digits) {
                struct pos ps = pos_of(p, start);
                return cmn_errf(eb, CMN_E_PARSE, "integer out of range +/-(2^53-1) at line %zu column %zu", ps.line,
                                ps.col);
            }
            continue;
        }
        i++;
    }
    return CMN_OK;
}

/* Defensive re-check of the parsed tree (see the file comment). */
static int walk_ok(const json_t *v, int depth)
{
    /* `depth` counts the containers around v, so 32 nested arrays pass. */
    if (json_is_array(v) || json_is_object(v)) {
        if (depth + 1 > CMN_CJSON_MAX_DEPTH)
            return 0;
    }
    switch (json_typeof(v)) {
    case JSON_REAL:
        return 0;
    case JSON_INTEGER: {
        json_int_t x = json_integer_value(v);
        return x <= CMN_CJSON_MAX_INT && x >= -CMN_CJSON_MAX_INT;
    }
    case JSON_STRING:
        return memchr(json_string_value(v), '\0', json_string_length(v)) == NULL;
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        json_array_foreach((json_t *)v, i, e)
        {
            if (!walk_ok(e, depth + 1))
                return 0;
        }
        return 1;
    }
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (!walk_ok(e, depth + 1))
                return 0;
        }
        return 1;
    }
    default:
        return 1;
    }
}

enum cmn_err cmn_cjson_parse(const char *p, size_t n, size_t max_size, json_t **out, struct cmn_errbuf *eb)
{
    if (n > max_size)
        return cmn_errf(eb, CMN_E_TOOBIG, "json document of %zu bytes exceeds the limit of %zu", n, max_size);
    if (!p && n)
        return cmn_errf(eb, CMN_E_INVAL, "no json input");
    if (n == 0)
        return cmn_errf(eb, CMN_E_PARSE, "empty json document at line 1 column 1");
    enum cmn_err rc = prescan(p, n, eb);
    if (rc)
        return rc;
    json_error_t je;
    json_t *v = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) {
        int col = je.column > 0 ? je.column : 1;
        int line = je.line > 0 ? je.line : 1;
        return cmn_errf(eb, CMN_E_PARSE, "invalid json at line %d column %d: %s", line, col, je.text);
    }
    if (!walk_ok(v, 0)) {
        json_decref(v);
        return cmn_errf(eb, CMN_E_PARSE, "json value outside the strict subset (float, range or depth)");
    }
    *out = v;
    return CMN_OK;
}

/* ---- canonical rendering ---- */

/* A string in canonical form: the escapes of common/str.c (short forms, else lower-case \u00xx). */
static enum cmn_err render_string(const char *s, size_t n, struct cmn_buf *out)
{
    enum cmn_err rc = cmn_buf_add(out, "\"", 1);
    if (rc == CMN_OK)
        rc = cmn_json_escape(out, s, n);
    if (rc == CMN_OK)
        rc = cmn_buf_add(out, "\"", 1);
    return rc;
}

struct kv {
    const char *key;
    size_t len;
    json_t *val;
};

static int kv_cmp(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, m); /* memcmp compares as unsigned char: UTF-8 byte order */
    if (c)
        return c;
    return x->len < y->len ? -1 : (x->len > y->len);
}

static enum cmn_err render(const json_t *v, struct cmn_buf *out, int depth)
{
    enum cmn_err rc = CMN_OK;
    if ((json_is_array(v) || json_is_object(v)) && depth + 1 > CMN_CJSON_MAX_DEPTH)
        return CMN_E_INVAL;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return cmn_buf_add(out, "null", 4);
    case JSON_TRUE:
        return cmn_buf_add(out, "true", 4);
    case JSON_FALSE:
        return cmn_buf_add(out, "false", 5);
    case JSON_REAL:
        return CMN_E_INVAL;
    case JSON_INTEGER: {
        json_int_t x = json_integer_value(v);
        if (x > CMN_CJSON_MAX_INT || x < -CMN_CJSON_MAX_INT)
            return CMN_E_INVAL;
        return cmn_buf_addf(out, "%lld", (long long)x);
    }
    case JSON_STRING:
        return render_string(json_string_value(v), json_string_length(v), out);
    case JSON_ARRAY: {
        rc = cmn_buf_add(out, "[", 1);
        for (size_t i = 0; rc == CMN_OK && i < json_array_size(v); i++) {
            if (i)
                rc = cmn_buf_add(out, ",", 1);
            if (rc == CMN_OK)
                rc = render(json_array_get(v, i), out, depth + 1);
        }
        return rc ? rc : cmn_buf_add(out, "]", 1);
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        struct kv small[16];
        struct kv *kvs = small;
        if (n > CMN_ARRAY_SIZE(small)) {
            kvs = calloc(n, sizeof(*kvs));
            if (!kvs)
                return CMN_E_NOMEM;
        }
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (i == n)
                break;
            kvs[i].key = k;
            kvs[i].len = json_object_iter_key_len(json_object_key_to_iter(k));
            kvs[i].val = e;
            i++;
        }
        qsort(kvs, i, sizeof(*kvs), kv_cmp);
        rc = cmn_buf_add(out, "{", 1);
        for (size_t j = 0; rc == CMN_OK && j < i; j++) {
            if (j)
                rc = cmn_buf_add(out, ",", 1);
            if (rc == CMN_OK)
                rc = render_string(kvs[j].key, kvs[j].len, out);
            if (rc == CMN_OK)
                rc = cmn_buf_add(out, ":", 1);
            if (rc == CMN_OK)
                rc = render(kvs[j].val, out, depth + 1);
        }
        if (kvs != small)
            free(kvs);
        return rc ? rc : cmn_buf_add(out, "}", 1);
    }
    }
    return CMN_E_INVAL;
}

enum cmn_err cmn_cjson_render(const json_t *v, struct cmn_buf *out)
{
    if (!v)
        return CMN_E_INVAL;
    return render(v, out, 0);
}

int cmn_cjson_is_canonical(const char *p, size_t n)
{
    json_t *v = NULL;
    if (cmn_cjson_parse(p, n, n, &v, NULL) != CMN_OK)
        return 0;
    struct cmn_buf b;
    cmn_buf_init(&b, n);
    enum cmn_err rc = cmn_cjson_render(v, &b);
    json_decref(v);
    int same = rc == CMN_OK && b.len == n && (n == 0 || memcmp(b.ptr, p, n) == 0);
    cmn_buf_release(&b);
    return same;
}

int cmn_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        } else {
            return 0;
        }
        if (n - i - 1 < k)
            return 0;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t j = 2; j <= k; j++)
            if (p[i + j] < 0x80 || p[i + j] > 0xbf)
                return 0;
        i += k + 1;
    }
    return 1;
}
