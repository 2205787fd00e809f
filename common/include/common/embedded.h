/*
 * embedded.h - the registry of embedded bundles that patches may start from
 * (manifests/SPEC.md section 14, "Embedded bases").
 *
 * A fresh install runs the bundle embedded in the native binary, so that
 * bundle is the most common base a patch can start from. The app registers
 * it once per native binary version; release writers (the CLI in serverless
 * mode, the publisher) then make patches from it. Storage layout:
 *
 *   embedded/<app>/<platform>/<content_sha256>.zip   the bundle, zipped the
 *                              deterministic way bundles are; content-addressed
 *                              by its content digest (patch.h), immutable
 *   embedded/<app>/<platform>/index.json             the registry:
 *     {"bases":[{"binary_version":"<V>","content_sha256":"<64hex>",
 *                "key":"embedded/<app>/<platform>/<sha>.zip","size":<zip bytes>,
 *                "added":"<YYYY-MM-DDTHH:MM:SSZ>"},...]}
 *
 * One entry per binary_version (compared as bytes); entries are rendered
 * sorted by binary_version. The registry is written with the same
 * conditional PUT as manifests (If-None-Match when absent, If-Match the ETag
 * read), re-read and merged on a lost race, so concurrent writers lose
 * nothing.
 *
 * The registry is unsigned on purpose: a base is only an identity (its
 * content digest). A device uses a patch only when the digest of what it
 * has on disk equals the patch's base, and verifies what the patch rebuilds
 * against the content digest the release key signed; a forged registry can
 * make a writer produce useless patches, never make a device install
 * anything. The parser is strict all the same (unknown members, bad hex, a
 * key that is not the canonical one, duplicate versions are refused) so
 * that a damaged registry is reported, not half-used.
 */
#ifndef COMMON_EMBEDDED_H
#define COMMON_EMBEDDED_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/err.h"
#include "common/storage.h"

#define CMN_EMBEDDED_MAX_BYTES ((size_t)1 << 20) /* registry document */
#define CMN_EMBEDDED_MAX_BASES 1024
#define CMN_EMBEDDED_VERSION_MAX 64 /* bytes of a binary_version */
#define CMN_EMBEDDED_KEY_MAX 256    /* "embedded/<64>/<64>/<64 hex>.zip" + NUL fits */
#define CMN_EMBEDDED_TIME_MAX 21    /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

struct cmn_embedded_base {
    char binary_version[CMN_EMBEDDED_VERSION_MAX + 1];
    char content_sha256[CMN_SHA256_HEX]; /* lower-case hex */
    char key[CMN_EMBEDDED_KEY_MAX];      /* storage key of the zip */
    uint64_t size;                       /* zip bytes, 1 .. 2^53-1 */
    char added[CMN_EMBEDDED_TIME_MAX];   /* RFC 3339 UTC, seconds */
};

struct cmn_embedded {
    struct cmn_embedded_base *v; /* sorted by binary_version, no duplicates */
    size_t n, cap;
};

void cmn_embedded_init(struct cmn_embedded *r);
void cmn_embedded_release(struct cmn_embedded *r);

/*
 * 1 when `v` can be a binary_version: 1..CMN_EMBEDDED_VERSION_MAX bytes of
 * [0-9A-Za-z.+-] that cmn_semver_parse accepts (it is matched against
 * target_binary ranges).
 */
int cmn_embedded_version_ok(const char *v);

/* "embedded/<app>/<platform>/index.json"; CMN_E_INVAL for a bad id or a short buffer. */
enum cmn_err cmn_embedded_index_key(const char *app, const char *platform, char *out, size_t cap)
    __attribute__((warn_unused_result));
/* "embedded/<app>/<platform>/<content_sha256>.zip"; CMN_E_INVAL for a bad id or digest. */
enum cmn_err cmn_embedded_zip_key(const char *app, const char *platform, const char *content_sha256, char *out,
                                  size_t cap) __attribute__((warn_unused_result));

/*
 * Parse a registry document of (app, platform) into *r (initialised by the
 * caller; replaced on success, untouched on failure). Strict: exactly the
 * members above, binary_version per cmn_embedded_version_ok, 64 lower-case
 * hex digests, key equal to cmn_embedded_zip_key(app, platform, digest),
 * size 1..2^53-1, added in the exact form above, no duplicate
 * binary_version. CMN_E_PARSE with a detail naming the entry, CMN_E_TOOBIG
 * past CMN_EMBEDDED_MAX_BYTES / CMN_EMBEDDED_MAX_BASES.
 */
enum cmn_err cmn_embedded_parse(const char *doc, size_t len, const char *app, const char *platform,
                                struct cmn_embedded *r, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Render *r (compact, sorted, newline-terminated) appended to out. */
enum cmn_err cmn_embedded_render(const struct cmn_embedded *r, struct cmn_buf *out) __attribute__((warn_unused_result));

/* The entry of binary_version, or NULL. Borrowed: valid until *r changes. */
const struct cmn_embedded_base *cmn_embedded_find(const struct cmn_embedded *r, const char *binary_version);

/*
 * Set the entry of b->binary_version (copied; b must be valid as the parser
 * would require). Returns 0 when an identical entry (same digest) was kept
 * as is, 1 when added, 2 when it replaced an entry with another digest
 * (the old digest is copied to old_sha256 when not NULL), -1 on an invalid
 * entry or no memory.
 */
int cmn_embedded_set(struct cmn_embedded *r, const struct cmn_embedded_base *b, char old_sha256[CMN_SHA256_HEX]);

/* Remove the entry of binary_version; 1 when removed, 0 when there was none. */
int cmn_embedded_unset(struct cmn_embedded *r, const char *binary_version);

/*
 * Read the registry of (app, platform) from storage into *r (replaced on
 * success). A missing registry is an empty one (CMN_OK, n = 0). A registry
 * that does not parse is CMN_E_PARSE with "embedded registry '<key>': ..."
 * in eb, so callers that can do without it (a release) say so and go on.
 * etag_out (nullable) receives the ETag ("" when missing).
 */
enum cmn_err cmn_embedded_list(struct cmn_storage *st, const char *app, const char *platform, struct cmn_embedded *r,
                               char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* What cmn_embedded_add / cmn_embedded_remove did. */
struct cmn_embedded_change {
    int changed;                     /* 1 when the registry was rewritten */
    int replaced;                    /* add: 1 when binary_version had another digest */
    char old_sha256[CMN_SHA256_HEX]; /* add: that digest; remove: the removed one */
    struct cmn_embedded_base entry;  /* add: the entry now registered */
};

/*
 * Register the embedded bundle of `binary_version`: store the zip (from
 * `zip_path`, or `zip_len` bytes at `zip` when zip_path is NULL) under its
 * content-addressed key unless an object is already there, then record the
 * entry in the registry with the conditional read-merge-write loop (jittered
 * backoff, up to 16 attempts). `content_sha256` is the content digest of the
 * bundle the zip extracts to (the caller computed it from the directory it
 * zipped: cmn_content_digest_dir). `now` stamps `added`. Re-adding the same
 * version with the same digest changes nothing; with another digest it
 * replaces the entry (change->replaced, change->old_sha256). A registry that
 * does not parse is CMN_E_PARSE: it is not overwritten (remove the object or
 * fix it; nothing registered is lost silently).
 */
enum cmn_err cmn_embedded_add(struct cmn_storage *st, const char *app, const char *platform, const char *binary_version,
                              const char *zip_path, const void *zip, size_t zip_len, const char *content_sha256,
                              int64_t now, struct cmn_embedded_change *change, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/*
 * Remove the entry of binary_version (same loop). CMN_E_NOTFOUND when there
 * is none. The zip object stays: it is immutable and content-addressed like
 * a bundle, and another writer may be registering the same content at the
 * same moment; deleting it could leave an entry without its zip.
 */
enum cmn_err cmn_embedded_remove(struct cmn_storage *st, const char *app, const char *platform,
                                 const char *binary_version, struct cmn_embedded_change *change, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Format `t` (seconds since the epoch, UTC) as "YYYY-MM-DDTHH:MM:SSZ". */
void cmn_embedded_time(int64_t t, char out[CMN_EMBEDDED_TIME_MAX]);

#endif
