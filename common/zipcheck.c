/*
 * zipcheck.c - the one checking pass over a hostile bundle zip, shared by
 * the SDK's extractor and the publisher's and CLI's content listing (see
 * common/include/common/zipcheck.h): what one side accepts, the other does.
 *
 * libzip reads names for us, but it turns a NUL byte in a name into a space,
 * so the raw central directory is read here too and the two must agree
 * entry by entry; that is why a zip is opened over bytes this file can see
 * (a read-only mapping of a file, or the caller's buffer).
 */
#include "common/compat.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "common/patch.h"
#include "common/zipcheck.h"

void cmn_zip_limits_default(struct cmn_zip_limits *l)
{
    l->max_total = CMN_ZIP_MAX_TOTAL;
    l->max_entries = CMN_ZIP_MAX_ENTRIES;
    l->max_ratio = CMN_ZIP_MAX_RATIO;
    l->ratio_floor = CMN_ZIP_RATIO_FLOOR;
}

/* ------------------------------------------------------------ open */

enum cmn_err cmn_zip_open_mem(struct cmn_zip *z, const void *p, size_t n, struct cmn_errbuf *eb)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(n ? p : "", n, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return CMN_E_NOMEM;
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        int code = zip_error_code_zip(&ze);
        enum cmn_err rc;
        zip_source_free(src);
        if (code == ZIP_ER_MEMORY)
            rc = CMN_E_NOMEM;
        else if (code == ZIP_ER_EXISTS) /* what ZIP_CHECKCONS makes of a name in the directory twice */
            rc = cmn_errf(eb, CMN_E_UNSAFE, "zip lists an entry name twice");
        else
            rc = cmn_errf(eb, CMN_E_PARSE, "not a zip archive: %s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    *z = (struct cmn_zip){.za = za, .raw = n ? p : (const uint8_t *)"", .len = n};
    return CMN_OK;
}

enum cmn_err cmn_zip_open_file(struct cmn_zip *z, const char *path, struct cmn_errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        enum cmn_err rc = cmn_errf(eb, CMN_E_IO, "cannot open zip '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return cmn_errf(eb, CMN_E_IO, "cannot map zip '%s': not a regular file of a mappable size", path);
    }
    size_t len = (size_t)sb.st_size;
    void *map = NULL;
    if (len) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            enum cmn_err rc = cmn_errf(eb, CMN_E_IO, "cannot map zip '%s': %s", path, strerror(errno));
            close(fd);
            return rc;
        }
    }
    close(fd);
    enum cmn_err rc = cmn_zip_open_mem(z, map, len, eb);
    if (rc) {
        if (map)
            munmap(map, len);
        return rc;
    }
    z->map = map;
    return CMN_OK;
}

void cmn_zip_close(struct cmn_zip *z)
{
    if (!z)
        return;
    if (z->za)
        zip_discard(z->za); /* frees the source */
    if (z->map)
        munmap(z->map, z->len);
    *z = (struct cmn_zip){0};
}

/* ------------------------------------------------------------ the raw central directory */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/*
 * Find the central directory the way a reader must: the last end-of-central-
 * directory record (with its ZIP64 counterpart when the 32-bit fields are
 * saturated). 0 with *cd_off / *cd_len / *count set, -1 when it cannot be read.
 */
static int raw_cd_find(const uint8_t *p, size_t n, uint64_t *cd_off, uint64_t *cd_len, uint64_t *count)
{
    if (n < 22)
        return -1;
    size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
    for (size_t e = n - 22 + 1; e-- > lo;) {
        if (rd32(p + e) != 0x06054b50u)
            continue;
        *count = rd16(p + e + 10);
        *cd_len = rd32(p + e + 12);
        *cd_off = rd32(p + e + 16);
        if (*count == 0xffff || *cd_len == 0xffffffffu || *cd_off == 0xffffffffu) {
            /* ZIP64: locator right before the EOCD, pointing at the ZIP64 EOCD record. */
            if (e < 20 || rd32(p + e - 20) != 0x07064b50u)
                return -1;
            uint64_t zo = rd64(p + e - 20 + 8);
            if (zo > n || n - zo < 56 || rd32(p + zo) != 0x06064b50u)
                return -1;
            *count = rd64(p + zo + 32);
            *cd_len = rd64(p + zo + 40);
            *cd_off = rd64(p + zo + 48);
        }
        return 0;
    }
    return -1;
}

/*
 * Check every entry name's raw bytes in the central directory and in the
 * local header it points at, and that they are the names libzip gave us with
 * NUL bytes turned into spaces: entry i must be the same entry for both, so
 * the check cannot be steered around by a directory only one of us reads.
 */
static enum cmn_err raw_names_check(const struct cmn_zip *z, zip_int64_t n, struct cmn_errbuf *eb)
{
    const uint8_t *p = z->raw;
    const size_t len = z->len;
    uint64_t off, cdlen, count;
    if (!p || raw_cd_find(p, len, &off, &cdlen, &count) != 0 || count != (uint64_t)n || off > len || cdlen > len - off)
        return cmn_errf(eb, CMN_E_UNSAFE, "cannot read the zip's raw directory");
    const uint64_t end = off + cdlen;
    for (zip_int64_t i = 0; i < n; i++) {
        if (end - off < 46 || rd32(p + off) != 0x02014b50u)
            return cmn_errf(eb, CMN_E_UNSAFE, "raw directory entry %lld is malformed", (long long)i);
        size_t nl = rd16(p + off + 28), xl = rd16(p + off + 30), cl = rd16(p + off + 32);
        uint64_t loc = rd32(p + off + 42);
        if (end - off - 46 < (uint64_t)nl + xl + cl)
            return cmn_errf(eb, CMN_E_UNSAFE, "raw directory entry %lld is malformed", (long long)i);
        const uint8_t *name = p + off + 46;
        const char *zn = zip_get_name(z->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!zn || strlen(zn) != nl)
            return cmn_errf(eb, CMN_E_UNSAFE, "raw directory entry %lld does not match the archive", (long long)i);
        /* the index, not the name, in messages: a refused name may hold control characters */
        for (size_t k = 0; k < nl; k++) {
            if (name[k] == '\0')
                return cmn_errf(eb, CMN_E_UNSAFE, "zip entry %lld has a NUL byte in its name", (long long)i);
            if ((char)name[k] != zn[k])
                return cmn_errf(eb, CMN_E_UNSAFE, "raw directory entry %lld does not match the archive", (long long)i);
        }
        /* ZIP64 local offsets live in the extra field; only the 32-bit form is checked here. */
        if (loc != 0xffffffffu) {
            if (loc > len || len - loc < 30 || rd32(p + loc) != 0x04034b50u)
                return cmn_errf(eb, CMN_E_UNSAFE, "local header of zip entry %lld is malformed", (long long)i);
            size_t ll = rd16(p + loc + 26);
            if (len - loc - 30 < ll || memchr(p + loc + 30, 0, ll))
                return cmn_errf(eb, CMN_E_UNSAFE, "local header name of zip entry %lld is malformed", (long long)i);
        }
        off += 46 + (uint64_t)nl + xl + cl;
    }
    return CMN_OK;
}

/* ------------------------------------------------------------ the entry check */

static int ent_cmp(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: the byte order the listing is sorted in. */
    return strcmp(((const struct cmn_zip_entry *)a)->path, ((const struct cmn_zip_entry *)b)->path);
}

/* Check entry i on its own (name, type, encryption, declared sizes) and fill *e (path malloc'd). */
static enum cmn_err ent_check(const struct cmn_zip *z, zip_uint64_t i, const struct cmn_zip_limits *lim,
                              struct cmn_zip_entry *e, struct cmn_errbuf *eb)
{
    zip_stat_t zs;
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    zip_stat_init(&zs);
    if (zip_stat_index(z->za, i, ZIP_FL_ENC_RAW, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME) ||
        !(zs.valid & ZIP_STAT_SIZE) || !(zs.valid & ZIP_STAT_COMP_SIZE))
        return cmn_errf(eb, CMN_E_PARSE, "cannot read zip entry %llu", (unsigned long long)i);
    size_t nl = strlen(zs.name);
    int is_dir = nl > 0 && zs.name[nl - 1] == '/';
    size_t pl = is_dir ? nl - 1 : nl;
    if (nl > CMN_PATCH_MAX_PATH)
        return cmn_errf(eb, CMN_E_UNSAFE, "zip entry %llu has a name longer than %d bytes", (unsigned long long)i,
                        CMN_PATCH_MAX_PATH);
    if (cmn_bundle_path_ok(zs.name, pl) != 0)
        return cmn_errf(eb, CMN_E_UNSAFE, "zip entry %llu has an unsafe name", (unsigned long long)i);
    if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) && zs.encryption_method != ZIP_EM_NONE)
        return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is encrypted", zs.name);
    if (zip_file_get_external_attributes(z->za, i, 0, &opsys, &attr) != 0)
        return cmn_errf(eb, CMN_E_PARSE, "cannot read the attributes of zip entry '%.200s'", zs.name);
    if (opsys == ZIP_OPSYS_UNIX) {
        unsigned type = (attr >> 16) & S_IFMT;
        if (type == S_IFLNK)
            return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is a symlink, not a regular file or directory",
                            zs.name);
        if (type != 0 && type != S_IFREG && type != S_IFDIR)
            return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is not a regular file or directory", zs.name);
        if ((type == S_IFDIR && !is_dir) || (type == S_IFREG && is_dir))
            return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' has a type that does not match its name", zs.name);
    }
    if (is_dir && zs.size != 0)
        return cmn_errf(eb, CMN_E_UNSAFE, "directory entry '%.200s' has data", zs.name);
    if (lim->max_total && zs.size > lim->max_total)
        return cmn_errf(eb, CMN_E_TOOBIG, "zip declares more than %llu bytes", (unsigned long long)lim->max_total);
    if (zs.size > lim->ratio_floor && (zs.comp_size == 0 || zs.size / zs.comp_size > lim->max_ratio))
        return cmn_errf(eb, CMN_E_UNSAFE,
                        "zip entry '%.200s' declares %llu bytes from %llu compressed, a ratio over %llu (zip bomb?)",
                        zs.name, (unsigned long long)zs.size, (unsigned long long)zs.comp_size,
                        (unsigned long long)lim->max_ratio);
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
static enum cmn_err tree_check(const struct cmn_zip_entry *v, size_t n, struct cmn_errbuf *eb)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i - 1].path, v[i].path) == 0)
            return cmn_errf(eb, CMN_E_UNSAFE, "zip lists '%.200s' twice", v[i].path);
    char dir[CMN_PATCH_MAX_PATH + 1]; /* ent_check kept paths to this length */
    struct cmn_zip_entry key = {.path = dir};
    for (size_t i = 0; i < n; i++)
        for (const char *sl = strchr(v[i].path, '/'); sl; sl = strchr(sl + 1, '/')) {
            size_t k = (size_t)(sl - v[i].path);
            memcpy(dir, v[i].path, k);
            dir[k] = '\0';
            const struct cmn_zip_entry *f = bsearch(&key, v, n, sizeof *v, ent_cmp);
            if (f && !f->is_dir)
                return cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is a file and also the directory of '%.200s'",
                                f->path, v[i].path);
        }
    return CMN_OK;
}

enum cmn_err cmn_zip_check(const struct cmn_zip *z, const struct cmn_zip_limits *lim, struct cmn_zip_entry **out,
                           size_t *n_out, struct cmn_errbuf *eb)
{
    struct cmn_zip_entry *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    enum cmn_err rc = CMN_OK;
    zip_int64_t ne = zip_get_num_entries(z->za, 0);
    if (ne < 0)
        return cmn_errf(eb, CMN_E_PARSE, "cannot read the zip's directory");
    if (ne == 0)
        return cmn_errf(eb, CMN_E_PARSE, "zip has no entries");
    if (lim->max_entries && (uint64_t)ne > lim->max_entries)
        return cmn_errf(eb, CMN_E_TOOBIG, "zip has %lld entries, more than %llu", (long long)ne,
                        (unsigned long long)lim->max_entries);
    if ((rc = raw_names_check(z, ne, eb)))
        return rc;
    if (!(v = calloc((size_t)ne, sizeof *v)))
        return CMN_E_NOMEM;
    for (zip_int64_t i = 0; !rc && i < ne; i++) {
        if ((rc = ent_check(z, (zip_uint64_t)i, lim, &v[n], eb)))
            break;
        total += v[n++].size; /* each size is at most max_total (ent_check): no overflow when capped */
        if (lim->max_total && total > lim->max_total)
            rc = cmn_errf(eb, CMN_E_TOOBIG, "zip declares more than %llu bytes", (unsigned long long)lim->max_total);
    }
    if (!rc) {
        qsort(v, n, sizeof *v, ent_cmp);
        rc = tree_check(v, n, eb);
    }
    if (rc) {
        cmn_zip_entries_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return CMN_OK;
}

void cmn_zip_entries_free(struct cmn_zip_entry *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

enum cmn_err cmn_zip_read(const struct cmn_zip *z, const struct cmn_zip_entry *e,
                          enum cmn_err (*sink)(void *ctx, const void *p, size_t n, struct cmn_errbuf *eb), void *ctx,
                          struct cmn_errbuf *eb)
{
    zip_file_t *zf = zip_fopen_index(z->za, e->idx, 0);
    if (!zf)
        return cmn_errf(eb, CMN_E_PARSE, "cannot read zip entry '%.200s': %s", e->path, zip_strerror(z->za));
    char buf[65536];
    uint64_t got = 0;
    zip_int64_t r;
    enum cmn_err rc = CMN_OK;
    while ((r = zip_fread(zf, buf, sizeof buf)) > 0) {
        got += (uint64_t)r;
        if (got > e->size) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' inflates past its declared size", e->path);
            break;
        }
        if ((rc = sink(ctx, buf, (size_t)r, eb)))
            break;
    }
    if (!rc && r < 0)
        rc = cmn_errf(eb, CMN_E_PARSE, "zip entry '%.200s' is corrupt: %s", e->path, zip_file_strerror(zf));
    else if (!rc && got != e->size)
        rc = cmn_errf(eb, CMN_E_UNSAFE, "zip entry '%.200s' is shorter than its declared size", e->path);
    zip_fclose(zf);
    return rc;
}
