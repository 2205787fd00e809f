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
#include <zip.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/patch.h"
#include "common/patchset.h"

int cmn_patch_worth(uint64_t patch_bytes, uint64_t zip_size)
{
    return patch_bytes * 100 <= zip_size * (uint64_t)CMN_PATCH_MAX_PERCENT;
}

enum cmn_err cmn_bundle_unzip(const char *zip, const char *dir, uint64_t max_total, uint32_t max_entries,
                              struct cmn_errbuf *eb)
{
    int zerr = 0;
    zip_t *za = zip_open(zip, ZIP_RDONLY, &zerr);
    if (!za)
        return cmn_errf(eb, CMN_E_PARSE, "cannot open zip '%s'", zip);
    enum cmn_err rc = CMN_OK;
    uint64_t total = 0;
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0 || (max_entries && (uint64_t)n > max_entries))
        rc = cmn_errf(eb, n < 0 ? CMN_E_PARSE : CMN_E_TOOBIG, "zip '%s' has %lld entries (at most %u)", zip,
                      (long long)n, max_entries);
    for (zip_int64_t i = 0; !rc && i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        size_t len = name ? strlen(name) : 0;
        if (len && name[len - 1] == '/')
            continue;
        if (!name || cmn_bundle_path_ok(name, len) != 0) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "unsafe entry name in '%s'", zip);
            break;
        }
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "entry name too long in '%s'", zip);
            break;
        }
        for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
            *s = 0;
            (void)mkdir(path, 0755);
            *s = '/';
        }
        zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
        int fd = zf ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
        if (!zf || fd < 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot extract '%s' from '%s'", name, zip);
        } else {
            char buf[65536];
            zip_int64_t r = 0;
            while (!rc && (r = zip_fread(zf, buf, sizeof buf)) > 0) {
                total += (uint64_t)r;
                if (max_total && total > max_total)
                    rc = cmn_errf(eb, CMN_E_TOOBIG, "zip '%s' extracts to more than %llu bytes", zip,
                                  (unsigned long long)max_total);
                else if (write(fd, buf, (size_t)r) != r)
                    rc = cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", path, strerror(errno));
            }
            if (!rc && r < 0)
                rc = cmn_errf(eb, CMN_E_PARSE, "corrupt entry '%s' in '%s'", name, zip);
        }
        if (fd >= 0 && close(fd) != 0 && !rc)
            rc = cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", path, strerror(errno));
        if (zf)
            zip_fclose(zf);
    }
    zip_discard(za);
    return rc;
}

/* ------------------------------------------------------------ content digest of a zip */

/* One checked entry: its path (a directory's without the final '/'), where it is, what it declares. */
struct zent {
    char *path;
    zip_uint64_t idx;
    uint64_t size;
    int is_dir;
};

static int zent_cmp(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: the byte order the listing is sorted in. */
    return strcmp(((const struct zent *)a)->path, ((const struct zent *)b)->path);
}

/* Check entry i on its own (name, type, encryption, declared size) and fill *e (path malloc'd). */
static enum cmn_err zent_check(zip_t *za, zip_uint64_t i, struct zent *e, struct cmn_errbuf *eb)
{
    zip_stat_t zs;
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    zip_stat_init(&zs);
    if (zip_stat_index(za, i, ZIP_FL_ENC_RAW, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME) || !(zs.valid & ZIP_STAT_SIZE))
        return cmn_errf(eb, CMN_E_PARSE, "cannot read zip entry %llu", (unsigned long long)i);
    size_t nl = strlen(zs.name);
    int is_dir = nl > 0 && zs.name[nl - 1] == '/';
    size_t pl = is_dir ? nl - 1 : nl;
    /* the index, not the name: a refused name may hold control characters */
    if (pl > CMN_PATCH_MAX_PATH || cmn_bundle_path_ok(zs.name, pl) != 0)
        return cmn_errf(eb, CMN_E_UNSAFE, "zip entry %llu has an unsafe name", (unsigned long long)i);
    if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) && zs.encryption_method != ZIP_EM_NONE)
        return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is encrypted", zs.name);
    if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) != 0)
        return cmn_errf(eb, CMN_E_PARSE, "cannot read the attributes of zip entry '%.200s'", zs.name);
    if (opsys == ZIP_OPSYS_UNIX) {
        unsigned type = (attr >> 16) & S_IFMT;
        if (type != 0 && type != S_IFREG && type != S_IFDIR)
            return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is not a regular file or directory", zs.name);
        if ((type == S_IFDIR && !is_dir) || (type == S_IFREG && is_dir))
            return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' has a type that does not match its name", zs.name);
    }
    if (is_dir && zs.size != 0)
        return cmn_errf(eb, CMN_E_UNSAFE, "directory entry '%.200s' has data", zs.name);
    e->path = malloc(pl + 1);
    if (!e->path)
        return CMN_E_NOMEM;
    memcpy(e->path, zs.name, pl);
    e->path[pl] = '\0';
    e->idx = i;
    e->size = zs.size;
    e->is_dir = is_dir;
    return CMN_OK;
}

/* Entries sorted by path: no path twice, and no file that another entry's path goes through. */
static enum cmn_err zent_tree_check(struct zent *v, size_t n, struct cmn_errbuf *eb)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i - 1].path, v[i].path) == 0)
            return cmn_errf(eb, CMN_E_UNSAFE, "zip lists '%.200s' twice", v[i].path);
    char dir[CMN_PATCH_MAX_PATH + 1]; /* zent_check kept paths to this length */
    struct zent key = {.path = dir};
    for (size_t i = 0; i < n; i++)
        for (const char *sl = strchr(v[i].path, '/'); sl; sl = strchr(sl + 1, '/')) {
            size_t k = (size_t)(sl - v[i].path);
            memcpy(dir, v[i].path, k);
            dir[k] = '\0';
            const struct zent *f = bsearch(&key, v, n, sizeof *v, zent_cmp);
            if (f && !f->is_dir)
                return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is a file and also the directory of '%.200s'",
                                f->path, v[i].path);
        }
    return CMN_OK;
}

/* Inflate entry e into the hash: exactly its declared size, or refused. */
static enum cmn_err zent_hash(zip_t *za, const struct zent *e, uint8_t sha[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
{
    zip_file_t *zf = zip_fopen_index(za, e->idx, 0);
    if (!zf)
        return cmn_errf(eb, CMN_E_PARSE, "cannot read zip entry '%.200s': %s", e->path, zip_strerror(za));
    struct cmn_sha256 h;
    char buf[65536];
    uint64_t got = 0;
    zip_int64_t r;
    enum cmn_err rc = CMN_OK;
    cmn_sha256_init(&h);
    while ((r = zip_fread(zf, buf, sizeof buf)) > 0) {
        got += (uint64_t)r;
        if (got > e->size) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' inflates past its declared size", e->path);
            break;
        }
        cmn_sha256_update(&h, buf, (size_t)r);
    }
    if (!rc && r < 0)
        rc = cmn_errf(eb, CMN_E_PARSE, "zip entry '%.200s' is corrupt: %s", e->path, zip_file_strerror(zf));
    else if (!rc && got != e->size)
        rc = cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is shorter than its declared size", e->path);
    zip_fclose(zf);
    if (!rc)
        cmn_sha256_final(&h, sha);
    return rc;
}

enum cmn_err cmn_content_zip(const char *zip, uint64_t max_total, uint32_t max_entries, struct cmn_content *out,
                             struct cmn_errbuf *eb)
{
    int zerr = 0;
    zip_t *za = zip_open(zip, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!za && zerr == ZIP_ER_EXISTS) /* what ZIP_CHECKCONS makes of a name in the directory twice */
        return cmn_errf(eb, CMN_E_UNSAFE, "zip lists an entry name twice");
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        enum cmn_err rc = cmn_errf(eb, CMN_E_PARSE, "not a zip archive: %s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    enum cmn_err rc = CMN_OK;
    struct zent *v = NULL;
    struct cmn_content c = {0};
    size_t n = 0;
    uint64_t total = 0;
    zip_int64_t ne = zip_get_num_entries(za, 0);
    if (ne < 0)
        rc = cmn_errf(eb, CMN_E_PARSE, "cannot read the zip's directory");
    else if (max_entries && (uint64_t)ne > max_entries)
        rc = cmn_errf(eb, CMN_E_TOOBIG, "zip has %lld entries, more than %u", (long long)ne, max_entries);
    else if (ne > 0 && !(v = calloc((size_t)ne, sizeof *v)))
        rc = CMN_E_NOMEM;
    /* Pass 1: every entry checked, nothing inflated yet. */
    for (zip_int64_t i = 0; !rc && i < ne; i++) {
        if ((rc = zent_check(za, (zip_uint64_t)i, &v[n], eb)))
            break;
        uint64_t size = v[n++].size;
        if (max_total && (size > max_total || total + size > max_total))
            rc = cmn_errf(eb, CMN_E_TOOBIG, "zip declares more than %llu bytes", (unsigned long long)max_total);
        total += size;
    }
    if (!rc && n > 0) {
        qsort(v, n, sizeof *v, zent_cmp);
        rc = zent_tree_check(v, n, eb);
    }
    if (!rc && n > 0 && !(c.v = calloc(n, sizeof *c.v)))
        rc = CMN_E_NOMEM;
    /* Pass 2: the files hashed in path order, which is the listing's order. */
    for (size_t i = 0; !rc && i < n; i++) {
        if (v[i].is_dir)
            continue;
        struct cmn_content_file *f = &c.v[c.n];
        if ((rc = zent_hash(za, &v[i], f->sha256, eb)))
            break;
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
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
    zip_discard(za);
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
