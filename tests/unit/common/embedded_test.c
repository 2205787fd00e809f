/*
 * Unit tests for the embedded-base registry (embedded.h): parse / render
 * round trip, every malformed shape refused with a detail, the set/unset
 * rules, and the writers' loop on a real file:// store (add stores the zip
 * and the entry, re-adding is a no-op, other content replaces and says so,
 * a damaged registry is reported and left alone, remove, and eight
 * processes racing lose no entry).
 */
#include "common/compat.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/test.h"
#include "common/embedded.h"
#include "common/storage.h"

static struct cmn_storage *ST;

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ENTRY(v, sha, size)                                                                                            \
    "{\"binary_version\":\"" v "\",\"content_sha256\":\"" sha "\",\"key\":\"embedded/app/android/" sha                 \
    ".zip\",\"size\":" size ",\"added\":\"2026-12-07T08:00:00Z\"}"

static int parse(const char *s, struct cmn_embedded *r, struct cmn_errbuf *eb)
{
    return cmn_embedded_parse(s, strlen(s), "app", "android", r, eb);
}

static void t_parse(void)
{
    struct cmn_embedded r, g;
    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    cmn_embedded_init(&r);
    cmn_embedded_init(&g);
    /* out of order on purpose: the parser sorts, the renderer writes sorted */
    const char *good = "{\"bases\":[" ENTRY("2.0.0", SHA_B, "77") "," ENTRY("1.4.0", SHA_A, "12345") "]}";
    const char *canon = "{\"bases\":[" ENTRY("1.4.0", SHA_A, "12345") "," ENTRY("2.0.0", SHA_B, "77") "]}\n";
    is_int(parse(good, &r, &eb), CMN_OK, "a valid registry parses (%s)", eb.msg);
    is_int(r.n, 2, "two bases");
    ok(cmn_embedded_find(&r, "1.4.0") && cmn_embedded_find(&r, "1.4.0")->size == 12345 &&
           strcmp(cmn_embedded_find(&r, "1.4.0")->content_sha256, SHA_A) == 0,
       "find by binary_version");
    ok(!cmn_embedded_find(&r, "1.4"), "versions are compared as bytes");
    cmn_buf_init(&b, 1 << 20);
    ok(cmn_embedded_render(&r, &b) == CMN_OK, "render");
    ok(b.len == strlen(canon) && memcmp(b.ptr, canon, b.len) == 0, "render is sorted and compact");
    ok(parse(b.ptr, &g, NULL) == CMN_OK && g.n == 2, "the rendering parses back");
    cmn_buf_release(&b);
    is_int(parse("{\"bases\":[]}", &g, NULL), CMN_OK, "an empty registry parses");
    is_int(g.n, 0, "... with no base");

    struct {
        const char *doc, *why;
    } bad[] = {
        {"", "empty document"},
        {"[]", "not an object"},
        {"{\"bases\":{}}", "bases not an array"},
        {"{\"bases\":[],\"x\":1}", "unknown top-level member"},
        {"{\"bases\":[1]}", "base not an object"},
        {"{\"bases\":[" ENTRY("1.0.0", SHA_A, "1") "," ENTRY("1.0.0", SHA_B, "2") "]}", "duplicate version"},
        {"{\"bases\":[" ENTRY("1.0.0", SHA_A, "1") "],\"bases\":[]}", "duplicate member"},
        {"{\"bases\":[" ENTRY("1.0.0", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "1") "]}",
         "upper-case hex"},
        {"{\"bases\":[" ENTRY("1.0.0", "aaaa", "1") "]}", "short hex"},
        {"{\"bases\":[" ENTRY("1.0.0", "gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1") "]}",
         "non-hex character"},
        {"{\"bases\":[" ENTRY("not a version", SHA_A, "1") "]}", "version with spaces"},
        {"{\"bases\":[" ENTRY("1.0.0/..", SHA_A, "1") "]}", "version with a slash"},
        {"{\"bases\":[" ENTRY("", SHA_A, "1") "]}", "empty version"},
        {"{\"bases\":[" ENTRY("1.0.0", SHA_A, "0") "]}", "size zero"},
        {"{\"bases\":[" ENTRY("1.0.0", SHA_A, "-5") "]}", "negative size"},
        {"{\"bases\":[" ENTRY("1.0.0", SHA_A, "1.5") "]}", "fractional size"},
        {"{\"bases\":[" ENTRY("1.0.0", SHA_A, "\"12\"") "]}", "size as a string"},
        {"{\"bases\":[{\"binary_version\":\"1.0.0\",\"content_sha256\":\"" SHA_A
         "\",\"key\":\"bundles/app/android/" SHA_A ".zip\",\"size\":1,\"added\":\"2026-12-07T08:00:00Z\"}]}",
         "key outside embedded/"},
        {"{\"bases\":[{\"binary_version\":\"1.0.0\",\"content_sha256\":\"" SHA_A
         "\",\"key\":\"embedded/other/android/" SHA_A ".zip\",\"size\":1,\"added\":\"2026-12-07T08:00:00Z\"}]}",
         "key of another app"},
        {"{\"bases\":[{\"binary_version\":\"1.0.0\",\"content_sha256\":\"" SHA_A
         "\",\"key\":\"embedded/app/android/" SHA_B ".zip\",\"size\":1,\"added\":\"2026-12-07T08:00:00Z\"}]}",
         "key of another digest"},
        {"{\"bases\":[{\"binary_version\":\"1.0.0\",\"content_sha256\":\"" SHA_A
         "\",\"key\":\"embedded/app/android/" SHA_A ".zip\",\"size\":1,\"added\":\"yesterday\"}]}",
         "bad time"},
        {"{\"bases\":[{\"binary_version\":\"1.0.0\",\"content_sha256\":\"" SHA_A
         "\",\"key\":\"embedded/app/android/" SHA_A ".zip\",\"size\":1,\"added\":\"2026-13-07T08:00:00Z\"}]}",
         "month 13"},
        {"{\"bases\":[{\"binary_version\":\"1.0.0\",\"content_sha256\":\"" SHA_A
         "\",\"key\":\"embedded/app/android/" SHA_A ".zip\",\"size\":1}]}",
         "missing member"},
        {"{\"bases\":[{\"binary_version\":\"1.0.0\",\"content_sha256\":\"" SHA_A
         "\",\"key\":\"embedded/app/android/" SHA_A
         ".zip\",\"size\":1,\"added\":\"2026-12-07T08:00:00Z\",\"sig\":\"x\"}]}",
         "unknown member in a base"},
        {"{\"bases\":[{\"binary_version\":1,\"content_sha256\":\"" SHA_A "\",\"key\":\"embedded/app/android/" SHA_A
         ".zip\",\"size\":1,\"added\":\"2026-12-07T08:00:00Z\"}]}",
         "version of the wrong type"},
        {"{\"bases\":[" ENTRY("1.0.0", SHA_A, "1") "]} x", "trailing bytes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cmn_errbuf e = {{0}};
        int rc = parse(bad[i].doc, &r, &e);
        ok(rc == CMN_E_PARSE && e.msg[0], "refused: %s (%s)", bad[i].why, e.msg);
        is_int(r.n, 2, "... and the previous registry is untouched");
    }
    is_int(cmn_embedded_parse(good, strlen(good), "app", "ios", &g, NULL), CMN_E_PARSE,
           "the same document is refused for another platform (keys name the platform)");
    is_int(cmn_embedded_parse(good, strlen(good), "../x", "android", &g, NULL), CMN_E_INVAL, "a bad app is refused");
    /* bounds */
    {
        struct cmn_buf big;
        cmn_buf_init(&big, 4u << 20);
        ok(cmn_buf_addstr(&big, "{\"bases\":[") == CMN_OK, "big doc");
        for (int i = 0; i <= CMN_EMBEDDED_MAX_BASES; i++)
            if (cmn_buf_addf(&big,
                             "%s{\"binary_version\":\"1.0.%d\",\"content_sha256\":\"" SHA_A
                             "\",\"key\":\"embedded/app/android/" SHA_A
                             ".zip\",\"size\":1,\"added\":\"2026-12-07T08:00:00Z\"}",
                             i ? "," : "", i) != CMN_OK)
                break;
        ok(cmn_buf_addstr(&big, "]}") == CMN_OK, "big doc closed");
        int rc = cmn_embedded_parse(big.ptr, big.len, "app", "android", &g, NULL);
        ok(rc == CMN_E_TOOBIG, "more than %d bases or %zu bytes is refused as too big (%d)", CMN_EMBEDDED_MAX_BASES,
           CMN_EMBEDDED_MAX_BYTES, rc);
        cmn_buf_release(&big);
    }
    /* guard page: the parser reads nothing past the end */
    {
        const char *d = "{\"bases\":[" ENTRY("1.4.0", SHA_A, "12345") "]}";
        void *p = test_guard_alloc(d, strlen(d));
        is_int(cmn_embedded_parse(p, strlen(d), "app", "android", &g, NULL), CMN_OK, "parse right before a guard page");
        test_guard_free(p);
    }
    cmn_embedded_release(&r);
    cmn_embedded_release(&g);
}

static void t_rules(void)
{
    struct cmn_embedded r;
    struct cmn_embedded_base b;
    char old[CMN_SHA256_HEX] = "";
    char k[CMN_EMBEDDED_KEY_MAX];
    cmn_embedded_init(&r);
    ok(cmn_embedded_version_ok("1.2.3") && cmn_embedded_version_ok("1.2.3-beta.1+build.7") &&
           cmn_embedded_version_ok("2"),
       "semver binary versions are accepted");
    ok(!cmn_embedded_version_ok("1.2.3 ") && !cmn_embedded_version_ok("v1") && !cmn_embedded_version_ok("1.2/3") &&
           !cmn_embedded_version_ok(NULL) && !cmn_embedded_version_ok(""),
       "anything else is refused");
    char longv[80];
    memset(longv, '1', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    ok(!cmn_embedded_version_ok(longv), "a version over %d bytes is refused", CMN_EMBEDDED_VERSION_MAX);
    is_int(cmn_embedded_index_key("app", "android", k, sizeof(k)), CMN_OK, "index key");
    is_str(k, "embedded/app/android/index.json", "index key layout");
    is_int(cmn_embedded_zip_key("app", "android", SHA_A, k, sizeof(k)), CMN_OK, "zip key");
    is_str(k, "embedded/app/android/" SHA_A ".zip", "zip key layout");
    is_int(cmn_embedded_zip_key("app", "..", SHA_A, k, sizeof(k)), CMN_E_INVAL, "zip key refuses a bad platform");
    is_int(cmn_embedded_zip_key("app", "android", "zz", k, sizeof(k)), CMN_E_INVAL, "zip key refuses a bad digest");
    is_int(cmn_embedded_index_key("app", "android", k, 10), CMN_E_INVAL, "a short buffer is refused");

    memset(&b, 0, sizeof(b));
    snprintf(b.binary_version, sizeof(b.binary_version), "1.0.0");
    snprintf(b.content_sha256, sizeof(b.content_sha256), SHA_A);
    snprintf(b.key, sizeof(b.key), "embedded/app/android/" SHA_A ".zip");
    b.size = 10;
    cmn_embedded_time(1796601600, b.added);
    is_str(b.added, "2026-12-07T00:00:00Z", "time format");
    is_int(cmn_embedded_set(&r, &b, old), 1, "set adds");
    is_int(cmn_embedded_set(&r, &b, old), 0, "set of the same content keeps");
    snprintf(b.content_sha256, sizeof(b.content_sha256), SHA_B);
    is_int(cmn_embedded_set(&r, &b, old), 2, "set of other content replaces");
    is_str(old, SHA_A, "... and names the old digest");
    is_int(r.n, 1, "still one entry");
    b.size = 0;
    is_int(cmn_embedded_set(&r, &b, NULL), -1, "an invalid entry is refused");
    is_int(cmn_embedded_unset(&r, "1.0.0"), 1, "unset removes");
    is_int(cmn_embedded_unset(&r, "1.0.0"), 0, "unset of a missing version");
    is_int(r.n, 0, "empty again");
    cmn_embedded_release(&r);
}

static int write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = strlen(s);
    int rc = fwrite(s, 1, n, f) == n ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

static void t_store(void)
{
    struct cmn_embedded r;
    struct cmn_embedded_change ch;
    struct cmn_errbuf eb = {{0}};
    struct cmn_buf got;
    char zpath[700], etag1[CMN_ETAG_MAX], etag2[CMN_ETAG_MAX];
    cmn_embedded_init(&r);
    cmn_buf_init(&got, 1 << 20);

    is_int(cmn_embedded_list(ST, "app", "android", &r, etag1, &eb), CMN_OK, "a missing registry lists as empty");
    ok(r.n == 0 && etag1[0] == '\0', "... no base, no ETag");

    snprintf(zpath, sizeof(zpath), "%s/emb-a.zip", test_tmpdir());
    ok(write_file(zpath, "PK-zip-bytes-A") == 0, "zip file written");
    is_int(cmn_embedded_add(ST, "app", "android", "1.0.0", zpath, NULL, 0, SHA_A, 1796601600, &ch, &eb), CMN_OK,
           "add from a file (%s)", eb.msg);
    ok(ch.changed && !ch.replaced, "the registry was written, nothing replaced");
    ok(cmn_storage_get(ST, "embedded/app/android/" SHA_A ".zip", NULL, &got, NULL, NULL) == CMN_OK && got.len == 14 &&
           memcmp(got.ptr, "PK-zip-bytes-A", 14) == 0,
       "the zip is stored under its content-addressed key");
    cmn_buf_reset(&got);
    ok(cmn_storage_get(ST, "embedded/app/android/index.json", NULL, &got, NULL, NULL) == CMN_OK, "registry object");
    const char *want = "{\"bases\":[{\"binary_version\":\"1.0.0\",\"content_sha256\":\"" SHA_A
                       "\",\"key\":\"embedded/app/android/" SHA_A ".zip\",\"size\":14,\"added\":"
                       "\"2026-12-07T00:00:00Z\"}]}\n";
    ok(got.len == strlen(want) && memcmp(got.ptr, want, got.len) == 0, "the registry holds exactly the entry");

    is_int(cmn_embedded_list(ST, "app", "android", &r, etag1, &eb), CMN_OK, "list");
    ok(r.n == 1 && etag1[0], "one base and an ETag");
    is_int(cmn_embedded_add(ST, "app", "android", "1.0.0", NULL, "PK-zip-bytes-A", 14, SHA_A, 1796640000, &ch, &eb),
           CMN_OK, "re-add of the same content");
    ok(!ch.changed && strcmp(ch.entry.added, "2026-12-07T00:00:00Z") == 0, "changes nothing (the first time stays)");
    is_int(cmn_embedded_list(ST, "app", "android", &r, etag2, &eb), CMN_OK, "list again");
    is_str(etag2, etag1, "the registry object was not rewritten");

    is_int(cmn_embedded_add(ST, "app", "android", "1.0.0", NULL, "PK-zip-bytes-BB", 15, SHA_B, 1796640000, &ch, &eb),
           CMN_OK, "add of other content for the same version");
    ok(ch.changed && ch.replaced && strcmp(ch.old_sha256, SHA_A) == 0, "replaced, naming the old digest");
    is_int(cmn_embedded_add(ST, "app", "android", "1.1.0", NULL, "PK-zip-bytes-BB", 15, SHA_B, 1796640000, &ch, &eb),
           CMN_OK, "a second version with the same content");
    ok(cmn_embedded_list(ST, "app", "android", &r, NULL, &eb) == CMN_OK && r.n == 2 &&
           strcmp(cmn_embedded_find(&r, "1.0.0")->content_sha256, SHA_B) == 0 &&
           cmn_embedded_find(&r, "1.0.0")->size == 15,
       "two versions, the first now on the new content");

    /* an object of other bytes under the key (another zip of the same content): ours replaces it, so the
     * registered size is the stored object's */
    ok(cmn_storage_put(ST, "embedded/app/android/" SHA_B ".zip", "PK-other-zip-of-B-content", 25, NULL, NULL, NULL) ==
           CMN_OK,
       "another zip of content B stored under its key");
    is_int(cmn_embedded_add(ST, "app", "android", "1.2.0", NULL, "PK-zip-bytes-BB", 15, SHA_B, 1796640000, &ch, &eb),
           CMN_OK, "add over it");
    uint64_t have = 0;
    ok(cmn_storage_head(ST, "embedded/app/android/" SHA_B ".zip", NULL, &have, NULL) == CMN_OK && have == 15 &&
           ch.entry.size == 15,
       "the stored zip is ours and the entry says its size");
    is_int(cmn_embedded_remove(ST, "app", "android", "1.2.0", NULL, NULL), CMN_OK, "(1.2.0 removed again)");

    /* bad arguments: nothing written */
    is_int(cmn_embedded_add(ST, "app", "android", "nope", NULL, "x", 1, SHA_A, 0, NULL, NULL), CMN_E_INVAL,
           "a bad version is refused");
    is_int(cmn_embedded_add(ST, "app", "android", "1.0.0", NULL, "x", 1, "ABC", 0, NULL, NULL), CMN_E_INVAL,
           "a bad digest is refused");
    is_int(cmn_embedded_add(ST, "app", "android", "1.0.0", NULL, "x", 0, SHA_A, 0, NULL, NULL), CMN_E_INVAL,
           "an empty zip is refused");
    is_int(cmn_embedded_add(ST, "app", "android", "1.0.0", "/nonexistent/x.zip", NULL, 0, SHA_A, 0, NULL, NULL),
           CMN_E_IO, "a missing zip file is refused");

    /* remove */
    is_int(cmn_embedded_remove(ST, "app", "android", "1.1.0", &ch, &eb), CMN_OK, "remove");
    ok(ch.changed && strcmp(ch.old_sha256, SHA_B) == 0, "remove names the removed digest");
    eb.msg[0] = '\0';
    is_int(cmn_embedded_remove(ST, "app", "android", "1.1.0", &ch, &eb), CMN_E_NOTFOUND, "remove again: not found");
    ok(strstr(eb.msg, "1.1.0") != NULL, "... saying which version (%s)", eb.msg);
    ok(cmn_storage_head(ST, "embedded/app/android/" SHA_B ".zip", NULL, NULL, NULL) == CMN_OK,
       "the zip stays (still used by 1.0.0, and immutable anyway)");

    /* a damaged registry: reported, never overwritten */
    const char *damaged = "{\"bases\":[{\"binary_version\":1}]}";
    ok(cmn_storage_put(ST, "embedded/app/android/index.json", damaged, strlen(damaged), NULL, NULL, NULL) == CMN_OK,
       "registry damaged");
    eb.msg[0] = '\0';
    is_int(cmn_embedded_list(ST, "app", "android", &r, NULL, &eb), CMN_E_PARSE, "list reports a damaged registry");
    ok(strstr(eb.msg, "embedded registry 'embedded/app/android/index.json'") != NULL, "... naming it (%s)", eb.msg);
    is_int(r.n, 2, "... and leaves the caller's copy alone");
    is_int(cmn_embedded_add(ST, "app", "android", "3.0.0", NULL, "zz", 2, SHA_A, 0, NULL, NULL), CMN_E_PARSE,
           "add over a damaged registry is refused");
    cmn_buf_reset(&got);
    ok(cmn_storage_get(ST, "embedded/app/android/index.json", NULL, &got, NULL, NULL) == CMN_OK &&
           got.len == strlen(damaged) && memcmp(got.ptr, damaged, got.len) == 0,
       "the damaged registry was not overwritten");
    cmn_buf_release(&got);
    cmn_embedded_release(&r);
}

static void t_race(void)
{
    struct cmn_embedded r;
    cmn_embedded_init(&r);
    pid_t kids[8];
    for (int w = 0; w < 8; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            int bad = 0;
            for (int i = 0; i < 12; i++) {
                char v[32];
                snprintf(v, sizeof(v), "%d.%d.0", w + 1, i);
                bad |= cmn_embedded_add(ST, "race", "ios", v, NULL, "zipbytes", 8, SHA_A, 100, NULL, NULL) != CMN_OK;
            }
            _exit(bad);
        }
    }
    int all = 1;
    for (int w = 0; w < 8; w++) {
        int st;
        waitpid(kids[w], &st, 0);
        all &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    ok(all, "every racing writer succeeded");
    ok(cmn_embedded_list(ST, "race", "ios", &r, NULL, NULL) == CMN_OK, "registry readable after the race");
    int lost = 0;
    for (int w = 0; w < 8; w++)
        for (int i = 0; i < 12; i++) {
            char v[32];
            snprintf(v, sizeof(v), "%d.%d.0", w + 1, i);
            lost += !cmn_embedded_find(&r, v);
        }
    is_int(lost, 0, "no entry lost among 96 racing adds");
    is_int(r.n, 96, "exactly 96 entries");
    cmn_embedded_release(&r);
}

int main(void)
{
    char root[600], url[700];
    struct cmn_errbuf eb = {{0}};
    snprintf(root, sizeof(root), "%s/embedded-store", test_tmpdir());
    mkdir(root, 0755);
    snprintf(url, sizeof(url), "file://%s", root);
    if (cmn_storage_open(url, NULL, &ST, &eb)) {
        ok(0, "open %s: %s", url, eb.msg);
        return done_testing();
    }
    t_parse();
    t_rules();
    t_store();
    t_race();
    cmn_storage_free(ST);
    return done_testing();
}
