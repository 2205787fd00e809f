/*
 * h_seed.c - the seed 000/001 publisher API, verbatim (docs/compatibility.md
 * "Seed 000/001 publisher API and legacy signature"): paths without /v1,
 * PATCH rollback/rollout {"rollout_percentage"}, single-object devices and
 * installations, POST /apps returning an API key, POST /releases with
 * metadata.json + signature.sig.
 *
 * Adapters only: each translates the seed's request into ours, calls our
 * handler (the rules, roles and errors stay there) and translates the reply.
 * Nothing here decides anything our handlers do not.
 */
#include "common/compat.h"

#include "common/ident.h"
#include "common/log.h"
#include "pub_handlers.h"

/* ---- shapes ---- */

/* Unix seconds -> RFC 3339 UTC (the seed's TIMESTAMPTZ columns). */
static json_t *rfc3339(json_int_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

/* Our release object -> the seed's release row (seed 001 section 4.4.2), beside our own fields. */
static json_t *seed_release(const json_t *ours)
{
    if (!json_is_object(ours))
        return json_null();
    json_t *o = json_deep_copy(ours);
    const char *state = json_string_value(json_object_get(ours, "state"));
    const json_t *legacy = json_object_get(ours, "legacy_signature");
    json_object_set(o, "app_id", json_object_get(ours, "app"));
    json_object_set(o, "hash", json_object_get(ours, "sha256"));
    /* what seed clients verify: the legacy signature (null when the app did not opt in) */
    json_object_set_new(o, "signature", legacy ? json_deep_copy(legacy) : json_null());
    json_object_set_new(o, "rollout_percentage",
                        json_integer(json_integer_value(json_object_get(ours, "rollout_bp")) / 100));
    json_object_set_new(o, "is_active", json_boolean(state && !strcmp(state, "active")));
    json_object_set_new(o, "created_at", rfc3339(json_integer_value(json_object_get(ours, "created_at"))));
    json_object_set_new(o, "updated_at", rfc3339(json_integer_value(json_object_get(ours, "updated_at"))));
    return o;
}

/* After our handler: a 2xx {"release": {...}, ...} becomes the seed's release object. */
static void reply_release(struct pub_resp *out)
{
    if (out->status < 200 || out->status > 299 || !json_is_object(out->json))
        return;
    json_t *rel = seed_release(json_object_get(out->json, "release"));
    json_decref(out->json);
    out->json = rel;
}

/* Call one of our handlers with the path as /v1/<the seed's path>. */
static void as_v1(pub_handler_fn fn, struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    static char v1[] = "v1";
    char *saved[PUB_MAX_SEGS];
    int n = r->nsegs;
    if (n >= PUB_MAX_SEGS) {
        pub_err(out, 404, "not_found", "no such endpoint");
        return;
    }
    memcpy(saved, r->segs, sizeof(saved));
    r->segs[0] = v1;
    for (int i = 0; i < n; i++)
        r->segs[i + 1] = saved[i];
    r->nsegs = n + 1;
    fn(s, c, r, out);
    memcpy(r->segs, saved, sizeof(saved));
    r->nsegs = n;
}

/* Replace the buffered request body with `body` (stolen). Non-zero after a reply. */
static int set_body(struct pub_req *r, json_t *body, struct pub_resp *out)
{
    char *t = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    cmn_buf_reset(&r->body);
    int bad = !t || cmn_buf_addstr(&r->body, t) != CMN_OK;
    free(t);
    if (bad)
        return !pub_err(out, 413, "too_large", "request body too large");
    return 0;
}

/* The name of the app the caller's API key is scoped to, into name[]; 0 when found. */
static int key_app(struct pub_dbconn *c, const struct pub_req *r, char name[CMN_ID_MAX + 1])
{
    if (r->who.kind != PUB_PRINC_KEY || !r->who.app_id)
        return -1;
    char aid[24];
    I64(aid, r->who.app_id);
    const char *p[] = {aid};
    PGresult *q = pub_q(c, Q_APP_BY_ID, p);
    int found = pub_res_ok(q) && PQntuples(q) == 1;
    if (found)
        snprintf(name, CMN_ID_MAX + 1, "%s", pub_cell(q, 0, 2));
    PQclear(q);
    return found ? 0 : -1;
}

/* ---- auth and apps ---- */

void pub_h_seed_apps_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"name", "platform", NULL};
    const char *name = NULL, *platform = NULL;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "name", 1, 64, &name, &eb)) ||
        (rc = pub_jstr(b, "platform", 0, 16, &platform, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        json_decref(b);
        return;
    }
    if (platform && strcmp(platform, "android") != 0 && strcmp(platform, "ios") != 0) {
        pub_err(out, 400, "bad_request", "platform must be 'android' or 'ios'");
        json_decref(b);
        return;
    }
    json_t *plat = platform ? json_string(platform) : json_null();
    if (set_body(r, json_pack("{s:s}", "name", name), out)) {
        json_decref(plat);
        json_decref(b);
        return;
    }
    json_decref(b);
    pub_h_apps_create(s, c, r, out);
    if (out->status == 201 && json_is_object(out->json)) {
        const json_t *app = json_object_get(out->json, "app");
        json_t *o = json_pack(
            "{s:O,s:O,s:o,s:o,s:O,s:O}", "id", json_object_get(app, "id"), "name", json_object_get(app, "name"),
            "platform", plat, "created_at", rfc3339(json_integer_value(json_object_get(app, "created_at"))), "api_key",
            json_object_get(out->json, "api_key"), "api_key_role", json_object_get(out->json, "api_key_role"));
        json_decref(out->json);
        out->json = o;
    } else {
        json_decref(plat);
    }
}

/* ---- releases ---- */

enum pub_upload_shape pub_upload_shape_of(const struct pub_req *r)
{
    if (r->nsegs >= 1 && !strcmp(r->segs[0], "releases"))
        return PUB_UPLOAD_SEED;
    if (r->nsegs >= 1 && !strcmp(r->segs[0], "api"))
        return PUB_UPLOAD_FIRMWARE;
    return PUB_UPLOAD_V1;
}

/* The app's release key that made `sig_b64` over ctx || digest; its key id into keyid. 0 when found. */
static int find_signer(struct pub_dbconn *c, int64_t app_id, const char *ctx, const uint8_t *digest,
                       const char *sig_b64, char keyid[CMN_KEYID_HEX])
{
    char aid[24];
    I64(aid, app_id);
    const char *p[] = {aid};
    PGresult *q = pub_q(c, Q_RKEY_PUBLIC_ALL, p);
    int found = 0;
    for (int i = 0; pub_res_ok(q) && i < PQntuples(q) && !found; i++) {
        struct cmn_key k;
        if (cmn_key_from_public_b64(pub_cell(q, i, 1), &k, NULL) == CMN_OK &&
            cmn_digest_verify(&k, ctx, digest, sig_b64, CMN_E_SIG) == CMN_OK) {
            snprintf(keyid, CMN_KEYID_HEX, "%s", k.keyid);
            found = 1;
        }
    }
    PQclear(q);
    return found ? 0 : -1;
}

/* Seed 000/001 metadata.json + signature.sig -> our metadata. */
static int seed_meta(struct pub_dbconn *c, struct pub_req *r, struct pub_seed_upload *su, json_t **meta,
                     struct pub_resp *out)
{
    struct pub_seed_meta sm;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_seed_meta_parse(su->meta ? su->meta : "", su->meta_len, &sm, &eb);
    if (rc)
        return !pub_err(out, 400, "bad_metadata", "metadata.json: %s", cmn_errmsg(&eb, rc));
    /* a copy: the error replies below outlive sm */
    char appname[CMN_ID_MAX + 1];
    const char *app = appname;
    if (sm.app) {
        snprintf(appname, sizeof(appname), "%s", sm.app);
    } else {
        if (key_app(c, r, appname)) {
            pub_err(out, 400, "bad_metadata",
                    "metadata.json needs 'app' unless the API key is scoped to one app (POST /apps gives one)");
            pub_seed_meta_release(&sm);
            return 1;
        }
    }
    const char *pa[] = {app};
    PGresult *q = pub_q(c, Q_APP_BY_NAME, pa);
    if (!pub_res_ok(q) || PQntuples(q) != 1) {
        int db = !pub_res_ok(q);
        PQclear(q);
        pub_seed_meta_release(&sm);
        return db ? !pub_err(out, 503, "database_unavailable", "database unavailable")
                  : !pub_err(out, 404, "not_found", "no app named '%s'", app);
    }
    int64_t app_id = pub_cell_i64(q, 0, 0);
    int legacy_on = pub_cell(q, 0, 6)[0] == 't';
    PQclear(q);
    char sig[CMN_SIG_B64], keyid[CMN_KEYID_HEX];
    if (pub_seed_sig_parse(su->sig ? su->sig : "", su->sig_len, sig)) {
        pub_seed_meta_release(&sm);
        return !pub_err(out, 400, "bad_signature",
                        "signature.sig must be a base64 Ed25519 signature (or its 64 bytes)");
    }
    if (!legacy_on) {
        pub_seed_meta_release(&sm);
        return !pub_err(out, 400, "legacy_signature_not_enabled",
                        "app '%s' has not opted in to legacy signatures, which signature.sig is (PATCH /v1/apps/%s "
                        "{\"legacy_signature\": true}, docs/compatibility.md)",
                        app, app);
    }
    if (find_signer(c, app_id, CMN_SIGCTX_LEGACY, su->digest, sig, keyid)) {
        pub_seed_meta_release(&sm);
        return !pub_err(out, 400, "bad_signature",
                        "signature.sig does not verify over the bundle's SHA-256 with any release key of app '%s'",
                        app);
    }
    su->legacy_only = sm.bundle_sig == NULL;
    *meta = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:s,s:I,s:s,s:s,s:s}", "app", app, "platform", sm.platform,
                      "channel", sm.channel ? sm.channel : "production", "version", sm.version, "target_binary",
                      sm.target_binary ? sm.target_binary : "*", "mandatory", sm.mandatory, "rollout_bp",
                      (json_int_t)(sm.rollout_pct * 100), "sha256", sm.hash, "size", (json_int_t)su->size, "bundle_sig",
                      sm.bundle_sig ? sm.bundle_sig : sig, "bundle_keyid", keyid, "legacy_signature", sig);
    if (*meta && sm.notes)
        json_object_set_new(*meta, "notes", json_string(sm.notes));
    pub_seed_meta_release(&sm);
    return *meta ? 0 : !pub_err(out, 500, "internal", "out of memory");
}

/* Seed 002 firmware upload: ?version=&device_model=&is_signed= and a "file" part -> our metadata. */
static int firmware_meta(struct pub_dbconn *c, struct pub_req *r, struct pub_seed_upload *su, json_t **meta,
                         struct pub_resp *out)
{
    const char *version = pub_req_query(r, "version"), *model = pub_req_query(r, "device_model");
    const char *is_signed = pub_req_query(r, "is_signed");
    const char *bsig = pub_req_header(r, "X-HotPatch-Bundle-Sig");
    const char *lsig = pub_req_header(r, "X-HotPatch-Legacy-Sig");
    if (!version || !pub_valid_id(version) || !model || !pub_valid_id(model))
        return !pub_err(out, 400, "bad_request",
                        "query parameters 'version' and 'device_model' are required ([A-Za-z0-9._-]{1,64})");
    if (is_signed && strcmp(is_signed, "true") && strcmp(is_signed, "false"))
        return !pub_err(out, 400, "bad_request", "is_signed must be true or false");
    const char *pm[] = {model};
    PGresult *q = pub_q(c, Q_APP_BY_MODEL, pm);
    if (!pub_res_ok(q) || PQntuples(q) != 1) {
        int db = !pub_res_ok(q);
        PQclear(q);
        return db ? !pub_err(out, 503, "database_unavailable", "database unavailable")
                  : !pub_err(out, 404, "not_found",
                             "no app serves device model '%s' (an app named so, or PATCH /v1/apps/<app> "
                             "{\"device_model\": \"%s\"})",
                             model, model);
    }
    char app[CMN_ID_MAX + 1];
    snprintf(app, sizeof(app), "%s", pub_cell(q, 0, 2));
    int64_t app_id = pub_cell_i64(q, 0, 0);
    PQclear(q);
    /* HotPatch never stores an unsigned release: the release key's bundle signature travels in a header */
    char keyid[CMN_KEYID_HEX];
    if (!bsig)
        return !pub_err(out, 400, "signature_required",
                        "firmware uploads need X-HotPatch-Bundle-Sig: the base64 bundle signature by a release key of "
                        "app '%s' (hotpatch sign-bundle, docs/compatibility.md)",
                        app);
    if (find_signer(c, app_id, CMN_SIGCTX_BUNDLE, su->digest, bsig, keyid))
        return !pub_err(
            out, 400, "bad_signature",
            "X-HotPatch-Bundle-Sig does not verify over the file's SHA-256 with any release key of app '%s'", app);
    char hex[CMN_SHA256_HEX];
    cmn_hex_encode(su->digest, CMN_SHA256_BYTES, hex);
    /* uploaded, not offered: POST /api/admin/rollout/create decides who gets it */
    *meta =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:s,s:I,s:s,s:s,s:s}", "app", app, "platform", PUB_FIRMWARE_PLATFORM,
                  "channel", "production", "version", version, "target_binary", "*", "mandatory", 0, "rollout_bp",
                  (json_int_t)0, "sha256", hex, "size", (json_int_t)su->size, "bundle_sig", bsig, "bundle_keyid", keyid,
                  "notes", is_signed && !strcmp(is_signed, "true") ? "is_signed=true" : "is_signed=false");
    if (*meta && lsig)
        json_object_set_new(*meta, "legacy_signature", json_string(lsig));
    return *meta ? 0 : !pub_err(out, 500, "internal", "out of memory");
}

int pub_upload_seed_meta(struct pub_srv *s, struct pub_req *r, enum pub_upload_shape shape, struct pub_seed_upload *su,
                         struct cmn_buf *ours, struct pub_resp *out)
{
    struct pub_dbconn *c = pub_reply_db(s, out);
    if (!c)
        return 1;
    json_t *meta = NULL;
    int fail = shape == PUB_UPLOAD_SEED ? seed_meta(c, r, su, &meta, out) : firmware_meta(c, r, su, &meta, out);
    pub_db_put(s->db, c);
    if (fail)
        return 1;
    char *t = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    int bad = !t || cmn_buf_addstr(ours, t) != CMN_OK;
    free(t);
    return bad ? !pub_err(out, 500, "internal", "out of memory") : 0;
}

void pub_h_seed_rel_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    pub_h_rel_create(s, c, r, out);
    if (out->status == 201 && json_is_object(out->json)) {
        json_t *rel = seed_release(json_object_get(out->json, "release"));
        json_object_set(rel, "manifest", json_object_get(out->json, "manifest"));
        json_decref(out->json);
        out->json = rel;
    }
}

void pub_h_seed_rel_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    /* filters: app (or app_id; default the key's app), platform, channel, version, is_active, limit, cursor */
    const char *app = pub_req_query(r, "app");
    if (!app)
        app = pub_req_query(r, "app_id");
    const char *version = pub_req_query(r, "version"), *active = pub_req_query(r, "is_active");
    char appname[CMN_ID_MAX + 1];
    if (!app && !key_app(c, r, appname))
        app = appname;
    if (!app) {
        pub_err(out, 400, "bad_request",
                "query parameter 'app' (or 'app_id') is required unless the API key is "
                "scoped to one app");
        return;
    }
    if (active && strcmp(active, "true") && strcmp(active, "false")) {
        pub_err(out, 400, "bad_request", "is_active must be true or false");
        return;
    }
    pub_h_rel_list_app(s, c, r, app, out);
    if (out->status != 200 || !json_is_object(out->json))
        return;
    json_t *arr = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(out->json, "releases"), i, v)
    {
        json_t *o = seed_release(v);
        int keep = (!version || !strcmp(version, json_string_value(json_object_get(o, "version")))) &&
                   (!active || json_is_true(json_object_get(o, "is_active")) == !strcmp(active, "true"));
        if (keep)
            json_array_append_new(arr, o);
        else
            json_decref(o);
    }
    json_object_set_new(out->json, "releases", arr);
}

void pub_h_seed_rel_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    as_v1(pub_h_rel_get, s, c, r, out);
    reply_release(out);
}

void pub_h_seed_rel_rollback(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    as_v1(pub_h_rel_action, s, c, r, out); /* the verb is the path's: rollback */
    reply_release(out);
}

void pub_h_seed_rel_rollout(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"rollout_percentage", NULL};
    long long pct = -1;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jint(b, "rollout_percentage", 1, 0, 100, &pct, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        json_decref(b);
        return;
    }
    json_decref(b);
    if (set_body(r, json_pack("{s:I}", "percent", (json_int_t)pct), out))
        return;
    as_v1(pub_h_rel_rollout, s, c, r, out);
    reply_release(out);
}

void pub_h_seed_rel_delete(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    as_v1(pub_h_rel_action, s, c, r, out); /* DELETE: archive (the seed's soft delete) */
    reply_release(out);
}

void pub_h_seed_rel_stats(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    as_v1(pub_h_stats, s, c, r, out);
    if (out->status != 200 || !json_is_object(out->json))
        return;
    /* the seed's installation statuses, counted under their own names beside ours */
    json_t *st = json_object_get(out->json, "stats");
    json_object_set_new(st, "applied", json_integer(json_integer_value(json_object_get(st, "installs"))));
    json_object_set_new(st, "failed", json_integer(json_integer_value(json_object_get(st, "failures"))));
    json_object_set_new(st, "rolled_back", json_integer(json_integer_value(json_object_get(st, "rollbacks"))));
}

/* ---- device telemetry: one object, not a batch ---- */

/* Our batch reply -> the seed's single answer: a rejected entry is a 400. */
static void reply_single(struct pub_resp *out, const char *what)
{
    if (out->status != 200 || !json_is_object(out->json))
        return;
    if (json_integer_value(json_object_get(out->json, "rejected")) > 0)
        pub_err(out, 400, "bad_request", "%s", what);
}

void pub_h_seed_devices(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"device_id", "app_id", "app", "platform", "current_version", "os", NULL};
    const char *dev, *app = NULL, *app2 = NULL, *platform = NULL, *ver = NULL, *os = NULL;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "device_id", 1, 128, &dev, &eb)) ||
        (rc = pub_jstr(b, "app_id", 0, 64, &app, &eb)) || (rc = pub_jstr(b, "app", 0, 64, &app2, &eb)) ||
        (rc = pub_jstr(b, "platform", 0, 64, &platform, &eb)) ||
        (rc = pub_jstr(b, "current_version", 0, 64, &ver, &eb)) || (rc = pub_jstr(b, "os", 0, 128, &os, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        json_decref(b);
        return;
    }
    if (!app)
        app = app2;
    if (!app) {
        pub_err(out, 400, "bad_request", "field 'app_id' is required");
        json_decref(b);
        return;
    }
    json_t *d = json_pack("{s:s,s:s}", "device_id", dev, "app", app);
    if (platform)
        json_object_set_new(d, "platform", json_string(platform));
    if (ver)
        json_object_set_new(d, "binary_version", json_string(ver));
    if (os)
        json_object_set_new(d, "os", json_string(os));
    json_decref(b);
    if (set_body(r, json_pack("{s:[o]}", "devices", d), out))
        return;
    pub_h_devices(s, NULL, r, out);
    reply_single(out, "device refused: device_id 1-128 bytes, app_id an app name");
}

/*
 * A route without PUB_RF_DB: the release lookup borrows a connection and
 * gives it back before pub_h_installations, whose ingest takes one of its
 * own (holding both could wait forever: docs/publisher.md, "Database
 * connections").
 */
void pub_h_seed_installations(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"device_id", "release_id", "status", "binary_version", NULL};
    const char *dev, *rel, *status, *bv = NULL;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "device_id", 1, 128, &dev, &eb)) ||
        (rc = pub_jstr(b, "release_id", 1, 64, &rel, &eb)) || (rc = pub_jstr(b, "status", 1, 32, &status, &eb)) ||
        (rc = pub_jstr(b, "binary_version", 0, 64, &bv, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    if (strcmp(status, "applied") && strcmp(status, "failed") && strcmp(status, "rolled_back")) {
        pub_err(out, 400, "bad_request", "status must be applied, failed or rolled_back");
        goto done;
    }
    if (!pub_valid_id(rel)) {
        pub_err(out, 400, "bad_request", "bad release_id");
        goto done;
    }
    /* the release names its app and channel (the seed's report carries only the id) */
    struct pub_dbconn *c = pub_reply_db(s, out);
    if (!c)
        goto done;
    const char *p[] = {rel};
    PGresult *q = pub_h_query(c, Q_REL_BY_ID, p, out);
    pub_db_put(s->db, c);
    if (!q)
        goto done;
    if (PQntuples(q) != 1) {
        PQclear(q);
        pub_err(out, 404, "not_found", "no release '%s'", rel);
        goto done;
    }
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "device_id", dev, "app", pub_cell(q, 0, 1), "platform",
                           pub_cell(q, 0, 2), "channel", pub_cell(q, 0, 3), "release_id", rel, "status", status);
    PQclear(q);
    if (bv)
        json_object_set_new(ev, "binary_version", json_string(bv));
    if (set_body(r, json_pack("{s:[o]}", "events", ev), out))
        goto done;
    pub_h_installations(s, NULL, r, out);
    reply_single(out, "installation refused");
done:
    json_decref(b);
}
