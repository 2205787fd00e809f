/*
 * file.c - the atomic whole-file write of file.h: temp file + fsync + rename
 * (or link) + directory fsync, the one copy in the tree.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"

int cmn_file_write_all(int fd, const void *p, size_t n)
{
    const char *q = p;
    while (n > 0) {
        ssize_t w = write(fd, q, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

void cmn_file_fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        dir[0] = '.', dir[1] = '\0';
    } else if (slash == path) {
        dir[0] = '/', dir[1] = '\0';
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof(dir))
            return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

enum cmn_err cmn_file_write_atomic(const char *path, const void *p, size_t n, mode_t mode, unsigned flags,
                                   struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    char tmp[4096];
    int fd = -1, tmp_made = 0;

    if (!path || !*path || (!p && n))
        return cmn_errf(eb, CMN_E_INVAL, "invalid file write");
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
        return cmn_errf(eb, CMN_E_INVAL, "path '%s' is too long", path);
    /* mkostemp opens with O_EXCL and mode 0600; fchmod sets the final mode before any byte is written, so a
     * secret is never readable under an unusual umask. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = 1;
    if (fchmod(fd, mode) != 0 || cmn_file_write_all(fd, p, n) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot fsync '%s': %s", tmp, strerror(errno));
        goto out;
    }
    int crc = close(fd);
    fd = -1;
    if (crc != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (flags & CMN_WRITE_NO_REPLACE) {
        /* link(2) fails with EEXIST atomically: no window in which an existing file could be replaced. */
        if (link(tmp, path) != 0) {
            if (errno == EEXIST)
                rc = cmn_errf(eb, CMN_E_EXISTS, "'%s' already exists", path);
            else
                rc = cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", path, strerror(errno));
            goto out;
        }
    } else {
        if (rename(tmp, path) != 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
            goto out;
        }
        tmp_made = 0;
    }
    if (!(flags & CMN_WRITE_NO_DIRSYNC))
        cmn_file_fsync_parent(path);
out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        unlink(tmp);
    return rc;
}
