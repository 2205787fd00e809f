/*
 * file.h - whole-file writes that are never seen half-done: the data goes to
 * a fresh temp file in the same directory (O_EXCL, mode set before any byte
 * is written), is fsync'ed, then renamed over the target (or linked, to
 * refuse an existing one), and the directory is fsync'ed so the new name
 * survives a crash. Used for key files, the CLI config, the SDK's state and
 * every other small file a program replaces; the file:// storage backend
 * shares its pieces (write_all, fsync_dir).
 */
#ifndef COMMON_FILE_H
#define COMMON_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

#define CMN_WRITE_NO_REPLACE 1u /* fail with CMN_E_EXISTS when `path` exists (link(2), atomic) */
#define CMN_WRITE_NO_DIRSYNC 2u /* skip the directory fsync (callers that batch several files) */

/*
 * Replace `path` with `n` bytes at `p`, created with `mode` (e.g. 0600 for a
 * secret). CMN_OK, or CMN_E_IO / CMN_E_EXISTS / CMN_E_INVAL with a detail in
 * eb; on failure the target is untouched and no temp file is left behind.
 * The symlink at `path` itself is replaced, never followed.
 */
enum cmn_err cmn_file_write_atomic(const char *path, const void *p, size_t n, mode_t mode, unsigned flags,
                                   struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* write(2) all `n` bytes, retrying on EINTR and short writes; 0, or -1 with errno set. */
int cmn_file_write_all(int fd, const void *p, size_t n) __attribute__((warn_unused_result));

/* fsync the directory that holds `path` (best effort: a failure is ignored, some file systems refuse). */
void cmn_file_fsync_parent(const char *path);

#endif
