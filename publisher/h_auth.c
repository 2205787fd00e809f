/*
 * h_auth.c - handlers for bootstrap (the first org, its owner and an owner
 * API key), tokens (API key or email + password -> JWT, refresh) and users
 * (grant a role on the org or one app, creating the user when new).
 */
#include "common/compat.h"

#include <sodium.h>

#include "common/log.h"
#include "pub_handlers.h"

void pub_h_bootstrap(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
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
    if (!okay || pub_h_make_api_key(c, org_id, 0, PUB_ROLE_OWNER, "bootstrap", actor, key) ||
        pub_h_audit(c, actor, org_id, 0, NULL, "org.bootstrap", json_pack("{s:s,s:s}", "org", org, "email", email)) ||
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

int pub_h_password_check(struct pub_dbconn *c, const char *email, const char *pw, int64_t *user_id,
                         struct pub_resp *out)
{
    const char *pp[] = {email};
    PGresult *q = pub_h_query(c, Q_USER_BY_EMAIL, pp, out);
    if (!q)
        return -1;
    int found = PQntuples(q) == 1;
    /* same work whether or not the user exists: no account-probing by timing */
    pthread_once(&dummy_once, make_dummy_hash);
    int good = pub_password_verify(found ? pub_cell(q, 0, 1) : dummy_hash, pw) && found;
    int64_t id = found ? pub_cell_i64(q, 0, 0) : 0;
    PQclear(q);
    if (!good)
        return pub_err(out, 401, "unauthorized", "wrong email or password"), -1;
    *user_id = id;
    return 0;
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

void pub_h_auth_token(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
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
        memset(&p, 0, sizeof(p));
        p.kind = PUB_PRINC_USER;
        if (pub_h_password_check(c, email, pw, &p.id, out))
            goto done;
        reply_token(s, &p, out);
    } else {
        pub_err(out, 400, "bad_request", "need 'api_key', or 'email' and 'password'");
    }
done:
    json_decref(b);
}

void pub_h_auth_refresh(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    if (!r->who.via_jwt) {
        pub_err(out, 400, "bad_request", "refresh needs a token; exchange an API key with POST /v1/auth/token");
        return;
    }
    reply_token(s, &r->who, out);
}

void pub_h_users_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
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
        a = pub_h_app(c, r, app, out);
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
    if (pub_h_begin(c, out))
        goto done;
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
    if (pub_h_audit(c, r->who.actor, org_id, app_id, NULL, "user.grant",
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
