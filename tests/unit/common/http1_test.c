/*
 * Unit tests for common/http1.c: the request-head parser (every input placed
 * right before a guard page, fed whole and byte by byte), header lookup,
 * keep-alive, Content-Length, the query iterator and percent-decoding.
 */
#include "common/compat.h"

#include "common/http1.h"
#include "../../lib/test.h"

#define MAXH 16

static struct cmn_http1_header hdrs[MAXH];

/* Parse `s` placed before a guard page; returns the parser's result. */
static char *last_guard; /* results point into it: freed at the next call */

static int parse_guarded(const char *s, size_t n, struct cmn_http1_request *req, size_t maxh)
{
    test_guard_free(last_guard);
    last_guard = test_guard_alloc(s, n);
    if (!last_guard)
        return -100;
    return cmn_http1_parse_request(last_guard, n, 0, req, hdrs, maxh);
}

/* Feed `s` one byte more at a time, like a slow client; every prefix must be -2. */
static int parse_bytewise(const char *s, size_t n)
{
    size_t last = 0;
    struct cmn_http1_request req;
    for (size_t k = 1; k <= n; k++) {
        char *g = test_guard_alloc(s, k);
        int rc = cmn_http1_parse_request(g, k, last, &req, hdrs, MAXH);
        test_guard_free(g);
        if (k < n && rc != -2)
            return rc == -1 ? -1 : -3; /* complete too early */
        if (k == n)
            return rc;
        last = k;
    }
    return -4;
}

static void test_good(void)
{
    const char *r = "GET /v1/check?app=demo&device=d1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "User-Agent:  wrk \t\r\nX-Empty:\r\nConnection: keep-alive\r\n\r\nBODY";
    size_t n = strlen(r);
    char *g = test_guard_alloc(r, n);
    struct cmn_http1_request req;
    int rc = cmn_http1_parse_request(g, n, 0, &req, hdrs, MAXH);
    is_int(rc, (int)(n - 4), "consumed the head, not the body");
    ok(cmn_slice_eq(req.method, "GET"), "method");
    ok(cmn_slice_eq(req.target, "/v1/check?app=demo&device=d1"), "target");
    ok(cmn_slice_eq(req.path, "/v1/check"), "path");
    ok(cmn_slice_eq(req.query, "app=demo&device=d1"), "query");
    is_int(req.minor_version, 1, "minor version");
    is_int(req.num_headers, 4, "header count");
    ok(cmn_slice_eq(req.headers[1].value, "wrk"), "value OWS trimmed on both sides");
    ok(req.headers[2].value.n == 0, "empty value");
    const struct cmn_http1_header *h = cmn_http1_find_header(&req, "HOST");
    ok(h && cmn_slice_eq(h->value, "127.0.0.1"), "header lookup ignores case");
    ok(cmn_http1_find_header(&req, "missing") == NULL, "missing header");
    ok(cmn_http1_keep_alive(&req), "1.1 keep-alive");
    test_guard_free(g);

    is_int(parse_bytewise(r, n - 4), (int)(n - 4), "byte-by-byte feeding completes at the last byte");

    const char *lf = "GET / HTTP/1.0\nHost: x\n\n";
    is_int(parse_guarded(lf, strlen(lf), &req, MAXH), (int)strlen(lf), "bare LF line ends");
    is_int(req.minor_version, 0, "HTTP/1.0");
    ok(!cmn_http1_keep_alive(&req), "1.0 closes by default");
    is_int(parse_bytewise(lf, strlen(lf)), (int)strlen(lf), "bare LF byte by byte");

    const char *noq = "POST /v1/sync HTTP/1.1\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n";
    is_int(parse_guarded(noq, strlen(noq), &req, MAXH), (int)strlen(noq), "post parses");
    ok(req.query.n == 0 && cmn_slice_eq(req.path, "/v1/sync"), "no query");
    ok(!cmn_http1_keep_alive(&req), "Connection: close honoured (case-insensitive)");

    const char *lead = "\r\nGET / HTTP/1.1\r\n\r\n";
    is_int(parse_guarded(lead, strlen(lead), &req, MAXH), (int)strlen(lead), "leading empty line tolerated");

    const char *pipelined = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    is_int(parse_guarded(pipelined, strlen(pipelined), &req, MAXH), 19, "pipelined: first request only");
}

static void test_bad(void)
{
    static const char *const bad[] = {
        "GET  / HTTP/1.1\r\n\r\n",              /* double space */
        "GET / HTTP/2.0\r\n\r\n",               /* version */
        "GET / HTTP/1.2\r\n\r\n",               /* version */
        "GET / http/1.1\r\n\r\n",               /* case */
        "G(T / HTTP/1.1\r\n\r\n",               /* method not a token */
        " / HTTP/1.1\r\n\r\n",                  /* empty method */
        "GET /\x01 HTTP/1.1\r\n\r\n",           /* control in target */
        "GET / HTTP/1.1\rX\n\r\n",              /* CR not before LF */
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",   /* space before colon */
        "GET / HTTP/1.1\r\n x: y\r\n\r\n",      /* obs-fold */
        "GET / HTTP/1.1\r\nx: a\r\n b\r\n\r\n", /* obs-fold continuation */
        "GET / HTTP/1.1\r\n: y\r\n\r\n",        /* empty name */
        "GET / HTTP/1.1\r\nx: a\x00b\r\n\r\n",  /* NUL in value */
        "GET / HTTP/1.1\r\nx: a\x7f\r\n\r\n",   /* DEL in value */
        "GET / HTTP/1.1\r\nnocolon\r\n\r\n",
        "\r\r\n",
    };
    static const size_t badlen[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 26, 0, 0, 0};
    struct cmn_http1_request req;
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        size_t n = badlen[i] ? badlen[i] : strlen(bad[i]);
        is_int(parse_guarded(bad[i], n, &req, MAXH), -1, "malformed input %zu refused", i);
    }
    /* too many headers for the caller's array */
    const char *many = "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
    is_int(parse_guarded(many, strlen(many), &req, 2), -3, "header count cap: -3 (431), not malformed");
    is_int(parse_guarded(many, strlen(many), &req, 3), (int)strlen(many), "exactly at the cap");

    /* incomplete prefixes of a good request */
    const char *good = "GET /x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n";
    int all = 1;
    for (size_t k = 0; k < strlen(good); k++)
        if (parse_guarded(good, k, &req, MAXH) != -2)
            all = 0;
    ok(all, "every proper prefix is incomplete (guard page never touched)");
    is_int(parse_guarded("", 0, &req, MAXH), -2, "empty buffer is incomplete");
}

static void test_misc(void)
{
    is_int(cmn_http1_content_length((struct cmn_slice){"123", 3}), 123, "content-length");
    is_int(cmn_http1_content_length((struct cmn_slice){"12a", 3}), -1, "content-length garbage");
    is_int(cmn_http1_content_length((struct cmn_slice){"", 0}), -1, "content-length empty");
    is_int(cmn_http1_content_length((struct cmn_slice){"-1", 2}), -1, "content-length negative");
    is_int(cmn_http1_content_length((struct cmn_slice){"9999999999999999999", 19}), -1, "content-length overflow");
}

static void test_query(void)
{
    const char *q = "app=demo&&device=a%2Fb+c&flag&=empty&x=";
    char *g = test_guard_alloc(q, strlen(q));
    struct cmn_slice rest = {g, strlen(q)}, k, v;
    char out[64];
    ok(cmn_query_next(&rest, &k, &v) && cmn_slice_eq(k, "app") && cmn_slice_eq(v, "demo"), "pair 1");
    ok(cmn_query_next(&rest, &k, &v) && cmn_slice_eq(k, "device"), "empty pair skipped");
    is_int(cmn_pct_decode(v, out, sizeof(out), 1), 5, "decoded length");
    is_str(out, "a/b c", "percent and plus decoded");
    is_int(cmn_pct_decode(v, out, sizeof(out), 0), 5, "decoded without plus");
    is_str(out, "a/b+c", "plus kept literally");
    ok(cmn_query_next(&rest, &k, &v) && cmn_slice_eq(k, "flag") && v.n == 0, "key without '='");
    ok(cmn_query_next(&rest, &k, &v) && k.n == 0 && cmn_slice_eq(v, "empty"), "empty key");
    ok(cmn_query_next(&rest, &k, &v) && cmn_slice_eq(k, "x") && v.n == 0, "trailing empty value");
    ok(!cmn_query_next(&rest, &k, &v), "end of query");
    test_guard_free(g);

    static const char *const badpct[] = {"%", "%4", "a%zz", "%00", "ab%", "%g1"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(badpct); i++) {
        char *b = test_guard_alloc(badpct[i], strlen(badpct[i]));
        is_int(cmn_pct_decode((struct cmn_slice){b, strlen(badpct[i])}, out, sizeof(out), 1), -1,
               "bad escape '%s' refused", badpct[i]);
        test_guard_free(b);
    }
    is_int(cmn_pct_decode((struct cmn_slice){"abcd", 4}, out, 4, 0), -1, "no room for the terminator");
    is_int(cmn_pct_decode((struct cmn_slice){"abc", 3}, out, 4, 0), 3, "exact fit");
    is_int(cmn_pct_decode((struct cmn_slice){"%41%62", 6}, out, 3, 0), 2, "escapes count decoded bytes");
    is_str(out, "Ab", "hex either case");
}

int main(void)
{
    test_good();
    test_bad();
    test_misc();
    test_query();
    return done_testing();
}
