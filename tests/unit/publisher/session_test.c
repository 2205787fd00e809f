/*
 * Unit tests for session.c's rules that need no database: the session
 * token's shape, the constant-time CSRF comparison and the Origin check
 * (with and without HOTPATCH_PUBLIC_URL). The database side (create, look
 * up, expire, sign out) is tested over HTTP in
 * tests/integration/publisher/dashboard_test.c.
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "pub_session.h"

int main(void)
{
    const char *good = "hps_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    ok(pub_session_token_valid(good), "hps_ + 43 base64url characters is a token");
    ok(pub_session_token_valid("hps_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"), "with - and _");
    const char *bad[] = {
        NULL,
        "",
        "hps_",
        "hps_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 */
        "hps_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
        "hpx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "hps_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "hps_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "hps_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA;x",
        "hp_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++)
        ok(!pub_session_token_valid(bad[i]), "not a token: '%s'", bad[i] ? bad[i] : "(null)");

    ok(pub_csrf_equal("abcDEF-_123", "abcDEF-_123"), "same CSRF token");
    ok(!pub_csrf_equal("abcDEF-_123", "abcDEF-_124"), "one byte differs");
    ok(!pub_csrf_equal("abcDEF-_123", "abcDEF-_12"), "shorter");
    ok(!pub_csrf_equal("abcDEF-_123", "abcDEF-_1234"), "longer");
    ok(!pub_csrf_equal("abc", NULL), "missing header");
    ok(!pub_csrf_equal(NULL, "abc"), "no session token");
    ok(!pub_csrf_equal("", ""), "empty never matches");

    ok(pub_origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080", NULL), "own origin (http + Host)");
    ok(pub_origin_ok("https://ota.example.com", "ota.example.com", NULL), "own origin behind TLS");
    ok(!pub_origin_ok("http://127.0.0.1:9999", "127.0.0.1:8080", NULL), "another port is another origin");
    ok(!pub_origin_ok("http://evil.example", "127.0.0.1:8080", NULL), "another host");
    ok(!pub_origin_ok("null", "127.0.0.1:8080", NULL), "Origin: null");
    ok(!pub_origin_ok("http://127.0.0.1:8080/", "127.0.0.1:8080", NULL), "an origin has no path");
    ok(!pub_origin_ok("http://127.0.0.1:8080.evil", "127.0.0.1:8080", NULL), "no suffix tricks");
    ok(!pub_origin_ok("ftp://127.0.0.1:8080", "127.0.0.1:8080", NULL), "http or https only");
    ok(!pub_origin_ok("http://127.0.0.1:8080", NULL, NULL), "no Host: refused");
    ok(!pub_origin_ok("http://", "", NULL), "empty Host: refused");
    ok(!pub_origin_ok(NULL, "127.0.0.1:8080", NULL), "no Origin: refused here (Sec-Fetch-Site is http.c's call)");
    ok(pub_origin_ok("https://ota.example.com", "10.0.0.5:8080", "https://ota.example.com"),
       "with public_url: its origin is accepted whatever the Host");
    ok(!pub_origin_ok("http://10.0.0.5:8080", "10.0.0.5:8080", "https://ota.example.com"),
       "with public_url: the Host's origin is not enough");
    ok(!pub_origin_ok("http://ota.example.com", "ota.example.com", "https://ota.example.com"),
       "with public_url: the scheme must match too");
    return done_testing();
}
