#include "common/compat.h"

/*
 * extract.c - safe extraction of a bundle zip into an empty staging directory.
 *
 * The archive has already passed its SHA-256 and signature checks when this
 * runs, but the extractor still treats it as hostile (a release key can leak,
 * and the fuzz target feeds it arbitrary bytes). Before writing anything, every
 * central-directory entry is checked: a relative name made of plain components
 * (no "..", ".", empty component, leading '/', backslash, drive letter or
 * control character, checked on the raw name bytes too, since libzip turns a
 * NUL into a space), no symlink / device / FIFO / socket type in the Unix
 * external attributes, no encryption, no duplicate name, an entry count cap, a
 * cap on the sum of declared uncompressed sizes and a compression-ratio cap
 * (zip bombs). While writing, the bytes actually produced are counted against
 * the declared size, and libzip checks each entry's CRC, which catches a
 * truncated or doctored archive. Files are created with O_EXCL | O_NOFOLLOW
 * (mode 0644, directories 0755); the whole tree is made durable at the end in
 * one step (hp__fsync_tree), not file by file.
 */

#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "common/patch.h"
#include "hp_int.h"

void hp__extract_limits_default(struct hp_extract_limits *l)
{
    l->max_total = UINT64_C(512) << 20;
    l->max_entries = 20000;
    l->max_ratio = 200;
    l->ratio_floor = UINT64_C(1) << 20;
    l->max_name = 1024;
    l->after_entry = NULL;
    l->ctx = NULL;
}

int hp__zip_name_ok(const char *name, int *is_dir)
{
    /* One rule for bundle paths, shared with the patch container. */
    size_t n = strlen(name);
    *is_dir = n > 0 && name[n - 1] == '/';
    return cmn_bundle_path_ok(name, *is_dir ? n - 1 : n) == 0 ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Create the parent directories of dest/rel (rel is validated), refusing anything that is not a real dir. */
static enum cmn_err mkdirs(const char *dest, const char *rel, int include_last, struct cmn_errbuf *eb)
{
    size_t dl = strlen(dest), rl = strlen(rel);
    char *p = malloc(dl + rl + 2);
    enum cmn_err rc = CMN_OK;
    if (!p)
        return CMN_E_NOMEM;
    memcpy(p, dest, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, rel, rl + 1);
    size_t total = dl + 1 + rl;
    if (total > 0 && p[total - 1] == '/')
        p[--total] = '\0';
    for (size_t i = dl + 1; i <= total; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i] == '\0' && !include_last)
            break;
        char save = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0) {
            struct stat sb;
            if (errno != EEXIST || lstat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                rc = cmn_errf(eb, CMN_E_UNSAFE, "cannot create directory for entry '%s'", rel);
                break;
            }
        }
        p[i] = save;
        if (save == '\0')
            break;
    }
    free(p);
    return rc;
}

/* fsync every file and directory of the freshly written tree (all of them are ours), deepest first. */
static int fsync_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_DP)
        return hp__fsync_dir(path, NULL) == CMN_OK ? 0 : -1;
    if (flag != FTW_F || !S_ISREG(sb->st_mode))
        return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/*
 * syncfs() when it is cheaper and as safe: on Linux (not Android, whose
 * bionic lacks it before API 28 and whose f2fs makes per-file fsync cheap),
 * on a local file system that implements it (ext4, xfs, btrfs, f2fs), for a
 * tree of more than 32 files. One call writes back everything dirty on the
 * file system and issues one cache flush, where the per-file pass pays a
 * journal check and often a device flush per file: on the 400-file bench
 * bundle the install took 1.45 s instead of 2.31 s (median of 8, alternating,
 * load 9). It also waits for other processes' dirty data on the same file
 * system, which bounds it by the kernel's dirty limits, not by the bundle.
 * Since Linux 5.8 syncfs reports write-back errors; an error fails the install.
 */
#if defined(__linux__) && !defined(__ANDROID__)
#include <sys/vfs.h>
#endif

int hp__syncfs_fits(unsigned long fs_type, size_t nfiles)
{
#if defined(__linux__) && !defined(__ANDROID__)
    switch (fs_type) {
    case 0xEF53UL:     /* ext2/3/4 */
    case 0x58465342UL: /* xfs */
    case 0x9123683EUL: /* btrfs */
    case 0xF2F52010UL: /* f2fs */
        return nfiles > 32;
    default:
        return 0;
    }
#else
    (void)fs_type;
    (void)nfiles;
    return 0;
#endif
}

/*
 * Make a freshly written tree durable, before the journal records it: the
 * files were written without a per-file fsync (on Linux their write-back was
 * started as each one was written), so here either one syncfs() (above), or
 * one pass that fsyncs every file, then every directory deepest first; by
 * then most data is on its way and the first fsync's journal commit carries
 * the others' metadata. The caller knows how many files it wrote (the tree
 * is not walked again to count them); the count only picks the cheaper way,
 * both make the whole tree durable.
 */
enum cmn_err hp__fsync_tree(const char *dest, size_t nfiles, struct cmn_errbuf *eb)
{
#if defined(__linux__) && !defined(__ANDROID__)
    struct statfs fs;
    if (statfs(dest, &fs) == 0 && hp__syncfs_fits((unsigned long)fs.f_type, nfiles)) {
        int fd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            int r = syncfs(fd), e = errno;
            close(fd);
            if (r == 0)
                return CMN_OK;
            if (e != ENOSYS)
                return cmn_errf(eb, CMN_E_IO, "cannot sync the files of '%s': %s", dest, strerror(e));
        }
    }
#endif
    if (nftw(dest, fsync_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return cmn_errf(eb, CMN_E_IO, "cannot fsync the files of '%s'", dest);
    return CMN_OK;
}

static enum cmn_err write_entry(zip_t *za, zip_uint64_t idx, const char *dest, const char *name, uint64_t declared,
                                uint64_t *written_total, const struct hp_extract_limits *lim, struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    char buf[16384];
    int fd = -1;
    char *path = NULL;
    zip_file_t *zf = NULL;
    uint64_t got = 0;

    rc = mkdirs(dest, name, 0, eb);
    if (rc)
        return rc;
    path = hp__path(dest, name);
    if (!path)
        return CMN_E_NOMEM;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = cmn_errf(eb, errno == EEXIST ? CMN_E_UNSAFE : CMN_E_IO, "cannot create entry '%s': %s", name,
                      strerror(errno));
        goto out;
    }
    zf = zip_fopen_index(za, idx, 0);
    if (!zf) {
        rc = cmn_errf(eb, CMN_E_UNSAFE, "cannot read entry '%s': %s", name, zip_strerror(za));
        goto out;
    }
    for (;;) {
        zip_int64_t r = zip_fread(zf, buf, sizeof buf);
        if (r < 0) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "corrupt entry '%s': %s", name, zip_file_strerror(zf));
            goto out;
        }
        if (r == 0)
            break;
        got += (uint64_t)r;
        *written_total += (uint64_t)r;
        if (got > declared || *written_total > lim->max_total) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "entry '%s' expands beyond its declared size", name);
            goto out;
        }
        const char *q = buf;
        size_t left = (size_t)r;
        while (left) {
            ssize_t w = write(fd, q, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", path, strerror(errno));
                goto out;
            }
            q += w;
            left -= (size_t)w;
        }
    }
    if (got != declared) {
        rc = cmn_errf(eb, CMN_E_UNSAFE, "entry '%s' is truncated", name);
        goto out;
    }
    /* Durable later, all files at once (hp__fsync_tree, before the journal commit); start the write-back now. */
#ifdef SYNC_FILE_RANGE_WRITE
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
out:
    if (zf)
        zip_fclose(zf);
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* ---- the raw central directory (libzip replaces a NUL in a name by a space) ---- */

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
            uint64_t z = rd64(p + e - 20 + 8);
            if (z > n || n - z < 56 || rd32(p + z) != 0x06064b50u)
                return -1;
            *count = rd64(p + z + 32);
            *cd_len = rd64(p + z + 40);
            *cd_off = rd64(p + z + 48);
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
static enum cmn_err raw_names_check(zip_t *za, zip_int64_t n, const uint8_t *p, size_t len, struct cmn_errbuf *eb)
{
    uint64_t off, cdlen, count;
    if (!p)
        return cmn_errf(eb, CMN_E_UNSAFE, "cannot read the archive's raw directory");
    if (raw_cd_find(p, len, &off, &cdlen, &count) != 0 || count != (uint64_t)n || off > len || cdlen > len - off)
        return cmn_errf(eb, CMN_E_UNSAFE, "cannot read the archive's raw directory");
    const uint64_t end = off + cdlen;
    for (zip_int64_t i = 0; i < n; i++) {
        if (end - off < 46 || rd32(p + off) != 0x02014b50u)
            return cmn_errf(eb, CMN_E_UNSAFE, "raw directory entry %lld is malformed", (long long)i);
        size_t nl = rd16(p + off + 28), xl = rd16(p + off + 30), cl = rd16(p + off + 32);
        uint64_t loc = rd32(p + off + 42);
        if (end - off - 46 < (uint64_t)nl + xl + cl)
            return cmn_errf(eb, CMN_E_UNSAFE, "raw directory entry %lld is malformed", (long long)i);
        const uint8_t *name = p + off + 46;
        const char *zn = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!zn || strlen(zn) != nl)
            return cmn_errf(eb, CMN_E_UNSAFE, "raw directory entry %lld does not match the archive", (long long)i);
        for (size_t k = 0; k < nl; k++) {
            if (name[k] == '\0')
                return cmn_errf(eb, CMN_E_UNSAFE, "entry name '%.200s' contains a NUL byte", zn);
            if ((char)name[k] != zn[k])
                return cmn_errf(eb, CMN_E_UNSAFE, "raw directory entry %lld does not match the archive", (long long)i);
        }
        /* ZIP64 local offsets live in the extra field; only the 32-bit form is checked here. */
        if (loc != 0xffffffffu) {
            if (loc > len || len - loc < 30 || rd32(p + loc) != 0x04034b50u)
                return cmn_errf(eb, CMN_E_UNSAFE, "local header of '%.200s' is malformed", zn);
            size_t ll = rd16(p + loc + 26);
            if (len - loc - 30 < ll || memchr(p + loc + 30, 0, ll))
                return cmn_errf(eb, CMN_E_UNSAFE, "local header name of '%.200s' is malformed", zn);
        }
        off += 46 + (uint64_t)nl + xl + cl;
    }
    return CMN_OK;
}

static enum cmn_err extract(zip_t *za, const uint8_t *raw, size_t rawlen, const char *dest,
                            const struct hp_extract_limits *lim, struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    zip_int64_t n = zip_get_num_entries(za, 0);
    char **names = NULL;
    uint64_t total = 0, written = 0;
    size_t nfiles = 0;

    if (n < 0)
        return cmn_errf(eb, CMN_E_UNSAFE, "cannot read the archive directory");
    if (n == 0)
        return cmn_errf(eb, CMN_E_UNSAFE, "archive is empty");
    if ((uint64_t)n > lim->max_entries)
        return cmn_errf(eb, CMN_E_UNSAFE, "archive has %lld entries, more than %llu", (long long)n,
                        (unsigned long long)lim->max_entries);
    rc = raw_names_check(za, n, raw, rawlen, eb);
    if (rc)
        return rc;
    names = calloc((size_t)n, sizeof *names);
    if (!names)
        return CMN_E_NOMEM;

    /* Pass 1: validate everything before writing a single byte. */
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t zs;
        int is_dir = 0;
        zip_uint8_t opsys = 0;
        zip_uint32_t attr = 0;
        zip_stat_init(&zs);
        if (zip_stat_index(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME) ||
            !(zs.valid & ZIP_STAT_SIZE) || !(zs.valid & ZIP_STAT_COMP_SIZE)) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "cannot read entry %lld", (long long)i);
            goto out;
        }
        if (strlen(zs.name) > lim->max_name || hp__zip_name_ok(zs.name, &is_dir) != 0) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "unsafe entry name '%.200s'", zs.name);
            goto out;
        }
        if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) && zs.encryption_method != ZIP_EM_NONE) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "encrypted entry '%.200s'", zs.name);
            goto out;
        }
        if (zip_file_get_external_attributes(za, (zip_uint64_t)i, 0, &opsys, &attr) != 0) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "cannot read attributes of '%.200s'", zs.name);
            goto out;
        }
        if (opsys == ZIP_OPSYS_UNIX) {
            unsigned mode = (attr >> 16) & 0xffffu;
            unsigned type = mode & S_IFMT;
            if (type == S_IFLNK) {
                rc = cmn_errf(eb, CMN_E_UNSAFE, "symlink entry '%.200s' refused", zs.name);
                goto out;
            }
            if (type != 0 && type != S_IFREG && type != S_IFDIR) {
                rc = cmn_errf(eb, CMN_E_UNSAFE, "special file entry '%.200s' refused", zs.name);
                goto out;
            }
            if ((type == S_IFDIR && !is_dir) || (type == S_IFREG && is_dir)) {
                rc = cmn_errf(eb, CMN_E_UNSAFE, "entry '%.200s' type does not match its name", zs.name);
                goto out;
            }
        }
        if (is_dir && zs.size != 0) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "directory entry '%.200s' has data", zs.name);
            goto out;
        }
        total += zs.size;
        if (zs.size > lim->max_total || total > lim->max_total) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "archive expands to more than %llu bytes",
                          (unsigned long long)lim->max_total);
            goto out;
        }
        if (zs.size > lim->ratio_floor && (zs.comp_size == 0 || zs.size / zs.comp_size > lim->max_ratio)) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "entry '%.200s' compression ratio too high (zip bomb?)", zs.name);
            goto out;
        }
        names[i] = strdup(zs.name);
        if (!names[i]) {
            rc = CMN_E_NOMEM;
            goto out;
        }
    }
    {
        char **sorted = malloc((size_t)n * sizeof *sorted);
        if (!sorted) {
            rc = CMN_E_NOMEM;
            goto out;
        }
        memcpy(sorted, names, (size_t)n * sizeof *sorted);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
        for (zip_int64_t i = 1; i < n; i++) {
            size_t la = strlen(sorted[i - 1]);
            /* "a" and "a/" name the same path too. */
            if (strcmp(sorted[i - 1], sorted[i]) == 0 ||
                (strncmp(sorted[i - 1], sorted[i], la) == 0 && strcmp(sorted[i] + la, "/") == 0)) {
                rc = cmn_errf(eb, CMN_E_UNSAFE, "duplicate entry '%.200s'", sorted[i]);
                break;
            }
        }
        free(sorted);
        if (rc)
            goto out;
    }

    /* Pass 2: write. */
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t zs;
        size_t len = strlen(names[i]);
        if (names[i][len - 1] == '/') {
            rc = mkdirs(dest, names[i], 1, eb);
        } else {
            nfiles++;
            zip_stat_init(&zs);
            if (zip_stat_index(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW, &zs) != 0) {
                rc = cmn_errf(eb, CMN_E_UNSAFE, "cannot read entry '%.200s'", names[i]);
                goto out;
            }
            rc = write_entry(za, (zip_uint64_t)i, dest, names[i], zs.size, &written, lim, eb);
        }
        if (rc)
            goto out;
        if (lim->after_entry)
            lim->after_entry(lim->ctx, (size_t)i, (size_t)n);
    }
    rc = hp__fsync_tree(dest, nfiles, eb);
out:
    if (names)
        for (zip_int64_t i = 0; i < n; i++)
            free(names[i]);
    free(names);
    return rc;
}

static enum cmn_err open_err(int zerr, struct cmn_errbuf *eb)
{
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    enum cmn_err rc = cmn_errf(eb, CMN_E_UNSAFE, "not a valid zip archive: %s", zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return rc;
}

enum cmn_err hp__extract_file(const char *zip_path, const char *dest, const struct hp_extract_limits *lim,
                              struct cmn_errbuf *eb)
{
    int zerr = 0;
    zip_t *za = zip_open(zip_path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!za)
        return open_err(zerr, eb);
    /* The raw bytes, for the name check libzip cannot do (see raw_names_check). */
    void *map = NULL;
    size_t maplen = 0;
    int fd = open(zip_path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size > 0) {
        maplen = (size_t)sb.st_size;
        map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
            map = NULL;
    }
    if (fd >= 0)
        close(fd);
    enum cmn_err rc = extract(za, map, maplen, dest, lim, eb);
    if (map)
        munmap(map, maplen);
    zip_discard(za);
    return rc;
}

enum cmn_err hp__extract_mem(const void *p, size_t n, const char *dest, const struct hp_extract_limits *lim,
                             struct cmn_errbuf *eb)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(p, n, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return CMN_E_NOMEM;
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        int code = zip_error_code_zip(&ze);
        zip_source_free(src);
        zip_error_fini(&ze);
        return open_err(code, eb);
    }
    zip_error_fini(&ze);
    enum cmn_err rc = extract(za, p, n, dest, lim, eb);
    zip_discard(za); /* frees src */
    return rc;
}
