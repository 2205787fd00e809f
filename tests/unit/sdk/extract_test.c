#include "common/compat.h"

/*
 * extract_test.c - every guard of the bundle extractor, against a hostile-zip
 * corpus generated here: libzip for ordinary archives and bombs, and a tiny
 * raw zip writer (tests/lib/rawzip.h) for what libzip will not produce (exact
 * names such as "../x" or "/abs", symlink and device external attributes,
 * duplicate names, sizes that lie). A refused archive must leave nothing outside the target
 * directory.
 */

#include "../../../sdk/hp_int.h"
#include "../../lib/rawzip.h"
#include "../../lib/test.h"
#include "sdk_fixture.h"

/* ---- helpers ---- */

static int counter;

/* A fresh empty target dir inside a fresh sandbox dir: tmp/caseN/sandbox/out */
static void fresh(char *sandbox, size_t sl, char *out, size_t ol)
{
    counter++;
    snprintf(sandbox, sl, "%s/case%d/sandbox", test_tmpdir(), counter);
    snprintf(out, ol, "%s/out", sandbox);
    fx_mkdirs(out);
}

/* Count the entries of a directory tree (files + dirs, not the root); with `skip`, not below dir/skip. */
static int tree_count_but(const char *dir, const char *skip)
{
    char cmd[13000];
    if (skip)
        snprintf(cmd, sizeof cmd, "find '%s' -mindepth 1 -not -path '%s/%s' -not -path '%s/%s/*' | wc -l", dir, dir,
                 skip, dir, skip);
    else
        snprintf(cmd, sizeof cmd, "find '%s' -mindepth 1 | wc -l", dir);
    FILE *f = popen(cmd, "r");
    int n = -1;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = -1;
        pclose(f);
    }
    return n;
}

static int tree_count(const char *dir)
{
    return tree_count_but(dir, NULL);
}

static enum cmn_err extract_buf(const struct cmn_buf *z, const char *out, const struct hp_extract_limits *lim,
                                struct cmn_errbuf *eb)
{
    return hp__extract_mem(z->ptr, z->len, out, lim, eb);
}

/* A raw archive must be refused with CMN_E_UNSAFE and nothing may appear beside out/. */
static void refuse_raw_ex(const char *what, const struct raw_entry *e, size_t n, int before_writing)
{
    char sandbox[4096], out[4200];
    struct cmn_buf z;
    struct hp_extract_limits lim;
    struct cmn_errbuf eb = {{0}};
    hp__extract_limits_default(&lim);
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    raw_zip(&z, e, n);
    enum cmn_err rc = extract_buf(&z, out, &lim, &eb);
    is_int(rc, CMN_E_UNSAFE, "%s refused (%s)", what, eb.msg);
    is_int(tree_count_but(sandbox, "out"), 0, "%s: nothing written outside out/", what);
    if (before_writing)
        is_int(tree_count(out), 0, "%s: refused before writing anything", what);
    cmn_buf_release(&z);
}

static void refuse_raw(const char *what, const struct raw_entry *e, size_t n)
{
    refuse_raw_ex(what, e, n, 1);
}

static void test_valid(void)
{
    char sandbox[4096], out[4200], p[4400];
    struct hp_extract_limits lim;
    struct cmn_errbuf eb = {{0}};
    hp__extract_limits_default(&lim);
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    char zp[4200];
    snprintf(zp, sizeof zp, "%s/ok.zip", sandbox);
    const char *names[] = {"index.android.bundle", "assets/", "assets/img/logo.png", "deep/a/b/c/d.txt"};
    const char *bodies[] = {"console.log('v2');", "", "\x89PNG fake", "deep"};
    ok(fx_zip(zp, names, bodies, NULL, 4) == 0, "libzip writes a valid bundle");
    is_int(hp__extract_file(zp, out, &lim, &eb), CMN_OK, "valid bundle extracts (%s)", eb.msg);
    snprintf(p, sizeof p, "%s/index.android.bundle", out);
    char *s = fx_read(p, NULL);
    is_str(s, "console.log('v2');", "file content");
    free(s);
    snprintf(p, sizeof p, "%s/deep/a/b/c/d.txt", out);
    s = fx_read(p, NULL);
    is_str(s, "deep", "nested file created with its parents");
    free(s);
    snprintf(p, sizeof p, "%s/assets/img/logo.png", out);
    struct stat sb;
    ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0644, "files are 0644");

    /* Raw writer sanity: a good raw archive is accepted, so refusals below are about the guard. */
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    struct raw_entry good[] = {{"a.js", "A", 0100644u << 16, 3, 0}, {"dir/b.js", "B", 0100644u << 16, 3, 0}};
    struct cmn_buf z;
    raw_zip(&z, good, 2);
    memset(&eb, 0, sizeof eb);
    is_int(extract_buf(&z, out, &lim, &eb), CMN_OK, "raw writer produces valid archives (%s)", eb.msg);
    cmn_buf_release(&z);
}

static void test_names(void)
{
    static const char *bad[] = {"../evil.js", "a/../../evil.js", "/abs.js", "/etc/passwd", "a//b.js",
                                "./a.js",     "a/./b.js",        "..",      "a/..",        "a\\..\\b.js",
                                "C:evil.js",  "a/\x01.js",       "/",       "//x",         "a/\x7f"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        struct raw_entry e[] = {{"ok.js", "x", 0, 3, 0}, {bad[i], "pwned", 0, 3, 0}};
        char what[128];
        snprintf(what, sizeof what, "entry name '%s'", bad[i]);
        refuse_raw(what, e, 2);
    }
    {
        /* Issue 12 #5: libzip hands "assets/a\0cd" over as "assets/a cd"; the raw bytes must be checked. */
        char sandbox[4096], out[4200];
        struct cmn_buf z;
        struct hp_extract_limits lim;
        struct cmn_errbuf eb = {{0}};
        struct raw_entry e[] = {{"ok.js", "x", 0, 3, 0}, {"assets/a\0cd", "pwned", 0, 3, 0}};
        const size_t nl[] = {5, 11};
        hp__extract_limits_default(&lim);
        fresh(sandbox, sizeof sandbox, out, sizeof out);
        raw_zip_n(&z, e, 2, nl);
        is_int(extract_buf(&z, out, &lim, &eb), CMN_E_UNSAFE, "entry name with a NUL byte refused (%s)", eb.msg);
        is_int(tree_count(out), 0, "NUL name: refused before writing anything");
        is_int(tree_count_but(sandbox, "out"), 0, "NUL name: nothing written outside out/");
        cmn_buf_release(&z);
        /* The same through a file on disk (the path the SDK takes). */
        char zp[4300];
        fresh(sandbox, sizeof sandbox, out, sizeof out);
        snprintf(zp, sizeof zp, "%s/nul.zip", sandbox);
        raw_zip_n(&z, e, 2, nl);
        FILE *f = fopen(zp, "wb");
        ok(f && fwrite(z.ptr, 1, z.len, f) == z.len && fclose(f) == 0, "NUL-name archive written to disk");
        memset(&eb, 0, sizeof eb);
        is_int(hp__extract_file(zp, out, &lim, &eb), CMN_E_UNSAFE, "NUL name refused from a file (%s)", eb.msg);
        is_int(tree_count(out), 0, "NUL name from a file: nothing written");
        cmn_buf_release(&z);
    }
    int d = 0;
    ok(hp__zip_name_ok("a/b/c.js", &d) == 0 && !d, "plain nested name accepted");
    ok(hp__zip_name_ok("a/b/", &d) == 0 && d, "directory name accepted");
    ok(hp__zip_name_ok("..a/b..", &d) == 0, "dots inside a component are fine");
}

static void test_types(void)
{
    struct raw_entry sym[] = {{"link", "/etc/passwd", 0120777u << 16, 3, 0}};
    refuse_raw("symlink entry", sym, 1);
    struct raw_entry sym_then_write[] = {{"d", "../../..", 0120777u << 16, 3, 0}, {"d/x.js", "x", 0, 3, 0}};
    refuse_raw("symlink then write through it", sym_then_write, 2);
    struct raw_entry chr[] = {{"tty", "", 0020666u << 16, 3, 0}};
    refuse_raw("character device entry", chr, 1);
    struct raw_entry blk[] = {{"sda", "", 0060660u << 16, 3, 0}};
    refuse_raw("block device entry", blk, 1);
    struct raw_entry fifo[] = {{"pipe", "", 0010644u << 16, 3, 0}};
    refuse_raw("fifo entry", fifo, 1);
    struct raw_entry sock[] = {{"sock", "", 0140644u << 16, 3, 0}};
    refuse_raw("socket entry", sock, 1);
    struct raw_entry dirdata[] = {{"d/", "data", 0040755u << 16, 3, 0}};
    refuse_raw("directory entry carrying data", dirdata, 1);
    struct raw_entry mismatch[] = {{"file.js", "", 0040755u << 16, 3, 0}};
    refuse_raw("directory mode on a file name", mismatch, 1);
}

static void test_duplicates(void)
{
    struct raw_entry dup[] = {{"a.js", "first", 0, 3, 0}, {"a.js", "second", 0, 3, 0}};
    refuse_raw("duplicate names", dup, 2);
    struct raw_entry dup2[] = {{"a", "file", 0, 3, 0}, {"a/", "", 0040755u << 16, 3, 0}};
    refuse_raw("file and directory with the same name", dup2, 2);
    struct raw_entry dup3[] = {{"x/a.js", "1", 0, 3, 0}, {"y.js", "2", 0, 3, 0}, {"x/a.js", "3", 0, 3, 0}};
    refuse_raw("non-adjacent duplicates", dup3, 3);
    /* the publisher's rule, now the SDK's too (common/zipcheck.c): one check for both */
    struct raw_entry under[] = {{"a", "file", 0, 3, 0}, {"a/b.js", "under it", 0, 3, 0}};
    refuse_raw("a file that is also another entry's directory", under, 2);
}

/* The rules the publisher's listing shares (common/zipcheck.c): the SDK refuses what it refuses, as unsafe. */
static void test_shared_rules(void)
{
    /* a ratio over the cap as declared, whatever the data: 8 MiB from 10 stored bytes */
    struct raw_entry bomb[] = {{"bomb.bin", "0123456789", 0100644u << 16, 3, -(8 << 20)}};
    refuse_raw("declared compression ratio over the cap", bomb, 1);
    struct raw_entry under[] = {{"x/a", "file", 0, 3, 0}, {"x/a-b", "z", 0, 3, 0}, {"x/a/b/c", "deep", 0, 3, 0}};
    refuse_raw("a file that is also the directory of a deeper entry", under, 3);
    char longname[1026];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    struct raw_entry toolong[] = {{longname, "x", 0, 3, 0}};
    refuse_raw("a 1025-byte entry name", toolong, 1);
}

static void test_bombs(void)
{
    char sandbox[4096], out[4200], zp[4200];
    struct hp_extract_limits lim;
    struct cmn_errbuf eb = {{0}};

    /* 32 MiB of zeros deflates about 1000:1. */
    size_t big = 32u << 20;
    char *zeros = calloc(1, big);
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    snprintf(zp, sizeof zp, "%s/bomb.zip", sandbox);
    const char *names[] = {"bomb.bin"};
    const char *bodies[] = {zeros};
    size_t lens[] = {big};
    ok(fx_zip(zp, names, bodies, lens, 1) == 0, "bomb archive written");
    struct stat sb;
    stat(zp, &sb);
    diag("bomb: %zu bytes expand to %zu", (size_t)sb.st_size, big);
    hp__extract_limits_default(&lim);
    is_int(hp__extract_file(zp, out, &lim, &eb), CMN_E_UNSAFE, "compression ratio cap (%s)", eb.msg);
    is_int(tree_count(out), 0, "bomb: nothing extracted");
    free(zeros);

    /* Total size cap: two files of 600 bytes with a 1000-byte cap. */
    char six[601];
    memset(six, 'x', 600);
    six[600] = '\0';
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    snprintf(zp, sizeof zp, "%s/total.zip", sandbox);
    const char *n2[] = {"a", "b"};
    const char *b2[] = {six, six};
    ok(fx_zip(zp, n2, b2, NULL, 2) == 0, "two-file archive written");
    hp__extract_limits_default(&lim);
    lim.max_total = 1000;
    memset(&eb, 0, sizeof eb);
    is_int(hp__extract_file(zp, out, &lim, &eb), CMN_E_UNSAFE, "total size cap (%s)", eb.msg);
    is_int(tree_count(out), 0, "total cap: refused before writing");
    lim.max_total = 1200;
    is_int(hp__extract_file(zp, out, &lim, &eb), CMN_OK, "same archive fits a 1200-byte cap");

    /* Entry count cap. */
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    snprintf(zp, sizeof zp, "%s/many.zip", sandbox);
    const char *n4[] = {"1", "2", "3", "4"};
    const char *b4[] = {"a", "b", "c", "d"};
    ok(fx_zip(zp, n4, b4, NULL, 4) == 0, "four-entry archive");
    hp__extract_limits_default(&lim);
    lim.max_entries = 3;
    memset(&eb, 0, sizeof eb);
    is_int(hp__extract_file(zp, out, &lim, &eb), CMN_E_UNSAFE, "entry count cap (%s)", eb.msg);

    /* A stored entry that is longer than its declared size. */
    struct raw_entry liar[] = {{"liar.js", "0123456789abcdef", 0, 3, 8}};
    refuse_raw_ex("entry larger than its declared size", liar, 1, 0);

    /* Empty archive. */
    refuse_raw("empty archive", NULL, 0);
}

static void test_truncated(void)
{
    char sandbox[4096], out[4200];
    struct hp_extract_limits lim;
    hp__extract_limits_default(&lim);
    struct raw_entry e[] = {{"index.js", "console.log('hello world from a bundle');", 0100644u << 16, 3, 0},
                            {"assets/a.txt", "asset asset asset", 0100644u << 16, 3, 0}};
    struct cmn_buf z;
    raw_zip(&z, e, 2);
    int refused = 0;
    for (size_t cut = 0; cut < z.len; cut++) {
        fresh(sandbox, sizeof sandbox, out, sizeof out);
        void *g = test_guard_alloc(z.ptr, cut);
        if (hp__extract_mem(g, cut, out, &lim, NULL) != CMN_OK)
            refused++;
        test_guard_free(g);
    }
    is_int(refused, z.len, "archive truncated at every length is refused");

    /* A flipped data byte: the central directory is intact, the CRC is not. */
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    size_t at = 30 + strlen("index.js") + 5; /* inside the first entry's data */
    z.ptr[at] ^= 0x20;
    struct cmn_errbuf eb = {{0}};
    is_int(hp__extract_mem(z.ptr, z.len, out, &lim, &eb), CMN_E_UNSAFE, "corrupted data refused (%s)", eb.msg);
    cmn_buf_release(&z);

    /* Garbage. */
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    memset(&eb, 0, sizeof eb);
    is_int(hp__extract_mem("PK\x03\x04garbage", 11, out, &lim, &eb), CMN_E_UNSAFE, "garbage refused (%s)", eb.msg);
}

/* More than 32 files: on a local Linux file system the tree is made durable with one syncfs(). */
static void test_many_files(void)
{
    char sandbox[4096], out[4200], zp[4200];
    struct hp_extract_limits lim;
    struct cmn_errbuf eb = {{0}};
    hp__extract_limits_default(&lim);
    fresh(sandbox, sizeof sandbox, out, sizeof out);
    snprintf(zp, sizeof zp, "%s/many.zip", sandbox);
    char namebuf[40][32], bodybuf[40][32];
    const char *names[40], *bodies[40];
    for (int i = 0; i < 40; i++) {
        snprintf(namebuf[i], sizeof namebuf[i], "assets/f%02d.txt", i);
        snprintf(bodybuf[i], sizeof bodybuf[i], "body %d", i);
        names[i] = namebuf[i];
        bodies[i] = bodybuf[i];
    }
    ok(fx_zip(zp, names, bodies, NULL, 40) == 0, "40-file bundle written");
    is_int(hp__extract_file(zp, out, &lim, &eb), CMN_OK, "40-file bundle extracts and syncs (%s)", eb.msg);
    int same = 1;
    for (int i = 0; i < 40; i++) {
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", out, names[i]);
        char *s = fx_read(p, NULL);
        same = same && s && strcmp(s, bodies[i]) == 0;
        free(s);
    }
    ok(same, "all 40 files hold their bytes");
    is_int(hp__fsync_tree(out, 40, &eb), CMN_OK, "syncing the tree again works");
    is_int(hp__fsync_tree(out, 1, &eb), CMN_OK, "... and file by file (a count under the syncfs threshold)");
    char gone[4400];
    snprintf(gone, sizeof gone, "%s/no-such-dir", sandbox);
    memset(&eb, 0, sizeof eb);
    is_int(hp__fsync_tree(gone, 40, &eb), CMN_E_IO, "a missing tree is an error (%s)", eb.msg);
    memset(&eb, 0, sizeof eb);
    is_int(hp__fsync_tree(gone, 1, &eb), CMN_E_IO, "... whatever the count (%s)", eb.msg);
}

/* syncfs or per-file fsync: the file system (local ones that implement syncfs) and the count the caller gives. */
static void test_syncfs_decision(void)
{
#if defined(__linux__) && !defined(__ANDROID__)
    static const unsigned long yes[] = {0xEF53UL, 0x58465342UL, 0x9123683EUL, 0xF2F52010UL};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        ok(hp__syncfs_fits(yes[i], 33), "fs 0x%lx, 33 files: syncfs", yes[i]);
        ok(!hp__syncfs_fits(yes[i], 32), "fs 0x%lx, 32 files: per-file fsync", yes[i]);
        ok(!hp__syncfs_fits(yes[i], 0), "fs 0x%lx, no file: per-file fsync", yes[i]);
    }
    ok(!hp__syncfs_fits(0x01021994UL, 1000), "tmpfs: per-file fsync whatever the count");
    ok(!hp__syncfs_fits(0x6969UL, 1000), "nfs: per-file fsync whatever the count");
    ok(!hp__syncfs_fits(0x794c7630UL, 1000), "overlayfs: per-file fsync whatever the count");
#else
    ok(!hp__syncfs_fits(0xEF53UL, 1000), "no syncfs on this platform");
#endif
}

int main(void)
{
    test_valid();
    test_names();
    test_types();
    test_duplicates();
    test_shared_rules();
    test_bombs();
    test_truncated();
    test_many_files();
    test_syncfs_decision();
    return done_testing();
}
