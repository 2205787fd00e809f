/*
 * zipcheck.h - the one checking pass over a bundle zip, shared by every
 * reader of one: the device SDK's extractor (sdk/extract.c), the content
 * listing the publisher and the CLI take of an upload or an embedded bundle
 * (cmn_content_zip) and cmn_bundle_unzip (common/patchset.h). A zip one of
 * them accepts, the others accept too: the publisher never lists a release
 * that devices would refuse to install.
 *
 * The zip is hostile input. Every entry is checked before a byte is
 * inflated; then each entry is read back to exactly its declared size.
 *
 * Uses libzip: a program that calls these functions links it.
 */
#ifndef COMMON_ZIPCHECK_H
#define COMMON_ZIPCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct zip; /* libzip's zip_t */

#define CMN_ZIP_MAX_RATIO 200                   /* declared size / compressed size, at most */
#define CMN_ZIP_RATIO_FLOOR (UINT64_C(1) << 20) /* ... for an entry declaring more than this */
#define CMN_ZIP_MAX_TOTAL (UINT64_C(512) << 20) /* default cap on the sum of declared sizes */
#define CMN_ZIP_MAX_ENTRIES 20000               /* default cap on the entry count */

/* The caps of one check. */
struct cmn_zip_limits {
    uint64_t max_total;   /* sum of declared (uncompressed) sizes; 0: no cap */
    uint64_t max_entries; /* entries, directories included; 0: no cap */
    uint64_t max_ratio;   /* declared / compressed size of an entry declaring more than ratio_floor */
    uint64_t ratio_floor;
};

/* CMN_ZIP_MAX_TOTAL, CMN_ZIP_MAX_ENTRIES, CMN_ZIP_MAX_RATIO above CMN_ZIP_RATIO_FLOOR (the SDK's caps). */
void cmn_zip_limits_default(struct cmn_zip_limits *l);

/* An open zip and the bytes libzip reads it from (the raw name check reads them too). */
struct cmn_zip {
    struct zip *za;
    const uint8_t *raw;
    size_t len;
    void *map; /* private: the mapping cmn_zip_open_file made, or NULL */
};

/*
 * Open the zip in file `path` (mapped read-only; the file must not shrink
 * while open) or in p[0..n) (borrowed until cmn_zip_close). libzip's
 * consistency check runs. CMN_E_IO when the file cannot be read,
 * CMN_E_PARSE when it is not a zip libzip can read, CMN_E_UNSAFE when its
 * directory lists a name twice, CMN_E_NOMEM. *z is written only on success;
 * release it with cmn_zip_close (a zeroed struct is a no-op).
 */
enum cmn_err cmn_zip_open_file(struct cmn_zip *z, const char *path, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
enum cmn_err cmn_zip_open_mem(struct cmn_zip *z, const void *p, size_t n, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void cmn_zip_close(struct cmn_zip *z);

/* One checked entry. */
struct cmn_zip_entry {
    char *path;    /* malloc'd; a directory's without its final '/' */
    uint64_t idx;  /* libzip's index */
    uint64_t size; /* declared (uncompressed) size; 0 for a directory */
    int is_dir;
};

/*
 * Check every entry of `z` before anything is inflated. Refused:
 *   CMN_E_PARSE  an unreadable directory or entry, no entry at all;
 *   CMN_E_TOOBIG more than lim->max_entries entries, declared sizes adding
 *                up past lim->max_total;
 *   CMN_E_UNSAFE a raw name (central directory or local header) holding a
 *                NUL byte, or not the name libzip reads; a name longer than
 *                CMN_PATCH_MAX_PATH bytes or whose path (a directory's
 *                without its final '/') fails cmn_bundle_path_ok; an
 *                encrypted entry; a symlink, device, FIFO or socket; a Unix
 *                type that does not match the name; a directory with data;
 *                an entry declaring more than lim->ratio_floor bytes at more
 *                than lim->max_ratio times its compressed size (a zip bomb);
 *                a path listed twice ("a" and "a/" too); a file that is also
 *                another entry's directory ("a" and "a/b").
 * On success *out (free with cmn_zip_entries_free) holds *n entries sorted
 * by path (bytewise), the order of the content listing; out-parameters are
 * written only on success.
 */
enum cmn_err cmn_zip_check(const struct cmn_zip *z, const struct cmn_zip_limits *lim, struct cmn_zip_entry **out,
                           size_t *n, struct cmn_errbuf *eb) __attribute__((warn_unused_result));
void cmn_zip_entries_free(struct cmn_zip_entry *v, size_t n);

/*
 * Inflate entry `e` (from cmn_zip_check on `z`) into sink(ctx, bytes, len,
 * eb), chunk by chunk; a sink's error stops the read and is returned. The
 * entry must give exactly its declared size (libzip checks the CRC):
 * CMN_E_UNSAFE when it inflates past it or stops short, CMN_E_PARSE when it
 * cannot be read or is corrupt.
 */
enum cmn_err cmn_zip_read(const struct cmn_zip *z, const struct cmn_zip_entry *e,
                          enum cmn_err (*sink)(void *ctx, const void *p, size_t n, struct cmn_errbuf *eb), void *ctx,
                          struct cmn_errbuf *eb) __attribute__((warn_unused_result));

#endif
