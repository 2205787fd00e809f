/*
 * zip.c - the release archive: a deterministic zip of a bundle directory.
 *
 * The same input must give the same bytes (and so the same SHA-256 and the
 * same content-addressed object), whatever the checkout's timestamps, umask,
 * directory order or time zone. So: only regular files (symlinks and special
 * files are refused, directories are implied by the paths), entries sorted
 * by their byte-wise path, every entry stamped 1980-01-01 00:00 in DOS time
 * (set directly, so the local time zone does not matter), external attributes
 * "unix, regular file 0644", deflate level 9, UTF-8 names, no comments and no
 * extra fields.
 */
#include "common/compat.h"

#include <dirent.h>
#include <sys/stat.h>
#include <zip.h>

#include "cli.h"
#include "common/codepush.h"

#define DOS_DATE_1980_01_01 ((0 << 9) | (1 << 5) | 1)
#define DOS_TIME_MIDNIGHT 0

void cli_zip_list_release(struct cli_zip_list *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].path);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static enum cmn_err list_add(struct cli_zip_list *l, const char *name, const char *path, uint64_t size,
                             struct cmn_errbuf *eb)
{
    if (l->n >= CLI_ZIP_MAX_FILES)
        return cmn_errf(eb, CMN_E_TOOBIG, "more than %d files in the bundle dir", CLI_ZIP_MAX_FILES);
    if (l->n == l->alloc) {
        size_t na = l->alloc ? l->alloc * 2 : 64;
        struct cli_zip_entry *v = realloc(l->v, na * sizeof(*v));
        if (!v)
            return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
        l->v = v;
        l->alloc = na;
    }
    l->v[l->n].name = strdup(name);
    l->v[l->n].path = strdup(path);
    l->v[l->n].size = size;
    if (!l->v[l->n].name || !l->v[l->n].path) {
        free(l->v[l->n].name);
        free(l->v[l->n].path);
        return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
    }
    l->n++;
    return CMN_OK;
}

/* `rel` is the archive path of `abs` ("" for the root). */
static enum cmn_err walk(struct cli_zip_list *l, const char *abs, const char *rel, int depth, struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    struct dirent *de;
    DIR *d;
    if (depth > CLI_ZIP_MAX_DEPTH)
        return cmn_errf(eb, CMN_E_TOOBIG, "directories nested deeper than %d under '%s'", CLI_ZIP_MAX_DEPTH, abs);
    d = opendir(abs);
    if (!d)
        return cmn_errf(eb,
                        errno == ENOENT   ? CMN_E_NOTFOUND
                        : errno == EACCES ? CMN_E_DENIED
                                          : CMN_E_IO,
                        "cannot read directory '%s': %s", abs, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char cabs[PATH_MAX], crel[PATH_MAX];
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strchr(de->d_name, '\\')) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "refusing file name with a backslash '%s' in '%s'", de->d_name, abs);
            break;
        }
        if ((size_t)snprintf(cabs, sizeof(cabs), "%s/%s", abs, de->d_name) >= sizeof(cabs) ||
            (size_t)snprintf(crel, sizeof(crel), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= sizeof(crel)) {
            rc = cmn_errf(eb, CMN_E_TOOBIG, "path too long under '%s'", abs);
            break;
        }
        if (lstat(cabs, &st) != 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot stat '%s': %s", cabs, strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk(l, cabs, crel, depth + 1, eb);
        } else if (S_ISREG(st.st_mode)) {
            rc = list_add(l, crel, cabs, (uint64_t)st.st_size, eb);
        } else {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "refusing %s '%s': a bundle dir holds only regular files",
                          S_ISLNK(st.st_mode) ? "symlink" : "special file", cabs);
        }
        if (rc)
            break;
    }
    closedir(d);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct cli_zip_entry *)a)->name, ((const struct cli_zip_entry *)b)->name);
}

enum cmn_err cli_zip_collect(const char *dir, struct cli_zip_list *l, struct cmn_errbuf *eb)
{
    struct stat st;
    enum cmn_err rc;
    if (stat(dir, &st) != 0)
        return cmn_errf(eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot read bundle dir '%s': %s", dir,
                        strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cmn_errf(eb, CMN_E_INVAL, "bundle dir '%s' is not a directory", dir);
    rc = walk(l, dir, "", 0, eb);
    if (rc) {
        cli_zip_list_release(l);
        return rc;
    }
    if (l->n == 0)
        return cmn_errf(eb, CMN_E_INVAL, "bundle dir '%s' is empty", dir);
    qsort(l->v, l->n, sizeof(l->v[0]), by_name);
    return CMN_OK;
}

struct cli_zip_entry *cli_zip_find(struct cli_zip_list *l, const char *name)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

enum cmn_err cli_zip_write(const struct cli_zip_list *l, const char *zip_path, struct cmn_errbuf *eb)
{
    zip_error_t zerr;
    enum cmn_err rc = CMN_OK;
    zip_t *za;
    size_t i;
    int zrc = 0;
    zip_error_init(&zerr);
    za = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zrc);
    if (!za) {
        zip_error_init_with_code(&zerr, zrc);
        rc = cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", zip_path, zip_error_strerror(&zerr));
        zip_error_fini(&zerr);
        return rc;
    }
    for (i = 0; i < l->n; i++) {
        const struct cli_zip_entry *e = &l->v[i];
        zip_source_t *src = zip_source_file(za, e->path, 0, -1);
        zip_int64_t idx;
        if (!src) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", e->path, zip_strerror(za));
            goto fail;
        }
        idx = zip_file_add(za, e->name, src, ZIP_FL_ENC_UTF_8);
        if (idx < 0) {
            zip_source_free(src);
            rc = cmn_errf(eb, CMN_E_IO, "cannot add '%s': %s", e->name, zip_strerror(za));
            goto fail;
        }
        if (zip_file_set_dostime(za, (zip_uint64_t)idx, DOS_TIME_MIDNIGHT, DOS_DATE_1980_01_01, 0) != 0 ||
            zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX, (0100644u) << 16) != 0 ||
            zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 9) != 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot set attributes of '%s': %s", e->name, zip_strerror(za));
            goto fail;
        }
    }
    /* zip_close reads the sources and writes the archive (to a temp file, then rename). */
    if (zip_close(za) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", zip_path, zip_strerror(za));
        goto fail;
    }
    return CMN_OK;
fail:
    zip_discard(za);
    remove(zip_path);
    return rc;
}

enum cmn_err cli_zip_codepush_hash(const struct cli_zip_list *zl, char out[CMN_SHA256_HEX], struct cmn_errbuf *eb)
{
    struct cmn_content c = {calloc(zl->n ? zl->n : 1, sizeof(struct cmn_content_file)), 0};
    enum cmn_err rc = c.v ? CMN_OK : CMN_E_NOMEM;
    for (size_t i = 0; !rc && i < zl->n; i++) {
        uint64_t size = 0;
        rc = cmn_sha256_file(zl->v[i].path, c.v[i].sha256, &size, eb);
        c.v[i].path = zl->v[i].name; /* borrowed: not released below */
        c.v[i].size = size;
    }
    c.n = zl->n;
    if (!rc)
        rc = cmn_codepush_hash(&c, out);
    free(c.v);
    return rc;
}
