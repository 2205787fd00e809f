/*
 * Unit tests for common/file.c: the atomic write replaces a file with the
 * asked mode, never leaves a temp file, refuses to replace with
 * CMN_WRITE_NO_REPLACE, replaces a symlink instead of following it, and on
 * failure leaves the old content.
 */
#include "common/compat.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/test.h"
#include "common/file.h"

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static char *slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

int main(void)
{
    char dir[600], path[700], other[700], buf[256];
    struct cmn_errbuf eb = {{0}};
    struct stat sb;
    snprintf(dir, sizeof(dir), "%s/w", test_tmpdir());
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/state.json", dir);

    umask(0);
    is_int(cmn_file_write_atomic(path, "one", 3, 0600, 0, &eb), CMN_OK, "create");
    is_str(slurp(path, buf, sizeof(buf)), "one", "content");
    ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "mode 0600 even with umask 0 (%o)", sb.st_mode & 0777);
    is_int(cmn_file_write_atomic(path, "two!", 4, 0644, 0, &eb), CMN_OK, "replace");
    is_str(slurp(path, buf, sizeof(buf)), "two!", "replaced");
    ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode 0644");
    is_int(count_entries(dir), 1, "no temp file left");
    is_int(cmn_file_write_atomic(path, "", 0, 0600, 0, &eb), CMN_OK, "empty file");
    ok(stat(path, &sb) == 0 && sb.st_size == 0, "empty");

    memset(&eb, 0, sizeof(eb));
    is_int(cmn_file_write_atomic(path, "three", 5, 0600, CMN_WRITE_NO_REPLACE, &eb), CMN_E_EXISTS,
           "no-replace refuses an existing file");
    ok(strstr(eb.msg, "already exists") != NULL, "message: %s", eb.msg);
    ok(stat(path, &sb) == 0 && sb.st_size == 0, "old content kept");
    is_int(count_entries(dir), 1, "no temp file left after a refusal");
    snprintf(other, sizeof(other), "%s/new.key", dir);
    is_int(cmn_file_write_atomic(other, "k", 1, 0600, CMN_WRITE_NO_REPLACE, &eb), CMN_OK, "no-replace creates");
    is_int(count_entries(dir), 2, "exactly the new file");

    /* A symlink at the target is replaced, not followed. */
    char target[700], link_path[700];
    snprintf(target, sizeof(target), "%s/victim", dir);
    snprintf(link_path, sizeof(link_path), "%s/link", dir);
    FILE *f = fopen(target, "w");
    fputs("untouched", f);
    fclose(f);
    ok(symlink(target, link_path) == 0, "symlink made");
    is_int(cmn_file_write_atomic(link_path, "new", 3, 0600, 0, &eb), CMN_OK, "write over a symlink");
    is_str(slurp(target, buf, sizeof(buf)), "untouched", "the link's target is untouched");
    ok(lstat(link_path, &sb) == 0 && S_ISREG(sb.st_mode), "the link was replaced by a file");

    memset(&eb, 0, sizeof(eb));
    snprintf(other, sizeof(other), "%s/missing/dir/file", dir);
    is_int(cmn_file_write_atomic(other, "x", 1, 0600, 0, &eb), CMN_E_IO, "missing directory");
    ok(strstr(eb.msg, "cannot create") != NULL, "clear error: %s", eb.msg);
    is_int(cmn_file_write_atomic(NULL, "x", 1, 0600, 0, &eb), CMN_E_INVAL, "NULL path");

    int fds[2];
    ok(pipe(fds) == 0, "pipe");
    ok(cmn_file_write_all(fds[1], "abc", 3) == 0 && read(fds[0], buf, 3) == 3 && memcmp(buf, "abc", 3) == 0,
       "write_all");
    close(fds[0]);
    close(fds[1]);
    return done_testing();
}
