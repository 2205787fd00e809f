#include "common/compat.h"

/*
 * fs.c - file-system helpers for the data directory: atomic whole-file
 * writes (temp + fsync + rename + directory fsync), recursive removal that
 * never follows symlinks, directory fsync, bounded file reads. Also the
 * error plumbing (cmn_err -> hp_status, the handle's last-error text) and the
 * test-only fault hook.
 */

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "hp_int.h"

hp_status hp__status(enum cmn_err e)
{
    switch (e) {
    case CMN_OK:
        return HP_OK;
    case CMN_E_NOMEM:
        return HP_E_NOMEM;
    case CMN_E_INVAL:
        return HP_E_INVAL;
    case CMN_E_IO:
        return HP_E_IO;
    case CMN_E_NET:
        return HP_E_NET;
    case CMN_E_HTTP:
    case CMN_E_NOTFOUND:
    case CMN_E_DENIED:
    case CMN_E_NOT_MODIFIED:
        return HP_E_HTTP;
    case CMN_E_EXPIRED:
        return HP_E_EXPIRED;
    case CMN_E_REPLAY:
        return HP_E_REPLAY;
    case CMN_E_UNSAFE:
        return HP_E_UNSAFE;
    case CMN_E_CANCELLED:
        return HP_E_CANCELLED;
    case CMN_E_PARSE:
    case CMN_E_TOOBIG:
    case CMN_E_SIG:
    case CMN_E_UNKNOWN_KEY:
    case CMN_E_HASH:
        return HP_E_VERIFY;
    default:
        return HP_E_IO;
    }
}

hp_status hp__fail(struct hp_client *c, enum cmn_err e, const struct cmn_errbuf *eb)
{
    snprintf(c->err, sizeof c->err, "%s", cmn_errmsg(eb, e));
    return hp__status(e);
}

hp_status hp__failf(struct hp_client *c, hp_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return s;
}

hp_status hp__enter_open(struct hp_client *c, int args_ok)
{
    if (!c || !args_ok)
        return HP_E_INVAL;
    c->err[0] = '\0';
    return c->opened ? HP_OK : hp__failf(c, HP_E_STATE, "handle is not open");
}

/*
 * Test-only: HOTPATCH_AGENT_FAULT=<point> makes the process SIGKILL itself
 * when it reaches that point, so the crash-safety tests can interrupt every
 * step of a download and an install exactly where they want. Inert when the
 * variable is unset.
 */
void hp__fault(const struct hp_client *c, const char *point)
{
    if (c->fault && strcmp(c->fault, point) == 0) {
        kill(getpid(), SIGKILL);
        _exit(137);
    }
}

char *hp__path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

int hp__exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

int hp__is_dir(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

enum cmn_err hp__rm_rf(const char *path, struct cmn_errbuf *eb)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? CMN_OK : cmn_errf(eb, CMN_E_IO, "cannot stat '%s': %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) {
        if (unlink(path) != 0)
            return cmn_errf(eb, CMN_E_IO, "cannot remove '%s': %s", path, strerror(errno));
        return CMN_OK;
    }
    /* FTW_PHYS: never follow a symlink out of the tree; FTW_DEPTH: children first. */
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return cmn_errf(eb, CMN_E_IO, "cannot remove '%s': %s", path, strerror(errno));
    return CMN_OK;
}

enum cmn_err hp__fsync_dir(const char *path, struct cmn_errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return cmn_errf(eb, CMN_E_IO, "cannot open directory '%s': %s", path, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL)
        return cmn_errf(eb, CMN_E_IO, "cannot fsync '%s': %s", path, strerror(e));
    return CMN_OK;
}

enum cmn_err hp__rename(const char *from, const char *to, struct cmn_errbuf *eb)
{
    if (rename(from, to) != 0)
        return cmn_errf(eb, CMN_E_IO, "cannot rename '%s' to '%s': %s", from, to, strerror(errno));
    return CMN_OK;
}

enum cmn_err hp__write_atomic(const char *dir, const char *name, const void *p, size_t n, int sync_dir,
                              struct cmn_errbuf *eb)
{
    char *dst = hp__path(dir, name);
    if (!dst)
        return CMN_E_NOMEM;
    enum cmn_err rc = cmn_file_write_atomic(dst, p, n, 0600, sync_dir ? 0 : CMN_WRITE_NO_DIRSYNC, eb);
    free(dst);
    return rc;
}

enum cmn_err hp__read_file(const char *path, size_t cap, struct cmn_buf *out, struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    char chunk[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return cmn_errf(eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    cmn_buf_init(out, cap);
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        rc = cmn_buf_add(out, chunk, (size_t)r);
        if (rc) {
            rc = cmn_errf(eb, rc, "'%s' is too large", path);
            break;
        }
    }
    close(fd);
    if (rc)
        cmn_buf_release(out);
    return rc;
}
