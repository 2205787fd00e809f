/*
 * Unit tests for common/patchset.c, the patch driver shared by the CLI and
 * the publisher: the worth-it rule at its boundary, zip extraction (caps,
 * unsafe names, nothing written outside), and cmn_patchset_build over real
 * zips in file:// storage: bases checked by SHA-256 or by content digest, a
 * missing or damaged base is a note, one patch per base content, sorted by
 * base with from[] following, the cap, objects content-addressed (a re-run
 * writes nothing new), and a storage failure is an error with nothing leaked.
 */
#include "common/compat.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "../../lib/rawzip.h"
#include "../../lib/test.h"
#include "common/patch.h"
#include "common/patchset.h"

static char tmp[900];

static int put(const char *dir, const char *name, const void *p, size_t n)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = fwrite(p, 1, n, f) != n;
    return fclose(f) || bad ? -1 : 0;
}

/* A bundle dir: main.js of ~100 KB text (`variant` changes a line or adds some), a small asset. */
static void bundle(const char *dir, int variant)
{
    mkdir(dir, 0755);
    struct cmn_buf b;
    cmn_buf_init(&b, 4u << 20);
    for (int i = 0; i < 2500; i++) {
        char line[96];
        int n = snprintf(line, sizeof(line), "var v%d = %d + \"%s\";\n", i, (i * 7919) % 10007,
                         i == 1000 && variant ? "changed" : "same");
        if (cmn_buf_add(&b, line, (size_t)n))
            break;
    }
    for (int i = 0; variant == 2 && i < 200; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "var extra%d = %d;\n", i, i);
        if (cmn_buf_add(&b, line, (size_t)n))
            break;
    }
    put(dir, "main.js", b.ptr, b.len);
    cmn_buf_release(&b);
    put(dir, "logo.png", "\x89PNG....", 8);
}

static int zipdir(const char *dir, const char *zip, const char *const *names, size_t n)
{
    int err = 0;
    zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_TRUNCATE, &err);
    for (size_t i = 0; za && i < n; i++) {
        char p[1200];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        zip_source_t *s = zip_source_file(za, p, 0, -1);
        if (!s || zip_file_add(za, names[i], s, ZIP_FL_ENC_UTF_8) < 0)
            return -1;
    }
    return za && zip_close(za) == 0 ? 0 : -1;
}

static const char *const NAMES[] = {"logo.png", "main.js"};

/* Zip bundle dir `dir` and store it under `key`; its SHA-256 and content digest (hex) out. */
static int stored(struct cmn_storage *st, const char *dir, const char *key, char sha[CMN_SHA256_HEX],
                  char content[CMN_SHA256_HEX])
{
    char zip[1200];
    uint8_t d[CMN_SHA256_BYTES];
    uint64_t size;
    struct cmn_errbuf eb = {0};
    snprintf(zip, sizeof(zip), "%s.zip", dir);
    if (zipdir(dir, zip, NAMES, 2) || cmn_sha256_file(zip, d, &size, &eb))
        return -1;
    cmn_hex_encode(d, sizeof(d), sha);
    if (cmn_content_digest_dir(dir, d, &eb))
        return -1;
    cmn_hex_encode(d, sizeof(d), content);
    struct cmn_put_opts po = {0};
    return cmn_storage_put_file(st, key, zip, &po, NULL, &eb) ? -1 : 0;
}

static int notes;
static void note(void *ctx, const char *msg)
{
    (void)ctx;
    notes++;
    diag("note: %s", msg);
}

static int count_objects(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".patch") && !strchr(e->d_name, '~') && e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* ---- cmn_content_digest_zip ---- */

static zip_t *tree_za;
static size_t tree_root_len;
static int tree_dirs, tree_bad;

static int tree_add(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (strlen(p) <= tree_root_len)
        return 0;
    const char *rel = p + tree_root_len + 1;
    if (flag == FTW_D) {
        if (tree_dirs && zip_dir_add(tree_za, rel, ZIP_FL_ENC_UTF_8) < 0)
            tree_bad = 1;
    } else {
        zip_source_t *src = zip_source_file(tree_za, p, 0, -1);
        if (!src || zip_file_add(tree_za, rel, src, ZIP_FL_ENC_UTF_8) < 0)
            tree_bad = 1;
    }
    return 0;
}

/* Zip every file under `dir` (and, with `dirs`, a directory entry for each directory). */
static int zip_tree(const char *dir, const char *zip, int dirs)
{
    int zerr = 0;
    tree_za = zip_open(zip, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!tree_za)
        return -1;
    tree_root_len = strlen(dir);
    tree_dirs = dirs;
    tree_bad = 0;
    if (nftw(dir, tree_add, 16, FTW_PHYS) != 0)
        tree_bad = 1;
    return zip_close(tree_za) == 0 && !tree_bad ? 0 : -1;
}

/* mkdir -p for a path under tmp, then put `body` at dir/rel. */
static void put_path(const char *dir, const char *rel, const char *body)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *sl = path + strlen(dir) + 1; (sl = strchr(sl, '/')) != NULL; sl++) {
        *sl = 0;
        mkdir(path, 0755);
        *sl = '/';
    }
    put(dir, rel, body, strlen(body));
}

/* The zip's streamed digest equals the tree's and the extracted zip's, with its file count. */
static void same_digest(const char *name, const char *dir, size_t files)
{
    struct cmn_errbuf eb = {0};
    char zip[1200], out[1200];
    uint8_t want[CMN_SHA256_BYTES], got[CMN_SHA256_BYTES], ext[CMN_SHA256_BYTES];
    /* libzip writes no zip without entries: a tree without files is zipped with its directory entries only */
    for (int dirs = files ? 0 : 1; dirs < 2; dirs++) {
        snprintf(zip, sizeof zip, "%s/%s-%d.zip", tmp, name, dirs);
        snprintf(out, sizeof out, "%s/%s-%d.out", tmp, name, dirs);
        mkdir(out, 0755);
        size_t n = 12345;
        ok(zip_tree(dir, zip, dirs) == 0, "%s: zipped%s", name, dirs ? " with directory entries" : "");
        ok(!cmn_content_digest_dir(dir, want, &eb), "%s: the tree's digest", name);
        is_int(cmn_content_digest_zip(zip, 0, 0, got, &n, &eb), CMN_OK, "%s: the zip's digest (%s)", name, eb.msg);
        is_mem(got, want, sizeof got, "%s: equal to the tree's", name);
        is_int(n, files, "%s: %zu files", name, files);
        is_int(cmn_bundle_zip_digest(zip, out, 0, 0, ext, &eb), CMN_OK, "%s: extracted (%s)", name, eb.msg);
        is_mem(got, ext, sizeof got, "%s: equal to the extracted tree's", name);
    }
}

/* Raw zip entries (names of nl[i] bytes when nl is given) to a file, then the code cmn_content_digest_zip gives
 * (message in eb). */
static enum cmn_err raw_digest_n(const char *name, const struct raw_entry *e, size_t n, const size_t *nl,
                                 uint64_t max_total, struct cmn_errbuf *eb)
{
    struct cmn_buf b;
    char zip[1200];
    uint8_t d[CMN_SHA256_BYTES];
    raw_zip_n(&b, e, n, nl);
    snprintf(zip, sizeof zip, "%s/%s.zip", tmp, name);
    if (put(tmp, strrchr(zip, '/') + 1, b.ptr, b.len))
        abort();
    cmn_buf_release(&b);
    memset(eb, 0, sizeof *eb);
    return cmn_content_digest_zip(zip, max_total, 0, d, NULL, eb);
}

static enum cmn_err raw_digest(const char *name, const struct raw_entry *e, size_t n, uint64_t max_total,
                               struct cmn_errbuf *eb)
{
    return raw_digest_n(name, e, n, NULL, max_total, eb);
}

/*
 * What the SDK's extractor refuses, the publisher's listing (cmn_content_zip,
 * through cmn_content_digest_zip) and cmn_bundle_unzip refuse too, with the
 * same check (common/zipcheck.h): a NUL byte in a raw name, a zip bomb (a
 * declared or a real compression ratio over the cap), an empty zip.
 */
static void test_sdk_rules(void)
{
    struct cmn_errbuf eb = {0};
    const uint32_t REG = 0100644u << 16;
    char zip[1200], out[1200], evil[1300];

    struct raw_entry nul[] = {{"ok.js", "x", REG, 3, 0}, {"assets/a\0cd", "pwned", REG, 3, 0}};
    const size_t nl[] = {5, 11};
    is_int(raw_digest_n("nul-name", nul, 2, nl, 0, &eb), CMN_E_UNSAFE, "NUL in a name: %s", eb.msg);
    ok(strstr(eb.msg, "NUL byte") != NULL, "... the message says so");
    snprintf(zip, sizeof zip, "%s/nul-name.zip", tmp);
    snprintf(out, sizeof out, "%s/nul-name.out", tmp);
    mkdir(out, 0755);
    memset(&eb, 0, sizeof eb);
    is_int(cmn_bundle_unzip(zip, out, 0, 0, &eb), CMN_E_UNSAFE, "... refused by cmn_bundle_unzip: %s", eb.msg);
    snprintf(evil, sizeof evil, "%s/ok.js", out);
    ok(access(evil, F_OK) != 0, "... before writing anything");

    struct raw_entry bomb[] = {{"bomb.bin", "0123456789", REG, 3, -(8 << 20)}};
    is_int(raw_digest("declared-bomb", bomb, 1, 0, &eb), CMN_E_UNSAFE, "a declared ratio over the cap: %s", eb.msg);
    ok(strstr(eb.msg, "zip bomb") != NULL, "... the message says zip bomb");
    is_int(raw_digest("declared-bomb-capped", bomb, 1, UINT64_C(512) << 20, &eb), CMN_E_UNSAFE,
           "... under the publisher's size cap too");

    /* a real one, deflated by libzip: 32 MiB of zeros, as in the SDK's test */
    size_t big = 32u << 20;
    char *zeros = calloc(1, big);
    int zerr = 0;
    snprintf(zip, sizeof zip, "%s/deflated-bomb.zip", tmp);
    zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    ok(za && zip_file_add(za, "bomb.bin", zip_source_buffer(za, zeros, big, 0), 0) >= 0 && zip_close(za) == 0,
       "a deflated bomb written");
    free(zeros);
    uint8_t d[CMN_SHA256_BYTES];
    memset(&eb, 0, sizeof eb);
    is_int(cmn_content_digest_zip(zip, UINT64_C(512) << 20, 20000, d, NULL, &eb), CMN_E_UNSAFE, "refused: %s", eb.msg);
    ok(strstr(eb.msg, "zip bomb") != NULL, "... as a zip bomb");
    snprintf(out, sizeof out, "%s/deflated-bomb.out", tmp);
    mkdir(out, 0755);
    memset(&eb, 0, sizeof eb);
    is_int(cmn_bundle_unzip(zip, out, 0, 0, &eb), CMN_E_UNSAFE, "... by cmn_bundle_unzip too: %s", eb.msg);

    is_int(raw_digest("no-entries", NULL, 0, 0, &eb), CMN_E_PARSE, "a zip without entries: %s", eb.msg);
}

static void test_digest_zip(void)
{
    struct cmn_errbuf eb = {0};
    char dir[1000];

    /* equality, over several trees */
    static const struct {
        const char *name;
        const char *file[5][2]; /* path, body */
        size_t n;
    } trees[] = {
        {"nested",
         {{"index.js", "main"},
          {"assets/img/a.png", "png a"},
          {"assets/img/deep/er/b.png", "png b"},
          {"assets/fonts/x.ttf", "font"},
          {"assets-x", "sorts between assets and assets/ as bytes"}},
         5},
        {"empty files", {{"empty", ""}, {"sub/empty too", ""}, {"full", "x"}}, 3},
    };
    for (size_t t = 0; t < sizeof trees / sizeof trees[0]; t++) {
        snprintf(dir, sizeof dir, "%s/dz-%zu", tmp, t);
        mkdir(dir, 0755);
        for (size_t i = 0; i < trees[t].n; i++)
            put_path(dir, trees[t].file[i][0], trees[t].file[i][1]);
        same_digest(trees[t].name, dir, trees[t].n);
    }

    snprintf(dir, sizeof dir, "%s/dz-many", tmp);
    mkdir(dir, 0755);
    for (int i = 0; i < 300; i++) {
        char rel[64], body[64];
        snprintf(rel, sizeof rel, "d%d/f%03d.txt", i % 7, i);
        snprintf(body, sizeof body, "file %d %s", i, i % 3 ? "abc" : "");
        put_path(dir, rel, body);
    }
    same_digest("300 files", dir, 300);

    snprintf(dir, sizeof dir, "%s/dz-none", tmp);
    mkdir(dir, 0755);
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/only-a-dir", dir);
    mkdir(sub, 0755);
    same_digest("no files", dir, 0);

    /* hostile zips: refused, saying why */
    const uint32_t REG = 0100644u << 16, LNK = 0120777u << 16, DIRM = 040755u << 16;
    struct {
        const char *name;
        struct raw_entry e[3];
        size_t n;
        uint64_t max_total;
        enum cmn_err want;
        const char *says;
    } bad[] = {
        {"dotdot", {{"../evil.js", "x", REG, 3, 0}}, 1, 0, CMN_E_UNSAFE, "unsafe name"},
        {"dotdot-inner", {{"a/../../evil.js", "x", REG, 3, 0}}, 1, 0, CMN_E_UNSAFE, "unsafe name"},
        {"absolute", {{"/etc/evil", "x", REG, 3, 0}}, 1, 0, CMN_E_UNSAFE, "unsafe name"},
        {"backslash", {{"a\\..\\evil", "x", REG, 3, 0}}, 1, 0, CMN_E_UNSAFE, "unsafe name"},
        {"control", {{"a\nb", "x", REG, 3, 0}}, 1, 0, CMN_E_UNSAFE, "unsafe name"},
        {"dir-dotdot", {{"../", "", DIRM, 3, 0}}, 1, 0, CMN_E_UNSAFE, "unsafe name"},
        {"duplicate", {{"a.js", "x", REG, 3, 0}, {"a.js", "y", REG, 3, 0}}, 2, 0, CMN_E_UNSAFE, "twice"},
        {"duplicate-dir", {{"d/", "", DIRM, 3, 0}, {"d/", "", DIRM, 3, 0}}, 2, 0, CMN_E_UNSAFE, "twice"},
        {"file-and-dir-entry", {{"a", "x", REG, 3, 0}, {"a/", "", DIRM, 3, 0}}, 2, 0, CMN_E_UNSAFE, "twice"},
        {"file-under-file", {{"a", "x", REG, 3, 0}, {"a/b", "y", REG, 3, 0}}, 2, 0, CMN_E_UNSAFE, "also the directory"},
        {"file-deep-under-file",
         {{"x/a", "x", REG, 3, 0}, {"x/a-b", "z", REG, 3, 0}, {"x/a/b/c", "y", REG, 3, 0}},
         3,
         0,
         CMN_E_UNSAFE,
         "also the directory"},
        {"symlink", {{"link", "/etc/passwd", LNK, 3, 0}}, 1, 0, CMN_E_UNSAFE, "not a regular file"},
        {"device", {{"dev", "", 020644u << 16, 3, 0}}, 1, 0, CMN_E_UNSAFE, "not a regular file"},
        {"dir-type-file-name", {{"d", "", DIRM, 3, 0}}, 1, 0, CMN_E_UNSAFE, "does not match"},
        {"dir-with-data", {{"d/", "data", 0, 0, 0}}, 1, 0, CMN_E_UNSAFE, "has data"},
        {"size-lie", {{"a.js", "0123456789", REG, 3, 4}}, 1, 0, CMN_E_UNSAFE, "declared size"},
        {"size-short", {{"a.js", "0123456789", REG, 3, -4}}, 1, 0, CMN_E_PARSE, "corrupt"},
        {"oversize-declared",
         {{"a.js", "0123456789", REG, 3, -2000000000}},
         1,
         UINT64_C(512) << 20,
         CMN_E_TOOBIG,
         "declares more than"},
        {"over-the-cap",
         {{"a.js", "0123456789", REG, 3, 0}, {"b.js", "0123456789", REG, 3, 0}},
         2,
         15,
         CMN_E_TOOBIG,
         "declares more than"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum cmn_err rc = raw_digest(bad[i].name, bad[i].e, bad[i].n, bad[i].max_total, &eb);
        is_int(rc, bad[i].want, "%s: refused as %s (%s)", bad[i].name, cmn_errname(bad[i].want), eb.msg);
        ok(strstr(eb.msg, bad[i].says) != NULL, "%s: the message says '%s'", bad[i].name, bad[i].says);
    }
    /* the same writer's honest zip is accepted: the refusals above are the entries' */
    struct raw_entry good[] = {{"a.js", "0123456789", REG, 3, 0}, {"d/", "", DIRM, 3, 0}, {"d/b", "", REG, 3, 0}};
    is_int(raw_digest("honest", good, 3, 20, &eb), CMN_OK, "an honest raw zip at its size cap passes (%s)", eb.msg);

    /* the entry cap, and what is not a zip */
    char zip[1200];
    uint8_t d[CMN_SHA256_BYTES];
    snprintf(zip, sizeof zip, "%s/300 files-0.zip", tmp);
    memset(&eb, 0, sizeof eb);
    is_int(cmn_content_digest_zip(zip, 0, 299, d, NULL, &eb), CMN_E_TOOBIG, "entry cap: %s", eb.msg);
    is_int(cmn_content_digest_zip(zip, 0, 300, d, NULL, &eb), CMN_OK, "entry cap, at the cap");
    snprintf(zip, sizeof zip, "%s/notazip.zip", tmp);
    put(tmp, "notazip.zip", "PK\3\4 not really", 16);
    memset(&eb, 0, sizeof eb);
    is_int(cmn_content_digest_zip(zip, 0, 0, d, NULL, &eb), CMN_E_PARSE, "not a zip: %s", eb.msg);
    ok(strstr(eb.msg, "not a zip archive") != NULL, "... saying so");
}

int main(void)
{
    snprintf(tmp, sizeof(tmp), "%s", test_tmpdir());
    struct cmn_errbuf eb = {0};

    /* the worth-it rule, at its boundary */
    ok(cmn_patch_worth(500, 1000) && !cmn_patch_worth(501, 1000), "worth it up to 50%% of the zip, not above");
    ok(cmn_patch_worth(1, 2) && !cmn_patch_worth(2, 3), "small sizes");

    /* extraction */
    char v0[1000], v1[1000], v2[1000], out[1100], zip[1200];
    snprintf(v0, sizeof(v0), "%s/v0", tmp);
    snprintf(v1, sizeof(v1), "%s/v1", tmp);
    snprintf(v2, sizeof(v2), "%s/v2", tmp);
    bundle(v0, 0);
    bundle(v1, 1);
    bundle(v2, 2);
    snprintf(zip, sizeof(zip), "%s/x.zip", tmp);
    ok(zipdir(v0, zip, NAMES, 2) == 0, "a bundle zip");
    uint8_t d[CMN_SHA256_BYTES], want[CMN_SHA256_BYTES];
    ok(!cmn_content_digest_dir(v0, want, &eb), "its files' content digest");
    snprintf(out, sizeof(out), "%s/x1", tmp);
    mkdir(out, 0755);
    is_int(cmn_bundle_zip_digest(zip, out, 0, 0, d, &eb), CMN_OK, "extracted and digested");
    is_mem(d, want, sizeof(d), "the same digest as the directory it was zipped from");
    snprintf(out, sizeof(out), "%s/x2", tmp);
    mkdir(out, 0755);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_bundle_unzip(zip, out, 0, 1, &eb), CMN_E_TOOBIG, "entry cap: %s", eb.msg);
    snprintf(out, sizeof(out), "%s/x3", tmp);
    mkdir(out, 0755);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_bundle_unzip(zip, out, 1000, 0, &eb), CMN_E_TOOBIG, "size cap: %s", eb.msg);
    {
        int zerr = 0;
        zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
        zip_file_add(za, "a/../../evil", zip_source_buffer(za, "x", 1, 0), ZIP_FL_ENC_UTF_8);
        zip_close(za);
    }
    snprintf(out, sizeof(out), "%s/x4/in", tmp);
    char x4[1100];
    snprintf(x4, sizeof(x4), "%s/x4", tmp);
    mkdir(x4, 0755);
    mkdir(out, 0755);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_bundle_unzip(zip, out, 0, 0, &eb), CMN_E_UNSAFE, "a path escaping the bundle: %s", eb.msg);
    snprintf(x4, sizeof(x4), "%s/x4/evil", tmp);
    ok(access(x4, F_OK) != 0, "nothing written outside");

    test_digest_zip();
    test_sdk_rules();

    /* the driver, over file:// storage */
    char url[1100], store[1000];
    snprintf(store, sizeof(store), "%s/store", tmp);
    mkdir(store, 0755);
    snprintf(url, sizeof(url), "file://%s", store);
    struct cmn_storage *st = NULL;
    ok(!cmn_storage_open(url, NULL, &st, &eb), "storage %s", url);
    char s0[CMN_SHA256_HEX], c0[CMN_SHA256_HEX], s2[CMN_SHA256_HEX], c2[CMN_SHA256_HEX], s1[CMN_SHA256_HEX],
        c1[CMN_SHA256_HEX];
    ok(!stored(st, v0, "bundles/a/p/v0.zip", s0, c0) && !stored(st, v2, "embedded/a/p/v2.zip", s2, c2) &&
           !stored(st, v1, "bundles/a/p/v1.zip", s1, c1),
       "three bundles stored");
    char newdir[1200], work[1200];
    snprintf(newdir, sizeof(newdir), "%s/new", tmp);
    snprintf(work, sizeof(work), "%s/work", tmp);
    mkdir(newdir, 0755);
    mkdir(work, 0755);
    snprintf(zip, sizeof(zip), "%s/v1.zip", tmp);
    ok(!cmn_bundle_zip_digest(zip, newdir, 0, 0, d, &eb), "the new bundle (v1) extracted");
    uint64_t zsize = 0;
    ok(!cmn_sha256_file(zip, want, &zsize, &eb), "its zip's size");
    const char *bad = "0000000000000000000000000000000000000000000000000000000000000000";
    struct cmn_patch_base bases[] = {
        {"v0", "bundles/a/p/v0.zip", s0, NULL, 0},                 /* good, by SHA-256 */
        {"missing", "bundles/a/p/nope.zip", s0, NULL, 0},          /* not in storage: a note */
        {"v0 wrong sha", "bundles/a/p/v0.zip", bad, NULL, 0},      /* SHA-256 mismatch: a note */
        {"v2 by content", "embedded/a/p/v2.zip", NULL, c2, 0},     /* good, by content digest */
        {"v2 wrong content", "embedded/a/p/v2.zip", NULL, bad, 0}, /* content mismatch: a note */
        {"v2 wrong size", "embedded/a/p/v2.zip", NULL, c2, 1},     /* not the registered size: a note */
        {"v0 again", "bundles/a/p/v0.zip", s0, NULL, 0},           /* same base content: a note */
        {"unchecked", "bundles/a/p/v0.zip", NULL, NULL, 0},        /* neither digest: refused */
        {"v1 itself", "bundles/a/p/v1.zip", s1, NULL, 0},          /* the release's own content: a note */
    };
    struct cmn_patchset ps;
    memset(&ps, 0, sizeof(ps));
    ps.st = st;
    ps.work = work;
    ps.app = "a";
    ps.platform = "p";
    ps.new_dir = newdir;
    ps.zip_size = zsize;
    ps.note = note;
    ps.new_content = c1;
    struct cmn_patch_ref pv[CMN_MANIFEST_MAX_PATCHES];
    size_t from[CMN_MANIFEST_MAX_PATCHES], n = 0;
    notes = 0;
    is_int(cmn_patchset_build(&ps, bases, CMN_ARRAY_SIZE(bases), pv, from, CMN_MANIFEST_MAX_PATCHES, &n, &eb), CMN_OK,
           "patches built");
    is_int((long long)n, 2, "two kept: v0 and v2");
    is_int(notes, 9, "a note for each base (2 made, 7 not)");
    ok(n == 2 && strcmp(pv[0].base, pv[1].base) < 0, "sorted by base");
    int f0 = n == 2 && !strcmp(pv[0].base, c0) ? 0 : 1;
    ok(n == 2 && !strcmp(pv[f0].base, c0) && !strcmp(pv[1 - f0].base, c2), "bases are v0's and v2's content digests");
    ok(n == 2 && from[f0] == 0 && from[1 - f0] == 3, "from[] names the bases they came from");
    char objdir[1100];
    snprintf(objdir, sizeof(objdir), "%s/patches/a/p", store);
    is_int(count_objects(objdir), 2, "two objects in storage");
    for (size_t i = 0; i < n; i++) {
        char key[CMN_STORAGE_KEY_MAX], path[2300];
        uint8_t h[CMN_SHA256_BYTES];
        char hex[CMN_SHA256_HEX];
        uint64_t sz = 0;
        snprintf(key, sizeof(key), "patches/a/p/%s.patch", pv[i].sha256);
        is_str(pv[i].url, key, "content-addressed key");
        snprintf(path, sizeof(path), "%s/%s", store, key);
        ok(!cmn_sha256_file(path, h, &sz, &eb) && sz == pv[i].size, "object size as listed");
        cmn_hex_encode(h, sizeof(h), hex);
        is_str(hex, pv[i].sha256, "object SHA-256 as listed");
        ok(cmn_patch_worth(pv[i].size, zsize), "worth it (%llu of %llu bytes)", (unsigned long long)pv[i].size,
           (unsigned long long)zsize);
    }
    char url0[CMN_STORAGE_KEY_MAX];
    snprintf(url0, sizeof(url0), "%s", n ? pv[0].url : "");
    cmn_patch_refs_release(pv, n);

    /* a re-run writes nothing new; the cap keeps the first bases */
    struct stat sb0, sb1;
    char p0[2300];
    snprintf(p0, sizeof(p0), "%s/%s", store, url0);
    stat(p0, &sb0);
    usleep(20000);
    n = 0;
    is_int(cmn_patchset_build(&ps, bases, CMN_ARRAY_SIZE(bases), pv, NULL, 1, &n, &eb), CMN_OK,
           "re-run with a cap of 1");
    is_int((long long)n, 1, "one kept");
    ok(n == 1 && !strcmp(pv[0].base, c0), "the first base's");
    is_int(count_objects(objdir), 2, "no new object");
    ok(stat(p0, &sb1) == 0 && sb1.st_mtim.tv_sec == sb0.st_mtim.tv_sec && sb1.st_mtim.tv_nsec == sb0.st_mtim.tv_nsec,
       "the stored object was not rewritten");
    cmn_patch_refs_release(pv, n);

    /* a base that extracts past the caps (here: 20001 entries, as an unsigned embedded zip could) is only a note */
    {
        char bomb[1200];
        snprintf(bomb, sizeof(bomb), "%s/bomb.zip", tmp);
        int zerr = 0;
        zip_t *za = zip_open(bomb, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
        for (int i = 0; za && i < 20001; i++) {
            char name[32];
            snprintf(name, sizeof(name), "f%05d", i);
            zip_file_add(za, name, zip_source_buffer(za, "x", 1, 0), ZIP_FL_ENC_UTF_8);
        }
        struct cmn_put_opts po = {0};
        ok(za && zip_close(za) == 0 && !cmn_storage_put_file(st, "embedded/a/p/bomb.zip", bomb, &po, NULL, &eb),
           "a base zip of 20001 entries stored");
        struct cmn_patch_base bb = {"bomb", "embedded/a/p/bomb.zip", NULL, c0, 0};
        notes = 0;
        n = 9;
        is_int(cmn_patchset_build(&ps, &bb, 1, pv, NULL, CMN_MANIFEST_MAX_PATCHES, &n, &eb), CMN_OK, "the run goes on");
        ok(n == 0 && notes == 1, "no patch from it, one note");
    }

    /* a storage failure is an error, and nothing is handed back */
    char pdir[1100], moved[1200];
    snprintf(pdir, sizeof(pdir), "%s/patches", store);
    snprintf(moved, sizeof(moved), "%s.moved", pdir);
    ok(rename(pdir, moved) == 0 && put(store, "patches", "x", 1) == 0, "patch storage blocked");
    n = 7;
    memset(&eb, 0, sizeof(eb));
    enum cmn_err rc = cmn_patchset_build(&ps, bases, 1, pv, NULL, CMN_MANIFEST_MAX_PATCHES, &n, &eb);
    ok(rc != CMN_OK && strstr(eb.msg, "cannot store patch 'patches/a/p/"), "an error naming the object: %s", eb.msg);
    is_int((long long)n, 0, "nothing handed back");
    DIR *wd = opendir(work);
    int left = 0;
    struct dirent *e;
    while (wd && (e = readdir(wd)) != NULL)
        left += e->d_name[0] != '.';
    if (wd)
        closedir(wd);
    is_int(left, 0, "the scratch directory is left empty");
    cmn_storage_free(st);
    return done_testing();
}
