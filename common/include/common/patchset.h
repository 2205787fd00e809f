/*
 * patchset.h - the release-time patch driver (manifests/SPEC.md section 14)
 * shared by `hotpatch release` in serverless mode (cli/patches.c) and the
 * publisher's background patch job (publisher/patchjob.c): extract a bundle
 * zip, take its content digest, and build, judge and store one HPPATCH1 patch
 * (common/patch.h) per base bundle.
 *
 * One rule decides whether a patch is listed, wherever it is built: a patch
 * is worth it only when it is at most CMN_PATCH_MAX_PERCENT of the new
 * bundle's zip. Past that, the saving does not pay for the extra object, the
 * device-side apply and the fallback risk.
 *
 * The zip readers use libzip (through common/zipcheck.h): a program that
 * calls these functions links it.
 */
#ifndef COMMON_PATCHSET_H
#define COMMON_PATCHSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/err.h"
#include "common/manifest.h"
#include "common/storage.h"

struct cmn_content; /* common/patch.h */

#define CMN_PATCH_MAX_PERCENT 50 /* a patch above this share of the full zip is not listed */
#define CMN_PATCH_LEVEL 19       /* zstd level for release-time patches */

/* 1 when a patch of `patch_bytes` is worth listing beside a zip of `zip_size` bytes. */
int cmn_patch_worth(uint64_t patch_bytes, uint64_t zip_size);

/*
 * Extract bundle zip `zip` into `dir` (an existing, empty directory), after
 * the checks of cmn_zip_check (common/zipcheck.h), with at most `max_entries`
 * entries and `max_total` declared bytes (0 = no cap) and the SDK's
 * compression-ratio cap: the codes and messages are its, plus CMN_E_IO. Each
 * file is read back to exactly its declared size and created with O_EXCL |
 * O_NOFOLLOW. On failure `dir` may hold partial files.
 */
enum cmn_err cmn_bundle_unzip(const char *zip, const char *dir, uint64_t max_total, uint32_t max_entries,
                              struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/*
 * The content digest (common/patch.h) of what bundle zip `zip` extracts to,
 * taken from its entries as they are inflated, nothing written to disk: for
 * every zip it accepts, the value cmn_bundle_unzip + cmn_content_digest_dir
 * give. The zip is hostile input (an upload): every entry is checked before
 * a byte is inflated, by the pass the SDK's extractor runs (sdk/extract.c):
 * cmn_zip_check (common/zipcheck.h) with `max_total` and `max_entries` (0:
 * no cap) and the compression-ratio cap CMN_ZIP_MAX_RATIO; its codes and
 * messages, plus CMN_E_IO when the file cannot be read, CMN_E_PARSE when it
 * is not a zip, and cmn_zip_read's when an entry does not inflate to exactly
 * its declared size. Directory entries add nothing to the digest. *nfiles
 * (nullable) gets the number of regular files. Out-parameters are written
 * only on success.
 */
enum cmn_err cmn_content_digest_zip(const char *zip, uint64_t max_total, uint32_t max_entries,
                                    uint8_t out[CMN_SHA256_BYTES], size_t *nfiles, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/*
 * The listing cmn_content_digest_zip digests (path, size, SHA-256 of each
 * regular file, in path order), same checks and errors, for a caller that
 * needs more than the digest (the CodePush package hash of the same files:
 * common/codepush.h). *out (release with cmn_content_release) is written only
 * on success.
 */
enum cmn_err cmn_content_zip(const char *zip, uint64_t max_total, uint32_t max_entries, struct cmn_content *out,
                             struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* cmn_bundle_unzip, then the content digest of what it wrote (cmn_content_digest_dir). */
enum cmn_err cmn_bundle_zip_digest(const char *zip, const char *dir, uint64_t max_total, uint32_t max_entries,
                                   uint8_t out[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Remove a directory tree (no symlink followed). Best effort; a missing path is fine. */
void cmn_rmtree(const char *path);

/* A bundle to build a patch from. */
struct cmn_patch_base {
    const char *label;          /* for notes: "release rel_1 (1.0.0)", "embedded bundle of 1.2.0" */
    const char *key;            /* storage key of its zip */
    const char *sha256;         /* nullable: SHA-256 hex the stored zip must have (a release's signed digest) */
    const char *content_sha256; /* nullable: the content digest it must have (an embedded base's identity) */
    uint64_t zip_size;          /* 0, or the size the stored zip must have (an embedded base's registered size) */
                                /* at least one of the two: a base is never used unchecked */
};

/* What the driver works with. */
struct cmn_patchset {
    struct cmn_storage *st;     /* where base zips are read and patches written */
    const char *work;           /* a private, existing scratch directory */
    const char *app, *platform; /* patches go to patches/<app>/<platform>/<sha256>.patch */
    const char *new_dir;        /* the new bundle, extracted */
    const char *new_content;    /* nullable: its content digest (hex); a base with that content is skipped */
    uint64_t zip_size;          /* size of the new bundle's zip (the worth-it rule) */
    uint64_t max_zip;           /* cap on a base zip read from storage (0: 1 GiB) */
    int level;                  /* zstd level, 0: CMN_PATCH_LEVEL */
    void (*note)(void *ctx, const char *msg); /* nullable: one line per base (made, skipped, why) */
    void *note_ctx;
};

/*
 * For each base in order: read its zip from storage and check its SHA-256,
 * extract it, take its content digest (checked against base->content_sha256
 * when given), build the patch from it to ps->new_dir, and keep it when it is
 * worth it and no kept patch has the same base digest. A kept patch is stored
 * content-addressed (immutable; an object already there is not written again,
 * so a re-run writes nothing new) and appended to out[] (room for `cap`;
 * url malloc'd; from[] (nullable, room for `cap`) gets the index in bases[]
 * of each). At the end out[0..*n_out) is sorted by base, as the SPEC wants. A base that cannot be used (missing,
 * damaged, no saving) is a note, not an error; an error is returned only when a patch cannot be stored or memory runs
 * out (the caller may retry): then out[] holds nothing the caller must free (*n_out = 0).
 */
enum cmn_err cmn_patchset_build(const struct cmn_patchset *ps, const struct cmn_patch_base *bases, size_t n,
                                struct cmn_patch_ref *out, size_t *from, size_t cap, size_t *n_out,
                                struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Free the urls of out[0..n). */
void cmn_patch_refs_release(struct cmn_patch_ref *out, size_t n);

#endif
