/*
 * patch.h - bundle content digests and differential patches between two
 * extracted bundle directories (manifests/SPEC.md section 14).
 *
 * Content digest: what a release key signs so that a bundle rebuilt from a
 * patch can be verified as strictly as a downloaded zip. The listing of a
 * bundle directory is one line per regular file, sorted by path as bytes:
 *     <64 hex SHA-256 of the file> SP <decimal size> SP <path> LF
 * and the content digest is SHA-256(listing). Directories are implied by the
 * paths; anything that is not a regular file or directory is refused. The
 * release key signs CMN_SIGCTX_CONTENT || the 32-byte digest.
 *
 * Patch container ("HPPATCH1"), all integers little-endian:
 *     header: "HPPATCH1" | u32 entry count | u64 total output bytes
 *     entry:  u8 op | u16 path length | path | u16 base path length | base path
 *             | u64 output size | 32-byte SHA-256 of the output | u64 data length | data
 * op 1 COPY  : the output is the base file `base path` unchanged (data length 0)
 * op 2 ZDIFF : data is one zstd frame decoded with the base file as prefix
 *              (`zstd --patch-from`)
 * op 3 ZFULL : data is one zstd frame of the whole file (base path empty)
 * Entries list every file of the new bundle exactly once, in strictly
 * ascending path order; files of the base that are not listed are dropped.
 * The sum of output sizes equals the header total; nothing may follow the last
 * entry. The format is parsed as hostile input: every length is checked
 * before it is used, output never exceeds the declared size, and each file's
 * SHA-256 is checked as it is written.
 */
#ifndef COMMON_PATCH_H
#define COMMON_PATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/err.h"

#define CMN_SIGCTX_CONTENT "hotpatch-content-v1\n"
#define CMN_PATCH_MAGIC "HPPATCH1"
#define CMN_PATCH_MAX_PATH 1024

enum cmn_patch_op {
    CMN_PATCH_COPY = 1,  /* reuse a base file as is */
    CMN_PATCH_ZDIFF = 2, /* zstd frame against the base file as prefix */
    CMN_PATCH_ZFULL = 3, /* zstd frame of the whole file */
};

/*
 * A bundle path: relative, '/'-separated plain components (no empty, "." or
 * ".." component, no leading '/', no backslash, ':' or control character).
 * The SDK applies the same rule to zip entry names. 0 when acceptable.
 */
int cmn_bundle_path_ok(const char *p, size_t n);

/* One regular file of a bundle directory. */
struct cmn_content_file {
    char *path; /* relative, '/'-separated */
    uint64_t size;
    uint8_t sha256[CMN_SHA256_BYTES];
};

/* Every regular file under a directory, sorted by path as bytes. */
struct cmn_content {
    struct cmn_content_file *v;
    size_t n;
};

/*
 * Walk `dir` (symlinks and special files refused: CMN_E_UNSAFE), hash every
 * file and fill `out` (caller releases with cmn_content_release). At most
 * `max_files` files (CMN_E_TOOBIG).
 */
enum cmn_err cmn_content_scan(const char *dir, size_t max_files, struct cmn_content *out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void cmn_content_release(struct cmn_content *c);
/* Content digest of a scanned listing (see above). CMN_E_NOMEM only. */
enum cmn_err cmn_content_digest(const struct cmn_content *c, uint8_t out[CMN_SHA256_BYTES])
    __attribute__((warn_unused_result));
/* Scan + digest in one call. */
enum cmn_err cmn_content_digest_dir(const char *dir, uint8_t out[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Release-key signature over CMN_SIGCTX_CONTENT || digest, as base64 text. */
enum cmn_err cmn_content_sign(const struct cmn_key *key, const uint8_t digest[CMN_SHA256_BYTES],
                              char sig_b64[CMN_SIG_B64]) __attribute__((warn_unused_result));
/* CMN_OK or CMN_E_SIG (CMN_E_PARSE for malformed base64). */
enum cmn_err cmn_content_verify(const struct cmn_key *key, const uint8_t digest[CMN_SHA256_BYTES], const char *sig_b64)
    __attribute__((warn_unused_result));

struct cmn_patch_stats {
    uint32_t copied, diffed, full; /* entries by op */
    uint64_t out_bytes;            /* total size of the new bundle's files */
    uint64_t patch_bytes;          /* size of the container written */
};

/*
 * Write a patch that turns bundle dir `base_dir` into `new_dir` to
 * `out_path` (temporary file + rename). Per changed file the smaller of
 * ZDIFF and ZFULL is kept (ZFULL is only tried when the diff exceeds a quarter
 * of the file); `level` is the zstd level (1..22, 19 is a good
 * release-time default). Fills `st` when not NULL.
 */
enum cmn_err cmn_patch_create(const char *base_dir, const char *new_dir, const char *out_path, int level,
                              struct cmn_patch_stats *st, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

struct cmn_patch_limits {
    uint64_t max_total;      /* cap on the header's total output bytes */
    uint32_t max_entries;    /* cap on the entry count */
    unsigned window_log_max; /* zstd decoder window cap (memory bound), 10..31 */
    int defer_sync;          /* 1: no per-file fsync, the caller makes the tree durable at once */
};
/* 512 MiB, 20000 entries, window log 27 (the SDK's extraction caps), fsync per file. */
void cmn_patch_limits_default(struct cmn_patch_limits *l);

/*
 * Apply the patch file `patch_path` to bundle dir `base_dir`, writing the
 * new bundle's files into `out_dir` (an existing, empty directory), and
 * succeed only when the result's content digest is `content_sha256` (the
 * digest the release key signed; required). Two passes over the patch:
 *   1. the entry headers alone (data skipped): the listing they declare must
 *      hash to `content_sha256`, or nothing is written (CMN_E_HASH);
 *   2. the entries are applied; every file is checked against its declared
 *      SHA-256 as it is written and the listing is hashed again from the
 *      headers read in this pass (a patch file changed in between is refused).
 * So on success `out_dir` holds exactly the content `content_sha256` names.
 * Streaming: the patch is read in small blocks, a base file is mmapped only
 * while its entry is decoded, and memory is bounded by the zstd window cap.
 * Files are created with O_EXCL | O_NOFOLLOW and fsynced unless
 * lim->defer_sync (the caller fsyncs the directories, or the whole tree). Codes: CMN_E_PARSE (malformed or
 * truncated container or zstd frame), CMN_E_UNSAFE (bad path, order, limits,
 * output beyond the declared size, `out_dir` not empty), CMN_E_HASH (a file's
 * SHA-256 or the content digest), CMN_E_NOTFOUND (a base file missing),
 * CMN_E_INVAL (no digest given), CMN_E_IO. On failure `out_dir` may hold
 * partial files: the caller removes it.
 */
enum cmn_err cmn_patch_apply(const char *patch_path, const char *base_dir, const char *out_dir,
                             const uint8_t content_sha256[CMN_SHA256_BYTES], const struct cmn_patch_limits *lim,
                             struct cmn_patch_stats *st, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/*
 * The content digest a patch's entries declare (pass 1 of apply: headers
 * only, same structural checks, nothing verified against data or a base).
 * For inspection and the fuzz target; a device uses the signed digest.
 */
enum cmn_err cmn_patch_content(const char *patch_path, const struct cmn_patch_limits *lim,
                               uint8_t out[CMN_SHA256_BYTES], struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

#endif
