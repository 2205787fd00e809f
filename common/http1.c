/*
 * http1.c - allocation-free incremental HTTP/1.1 request-head parser and the
 * query-string helpers declared in http1.h. Every access is bounds-checked
 * against `len` before it happens (the unit test runs each input right before
 * a guard page), and every result is a slice of the caller's buffer.
 */
#include "common/compat.h"

#include "common/http1.h"

/* RFC 9110 tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA */
static const unsigned char tchar_tab[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,
    ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0'] = 1,  ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1,  ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,  ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
    ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,  ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,  ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,  ['z'] = 1,
};

static int is_tchar(unsigned char c)
{
    return tchar_tab[c];
}

/* Header value octet: VCHAR, obs-text, SP, HTAB. */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * End of the head (the byte after the blank line) searching from `from`, or 0
 * when it is not in buf[0..len) yet. Accepts CRLF and bare LF line ends.
 */
static size_t find_head_end(const char *buf, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        /* an empty line: "\n\n" or "\n\r\n" ending at i */
        if (i >= 1 && buf[i - 1] == '\n')
            return i + 1;
        if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
            return i + 1;
    }
    return 0;
}

/*
 * Consume a line end at *pos: "\r\n" or "\n". Returns 0 on success, -1 when
 * something else is there, -2 when the buffer ends first.
 */
static int eat_eol(const char *buf, size_t len, size_t *pos)
{
    size_t i = *pos;
    if (i >= len)
        return -2;
    if (buf[i] == '\r') {
        if (i + 1 >= len)
            return -2;
        if (buf[i + 1] != '\n')
            return -1;
        *pos = i + 2;
        return 0;
    }
    if (buf[i] == '\n') {
        *pos = i + 1;
        return 0;
    }
    return -1;
}

int cmn_http1_parse_request(const char *buf, size_t len, size_t last_len, struct cmn_http1_request *req,
                            struct cmn_http1_header *headers, size_t max_headers)
{
    size_t i = 0, start;
    int rc;

    /* Fast incompleteness test: only scan bytes that are new since last time. */
    if (last_len != 0 && last_len <= len) {
        size_t from = last_len >= 3 ? last_len - 3 : 0;
        if (find_head_end(buf, len, from) == 0 && find_head_end(buf, last_len, 0) == 0)
            return -2;
    }

    req->headers = headers;
    req->num_headers = 0;

    /* Tolerate empty lines before the request line (RFC 9112 section 2.2). */
    while (i < len && (buf[i] == '\r' || buf[i] == '\n')) {
        if (buf[i] == '\r') {
            if (i + 1 >= len)
                return -2;
            if (buf[i + 1] != '\n')
                return -1;
            i += 2;
        } else {
            i++;
        }
        if (i > 8)
            return -1;
    }

    /* method SP */
    start = i;
    while (i < len && is_tchar((unsigned char)buf[i]))
        i++;
    if (i >= len)
        return -2;
    if (buf[i] != ' ' || i == start)
        return -1;
    req->method.p = buf + start;
    req->method.n = i - start;
    i++;

    /* request-target SP */
    start = i;
    while (i < len && (unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f)
        i++;
    if (i >= len)
        return -2;
    if (buf[i] != ' ' || i == start)
        return -1;
    req->target.p = buf + start;
    req->target.n = i - start;
    i++;

    /* HTTP-version */
    {
        static const char ver[] = "HTTP/1.";
        for (size_t k = 0; k < sizeof(ver) - 1; k++, i++) {
            if (i >= len)
                return -2;
            if (buf[i] != ver[k])
                return -1;
        }
        if (i >= len)
            return -2;
        if (buf[i] != '0' && buf[i] != '1')
            return -1;
        req->minor_version = buf[i] - '0';
        i++;
    }
    rc = eat_eol(buf, len, &i);
    if (rc)
        return rc;

    /* split the target at the first '?' */
    {
        const char *q = memchr(req->target.p, '?', req->target.n);
        if (q) {
            req->path.p = req->target.p;
            req->path.n = (size_t)(q - req->target.p);
            req->query.p = q + 1;
            req->query.n = req->target.n - req->path.n - 1;
        } else {
            req->path = req->target;
            req->query.p = req->target.p + req->target.n;
            req->query.n = 0;
        }
    }

    /* header fields, up to the empty line */
    for (;;) {
        if (i >= len)
            return -2;
        if (buf[i] == '\r' || buf[i] == '\n') {
            rc = eat_eol(buf, len, &i);
            if (rc)
                return rc;
            return (int)i;
        }
        if (req->num_headers >= max_headers)
            return -3; /* a well-formed head so far, with more fields than the caller allows */
        /* field-name ":" */
        start = i;
        while (i < len && is_tchar((unsigned char)buf[i]))
            i++;
        if (i >= len)
            return -2;
        if (buf[i] != ':' || i == start) /* also refuses obs-fold and "name :" */
            return -1;
        struct cmn_http1_header *h = &headers[req->num_headers];
        h->name.p = buf + start;
        h->name.n = i - start;
        i++;
        /* OWS field-value OWS */
        while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        start = i;
        while (i < len && is_value_char((unsigned char)buf[i]))
            i++;
        if (i >= len)
            return -2;
        size_t end = i;
        while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
            end--;
        h->value.p = buf + start;
        h->value.n = end - start;
        rc = eat_eol(buf, len, &i);
        if (rc)
            return rc;
        req->num_headers++;
    }
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int cmn_slice_ieq(struct cmn_slice a, const char *s)
{
    size_t n = strlen(s);
    if (a.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)s[i]))
            return 0;
    return 1;
}

int cmn_slice_eq(struct cmn_slice a, const char *s)
{
    size_t n = strlen(s);
    return a.n == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

const struct cmn_http1_header *cmn_http1_find_header(const struct cmn_http1_request *req, const char *name)
{
    for (size_t i = 0; i < req->num_headers; i++)
        if (cmn_slice_ieq(req->headers[i].name, name))
            return &req->headers[i];
    return NULL;
}

long long cmn_http1_content_length(struct cmn_slice v)
{
    long long n = 0;
    if (v.n == 0 || v.n > 18)
        return -1;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        n = n * 10 + (v.p[i] - '0');
    }
    return n;
}

/* 1 when the comma-separated token list `v` holds `tok` (case-insensitive). */
static int has_token(struct cmn_slice v, const char *tok)
{
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.n && v.p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
            e--;
        struct cmn_slice t = {v.p + s, e - s};
        if (t.n && cmn_slice_ieq(t, tok))
            return 1;
    }
    return 0;
}

int cmn_http1_keep_alive(const struct cmn_http1_request *req)
{
    int ka = req->minor_version >= 1;
    for (size_t i = 0; i < req->num_headers; i++) {
        if (!cmn_slice_ieq(req->headers[i].name, "connection"))
            continue;
        if (has_token(req->headers[i].value, "close"))
            return 0;
        if (has_token(req->headers[i].value, "keep-alive"))
            ka = 1;
    }
    return ka;
}

int cmn_query_next(struct cmn_slice *rest, struct cmn_slice *key, struct cmn_slice *val)
{
    while (rest->n) {
        const char *amp = memchr(rest->p, '&', rest->n);
        size_t plen = amp ? (size_t)(amp - rest->p) : rest->n;
        struct cmn_slice pair = {rest->p, plen};
        rest->p += plen + (amp ? 1 : 0);
        rest->n -= plen + (amp ? 1 : 0);
        if (pair.n == 0)
            continue;
        const char *eq = memchr(pair.p, '=', pair.n);
        if (eq) {
            key->p = pair.p;
            key->n = (size_t)(eq - pair.p);
            val->p = eq + 1;
            val->n = pair.n - key->n - 1;
        } else {
            *key = pair;
            val->p = pair.p + pair.n;
            val->n = 0;
        }
        return 1;
    }
    return 0;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long cmn_pct_decode(struct cmn_slice in, char *out, size_t cap, int plus_is_space)
{
    size_t o = 0, i = 0;
    if (cap == 0)
        return -1;
    while (i < in.n) {
        /* copy a run of plain bytes at once */
        size_t j = i;
        while (j < in.n && in.p[j] != '%' && in.p[j] != '+' && in.p[j] != '\0')
            j++;
        if (j > i) {
            if (j - i >= cap - o)
                return -1;
            memcpy(out + o, in.p + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        unsigned char c = (unsigned char)in.p[i];
        if (c == '%') {
            if (in.n - i < 3)
                return -1;
            int hi = hexval((unsigned char)in.p[i + 1]), lo = hexval((unsigned char)in.p[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 3;
        } else if (c == '+') {
            if (plus_is_space)
                c = ' ';
            i++;
        } else {
            return -1; /* a raw NUL */
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}
