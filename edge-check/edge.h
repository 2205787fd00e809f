/*
 * edge.h - internal interfaces of hotpatch-edge (never installed).
 *
 *   record.c   compile a verified manifest into a compact binary record and
 *              build a zero-copy view of one (struct cmn_manifest pointing
 *              into the record) so a request does no JSON parsing and no heap
 *   index.c    the LMDB environment: named DBs "manifests", "lists", "meta"
 *   sync.c     one sync pass: list storage, fetch what changed, verify, commit
 *              everything in one write transaction; targeting lists
 *   req.c      request handlers shared by the HTTP loop and Lambda mode
 *   metrics.c  per-thread counters summed at scrape time
 *   loop.c     the epoll HTTP/1.1 server (one listening socket per worker)
 *   lambda.c   the AWS Lambda custom runtime client
 *   main.c     options, subcommands
 */
#ifndef EDGE_EDGE_H
#define EDGE_EDGE_H

#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/codepush.h"
#include "common/cohort.h"
#include "common/crypto.h"
#include "common/err.h"
#include "common/http1.h"
#include "common/manifest.h"
#include "common/storage.h"

/* ------------------------------------------------------------ record.c */

#define EDGE_REC_MAGIC 0x31525048u /* "HPR1" little-endian */
/* 2: CodePush key hashes and package hashes; 3: legacy signatures (an index of an older version is rebuilt) */
#define EDGE_REC_VERSION 3
#define EDGE_ETAG_MAX 72 /* "\"" + 64 hex + "\"" + NUL, rounded */
#define EDGE_DEVICE_MAX 128

/*
 * Record layout: header, n_releases fixed-size release entries, then a pool
 * of NUL-terminated strings and uint32 offset arrays. Offsets are from the
 * start of the record; 0 means absent. The record's last byte is NUL, so any
 * string that starts inside the record ends inside it. The envelope bytes
 * (what /v1/check and /v1/manifests serve) are stored in the pool too.
 * Values in LMDB are only 2-byte aligned: every fixed struct is read with
 * memcpy, never through a cast pointer.
 */
struct edge_rec_hdr {
    uint32_t magic;
    uint32_t version;
    uint32_t total_len;
    uint32_t n_releases;
    uint64_t sequence;
    int64_t issued_at;
    int64_t expires_at;
    int64_t synced_at;
    uint32_t off_app, off_platform, off_channel, off_signed_by;
    uint32_t off_env, env_len;
    uint32_t n_cp_keys, off_cp_keys; /* codepush_keys: n_cp_keys strings of CMN_SHA256_HEX bytes; 0 = absent */
    char etag[EDGE_ETAG_MAX];        /* quoted strong ETag of the envelope bytes */
};

struct edge_rec_rel {
    struct cmn_semver_range target;
    uint64_t size;
    int64_t created_at;
    uint32_t rollout_bp;
    uint32_t state;
    uint32_t mandatory;
    uint32_t n_device_ids;   /* inline targeting ids, sorted */
    uint32_t off_device_ids; /* array of n_device_ids uint32 string offsets */
    uint32_t off_id, off_version, off_target_binary, off_bundle_url, off_bundle_sig;
    uint32_t off_notes, off_device_list; /* 0 = absent */
    uint32_t off_legacy_sig;             /* SPEC section 15, from the verified envelope; 0 = absent */
    char sha256[CMN_SHA256_HEX];
    char bundle_keyid[CMN_KEYID_HEX];
    char codepush_hash[CMN_SHA256_HEX]; /* "" when absent */
};

/* A manifest seen through a record: everything points into the record. */
struct edge_view {
    struct edge_rec_hdr hdr;
    const char *env; /* envelope bytes, hdr.env_len long */
    struct cmn_manifest m;
    const char *self[1]; /* device_ids view when the device is listed inline */
    const char *none[1]; /* ... and when it is not */
    /* cache (edge_rec_view_cached): which record, in which LMDB snapshot, the view was built from */
    const void *src;
    size_t src_len;
    size_t src_txn;
    uint32_t n_inline; /* releases with inline device_ids */
    uint16_t inline_idx[CMN_MANIFEST_MAX_RELEASES];
    uint32_t inline_off[CMN_MANIFEST_MAX_RELEASES], inline_n[CMN_MANIFEST_MAX_RELEASES];
    struct cmn_release rel[CMN_MANIFEST_MAX_RELEASES];
};

/*
 * Append the record of a verified manifest `m` whose envelope is env[0..n).
 * CMN_E_TOOBIG when it would not fit the 32-bit offsets or the buffer cap.
 * A release's legacy signature (SPEC section 15) is carried as `m` has it,
 * that is as the envelope's verification vouched for it; one that is not
 * base64 of 64 bytes is left out (the seed check then answers with
 * bundle_sig), so a record never hands out a malformed one.
 */
enum cmn_err edge_rec_compile(const struct cmn_manifest *m, const void *env, size_t env_len, int64_t synced_at,
                              struct cmn_buf *out) CMN_WUR;

/*
 * Validate the header of rec[0..len) (magic, sizes, envelope bounds) and copy
 * it to *hdr. CMN_E_PARSE for anything inconsistent.
 */
enum cmn_err edge_rec_header(const void *rec, size_t len, struct edge_rec_hdr *hdr) CMN_WUR;

/*
 * Build the view of a record for one device (device_id may be NULL: inline
 * targeting then matches no one). Checks every offset, count and range
 * before use, so arbitrary bytes give CMN_E_PARSE, never a bad read. The
 * view borrows `rec` and `device_id`: valid while both are.
 */
enum cmn_err edge_rec_view(const void *rec, size_t len, const char *device_id, struct edge_view *v) CMN_WUR;

/*
 * Same, reusing the work of the previous call when it was for the same record
 * bytes in the same LMDB snapshot (txn_id from mdb_txn_id; 0 disables the
 * cache): a snapshot's pages do not change while it is the newest or is read,
 * so only the per-device inline-targeting answers are recomputed.
 */
enum cmn_err edge_rec_view_cached(const void *rec, size_t len, size_t txn_id, const char *device_id,
                                  struct edge_view *v) CMN_WUR;

/* ------------------------------------------------------------- index.c */

struct edge_index {
    MDB_env *env;
    MDB_dbi manifests; /* "app/platform/channel" -> record */
    MDB_dbi lists;     /* list_name '\0' device_id -> "" */
    MDB_dbi meta;      /* sync state, per-object etags */
};

#define EDGE_MAP_SIZE_DEFAULT ((size_t)4 << 30)

/* Create the directory if needed and open (creating) the environment and its DBs. */
enum cmn_err edge_index_open(struct edge_index *ix, const char *dir, size_t map_size, struct cmn_errbuf *eb) CMN_WUR;
void edge_index_close(struct edge_index *ix);

/* Build the manifests key "app/platform/channel" into out (cap >= 3*CMN_ID_MAX+3). */
size_t edge_manifest_key(const char *app, const char *platform, const char *channel, char *out, size_t cap);

/* 1 when the device is in the list, within txn. */
int edge_index_list_has(struct edge_index *ix, MDB_txn *txn, const char *list, const char *device_id);

/*
 * Replace list `name` by the device ids in ids[0..n) (any order, duplicates
 * allowed) inside the caller's write transaction.
 */
enum cmn_err edge_index_list_replace(struct edge_index *ix, MDB_txn *txn, const char *name, char **ids, size_t n,
                                     struct cmn_errbuf *eb) CMN_WUR;

/*
 * Parse a targeting list file: one device id per line, '#' comments and
 * blank lines ignored, CR before LF and surrounding blanks trimmed. Ids are
 * 1..128 bytes without control characters. On success *ids is an array of n pointers into a copy of
 * the text (free both with edge_list_free). CMN_E_PARSE names the bad line.
 */
enum cmn_err edge_list_parse(const char *text, size_t len, char ***ids, size_t *n, struct cmn_errbuf *eb) CMN_WUR;
void edge_list_free(char **ids, size_t n);

/* meta helpers (within txn). get returns 0 when absent. */
int edge_meta_get(struct edge_index *ix, MDB_txn *txn, const char *key, char *out, size_t cap);
enum cmn_err edge_meta_put(struct edge_index *ix, MDB_txn *txn, const char *key, const char *val) CMN_WUR;

/* A device id: 1..128 bytes, no control characters (UTF-8 and spaces are fine: "ios:unit 7"). */
int edge_valid_device(const char *s, size_t n);

/* -------------------------------------------------------------- sync.c */

/* A manifest the index still serves but storage no longer backs: deleted, or currently refused. */
#define EDGE_MAX_PROBLEMS 8
struct edge_problem {
    char key[CMN_STORAGE_KEY_MAX];
    char what[160]; /* "missing", or "refused: <reason>" */
};

struct edge_sync_stats {
    unsigned listed, fetched, updated, unchanged, rejected, lists_loaded, lists_rejected;
    unsigned snapshot;    /* envelopes loaded from feed/snapshot (cold start) */
    unsigned feed;        /* 0 not read, 1 unchanged (304), 2 changed */
    unsigned full;        /* 1 when manifests/ was listed */
    unsigned requests;    /* storage requests of this pass */
    unsigned missing;     /* manifests applied before that this pass's listing no longer has */
    unsigned refused_now; /* manifests whose stored version is refused (new or still) */
    unsigned n_problems;  /* the first EDGE_MAX_PROBLEMS of the two kinds */
    struct edge_problem problems[EDGE_MAX_PROBLEMS];
};

#define EDGE_FULL_SYNC_DEFAULT_S 600
#define EDGE_MAX_ROOTS 64 /* --root files */

/* The root of trust an app's manifests are verified with now, for /healthz, /metrics and `sync`. */
struct edge_root_info {
    char app[CMN_ID_MAX + 1];
    uint64_t version;
    int64_t expires_at; /* unix seconds */
};

struct edge_sync {
    struct edge_index *ix;
    struct cmn_storage *st;
    struct cmn_keyring keyring;
    /* storage objects refused during this process's lifetime (key + etag), so each is logged once */
    struct edge_bad *bad;
    size_t n_bad;
    /* change feed: list manifests/ at most every full_interval_s (<= 0: every pass, feed unused) */
    int full_interval_s;
    int64_t last_full; /* unix seconds of the last listing, 0 = none yet in this process */
    int cold_done;     /* the cold-start snapshot check ran */
    unsigned parallel; /* manifests fetched at once (0 = 16) */
    /* manifest keys missing from storage at the last pass, so each disappearance is logged once */
    char **missing;
    size_t n_missing;
    /* refused manifests found by the last pass that looked at every manifest (a listing or a changed feed) */
    struct edge_problem refused_kept[EDGE_MAX_PROBLEMS];
    unsigned n_refused_kept, refused_kept_count;
    struct edge_roots *roots; /* --root: per-app roots of trust (roots.c), NULL without */
};

/*
 * One pass: list manifests/ and lists/, fetch changed objects, verify, then
 * apply every change in one LMDB write transaction and record the result in
 * meta ("sync.last_ok", "sync.last_at", "sync.last_result", "sync.passes").
 * Per-object verification failures are logged and counted (stats->rejected)
 * and do not fail the pass; a storage or index failure does.
 */
enum cmn_err edge_sync_pass(struct edge_sync *s, int64_t now, struct edge_sync_stats *stats,
                            struct cmn_errbuf *eb) CMN_WUR;
void edge_sync_release(struct edge_sync *s);

/* ------------------------------------------------------------- roots.c */

/*
 * Load the --root files (each an app's initial signed root), resuming from
 * the newer root cached under <data_dir>/roots/ when there is one. Freed by
 * edge_sync_release.
 */
enum cmn_err edge_roots_load(struct edge_sync *s, const char *const *files, size_t n, const char *data_dir,
                             struct cmn_errbuf *eb) CMN_WUR;
void edge_roots_free(struct edge_sync *s);
/* Walk every app's root chain forward in storage (start of a sync pass); problems go to stats. */
enum cmn_err edge_roots_refresh(struct edge_sync *s, int64_t now, struct edge_sync_stats *stats,
                                struct cmn_errbuf *eb) CMN_WUR;
/* The trusted root of each --root app, in --root order, into out[0..cap); returns how many. */
size_t edge_roots_info(const struct edge_sync *s, struct edge_root_info *out, size_t cap);
/* 1 when `app` has a root (then *rc is the result of opening the manifest with it), 0 otherwise. */
int edge_roots_open_manifest(struct edge_sync *s, const char *app, const void *doc, size_t len,
                             const struct cmn_manifest_expect *ex, int64_t now, struct cmn_manifest **out,
                             enum cmn_err *rc, struct cmn_errbuf *eb);

/* Load a local list file into the index (the load-list subcommand). */
enum cmn_err edge_sync_load_list_file(struct edge_index *ix, const char *name, const char *path, size_t *count,
                                      struct cmn_errbuf *eb) CMN_WUR;

/* ----------------------------------------------------------- metrics.c */

enum edge_outcome {
    EDGE_OUT_UPDATE = 0, /* 200, install a release */
    EDGE_OUT_ROLLBACK,   /* 200, revert to the embedded bundle */
    EDGE_OUT_NONE,       /* 204 (or updateAvailable=false) */
    EDGE_OUT_BAD,        /* 400 */
    EDGE_OUT_NOTFOUND,   /* 404 unknown channel */
    EDGE_OUT_EXPIRED,    /* 503 the stored manifest expired */
    EDGE_OUT_ERROR,      /* 500 */
    EDGE_OUT__COUNT
};

enum edge_endpoint {
    EDGE_EP_CHECK = 0,
    EDGE_EP_UPDATE_CHECK,
    EDGE_EP_FIRMWARE,
    EDGE_EP_MANIFEST,
    EDGE_EP_SYNC,
    EDGE_EP_HEALTH,
    EDGE_EP_METRICS,
    EDGE_EP_DOWNLOAD,      /* seed 002 GET /api/firmware/download/<version> */
    EDGE_EP_DEVICE_STATUS, /* seed 002 POST /api/device/<id>/update-status (relayed) */
    EDGE_EP_CODEPUSH,      /* /v0.1/public/codepush/... (codepush.c) */
    EDGE_EP_OTHER,
    EDGE_EP__COUNT
};

#define EDGE_LAT_BUCKETS 12

/* One per worker thread; only that thread writes, the scraper reads (relaxed atomics). */
struct edge_metrics {
    uint64_t requests[EDGE_EP__COUNT];
    uint64_t checks[EDGE_OUT__COUNT];
    uint64_t lat[EDGE_LAT_BUCKETS + 1]; /* last = +Inf */
    uint64_t lat_sum_ns;
    uint64_t bad_http; /* malformed / oversized requests at the HTTP layer */
    uint64_t conns_accepted;
    uint64_t conns_timed_out;
    uint64_t conns_refused_per_ip; /* closed at accept: the client address already had its share */
} __attribute__((aligned(64)));

/* Process-wide sync state (written by the sync thread). */
struct edge_sync_state {
    int64_t last_ok;           /* unix seconds of the last successful pass, 0 = never */
    int64_t last_at;           /* last attempt */
    uint64_t passes;           /* completed passes (ok or not) */
    uint64_t failures;         /* failed passes */
    uint64_t rejected;         /* manifests / lists refused by verification */
    uint64_t requested;        /* pass number the last trigger asked for */
    uint64_t storage_requests; /* storage requests sent by sync passes */
    uint64_t full_passes;      /* passes that listed manifests/ */
    uint64_t feed_changes;     /* passes that found the change feed changed */
    uint64_t snapshot_loaded;  /* envelopes loaded from feed/snapshot */
    int last_rc;               /* enum cmn_err of the last pass */
    char last_msg[256];
    unsigned missing, refused_now, n_problems; /* from the last completed pass (health: degraded) */
    struct edge_problem problems[EDGE_MAX_PROBLEMS];
    unsigned n_roots; /* the trusted root of each --root app, after the last pass (or at start) */
    struct edge_root_info roots[EDGE_MAX_ROOTS];
    pthread_mutex_t mu;
};

/* ------------------------------------------------------------- relay.c */

/*
 * Best-effort telemetry forwarding to the publisher (see relay.c): a bounded
 * queue and one worker thread POSTing JSON bodies to base_url + path with the
 * shared client. Thread-safe; never blocks a request handler on the network.
 */
#define EDGE_RELAY_BODY_MAX 8192      /* bytes of one queued JSON body */
#define EDGE_RELAY_PATH_MAX 128       /* bytes of the publisher path ("/v1/installations") */
#define EDGE_RELAY_QUEUE_DEFAULT 1024 /* --relay-queue */
#define EDGE_RELAY_RATE_DEFAULT 10    /* --relay-rate: reports per second per client address (burst twice that) */

struct edge_relay;

struct edge_relay_opts {
    const char *base_url; /* --publisher-url: http:// or https://, no path needed */
    size_t queue_max;     /* 0 = EDGE_RELAY_QUEUE_DEFAULT */
    unsigned rate_per_s;  /* 0 = EDGE_RELAY_RATE_DEFAULT */
    unsigned burst;       /* 0 = 2 * rate */
    long timeout_ms;      /* one POST, 0 = 5000 */
};

struct edge_relay_stats {
    uint64_t queued, capacity; /* now (including the one being sent), and the cap */
    uint64_t enqueued;         /* accepted into the queue */
    uint64_t sent;             /* the publisher answered 2xx */
    uint64_t failed;           /* no answer, or a non-2xx one (after the client's one retry) */
    uint64_t dropped;          /* refused: queue full (or out of memory) */
    uint64_t rate_limited;     /* edge_relay_admit() refusals */
};

enum { EDGE_RELAY_QUEUED = 0, EDGE_RELAY_FULL = 1, EDGE_RELAY_INVAL = 2 };

/* Start the worker. CMN_E_INVAL for a bad URL (message in eb). Stop with edge_relay_stop. */
enum cmn_err edge_relay_start(struct edge_relay **out, const struct edge_relay_opts *o, struct cmn_errbuf *eb) CMN_WUR;
/* Queue a POST of json[0..len) (copied) to base_url + path ("/..."). EDGE_RELAY_QUEUED, EDGE_RELAY_FULL (dropped,
 * counted) or EDGE_RELAY_INVAL (no relay, bad path, body over EDGE_RELAY_BODY_MAX). Never blocks on the network. */
int edge_relay_enqueue(struct edge_relay *r, const char *path, const char *json, size_t len);
/* Take one token from the client address's bucket: 0 admitted, else the seconds to wait (counted). NULL r: 0. */
long edge_relay_admit(struct edge_relay *r, uint32_t client);
/* A consistent snapshot of the counters (all zero for NULL). */
/* Wait until every queued report has been posted (or failed), at most timeout_ms; returns how many are left
 * (0 when drained, and for r == NULL). The Lambda runtime calls it between invocations. */
size_t edge_relay_drain(struct edge_relay *r, long timeout_ms);
void edge_relay_stats(struct edge_relay *r, struct edge_relay_stats *out);
/* Stop the worker (an in-flight POST is cancelled), drop what is queued, free. NULL: nothing. */
void edge_relay_stop(struct edge_relay *r);

struct edge_metrics *edge_metrics_register(void);
void edge_metrics_observe(struct edge_metrics *m, enum edge_endpoint ep, uint64_t ns);
void edge_metrics_count(struct edge_metrics *m, enum edge_outcome o);
/* Render every registered thread's counters, summed, plus a snapshot of the sync state, in Prometheus text. */
/* rl: the relay's counters, or NULL when no --publisher-url is configured. */
enum cmn_err edge_metrics_render(struct cmn_buf *out, const struct edge_sync_state *ss, int64_t now, size_t n_manifests,
                                 const struct edge_relay_stats *rl) CMN_WUR;

/* --------------------------------------------------------------- req.c */

#define EDGE_MAX_LISTEN 8

struct edge_listen {
    char host[64]; /* IPv4 "0.0.0.0", "127.0.0.1"; IPv6 "::", "::1" (without brackets) */
    int port;      /* 0 = any free port (the workers share the one the first gets) */
};

#define EDGE_MAX_MODELS 32

/* --device-model MODEL=APP[/PLATFORM[/CHANNEL]]: seed 002 devices name a model, not an app */
struct edge_model {
    char model[CMN_ID_MAX + 1], app[CMN_ID_MAX + 1], platform[CMN_ID_MAX + 1], channel[CMN_ID_MAX + 1];
};

struct edge_config {
    const char *listen_host; /* listens[0], kept for log lines */
    int port;
    struct edge_listen listens[EDGE_MAX_LISTEN]; /* --listen, repeatable; n_listen >= 1 */
    int n_listen;
    int threads;
    const char *data_dir;
    const char *source;
    struct cmn_key *keys;
    size_t n_keys;
    const char *root_files[EDGE_MAX_ROOTS]; /* --root FILE: an app's initial root of trust */
    size_t n_roots;
    int poll_ms;
    const char *sync_token;  /* NULL: POST /v1/sync disabled */
    const char *public_base; /* prefix for relative bundle URLs in seed endpoints, or NULL */
    struct edge_model models[EDGE_MAX_MODELS];
    size_t n_models;
    struct edge_relay *relay; /* --publisher-url: device telemetry POSTs are relayed; NULL = refused (503) */
    int idle_timeout_s;
    int header_timeout_s;
    int max_conns;
    int max_conns_per_ip; /* across all workers; a slowloris from one address cannot take every slot */
    size_t map_size;
    int lambda_refresh_s;
    int full_sync_s; /* --full-sync-interval: list storage at least this often (0 = always, feed unused) */
    int json;
    const struct cmn_key *ticket_key; /* --ticket-key: signs telemetry tickets (common/ticket.h); NULL: none */
    int ticket_ttl_s;                 /* --ticket-ttl, default 7 days */
};

/* What the handler needs from the transport: the request head. */
struct edge_reqin {
    struct cmn_slice method, path, query;
    struct cmn_slice authorization; /* n == 0 when absent */
    struct cmn_slice if_none_match;
    struct cmn_slice host;  /* Host header; n == 0 when absent (absolute URLs in seed answers) */
    struct cmn_slice ctype; /* Content-Type; n == 0 when absent */
    struct cmn_slice body;  /* the whole request body (up to EDGE_REQ_BODY_MAX); n == 0 when none */
    int body_too_large;     /* a body was sent but is over EDGE_REQ_BODY_MAX (discarded, not in `body`) */
    uint32_t peer;          /* client address key (IPv4, or a hash of the IPv6 /64); rate limits */
};

/* Request bodies handed to handlers whole; larger ones (up to the transport's cap) are read and discarded. */
#define EDGE_REQ_BODY_MAX 4096

#define EDGE_RESP_MAXH 12
#define EDGE_SCRATCH (96 * 1024)

struct edge_resp {
    int status;
    int nh;
    struct {
        const char *name;
        const char *val;
        size_t len;
    } h[EDGE_RESP_MAXH];
    const char *body; /* may point into the index: serialise before edge_ctx_end */
    size_t body_len;
    int head_only; /* HEAD: headers describe the body, but none is sent */
    size_t used;   /* bytes of scratch in use */
    char scratch[EDGE_SCRATCH];
};

/* Everything a worker (or the Lambda loop) needs; one per thread, allocated once. */
struct edge_ctx {
    const struct edge_config *cfg;
    struct edge_index *ix;
    struct edge_sync_state *ss;
    struct edge_metrics *mx;
    MDB_txn *txn; /* read txn: reset between requests, renewed on demand */
    int txn_live;
    struct edge_view *view;
    /* sync trigger (daemon): called by POST /v1/sync; returns the pass number to wait for */
    uint64_t (*trigger)(void *arg);
    void *trigger_arg;
    char arena[4096]; /* decoded query parameters of the current request */
    size_t arena_used;
};

enum cmn_err edge_ctx_init(struct edge_ctx *c, const struct edge_config *cfg, struct edge_index *ix,
                           struct edge_sync_state *ss) CMN_WUR;
void edge_ctx_release(struct edge_ctx *c);

/* Handle one request; rs is filled (status, headers, body). Returns the endpoint for metrics. */
enum edge_endpoint edge_handle(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs);
/* End the request: resets the read transaction (body pointers become invalid). */
void edge_ctx_end(struct edge_ctx *c);

/* Status reason phrase. */
const char *edge_status_text(int status);

/* Parse one --device-model MODEL=APP[/PLATFORM[/CHANNEL]] (platform "firmware", channel "production" by default)
 * into cfg; -1 (nothing added) when malformed, a duplicate model, or past EDGE_MAX_MODELS. */
int edge_model_add(struct edge_config *cfg, const char *spec);
/* The configured line for a model, or NULL. */
const struct edge_model *edge_model_find(const struct edge_config *cfg, const char *model);

/* ---------------------------------------------------------- devstatus.c */

/* A seed 002 update-status report, decoded and checked. */
struct edge_status {
    char device_model[CMN_ID_MAX + 1];     /* "" when the body does not name one (our extension) */
    char firmware_version[CMN_ID_MAX + 1]; /* the version the report is about */
    const char *status;                    /* ours: "downloading", "applied" (seed "success") or "failed" */
    int progress;                          /* progress_percent 0..100, -1 when absent */
};

/* Decode a POST /api/device/<path_id>/update-status body (JSON object: firmware_version, status
 * downloading|success|failed, optional progress_percent 0..100, device_id equal to path_id, device_model;
 * other seed fields such as error_message are accepted and ignored). 0, or -1 with a one-line reason in msg. */
int edge_status_parse(const char *body, size_t n, const char *path_id, struct edge_status *out, char *msg, size_t cap);
/* Encode it as the publisher's installation batch {"events":[{...}]} for POST /v1/installations.
 * Returns the length written to out (NUL-terminated), or -1 when it does not fit. */
long edge_status_event(const struct edge_status *st, const char *device_id, const struct edge_model *t,
                       const char *release_id, char *out, size_t cap);

/* One installation event as the publisher's telemetry takes it (every string borrowed). */
struct edge_install {
    const char *device_id, *app, *platform, *channel, *release_id;
    const char *status;         /* downloading | applied | failed | rolled_back */
    int progress;               /* 0..100, -1 for none */
    const char *binary_version; /* NULL or "" for none */
};
/* Encode ev as the batch {"events":[{...}]} (a fresh random event_id, ts = now); as edge_status_event. */
long edge_install_event(const struct edge_install *ev, char *out, size_t cap);

#define EDGE_CP_LABEL_MAX 64 /* label and app_version of a CodePush report */
#define EDGE_CP_PREV_MAX 256 /* previous_deployment_key / previous_label_or_app_version (checked, unused) */

/* A CodePush report_status body (deploy or download), decoded and checked. */
struct edge_cp_report {
    char key[CMN_CODEPUSH_KEY_MAX + 1];                                          /* deployment_key as sent */
    char app[CMN_ID_MAX + 1], platform[CMN_ID_MAX + 1], channel[CMN_ID_MAX + 1]; /* the channel the key names */
    char client[EDGE_DEVICE_MAX + 1];                                            /* client_unique_id: the device id */
    char label[EDGE_CP_LABEL_MAX + 1];       /* the package's label (our version label); "" = the binary */
    char app_version[EDGE_CP_LABEL_MAX + 1]; /* the binary's version as sent, "" when absent */
    const char *status; /* ours: applied | failed (deploy), downloading (download); NULL: nothing to record */
    int progress;       /* 100 for a download report, else -1 */
};

/* Decode a POST .../report_status/deploy (download = 0) or .../download (download = 1) body as the
 * code-push 4.2.x AcquisitionManager sends it: deployment_key (of our form), client_unique_id (1..128
 * printable), label, app_version, status DeploymentSucceeded|DeploymentFailed (deploy, with a label),
 * previous_deployment_key / previous_label_or_app_version (checked, ignored). A deploy report without
 * a label (the binary) decodes with status NULL. 0, or -1 with a one-line reason in msg. */
int edge_cp_report_parse(const char *body, size_t n, int download, struct edge_cp_report *out, char *msg, size_t cap);

/* -------------------------------------------------------------- loop.c */

/* Run the HTTP server until *stop becomes non-zero. */
enum cmn_err edge_serve(const struct edge_config *cfg, struct edge_index *ix, struct edge_sync_state *ss,
                        uint64_t (*trigger)(void *), void *trigger_arg, volatile int *stop,
                        struct cmn_errbuf *eb) CMN_WUR;

/* ------------------------------------------------------------ lambda.c */

/* Run as a Lambda custom runtime against $AWS_LAMBDA_RUNTIME_API; returns on fatal error. */
int edge_lambda_main(struct edge_config *cfg);

/* Map one API Gateway v2 / Function URL event (JSON) through the handler; appends the response JSON. */
enum cmn_err edge_lambda_invoke(struct edge_ctx *c, const char *event, size_t len, struct edge_resp *rs,
                                struct cmn_buf *out, struct cmn_errbuf *eb) CMN_WUR;

#endif
