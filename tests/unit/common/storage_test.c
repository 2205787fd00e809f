/*
 * Unit tests for the storage front door (common/storage.c) and the parts of
 * the s3:// backend and http.c that need no server: key and prefix rules,
 * canonical key builders, s3:// URL and credential parsing, URL encoding and
 * the backoff policy. The real S3 traffic is tested in
 * tests/integration/common/storage_s3_test.c against radosgw.
 */
#include "common/compat.h"

#include "../../../common/storage_int.h"
#include "../../lib/test.h"
#include "common/buf.h"
#include "common/http.h"
#include "common/storage.h"

int main(void)
{
    char k[CMN_STORAGE_KEY_MAX];
    struct cmn_errbuf eb = {{0}};

    /* Key rules. */
    static const char *good[] = {
        "a",     "manifests/app/android/production.json", "a.b/c-d/e_f.g", "x/y z/é€", "bundles/app/ios/0123.zip",
        "v1.2/x"};
    static const char *bad[] = {"",
                                "/a",
                                "../a",
                                "a/../b",
                                "a/..",
                                "..",
                                "a..b",
                                "a\\b",
                                "a//b",
                                "a/",
                                "/",
                                ".a",
                                "a/.b",
                                "a\tb",
                                "a\rb",
                                "\x7f",
                                "\xff",
                                "\xC3",
                                "\xC0\x80",
                                "\xE0\x80\x80",
                                "\xED\xB0\x80",
                                "\xF4\x90\x80\x80"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(good); i++)
        is_int(cmn_storage_key_check(good[i], NULL), CMN_OK, "good key '%s'", good[i]);
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++)
        is_int(cmn_storage_key_check(bad[i], NULL), CMN_E_INVAL, "bad key #%zu", i);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_storage_key_check("../etc/passwd", &eb), CMN_E_INVAL, "traversal");
    ok(strstr(eb.msg, "..") != NULL, "detail explains: %s", eb.msg);
    char longkey[CMN_STORAGE_KEY_MAX + 1];
    memset(longkey, 'k', CMN_STORAGE_KEY_MAX);
    longkey[CMN_STORAGE_KEY_MAX] = '\0';
    is_int(cmn_storage_key_check(longkey, NULL), CMN_E_INVAL, "key of CMN_STORAGE_KEY_MAX bytes is too long");
    longkey[CMN_STORAGE_KEY_MAX - 1] = '\0';
    is_int(cmn_storage_key_check(longkey, NULL), CMN_OK, "key of CMN_STORAGE_KEY_MAX-1 bytes is fine");
    is_int(cmn_storage_key_check(NULL, NULL), CMN_E_INVAL, "NULL key");
    is_int(cmn_storage_prefix_check("", NULL), CMN_OK, "empty prefix");
    is_int(cmn_storage_prefix_check("manifests/", NULL), CMN_OK, "prefix with a trailing slash");
    is_int(cmn_storage_prefix_check("manifests/ap", NULL), CMN_OK, "partial prefix");
    is_int(cmn_storage_prefix_check("../", NULL), CMN_E_INVAL, "traversal prefix");
    is_int(cmn_storage_prefix_check("/", NULL), CMN_E_INVAL, "absolute prefix");

    /* Canonical keys. */
    const char *sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    is_int(cmn_storage_bundle_key("app", "android", sha, k, sizeof(k)), CMN_OK, "bundle key");
    is_str(k, "bundles/app/android/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.zip",
           "bundle key layout");
    is_int(cmn_storage_key_check(k, NULL), CMN_OK, "bundle key is a valid key");
    is_int(cmn_storage_manifest_key("my-app", "ios", "production", k, sizeof(k)), CMN_OK, "manifest key");
    is_str(k, "manifests/my-app/ios/production.json", "manifest key layout");
    is_int(cmn_storage_bundle_key("app", "android", "9F86", k, sizeof(k)), CMN_E_INVAL, "short digest");
    is_int(cmn_storage_bundle_key("app", "android", "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
                                  k, sizeof(k)),
           CMN_E_INVAL, "upper-case digest");
    is_int(cmn_storage_bundle_key("../x", "android", sha, k, sizeof(k)), CMN_E_INVAL, "traversal in app");
    is_int(cmn_storage_manifest_key("app", "a/b", "production", k, sizeof(k)), CMN_E_INVAL, "slash in platform");
    is_int(cmn_storage_manifest_key("app", "ios", ".hidden", k, sizeof(k)), CMN_E_INVAL, "dot channel");
    is_int(cmn_storage_manifest_key("app", "ios", "", k, sizeof(k)), CMN_E_INVAL, "empty channel");
    is_int(cmn_storage_manifest_key("app", "ios", "beta.", k, sizeof(k)), CMN_E_INVAL,
           "channel ending in '.' (would give '..json'; found by the fuzzer)");
    is_int(cmn_storage_manifest_key("app", "ios", "beta.2", k, sizeof(k)), CMN_OK, "a dot inside a channel is fine");
    is_int(cmn_storage_manifest_key("app", "ios", "production", k, 10), CMN_E_TOOBIG, "output too small");
    is_str(k, "", "output emptied on failure");

    /* s3:// URL parsing (no request is sent by open). */
    struct cmn_storage_opts o = {.endpoint = "http://127.0.0.1:9", .access_key = "AK", .secret_key = "SK"};
    struct cmn_storage *st = NULL;
    is_int(cmn_storage_open("s3://bucket-1/some/prefix/", &o, &st, NULL), CMN_OK, "s3 url with prefix");
    ok(st && !cmn_storage_is_local(st), "s3 is not local");
    cmn_storage_free(st);
    st = NULL;
    is_int(cmn_storage_open("s3://bucket-1?endpoint=http%3A%2F%2F127.0.0.1%3A9&region=auto", &o, &st, NULL), CMN_OK,
           "s3 url with query");
    cmn_storage_free(st);
    st = NULL;
    is_int(cmn_storage_open("s3://b", &o, &st, NULL), CMN_E_INVAL, "bucket name too short");
    is_int(cmn_storage_open("s3://bad_bucket!x", &o, &st, NULL), CMN_E_INVAL, "bad bucket characters");
    is_int(cmn_storage_open("s3://bucket/../x", &o, &st, NULL), CMN_E_INVAL, "traversal in the prefix");
    is_int(cmn_storage_open("s3://bucket?foo=bar", &o, &st, NULL), CMN_E_INVAL, "unknown query parameter");
    is_int(cmn_storage_open("s3://bucket?endpoint=%zz", &o, &st, NULL), CMN_E_INVAL, "bad percent escape");
    is_int(cmn_storage_open("s3://bucket?endpoint=%00", &o, &st, NULL), CMN_E_INVAL, "NUL escape");
    struct cmn_storage_opts o2 = o;
    o2.endpoint = "ftp://x";
    is_int(cmn_storage_open("s3://bucket", &o2, &st, NULL), CMN_E_INVAL, "non-http endpoint");
    o2 = o;
    o2.region = "us east";
    is_int(cmn_storage_open("s3://bucket", &o2, &st, NULL), CMN_E_INVAL, "bad region");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    o2 = o;
    o2.access_key = NULL;
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_storage_open("s3://bucket", &o2, &st, &eb), CMN_E_INVAL, "no credentials");
    ok(strstr(eb.msg, "AWS_ACCESS_KEY_ID") != NULL, "detail names the variables: %s", eb.msg);
    setenv("AWS_ACCESS_KEY_ID", "envkey", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    is_int(cmn_storage_open("s3://bucket", &o2, &st, NULL), CMN_OK, "credentials from the environment");
    cmn_storage_free(st);
    st = NULL;
    o2.secret_key = "line\nbreak";
    is_int(cmn_storage_open("s3://bucket", &o2, &st, NULL), CMN_E_INVAL, "header injection in a secret");

    /* URL encoding: moved to tests/unit/common/str_test.c with cmn_url_encode. */

    /* Backoff: within [ceiling/10, ceiling], ceiling doubling up to 5 s. */
    int in_range = 1;
    for (int a = 1; a <= 12; a++) {
        long ceil_ms = 200L << (a - 1 > 10 ? 10 : a - 1);
        if (ceil_ms > 5000)
            ceil_ms = 5000;
        for (int i = 0; i < 200; i++) {
            long d = cmn_http_backoff_ms(200, a);
            if (d < ceil_ms / 10 || d > ceil_ms)
                in_range = 0;
        }
    }
    ok(in_range, "backoff stays within its jitter window and the 5 s cap");
    long lo = 100000, hi = 0;
    for (int i = 0; i < 500; i++) {
        long d = cmn_http_backoff_ms(200, 3);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    ok(hi - lo > 200, "backoff is jittered (%ld..%ld)", lo, hi);

    return done_testing();
}
