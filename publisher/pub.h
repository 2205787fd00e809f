/*
 * pub.h - internal declarations shared by the publisher's modules: the server
 * context, principals and roles, request/response plumbing, the manifest
 * publisher, telemetry, background jobs and the rate limiter.
 */
#ifndef PUB_H
#define PUB_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/err.h"
#include "common/storage.h"
#include "pub_config.h"
#include "pub_db.h"

/* ---- roles and principals ---- */

enum pub_role {
    PUB_ROLE_NONE = 0,
    PUB_ROLE_READ,
    PUB_ROLE_WRITE,
    PUB_ROLE_ADMIN,
    PUB_ROLE_OWNER,
};
const char *pub_role_name(int role);
/* -1 when unknown. */
int pub_role_parse(const char *s);

enum pub_principal_kind {
    PUB_PRINC_NONE = 0, /* anonymous */
    PUB_PRINC_USER,     /* a user (JWT from email + password) */
    PUB_PRINC_KEY,      /* an API key (directly or through a JWT) */
};

struct pub_principal {
    enum pub_principal_kind kind;
    int64_t id;     /* users.id or api_keys.id */
    int64_t org_id; /* keys: their org; users: their first org */
    int64_t app_id; /* keys scoped to one app; 0 = the whole org */
    int role;       /* keys: their role; users: resolved per request */
    int via_jwt;
    char actor[48];  /* "user:12" / "key:7", for audit events */
    char rl_key[48]; /* rate-limit bucket name */
};

/* ---- the server ---- */

struct pub_metrics {
    atomic_ulong requests;
    atomic_ulong status[6]; /* by class: 1xx..5xx, index 1..5 */
    atomic_ulong rate_limited;
    atomic_ulong releases_created;
    atomic_ulong manifests_published;
    atomic_ulong manifest_publish_errors;
    atomic_ulong telemetry_events;
    atomic_ulong telemetry_batches;
    atomic_ulong devices_seen;
    atomic_ulong auto_halts;
    atomic_ulong edge_notifies;
    atomic_ulong edge_notify_errors;
    atomic_ulong upload_bytes;
};

struct pub_rl;

struct pub_srv {
    struct pub_config *cfg;
    struct pub_db *db;
    struct cmn_key mkeys[2]; /* manifest signing keys: [0] HOTPATCH_MANIFEST_KEY, [1] HOTPATCH_MANIFEST_KEY_NEXT */
    size_t n_mkeys;          /* 1, or 2 while a key rotation co-signs */
    struct pub_rl *rl_ip;
    struct pub_rl *rl_key;
    struct pub_metrics m;
    const char *fault; /* HOTPATCH_FAULT test hook, NULL normally */
    time_t started;

    /* background: re-sign/reconcile loop and the edge notifier */
    pthread_t job_thread, notify_thread;
    int threads_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int notify_pending;
};

/* Open a storage handle for one operation (cheap; handles are not shared between threads). */
enum cmn_err pub_storage_open(struct pub_srv *s, struct cmn_storage **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* HOTPATCH_FAULT test hook: _exit(99) when the named fault point is reached. */
void pub_fault(struct pub_srv *s, const char *point);

/* ---- HTTP plumbing (http.c) ---- */

struct pub_resp {
    int status;
    json_t *json; /* body as JSON (stolen), or */
    char *raw;    /* raw body (malloc'd) */
    size_t raw_len;
    const char *ctype; /* for raw */
    char etag[CMN_ETAG_MAX + 2];
    long retry_after; /* > 0: Retry-After header */
    const char *cache_control;
};

/* An error body {"error":{"code","message"}} with a status. Returns 0 for chaining. */
int pub_err(struct pub_resp *out, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pub_json_reply(struct pub_resp *out, int status, json_t *body);
/* Map a cmn_err to an HTTP error reply. */
int pub_err_from(struct pub_resp *out, enum cmn_err rc, const struct cmn_errbuf *eb);

struct pub_http;
enum cmn_err pub_http_start(struct pub_srv *s, struct pub_http **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void pub_http_stop(struct pub_http *h);
/* The port actually bound (useful with port 0). */
int pub_http_port(const struct pub_http *h);

/* ---- auth (auth.c) ---- */

/* New API key text "hp_<12 hex>_<43 b64url>" and its lookup id + SHA-256 hex. */
void pub_apikey_generate(char key[80], char lookup[16], char hash_hex[CMN_SHA256_HEX]);
/* Split and hash a presented key; -1 when it is not of the right shape. */
int pub_apikey_parse(const char *key, char lookup[16], uint8_t hash[CMN_SHA256_BYTES]);
/* Look up and verify an API key (constant-time hash compare). */
enum cmn_err pub_auth_apikey(struct pub_dbconn *c, const char *key, struct pub_principal *p);
/* Authenticate an Authorization header value (Bearer API key or JWT). CMN_E_DENIED when bad. */
enum cmn_err pub_auth_bearer(struct pub_srv *s, struct pub_dbconn *c, const char *authz, struct pub_principal *p,
                             struct cmn_errbuf *eb);
/* Role of a principal on an app (org_id = the app's org). */
int pub_auth_role(struct pub_dbconn *c, const struct pub_principal *p, int64_t org_id, int64_t app_id);
/* Sign a JWT for a principal. Returns a malloc'd token or NULL. */
char *pub_jwt_issue(struct pub_srv *s, const struct pub_principal *p, long *expires_in);
/* Verify a JWT (HS256 only, exp checked); fills kind + id. */
enum cmn_err pub_jwt_verify(struct pub_srv *s, const char *token, struct pub_principal *p);
/* Argon2id password hash / verify (libsodium crypto_pwhash_str). */
enum cmn_err pub_password_hash(const char *pw, char out[128]) __attribute__((warn_unused_result));
int pub_password_verify(const char *hash, const char *pw);

/* ---- request decoding helpers (jsonreq.c, fuzzed by pub_json) ---- */

/* Strict parse of an admin JSON body that must be an object. */
enum cmn_err pub_json_body(const char *p, size_t n, size_t cap, json_t **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* Field getters: missing optional -> def / NULL; wrong type -> CMN_E_INVAL naming the field. */
enum cmn_err pub_jstr(json_t *o, const char *key, int required, size_t maxlen, const char **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
enum cmn_err pub_jint(json_t *o, const char *key, int required, long long min, long long max, long long *out,
                      struct cmn_errbuf *eb) __attribute__((warn_unused_result));
enum cmn_err pub_jbool(json_t *o, const char *key, int required, int *out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* Only the listed keys may appear (NULL-terminated list). */
enum cmn_err pub_jkeys(json_t *o, const char *const *allowed, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* [A-Za-z0-9._-]{1,64}: app, platform, channel, release ids. */
int pub_valid_id(const char *s);

/* Decoded release metadata (the multipart "metadata" part). */
struct pub_relmeta {
    json_t *doc; /* owns the strings below */
    const char *app, *platform, *channel, *version, *target_binary, *notes;
    const char *sha256, *bundle_sig, *bundle_keyid;
    int mandatory;
    long long rollout_bp;
    long long size;
};
enum cmn_err pub_relmeta_parse(const char *p, size_t n, struct pub_relmeta *m, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void pub_relmeta_release(struct pub_relmeta *m);

/* One telemetry batch, decoded and validated. */
struct pub_install_ev {
    const char *event_id, *device_id, *app, *platform, *channel, *release_id, *status, *binary_version;
    long long progress; /* -1 when absent */
    long long ts;       /* 0 when absent */
};
struct pub_device_ev {
    const char *device_id, *app, *platform, *binary_version, *os;
    size_t order; /* position in the request: the last report of a device wins */
};
struct pub_batch {
    json_t *doc;
    size_t n;
    size_t rejected;           /* malformed entries skipped */
    struct pub_install_ev *ev; /* for installations */
    struct pub_device_ev *dev; /* for devices */
};
enum cmn_err pub_batch_parse_installs(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
                                      struct cmn_errbuf *eb) __attribute__((warn_unused_result));
enum cmn_err pub_batch_parse_devices(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
                                     struct cmn_errbuf *eb) __attribute__((warn_unused_result));
void pub_batch_release(struct pub_batch *b);

/* ---- manifests and releases (publish.c) ---- */

struct pub_chan {
    int64_t app_id;
    const char *app, *platform, *channel;
};

/*
 * Inside the caller's transaction: make sure the channel row exists, lock it
 * (SELECT ... FOR UPDATE) and bump its sequence, marking it dirty. *seq gets
 * the new sequence.
 */
enum cmn_err pub_chan_bump(struct pub_dbconn *c, const struct pub_chan *ch, int64_t *seq)
    __attribute__((warn_unused_result));

/*
 * Render the channel's manifest from the DB, sign it and write it to storage
 * with a conditional put, under the channel row lock. Does nothing when the
 * row is clean unless `force` (re-sign). A stored manifest with a sequence at
 * or above the DB's (a crash after a put, or another writer) is overtaken by
 * rendering with a higher sequence. *seq_out (nullable) gets the published
 * sequence.
 */
enum cmn_err pub_publish(struct pub_srv *s, struct pub_dbconn *c, const struct pub_chan *ch, int force,
                         int64_t *seq_out, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/*
 * Inside the caller's transaction, after a change: render the channel's
 * manifest model from the DB and validate it, so that a row the manifest
 * format cannot carry is refused before it is committed (and can never block
 * later publishes of the channel).
 */
enum cmn_err pub_manifest_check(struct pub_srv *s, struct pub_dbconn *c, const struct pub_chan *ch,
                                struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/*
 * Retire a channel with a signed tombstone (issue 12 #4): in one transaction
 * its listed releases are archived, the row is marked retired and its
 * sequence bumped (audited as channel.retire); then the tombstone (a manifest
 * with "retired": true and no releases) is published like any manifest.
 * A later pub_chan_bump (a release or promote into the channel) starts it
 * again. *seq_out (nullable) gets the published sequence; *archived the
 * number of releases taken off the channel.
 */
enum cmn_err pub_channel_retire(struct pub_srv *s, struct pub_dbconn *c, const struct pub_chan *ch, const char *actor,
                                int64_t org_id, int64_t *seq_out, int *archived, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Re-publish every dirty channel and every channel whose stored manifest disagrees with the DB. */
void pub_reconcile(struct pub_srv *s, int check_storage);
/* Re-sign manifests that expire within half the TTL. */
void pub_resign_expiring(struct pub_srv *s);

/* Audit event inside the caller's transaction (detail: a JSON object, borrowed). */
enum cmn_err pub_audit(struct pub_dbconn *c, const char *actor, int64_t org_id, int64_t app_id, const char *release_id,
                       const char *action, json_t *detail) __attribute__((warn_unused_result));

/* Release row -> JSON (column order of REL_COLS in db.c). */
json_t *pub_release_json(const PGresult *r, int row);

/* ---- release lifecycle (release.c) ---- */

/* Remove upload spool files left in `dir` by publishers that no longer run (a SIGKILL mid-upload). */
void pub_spool_cleanup(const char *dir);

enum pub_rel_action {
    PUB_ACT_ROLLOUT = 0,
    PUB_ACT_ROLLBACK,
    PUB_ACT_HALT,
    PUB_ACT_RESUME,
    PUB_ACT_CONCLUDE,
    PUB_ACT_ARCHIVE
};

/*
 * Apply an action to a release under its channel's row lock, write the audit
 * event (detail = `extra` + from/to state and rollout), commit, re-publish.
 * CMN_E_NOTFOUND, CMN_E_CONFLICT (transition not allowed), CMN_E_DB.
 * *rel_out (nullable) gets the updated release JSON, *seq_out the channel sequence.
 */
enum cmn_err pub_release_action(struct pub_srv *s, struct pub_dbconn *c, const char *id, int action, long rollout_bp,
                                const char *actor, json_t *extra, json_t **rel_out, int64_t *seq_out,
                                struct cmn_errbuf *eb);
/* A new release with the same bundle on another channel; `src` is a Q_REL_BY_ID row. */
enum cmn_err pub_release_promote(struct pub_srv *s, struct pub_dbconn *c, const PGresult *src, const char *to_channel,
                                 long rollout_bp, const char *actor, int64_t org_id, json_t **rel_out, int64_t *seq_out,
                                 int64_t *pubseq_out, struct cmn_errbuf *eb);

/* ---- background (jobs.c) ---- */
enum cmn_err pub_jobs_start(struct pub_srv *s) __attribute__((warn_unused_result));
void pub_jobs_stop(struct pub_srv *s);
/* Ask the notifier to POST /v1/sync to every edge (coalesced, async). */
void pub_notify_edges(struct pub_srv *s);

/* ---- rate limiting (ratelimit.c) ---- */

/* Token buckets by name: `rate` tokens per second, at most `burst`. */
struct pub_rl *pub_rl_new(double rate, double burst, size_t max_entries);
void pub_rl_free(struct pub_rl *rl);
/* 0 when allowed; else the seconds to wait (>= 1) for the Retry-After header. */
long pub_rl_take(struct pub_rl *rl, const char *name, double now);

/* ---- handlers (api.c, release.c, telemetry.c) ---- */

struct pub_req;
/* Route table entry points: see api.c. */
void pub_api_dispatch(struct pub_srv *s, struct pub_req *r, struct pub_resp *out);

#endif
