/*
 * api.c - the admin API: routing and the handlers for bootstrap, tokens,
 * apps, release keys, API keys, audit, release listing and lifecycle,
 * manifests, /healthz and /metrics (uploads are in release.c, telemetry in
 * telemetry.c). Every handler that touches an app resolves the caller's role
 * on that app first and answers 403 below the role the table in
 * docs/interfaces.md requires.
 */
#include "common/compat.h"

#include <sodium.h>

#include "common/log.h"
#include "common/manifest.h"
#include "pub_http.h"

#define I64(buf, v) snprintf((buf), sizeof(buf), "%lld", (long long)(v))

enum route {
    R_NONE = 0,
    R_HEALTH,
    R_METRICS,
    R_BOOTSTRAP,
    R_AUTH_TOKEN,
    R_AUTH_REFRESH,
    R_APPS_CREATE,
    R_APPS_LIST,
    R_APP_GET,
    R_APP_PATCH,
    R_APP_KEYS_ADD,
    R_APP_KEYS_LIST,
    R_APP_APIKEYS,
    R_APP_AUDIT,
    R_REL_CREATE,
    R_REL_LIST,
    R_REL_GET,
    R_REL_DELETE,
    R_REL_ROLLOUT,
    R_REL_ACTION,
    R_REL_PROMOTE,
    R_REL_STATS,
    R_MANIFEST,
    R_DEVICES,
    R_INSTALLS,
    R_USERS_CREATE,
    R_APP_KEY_REVOKE,
    R_APIKEY_REVOKE,
    R_APP_CHANNELS,
    R_CHAN_RETIRE,
};

static int seg_is(struct pub_req *r, int i, const char *s)
{
    return i < r->nsegs && !strcmp(r->segs[i], s);
}

static int set_route(struct pub_route_info *ri, int route, int auth, enum pub_body_kind body)
{
    ri->route = route;
    ri->auth = auth;
    ri->body = body;
    return 0;
}

int pub_api_route(struct pub_req *r, struct pub_route_info *ri)
{
    const char *m = r->method;
    int get = !strcmp(m, "GET") || !strcmp(m, "HEAD"), post = !strcmp(m, "POST"), patch = !strcmp(m, "PATCH"),
        del = !strcmp(m, "DELETE");
    int n = r->nsegs;
    if (n == 1 && seg_is(r, 0, "healthz"))
        return get ? set_route(ri, R_HEALTH, 0, PUB_BODY_NONE) : 405;
    if (n == 1 && seg_is(r, 0, "metrics"))
        return get ? set_route(ri, R_METRICS, 0, PUB_BODY_NONE) : 405;
    if (n < 2 || !seg_is(r, 0, "v1"))
        return 404;
    const char *what = r->segs[1];
    if (!strcmp(what, "bootstrap") && n == 2)
        return post ? set_route(ri, R_BOOTSTRAP, 0, PUB_BODY_JSON) : 405;
    if (!strcmp(what, "auth") && n == 3) {
        if (seg_is(r, 2, "token"))
            return post ? set_route(ri, R_AUTH_TOKEN, 0, PUB_BODY_JSON) : 405;
        if (seg_is(r, 2, "refresh"))
            return post ? set_route(ri, R_AUTH_REFRESH, 1, PUB_BODY_JSON) : 405;
        return 404;
    }
    if (!strcmp(what, "users") && n == 2)
        return post ? set_route(ri, R_USERS_CREATE, 1, PUB_BODY_JSON) : 405;
    if (!strcmp(what, "api-keys") && n == 3)
        return del ? set_route(ri, R_APIKEY_REVOKE, 1, PUB_BODY_JSON) : 405;
    if (!strcmp(what, "devices") && n == 2)
        return post ? set_route(ri, R_DEVICES, 0, PUB_BODY_TELEMETRY) : 405;
    if (!strcmp(what, "installations") && n == 2)
        return post ? set_route(ri, R_INSTALLS, 0, PUB_BODY_TELEMETRY) : 405;
    if (!strcmp(what, "apps")) {
        if (n == 2)
            return post  ? set_route(ri, R_APPS_CREATE, 1, PUB_BODY_JSON)
                   : get ? set_route(ri, R_APPS_LIST, 1, PUB_BODY_NONE)
                         : 405;
        if (n == 3)
            return get     ? set_route(ri, R_APP_GET, 1, PUB_BODY_NONE)
                   : patch ? set_route(ri, R_APP_PATCH, 1, PUB_BODY_JSON)
                           : 405;
        if (n == 4 && seg_is(r, 3, "keys"))
            return post  ? set_route(ri, R_APP_KEYS_ADD, 1, PUB_BODY_JSON)
                   : get ? set_route(ri, R_APP_KEYS_LIST, 1, PUB_BODY_NONE)
                         : 405;
        if (n == 5 && seg_is(r, 3, "keys"))
            return del ? set_route(ri, R_APP_KEY_REVOKE, 1, PUB_BODY_JSON) : 405;
        if (n == 4 && seg_is(r, 3, "api-keys"))
            return post ? set_route(ri, R_APP_APIKEYS, 1, PUB_BODY_JSON) : 405;
        if (n == 4 && seg_is(r, 3, "channels"))
            return get ? set_route(ri, R_APP_CHANNELS, 1, PUB_BODY_NONE) : 405;
        if (n == 7 && seg_is(r, 3, "channels") && seg_is(r, 6, "retire"))
            return post ? set_route(ri, R_CHAN_RETIRE, 1, PUB_BODY_JSON) : 405;
        if (n == 4 && seg_is(r, 3, "audit"))
            return get ? set_route(ri, R_APP_AUDIT, 1, PUB_BODY_NONE) : 405;
        return 404;
    }
    if (!strcmp(what, "releases")) {
        if (n == 2)
            return post  ? set_route(ri, R_REL_CREATE, 1, PUB_BODY_UPLOAD)
                   : get ? set_route(ri, R_REL_LIST, 1, PUB_BODY_NONE)
                         : 405;
        if (n == 3)
            return get   ? set_route(ri, R_REL_GET, 1, PUB_BODY_NONE)
                   : del ? set_route(ri, R_REL_DELETE, 1, PUB_BODY_JSON)
                         : 405;
        if (n == 4) {
            const char *a = r->segs[3];
            if (!strcmp(a, "rollout"))
                return (patch || post) ? set_route(ri, R_REL_ROLLOUT, 1, PUB_BODY_JSON) : 405;
            if (!strcmp(a, "ramp"))
                return (post || patch) ? set_route(ri, R_REL_ROLLOUT, 1, PUB_BODY_JSON) : 405;
            if (!strcmp(a, "stats"))
                return get ? set_route(ri, R_REL_STATS, 1, PUB_BODY_NONE) : 405;
            if (!strcmp(a, "promote"))
                return post ? set_route(ri, R_REL_PROMOTE, 1, PUB_BODY_JSON) : 405;
            if (!strcmp(a, "rollback") || !strcmp(a, "abort") || !strcmp(a, "halt") || !strcmp(a, "resume") ||
                !strcmp(a, "conclude") || !strcmp(a, "archive"))
                return post ? set_route(ri, R_REL_ACTION, 1, PUB_BODY_JSON) : 405;
        }
        return 404;
    }
    if (!strcmp(what, "manifests") && n == 5)
        return get ? set_route(ri, R_MANIFEST, 1, PUB_BODY_NONE) : 405;
    return 404;
}

/* ---- helpers ---- */

/* Parse the buffered body as a JSON object; an empty body is `{}` when `optional`. */
static json_t *body_json(struct pub_srv *s, struct pub_req *r, int optional, struct pub_resp *out)
{
    if (r->body.len == 0 && optional)
        return json_object();
    json_t *doc = NULL;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_json_body(r->body.ptr ? r->body.ptr : "", r->body.len, s->cfg->max_json, &doc, &eb);
    if (rc) {
        if (rc == CMN_E_TOOBIG)
            pub_err(out, 413, "too_large", "%s", cmn_errmsg(&eb, rc));
        else
            pub_err(out, 400, "bad_json", "%s", cmn_errmsg(&eb, rc));
        return NULL;
    }
    return doc;
}

static json_t *app_json(const PGresult *r, int row)
{
    json_t *o =
        json_pack("{s:I,s:s,s:I,s:I}", "id", (json_int_t)pub_cell_i64(r, row, 0), "name", pub_cell(r, row, 2), "org_id",
                  (json_int_t)pub_cell_i64(r, row, 1), "created_at", (json_int_t)pub_cell_i64(r, row, 5));
    json_object_set_new(o, "halt_threshold_pct",
                        PQgetisnull(r, row, 3) ? json_null() : json_integer(pub_cell_i64(r, row, 3)));
    json_object_set_new(o, "halt_min_installs",
                        PQgetisnull(r, row, 4) ? json_null() : json_integer(pub_cell_i64(r, row, 4)));
    return o;
}

/* Run a prepared read; on failure answer 503 and return NULL. */
static PGresult *query_or_503(struct pub_dbconn *c, enum pub_stmt q, const char *const *params, struct pub_resp *out)
{
    PGresult *res = pub_q(c, q, params);
    if (pub_res_ok(res))
        return res;
    PQclear(res);
    pub_err(out, 503, "database_unavailable", "database unavailable");
    return NULL;
}

/* Load an app by name and check the caller's role on it; NULL after setting the reply. */
static PGresult *app_authz(struct pub_dbconn *c, struct pub_req *r, const char *name, int min_role,
                           struct pub_resp *out)
{
    if (!pub_valid_id(name)) {
        pub_err(out, 400, "bad_request", "bad app name");
        return NULL;
    }
    const char *p[] = {name};
    PGresult *a = query_or_503(c, Q_APP_BY_NAME, p, out);
    if (!a)
        return NULL;
    if (PQntuples(a) != 1) {
        PQclear(a);
        pub_err(out, 404, "not_found", "no app named '%s'", name);
        return NULL;
    }
    int role = pub_auth_role(c, &r->who, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0));
    if (role < min_role) {
        PQclear(a);
        /* an app the caller cannot see at all looks like a missing one */
        if (role == PUB_ROLE_NONE)
            pub_err(out, 404, "not_found", "no app named '%s'", name);
        else
            pub_err(out, 403, "forbidden", "this needs the %s role on app '%s' (you have %s)", pub_role_name(min_role),
                    name, pub_role_name(role));
        return NULL;
    }
    return a;
}

/* app_authz for handlers that only need the app's id: its decimal text in
 * aid (24 bytes). 0 on success; -1 when `out` already holds the refusal. */
static int app_authz_id(struct pub_dbconn *c, struct pub_req *r, const char *name, int min_role, char aid[24],
                        struct pub_resp *out)
{
    PGresult *a = app_authz(c, r, name, min_role, out);
    if (!a)
        return -1;
    snprintf(aid, 24, "%lld", (long long)pub_cell_i64(a, 0, 0));
    PQclear(a);
    return 0;
}

PGresult *pub_release_authz(struct pub_dbconn *c, struct pub_req *r, const char *id, int min_role, int64_t *org_id,
                            struct pub_resp *out)
{
    if (!pub_valid_id(id)) {
        pub_err(out, 400, "bad_request", "bad release id");
        return NULL;
    }
    const char *p[] = {id};
    PGresult *rel = query_or_503(c, Q_REL_BY_ID, p, out);
    if (!rel)
        return NULL;
    if (PQntuples(rel) != 1) {
        PQclear(rel);
        pub_err(out, 404, "not_found", "no release '%s'", id);
        return NULL;
    }
    char aid[24];
    I64(aid, pub_cell_i64(rel, 0, 19));
    const char *ap[] = {aid};
    PGresult *a = pub_q(c, Q_APP_BY_ID, ap);
    int64_t org = pub_res_ok(a) && PQntuples(a) == 1 ? pub_cell_i64(a, 0, 1) : 0;
    PQclear(a);
    int role = pub_auth_role(c, &r->who, org, pub_cell_i64(rel, 0, 19));
    if (role < min_role) {
        PQclear(rel);
        if (role == PUB_ROLE_NONE)
            pub_err(out, 404, "not_found", "no release '%s'", id);
        else
            pub_err(out, 403, "forbidden", "this needs the %s role on the release's app (you have %s)",
                    pub_role_name(min_role), pub_role_name(role));
        return NULL;
    }
    if (org_id)
        *org_id = org;
    return rel;
}

/* Create an API key row; key_out receives the plaintext (shown once). */
static enum cmn_err make_api_key(struct pub_dbconn *c, int64_t org_id, int64_t app_id, int role, const char *name,
                                 const char *created_by, char key_out[80])
{
    char lookup[16], hash[CMN_SHA256_HEX], org[24], app[24];
    pub_apikey_generate(key_out, lookup, hash);
    I64(org, org_id);
    I64(app, app_id);
    const char *p[] = {lookup, hash, org, app_id ? app : NULL, pub_role_name(role), name ? name : "", created_by};
    PGresult *r = pub_q(c, Q_APIKEY_INSERT, p);
    enum cmn_err rc = pub_res_ok(r) ? CMN_OK : CMN_E_DB;
    PQclear(r);
    return rc;
}

/* pub_audit that takes ownership of `detail` (for json_pack'd details). */
static enum cmn_err audit_steal(struct pub_dbconn *c, const char *actor, int64_t org_id, int64_t app_id,
                                const char *release_id, const char *action, json_t *detail)
{
    enum cmn_err rc = pub_audit(c, actor, org_id, app_id, release_id, action, detail);
    json_decref(detail);
    return rc;
}

/* ---- handlers ---- */

static void h_bootstrap(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = body_json(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"org", "email", "password", "bootstrap_token", NULL};
    const char *org, *email, *pw, *tok;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    char pwhash[128], key[80];
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "org", 1, 64, &org, &eb)) ||
        (rc = pub_jstr(b, "email", 1, 254, &email, &eb)) || (rc = pub_jstr(b, "password", 1, 1024, &pw, &eb)) ||
        (rc = pub_jstr(b, "bootstrap_token", 0, 1024, &tok, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    if (!pub_valid_id(org) || !strchr(email, '@') || strlen(pw) < 8) {
        pub_err(out, 400, "bad_request", "need org [A-Za-z0-9._-]{1,64}, an email address and a password of 8+ bytes");
        goto done;
    }
    /* the bootstrap token may come as Bearer or in the body */
    const char *authz = pub_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!tok && authz && !strncasecmp(authz, "Bearer ", 7))
        tok = authz + 7;
    int token_ok = 0;
    const char *want = s->cfg->bootstrap_token;
    if (tok && want && *want && strlen(tok) == strlen(want) && cmn_ct_equal(tok, want, strlen(want)))
        token_ok = 1;
    if (pub_password_hash(pw, pwhash)) {
        pub_err(out, 500, "internal", "cannot hash the password");
        goto done;
    }
    if (pub_tx_begin(c) || pub_exec_simple(c, "SELECT pg_advisory_xact_lock(7207316211)")) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        goto rollback;
    }
    PGresult *q = pub_q(c, Q_ORG_COUNT, NULL);
    long long norgs = pub_res_ok(q) ? pub_cell_i64(q, 0, 0) : -1;
    PQclear(q);
    if (norgs < 0) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        goto rollback;
    }
    if (norgs > 0 && !token_ok) {
        pub_err(out, 403, "forbidden", "already bootstrapped (a further org needs HOTPATCH_BOOTSTRAP_TOKEN)");
        goto rollback;
    }
    const char *p1[] = {org};
    q = pub_q(c, Q_ORG_INSERT, p1);
    if (!pub_res_ok(q)) {
        int dup = pub_res_state(q, "23505");
        PQclear(q);
        if (dup)
            pub_err(out, 409, "conflict", "org '%s' already exists", org);
        else
            pub_err(out, 503, "database_unavailable", "cannot create the org");
        goto rollback;
    }
    int64_t org_id = pub_cell_i64(q, 0, 0);
    PQclear(q);
    const char *p2[] = {email, pwhash};
    q = pub_q(c, Q_USER_INSERT, p2);
    if (!pub_res_ok(q)) {
        int dup = pub_res_state(q, "23505");
        PQclear(q);
        if (dup)
            pub_err(out, 409, "conflict", "a user with email '%s' already exists", email);
        else
            pub_err(out, 503, "database_unavailable", "cannot create the user");
        goto rollback;
    }
    int64_t user_id = pub_cell_i64(q, 0, 0);
    PQclear(q);
    char uid[24], oid[24], actor[48];
    I64(uid, user_id);
    I64(oid, org_id);
    snprintf(actor, sizeof(actor), "user:%lld", (long long)user_id);
    const char *p3[] = {uid, oid, NULL, "owner"};
    q = pub_q(c, Q_MEMBER_INSERT, p3);
    int okay = pub_res_ok(q);
    PQclear(q);
    if (!okay || make_api_key(c, org_id, 0, PUB_ROLE_OWNER, "bootstrap", actor, key) ||
        audit_steal(c, actor, org_id, 0, NULL, "org.bootstrap", json_pack("{s:s,s:s}", "org", org, "email", email)) ||
        pub_tx_commit(c)) {
        pub_err(out, 503, "database_unavailable", "cannot bootstrap");
        goto rollback;
    }
    cmn_info("bootstrap: org '%s' with owner %s", org, email);
    pub_json_reply(out, 201,
                   json_pack("{s:{s:I,s:s},s:{s:I,s:s},s:s,s:s}", "org", "id", (json_int_t)org_id, "name", org, "user",
                             "id", (json_int_t)user_id, "email", email, "role", "owner", "api_key", key));
    cmn_wipe(key, sizeof(key));
    goto done;
rollback:
    pub_tx_rollback(c);
done:
    cmn_wipe(pwhash, sizeof(pwhash));
    json_decref(b);
}

/* A hash to verify against when the email is unknown, so both paths cost the same. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
    if (pub_password_hash("not-a-password", dummy_hash))
        dummy_hash[0] = '\0';
}

static void reply_token(struct pub_srv *s, const struct pub_principal *p, struct pub_resp *out)
{
    long exp = 0;
    char *tok = pub_jwt_issue(s, p, &exp);
    if (!tok) {
        pub_err(out, 500, "internal", "cannot issue a token");
        return;
    }
    pub_json_reply(out, 200,
                   json_pack("{s:s,s:s,s:I}", "token", tok, "token_type", "Bearer", "expires_in", (json_int_t)exp));
    cmn_wipe(tok, strlen(tok));
    free(tok);
}

static void h_auth_token(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = body_json(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"api_key", "email", "password", NULL};
    const char *key, *email, *pw;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "api_key", 0, 256, &key, &eb)) ||
        (rc = pub_jstr(b, "email", 0, 254, &email, &eb)) || (rc = pub_jstr(b, "password", 0, 1024, &pw, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    struct pub_principal p;
    if (key) {
        rc = pub_auth_apikey(c, key, &p);
        if (rc == CMN_E_DB) {
            pub_err(out, 503, "database_unavailable", "database unavailable");
            goto done;
        }
        if (rc) {
            pub_err(out, 401, "unauthorized", "invalid or revoked API key");
            goto done;
        }
        reply_token(s, &p, out);
    } else if (email && pw) {
        const char *pp[] = {email};
        PGresult *q = query_or_503(c, Q_USER_BY_EMAIL, pp, out);
        if (!q)
            goto done;
        int found = PQntuples(q) == 1;
        /* same work whether or not the user exists: no account-probing by timing */
        pthread_once(&dummy_once, make_dummy_hash);
        int good = pub_password_verify(found ? pub_cell(q, 0, 1) : dummy_hash, pw) && found;
        memset(&p, 0, sizeof(p));
        p.kind = PUB_PRINC_USER;
        p.id = found ? pub_cell_i64(q, 0, 0) : 0;
        PQclear(q);
        if (!good) {
            pub_err(out, 401, "unauthorized", "wrong email or password");
            goto done;
        }
        reply_token(s, &p, out);
    } else {
        pub_err(out, 400, "bad_request", "need 'api_key', or 'email' and 'password'");
    }
done:
    json_decref(b);
}

static void h_auth_refresh(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    if (!r->who.via_jwt) {
        pub_err(out, 400, "bad_request", "refresh needs a token; exchange an API key with POST /v1/auth/token");
        return;
    }
    reply_token(s, &r->who, out);
}

static int64_t caller_org(struct pub_dbconn *c, struct pub_req *r, json_t *b, struct pub_resp *out)
{
    const char *org = NULL;
    json_t *v = json_object_get(b, "org");
    if (json_is_string(v))
        org = json_string_value(v);
    if (!org)
        return r->who.org_id;
    const char *p[] = {org};
    PGresult *q = pub_q(c, Q_ORG_BY_NAME, p);
    int64_t id = pub_res_ok(q) && PQntuples(q) == 1 ? pub_cell_i64(q, 0, 0) : 0;
    PQclear(q);
    if (!id)
        pub_err(out, 404, "not_found", "no org named '%s'", org);
    return id;
}

static void h_apps_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = body_json(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"name", "org", NULL};
    const char *name, *org;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    char key[80];
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "name", 1, 64, &name, &eb)) ||
        (rc = pub_jstr(b, "org", 0, 64, &org, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    if (!pub_valid_id(name)) {
        pub_err(out, 400, "bad_request", "app name must match [A-Za-z0-9._-]{1,64}");
        goto done;
    }
    int64_t org_id = caller_org(c, r, b, out);
    if (!org_id) {
        if (!out->json)
            pub_err(out, 403, "forbidden", "no org for this caller");
        goto done;
    }
    int role = pub_auth_role(c, &r->who, org_id, 0);
    if (role < PUB_ROLE_ADMIN) {
        pub_err(out, 403, "forbidden", "creating apps needs the admin role on the org (you have %s)",
                pub_role_name(role));
        goto done;
    }
    if (pub_tx_begin(c)) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        goto done;
    }
    char oid[24];
    I64(oid, org_id);
    const char *p[] = {oid, name};
    PGresult *q = pub_q(c, Q_APP_INSERT, p);
    if (!pub_res_ok(q)) {
        int dup = pub_res_state(q, "23505");
        PQclear(q);
        if (dup)
            pub_err(out, 409, "conflict", "an app named '%s' already exists", name);
        else
            pub_err(out, 503, "database_unavailable", "cannot create the app");
        pub_tx_rollback(c);
        goto done;
    }
    json_t *app = app_json(q, 0);
    int64_t app_id = pub_cell_i64(q, 0, 0);
    PQclear(q);
    if (make_api_key(c, org_id, app_id, PUB_ROLE_WRITE, "app", r->who.actor, key) ||
        audit_steal(c, r->who.actor, org_id, app_id, NULL, "app.create", json_pack("{s:s}", "name", name)) ||
        pub_tx_commit(c)) {
        json_decref(app);
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot create the app");
        goto done;
    }
    cmn_info("app '%s' created by %s", name, r->who.actor);
    pub_json_reply(out, 201, json_pack("{s:o,s:s,s:s}", "app", app, "api_key", key, "api_key_role", "write"));
    cmn_wipe(key, sizeof(key));
done:
    json_decref(b);
}

static void h_apps_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    char oid[24];
    I64(oid, r->who.org_id);
    const char *p[] = {oid};
    PGresult *q = query_or_503(c, Q_APP_LIST, p, out);
    if (!q)
        return;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(q); i++)
        if (pub_auth_role(c, &r->who, pub_cell_i64(q, i, 1), pub_cell_i64(q, i, 0)) >= PUB_ROLE_READ)
            json_array_append_new(arr, app_json(q, i));
    PQclear(q);
    pub_json_reply(out, 200, json_pack("{s:o}", "apps", arr));
}

static void h_app_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    PGresult *a = app_authz(c, r, r->segs[2], PUB_ROLE_READ, out);
    if (!a)
        return;
    pub_json_reply(out, 200, json_pack("{s:o}", "app", app_json(a, 0)));
    PQclear(a);
}

static void h_app_patch(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = body_json(s, r, 0, out);
    if (!b)
        return;
    PGresult *a = app_authz(c, r, r->segs[2], PUB_ROLE_ADMIN, out);
    if (!a)
        goto done;
    static const char *const allowed[] = {"halt_threshold_pct", "halt_min_installs", NULL};
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    long long thr = PQgetisnull(a, 0, 3) ? -1 : pub_cell_i64(a, 0, 3);
    long long min = PQgetisnull(a, 0, 4) ? -1 : pub_cell_i64(a, 0, 4);
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jint(b, "halt_threshold_pct", 0, 1, 100, &thr, &eb)) ||
        (rc = pub_jint(b, "halt_min_installs", 0, 1, 100000000, &min, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    /* an explicit null resets to the server default */
    if (json_is_null(json_object_get(b, "halt_threshold_pct")))
        thr = -1;
    if (json_is_null(json_object_get(b, "halt_min_installs")))
        min = -1;
    char aid[24], ts[24], ms[24];
    I64(aid, pub_cell_i64(a, 0, 0));
    I64(ts, thr);
    I64(ms, min);
    const char *p[] = {aid, thr > 0 ? ts : NULL, min > 0 ? ms : NULL};
    if (pub_tx_begin(c)) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        goto done;
    }
    PGresult *q = pub_q(c, Q_APP_SET_HALT, p);
    int okay = pub_res_ok(q);
    PQclear(q);
    json_t *detail = json_deep_copy(b);
    if (!okay || pub_audit(c, r->who.actor, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), NULL, "app.update", detail) ||
        pub_tx_commit(c)) {
        json_decref(detail);
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot update the app");
        goto done;
    }
    json_decref(detail);
    const char *pn[] = {r->segs[2]};
    q = pub_q(c, Q_APP_BY_NAME, pn);
    if (pub_res_ok(q) && PQntuples(q) == 1)
        pub_json_reply(out, 200, json_pack("{s:o}", "app", app_json(q, 0)));
    else
        pub_err(out, 503, "database_unavailable", "cannot re-read the app");
    PQclear(q);
done:
    PQclear(a);
    json_decref(b);
}

static void h_keys_add(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = body_json(s, r, 0, out);
    if (!b)
        return;
    PGresult *a = app_authz(c, r, r->segs[2], PUB_ROLE_ADMIN, out);
    if (!a)
        goto done;
    static const char *const allowed[] = {"public_key", "name", NULL};
    const char *pk, *name;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "public_key", 1, 128, &pk, &eb)) ||
        (rc = pub_jstr(b, "name", 0, 128, &name, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    struct cmn_key key;
    if (cmn_key_from_public_b64(pk, &key, &eb)) {
        pub_err(out, 400, "bad_key", "public_key is not a base64 Ed25519 public key");
        goto done;
    }
    char b64[CMN_PK_B64];
    cmn_key_public_b64(&key, b64);
    char aid[24];
    I64(aid, pub_cell_i64(a, 0, 0));
    const char *p[] = {aid, key.keyid, b64, name ? name : ""};
    if (pub_tx_begin(c)) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        goto done;
    }
    PGresult *q = pub_q(c, Q_RKEY_INSERT, p);
    if (!pub_res_ok(q)) {
        int dup = pub_res_state(q, "23505");
        PQclear(q);
        pub_tx_rollback(c);
        if (dup)
            pub_err(out, 409, "conflict", "key %s is already registered for app '%s'", key.keyid, r->segs[2]);
        else
            pub_err(out, 503, "database_unavailable", "cannot register the key");
        goto done;
    }
    int64_t created = pub_cell_i64(q, 0, 0);
    PQclear(q);
    if (audit_steal(c, r->who.actor, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), NULL, "release_key.register",
                    json_pack("{s:s,s:s}", "keyid", key.keyid, "name", name ? name : "")) ||
        pub_tx_commit(c)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot register the key");
        goto done;
    }
    pub_json_reply(out, 201,
                   json_pack("{s:{s:s,s:s,s:s,s:I}}", "key", "keyid", key.keyid, "public_key", b64, "name",
                             name ? name : "", "created_at", (json_int_t)created));
done:
    PQclear(a);
    json_decref(b);
}

static void h_keys_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    char aid[24];
    if (app_authz_id(c, r, r->segs[2], PUB_ROLE_READ, aid, out))
        return;
    const char *p[] = {aid};
    PGresult *q = query_or_503(c, Q_RKEY_LIST, p, out);
    if (!q)
        return;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(q); i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I}", "keyid", pub_cell(q, i, 0), "public_key",
                                             pub_cell(q, i, 1), "name", pub_cell(q, i, 2), "created_at",
                                             (json_int_t)pub_cell_i64(q, i, 3)));
    PQclear(q);
    pub_json_reply(out, 200, json_pack("{s:o}", "keys", arr));
}

static void h_apikeys(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = body_json(s, r, 0, out);
    if (!b)
        return;
    PGresult *a = app_authz(c, r, r->segs[2], PUB_ROLE_ADMIN, out);
    if (!a)
        goto done;
    static const char *const allowed[] = {"role", "name", NULL};
    const char *role_s, *name;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    char key[80];
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "role", 1, 16, &role_s, &eb)) ||
        (rc = pub_jstr(b, "name", 0, 128, &name, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    int role = pub_role_parse(role_s);
    if (role < PUB_ROLE_READ || role > PUB_ROLE_ADMIN) {
        pub_err(out, 400, "bad_request", "role must be read, write or admin");
        goto done;
    }
    int mine = pub_auth_role(c, &r->who, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0));
    if (role > mine) {
        pub_err(out, 403, "forbidden", "cannot grant %s with the %s role", role_s, pub_role_name(mine));
        goto done;
    }
    if (pub_tx_begin(c) ||
        make_api_key(c, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), role, name, r->who.actor, key) ||
        audit_steal(c, r->who.actor, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), NULL, "api_key.create",
                    json_pack("{s:s,s:s}", "role", role_s, "name", name ? name : "")) ||
        pub_tx_commit(c)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot create the API key");
        goto done;
    }
    pub_json_reply(
        out, 201,
        json_pack("{s:s,s:s#,s:s,s:s}", "api_key", key, "key_id", key + 3, (int)12, "role", role_s, "app", r->segs[2]));
    cmn_wipe(key, sizeof(key));
done:
    PQclear(a);
    json_decref(b);
}

static void h_key_revoke(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    PGresult *a = app_authz(c, r, r->segs[2], PUB_ROLE_ADMIN, out);
    if (!a)
        return;
    const char *keyid = r->segs[4];
    char aid[24];
    I64(aid, pub_cell_i64(a, 0, 0));
    const char *p[] = {aid, keyid};
    if (pub_tx_begin(c)) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        goto done;
    }
    PGresult *q = pub_q(c, Q_RKEY_REVOKE, p);
    int okay = pub_res_ok(q);
    long n = okay ? atol(PQcmdTuples(q)) : 0;
    PQclear(q);
    if (!okay) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot revoke the key");
        goto done;
    }
    if (n == 0) {
        pub_tx_rollback(c);
        pub_err(out, 404, "not_found", "no registered release key '%.32s' for app '%s'", keyid, r->segs[2]);
        goto done;
    }
    if (audit_steal(c, r->who.actor, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), NULL, "release_key.revoke",
                    json_pack("{s:s}", "keyid", keyid)) ||
        pub_tx_commit(c)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot revoke the key");
        goto done;
    }
    pub_json_reply(out, 200, json_pack("{s:s,s:b}", "keyid", keyid, "revoked", 1));
done:
    PQclear(a);
}

static void h_apikey_revoke(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *lookup = r->segs[2];
    const char *p[] = {lookup};
    PGresult *q = query_or_503(c, Q_APIKEY_SCOPE, p, out);
    if (!q)
        return;
    if (PQntuples(q) != 1) {
        PQclear(q);
        pub_err(out, 404, "not_found", "no active API key '%.32s'", lookup);
        return;
    }
    int64_t id = pub_cell_i64(q, 0, 0), org = pub_cell_i64(q, 0, 1), app = pub_cell_i64(q, 0, 2);
    int role = pub_role_parse(pub_cell(q, 0, 3));
    PQclear(q);
    /* revoking needs admin on the key's scope and at least the key's own role */
    int mine = pub_auth_role(c, &r->who, org, app);
    if (mine < PUB_ROLE_ADMIN || mine < role) {
        if (mine == PUB_ROLE_NONE)
            pub_err(out, 404, "not_found", "no active API key '%.32s'", lookup);
        else
            pub_err(out, 403, "forbidden", "revoking this key needs the admin role on its scope");
        return;
    }
    char ids[24];
    I64(ids, id);
    const char *p2[] = {ids};
    if (pub_tx_begin(c)) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        return;
    }
    q = pub_q(c, Q_APIKEY_REVOKE, p2);
    int okay = pub_res_ok(q);
    PQclear(q);
    if (!okay || audit_steal(c, r->who.actor, org, app, NULL, "api_key.revoke", json_pack("{s:s}", "key_id", lookup)) ||
        pub_tx_commit(c)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot revoke the key");
        return;
    }
    pub_json_reply(out, 200, json_pack("{s:s,s:b}", "key_id", lookup, "revoked", 1));
}

static void h_users_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = body_json(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"email", "password", "role", "app", NULL};
    const char *email, *pw, *role_s, *app;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    char pwhash[128] = "";
    PGresult *a = NULL;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "email", 1, 254, &email, &eb)) ||
        (rc = pub_jstr(b, "password", 0, 1024, &pw, &eb)) || (rc = pub_jstr(b, "role", 1, 16, &role_s, &eb)) ||
        (rc = pub_jstr(b, "app", 0, 64, &app, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    int role = pub_role_parse(role_s);
    if (role < 0 || !strchr(email, '@') || (pw && strlen(pw) < 8)) {
        pub_err(out, 400, "bad_request", "need an email, a role (read|write|admin|owner) and a password of 8+ bytes");
        goto done;
    }
    int64_t org_id = r->who.org_id, app_id = 0;
    if (app) {
        a = app_authz(c, r, app, PUB_ROLE_ADMIN, out);
        if (!a)
            goto done;
        org_id = pub_cell_i64(a, 0, 1);
        app_id = pub_cell_i64(a, 0, 0);
    }
    int mine = pub_auth_role(c, &r->who, org_id, app_id);
    if (mine < PUB_ROLE_ADMIN || role > mine) {
        pub_err(out, 403, "forbidden", "granting %s needs the admin role and at least %s on the %s (you have %s)",
                role_s, role_s, app ? "app" : "org", pub_role_name(mine));
        goto done;
    }
    if (pw && pub_password_hash(pw, pwhash)) {
        pub_err(out, 500, "internal", "cannot hash the password");
        goto done;
    }
    if (pub_tx_begin(c)) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        goto done;
    }
    const char *pe[] = {email};
    PGresult *q = pub_q(c, Q_USER_BY_EMAIL, pe);
    int64_t uid = 0;
    int created = 0;
    if (pub_res_ok(q) && PQntuples(q) == 1)
        uid = pub_cell_i64(q, 0, 0);
    PQclear(q);
    if (!uid) {
        if (!pw) {
            pub_tx_rollback(c);
            pub_err(out, 400, "bad_request", "a new user needs a password");
            goto done;
        }
        const char *pu[] = {email, pwhash};
        q = pub_q(c, Q_USER_INSERT, pu);
        if (pub_res_ok(q))
            uid = pub_cell_i64(q, 0, 0);
        PQclear(q);
        created = 1;
    }
    char us[24], os[24], as[24];
    I64(us, uid);
    I64(os, org_id);
    I64(as, app_id);
    const char *pm[] = {us, os, app_id ? as : NULL, role_s};
    q = pub_q(c, Q_MEMBER_INSERT, pm);
    int dup = pub_res_state(q, "23505");
    int okay = uid && pub_res_ok(q);
    PQclear(q);
    if (!okay) {
        pub_tx_rollback(c);
        if (dup)
            pub_err(out, 409, "conflict", "'%s' already has a role on this %s", email, app ? "app" : "org");
        else
            pub_err(out, 503, "database_unavailable", "cannot create the user");
        goto done;
    }
    if (audit_steal(c, r->who.actor, org_id, app_id, NULL, "user.grant",
                    json_pack("{s:s,s:s,s:b}", "email", email, "role", role_s, "new_user", created)) ||
        pub_tx_commit(c)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot create the user");
        goto done;
    }
    pub_json_reply(
        out, 201,
        json_pack("{s:{s:I,s:s},s:s,s:s?}", "user", "id", (json_int_t)uid, "email", email, "role", role_s, "app", app));
done:
    cmn_wipe(pwhash, sizeof(pwhash));
    PQclear(a);
    json_decref(b);
}

static void h_channels(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    char aid[24];
    if (app_authz_id(c, r, r->segs[2], PUB_ROLE_READ, aid, out))
        return;
    const char *p[] = {aid};
    PGresult *q = query_or_503(c, Q_CHAN_LIST, p, out);
    if (!q)
        return;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(q); i++)
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:I,s:b,s:I,s:I}", "platform", pub_cell(q, i, 0), "channel",
                                        pub_cell(q, i, 1), "sequence", (json_int_t)pub_cell_i64(q, i, 2), "published",
                                        pub_cell(q, i, 4)[0] != 't', "published_at", (json_int_t)pub_cell_i64(q, i, 5),
                                        "expires_at", (json_int_t)pub_cell_i64(q, i, 6)));
    PQclear(q);
    pub_json_reply(out, 200, json_pack("{s:o}", "channels", arr));
}

/* POST /v1/apps/{app}/channels/{platform}/{channel}/retire: the signed tombstone (issue 12 #4). */
static void h_chan_retire(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *platform = r->segs[4], *channel = r->segs[5];
    if (!pub_valid_id(platform) || !pub_valid_id(channel)) {
        pub_err(out, 400, "bad_request", "bad platform or channel");
        return;
    }
    PGresult *a = app_authz(c, r, r->segs[2], PUB_ROLE_WRITE, out);
    if (!a)
        return;
    struct pub_chan ch = {pub_cell_i64(a, 0, 0), r->segs[2], platform, channel};
    int64_t org_id = pub_cell_i64(a, 0, 1), seq = 0;
    int archived = 0;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_channel_retire(s, c, &ch, r->who.actor, org_id, &seq, &archived, &eb);
    PQclear(a);
    if (rc) {
        pub_err(out, 503, "unavailable", "%s", eb.msg[0] ? eb.msg : "cannot retire the channel");
        return;
    }
    pub_json_reply(out, 200,
                   json_pack("{s:s,s:s,s:b,s:i,s:{s:I}}", "platform", platform, "channel", channel, "retired", 1,
                             "archived", archived, "manifest", "sequence", (json_int_t)seq));
}

static void h_audit(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    char aid[24];
    if (app_authz_id(c, r, r->segs[2], PUB_ROLE_READ, aid, out))
        return;
    const char *rel = pub_req_query(r, "release");
    const char *lim = pub_req_query(r, "limit");
    long limit = lim ? strtol(lim, NULL, 10) : 100;
    if (limit < 1 || limit > 1000)
        limit = 100;
    char ls[24];
    I64(ls, limit);
    const char *p[] = {aid, rel && *rel ? rel : NULL, ls};
    PGresult *q = query_or_503(c, Q_AUDIT_LIST, p, out);
    if (!q)
        return;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(q); i++) {
        json_t *detail = json_loads(pub_cell(q, i, 5), 0, NULL);
        json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:o}", "id", (json_int_t)pub_cell_i64(q, i, 0), "at",
                              (json_int_t)pub_cell_i64(q, i, 1), "actor", pub_cell(q, i, 2), "action",
                              pub_cell(q, i, 4), "detail", detail ? detail : json_object());
        if (!PQgetisnull(q, i, 3))
            json_object_set_new(o, "release_id", json_string(pub_cell(q, i, 3)));
        json_array_append_new(arr, o);
    }
    PQclear(q);
    pub_json_reply(out, 200, json_pack("{s:o}", "events", arr));
}

static void h_rel_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *app = pub_req_query(r, "app");
    const char *platform = pub_req_query(r, "platform");
    const char *channel = pub_req_query(r, "channel");
    const char *lim = pub_req_query(r, "limit");
    const char *cursor = pub_req_query(r, "cursor");
    if (!app || !*app) {
        pub_err(out, 400, "bad_request", "query parameter 'app' is required");
        return;
    }
    if ((platform && *platform && !pub_valid_id(platform)) || (channel && *channel && !pub_valid_id(channel))) {
        pub_err(out, 400, "bad_request", "bad platform or channel");
        return;
    }
    long limit = 50;
    if (lim) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (*end || limit < 1 || limit > 200) {
            pub_err(out, 400, "bad_request", "limit must be 1..200");
            return;
        }
    }
    long long cur = 0;
    if (cursor && *cursor) {
        char *end;
        cur = strtoll(cursor, &end, 10);
        if (*end || cur < 1) {
            pub_err(out, 400, "bad_request", "bad cursor");
            return;
        }
    }
    PGresult *a = app_authz(c, r, app, PUB_ROLE_READ, out);
    if (!a)
        return;
    char aid[24], ls[24], cs[24];
    I64(aid, pub_cell_i64(a, 0, 0));
    PQclear(a);
    I64(ls, limit);
    I64(cs, cur);
    const char *p[] = {aid, platform && *platform ? platform : NULL, channel && *channel ? channel : NULL,
                       cur ? cs : NULL, ls};
    PGresult *q = query_or_503(c, Q_REL_LIST, p, out);
    if (!q)
        return;
    json_t *arr = json_array();
    int n = PQntuples(q);
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, pub_release_json(q, i));
    json_t *next = json_null();
    if (n == limit) {
        char nc[24];
        I64(nc, pub_cell_i64(q, n - 1, 18));
        json_decref(next);
        next = json_string(nc);
    }
    PQclear(q);
    pub_json_reply(out, 200, json_pack("{s:o,s:o}", "releases", arr, "next_cursor", next));
}

static void h_rel_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    PGresult *rel = pub_release_authz(c, r, r->segs[2], PUB_ROLE_READ, NULL, out);
    if (!rel)
        return;
    pub_json_reply(out, 200, json_pack("{s:o}", "release", pub_release_json(rel, 0)));
    PQclear(rel);
}

static void h_rel_action(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *id = r->segs[2];
    const char *verb = r->nsegs > 3 ? r->segs[3] : "archive";
    json_t *b = body_json(s, r, 1, out);
    if (!b)
        return;
    int action;
    long bp = -1;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    json_t *extra = json_object();
    if (r->route == R_REL_ROLLOUT) {
        static const char *const allowed[] = {"rollout_bp", "percent", NULL};
        long long v = -1, pct = -1;
        if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jint(b, "rollout_bp", 0, 0, 10000, &v, &eb)) ||
            (rc = pub_jint(b, "percent", 0, 0, 100, &pct, &eb))) {
            pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
            goto done;
        }
        if ((v < 0) == (pct < 0)) {
            pub_err(out, 400, "bad_request", "give exactly one of 'rollout_bp' (0..10000) or 'percent' (0..100)");
            goto done;
        }
        bp = v >= 0 ? (long)v : (long)pct * 100;
        action = PUB_ACT_ROLLOUT;
    } else {
        static const char *const allowed[] = {"reason", NULL};
        const char *reason = NULL;
        if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "reason", 0, 1024, &reason, &eb))) {
            pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
            goto done;
        }
        if (reason)
            json_object_set_new(extra, "reason", json_string(reason));
        if (!strcmp(verb, "rollback") || !strcmp(verb, "abort"))
            action = PUB_ACT_ROLLBACK;
        else if (!strcmp(verb, "halt"))
            action = PUB_ACT_HALT;
        else if (!strcmp(verb, "resume"))
            action = PUB_ACT_RESUME;
        else if (!strcmp(verb, "conclude"))
            action = PUB_ACT_CONCLUDE;
        else
            action = PUB_ACT_ARCHIVE;
    }
    json_object_set_new(extra, "via", json_string(verb));
    PGresult *rel = pub_release_authz(c, r, id, PUB_ROLE_WRITE, NULL, out);
    if (!rel)
        goto done;
    PQclear(rel);
    json_t *relj = NULL;
    int64_t seq = 0;
    rc = pub_release_action(s, c, id, action, bp, r->who.actor, extra, &relj, &seq, &eb);
    if (rc) {
        pub_err_from(out, rc, &eb);
        goto done;
    }
    pub_json_reply(
        out, 200,
        json_pack("{s:o,s:{s:I}}", "release", relj ? relj : json_null(), "manifest", "sequence", (json_int_t)seq));
done:
    json_decref(extra);
    json_decref(b);
}

static void h_rel_promote(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = body_json(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"to_channel", "channel", "rollout_bp", "percent", NULL};
    const char *to = NULL, *to2 = NULL;
    long long bp = -1, pct = -1;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    PGresult *rel = NULL;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "to_channel", 0, 64, &to, &eb)) ||
        (rc = pub_jstr(b, "channel", 0, 64, &to2, &eb)) || (rc = pub_jint(b, "rollout_bp", 0, 0, 10000, &bp, &eb)) ||
        (rc = pub_jint(b, "percent", 0, 0, 100, &pct, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    if (!to)
        to = to2;
    if (!to || !pub_valid_id(to)) {
        pub_err(out, 400, "bad_request", "'to_channel' must match [A-Za-z0-9._-]{1,64}");
        goto done;
    }
    if (pct >= 0)
        bp = pct * 100;
    int64_t org_id = 0;
    rel = pub_release_authz(c, r, r->segs[2], PUB_ROLE_WRITE, &org_id, out);
    if (!rel)
        goto done;
    json_t *relj = NULL;
    int64_t seq = 0, pubseq = 0;
    rc = pub_release_promote(s, c, rel, to, (long)bp, r->who.actor, org_id, &relj, &seq, &pubseq, &eb);
    if (rc) {
        pub_err_from(out, rc, &eb);
        goto done;
    }
    json_t *man = json_pack("{s:I}", "sequence", (json_int_t)seq);
    if (pubseq)
        json_object_set_new(man, "published_sequence", json_integer(pubseq));
    pub_json_reply(out, 201, json_pack("{s:o,s:o}", "release", relj ? relj : json_null(), "manifest", man));
done:
    PQclear(rel);
    json_decref(b);
}

static void h_manifest(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *app = r->segs[2], *platform = r->segs[3];
    char channel[CMN_ID_MAX + 8];
    snprintf(channel, sizeof(channel), "%s", r->segs[4]);
    size_t cl = strlen(channel);
    if (cl > 5 && !strcmp(channel + cl - 5, ".json"))
        channel[cl - 5] = '\0';
    if (!pub_valid_id(platform) || !pub_valid_id(channel)) {
        pub_err(out, 400, "bad_request", "bad platform or channel");
        return;
    }
    PGresult *a = app_authz(c, r, app, PUB_ROLE_READ, out);
    if (!a)
        return;
    PQclear(a);
    char key[CMN_STORAGE_KEY_MAX], etag[CMN_ETAG_MAX] = "";
    struct cmn_errbuf eb = {0};
    struct cmn_storage *st = NULL;
    struct cmn_buf doc;
    cmn_buf_init(&doc, CMN_MANIFEST_MAX_BYTES);
    enum cmn_err rc = cmn_storage_manifest_key(app, platform, channel, key, sizeof(key));
    if (!rc)
        rc = pub_storage_open(s, &st, &eb);
    /* conditional GET: If-None-Match with the (quoted or bare) ETag -> 304 */
    char inm[CMN_ETAG_MAX] = "";
    const char *h = pub_req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (h) {
        size_t hl = strlen(h);
        if (hl >= 2 && h[0] == '"' && h[hl - 1] == '"' && hl - 2 < sizeof(inm))
            snprintf(inm, sizeof(inm), "%.*s", (int)(hl - 2), h + 1);
        else if (hl < sizeof(inm))
            snprintf(inm, sizeof(inm), "%s", h);
    }
    struct cmn_get_opts go = {0};
    go.if_none_match = inm[0] ? inm : NULL;
    if (!rc)
        rc = cmn_storage_get(st, key, &go, &doc, etag, &eb);
    cmn_storage_free(st);
    if (rc == CMN_E_NOT_MODIFIED) {
        out->status = 304;
        out->cache_control = "public, max-age=30";
        snprintf(out->etag, sizeof(out->etag), "\"%s\"", inm);
    } else if (rc == CMN_E_NOTFOUND) {
        pub_err(out, 404, "not_found", "no manifest for %s/%s/%s", app, platform, channel);
    } else if (rc) {
        pub_err(out, 503, "storage_unavailable", "%s", cmn_errmsg(&eb, rc));
    } else {
        out->status = 200;
        out->raw = cmn_buf_take(&doc, &out->raw_len);
        out->ctype = "application/json";
        out->cache_control = "public, max-age=30";
        snprintf(out->etag, sizeof(out->etag), "\"%s\"", etag);
    }
    cmn_buf_release(&doc);
}

static void h_health(struct pub_srv *s, struct pub_req *r, struct pub_resp *out)
{
    const char *db = "ok", *storage = "ok";
    struct pub_dbconn *c = pub_db_get(s->db);
    if (!c) {
        db = "unreachable";
    } else {
        PGresult *q = pub_q(c, Q_ORG_COUNT, NULL);
        if (!pub_res_ok(q))
            db = "error";
        PQclear(q);
        pub_db_put(s->db, c);
    }
    struct cmn_storage *st = NULL;
    struct cmn_errbuf eb = {0};
    if (pub_storage_open(s, &st, &eb)) {
        storage = "unreachable";
    } else {
        enum cmn_err rc = cmn_storage_head(st, "healthz-probe", NULL, NULL, &eb);
        if (rc && rc != CMN_E_NOTFOUND)
            storage = "unreachable";
        cmn_storage_free(st);
    }
    int okay = !strcmp(db, "ok") && !strcmp(storage, "ok");
    pub_json_reply(out, okay ? 200 : 503,
                   json_pack("{s:s,s:s,s:s,s:I}", "status", okay ? "ok" : "degraded", "db", db, "storage", storage,
                             "uptime_s", (json_int_t)(time(NULL) - s->started)));
}

static void h_metrics(struct pub_srv *s, struct pub_req *r, struct pub_resp *out)
{
    struct cmn_buf b;
    cmn_buf_init(&b, 1u << 16);
    struct {
        const char *name, *help, *type;
        unsigned long v;
    } rows[] = {
        {"hotpatch_publisher_requests_total", "HTTP requests received", "counter", atomic_load(&s->m.requests)},
        {"hotpatch_publisher_rate_limited_total", "requests answered 429", "counter", atomic_load(&s->m.rate_limited)},
        {"hotpatch_publisher_releases_created_total", "releases created", "counter",
         atomic_load(&s->m.releases_created)},
        {"hotpatch_publisher_manifests_published_total", "manifests written to storage", "counter",
         atomic_load(&s->m.manifests_published)},
        {"hotpatch_publisher_manifest_publish_errors_total", "failed manifest writes", "counter",
         atomic_load(&s->m.manifest_publish_errors)},
        {"hotpatch_publisher_telemetry_events_total", "installation events accepted", "counter",
         atomic_load(&s->m.telemetry_events)},
        {"hotpatch_publisher_telemetry_batches_total", "installation batches stored", "counter",
         atomic_load(&s->m.telemetry_batches)},
        {"hotpatch_publisher_device_reports_total", "device rows upserted", "counter", atomic_load(&s->m.devices_seen)},
        {"hotpatch_publisher_auto_halts_total", "releases halted automatically", "counter",
         atomic_load(&s->m.auto_halts)},
        {"hotpatch_publisher_edge_notifies_total", "edge sync notifications sent", "counter",
         atomic_load(&s->m.edge_notifies)},
        {"hotpatch_publisher_edge_notify_errors_total", "edge sync notifications failed", "counter",
         atomic_load(&s->m.edge_notify_errors)},
        {"hotpatch_publisher_upload_bytes_total", "bundle bytes received", "counter", atomic_load(&s->m.upload_bytes)},
    };
    enum cmn_err rc = CMN_OK;
    for (size_t i = 0; i < CMN_ARRAY_SIZE(rows) && !rc; i++)
        rc = cmn_buf_addf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %lu\n", rows[i].name, rows[i].help, rows[i].name,
                          rows[i].type, rows[i].name, rows[i].v);
    if (!rc)
        rc = cmn_buf_addf(&b, "# HELP hotpatch_publisher_responses_total HTTP responses by status class\n"
                              "# TYPE hotpatch_publisher_responses_total counter\n");
    for (int k = 1; k <= 5 && !rc; k++)
        rc = cmn_buf_addf(&b, "hotpatch_publisher_responses_total{code=\"%dxx\"} %lu\n", k,
                          atomic_load(&s->m.status[k]));
    if (!rc)
        rc = cmn_buf_addf(&b, "# HELP hotpatch_publisher_up 1 while serving\n# TYPE hotpatch_publisher_up gauge\n"
                              "hotpatch_publisher_up 1\n");
    if (rc) {
        pub_err(out, 500, "internal", "cannot render metrics");
        return;
    }
    out->status = 200;
    out->raw = cmn_buf_take(&b, &out->raw_len);
    out->ctype = "text/plain; version=0.0.4";
}

void pub_api_dispatch(struct pub_srv *s, struct pub_req *r, struct pub_resp *out)
{
    switch (r->route) {
    case R_HEALTH:
        h_health(s, r, out);
        return;
    case R_METRICS:
        h_metrics(s, r, out);
        return;
    case R_REL_CREATE:
        pub_release_create(s, r, out);
        return;
    case R_DEVICES:
        pub_h_devices(s, r, out);
        return;
    case R_INSTALLS:
        pub_h_installations(s, r, out);
        return;
    case R_REL_STATS:
        pub_h_stats(s, r, out);
        return;
    default:
        break;
    }
    struct pub_dbconn *c = pub_db_get(s->db);
    if (!c) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        return;
    }
    switch (r->route) {
    case R_BOOTSTRAP:
        h_bootstrap(s, c, r, out);
        break;
    case R_AUTH_TOKEN:
        h_auth_token(s, c, r, out);
        break;
    case R_AUTH_REFRESH:
        h_auth_refresh(s, c, r, out);
        break;
    case R_APPS_CREATE:
        h_apps_create(s, c, r, out);
        break;
    case R_APPS_LIST:
        h_apps_list(s, c, r, out);
        break;
    case R_APP_GET:
        h_app_get(s, c, r, out);
        break;
    case R_APP_PATCH:
        h_app_patch(s, c, r, out);
        break;
    case R_APP_KEYS_ADD:
        h_keys_add(s, c, r, out);
        break;
    case R_APP_KEYS_LIST:
        h_keys_list(s, c, r, out);
        break;
    case R_APP_APIKEYS:
        h_apikeys(s, c, r, out);
        break;
    case R_APP_AUDIT:
        h_audit(s, c, r, out);
        break;
    case R_APP_CHANNELS:
        h_channels(s, c, r, out);
        break;
    case R_CHAN_RETIRE:
        h_chan_retire(s, c, r, out);
        break;
    case R_APP_KEY_REVOKE:
        h_key_revoke(s, c, r, out);
        break;
    case R_APIKEY_REVOKE:
        h_apikey_revoke(s, c, r, out);
        break;
    case R_USERS_CREATE:
        h_users_create(s, c, r, out);
        break;
    case R_REL_LIST:
        h_rel_list(s, c, r, out);
        break;
    case R_REL_GET:
        h_rel_get(s, c, r, out);
        break;
    case R_REL_DELETE:
    case R_REL_ROLLOUT:
    case R_REL_ACTION:
        h_rel_action(s, c, r, out);
        break;
    case R_REL_PROMOTE:
        h_rel_promote(s, c, r, out);
        break;
    case R_MANIFEST:
        h_manifest(s, c, r, out);
        break;
    default:
        pub_err(out, 404, "not_found", "no such endpoint");
        break;
    }
    pub_db_put(s->db, c);
}
