/*
 * zipcheck_test.c - cmn_zip_check, the entry-checking pass the SDK's
 * extractor and the publisher's content listing share (common/zipcheck.c):
 * every rule with the code and message it gives, on archives from the raw
 * writer (tests/lib/rawzip.h) and libzip, from memory and from a file; and
 * cmn_zip_read's exact-size rule. The callers' own tests
 * (tests/unit/sdk/extract_test.c, tests/unit/common/patchset_test.c) check
 * that each of them refuses the same archives.
 */
#include "common/compat.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "../../lib/rawzip.h"
#include "../../lib/test.h"
#include "common/patch.h"
#include "common/zipcheck.h"

static const uint32_t REG = 0100644u << 16, DIRM = 040755u << 16;

/* The code cmn_zip_check gives raw entries e[0..n) (names of nl[i] bytes when nl is given), message in eb. */
static enum cmn_err check_raw(const struct raw_entry *e, size_t n, const size_t *nl, const struct cmn_zip_limits *lim,
                              struct cmn_errbuf *eb)
{
    struct cmn_buf b;
    struct cmn_zip z;
    struct cmn_zip_entry *v = NULL;
    size_t nv = 0;
    raw_zip_n(&b, e, n, nl);
    memset(eb, 0, sizeof *eb);
    enum cmn_err rc = cmn_zip_open_mem(&z, b.ptr, b.len, eb);
    if (!rc) {
        rc = cmn_zip_check(&z, lim, &v, &nv, eb);
        cmn_zip_entries_free(v, nv);
        cmn_zip_close(&z);
    }
    cmn_buf_release(&b);
    return rc;
}

static void test_rules(void)
{
    struct cmn_zip_limits lim;
    struct cmn_errbuf eb;
    cmn_zip_limits_default(&lim);

    /* NUL in a raw name: libzip reads "assets/a cd", the raw bytes say otherwise */
    struct raw_entry nul[] = {{"ok.js", "x", REG, 3, 0}, {"assets/a\0cd", "pwned", REG, 3, 0}};
    const size_t nul_nl[] = {5, 11};
    is_int(check_raw(nul, 2, nul_nl, &lim, &eb), CMN_E_UNSAFE, "NUL byte in a name: %s", eb.msg);
    ok(strstr(eb.msg, "NUL byte") != NULL, "... the message says so");
    const size_t plain_nl[] = {5, 8}; /* the same entries cut before the NUL: accepted */
    is_int(check_raw(nul, 2, plain_nl, &lim, &eb), CMN_OK, "the same names without the NUL pass (%s)", eb.msg);

    /* a declared ratio over the cap: 2 MiB from 10 stored bytes */
    struct raw_entry bomb[] = {{"bomb.bin", "0123456789", REG, 3, -(2 << 20)}};
    is_int(check_raw(bomb, 1, NULL, &lim, &eb), CMN_E_UNSAFE, "declared ratio over the cap: %s", eb.msg);
    ok(strstr(eb.msg, "zip bomb") != NULL, "... the message says zip bomb");
    /* at the floor, any ratio passes the check (the read then finds the lie) */
    struct raw_entry floor[] = {{"f.bin", "0123456789", REG, 3, -((1 << 20) - 10)}};
    is_int(check_raw(floor, 1, NULL, &lim, &eb), CMN_OK, "1 MiB declared, at the floor: no ratio cap (%s)", eb.msg);
    struct raw_entry over[] = {{"f.bin", "0123456789", REG, 3, -((1 << 20) - 9)}};
    is_int(check_raw(over, 1, NULL, &lim, &eb), CMN_E_UNSAFE, "one byte over the floor: the cap applies");
    lim.max_ratio = UINT64_MAX;
    is_int(check_raw(bomb, 1, NULL, &lim, &eb), CMN_OK, "the cap is the limits' (%s)", eb.msg);
    cmn_zip_limits_default(&lim);

    /* the other rules, with their codes */
    struct {
        const char *name;
        struct raw_entry e[3];
        size_t n;
        enum cmn_err want;
        const char *says;
    } bad[] = {
        {"empty", {{0}}, 0, CMN_E_PARSE, "no entries"},
        {"dotdot", {{"../x", "x", REG, 3, 0}}, 1, CMN_E_UNSAFE, "unsafe name"},
        {"symlink", {{"l", "/etc", 0120777u << 16, 3, 0}}, 1, CMN_E_UNSAFE, "symlink"},
        {"fifo", {{"p", "", 0010644u << 16, 3, 0}}, 1, CMN_E_UNSAFE, "not a regular file"},
        {"mismatch", {{"f", "", DIRM, 3, 0}}, 1, CMN_E_UNSAFE, "does not match"},
        {"dir-data", {{"d/", "x", 0, 0, 0}}, 1, CMN_E_UNSAFE, "has data"},
        {"dup", {{"a", "x", REG, 3, 0}, {"a/", "", DIRM, 3, 0}}, 2, CMN_E_UNSAFE, "twice"},
        {"file-under-file", {{"a", "x", REG, 3, 0}, {"a/b", "y", REG, 3, 0}}, 2, CMN_E_UNSAFE, "also the directory"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        is_int(check_raw(bad[i].e, bad[i].n, NULL, &lim, &eb), bad[i].want, "%s: %s", bad[i].name, eb.msg);
        ok(strstr(eb.msg, bad[i].says) != NULL, "%s: the message says '%s'", bad[i].name, bad[i].says);
    }

    /* names: CMN_PATCH_MAX_PATH bytes as stored, the final '/' of a directory included */
    char longname[CMN_PATCH_MAX_PATH + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    longname[CMN_PATCH_MAX_PATH] = '\0';
    struct raw_entry maxlen[] = {{longname, "x", REG, 3, 0}};
    is_int(check_raw(maxlen, 1, NULL, &lim, &eb), CMN_OK, "a %d-byte name passes", CMN_PATCH_MAX_PATH);
    struct raw_entry maxdir[] = {{longname, "", DIRM, 3, 0}};
    longname[CMN_PATCH_MAX_PATH - 1] = '/';
    is_int(check_raw(maxdir, 1, NULL, &lim, &eb), CMN_OK, "a %d-byte directory name passes (%s)", CMN_PATCH_MAX_PATH,
           eb.msg);
    longname[CMN_PATCH_MAX_PATH - 1] = 'n';
    longname[CMN_PATCH_MAX_PATH] = '/';
    is_int(check_raw(maxdir, 1, NULL, &lim, &eb), CMN_E_UNSAFE, "one byte more (its '/') is refused: %s", eb.msg);
    ok(strstr(eb.msg, "longer than") != NULL, "... as too long");
    longname[CMN_PATCH_MAX_PATH] = 'n';
    is_int(check_raw(maxlen, 1, NULL, &lim, &eb), CMN_E_UNSAFE, "a %d-byte file name is refused: %s",
           CMN_PATCH_MAX_PATH + 1, eb.msg);

    /* caps: 0 is none */
    struct raw_entry two[] = {{"a", "0123456789", REG, 3, 0}, {"b", "0123456789", REG, 3, 0}};
    lim.max_entries = 1;
    is_int(check_raw(two, 2, NULL, &lim, &eb), CMN_E_TOOBIG, "entry cap: %s", eb.msg);
    lim.max_entries = 0;
    lim.max_total = 19;
    is_int(check_raw(two, 2, NULL, &lim, &eb), CMN_E_TOOBIG, "size cap: %s", eb.msg);
    lim.max_total = 20;
    is_int(check_raw(two, 2, NULL, &lim, &eb), CMN_OK, "at the size cap");
    lim.max_total = 0;
    is_int(check_raw(two, 2, NULL, &lim, &eb), CMN_OK, "no caps");
}

static enum cmn_err count_sink(void *ctx, const void *p, size_t n, struct cmn_errbuf *eb)
{
    (void)p;
    (void)eb;
    *(size_t *)ctx += n;
    return CMN_OK;
}

/* Entries come back sorted by path, and each reads back to exactly its declared size. */
static void test_order_and_read(void)
{
    struct raw_entry e[] = {{"z.js", "zz", REG, 3, 0}, {"a/", "", DIRM, 3, 0}, {"a/b.js", "bbb", REG, 3, 0}};
    struct cmn_buf b;
    struct cmn_zip z;
    struct cmn_zip_limits lim;
    struct cmn_zip_entry *v = NULL;
    struct cmn_errbuf eb = {0};
    size_t n = 0, got = 0;
    cmn_zip_limits_default(&lim);
    raw_zip(&b, e, 3);
    is_int(cmn_zip_open_mem(&z, b.ptr, b.len, &eb), CMN_OK, "opened from memory");
    is_int(cmn_zip_check(&z, &lim, &v, &n, &eb), CMN_OK, "checked (%s)", eb.msg);
    is_int(n, 3, "three entries");
    ok(n == 3 && !strcmp(v[0].path, "a") && v[0].is_dir && !strcmp(v[1].path, "a/b.js") && !strcmp(v[2].path, "z.js"),
       "sorted by path, a directory without its '/'");
    is_int(cmn_zip_read(&z, &v[1], count_sink, &got, &eb), CMN_OK, "a/b.js read");
    is_int(got, 3, "... all 3 bytes");
    cmn_zip_entries_free(v, n);
    cmn_zip_close(&z);
    cmn_buf_release(&b);

    struct raw_entry liar[] = {{"l.js", "0123456789", REG, 3, 4}};
    raw_zip(&b, liar, 1);
    is_int(cmn_zip_open_mem(&z, b.ptr, b.len, &eb), CMN_OK, "a size liar opens");
    is_int(cmn_zip_check(&z, &lim, &v, &n, &eb), CMN_OK, "... and passes the check");
    got = 0;
    memset(&eb, 0, sizeof eb);
    is_int(cmn_zip_read(&z, &v[0], count_sink, &got, &eb), CMN_E_UNSAFE, "... but not the read: %s", eb.msg);
    ok(got <= 6, "no byte past the declared size reaches the sink");
    cmn_zip_entries_free(v, n);
    cmn_zip_close(&z);
    cmn_buf_release(&b);
}

/* From a file: the same check over the mapped bytes; a missing file is CMN_E_IO, garbage CMN_E_PARSE. */
static void test_files(void)
{
    char path[1200];
    struct cmn_zip z;
    struct cmn_errbuf eb = {0};
    struct cmn_zip_limits lim;
    struct cmn_zip_entry *v = NULL;
    size_t n = 0;
    cmn_zip_limits_default(&lim);

    snprintf(path, sizeof path, "%s/nul.zip", test_tmpdir());
    struct raw_entry nul[] = {{"assets/a\0cd", "pwned", REG, 3, 0}};
    const size_t nl[] = {11};
    struct cmn_buf b;
    raw_zip_n(&b, nul, 1, nl);
    FILE *f = fopen(path, "wb");
    ok(f && fwrite(b.ptr, 1, b.len, f) == b.len && fclose(f) == 0, "NUL-name zip written to a file");
    cmn_buf_release(&b);
    is_int(cmn_zip_open_file(&z, path, &eb), CMN_OK, "it opens (%s)", eb.msg);
    is_int(cmn_zip_check(&z, &lim, &v, &n, &eb), CMN_E_UNSAFE, "and is refused: %s", eb.msg);
    cmn_zip_close(&z);
    cmn_zip_close(&z); /* twice is harmless */

    /* a real bomb, deflated by libzip: 2 MiB of zeros */
    snprintf(path, sizeof path, "%s/bomb.zip", test_tmpdir());
    size_t big = 2u << 20;
    char *zeros = calloc(1, big);
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    ok(za && zip_file_add(za, "zeros.bin", zip_source_buffer(za, zeros, big, 0), 0) >= 0 && zip_close(za) == 0,
       "libzip writes a deflated bomb");
    free(zeros);
    memset(&eb, 0, sizeof eb);
    is_int(cmn_zip_open_file(&z, path, &eb), CMN_OK, "it opens");
    is_int(cmn_zip_check(&z, &lim, &v, &n, &eb), CMN_E_UNSAFE, "and is refused: %s", eb.msg);
    cmn_zip_close(&z);

    snprintf(path, sizeof path, "%s/missing.zip", test_tmpdir());
    memset(&eb, 0, sizeof eb);
    is_int(cmn_zip_open_file(&z, path, &eb), CMN_E_IO, "a missing file: %s", eb.msg);
    snprintf(path, sizeof path, "%s/garbage.zip", test_tmpdir());
    f = fopen(path, "wb");
    ok(f && fputs("PK\3\4 garbage", f) >= 0 && fclose(f) == 0, "garbage written");
    memset(&eb, 0, sizeof eb);
    is_int(cmn_zip_open_file(&z, path, &eb), CMN_E_PARSE, "garbage: %s", eb.msg);
    ok(strstr(eb.msg, "not a zip archive") != NULL, "... saying so");
    snprintf(path, sizeof path, "%s/empty-file.zip", test_tmpdir());
    f = fopen(path, "wb");
    ok(f && fclose(f) == 0, "empty file written");
    memset(&eb, 0, sizeof eb);
    is_int(cmn_zip_open_file(&z, path, &eb), CMN_OK, "an empty file opens (libzip: an empty archive)");
    is_int(cmn_zip_check(&z, &lim, &v, &n, &eb), CMN_E_PARSE, "but is refused: %s", eb.msg);
    cmn_zip_close(&z);
}

int main(void)
{
    test_rules();
    test_order_and_read();
    test_files();
    return done_testing();
}
