/*
 * pub_handlers.h - the handler layer: the route table (routes.c), one
 * handler file per resource (h_*.c) and the helpers they share (h_common.c).
 * Handlers decode the request, call the domain layer (pub.h) and build the
 * reply with the transport's helpers (pub_http.h). Layers: pub_core.h.
 *
 * Adding a route: one line in routes.c and one handler in the resource's
 * h_<resource>.c (declared below).
 */
#ifndef PUB_HANDLERS_H
#define PUB_HANDLERS_H

#include "pub.h"
#include "pub_http.h"

#define I64(buf, v) snprintf((buf), sizeof(buf), "%lld", (long long)(v))

/* The publisher's route table and upload stream (routes.c), handed to pub_http_start by main.c. */
extern const struct pub_router pub_router;

/* ---- shared helpers (h_common.c) ---- */

/* Parse the buffered body as a JSON object; an empty body is `{}` when `optional`. NULL after a 400/413 reply. */
json_t *pub_h_body(struct pub_srv *s, struct pub_req *r, int optional, struct pub_resp *out);
/* One string member of a request body, for pub_h_body_strs. */
struct pub_h_str {
    const char *name;
    int required;
    size_t maxlen;    /* in bytes */
    const char **out; /* NULL when absent and optional; borrowed from the body */
};
#define PUB_H_STR_MAX 8
/*
 * The prologue of the handlers that take a small body of strings (keys,
 * apps): parse the body (pub_h_body); when `app` is non-NULL, authorise the
 * app named by path segment 2 with the route's role (pub_h_app: *app is then
 * the caller's to PQclear); then admit only the members listed in `f` (at
 * most PUB_H_STR_MAX, ended by a {NULL} entry) and read each (400 naming the
 * member). Returns the body, which the caller json_decref's and the strings
 * borrow from, or NULL after the reply (400 / 413 / the app's refusals) with
 * nothing left to free.
 */
json_t *pub_h_body_strs(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, PGresult **app,
                        const struct pub_h_str *f, struct pub_resp *out);
/* Run a prepared read; on failure answer 503 and return NULL. */
PGresult *pub_h_query(struct pub_dbconn *c, enum pub_stmt q, const char *const *params, struct pub_resp *out);

/* Begin a transaction; on failure answer 503 and return -1. */
int pub_h_begin(struct pub_dbconn *c, struct pub_resp *out);

/* One result row -> a new JSON value. */
typedef json_t *(*pub_row_fn)(const PGresult *q, int row);
/* Every row of `q` through `row`, as a new JSON array. */
json_t *pub_h_rows(const PGresult *q, pub_row_fn row);
/* Run a read and reply 200 {"<key>": [rows...]} (503 when it fails). */
void pub_h_list(struct pub_dbconn *c, enum pub_stmt q, const char *const *params, const char *key, pub_row_fn row,
                struct pub_resp *out);

/*
 * Load an app by name (a Q_APP_BY_NAME row) and check that the caller has the
 * route's role on it. NULL after setting the reply: 400 bad name, 404 (also
 * when the caller has no role at all), 403, 503.
 */
PGresult *pub_h_app(struct pub_dbconn *c, struct pub_req *r, const char *name, struct pub_resp *out);
/* pub_h_app for handlers that only need the app's id: its decimal text in aid. 0, or -1 after the refusal. */
int pub_h_app_id(struct pub_dbconn *c, struct pub_req *r, const char *name, char aid[24], struct pub_resp *out);
/*
 * Load a release (a Q_REL_BY_ID row) and check the caller has the route's
 * role on its app. NULL after setting the reply (400 / 404 / 403 / 503);
 * *org_id (nullable) gets the app's org.
 */
PGresult *pub_h_release(struct pub_dbconn *c, struct pub_req *r, const char *id, int64_t *org_id, struct pub_resp *out);

/*
 * The read-only "list something of an app" handler: authorise the app named
 * by segment 2 (/v1/apps/:app/...) with the route's role, run `q` with the
 * app id, reply 200 {"<key>": [rows...]}.
 */
void pub_h_app_list(struct pub_dbconn *c, struct pub_req *r, enum pub_stmt q, const char *key, pub_row_fn row,
                    struct pub_resp *out);

/* Create an API key row; key_out receives the plaintext (shown once; wipe it). */
enum cmn_err pub_h_make_api_key(struct pub_dbconn *c, int64_t org_id, int64_t app_id, int role, const char *name,
                                const char *created_by, char key_out[80]) __attribute__((warn_unused_result));
/* pub_audit that takes ownership of `detail` (for json_pack'd details). */
enum cmn_err pub_h_audit(struct pub_dbconn *c, const char *actor, int64_t org_id, int64_t app_id,
                         const char *release_id, const char *action, json_t *detail)
    __attribute__((warn_unused_result));

/*
 * Verify an email + password (Argon2id; an unknown email costs the same as a
 * wrong password). 0 and *user_id set, or -1 after a 401 / 503 reply (h_auth.c).
 */
int pub_h_password_check(struct pub_dbconn *c, const char *email, const char *pw, int64_t *user_id,
                         struct pub_resp *out);

/* ---- handlers, by resource (all pub_handler_fn) ---- */

/* h_auth.c */
void pub_h_bootstrap(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_auth_token(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_auth_refresh(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_users_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_apps.c */
void pub_h_apps_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_apps_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_app_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_app_patch(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_channels(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* POST .../channels/:platform/:channel/retire: the signed tombstone (manifests/SPEC.md). */
void pub_h_chan_retire(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_audit_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_keys.c */
void pub_h_keys_add(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_keys_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_key_revoke(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_apikeys(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_apikey_revoke(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_codepush.c: CodePush deployment keys of a channel (the key is shown once; the manifest lists hashes) */
void pub_h_cpkey_add(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_cpkey_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_cpkey_revoke(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_releases.c */
void pub_h_rel_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* GET /v1/releases with the app given by the caller (the seed adapter takes it from the key's scope). */
void pub_h_rel_list_app(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, const char *app,
                        struct pub_resp *out);
void pub_h_rel_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_rel_rollout(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_rel_action(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_rel_promote(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_upload.c: POST /v1/releases (the body streams through pub_upload_ops first) */
extern const struct pub_stream_ops pub_upload_ops;
void pub_h_rel_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_telemetry.c */
void pub_h_devices(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_installations(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_stats(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/*
 * h_seed.c: the seed 000/001 API (docs/compatibility.md), adapters onto the
 * handlers above: they translate the request into our shape, call ours and
 * translate the reply; the rules stay where they are.
 */
void pub_h_seed_apps_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_rel_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_rel_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_rel_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_rel_rollback(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_rel_rollout(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_rel_delete(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_rel_stats(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_devices(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out);
void pub_h_seed_installations(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out);
/* h_esp.c: the seed 002 admin API (X-API-Key) and its JSON metrics document */
void pub_h_esp_upload(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_esp_releases(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_esp_rollout(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_esp_devices(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_esp_status(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_esp_metrics(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* For GET /metrics: 1 after answering a JSON request (Accept: application/json), 0 to serve Prometheus text. */
int pub_h_metrics_json(struct pub_srv *s, struct pub_req *r, struct pub_resp *out);

/* Seed 002 firmware lives on this platform of the model's app (as the edge's --device-model default). */
#define PUB_FIRMWARE_PLATFORM "firmware"
/* Which shape an upload route takes (by its path): ours, seed 000/001's, seed 002's firmware upload. */
enum pub_upload_shape { PUB_UPLOAD_V1 = 0, PUB_UPLOAD_SEED, PUB_UPLOAD_FIRMWARE, PUB_UPLOAD_EMBEDDED };
enum pub_upload_shape pub_upload_shape_of(const struct pub_req *r);
/* A seed-shaped upload after the bundle was hashed. */
struct pub_seed_upload {
    const char *meta; /* the seed's metadata.json (SEED), or NULL */
    size_t meta_len;
    const char *sig; /* the seed's signature.sig (SEED), or NULL */
    size_t sig_len;
    const uint8_t *digest; /* SHA-256 of the bundle */
    uint64_t size;
    int legacy_only; /* out: the only signature is the legacy one (bundle_sig == legacy_signature) */
};
/*
 * Translate a seed upload into our metadata JSON (appended to `ours`):
 * the app from the key's scope (or the device model), the release key found
 * by its signature. Non-zero after a 4xx/5xx reply in `out` (h_seed.c).
 */
int pub_upload_seed_meta(struct pub_srv *s, struct pub_req *r, enum pub_upload_shape shape, struct pub_seed_upload *su,
                         struct cmn_buf *ours, struct pub_resp *out);

/* h_embedded.c: the embedded bundles registered as patch bases (common/embedded.h) */
void pub_h_embedded_add(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_embedded_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_embedded_remove(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* The metadata part of an embedded-bundle upload, and the app it was checked against. */
struct pub_embmeta {
    char binary_version[65];
    char content_sha256[CMN_SHA256_HEX]; /* declared content digest; the handler recomputes it from the zip */
    char sha256[CMN_SHA256_HEX];         /* SHA-256 of the zip */
    uint64_t size;                       /* zip bytes */
    int64_t app_id, org_id;
};
/*
 * Parse and check an embedded upload's metadata part (exact members, a
 * binary version, hex digests, size within max_upload) and the caller's
 * role on the path's app, so a refused upload stops at once. Non-zero after
 * a reply in `out`.
 */
int pub_embedded_meta(struct pub_srv *s, struct pub_req *r, const char *meta, size_t len, struct pub_embmeta *m,
                      struct pub_resp *out);
/* After the body of an embedded upload (h_upload.c): parts present, zip size and SHA-256 as declared, spool
 * flushed. *meta and *zip_path stay valid until the request ends. Non-zero after a reply in `out`. */
int pub_upload_embedded_done(struct pub_srv *s, struct pub_req *r, const struct pub_embmeta **meta,
                             const char **zip_path, struct pub_resp *out);

/* h_manifests.c */
void pub_h_manifest(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_session.c: dashboard sign-in, who am I, sign-out */
void pub_h_session_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_session_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_session_delete(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_dashboard.c: the dashboard's static files, embedded in the binary */
void pub_h_dash_index(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_dash_asset(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_insights.c: what the dashboard's pages read (series, adoption, device lookup, API key list) */
void pub_h_rel_series(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_app_versions(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_app_adoption(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_device(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_apikeys_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
/* h_ops.c */
void pub_h_health(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);
void pub_h_metrics(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);

#endif
