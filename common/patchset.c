/*
 * patchset.c - the release-time patch driver shared by the CLI (serverless
 * releases) and the publisher's patch job: extract bundle zips, take content
 * digests, build one HPPATCH1 patch per base bundle, keep those worth it and
 * store them content-addressed. See common/include/common/patchset.h.
 *
 * Both sides of a patch are extracted zips (what devices hold), so the
 * digests here are the ones devices compute. Patch creation is deterministic
 * (one zstd level, single-threaded), so a re-run after a crash produces the
 * same objects under the same keys: nothing is stored twice.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/patch.h"
#include "common/patchset.h"
#include "common/zipcheck.h"

int cmn_patch_worth(uint64_t patch_bytes, uint64_t zip_size)
{
    return patch_bytes * 100 <= zip_size * (uint64_t)CMN_PATCH_MAX_PERCENT;
}

/* The caps of one check: the caller's, and the SDK's compression-ratio cap (common/zipcheck.h). */
static void zip_limits(struct cmn_zip_limits *l, uint64_t max_total, uint32_t max_entries)
{
    cmn_zip_limits_default(l);
    l->max_total = max_total;
    l->max_entries = max_entries;
}

static enum cmn_err fd_sink(void *ctx, const void *p, size_t n, struct cmn_errbuf *eb)
{
    int fd = *(const int *)ctx;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return cmn_errf(eb, CMN_E_IO, "cannot write an extracted file: %s", w < 0 ? strerror(errno) : "no room");
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return CMN_OK;
}

enum cmn_err cmn_bundle_unzip(const char *zip, const char *dir, uint64_t max_total, uint32_t max_entries,
                              struct cmn_errbuf *eb)
{
    struct cmn_zip z = {0};
    struct cmn_zip_limits lim;
    struct cmn_zip_entry *v = NULL;
    size_t n = 0;
    zip_limits(&lim, max_total, max_entries);
    enum cmn_err rc = cmn_zip_open_file(&z, zip, eb);
    if (!rc)
        rc = cmn_zip_check(&z, &lim, &v, &n, eb);
    /* in path order: a directory comes before what it holds */
    for (size_t i = 0; !rc && i < n; i++) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, v[i].path) >= sizeof path) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "entry name too long in '%s'", zip);
            break;
        }
        for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
            *s = 0;
            (void)mkdir(path, 0755);
            *s = '/';
        }
        if (v[i].is_dir) {
            (void)mkdir(path, 0755);
            continue;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot extract '%.200s' from '%s': %s", v[i].path, zip, strerror(errno));
            break;
        }
        rc = cmn_zip_read(&z, &v[i], fd_sink, &fd, eb);
        if (close(fd) != 0 && !rc)
            rc = cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", path, strerror(errno));
    }
    cmn_zip_entries_free(v, n);
    cmn_zip_close(&z);
    return rc;
}

/* ------------------------------------------------------------ content digest of a zip */

static enum cmn_err sha_sink(void *ctx, const void *p, size_t n, struct cmn_errbuf *eb)
{
    (void)eb;
    cmn_sha256_update(ctx, p, n);
    return CMN_OK;
}

enum cmn_err cmn_content_zip(const char *zip, uint64_t max_total, uint32_t max_entries, struct cmn_content *out,
                             struct cmn_errbuf *eb)
{
    struct cmn_zip z = {0};
    struct cmn_zip_limits lim;
    struct cmn_zip_entry *v = NULL;
    struct cmn_content c = {0};
    size_t n = 0;
    zip_limits(&lim, max_total, max_entries);
    /* Pass 1 (cmn_zip_check): every entry checked, nothing inflated yet. */
    enum cmn_err rc = cmn_zip_open_file(&z, zip, eb);
    if (!rc)
        rc = cmn_zip_check(&z, &lim, &v, &n, eb);
    if (!rc && !(c.v = calloc(n, sizeof *c.v)))
        rc = CMN_E_NOMEM;
    /* Pass 2: the files hashed in path order, which is the listing's order. */
    for (size_t i = 0; !rc && i < n; i++) {
        if (v[i].is_dir)
            continue;
        struct cmn_content_file *f = &c.v[c.n];
        struct cmn_sha256 h;
        cmn_sha256_init(&h);
        if ((rc = cmn_zip_read(&z, &v[i], sha_sink, &h, eb)))
            break;
        cmn_sha256_final(&h, f->sha256);
        f->path = v[i].path;
        f->size = v[i].size;
        v[i].path = NULL;
        c.n++;
    }
    if (!rc) {
        *out = c;
        c = (struct cmn_content){0};
    }
    cmn_content_release(&c);
    cmn_zip_entries_free(v, n);
    cmn_zip_close(&z);
    return rc;
}

enum cmn_err cmn_content_digest_zip(const char *zip, uint64_t max_total, uint32_t max_entries,
                                    uint8_t out[CMN_SHA256_BYTES], size_t *nfiles, struct cmn_errbuf *eb)
{
    struct cmn_content c;
    enum cmn_err rc = cmn_content_zip(zip, max_total, max_entries, &c, eb);
    if (rc)
        return rc;
    rc = cmn_content_digest(&c, out);
    if (!rc && nfiles)
        *nfiles = c.n;
    cmn_content_release(&c);
    return rc;
}

enum cmn_err cmn_bundle_zip_digest(const char *zip, const char *dir, uint64_t max_total, uint32_t max_entries,
                                   uint8_t out[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_bundle_unzip(zip, dir, max_total, max_entries, eb);
    if (!rc)
        rc = cmn_content_digest_dir(dir, out, eb);
    return rc;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(p);
    else
        unlink(p);
    return 0;
}

void cmn_rmtree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (!S_ISDIR(sb.st_mode)) {
        unlink(path);
        return;
    }
    (void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void cmn_patch_refs_release(struct cmn_patch_ref *out, size_t n)
{
    for (size_t i = 0; out && i < n; i++) {
        free(out[i].url);
        out[i].url = NULL;
    }
}

static void note(const struct cmn_patchset *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const struct cmn_patchset *ps, const char *fmt, ...)
{
    if (!ps->note)
        return;
    char msg[CMN_ERRBUF_SIZE + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ps->note(ps->note_ctx, msg);
}

/* Fetch base `b` (SHA-256 and/or content digest checked), extract it into `bdir`, digest it. Failures are the base's,
 * not the run's. */
static enum cmn_err load_base(const struct cmn_patchset *ps, const struct cmn_patch_base *b, const char *bzip,
                              const char *bdir, uint8_t d[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
{
    struct cmn_buf buf;
    uint8_t got[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    if (!b->sha256 && !b->content_sha256)
        return cmn_errf(eb, CMN_E_INVAL, "no digest to check stored bundle '%s' against", b->key);
    cmn_buf_init(&buf, ps->max_zip ? ps->max_zip : (size_t)1 << 30);
    struct cmn_get_opts go = {.max_size = b->zip_size ? (size_t)b->zip_size : 0};
    enum cmn_err rc = cmn_storage_get(ps->st, b->key, b->zip_size ? &go : NULL, &buf, NULL, eb);
    if (!rc && b->zip_size && buf.len != b->zip_size)
        rc = cmn_errf(eb, CMN_E_HASH, "stored zip is %zu bytes, the registry says %llu", buf.len,
                      (unsigned long long)b->zip_size);
    if (!rc) {
        cmn_sha256(buf.ptr, buf.len, got);
        cmn_hex_encode(got, sizeof got, hex);
        if (b->sha256 && strcmp(hex, b->sha256) != 0)
            rc = cmn_errf(eb, CMN_E_HASH, "stored bundle '%s' does not match its SHA-256", b->key);
    }
    if (!rc)
        rc = cmn_file_write_atomic(bzip, buf.ptr ? buf.ptr : "", buf.len, 0600, 0, eb);
    cmn_buf_release(&buf);
    if (!rc && mkdir(bdir, 0755) != 0)
        rc = cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", bdir, strerror(errno));
    if (!rc) {
        /* a base from storage is not trusted to be small: an embedded zip is only checked by its digest,
         * after extraction, so extraction is capped like the SDK's */
        struct cmn_patch_limits lim;
        cmn_patch_limits_default(&lim);
        rc = cmn_bundle_zip_digest(bzip, bdir, lim.max_total, lim.max_entries, d, eb);
    }
    if (!rc && b->content_sha256) {
        cmn_hex_encode(d, CMN_SHA256_BYTES, hex);
        if (strcmp(hex, b->content_sha256) != 0)
            rc = cmn_errf(eb, CMN_E_HASH, "its zip extracts to content %.16s..., the registry says %.16s...", hex,
                          b->content_sha256);
    }
    return rc;
}

enum cmn_err cmn_patchset_build(const struct cmn_patchset *ps, const struct cmn_patch_base *bases, size_t n,
                                struct cmn_patch_ref *out, size_t *from, size_t cap, size_t *n_out,
                                struct cmn_errbuf *eb)
{
    size_t kept = 0;
    enum cmn_err rc = CMN_OK;
    for (size_t k = 0; k < n && kept < cap && !rc; k++) {
        const struct cmn_patch_base *b = &bases[k];
        char bzip[PATH_MAX], bdir[PATH_MAX], pfile[PATH_MAX], key[CMN_STORAGE_KEY_MAX];
        uint8_t d[CMN_SHA256_BYTES] = {0}, got[CMN_SHA256_BYTES];
        struct cmn_errbuf beb = {{0}};
        snprintf(bzip, sizeof bzip, "%s/base-%zu.zip", ps->work, k);
        snprintf(bdir, sizeof bdir, "%s/base-%zu", ps->work, k);
        snprintf(pfile, sizeof pfile, "%s/base-%zu.patch", ps->work, k);
        struct cmn_patch_stats st = {0};
        enum cmn_err brc = load_base(ps, b, bzip, bdir, d, &beb);
        char base_hex[CMN_SHA256_HEX];
        cmn_hex_encode(d, sizeof d, base_hex);
        if (!brc) {
            /* one patch per base content; none from the release's own content */
            int seen = ps->new_content && strcmp(base_hex, ps->new_content) == 0;
            for (size_t jj = 0; jj < kept && !seen; jj++)
                seen = strcmp(out[jj].base, base_hex) == 0 ? 2 : 0;
            if (seen) {
                note(ps, "no patch from %s: same content as %s", b->label,
                     seen == 1 ? "this release" : "a base already patched from");
                goto next;
            }
            brc = cmn_patch_create(bdir, ps->new_dir, pfile, ps->level ? ps->level : CMN_PATCH_LEVEL, &st, &beb);
        }
        if (brc) {
            note(ps, "no patch from %s: %s", b->label, cmn_errmsg(&beb, brc));
            goto next;
        }
        if (!cmn_patch_worth(st.patch_bytes, ps->zip_size)) {
            note(ps, "no patch from %s: %llu bytes is over %d%% of the %llu-byte zip", b->label,
                 (unsigned long long)st.patch_bytes, CMN_PATCH_MAX_PERCENT, (unsigned long long)ps->zip_size);
            goto next;
        }
        struct cmn_patch_ref *p = &out[kept];
        memset(p, 0, sizeof *p);
        memcpy(p->base, base_hex, sizeof p->base);
        if ((rc = cmn_sha256_file(pfile, got, &p->size, eb)))
            goto next;
        cmn_hex_encode(got, sizeof got, p->sha256);
        snprintf(key, sizeof key, "patches/%s/%s/%s.patch", ps->app, ps->platform, p->sha256);
        uint64_t have = 0;
        if (cmn_storage_head(ps->st, key, NULL, &have, NULL) != CMN_OK || have != p->size) {
            struct cmn_put_opts po;
            memset(&po, 0, sizeof po);
            po.content_type = "application/octet-stream";
            po.cache_control = "public, max-age=31536000, immutable";
            struct cmn_errbuf peb = {{0}};
            if ((rc = cmn_storage_put_file(ps->st, key, pfile, &po, NULL, &peb))) {
                rc = cmn_errf(eb, rc, "cannot store patch '%s': %s", key, cmn_errmsg(&peb, rc));
                goto next;
            }
        }
        if (!(p->url = strdup(key))) {
            rc = CMN_E_NOMEM;
            goto next;
        }
        if (from)
            from[kept] = k;
        kept++;
        note(ps, "patch from %s: %llu bytes (%.1f%% of the zip)", b->label, (unsigned long long)p->size,
             ps->zip_size ? 100.0 * (double)p->size / (double)ps->zip_size : 0.0);
    next:
        cmn_rmtree(bdir);
        unlink(bzip);
        unlink(pfile);
    }
    if (rc) {
        cmn_patch_refs_release(out, kept);
        *n_out = 0;
        return rc;
    }
    /* sorted by base (the SPEC's order), from[] moving along */
    for (size_t i = 1; i < kept; i++)
        for (size_t j = i; j > 0 && strcmp(out[j - 1].base, out[j].base) > 0; j--) {
            struct cmn_patch_ref t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
            if (from) {
                size_t f = from[j];
                from[j] = from[j - 1];
                from[j - 1] = f;
            }
        }
    *n_out = kept;
    return CMN_OK;
}
