/* Unit tests for common/patch.c: the bundle path rule, the content digest
 * (against a listing written out by hand), content signatures (domain
 * separated from bundle signatures), patch create + apply round trips, and
 * hostile patches: wrong base, truncation at every byte, output beyond the
 * declared size (a zstd bomb), over-limit headers, window-size bombs, unsafe
 * and unordered paths, trailing bytes; nothing is ever written outside the
 * output directory. */
#include "common/compat.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/patch.h"
#include "../../lib/test.h"

static char tmp[512];

static void put(const char *dir, const char *rel, const void *p, size_t n)
{
    char path[1024], *s;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = 0;
        mkdir(path, 0755);
        *s = '/';
    }
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

static void puts_(const char *dir, const char *rel, const char *text)
{
    put(dir, rel, text, strlen(text));
}

static char *path2(const char *a, const char *b)
{
    static char buf[8][1024];
    static int i;
    char ta[512], tb[512];
    snprintf(ta, sizeof ta, "%s", a);
    snprintf(tb, sizeof tb, "%s", b);
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", ta, tb);
    return buf[i];
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

static void rm_rf(const char *p)
{
    if (nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        diag("rm -rf '%s' failed", p);
}

static char *fresh(const char *name)
{
    char *p = path2(tmp, name);
    rm_rf(p);
    mkdir(p, 0755);
    return p;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

/* Entries in a sandbox dir other than the allowed one. */
static int stray(const char *sandbox, const char *allowed)
{
    DIR *d = opendir(sandbox);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, allowed))
            n++;
    if (d)
        closedir(d);
    return n;
}

/* Crafting hostile containers by hand. */
struct craft {
    uint8_t b[1 << 16];
    size_t n;
};
static void c_le(struct craft *c, uint64_t v, int w)
{
    for (int i = 0; i < w; i++)
        c->b[c->n++] = (uint8_t)(v >> (8 * i));
}
static void c_mem(struct craft *c, const void *p, size_t n)
{
    memcpy(c->b + c->n, p, n);
    c->n += n;
}
static void c_hdr(struct craft *c, uint32_t count, uint64_t total)
{
    c->n = 0;
    c_mem(c, CMN_PATCH_MAGIC, 8);
    c_le(c, count, 4);
    c_le(c, total, 8);
}
static void c_entry(struct craft *c, int op, const char *path, const char *base, uint64_t size, const uint8_t *sha,
                    const void *data, size_t dn)
{
    c_le(c, (uint64_t)op, 1);
    c_le(c, strlen(path), 2);
    c_mem(c, path, strlen(path));
    c_le(c, base ? strlen(base) : 0, 2);
    if (base)
        c_mem(c, base, strlen(base));
    c_le(c, size, 8);
    uint8_t zero[32] = {0};
    c_mem(c, sha ? sha : zero, 32);
    c_le(c, dn, 8);
    if (dn)
        c_mem(c, data, dn);
}

/*
 * Apply a crafted container as if the release key had signed exactly the
 * listing its entries declare (the strongest attacker: the per-file checks of
 * the second pass must hold on their own). When the headers do not even parse,
 * an all-zero digest is expected and pass 1 refuses with the parse error.
 */
static enum cmn_err apply_craft(const struct craft *c, const char *base, struct cmn_patch_limits *lim,
                                struct cmn_errbuf *eb)
{
    char *sandbox = fresh("sandbox");
    char *out = path2(sandbox, "out");
    mkdir(out, 0755);
    char pp[1024]; /* path2() rotates 8 buffers: keep our own copy */
    snprintf(pp, sizeof pp, "%s", path2(tmp, "crafted.patch"));
    put(tmp, "crafted.patch", c->b, c->n);
    uint8_t want[32] = {0};
    if (cmn_patch_content(pp, lim, want, eb) != CMN_OK)
        memset(want, 0, sizeof want);
    enum cmn_err rc = cmn_patch_apply(pp, base, out, want, lim, NULL, eb);
    ok(stray(sandbox, "out") == 0, "nothing written beside out/");
    return rc;
}

int main(void)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t d[32], d2[32];
    if (cmn_crypto_init())
        return 1;
    snprintf(tmp, sizeof tmp, "%s", test_tmpdir());

    /* Path rule (same as the SDK's zip entry names). */
    ok(cmn_bundle_path_ok("a/b.js", 6) == 0, "plain path ok");
    ok(cmn_bundle_path_ok("drawable-mdpi/assets_logo.png", 29) == 0, "asset path ok");
    ok(cmn_bundle_path_ok("../x", 4) != 0, "'..' refused");
    ok(cmn_bundle_path_ok("a/../x", 6) != 0, "inner '..' refused");
    ok(cmn_bundle_path_ok("/etc/passwd", 11) != 0, "absolute refused");
    ok(cmn_bundle_path_ok("a//b", 4) != 0, "empty component refused");
    ok(cmn_bundle_path_ok("./a", 3) != 0, "'.' refused");
    ok(cmn_bundle_path_ok("a\\b", 3) != 0, "backslash refused");
    ok(cmn_bundle_path_ok("c:x", 3) != 0, "colon refused");
    ok(cmn_bundle_path_ok("a\nb", 3) != 0, "newline refused (the listing is line based)");
    ok(cmn_bundle_path_ok("a/", 2) != 0, "trailing slash refused");
    ok(cmn_bundle_path_ok("", 0) != 0, "empty refused");

    /* Content digest against the listing written out by hand. */
    char base[1024]; /* fresh()/path2() rotate 8 buffers: keep our own copies of long-lived paths */
    snprintf(base, sizeof base, "%s", fresh("base"));
    puts_(base, "b", "hello\n");
    puts_(base, "a/c", "");
    puts_(base, "B", "x");
    const char *listing = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 1 B\n"
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 a/c\n"
                          "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 6 b\n";
    cmn_sha256(listing, strlen(listing), d2);
    is_int(cmn_content_digest_dir(base, d, &eb), CMN_OK, "digest of a directory");
    is_mem(d, d2, 32, "digest = SHA-256 of the sorted listing (byte order: 'B' < 'a/c' < 'b')");
    struct cmn_content c;
    is_int(cmn_content_scan(base, 2, &c, &eb), CMN_E_TOOBIG, "file count cap");
    char *ln = path2(base, "link");
    ok(symlink("b", ln) == 0, "symlink made");
    is_int(cmn_content_digest_dir(base, d, &eb), CMN_E_UNSAFE, "a symlink in a bundle is refused");
    unlink(ln);

    /* Content signatures: release key, own domain. */
    struct cmn_key k;
    char sig[CMN_SIG_B64], bsig[CMN_SIG_B64];
    is_int(cmn_key_generate(&k), CMN_OK, "key");
    is_int(cmn_content_sign(&k, d2, sig), CMN_OK, "content sign");
    is_int(cmn_content_verify(&k, d2, sig), CMN_OK, "content verify");
    d[0] = d2[0] ^ 1;
    memcpy(d + 1, d2 + 1, 31);
    is_int(cmn_content_verify(&k, d, sig), CMN_E_SIG, "other digest refused");
    is_int(cmn_bundle_sign(&k, d2, bsig), CMN_OK, "bundle sign");
    is_int(cmn_content_verify(&k, d2, bsig), CMN_E_SIG, "a bundle signature is not a content signature");
    is_int(cmn_content_verify(&k, d2, "nope"), CMN_E_PARSE, "malformed signature");
    cmn_key_clear(&k);

    /* Round trip: unchanged, renamed, changed, new and removed files. */
    snprintf(base, sizeof base, "%s", fresh("base"));
    char *nw = fresh("new");
    size_t big = 300000;
    char *text = malloc(big + 1);
    uint32_t lcg = 12345; /* not periodic: every region of the output refers to the base */
    for (size_t i = 0; i < big; i++) {
        lcg = lcg * 1103515245u + 12345u;
        text[i] = (char)('a' + (lcg >> 16) % 26);
    }
    put(base, "index.android.bundle", text, big);
    memcpy(text + 150000, "CHANGED", 7);
    put(nw, "index.android.bundle", text, big);
    puts_(base, "raw/keep.xml", "<keep/>\n");
    puts_(nw, "raw/keep.xml", "<keep/>\n");
    puts_(base, "drawable-mdpi/old.png", "PNGDATA-1");
    puts_(nw, "drawable-mdpi/renamed.png", "PNGDATA-1");
    puts_(base, "gone.txt", "bye");
    puts_(nw, "zz/new.txt", "brand new file");
    char pp[1024]; /* path2() rotates 8 buffers: keep our own copy */
    snprintf(pp, sizeof pp, "%s", path2(tmp, "p1.patch"));
    struct cmn_patch_stats st;
    is_int(cmn_patch_create(base, nw, pp, 19, &st, &eb), CMN_OK, "create: %s", eb.msg);
    is_int(st.copied, 2, "two files copied (one renamed)");
    is_int(st.diffed, 1, "one file diffed");
    is_int(st.full, 1, "one new file in full");
    ok(st.patch_bytes < 2000, "patch is small (%llu bytes for a 7-byte change in 300 KB)",
       (unsigned long long)st.patch_bytes);
    char *out = fresh("out");
    is_int(cmn_content_digest_dir(nw, d, &eb), CMN_OK, "digest new");
    is_int(cmn_patch_content(pp, NULL, d2, &eb), CMN_OK, "content digest declared by the patch");
    is_mem(d, d2, 32, "the patch declares the new bundle's content digest");
    is_int(cmn_patch_apply(pp, base, out, d, NULL, &st, &eb), CMN_OK, "apply: %s", eb.msg);
    is_int(cmn_content_digest_dir(out, d2, &eb), CMN_OK, "digest out");
    is_mem(d, d2, 32, "the rebuilt bundle has the new bundle's content digest");
    ok(access(path2(out, "gone.txt"), F_OK) != 0, "removed file is not recreated");
    out = fresh("out");
    is_int(cmn_patch_apply(pp, base, out, d, NULL, NULL, &eb), CMN_OK, "apply again into a fresh dir");
    is_int(cmn_patch_apply(pp, base, out, d, NULL, NULL, &eb), CMN_E_UNSAFE, "a non-empty out dir is refused");
    is_int(cmn_patch_apply(pp, base, out, NULL, NULL, NULL, &eb), CMN_E_INVAL, "no expected digest: refused");
    /* The expected digest is the release key's word: any other content is refused before a byte is written. */
    uint8_t other[32];
    memcpy(other, d, 32);
    other[31] ^= 1;
    char sb1[1024];
    snprintf(sb1, sizeof sb1, "%s", fresh("sandbox"));
    out = path2(sb1, "out");
    mkdir(out, 0755);
    is_int(cmn_patch_apply(pp, base, out, other, NULL, NULL, &eb), CMN_E_HASH,
           "a patch producing other content than the signed digest is refused (%s)", eb.msg);
    is_int(stray(out, ""), 0, "nothing written into out/ for a digest mismatch");
    is_int(stray(sb1, "out"), 0, "nothing written beside out/");

    /* A changed file over 1 MiB: decoded into the mapped output file, same result. */
    {
        char b2[1024], n2[1024], o2[1024], p2[1024];
        size_t bign = 3u << 20;
        char *t2 = malloc(bign);
        for (size_t i = 0; i < bign; i++) {
            lcg = lcg * 1103515245u + 12345u;
            t2[i] = (char)('a' + (lcg >> 16) % 26);
        }
        snprintf(b2, sizeof b2, "%s", fresh("bigbase"));
        snprintf(n2, sizeof n2, "%s", fresh("bignew"));
        snprintf(o2, sizeof o2, "%s", fresh("bigout"));
        snprintf(p2, sizeof p2, "%s", path2(tmp, "big.patch"));
        put(b2, "main.bundle", t2, bign);
        for (size_t i = 0; i < 40; i++)
            memcpy(t2 + i * 70000 + 123, "CHANGED", 7);
        put(n2, "main.bundle", t2, bign);
        uint8_t bd[32], bo[32];
        is_int(cmn_content_digest_dir(n2, bd, &eb), CMN_OK, "digest of the big new bundle");
        is_int(cmn_patch_create(b2, n2, p2, 3, &st, &eb), CMN_OK, "create (3 MiB file)");
        is_int(st.diffed, 1, "the big file is diffed");
        is_int(cmn_patch_apply(p2, b2, o2, bd, NULL, &st, &eb), CMN_OK, "apply through the mapped output: %s", eb.msg);
        is_int(cmn_content_digest_dir(o2, bo, &eb), CMN_OK, "digest of the rebuilt big bundle");
        is_mem(bd, bo, 32, "the mapped-output apply rebuilds the exact bundle");
        free(t2);
    }

    /* Wrong base: the diffed file differs from what the patch was made for. */
    char wrong[1024];
    snprintf(wrong, sizeof wrong, "%s", fresh("wrong"));
    text[10] = '#';
    put(wrong, "index.android.bundle", text, big);
    puts_(wrong, "raw/keep.xml", "<keep/>\n");
    puts_(wrong, "drawable-mdpi/old.png", "PNGDATA-1");
    out = fresh("out");
    enum cmn_err rc = cmn_patch_apply(pp, wrong, out, d, NULL, NULL, &eb);
    ok(rc == CMN_E_HASH || rc == CMN_E_PARSE, "wrong base refused (%s: %s)", cmn_errname(rc), eb.msg);
    puts_(wrong, "drawable-mdpi/old.png", "PNGDATA-2");
    out = fresh("out");
    is_int(cmn_patch_apply(pp, wrong, out, d, NULL, NULL, &eb), CMN_E_HASH, "a changed copied file refused");
    rm_rf(path2(wrong, "raw"));
    out = fresh("out");
    rc = cmn_patch_apply(pp, wrong, out, d, NULL, NULL, &eb);
    ok(rc != CMN_OK, "a missing base file refused (%s)", cmn_errname(rc));

    /* Truncated at every length, and one byte too many. */
    size_t pn = 0;
    uint8_t *pb = slurp(pp, &pn);
    int bad = 0;
    struct craft *cr = malloc(sizeof *cr);
    for (size_t cut = 0; cut < pn; cut++) {
        cr->n = cut;
        memcpy(cr->b, pb, cut);
        char *o = fresh("out");
        put(tmp, "cut.patch", cr->b, cr->n);
        if (cmn_patch_apply(path2(tmp, "cut.patch"), base, o, d, NULL, NULL, &eb) == CMN_OK)
            bad++;
    }
    is_int(bad, 0, "every truncation of the patch (%zu lengths) is refused", pn);
    memcpy(cr->b, pb, pn);
    cr->b[pn] = 0;
    cr->n = pn + 1;
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_PARSE, "trailing byte refused");
    /*
     * Flip every byte of the patch: always refused. Header, paths, sizes and
     * per-file SHA-256s are covered by the expected content digest (refused
     * before anything is written), ops, base paths and data lengths by the
     * structure checks, the zstd data by each file's SHA-256.
     */
    bad = 0;
    int escaped = 0;
    char sb2[1024];
    for (size_t i = 0; i < pn; i++) {
        memcpy(cr->b, pb, pn);
        cr->b[i] ^= 0x40;
        cr->n = pn;
        snprintf(sb2, sizeof sb2, "%s", fresh("sandbox"));
        char *o = path2(sb2, "out");
        mkdir(o, 0755);
        put(tmp, "flip.patch", cr->b, cr->n);
        if (cmn_patch_apply(path2(tmp, "flip.patch"), base, o, d, NULL, NULL, &eb) == CMN_OK) {
            bad++;
            diag("flipped byte %zu accepted", i);
        }
        escaped += stray(sb2, "out");
    }
    is_int(bad, 0, "no flipped byte of the patch (%zu bytes) is accepted", pn);
    is_int(escaped, 0, "nothing written outside out/ for any flipped byte");
    free(pb);

    /* A zstd bomb: 8 MiB of zeros declared as 16 bytes. */
    size_t zn = 8u << 20;
    uint8_t *zeros = calloc(1, zn);
    uint8_t *frame = malloc(ZSTD_compressBound(zn));
    size_t fn = ZSTD_compress(frame, ZSTD_compressBound(zn), zeros, zn, 19);
    ok(!ZSTD_isError(fn) && fn < 2000, "bomb frame is small (%zu bytes)", fn);
    uint8_t sha[32];
    cmn_sha256(zeros, 16, sha);
    c_hdr(cr, 1, 16);
    c_entry(cr, CMN_PATCH_ZFULL, "bomb", NULL, 16, sha, frame, fn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_UNSAFE, "output beyond the declared size refused (%s)", eb.msg);
    struct stat sb;
    ok(stat(path2(tmp, "sandbox/out/bomb"), &sb) == 0 && sb.st_size <= 16, "at most the declared bytes were written");
    /* The same bomb at a size that takes the mapped-output path (>= 1 MiB): 2 MiB declared, 8 MiB in the frame. */
    cmn_sha256(zeros, 2u << 20, sha);
    c_hdr(cr, 1, 2u << 20);
    c_entry(cr, CMN_PATCH_ZFULL, "bomb", NULL, 2u << 20, sha, frame, fn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_UNSAFE, "mapped output: frame beyond the declared size refused (%s)",
           eb.msg);
    ok(stat(path2(tmp, "sandbox/out/bomb"), &sb) == 0 && sb.st_size <= (2 << 20),
       "mapped output: the file never exceeds its declared size");
    /* And a frame that ends early: 8 MiB declared, the frame holds 8 MiB but is cut. */
    cmn_sha256(zeros, zn, sha);
    c_hdr(cr, 1, zn);
    c_entry(cr, CMN_PATCH_ZFULL, "short", NULL, zn, sha, frame, fn - 3);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_PARSE, "mapped output: a truncated frame refused (%s)", eb.msg);
    /* Declared big, over the caller's cap. */
    struct cmn_patch_limits lim;
    cmn_patch_limits_default(&lim);
    lim.max_total = 1u << 20;
    cmn_sha256(zeros, zn, sha);
    c_hdr(cr, 1, zn);
    c_entry(cr, CMN_PATCH_ZFULL, "bomb", NULL, zn, sha, frame, fn);
    is_int(apply_craft(cr, base, &lim, &eb), CMN_E_UNSAFE, "total over the cap refused before decoding");
    lim.max_total = UINT64_C(1) << 30;
    lim.max_entries = 0;
    is_int(apply_craft(cr, base, &lim, &eb), CMN_E_UNSAFE, "entry count over the cap refused");
    /* A frame whose window needs more memory than the cap allows. */
    cmn_patch_limits_default(&lim);
    lim.window_log_max = 20;
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 23);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
    uint8_t *noise = malloc(zn);
    for (size_t i = 0; i < zn; i++)
        noise[i] = (uint8_t)((i * 2654435761u) >> 13);
    size_t wn = ZSTD_compress2(cc, frame, ZSTD_compressBound(zn), noise, zn);
    ZSTD_freeCCtx(cc);
    cmn_sha256(noise, zn, sha);
    c_hdr(cr, 1, zn);
    c_entry(cr, CMN_PATCH_ZFULL, "wide", NULL, zn, sha, frame, wn < sizeof cr->b - 200 ? wn : 100);
    is_int(apply_craft(cr, base, &lim, &eb), CMN_E_PARSE, "window over the cap refused (%s)", eb.msg);
    free(noise);
    free(zeros);

    /* Unsafe and unordered paths, base paths, ops. */
    uint8_t one[] = {'x'};
    size_t sn = ZSTD_compress(frame, 64, one, 1, 1);
    cmn_sha256(one, 1, sha);
    const char *evil[] = {"../evil", "/tmp/evil", "a/../../evil", "a//b", "a\\b"};
    for (size_t i = 0; i < sizeof evil / sizeof *evil; i++) {
        c_hdr(cr, 1, 1);
        c_entry(cr, CMN_PATCH_ZFULL, evil[i], NULL, 1, sha, frame, sn);
        is_int(apply_craft(cr, base, NULL, &eb), CMN_E_UNSAFE, "path '%s' refused", evil[i]);
    }
    ok(access(path2(tmp, "evil"), F_OK) != 0, "no file escaped");
    c_hdr(cr, 1, 8);
    c_entry(cr, CMN_PATCH_COPY, "x", "../base/raw/keep.xml", 8, sha, NULL, 0);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_UNSAFE, "base path outside the base refused");
    c_hdr(cr, 2, 2);
    c_entry(cr, CMN_PATCH_ZFULL, "b", NULL, 1, sha, frame, sn);
    c_entry(cr, CMN_PATCH_ZFULL, "a", NULL, 1, sha, frame, sn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_UNSAFE, "entries out of order refused");
    c_hdr(cr, 2, 2);
    c_entry(cr, CMN_PATCH_ZFULL, "a", NULL, 1, sha, frame, sn);
    c_entry(cr, CMN_PATCH_ZFULL, "a", NULL, 1, sha, frame, sn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_UNSAFE, "duplicate entry refused");
    c_hdr(cr, 2, 2);
    c_entry(cr, CMN_PATCH_ZFULL, "a", NULL, 1, sha, frame, sn);
    c_entry(cr, CMN_PATCH_ZFULL, "a/b", NULL, 1, sha, frame, sn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_UNSAFE, "a file used as a directory refused");
    c_hdr(cr, 1, 1);
    c_entry(cr, 9, "a", NULL, 1, sha, frame, sn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_PARSE, "unknown op refused");
    c_hdr(cr, 1, 2);
    c_entry(cr, CMN_PATCH_ZFULL, "a", NULL, 1, sha, frame, sn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_PARSE, "sizes not adding up to the total refused");
    c_hdr(cr, 1, 1);
    c_entry(cr, CMN_PATCH_ZFULL, "a", NULL, 1, sha, frame, sn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_OK, "the well-formed one-file patch applies");
    c_hdr(cr, 1, 1);
    c_entry(cr, CMN_PATCH_ZFULL, "a", NULL, 1, d, frame, sn);
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_HASH, "wrong per-file SHA-256 refused");
    c_hdr(cr, 1, 1);
    cr->b[0] = 'X';
    is_int(apply_craft(cr, base, NULL, &eb), CMN_E_PARSE, "bad magic refused");

    free(cr);
    free(frame);
    free(text);
    return done_testing();
}
