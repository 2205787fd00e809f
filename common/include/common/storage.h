/*
 * storage.h - one object-store interface, two backends (docs/design.md "Storage").
 *
 *   file:///abs/dir            local directory (the embedded default); writes
 *                              are temp file + fsync + rename; conditional
 *                              writes are serialised with a lock file.
 *   s3://bucket[/prefix]       AWS S3, Cloudflare R2, Ceph radosgw... SigV4 by
 *                              libcurl (CURLOPT_AWS_SIGV4), path-style requests
 *                              to the endpoint; x-amz-content-sha256 sent.
 *
 * Keys are relative ("manifests/app/android/production.json"), never start
 * with '/', never contain "..", NUL or backslash (CMN_E_INVAL).
 * ETags are opaque strings without quotes: on file:// the hex SHA-256 of the
 * content, on S3 what the server says (quotes stripped).
 *
 * S3 settings come from cmn_storage_opts, else the environment:
 *   HOTPATCH_S3_ENDPOINT (e.g. http://127.0.0.1:7480 or https://<acct>.r2.cloudflarestorage.com;
 *   default https://s3.<region>.amazonaws.com), AWS_REGION (default us-east-1; R2 uses "auto"),
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional).
 * Or as URL query: s3://bucket/prefix?endpoint=http://127.0.0.1:7480&region=us-east-1
 */
#ifndef COMMON_STORAGE_H
#define COMMON_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define CMN_ETAG_MAX 130
#define CMN_STORAGE_KEY_MAX 1024

struct cmn_storage;

struct cmn_storage_opts {
    const char *endpoint;   /* S3 endpoint URL; NULL = env / AWS default */
    const char *region;     /* NULL = env / us-east-1 */
    const char *access_key; /* NULL = env */
    const char *secret_key; /* NULL = env; copied and wiped on free */
    long timeout_ms;        /* per request; 0 = 30000 */
    int max_retries;        /* on 5xx / timeouts / connection errors; 0 = default 4, -1 = none */
};

/* Progress callback: return non-zero to cancel (the call fails with CMN_E_CANCELLED). */
typedef int (*cmn_progress_fn)(void *ctx, uint64_t done, uint64_t total);

enum cmn_err cmn_storage_open(const char *url, const struct cmn_storage_opts *opts, struct cmn_storage **out,
                              struct cmn_errbuf *eb) __attribute__((warn_unused_result));
void cmn_storage_free(struct cmn_storage *st);
/* The URL it was opened with (borrowed, valid until free). */
const char *cmn_storage_url(const struct cmn_storage *st);
/* 1 for file://, 0 for s3:// */
int cmn_storage_is_local(const struct cmn_storage *st);

struct cmn_put_opts {
    const char *if_match; /* write only if the current ETag equals this (else CMN_E_CONFLICT) */
    int if_none_match;    /* write only if the key does not exist (else CMN_E_CONFLICT) */
    const char *content_type;
    const char *cache_control;
    cmn_progress_fn progress;
    void *progress_ctx;
};

/* Put bytes. etag_out (nullable) receives the new ETag. 412 -> CMN_E_CONFLICT, 403 -> CMN_E_DENIED. */
enum cmn_err cmn_storage_put(struct cmn_storage *st, const char *key, const void *data, size_t len,
                             const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Put a file, streaming; S3 uses multipart upload above 16 MiB (parts of 8 MiB). */
enum cmn_err cmn_storage_put_file(struct cmn_storage *st, const char *key, const char *path,
                                  const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

struct cmn_get_opts {
    const char *if_none_match; /* unchanged -> CMN_E_NOT_MODIFIED */
    int has_range;
    uint64_t range_start;
    uint64_t range_end; /* inclusive; UINT64_MAX = to the end */
    size_t max_size;    /* refuse larger objects with CMN_E_TOOBIG; 0 = out->cap decides */
};

/* Get an object into `out` (appends). Missing -> CMN_E_NOTFOUND. */
enum cmn_err cmn_storage_get(struct cmn_storage *st, const char *key, const struct cmn_get_opts *o, struct cmn_buf *out,
                             char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* One object of a cmn_storage_get_many batch. */
struct cmn_get_item {
    const char *key;           /* in */
    const char *if_none_match; /* in, nullable: unchanged -> rc CMN_E_NOT_MODIFIED */
    size_t max_size;           /* in: refuse larger objects (CMN_E_TOOBIG); 0 = out's cap decides */
    struct cmn_buf out;        /* out: the body (initialised by the caller with its cap) */
    char etag[CMN_ETAG_MAX];   /* out */
    enum cmn_err rc;           /* out: CMN_OK, CMN_E_NOT_MODIFIED, CMN_E_NOTFOUND, CMN_E_TOOBIG, ... */
    struct cmn_errbuf eb;      /* out: detail of rc */
};

/*
 * Get many objects, up to `parallel` in flight at once (s3://: one libcurl
 * multi handle, each failed transfer retried alone with the usual policy;
 * file://: one after another). Each item gets its own rc; the call itself
 * fails only on a bad argument or no memory.
 */
enum cmn_err cmn_storage_get_many(struct cmn_storage *st, struct cmn_get_item *items, size_t n, unsigned parallel,
                                  struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Requests sent through this handle so far (each list page counts), for metrics and benchmarks. */
uint64_t cmn_storage_requests(const struct cmn_storage *st);

/* Metadata only. Missing -> CMN_E_NOTFOUND. Any out-param may be NULL. */
enum cmn_err cmn_storage_head(struct cmn_storage *st, const char *key, char etag_out[CMN_ETAG_MAX], uint64_t *size,
                              struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Called once per object under the prefix, in key order; return non-zero to stop early. */
typedef int (*cmn_list_fn)(void *ctx, const char *key, const char *etag, uint64_t size);
/* List with continuation (S3 ListObjectsV2), recursive under `prefix`. */
enum cmn_err cmn_storage_list(struct cmn_storage *st, const char *prefix, cmn_list_fn fn, void *ctx,
                              struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Delete; deleting a missing key is CMN_OK. */
enum cmn_err cmn_storage_delete(struct cmn_storage *st, const char *key, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/*
 * Validate an object key (the rules above, plus: at most CMN_STORAGE_KEY_MAX-1
 * bytes, valid UTF-8, no control characters, no empty segment ("a//b", a
 * trailing '/'), and no segment that starts with '.', which the backends
 * reserve for their temp and lock files). CMN_OK or CMN_E_INVAL with a detail.
 * Every operation applies it; exposed so callers can check keys early.
 */
enum cmn_err cmn_storage_key_check(const char *key, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Canonical object keys (docs/design.md layout); write into out (cap CMN_STORAGE_KEY_MAX). */
enum cmn_err cmn_storage_bundle_key(const char *app, const char *platform, const char *sha256_hex, char *out,
                                    size_t cap) __attribute__((warn_unused_result));
enum cmn_err cmn_storage_manifest_key(const char *app, const char *platform, const char *channel, char *out, size_t cap)
    __attribute__((warn_unused_result));

/* ---- conditional read-modify-write (storage_update.c) ---- */

#define CMN_STORAGE_UPDATE_ATTEMPTS 16                 /* default bound on reads (1 + lost races) */
#define CMN_STORAGE_UPDATE_MAX_BYTES ((size_t)1 << 24) /* default cap on the object read and written */

/*
 * One call of a cmn_storage_edit_fn: the object as just read, and where the
 * new bytes go. The callback is called again, on a fresh read, after every
 * lost race, so it must compute the new bytes from `cur` alone (plus what
 * it was asked to change), never from a previous call's result.
 */
struct cmn_storage_edit {
    const char *key;     /* in: the object being updated */
    const char *cur;     /* in: its bytes, NUL-terminated; NULL when the object does not exist */
    size_t cur_len;      /* in: 0 when absent */
    const char *etag;    /* in: its ETag; "" when absent */
    int attempt;         /* in: 0, then 1, 2... after each lost race */
    struct cmn_buf *out; /* in/out: empty on every call (cap = the update's max_size): the new bytes */
    int keep;            /* out: 1 = nothing to change; nothing is written and the update returns CMN_OK */
};

/*
 * Produce the new object from ed->cur into ed->out, or set ed->keep. A
 * non-zero return stops the update at once with that code (fill eb): nothing
 * is written. Pointers in `ed` are valid for the call only.
 */
typedef enum cmn_err (*cmn_storage_edit_fn)(void *ctx, struct cmn_storage_edit *ed, struct cmn_errbuf *eb);

struct cmn_storage_update_opts {
    const char *what;        /* names the object in messages ("feed", "embedded registry"); NULL = nothing */
    size_t max_size;         /* cap on the bytes read and written; 0 = CMN_STORAGE_UPDATE_MAX_BYTES */
    int max_attempts;        /* reads at most (1 + lost races); 0 = CMN_STORAGE_UPDATE_ATTEMPTS */
    unsigned backoff_min_ms; /* sleep after a lost race: see cmn_storage_backoff_ms; 0 = 10 */
    unsigned backoff_max_ms; /* 0 = 500 */
    const char *content_type;
    const char *cache_control;
};

struct cmn_storage_update_result {
    int written;             /* 1 when the new bytes were stored, 0 when the callback kept the object */
    int attempts;            /* reads made: 1 + lost races */
    char etag[CMN_ETAG_MAX]; /* ETag of what was written, or of the object kept ("" when it is absent) */
};

/*
 * Read `key` with its ETag, let `edit` turn it into new bytes, and put them
 * back conditionally: If-Match the ETag read, or If-None-Match when the key
 * was absent. A lost race (CMN_E_CONFLICT) sleeps cmn_storage_backoff_ms and
 * starts over from a fresh read, so concurrent updaters of one key lose
 * nothing. `o` and `res` may be NULL; `res` is written on CMN_OK only.
 *
 * Returns CMN_OK (written or kept), the callback's code as it returned it,
 * CMN_E_CONFLICT with "... kept changing under us (N attempts)" once
 * max_attempts reads all lost their race, or the read/write failure
 * ("cannot read '<key>': ...", "cannot write '<key>': ...").
 */
enum cmn_err cmn_storage_update(struct cmn_storage *st, const char *key, cmn_storage_edit_fn edit, void *ctx,
                                const struct cmn_storage_update_opts *o, struct cmn_storage_update_result *res,
                                struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/*
 * The jittered pause after the attempt-th lost race (0-based): uniform in
 * min_ms .. min_ms + (20 << min(attempt, 5)), capped at max_ms, so racing
 * writers decorrelate and the wait grows with contention.
 */
unsigned cmn_storage_backoff_ms(int attempt, unsigned min_ms, unsigned max_ms);

#endif
