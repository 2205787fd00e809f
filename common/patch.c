#include "common/compat.h"

/*
 * patch.c - bundle content digests (what the release key signs for patched
 * installs) and the HPPATCH1 container: create at release time, apply on the
 * device. Format and rules: common/include/common/patch.h and
 * manifests/SPEC.md section 14.
 *
 * Apply treats the container as hostile even though its SHA-256 was checked
 * against the signed manifest: the manifest key alone must not be able to
 * install arbitrary content. So apply itself takes the content digest the
 * release key signed and refuses any patch whose entries do not declare
 * exactly that content before writing a byte, checks every file it writes
 * against its declared SHA-256, and makes sure a crafted patch can neither
 * write outside `out_dir` nor make it grow past the declared sizes nor use
 * unbounded memory on the way.
 */

#include <dirent.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
/* ZSTD_d_stableOutBuffer (stable since 1.4.x, still under this guard): the
 * decoder then keeps no window buffer of its own, the output is its window. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "common/patch.h"

#define IO_BLOCK (64u << 10)
/* Apply drops the pages of the base and output mappings it is done with every
 * DROP_EVERY output bytes: they stay in the page cache (re-faulted if a match
 * reaches back), but not in the process's resident set. */
#define DROP_EVERY (1u << 20)
#define FEED_SLICE 256

int cmn_bundle_path_ok(const char *p, size_t n)
{
    if (n == 0 || p[0] == '/')
        return -1;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char ch = i < n ? (unsigned char)p[i] : '/';
        if (ch < 0x20 || ch == 0x7f || ch == '\\' || ch == ':')
            return -1;
        if (ch == '/') {
            size_t len = i - start;
            if (len == 0)
                return -1;
            if ((len == 1 && p[start] == '.') || (len == 2 && p[start] == '.' && p[start + 1] == '.'))
                return -1;
            start = i + 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ content scan */

void cmn_content_release(struct cmn_content *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].path);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

struct scan {
    struct cmn_content c;
    size_t cap, max;
    struct cmn_errbuf *eb;
};

static enum cmn_err scan_dir(struct scan *s, const char *root, const char *rel)
{
    char *abs = NULL;
    if (asprintf(&abs, "%s%s%s", root, rel[0] ? "/" : "", rel) < 0)
        return CMN_E_NOMEM;
    DIR *d = opendir(abs);
    if (!d) {
        enum cmn_err rc = cmn_errf(s->eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot open directory '%s': %s",
                                   abs, strerror(errno));
        free(abs);
        return rc;
    }
    enum cmn_err rc = CMN_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *r = NULL, *a = NULL;
        if (asprintf(&r, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0 ||
            asprintf(&a, "%s/%s", abs, de->d_name) < 0) {
            free(r);
            rc = CMN_E_NOMEM;
            break;
        }
        struct stat sb;
        if (lstat(a, &sb) != 0) {
            rc = cmn_errf(s->eb, CMN_E_IO, "cannot stat '%s': %s", a, strerror(errno));
        } else if (cmn_bundle_path_ok(r, strlen(r)) != 0) {
            rc = cmn_errf(s->eb, CMN_E_UNSAFE, "unsafe path '%s' in bundle", r);
        } else if (S_ISDIR(sb.st_mode)) {
            rc = scan_dir(s, root, r);
        } else if (!S_ISREG(sb.st_mode)) {
            rc = cmn_errf(s->eb, CMN_E_UNSAFE, "'%s' is not a regular file or directory", r);
        } else if (s->c.n >= s->max) {
            rc = cmn_errf(s->eb, CMN_E_TOOBIG, "more than %zu files in '%s'", s->max, root);
        } else {
            if (s->c.n == s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 64;
                void *nv = realloc(s->c.v, nc * sizeof(*s->c.v));
                if (!nv)
                    rc = CMN_E_NOMEM;
                else {
                    s->c.v = nv;
                    s->cap = nc;
                }
            }
            if (!rc) {
                struct cmn_content_file *f = &s->c.v[s->c.n];
                rc = cmn_sha256_file(a, f->sha256, &f->size, s->eb);
                if (!rc) {
                    f->path = r;
                    r = NULL;
                    s->c.n++;
                }
            }
        }
        free(r);
        free(a);
    }
    closedir(d);
    free(abs);
    return rc;
}

static int cmp_file(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: byte order, as the SPEC says. */
    return strcmp(((const struct cmn_content_file *)a)->path, ((const struct cmn_content_file *)b)->path);
}

enum cmn_err cmn_content_scan(const char *dir, size_t max_files, struct cmn_content *out, struct cmn_errbuf *eb)
{
    struct scan s = {.max = max_files, .eb = eb};
    enum cmn_err rc = scan_dir(&s, dir, "");
    if (rc) {
        cmn_content_release(&s.c);
        return rc;
    }
    if (s.c.n)
        qsort(s.c.v, s.c.n, sizeof(*s.c.v), cmp_file);
    *out = s.c;
    return CMN_OK;
}

/* One line of the listing the content digest hashes (see patch.h). */
static void listing_line(struct cmn_sha256 *h, const uint8_t sha[CMN_SHA256_BYTES], uint64_t size, const char *path)
{
    char hex[CMN_SHA256_HEX], num[32];
    cmn_hex_encode(sha, CMN_SHA256_BYTES, hex);
    int k = snprintf(num, sizeof num, " %" PRIu64 " ", size);
    cmn_sha256_update(h, hex, 64);
    cmn_sha256_update(h, num, (size_t)k);
    cmn_sha256_update(h, path, strlen(path));
    cmn_sha256_update(h, "\n", 1);
}

enum cmn_err cmn_content_digest(const struct cmn_content *c, uint8_t out[CMN_SHA256_BYTES])
{
    struct cmn_sha256 h;
    cmn_sha256_init(&h);
    for (size_t i = 0; i < c->n; i++)
        listing_line(&h, c->v[i].sha256, c->v[i].size, c->v[i].path);
    cmn_sha256_final(&h, out);
    return CMN_OK;
}

enum cmn_err cmn_content_digest_dir(const char *dir, uint8_t out[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
{
    struct cmn_content c;
    enum cmn_err rc = cmn_content_scan(dir, 1000000, &c, eb);
    if (rc)
        return rc;
    rc = cmn_content_digest(&c, out);
    cmn_content_release(&c);
    return rc;
}

enum cmn_err cmn_content_sign(const struct cmn_key *key, const uint8_t digest[CMN_SHA256_BYTES],
                              char sig_b64[CMN_SIG_B64])
{
    return cmn_digest_sign(key, CMN_SIGCTX_CONTENT, digest, sig_b64);
}

enum cmn_err cmn_content_verify(const struct cmn_key *key, const uint8_t digest[CMN_SHA256_BYTES], const char *sig_b64)
{
    return cmn_digest_verify(key, CMN_SIGCTX_CONTENT, digest, sig_b64, CMN_E_PARSE);
}

/* ------------------------------------------------------------ helpers */

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* A read-only mapping of a whole file (NULL data for an empty file). */
struct map {
    const uint8_t *p;
    size_t n;
};

static enum cmn_err map_open(const char *dir, const char *rel, struct map *m, struct cmn_errbuf *eb)
{
    char *path = NULL;
    m->p = NULL;
    m->n = 0;
    if (asprintf(&path, "%s/%s", dir, rel) < 0)
        return CMN_E_NOMEM;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        enum cmn_err rc = cmn_errf(eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot open base file '%s': %s",
                                   path, strerror(errno));
        free(path);
        return rc;
    }
    struct stat sb;
    enum cmn_err rc = CMN_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = cmn_errf(eb, CMN_E_UNSAFE, "base file '%s' is not a regular file", path);
    } else if (sb.st_size > 0) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            rc = cmn_errf(eb, CMN_E_IO, "cannot map '%s': %s", path, strerror(errno));
        else {
            m->p = p;
            m->n = (size_t)sb.st_size;
        }
    }
    close(fd);
    free(path);
    return rc;
}

static void map_close(struct map *m)
{
    if (m->p)
        munmap((void *)m->p, m->n);
    m->p = NULL;
    m->n = 0;
}

/* ------------------------------------------------------------ create */

static enum cmn_err compress_one(ZSTD_CCtx *cc, const struct map *base, const struct map *src, int level, uint8_t **out,
                                 size_t *outn, struct cmn_errbuf *eb)
{
    size_t cap = ZSTD_compressBound(src->n);
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return CMN_E_NOMEM;
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
    if (base) {
        /* The window must reach from the end of the output back to the start
         * of the prefix (what `zstd --patch-from` does); long-distance
         * matching finds the moved blocks. */
        uint64_t need = (uint64_t)base->n + src->n;
        int wlog = 10;
        while (wlog < 27 && ((uint64_t)1 << wlog) < need)
            wlog++;
        ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, wlog);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1);
        ZSTD_CCtx_refPrefix(cc, base->p, base->n);
    }
    size_t r = ZSTD_compress2(cc, buf, cap ? cap : 1, src->p ? (const void *)src->p : "", src->n);
    if (ZSTD_isError(r)) {
        free(buf);
        return cmn_errf(eb, CMN_E_IO, "zstd: %s", ZSTD_getErrorName(r));
    }
    *out = buf;
    *outn = r;
    return CMN_OK;
}

static enum cmn_err write_all(int fd, const void *p, size_t n, struct cmn_errbuf *eb)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return cmn_errf(eb, CMN_E_IO, "write failed: %s", strerror(errno));
        }
        b += w;
        n -= (size_t)w;
    }
    return CMN_OK;
}

static const struct cmn_content_file *find_path(const struct cmn_content *c, const char *path)
{
    struct cmn_content_file key = {.path = (char *)path};
    return bsearch(&key, c->v, c->n, sizeof(*c->v), cmp_file);
}

static const struct cmn_content_file *find_sha(const struct cmn_content *c, const uint8_t sha[CMN_SHA256_BYTES],
                                               uint64_t size)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].size == size && !memcmp(c->v[i].sha256, sha, CMN_SHA256_BYTES))
            return &c->v[i];
    return NULL;
}

static enum cmn_err emit_entry(int fd, int op, const char *path, const char *base_path, uint64_t size,
                               const uint8_t sha[CMN_SHA256_BYTES], const uint8_t *data, size_t dn,
                               struct cmn_errbuf *eb)
{
    uint8_t h[1 + 2];
    size_t pl = strlen(path), bl = base_path ? strlen(base_path) : 0;
    h[0] = (uint8_t)op;
    put_le(h + 1, pl, 2);
    enum cmn_err rc = write_all(fd, h, 3, eb);
    if (!rc)
        rc = write_all(fd, path, pl, eb);
    uint8_t b2[2];
    put_le(b2, bl, 2);
    if (!rc)
        rc = write_all(fd, b2, 2, eb);
    if (!rc && bl)
        rc = write_all(fd, base_path, bl, eb);
    uint8_t t[8 + 32 + 8];
    put_le(t, size, 8);
    memcpy(t + 8, sha, 32);
    put_le(t + 40, dn, 8);
    if (!rc)
        rc = write_all(fd, t, sizeof t, eb);
    if (!rc && dn)
        rc = write_all(fd, data, dn, eb);
    return rc;
}

enum cmn_err cmn_patch_create(const char *base_dir, const char *new_dir, const char *out_path, int level,
                              struct cmn_patch_stats *st, struct cmn_errbuf *eb)
{
    struct cmn_content base = {0}, nw = {0};
    struct cmn_patch_stats s = {0};
    char *tmp = NULL;
    int fd = -1;
    ZSTD_CCtx *cc = NULL;
    enum cmn_err rc = cmn_content_scan(base_dir, 1000000, &base, eb);
    if (!rc)
        rc = cmn_content_scan(new_dir, 1000000, &nw, eb);
    if (rc)
        goto out;
    if (nw.n > UINT32_MAX) {
        rc = cmn_errf(eb, CMN_E_TOOBIG, "too many files in '%s'", new_dir);
        goto out;
    }
    for (size_t i = 0; i < nw.n; i++)
        s.out_bytes += nw.v[i].size;
    cc = ZSTD_createCCtx();
    if (!cc || asprintf(&tmp, "%s.tmp.%ld", out_path, (long)getpid()) < 0) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    uint8_t hdr[8 + 4 + 8];
    memcpy(hdr, CMN_PATCH_MAGIC, 8);
    put_le(hdr + 8, nw.n, 4);
    put_le(hdr + 12, s.out_bytes, 8);
    rc = write_all(fd, hdr, sizeof hdr, eb);
    for (size_t i = 0; !rc && i < nw.n; i++) {
        const struct cmn_content_file *f = &nw.v[i];
        const struct cmn_content_file *b = find_path(&base, f->path);
        if (b && (b->size != f->size || memcmp(b->sha256, f->sha256, CMN_SHA256_BYTES)))
            b = NULL;
        if (!b)
            b = find_sha(&base, f->sha256, f->size); /* moved or renamed */
        if (b) {
            rc = emit_entry(fd, CMN_PATCH_COPY, f->path, b->path, f->size, f->sha256, NULL, 0, eb);
            s.copied++;
            continue;
        }
        struct map src, bm = {0};
        rc = map_open(new_dir, f->path, &src, eb);
        if (rc)
            break;
        uint8_t *full = NULL, *diff = NULL;
        size_t fulln = SIZE_MAX, diffn = SIZE_MAX;
        const struct cmn_content_file *same = find_path(&base, f->path);
        if (same && same->size > 0) {
            rc = map_open(base_dir, same->path, &bm, eb);
            if (!rc)
                rc = compress_one(cc, &bm, &src, level, &diff, &diffn, eb);
            map_close(&bm);
        }
        /* A diff under a quarter of the file cannot lose to compressing it
         * whole by enough to pay for a second level-19 pass over it. */
        if (!rc && (!diff || diffn > src.n / 4))
            rc = compress_one(cc, NULL, &src, level, &full, &fulln, eb);
        if (!rc) {
            if (diff && diffn <= fulln) {
                rc = emit_entry(fd, CMN_PATCH_ZDIFF, f->path, same->path, f->size, f->sha256, diff, diffn, eb);
                s.diffed++;
            } else {
                rc = emit_entry(fd, CMN_PATCH_ZFULL, f->path, NULL, f->size, f->sha256, full, fulln, eb);
                s.full++;
            }
        }
        free(full);
        free(diff);
        map_close(&src);
    }
    if (!rc && fsync(fd) != 0)
        rc = cmn_errf(eb, CMN_E_IO, "fsync '%s': %s", tmp, strerror(errno));
    if (!rc) {
        struct stat sb;
        if (fstat(fd, &sb) == 0)
            s.patch_bytes = (uint64_t)sb.st_size;
    }
    if (close(fd) != 0 && !rc)
        rc = cmn_errf(eb, CMN_E_IO, "close '%s': %s", tmp, strerror(errno));
    fd = -1;
    if (!rc && rename(tmp, out_path) != 0)
        rc = cmn_errf(eb, CMN_E_IO, "cannot rename '%s' to '%s': %s", tmp, out_path, strerror(errno));
    if (rc)
        unlink(tmp);
    else if (st)
        *st = s;
out:
    if (fd >= 0)
        close(fd);
    free(tmp);
    ZSTD_freeCCtx(cc);
    cmn_content_release(&base);
    cmn_content_release(&nw);
    return rc;
}

/* ------------------------------------------------------------ apply */

void cmn_patch_limits_default(struct cmn_patch_limits *l)
{
    l->max_total = UINT64_C(512) << 20;
    l->max_entries = 20000;
    l->window_log_max = 27;
    l->defer_sync = 0;
}

/* Buffered reader over the patch file; `start` is the file offset of buf[0]. */
struct rd {
    int fd;
    uint64_t fsize, start;
    size_t pos, len;
    int eof;
    uint8_t buf[IO_BLOCK];
};

static enum cmn_err rd_fill(struct rd *r, struct cmn_errbuf *eb)
{
    if (r->pos < r->len || r->eof)
        return CMN_OK;
    ssize_t n;
    do
        n = read(r->fd, r->buf, sizeof r->buf);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return cmn_errf(eb, CMN_E_IO, "cannot read patch: %s", strerror(errno));
    r->start += r->len;
    r->pos = 0;
    r->len = (size_t)n;
    if (n == 0)
        r->eof = 1;
    return CMN_OK;
}

static enum cmn_err rd_exact(struct rd *r, void *out, size_t n, struct cmn_errbuf *eb)
{
    uint8_t *o = out;
    while (n) {
        enum cmn_err rc = rd_fill(r, eb);
        if (rc)
            return rc;
        if (r->pos == r->len)
            return cmn_errf(eb, CMN_E_PARSE, "patch is truncated");
        size_t k = r->len - r->pos < n ? r->len - r->pos : n;
        memcpy(o, r->buf + r->pos, k);
        r->pos += k;
        o += k;
        n -= k;
    }
    return CMN_OK;
}

/* Position the reader at file offset `off` (not beyond the end). */
static enum cmn_err rd_seek(struct rd *r, uint64_t off, struct cmn_errbuf *eb)
{
    if (off > r->fsize)
        return cmn_errf(eb, CMN_E_PARSE, "patch is truncated");
    if (lseek(r->fd, (off_t)off, SEEK_SET) != (off_t)off)
        return cmn_errf(eb, CMN_E_IO, "cannot seek in patch: %s", strerror(errno));
    r->start = off;
    r->pos = r->len = 0;
    r->eof = 0;
    return CMN_OK;
}

/* Skip `n` bytes of entry data (the listing pass does not read it). */
static enum cmn_err rd_skip(struct rd *r, uint64_t n, struct cmn_errbuf *eb)
{
    if (n <= r->len - r->pos) {
        r->pos += (size_t)n;
        return CMN_OK;
    }
    uint64_t at = r->start + r->pos;
    if (n > r->fsize - at)
        return cmn_errf(eb, CMN_E_PARSE, "patch is truncated");
    return rd_seek(r, at + n, eb);
}

/* Container header: entry count and total output bytes, within the limits. */
static enum cmn_err read_header(struct rd *r, const struct cmn_patch_limits *lim, uint64_t *count, uint64_t *total,
                                struct cmn_errbuf *eb)
{
    uint8_t hdr[20];
    enum cmn_err rc = rd_exact(r, hdr, sizeof hdr, eb);
    if (rc)
        return rc;
    if (memcmp(hdr, CMN_PATCH_MAGIC, 8))
        return cmn_errf(eb, CMN_E_PARSE, "not a HotPatch patch (bad magic)");
    *count = get_le(hdr + 8, 4);
    *total = get_le(hdr + 12, 8);
    if (*count > lim->max_entries || *total > lim->max_total)
        return cmn_errf(eb, CMN_E_UNSAFE, "patch declares %" PRIu64 " files / %" PRIu64 " bytes, over the limits",
                        *count, *total);
    return CMN_OK;
}

/* One entry's header (everything before its data). */
struct ent {
    unsigned op;
    uint64_t size, dlen;
    uint8_t sha[CMN_SHA256_BYTES];
    char path[CMN_PATCH_MAX_PATH + 1], bpath[CMN_PATCH_MAX_PATH + 1];
};

/*
 * Read and check entry `i`: op, safe paths in strictly ascending order after
 * `prev` (updated), output size within `*left` of the declared total
 * (decremented), data length consistent with the op. Its line is added to the
 * listing hash `h`, so the listing both passes compute is the content digest
 * of exactly the files the entries create.
 */
static enum cmn_err read_entry(struct rd *r, uint64_t i, char *prev, uint64_t *left, struct ent *e,
                               struct cmn_sha256 *h, struct cmn_errbuf *eb)
{
    uint8_t b[3], t[48];
    enum cmn_err rc = rd_exact(r, b, 3, eb);
    if (rc)
        return rc;
    e->op = b[0];
    size_t pl = (size_t)get_le(b + 1, 2);
    if (e->op < CMN_PATCH_COPY || e->op > CMN_PATCH_ZFULL)
        return cmn_errf(eb, CMN_E_PARSE, "unknown patch operation %u", e->op);
    if (pl == 0 || pl > CMN_PATCH_MAX_PATH)
        return cmn_errf(eb, CMN_E_UNSAFE, "patch entry path length %zu", pl);
    if ((rc = rd_exact(r, e->path, pl, eb)) != CMN_OK)
        return rc;
    e->path[pl] = 0;
    if (memchr(e->path, 0, pl) || cmn_bundle_path_ok(e->path, pl) != 0)
        return cmn_errf(eb, CMN_E_UNSAFE, "unsafe path in patch");
    if (i > 0 && strcmp(prev, e->path) >= 0)
        return cmn_errf(eb, CMN_E_UNSAFE, "patch entries out of order at '%s'", e->path);
    memcpy(prev, e->path, pl + 1);
    if ((rc = rd_exact(r, b, 2, eb)) != CMN_OK)
        return rc;
    size_t bl = (size_t)get_le(b, 2);
    if ((e->op == CMN_PATCH_ZFULL) != (bl == 0) || bl > CMN_PATCH_MAX_PATH)
        return cmn_errf(eb, CMN_E_PARSE, "bad base path length for '%s'", e->path);
    if ((rc = rd_exact(r, e->bpath, bl, eb)) != CMN_OK)
        return rc;
    e->bpath[bl] = 0;
    if (bl && (memchr(e->bpath, 0, bl) || cmn_bundle_path_ok(e->bpath, bl) != 0))
        return cmn_errf(eb, CMN_E_UNSAFE, "unsafe base path in patch");
    if ((rc = rd_exact(r, t, sizeof t, eb)) != CMN_OK)
        return rc;
    e->size = get_le(t, 8);
    memcpy(e->sha, t + 8, CMN_SHA256_BYTES);
    e->dlen = get_le(t + 40, 8);
    if (e->size > *left)
        return cmn_errf(eb, CMN_E_UNSAFE, "patch entry '%s' exceeds the declared total", e->path);
    *left -= e->size;
    if ((e->op == CMN_PATCH_COPY) != (e->dlen == 0))
        return cmn_errf(eb, CMN_E_PARSE, "bad data length for '%s'", e->path);
    listing_line(h, e->sha, e->size, e->path);
    return CMN_OK;
}

/* After the last entry: the sizes add up and nothing follows. */
static enum cmn_err read_end(struct rd *r, uint64_t left, uint64_t total, struct cmn_errbuf *eb)
{
    if (left != 0)
        return cmn_errf(eb, CMN_E_PARSE, "patch files add up to %" PRIu64 " bytes, declared %" PRIu64, total - left,
                        total);
    enum cmn_err rc = rd_fill(r, eb);
    if (rc)
        return rc;
    if (r->pos != r->len)
        return cmn_errf(eb, CMN_E_PARSE, "trailing bytes after the last patch entry");
    return CMN_OK;
}

/* The listing pass: every entry header, data skipped; `out` = the content digest the entries declare. */
static enum cmn_err listing_pass(struct rd *r, const struct cmn_patch_limits *lim, uint8_t out[CMN_SHA256_BYTES],
                                 struct ent *e, struct cmn_errbuf *eb)
{
    char prev[CMN_PATCH_MAX_PATH + 1] = "";
    uint64_t count, total, left;
    struct cmn_sha256 h;
    cmn_sha256_init(&h);
    enum cmn_err rc = read_header(r, lim, &count, &total, eb);
    left = total;
    for (uint64_t i = 0; !rc && i < count; i++) {
        rc = read_entry(r, i, prev, &left, e, &h, eb);
        if (!rc)
            rc = rd_skip(r, e->dlen, eb);
    }
    if (!rc)
        rc = read_end(r, left, total, eb);
    cmn_sha256_final(&h, out);
    return rc;
}

static enum cmn_err rd_open(struct rd *r, const char *patch_path, struct cmn_errbuf *eb)
{
    r->fd = open(patch_path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return cmn_errf(eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot open patch '%s': %s", patch_path,
                        strerror(errno));
    struct stat sb;
    if (fstat(r->fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return cmn_errf(eb, CMN_E_IO, "patch '%s' is not a regular file", patch_path);
    r->fsize = (uint64_t)sb.st_size;
    r->start = 0;
    r->pos = r->len = 0;
    r->eof = 0;
    return CMN_OK;
}

enum cmn_err cmn_patch_content(const char *patch_path, const struct cmn_patch_limits *lim,
                               uint8_t out[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
{
    struct cmn_patch_limits dl;
    if (!lim) {
        cmn_patch_limits_default(&dl);
        lim = &dl;
    }
    struct rd *r = malloc(sizeof *r);
    struct ent *e = malloc(sizeof *e);
    enum cmn_err rc = r && e ? CMN_OK : CMN_E_NOMEM;
    if (r)
        r->fd = -1;
    if (!rc)
        rc = rd_open(r, patch_path, eb);
    if (!rc)
        rc = listing_pass(r, lim, out, e, eb);
    if (r && r->fd >= 0)
        close(r->fd);
    free(r);
    free(e);
    return rc;
}

/* Create out_dir/rel (parents 0755) with O_EXCL | O_NOFOLLOW. */
static enum cmn_err create_out(const char *out_dir, const char *rel, int *fdp, struct cmn_errbuf *eb)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", out_dir, rel) < 0)
        return CMN_E_NOMEM;
    size_t base = strlen(out_dir) + 1;
    for (char *s = path + base; (s = strchr(s, '/')) != NULL; s++) {
        *s = 0;
        struct stat sb;
        if (mkdir(path, 0755) != 0 && (errno != EEXIST || lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
            enum cmn_err rc = cmn_errf(eb, CMN_E_UNSAFE, "cannot create directory '%s' for a patched file", path);
            free(path);
            return rc;
        }
        *s = '/';
    }
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        enum cmn_err rc = cmn_errf(eb, CMN_E_UNSAFE, "cannot create '%s': %s", path, strerror(errno));
        free(path);
        return rc;
    }
    free(path);
    *fdp = fd;
    return CMN_OK;
}

/* Sink for one output file: counts against the declared size, hashes. */
struct sink {
    int fd, defer_sync;
    uint64_t want, got;
    struct cmn_sha256 h;
    const char *path;
};

static enum cmn_err sink_put(struct sink *k, const void *p, size_t n, struct cmn_errbuf *eb)
{
    if (n > k->want - k->got)
        return cmn_errf(eb, CMN_E_UNSAFE, "patched '%s' grows past its declared %" PRIu64 " bytes", k->path, k->want);
    k->got += n;
    cmn_sha256_update(&k->h, p, n);
    return write_all(k->fd, p, n, eb);
}

static enum cmn_err sink_done(struct sink *k, const uint8_t want_sha[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
{
    if (k->got != k->want)
        return cmn_errf(eb, CMN_E_PARSE, "patched '%s' has %" PRIu64 " bytes, declared %" PRIu64, k->path, k->got,
                        k->want);
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256_final(&k->h, d);
    if (!cmn_ct_equal(d, want_sha, CMN_SHA256_BYTES))
        return cmn_errf(eb, CMN_E_HASH, "patched '%s' does not match its SHA-256", k->path);
    if (k->defer_sync) {
#ifdef SYNC_FILE_RANGE_WRITE
        (void)sync_file_range(k->fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* start the write-back the caller waits for */
#endif
        return CMN_OK;
    }
    if (fsync(k->fd) != 0)
        return cmn_errf(eb, CMN_E_IO, "fsync '%s': %s", k->path, strerror(errno));
    return CMN_OK;
}

static enum cmn_err apply_zstd(struct rd *r, uint64_t dlen, ZSTD_DCtx *dc, const struct map *prefix, struct sink *k,
                               uint8_t *obuf, struct cmn_errbuf *eb)
{
    ZSTD_DCtx_reset(dc, ZSTD_reset_session_only);
    if (prefix && prefix->n) {
        size_t z = ZSTD_DCtx_refPrefix(dc, prefix->p, prefix->n);
        if (ZSTD_isError(z))
            return cmn_errf(eb, CMN_E_IO, "zstd: %s", ZSTD_getErrorName(z));
    }
    size_t last = 1; /* 0 once a frame is complete */
    while (dlen) {
        enum cmn_err rc = rd_fill(r, eb);
        if (rc)
            return rc;
        if (r->pos == r->len)
            return cmn_errf(eb, CMN_E_PARSE, "patch is truncated in '%s'", k->path);
        size_t avail = r->len - r->pos;
        if (avail > dlen)
            avail = (size_t)dlen;
        ZSTD_inBuffer in = {r->buf + r->pos, avail, 0};
        while (in.pos < in.size) {
            if (last == 0)
                return cmn_errf(eb, CMN_E_PARSE, "data after the zstd frame of '%s'", k->path);
            ZSTD_outBuffer out = {obuf, IO_BLOCK, 0};
            last = ZSTD_decompressStream(dc, &out, &in);
            if (ZSTD_isError(last))
                return cmn_errf(eb, CMN_E_PARSE, "bad zstd data for '%s': %s", k->path, ZSTD_getErrorName(last));
            rc = sink_put(k, obuf, out.pos, eb);
            if (rc)
                return rc;
        }
        r->pos += avail;
        dlen -= avail;
    }
    /* Flush what the decoder still holds for a complete frame. */
    while (last != 0) {
        ZSTD_inBuffer in = {NULL, 0, 0};
        ZSTD_outBuffer out = {obuf, IO_BLOCK, 0};
        last = ZSTD_decompressStream(dc, &out, &in);
        if (ZSTD_isError(last))
            return cmn_errf(eb, CMN_E_PARSE, "bad zstd data for '%s': %s", k->path, ZSTD_getErrorName(last));
        enum cmn_err rc = sink_put(k, obuf, out.pos, eb);
        if (rc)
            return rc;
        if (out.pos == 0 && last != 0)
            return cmn_errf(eb, CMN_E_PARSE, "zstd frame of '%s' is truncated", k->path);
    }
    return CMN_OK;
}

/* Give back the resident pages of [p, p + n) of a file mapping (data stays in the page cache). */
static void map_drop(const void *p, size_t n)
{
#ifdef MADV_DONTNEED
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    n -= n % pg;
    if (p && n)
        (void)madvise((void *)p, n, MADV_DONTNEED);
#else
    (void)p, (void)n;
#endif
}

/*
 * Reserve the blocks of an output file before it is written through a
 * mapping, so a full disk is an error here and not a SIGBUS later. 1 when the
 * file system cannot (the caller writes through write() instead).
 */
static int reserve(int fd, uint64_t n, enum cmn_err *rc, const char *path, struct cmn_errbuf *eb)
{
#if defined(__linux__)
    int e = posix_fallocate(fd, 0, (off_t)n);
    if (e == 0)
        return 0;
    if (e == EOPNOTSUPP || e == ENOSYS || e == EINVAL)
        return 1;
    *rc = cmn_errf(eb, CMN_E_IO, "cannot reserve %" PRIu64 " bytes for '%s': %s", n, path, strerror(e));
    return -1;
#else
    (void)fd, (void)n, (void)rc, (void)path, (void)eb;
    return 1;
#endif
}

/*
 * Decode one zstd frame straight into the output file mapped MAP_SHARED (the
 * decoder's window is the mapping: ZSTD_d_stableOutBuffer), hashing as it
 * goes and dropping the pages of the base and the output behind it, so the
 * resident set stays a few MiB whatever the file size. The mapping is exactly
 * the declared size: a frame that wants more is refused.
 */
static enum cmn_err apply_zstd_mapped(struct rd *r, uint64_t dlen, ZSTD_DCtx *dc, const struct map *prefix,
                                      struct sink *k, struct cmn_errbuf *eb)
{
    if ((uint64_t)(size_t)k->want != k->want)
        return cmn_errf(eb, CMN_E_TOOBIG, "'%s' is too big to map", k->path);
    uint8_t *om = mmap(NULL, (size_t)k->want, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
    if (om == MAP_FAILED)
        return cmn_errf(eb, CMN_E_IO, "cannot map '%s': %s", k->path, strerror(errno));
    enum cmn_err rc = CMN_OK;
    ZSTD_DCtx_reset(dc, ZSTD_reset_session_only);
    size_t z = ZSTD_DCtx_setParameter(dc, ZSTD_d_stableOutBuffer, 1);
    if (!ZSTD_isError(z) && prefix && prefix->n)
        z = ZSTD_DCtx_refPrefix(dc, prefix->p, prefix->n);
    if (ZSTD_isError(z)) {
        rc = cmn_errf(eb, CMN_E_IO, "zstd: %s", ZSTD_getErrorName(z));
        goto out;
    }
    ZSTD_outBuffer out = {om, (size_t)k->want, 0};
    size_t hashed = 0, dropped = 0, last = 1; /* 0 once a frame is complete */
    int flushing = 0;
    while (!rc && (dlen || (flushing = 1, last != 0))) {
        ZSTD_inBuffer in = {NULL, 0, 0};
        if (!flushing) {
            if ((rc = rd_fill(r, eb)) != CMN_OK)
                break;
            if (r->pos == r->len) {
                rc = cmn_errf(eb, CMN_E_PARSE, "patch is truncated in '%s'", k->path);
                break;
            }
            in.src = r->buf + r->pos;
            in.size = r->len - r->pos < dlen ? r->len - r->pos : (size_t)dlen;
            /* Small slices: a few hundred bytes of matches can stand for MiBs of output. */
            if (in.size > FEED_SLICE)
                in.size = FEED_SLICE;
        }
        if (last == 0) {
            rc = cmn_errf(eb, CMN_E_PARSE, "data after the zstd frame of '%s'", k->path);
            break;
        }
        size_t before = out.pos;
        last = ZSTD_decompressStream(dc, &out, &in);
        if (ZSTD_isError(last)) {
            rc = ZSTD_getErrorCode(last) == ZSTD_error_dstSize_tooSmall
                     ? cmn_errf(eb, CMN_E_UNSAFE, "patched '%s' grows past its declared %" PRIu64 " bytes", k->path,
                                k->want)
                     : cmn_errf(eb, CMN_E_PARSE, "bad zstd data for '%s': %s", k->path, ZSTD_getErrorName(last));
            break;
        }
        cmn_sha256_update(&k->h, om + hashed, out.pos - hashed);
        hashed = out.pos;
        k->got = out.pos;
        r->pos += in.pos;
        dlen -= in.pos;
        if (last != 0 && in.pos == 0 && out.pos == before) {
            /* No progress: the output is full, or (flushing) the frame ends early. */
            rc = out.pos == out.size
                     ? cmn_errf(eb, CMN_E_UNSAFE, "patched '%s' grows past its declared %" PRIu64 " bytes", k->path,
                                k->want)
                     : cmn_errf(eb, CMN_E_PARSE, "zstd frame of '%s' is truncated", k->path);
            break;
        }
        if (out.pos - dropped >= DROP_EVERY) {
            map_drop(om, out.pos);
            if (prefix)
                map_drop(prefix->p, prefix->n);
            dropped = out.pos;
        }
    }
#ifndef __linux__
    if (!rc && msync(om, (size_t)k->want, MS_SYNC) != 0)
        rc = cmn_errf(eb, CMN_E_IO, "msync '%s': %s", k->path, strerror(errno));
#endif
out:
    munmap(om, (size_t)k->want);
    ZSTD_DCtx_reset(dc, ZSTD_reset_session_only);
    (void)ZSTD_DCtx_setParameter(dc, ZSTD_d_stableOutBuffer, 0); /* the window cap stays as set */
    return rc;
}

/* COPY: the base file through a small buffer (its SHA-256 is checked by the sink). */
static enum cmn_err copy_base(const char *base_dir, const char *rel, struct sink *k, uint8_t *buf,
                              struct cmn_errbuf *eb)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", base_dir, rel) < 0)
        return CMN_E_NOMEM;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    enum cmn_err rc = CMN_OK;
    struct stat sb;
    if (fd < 0)
        rc = cmn_errf(eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot open base file '%s': %s", path,
                      strerror(errno));
    else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        rc = cmn_errf(eb, CMN_E_UNSAFE, "base file '%s' is not a regular file", path);
    else if ((uint64_t)sb.st_size != k->want)
        rc = cmn_errf(eb, CMN_E_HASH, "base file '%s' has the wrong size", rel);
    while (!rc) {
        ssize_t n = read(fd, buf, IO_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", path, strerror(errno));
        else if (n == 0)
            break;
        else
            rc = sink_put(k, buf, (size_t)n, eb);
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* Write entry `e` (its data is next in `r`) into out_dir, checking its size and SHA-256. */
static enum cmn_err apply_entry(struct rd *r, const struct ent *e, const char *base_dir, const char *out_dir,
                                ZSTD_DCtx *dc, uint8_t *obuf, int defer_sync, struct cmn_patch_stats *s,
                                struct cmn_errbuf *eb)
{
    struct sink k = {.want = e->size, .path = e->path, .fd = -1, .defer_sync = defer_sync};
    struct map bm = {0};
    enum cmn_err rc = CMN_OK;
    cmn_sha256_init(&k.h);
    if (e->op == CMN_PATCH_ZDIFF && (rc = map_open(base_dir, e->bpath, &bm, eb)) != CMN_OK)
        return rc;
    rc = create_out(out_dir, e->path, &k.fd, eb);
    if (!rc) {
        if (e->op == CMN_PATCH_COPY) {
            rc = copy_base(base_dir, e->bpath, &k, obuf, eb);
            s->copied++;
        } else {
            const struct map *pre = e->op == CMN_PATCH_ZDIFF ? &bm : NULL;
            int plain = e->size < DROP_EVERY || reserve(k.fd, e->size, &rc, e->path, eb) != 0;
            if (!rc)
                rc = plain ? apply_zstd(r, e->dlen, dc, pre, &k, obuf, eb)
                           : apply_zstd_mapped(r, e->dlen, dc, pre, &k, eb);
            if (e->op == CMN_PATCH_ZDIFF)
                s->diffed++;
            else
                s->full++;
        }
    }
    if (!rc)
        rc = sink_done(&k, e->sha, eb);
    if (k.fd >= 0)
        close(k.fd);
    map_close(&bm);
    return rc;
}

/* The listing hashed while applying is the digest of out_dir only if nothing else is in it. */
static enum cmn_err dir_empty(const char *dir, struct cmn_errbuf *eb)
{
    DIR *d = opendir(dir);
    if (!d)
        return cmn_errf(eb, CMN_E_IO, "cannot open output directory '%s': %s", dir, strerror(errno));
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n ? cmn_errf(eb, CMN_E_UNSAFE, "output directory '%s' is not empty", dir) : CMN_OK;
}

enum cmn_err cmn_patch_apply(const char *patch_path, const char *base_dir, const char *out_dir,
                             const uint8_t content_sha256[CMN_SHA256_BYTES], const struct cmn_patch_limits *lim,
                             struct cmn_patch_stats *st, struct cmn_errbuf *eb)
{
    struct cmn_patch_limits dl;
    if (!lim) {
        cmn_patch_limits_default(&dl);
        lim = &dl;
    }
    if (!content_sha256)
        return cmn_errf(eb, CMN_E_INVAL, "a patch is applied only against an expected content digest");
    struct cmn_patch_stats s = {0};
    struct rd *r = malloc(sizeof *r);
    struct ent *e = malloc(sizeof *e);
    uint8_t *obuf = malloc(IO_BLOCK);
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    char prev[CMN_PATCH_MAX_PATH + 1] = "";
    uint8_t d[CMN_SHA256_BYTES];
    uint64_t count, total, left;
    struct cmn_sha256 h;
    enum cmn_err rc = r && e && obuf && dc ? CMN_OK : CMN_E_NOMEM;
    if (r)
        r->fd = -1;
    if (rc)
        goto out;
    if ((rc = rd_open(r, patch_path, eb)) != CMN_OK || (rc = dir_empty(out_dir, eb)) != CMN_OK)
        goto out;
    size_t z = ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, (int)lim->window_log_max);
    if (ZSTD_isError(z)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "zstd window cap %u: %s", lim->window_log_max, ZSTD_getErrorName(z));
        goto out;
    }
    /*
     * Pass 1, before anything is written: the files the entries declare
     * (paths, sizes, SHA-256s) must be exactly the content the caller expects
     * (a digest the release key signed).
     */
    if ((rc = listing_pass(r, lim, d, e, eb)) != CMN_OK)
        goto out;
    if (!cmn_ct_equal(d, content_sha256, CMN_SHA256_BYTES)) {
        rc = cmn_errf(eb, CMN_E_HASH, "patch does not produce the expected content digest");
        goto out;
    }
    /*
     * Pass 2 writes. Each file is checked against its declared SHA-256 as it
     * is written, and the listing is hashed again from the headers read now:
     * if the file changed between the passes, the result is refused.
     */
    if ((rc = rd_seek(r, 0, eb)) != CMN_OK || (rc = read_header(r, lim, &count, &total, eb)) != CMN_OK)
        goto out;
    cmn_sha256_init(&h);
    left = total;
    for (uint64_t i = 0; i < count; i++)
        if ((rc = read_entry(r, i, prev, &left, e, &h, eb)) != CMN_OK ||
            (rc = apply_entry(r, e, base_dir, out_dir, dc, obuf, lim->defer_sync, &s, eb)) != CMN_OK)
            goto out;
    if ((rc = read_end(r, left, total, eb)) != CMN_OK)
        goto out;
    cmn_sha256_final(&h, d);
    if (!cmn_ct_equal(d, content_sha256, CMN_SHA256_BYTES)) {
        rc = cmn_errf(eb, CMN_E_HASH, "patched files do not match the expected content digest");
        goto out;
    }
    s.out_bytes = total;
    if (st)
        *st = s;
out:
    if (r && r->fd >= 0)
        close(r->fd);
    free(r);
    free(e);
    free(obuf);
    ZSTD_freeDCtx(dc);
    return rc;
}
