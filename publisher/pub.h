/*
 * pub.h - the publisher's domain layer: authentication, request decoding,
 * the manifest publisher, new releases and the release lifecycle, telemetry
 * ingest and the background jobs. It knows nothing of HTTP: callers pass
 * decoded values in and get cmn_err codes (with a message in the errbuf) out.
 * The layers are described in pub_core.h.
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
#include "pub_core.h"
#include "pub_db.h"

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
/* The principal of a signed-in user (JWT or dashboard session): kind, id, default org, actor. CMN_E_DB. */
enum cmn_err pub_auth_user(struct pub_dbconn *c, int64_t user_id, struct pub_principal *p)
    __attribute__((warn_unused_result));
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
    const char *legacy_signature; /* optional (SPEC.md section 15), NULL when absent */
    const char *content_sha256;   /* optional with content_sig (SPEC.md section 14), NULL when absent */
    const char *content_sig;
    const char *codepush_hash; /* optional (SPEC.md section 16, 64 lower-case hex), NULL when absent */
    int mandatory;
    long long rollout_bp;
    long long size;
};
enum cmn_err pub_relmeta_parse(const char *p, size_t n, struct pub_relmeta *m, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void pub_relmeta_release(struct pub_relmeta *m);

/* Seed 000/001 metadata.json (docs/compatibility.md): the seed's fields plus our optional ones. */
struct pub_seed_meta {
    json_t *doc; /* owns the strings below */
    const char *version, *platform, *channel, *hash, *target_binary, *notes, *bundle_sig, *app; /* NULL: absent */
    int mandatory;
    long long rollout_pct; /* 0..100, default 100 */
};
enum cmn_err pub_seed_meta_parse(const char *p, size_t n, struct pub_seed_meta *m, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void pub_seed_meta_release(struct pub_seed_meta *m);
/* The seed's signature.sig: base64 text (white space around it ignored) or the 64 raw bytes -> base64. 0 when valid. */
int pub_seed_sig_parse(const char *p, size_t n, char out[CMN_SIG_B64]);

/* One telemetry batch, decoded and validated. */
struct pub_install_ev {
    const char *event_id, *device_id, *app, *platform, *channel, *release_id, *status, *binary_version;
    long long progress; /* -1 when absent */
    long long ts;       /* 0 when absent */
    const char *ticket; /* the edge's telemetry ticket (common/ticket.h), NULL when absent */
    size_t ticket_len;
    int ticketed; /* set by pub_ingest_installs: the ticket verified for this event */
};
struct pub_device_ev {
    const char *device_id, *app, *platform, *binary_version, *os;
    size_t order; /* position in the request: the last report of a device wins */
};
struct pub_batch {
    json_t *doc;
    char *arena; /* pub_batch_fast_installs: the body's copy the events point into (doc is NULL) */
    size_t n;
    size_t rejected;           /* malformed entries skipped */
    struct pub_install_ev *ev; /* for installations */
    struct pub_device_ev *dev; /* for devices */
    int arriving;              /* counted in pub_ingest_arriving until queued (telemetry.c, group commit) */
};
enum cmn_err pub_batch_parse_installs(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
                                      struct cmn_errbuf *eb) __attribute__((warn_unused_result));
enum cmn_err pub_batch_parse_devices(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
                                     struct cmn_errbuf *eb) __attribute__((warn_unused_result));
void pub_batch_release(struct pub_batch *b);
/*
 * The two decoders behind pub_batch_parse_installs, exposed for the
 * differential test and fuzz target. pub_batch_parse_installs_json is the
 * strict jansson parse (common/cjson.h). pub_batch_fast_installs handles the
 * common shape only - {"events":[{...},...]} with event values that are
 * strings without escapes or non-ASCII bytes, small non-negative integers,
 * true, false or null, no duplicate keys - in one pass over a copy of the
 * body, with the same result as the jansson path; it returns 0 with *b set,
 * or -1 (b zeroed) for anything else, which the jansson path then decides.
 */
int pub_batch_fast_installs(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b);
enum cmn_err pub_batch_parse_installs_json(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
                                           struct cmn_errbuf *eb) __attribute__((warn_unused_result));

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
 * pub_chan_bump for a change that is not a release (a CodePush deployment key
 * added or revoked): a retired channel stays retired (its tombstone lists no
 * keys until a release starts it again).
 */
enum cmn_err pub_chan_touch(struct pub_dbconn *c, const struct pub_chan *ch, int64_t *seq)
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

/* ---- new releases and the release lifecycle (release.c) ---- */

/* Upload spool files are named PUB_SPOOL_PREFIX "<pid>-XXXXXX" in the spool directory. */
#define PUB_SPOOL_PREFIX "hotpatch-upload-"
/* The spool directory: tmp_dir, else $TMPDIR, else /tmp. */
const char *pub_spool_dir(const struct pub_srv *s);
/* Remove upload spool files left in `dir` by publishers that no longer run (a SIGKILL mid-upload). */
/* Remove <dir>/<prefix><pid>-* entries (files or trees) whose publisher process is gone: a crash's leftovers. */
void pub_stale_cleanup(const char *dir, const char *prefix, const char *what);
void pub_spool_cleanup(const char *dir);

/* A verified bundle (digest, size and release-key signature already checked) and its metadata. */
struct pub_new_release {
    const struct pub_relmeta *meta;
    int64_t app_id, org_id;
    const char *bundle_path; /* the spooled bundle file */
    const char *sha256_hex;  /* its digest (== meta->sha256) */
    const char *actor;
};

/* Where pub_release_new stopped. */
enum pub_new_stage {
    PUB_NEW_BUNDLE = 1, /* storing the bundle */
    PUB_NEW_DB,         /* no database connection */
    PUB_NEW_INSERT,     /* the release transaction */
    PUB_NEW_DONE,       /* stored; the manifest publish may still have failed (published = 0) */
};

struct pub_new_result {
    enum pub_new_stage stage;
    char id[32];    /* the new release id */
    int64_t seq;    /* the channel sequence the change committed */
    int64_t pubseq; /* the published manifest's sequence, when published */
    int published;  /* 0: publish failed, retried by the maintenance loop; see publish_error */
    char publish_error[CMN_ERRBUF_SIZE];
    json_t *release; /* the release row as JSON (owned by the caller), NULL if it cannot be re-read */
};

/*
 * Store a new release: the bundle to storage (content-addressed, so a second
 * store is harmless) -> fault point after_bundle_upload -> one transaction
 * (channel bump + release row + manifest check + audit) -> fault point
 * after_db_commit -> manifest publish. Takes and returns its own pooled
 * connection. On error `res->stage` says which step failed: CMN_E_EXISTS
 * (version already on the channel), CMN_E_INVAL (the release does not fit
 * the manifest), CMN_E_DB, or a storage error.
 */
enum cmn_err pub_release_new(struct pub_srv *s, const struct pub_new_release *nr, struct pub_new_result *res,
                             struct cmn_errbuf *eb) __attribute__((warn_unused_result));

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

/* ---- telemetry (telemetry.c) ---- */

struct pub_ingest_result {
    size_t accepted;  /* entries after de-duplication within the batch */
    size_t rejected;  /* malformed entries skipped by the parser */
    long long stored; /* devices: rows upserted */
    size_t ticketed;  /* installations: entries whose edge ticket verified (they may count toward auto-halt) */
};

/*
 * Store a parsed installation batch in one transaction (shared with the
 * batches of concurrent calls when they queue behind one being stored: group
 * commit); returns once its rows are committed. A retried batch is not
 * counted twice (UNIQUE device, release, status). Releases whose failure
 * rate reaches their threshold are halted (auto-halt). Reorders b->ev.
 * CMN_E_NOMEM ("cannot encode the batch"), CMN_E_DB.
 */
enum cmn_err pub_ingest_installs(struct pub_srv *s, struct pub_batch *b, struct pub_ingest_result *res,
                                 struct cmn_errbuf *eb) __attribute__((warn_unused_result));
/*
 * Tests of the group commit (telemetry.c): while held, no installation batch
 * starts to be stored (they queue); pub_ingest_waiting counts the queued ones.
 */
void pub_ingest_hold(struct pub_srv *s, int on);
/*
 * An installation request starts (+1) or stops (-1) being decoded: a store
 * about to start waits up to PUB_IG_GATHER_NS (s->ig_gather_ns) for such
 * batches to queue, so they join its group (telemetry.c, group commit).
 */
void pub_ingest_arriving(struct pub_srv *s, int delta);
size_t pub_ingest_waiting(struct pub_srv *s);
/* Upsert a parsed device batch (one row per app + device: the last report wins). Reorders b->dev. */
enum cmn_err pub_ingest_devices(struct pub_srv *s, struct pub_batch *b, struct pub_ingest_result *res,
                                struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* ---- publisher-built patches (patchjob.c; manifests/SPEC.md section 14) ---- */

/* Scratch directories of patch work are named PUB_PATCH_PREFIX "<pid>-XXXXXX" in the spool directory. */
#define PUB_PATCH_PREFIX "hotpatch-patchjob-"
/*
 * The content digest of uploaded bundle zip `zip` (a release's or an embedded
 * bundle's), streamed from its entries with the SDK's extraction caps (512 MiB,
 * 20000 entries): cmn_content_digest_zip. *nfiles (nullable): its file count.
 * CMN_E_PARSE / CMN_E_UNSAFE / CMN_E_TOOBIG for a zip that cannot be a bundle.
 */
enum cmn_err pub_bundle_content(const char *zip, uint8_t out[CMN_SHA256_BYTES], size_t *nfiles, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
struct cmn_content; /* common/patch.h */
/* The listing behind that digest (cmn_content_zip), same caps: for the upload's content and CodePush hash checks. */
enum cmn_err pub_bundle_listing(const char *zip, struct cmn_content *out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* Wake the patch worker: a release with a content digest was committed (its job row with it). */
void pub_patch_kick(struct pub_srv *s);
/*
 * Run one due patch job (patch_jobs row 'pending', run_after passed, not
 * held by another worker): build patches from the release's channel's last
 * cfg->patch_bases distinct earlier bundles (and the registered embedded
 * bundles its target_binary admits), store them content-addressed, then in
 * one transaction record them, mark the job done and bump the channel, and
 * publish the manifest. A failure schedules a retry (cfg->patch_retry_delay,
 * doubling) until cfg->patch_retries attempts, then marks the job failed;
 * the release is served with its full bundle either way.
 * Returns 1 when a job ran (any outcome), 0 when none was due, -1 when the
 * database is unavailable.
 */
int pub_patch_run_once(struct pub_srv *s);
/* Remove patch scratch directories left in `dir` by publishers that no longer run (a SIGKILL mid-job). */
void pub_patch_cleanup(const char *dir);

/* ---- background (jobs.c) ---- */
enum cmn_err pub_jobs_start(struct pub_srv *s) __attribute__((warn_unused_result));
void pub_jobs_stop(struct pub_srv *s);
/*
 * A pub_notify_fn (install with pub_srv_set_notify): asks the notifier
 * thread to POST /v1/sync to every edge (coalesced, async). `arg` is unused.
 */
void pub_notify_edges(struct pub_srv *s, void *arg);
/* A manifest changed: write feed/snapshot after snapshot_debounce seconds of quiet (at most 30 s later). */
void pub_snapshot_changed(struct pub_srv *s);
/*
 * The notify hook main.c installs: a manifest changed, so tell the edges
 * (pub_notify_edges) and schedule a snapshot (pub_snapshot_changed).
 */
void pub_manifest_changed(struct pub_srv *s, void *arg);

#endif
