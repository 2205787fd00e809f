/*
 * feed.h - the change feed and the snapshot: two storage objects beside the
 * manifests that let an edge sync without listing every manifest
 * (docs/interfaces.md "Change feed and snapshot").
 *
 *   feed/index.json   the change feed: one entry per channel manifest
 *                     (app/platform/channel, sequence, storage ETag, the feed
 *                     revision that last touched it). Every manifest writer
 *                     (the publisher, the CLI in serverless mode) updates it
 *                     after the manifest put, with the same conditional PUT
 *                     (If-Match the ETag it read, If-None-Match when absent):
 *                     a lost race re-reads and merges, so no entry is lost.
 *   feed/snapshot     every current envelope in one object, framed (below),
 *                     for a cold edge: load, verify each envelope, then catch
 *                     up from the feed.
 *
 * Both are unsigned hints. An edge verifies every envelope exactly as it
 * does when it lists storage; a missing, corrupt or stale feed or snapshot
 * costs time (a full listing), never a wrong answer. Whoever can write them
 * can write the manifests too, so they add no power an attacker lacks.
 *
 * Feed JSON (keys in this order when rendered, entries sorted by key):
 *   {"format":"hotpatch-feed","version":1,"rev":N,"updated_at":T,
 *    "manifests":[{"key":"app/platform/channel","sequence":S,"etag":"E","rev":R},...]}
 *
 * Snapshot framing (text lines, envelope bytes verbatim):
 *   "hotpatch-snapshot 1 <created_at>\n"
 *   then per envelope: "m <app>/<platform>/<channel> <sequence> <etag> <len>\n" <len bytes> "\n"
 *   then "end <count>\n" and nothing after it.
 */
#ifndef COMMON_FEED_H
#define COMMON_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/manifest.h"
#include "common/storage.h"

#define CMN_FEED_KEY "feed/index.json"
#define CMN_SNAPSHOT_KEY "feed/snapshot"
#define CMN_FEED_MAX_BYTES ((size_t)64 << 20)
#define CMN_FEED_MAX_ENTRIES 200000
#define CMN_SNAPSHOT_MAX_BYTES ((size_t)2 << 30)
#define CMN_FEED_KEY_MAX (3 * CMN_ID_MAX + 3) /* "app/platform/channel" + NUL */

struct cmn_feed_entry {
    char key[CMN_FEED_KEY_MAX]; /* "app/platform/channel" */
    uint64_t sequence;          /* 0 = unknown (an entry rebuilt from a listing) */
    uint64_t rev;               /* feed revision that last set it */
    char etag[CMN_ETAG_MAX];    /* storage ETag of the manifest, unquoted */
};

struct cmn_feed {
    uint64_t rev; /* bumped by every write */
    int64_t updated_at;
    struct cmn_feed_entry *v; /* sorted by key, no duplicates */
    size_t n, cap;
};

void cmn_feed_init(struct cmn_feed *f);
void cmn_feed_release(struct cmn_feed *f);

/*
 * Parse feed JSON into *f (initialised by the caller; replaced on success,
 * untouched on failure). CMN_E_PARSE for anything malformed (wrong format or
 * version, a bad key, etag or number, duplicate keys, unknown members),
 * CMN_E_TOOBIG past CMN_FEED_MAX_BYTES / CMN_FEED_MAX_ENTRIES.
 */
enum cmn_err cmn_feed_parse(const char *doc, size_t len, struct cmn_feed *f, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Render *f (canonical: sorted, compact) appended to out. */
enum cmn_err cmn_feed_render(const struct cmn_feed *f, struct cmn_buf *out) __attribute__((warn_unused_result));

/* The entry for "app/platform/channel", or NULL. Borrowed: valid until the feed changes. */
const struct cmn_feed_entry *cmn_feed_find(const struct cmn_feed *f, const char *key);

/*
 * Record that the manifest `key` now has `sequence` and `etag`, at revision
 * `rev`. An entry with a higher known sequence wins (a slower writer never
 * overwrites a newer one); returns 1 when the feed changed, 0 when kept, -1
 * on allocation failure or an invalid key / etag.
 */
int cmn_feed_set(struct cmn_feed *f, const char *key, uint64_t sequence, const char *etag, uint64_t rev);

/* Split "app/platform/channel" (each a valid id) into the three parts; 0 when the key is invalid. */
int cmn_feed_key_split(const char *key, char app[CMN_ID_MAX + 1], char platform[CMN_ID_MAX + 1],
                       char channel[CMN_ID_MAX + 1]);

/* "manifests/<app>/<platform>/<channel>.json" -> "app/platform/channel"; 0 when the storage key has another shape. */
int cmn_feed_key_from_storage(const char *storage_key, char out[CMN_FEED_KEY_MAX]);

/*
 * The writer's step after a successful manifest put: read the feed, set the
 * entry, write it back conditionally; on CMN_E_CONFLICT re-read, merge and
 * retry (jittered backoff, up to 16 attempts). A missing or unparsable feed
 * is rebuilt from a listing of manifests/ (so it starts complete) and
 * written with If-None-Match / If-Match the damaged object's ETag.
 */
enum cmn_err cmn_feed_record(struct cmn_storage *st, const char *app, const char *platform, const char *channel,
                             uint64_t sequence, const char *etag, int64_t now, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* ---- snapshot ---- */

struct cmn_snapshot_item {
    char key[CMN_FEED_KEY_MAX]; /* "app/platform/channel" */
    uint64_t sequence;
    char etag[CMN_ETAG_MAX];
    const char *env; /* envelope bytes inside the parsed buffer (borrowed) */
    size_t env_len;
};

struct cmn_snapshot_reader {
    const char *p;
    size_t len, off;
    int64_t created_at;
    uint64_t seen;
    int done;
};

/* Check the header line; CMN_E_PARSE when it is not a version-1 snapshot. */
enum cmn_err cmn_snapshot_begin(struct cmn_snapshot_reader *r, const void *buf, size_t len, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/*
 * Next envelope: CMN_OK with *it filled; CMN_E_NOTFOUND at a well-formed end
 * (trailer present, count matching, nothing after it); CMN_E_PARSE or
 * CMN_E_TOOBIG (an envelope over CMN_MANIFEST_MAX_BYTES) otherwise.
 */
enum cmn_err cmn_snapshot_next(struct cmn_snapshot_reader *r, struct cmn_snapshot_item *it, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Writer side: header, items, trailer (the caller counts). */
enum cmn_err cmn_snapshot_add_header(struct cmn_buf *out, int64_t created_at) __attribute__((warn_unused_result));
enum cmn_err cmn_snapshot_add(struct cmn_buf *out, const char *key, uint64_t sequence, const char *etag,
                              const void *env, size_t env_len) __attribute__((warn_unused_result));
enum cmn_err cmn_snapshot_add_trailer(struct cmn_buf *out, uint64_t count) __attribute__((warn_unused_result));

struct cmn_snapshot_stats {
    unsigned manifests; /* envelopes written */
    unsigned reused;    /* taken from the previous snapshot (same ETag) */
    unsigned fetched;   /* read from storage */
    unsigned skipped;   /* did not verify with the keyring (or vanished) */
    size_t bytes;
};

/*
 * Build and write feed/snapshot: the manifests named by the feed (or, when
 * there is no usable feed, by a listing of manifests/), each envelope reused
 * from the previous snapshot when its ETag is unchanged, else fetched in
 * parallel; only envelopes that verify with `keyring` at `now` go in.
 */
enum cmn_err cmn_snapshot_write(struct cmn_storage *st, const struct cmn_keyring *keyring, int64_t now,
                                struct cmn_snapshot_stats *stats, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

#endif
