/*
 * storage_file.c - the file:// backend: a plain directory tree that any
 * static web server (or the edge) can serve as is.
 *
 * Writes go to a temp file in the destination directory (".hp-tmp.<pid>.<rand>",
 * O_EXCL), are fsynced, then renamed over the key and the directory is
 * fsynced: a reader sees the old or the new object, never a mix, and a
 * process killed mid-put leaves only a temp file, which list ignores and the
 * next put into that directory removes (once its writer's pid is gone).
 * Every put and delete holds an flock on a per-key lock file
 * (<root>/.locks/<sha256(key)>.lock) around read-ETag / compare / rename, so
 * conditional writes are atomic against other processes. The ETag is the hex
 * SHA-256 of the content, computed on demand. Names starting with '.' are the
 * backend's own (keys may not use them: see cmn_storage_key_check).
 */
#include "common/compat.h"

#include <dirent.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/file.h"
#include "common/storage.h"
#include "storage_int.h"

#define TMP_PREFIX ".hp-tmp."
#define COPY_CHUNK (256 * 1024)
#define LIST_MAX_ENTRIES 1000000

struct fstore {
    struct cmn_storage base;
    char *root; /* absolute, no trailing '/' (except "/" itself, stored as "") */
};

static struct fstore *fs_of(struct cmn_storage *st)
{
    return (struct fstore *)st;
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* mkdir -p for the directories of `path` below `root` (root itself exists). */
static enum cmn_err mkdirs(const char *root, char *path, struct cmn_errbuf *eb)
{
    size_t rl = strlen(root);
    for (char *p = path + rl + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        int e = errno;
        if (r != 0 && e == EEXIST) {
            struct stat sb;
            if (lstat(path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
                enum cmn_err rc = cmn_errf(eb, CMN_E_IO, "cannot create directory '%s': a file is in the way", path);
                *p = '/';
                return rc;
            }
        }
        if (r != 0 && e != EEXIST) {
            enum cmn_err rc = cmn_errf(eb, CMN_E_IO, "cannot create directory '%s': %s", path, strerror(e));
            *p = '/';
            return rc;
        }
        *p = '/';
    }
    return CMN_OK;
}

static enum cmn_err hash_fd(int fd, char hex[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct cmn_sha256 s;
    uint8_t d[CMN_SHA256_BYTES];
    char *buf = malloc(COPY_CHUNK);
    off_t off = 0;
    if (!buf)
        return CMN_E_NOMEM;
    cmn_sha256_init(&s);
    for (;;) {
        ssize_t n = pread(fd, buf, COPY_CHUNK, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return cmn_errf(eb, CMN_E_IO, "cannot read object: %s", strerror(errno));
        }
        if (n == 0)
            break;
        cmn_sha256_update(&s, buf, (size_t)n);
        off += n;
    }
    free(buf);
    cmn_sha256_final(&s, d);
    cmn_hex_encode(d, sizeof(d), hex);
    return CMN_OK;
}

/* Open an object for reading: CMN_E_NOTFOUND when absent, CMN_E_UNSAFE for a symlink or non-file. */
static enum cmn_err open_object(const char *path, const char *key, int *fdp, struct stat *sb, struct cmn_errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return cmn_errf(eb, CMN_E_NOTFOUND, "object '%s' not found", key);
        if (errno == ELOOP)
            return cmn_errf(eb, CMN_E_UNSAFE, "object '%s' is a symlink", key);
        return cmn_errf(eb, CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        if (S_ISDIR(sb->st_mode))
            return cmn_errf(eb, CMN_E_NOTFOUND, "object '%s' not found (a directory)", key);
        return cmn_errf(eb, CMN_E_UNSAFE, "object '%s' is not a regular file", key);
    }
    *fdp = fd;
    return CMN_OK;
}

/* Per-key exclusive lock; returns the fd to close (which unlocks). */
static enum cmn_err lock_key(struct fstore *fs, const char *key, int *fdp, struct cmn_errbuf *eb)
{
    uint8_t d[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/.locks", fs->root);
    if (n < 0 || (size_t)n >= sizeof(path))
        return cmn_errf(eb, CMN_E_INVAL, "storage root path too long");
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", path, strerror(errno));
    cmn_sha256(key, strlen(key), d);
    cmn_hex_encode(d, sizeof(d), hex);
    snprintf(path, sizeof(path), "%s/.locks/%s.lock", fs->root, hex);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return cmn_errf(eb, CMN_E_IO, "cannot open lock '%s': %s", path, strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            enum cmn_err rc = cmn_errf(eb, CMN_E_IO, "cannot lock '%s': %s", path, strerror(errno));
            close(fd);
            return rc;
        }
    }
    *fdp = fd;
    return CMN_OK;
}

/* Remove temp files in `dir` left by writers that no longer exist. */
static void clean_stale_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0)
            continue;
        char *end;
        long pid = strtol(de->d_name + sizeof(TMP_PREFIX) - 1, &end, 10);
        if (pid <= 0 || *end != '.')
            continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        (void)unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

/* Where a temp file is being written. */
struct tmpfile {
    char *path;
    int fd;
};

static enum cmn_err tmp_create(const char *dir, struct tmpfile *t, struct cmn_errbuf *eb)
{
    uint8_t r[8];
    char hex[17];
    cmn_random(r, sizeof(r));
    cmn_hex_encode(r, sizeof(r), hex);
    size_t n = strlen(dir) + 64;
    t->path = malloc(n);
    if (!t->path)
        return CMN_E_NOMEM;
    snprintf(t->path, n, "%s/" TMP_PREFIX "%ld.%s", dir, (long)getpid(), hex);
    t->fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (t->fd < 0) {
        enum cmn_err rc = cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", t->path, strerror(errno));
        CMN_SAFEFREE(t->path);
        return rc;
    }
    return CMN_OK;
}

static void tmp_discard(struct tmpfile *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    if (t->path)
        unlink(t->path);
    CMN_SAFEFREE(t->path);
}

static enum cmn_err write_all(int fd, const void *p, size_t n, const char *path, struct cmn_errbuf *eb)
{
    if (cmn_file_write_all(fd, p, n) != 0)
        return cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", path, strerror(errno));
    return CMN_OK;
}

/* The source of a put: memory, or an open file. */
struct source {
    const char *data;
    size_t len;
    int fd; /* >= 0 for a file */
    const char *path;
    uint64_t size;
};

/* Copy the source into the temp file, hashing it; fsync. */
static enum cmn_err fill_tmp(struct tmpfile *t, const struct source *src, const struct cmn_put_opts *o,
                             char etag[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct cmn_sha256 s;
    uint8_t d[CMN_SHA256_BYTES];
    enum cmn_err rc = CMN_OK;
    uint64_t done = 0;
    char *buf = NULL;
    cmn_sha256_init(&s);
    if (src->fd >= 0) {
        buf = malloc(COPY_CHUNK);
        if (!buf)
            return CMN_E_NOMEM;
    }
    while (done < src->size) {
        size_t n = src->size - done > COPY_CHUNK ? COPY_CHUNK : (size_t)(src->size - done);
        const char *chunk;
        if (src->fd >= 0) {
            ssize_t r = read(src->fd, buf, n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", src->path, strerror(errno));
                goto out;
            }
            if (r == 0) {
                rc = cmn_errf(eb, CMN_E_IO, "'%s' shrank while being stored", src->path);
                goto out;
            }
            n = (size_t)r;
            chunk = buf;
        } else {
            chunk = src->data + done;
        }
        cmn_sha256_update(&s, chunk, n);
        rc = write_all(t->fd, chunk, n, t->path, eb);
        if (rc)
            goto out;
        done += n;
        if (o->progress && o->progress(o->progress_ctx, done, src->size)) {
            rc = cmn_errf(eb, CMN_E_CANCELLED, "put cancelled");
            goto out;
        }
    }
    if (o->progress && src->size == 0 && o->progress(o->progress_ctx, 0, 0)) {
        rc = cmn_errf(eb, CMN_E_CANCELLED, "put cancelled");
        goto out;
    }
    if (fsync(t->fd) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot fsync '%s': %s", t->path, strerror(errno));
        goto out;
    }
    if (close(t->fd) != 0) {
        t->fd = -1;
        rc = cmn_errf(eb, CMN_E_IO, "cannot close '%s': %s", t->path, strerror(errno));
        goto out;
    }
    t->fd = -1;
    cmn_sha256_final(&s, d);
    cmn_hex_encode(d, sizeof(d), etag);
out:
    free(buf);
    return rc;
}

static enum cmn_err do_put(struct cmn_storage *st, const char *key, const struct source *src,
                           const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct fstore *fs = fs_of(st);
    struct tmpfile t = {NULL, -1};
    char etag[CMN_ETAG_MAX];
    int lockfd = -1;
    enum cmn_err rc;
    char *path = join(fs->root, key);
    char *dir = NULL;
    if (!path)
        return CMN_E_NOMEM;
    rc = mkdirs(fs->root, path, eb);
    if (rc)
        goto out;
    dir = strdup(path);
    if (!dir) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    *strrchr(dir, '/') = '\0';
    clean_stale_temps(dir);
    rc = tmp_create(dir, &t, eb);
    if (rc)
        goto out;
    rc = fill_tmp(&t, src, o, etag, eb);
    if (rc)
        goto out;

    rc = lock_key(fs, key, &lockfd, eb);
    if (rc)
        goto out;
    if (o->if_match || o->if_none_match) {
        int fd;
        struct stat sb;
        struct cmn_errbuf tmp = {{0}};
        enum cmn_err orc = open_object(path, key, &fd, &sb, &tmp);
        if (orc == CMN_E_NOTFOUND) {
            if (o->if_match) {
                rc = cmn_errf(eb, CMN_E_CONFLICT, "'%s' does not exist (if-match %s)", key, o->if_match);
                goto out;
            }
        } else if (orc) {
            rc = cmn_errf(eb, orc, "%s", tmp.msg);
            goto out;
        } else if (o->if_none_match) {
            close(fd);
            rc = cmn_errf(eb, CMN_E_CONFLICT, "'%s' already exists", key);
            goto out;
        } else {
            char cur[CMN_ETAG_MAX];
            rc = hash_fd(fd, cur, eb);
            close(fd);
            if (rc)
                goto out;
            if (strcmp(cur, o->if_match) != 0) {
                rc = cmn_errf(eb, CMN_E_CONFLICT, "'%s' changed: etag is %s, expected %s", key, cur, o->if_match);
                goto out;
            }
        }
    }
    if (rename(t.path, path) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot rename '%s' to '%s': %s", t.path, path, strerror(errno));
        goto out;
    }
    CMN_SAFEFREE(t.path);
    fsync_dir(dir);
    if (etag_out)
        memcpy(etag_out, etag, sizeof(etag));
out:
    if (lockfd >= 0)
        close(lockfd);
    tmp_discard(&t);
    free(dir);
    free(path);
    return rc;
}

static enum cmn_err fs_put(struct cmn_storage *st, const char *key, const void *data, size_t len,
                           const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct source src = {.data = data, .len = len, .fd = -1, .path = NULL, .size = len};
    return do_put(st, key, &src, o, etag_out, eb);
}

static enum cmn_err fs_put_file(struct cmn_storage *st, const char *key, const char *path, const struct cmn_put_opts *o,
                                char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cmn_errf(eb, CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cmn_errf(eb, CMN_E_IO, "'%s' is not a regular file", path);
    }
    struct source src = {.data = NULL, .len = 0, .fd = fd, .path = path, .size = (uint64_t)sb.st_size};
    enum cmn_err rc = do_put(st, key, &src, o, etag_out, eb);
    close(fd);
    return rc;
}

static enum cmn_err fs_get(struct cmn_storage *st, const char *key, const struct cmn_get_opts *o, struct cmn_buf *out,
                           char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct fstore *fs = fs_of(st);
    struct stat sb;
    char etag[CMN_ETAG_MAX];
    char *buf = NULL;
    size_t len0 = out->len;
    int fd = -1;
    enum cmn_err rc;
    char *path = join(fs->root, key);
    if (!path)
        return CMN_E_NOMEM;
    rc = open_object(path, key, &fd, &sb, eb);
    if (rc)
        goto out;
    if (etag_out || o->if_none_match) {
        rc = hash_fd(fd, etag, eb);
        if (rc)
            goto out;
        if (etag_out)
            memcpy(etag_out, etag, sizeof(etag));
        if (o->if_none_match && strcmp(o->if_none_match, etag) == 0) {
            rc = CMN_E_NOT_MODIFIED;
            goto out;
        }
    }
    uint64_t size = (uint64_t)sb.st_size, start = 0, count = size;
    if (o->has_range) {
        if (o->range_start >= size) {
            rc = cmn_errf(eb, CMN_E_INVAL, "range start %" PRIu64 " beyond the end of '%s' (%" PRIu64 " bytes)",
                          o->range_start, key, size);
            goto out;
        }
        uint64_t end = o->range_end >= size ? size - 1 : o->range_end;
        start = o->range_start;
        count = end - start + 1;
    }
    if ((o->max_size && count > o->max_size) || count > out->cap - out->len) {
        rc = cmn_errf(eb, CMN_E_TOOBIG, "object '%s' is too big (%" PRIu64 " bytes)", key, count);
        goto out;
    }
    buf = malloc(COPY_CHUNK);
    if (!buf) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    while (count) {
        size_t want = count > COPY_CHUNK ? COPY_CHUNK : (size_t)count;
        ssize_t n = pread(fd, buf, want, (off_t)start);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break; /* shrank under us: cannot happen with rename-only writers */
        rc = cmn_buf_add(out, buf, (size_t)n);
        if (rc)
            goto out;
        start += (uint64_t)n;
        count -= (uint64_t)n;
    }
out:
    if (rc && rc != CMN_E_NOT_MODIFIED && out->ptr && out->len >= len0) {
        out->len = len0; /* a failed get appends nothing */
        out->ptr[len0] = '\0';
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static enum cmn_err fs_head(struct cmn_storage *st, const char *key, char etag_out[CMN_ETAG_MAX], uint64_t *size,
                            struct cmn_errbuf *eb)
{
    struct fstore *fs = fs_of(st);
    struct stat sb;
    int fd = -1;
    char *path = join(fs->root, key);
    if (!path)
        return CMN_E_NOMEM;
    enum cmn_err rc = open_object(path, key, &fd, &sb, eb);
    if (!rc && etag_out)
        rc = hash_fd(fd, etag_out, eb);
    if (!rc && size)
        *size = (uint64_t)sb.st_size;
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

struct keylist {
    char **v;
    size_t n, alloc;
};

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect regular files under root/rel (rel "" = root) whose key starts with prefix. */
static enum cmn_err walk_dir(const char *root, const char *rel, const char *prefix, struct keylist *kl,
                             struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    char *dirpath = rel[0] ? join(root, rel) : strdup(root[0] ? root : "/");
    if (!dirpath)
        return CMN_E_NOMEM;
    DIR *d = opendir(dirpath);
    if (!d) {
        if (errno != ENOENT && errno != ENOTDIR)
            rc = cmn_errf(eb, CMN_E_IO, "cannot list '%s': %s", dirpath, strerror(errno));
        free(dirpath);
        return rc;
    }
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ., .., temp files, .locks */
        char *k = rel[0] ? join(rel, de->d_name) : strdup(de->d_name);
        if (!k) {
            rc = CMN_E_NOMEM;
            break;
        }
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            free(k);
            continue;
        }
        size_t kn = strlen(k), pn = strlen(prefix);
        if (S_ISDIR(sb.st_mode)) {
            /* Descend only where keys below can still match the prefix. */
            size_t m = kn < pn ? kn : pn;
            if (strncmp(k, prefix, m) == 0 && kn < CMN_STORAGE_KEY_MAX)
                rc = walk_dir(root, k, prefix, kl, eb);
            free(k);
        } else if (S_ISREG(sb.st_mode) && strncmp(k, prefix, pn) == 0 && cmn_storage_key_check(k, NULL) == CMN_OK) {
            if (kl->n == kl->alloc) {
                size_t na = kl->alloc ? kl->alloc * 2 : 64;
                char **nv = na > LIST_MAX_ENTRIES ? NULL : realloc(kl->v, na * sizeof(*nv));
                if (!nv) {
                    free(k);
                    rc = na > LIST_MAX_ENTRIES ? cmn_errf(eb, CMN_E_TOOBIG, "more than %d objects", LIST_MAX_ENTRIES)
                                               : CMN_E_NOMEM;
                    break;
                }
                kl->v = nv;
                kl->alloc = na;
            }
            kl->v[kl->n++] = k;
        } else {
            free(k);
        }
    }
    closedir(d);
    free(dirpath);
    return rc;
}

static enum cmn_err fs_list(struct cmn_storage *st, const char *prefix, cmn_list_fn fn, void *ctx,
                            struct cmn_errbuf *eb)
{
    struct fstore *fs = fs_of(st);
    struct keylist kl = {NULL, 0, 0};
    enum cmn_err rc;
    /* Start at the deepest directory the prefix names. */
    char *start = strdup(prefix);
    if (!start)
        return CMN_E_NOMEM;
    char *slash = strrchr(start, '/');
    if (slash)
        *slash = '\0';
    else
        start[0] = '\0';
    rc = walk_dir(fs->root, start, prefix, &kl, eb);
    free(start);
    if (rc)
        goto out;
    if (kl.n)
        qsort(kl.v, kl.n, sizeof(*kl.v), cmp_keys);
    for (size_t i = 0; i < kl.n; i++) {
        char etag[CMN_ETAG_MAX];
        uint64_t size = 0;
        struct cmn_errbuf tmp = {{0}};
        enum cmn_err hr = fs_head(st, kl.v[i], etag, &size, &tmp);
        if (hr == CMN_E_NOTFOUND)
            continue; /* deleted while listing */
        if (hr) {
            rc = cmn_errf(eb, hr, "%s", tmp.msg);
            goto out;
        }
        if (fn(ctx, kl.v[i], etag, size))
            break;
    }
out:
    for (size_t i = 0; i < kl.n; i++)
        free(kl.v[i]);
    free(kl.v);
    return rc;
}

static enum cmn_err fs_del(struct cmn_storage *st, const char *key, struct cmn_errbuf *eb)
{
    struct fstore *fs = fs_of(st);
    int lockfd = -1;
    enum cmn_err rc;
    char *path = join(fs->root, key);
    if (!path)
        return CMN_E_NOMEM;
    rc = lock_key(fs, key, &lockfd, eb);
    if (rc)
        goto out;
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        goto out; /* a "directory" is not an object */
    if (unlink(path) != 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            rc = cmn_errf(eb, CMN_E_IO, "cannot delete '%s': %s", path, strerror(errno));
        goto out;
    }
    *strrchr(path, '/') = '\0';
    fsync_dir(path);
out:
    if (lockfd >= 0)
        close(lockfd);
    free(path);
    return rc;
}

static void fs_free(struct cmn_storage *st)
{
    struct fstore *fs = fs_of(st);
    free(fs->root);
    free(fs);
}

static const struct cmn_storage_ops fs_ops = {
    .put = fs_put,
    .put_file = fs_put_file,
    .get = fs_get,
    .head = fs_head,
    .list = fs_list,
    .del = fs_del,
    .free = fs_free,
};

enum cmn_err cmn_storage_file_open(const char *url, struct cmn_storage **out, struct cmn_errbuf *eb)
{
    const char *p = url + 7; /* after "file://" */
    if (strncmp(p, "localhost/", 10) == 0)
        p += 9;
    if (p[0] != '/')
        return cmn_errf(eb, CMN_E_INVAL, "storage url '%.200s' must be file:///absolute/dir", url);
    if (strstr(p, "/../") || (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0) || strchr(p, '?') ||
        strchr(p, '#') || strchr(p, '%'))
        return cmn_errf(eb, CMN_E_INVAL, "storage url '%.200s' has an unsupported path", url);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    if (n >= PATH_MAX - CMN_STORAGE_KEY_MAX - 64)
        return cmn_errf(eb, CMN_E_INVAL, "storage path too long");
    struct fstore *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return CMN_E_NOMEM;
    fs->root = strndup(p, n == 1 ? 0 : n);
    if (!fs->root) {
        free(fs);
        return CMN_E_NOMEM;
    }
    fs->base.ops = &fs_ops;
    fs->base.is_local = 1;
    /* Create the root (and its parents) if needed: the embedded default starts empty. */
    if (fs->root[0]) {
        char *tmp = malloc(n + 2);
        enum cmn_err rc = CMN_OK;
        if (!tmp) {
            fs_free(&fs->base);
            return CMN_E_NOMEM;
        }
        memcpy(tmp, fs->root, n);
        tmp[n] = '/';
        tmp[n + 1] = '\0';
        for (char *q = tmp + 1; *q && !rc; q++) {
            if (*q != '/')
                continue;
            *q = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                rc = cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", tmp, strerror(errno));
            *q = '/';
        }
        free(tmp);
        struct stat sb;
        if (!rc && (stat(fs->root, &sb) != 0 || !S_ISDIR(sb.st_mode)))
            rc = cmn_errf(eb, CMN_E_IO, "storage root '%s' is not a directory", fs->root);
        if (rc) {
            fs_free(&fs->base);
            return rc;
        }
    }
    *out = &fs->base;
    return CMN_OK;
}
