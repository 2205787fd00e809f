/*
 * Unit tests for publisher/auth.c against a real Postgres (pub_fixture.h):
 * API keys stored as hashes authenticate (and stop when revoked or altered),
 * Bearer API keys and JWTs resolve to the right principal, and roles follow
 * a key's scope and a user's memberships (org-wide or one app).
 */
#include "pub_fixture.h"

static int64_t one_id(struct pub_dbconn *c, enum pub_stmt q, const char *const *p)
{
    PGresult *r = pub_q(c, q, p);
    int64_t id = pub_res_ok(r) && PQntuples(r) == 1 ? pub_cell_i64(r, 0, 0) : 0;
    PQclear(r);
    return id;
}

static int exec_ok(struct pub_dbconn *c, enum pub_stmt q, const char *const *p)
{
    PGresult *r = pub_q(c, q, p);
    int okay = pub_res_ok(r);
    PQclear(r);
    return okay;
}

int main(void)
{
    struct fx f;
    int rc = fx_setup(&f, "authz");
    if (rc == 1) {
        test_skip(1, "HP_TEST_PG_URL is not set (make test starts Postgres and sets it)");
        return done_testing();
    }
    ok(rc == 0, "fixture: database, storage, keys");
    if (rc)
        return done_testing();
    struct pub_dbconn *c = pub_db_get(f.s.db, NULL);
    struct cmn_errbuf eb = {0};
    char oid[24], aid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)f.org_id);
    snprintf(aid, sizeof(aid), "%lld", (long long)f.app_id);

    /* a second app in the same org, to check app-scoped grants */
    const char *pa[] = {oid, "other"};
    PGresult *r = pub_q(c, Q_APP_INSERT, pa);
    int64_t other = pub_res_ok(r) ? pub_cell_i64(r, 0, 0) : 0;
    PQclear(r);
    ok(other > 0, "second app");

    /* an app-scoped write key, stored as lookup + SHA-256 only */
    char key[80], lookup[16], hash[CMN_SHA256_HEX];
    pub_apikey_generate(key, lookup, hash);
    const char *pk[] = {lookup, hash, oid, aid, "write", "ci", "test"};
    int64_t kid = one_id(c, Q_APIKEY_INSERT, pk);
    ok(kid > 0, "API key row");
    char q[256];
    snprintf(q, sizeof(q), "SELECT count(*) FROM api_keys WHERE key_hash::text LIKE '%%%s%%'", key + 16);
    is_int(fx_sql_int(&f, q), 0, "the key's secret part is not stored");

    struct pub_principal p;
    is_int(pub_auth_apikey(c, key, &p), CMN_OK, "the key authenticates");
    is_int(p.kind, PUB_PRINC_KEY, "as a key principal");
    is_int(p.id, kid, "its id");
    is_int(p.app_id, f.app_id, "scoped to its app");
    is_int(pub_auth_role(c, &p, f.org_id, f.app_id), PUB_ROLE_WRITE, "write on its app");
    is_int(pub_auth_role(c, &p, f.org_id, other), PUB_ROLE_NONE, "nothing on another app of the org");
    is_int(pub_auth_role(c, &p, f.org_id + 1000, f.app_id), PUB_ROLE_NONE, "nothing in another org");
    char bad[80];
    snprintf(bad, sizeof(bad), "%s", key);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
    is_int(pub_auth_apikey(c, bad, &p), CMN_E_DENIED, "one changed character: denied");
    is_int(pub_auth_apikey(c, "hp_nonsense", &p), CMN_E_DENIED, "malformed key: denied");

    char authz[128];
    snprintf(authz, sizeof(authz), "Bearer %s", key);
    is_int(pub_auth_bearer(&f.s, c, authz, &p, &eb), CMN_OK, "Bearer API key");
    ok(!p.via_jwt && !strcmp(p.actor, p.rl_key) && !strncmp(p.actor, "key:", 4), "actor key:<id>, not via JWT");
    is_int(pub_auth_bearer(&f.s, c, key, &p, &eb), CMN_E_DENIED, "without 'Bearer ': denied (%s)", eb.msg);

    /* a JWT for the key resolves to the key again, and stops working when the key is revoked */
    long exp = 0;
    char *tok = pub_jwt_issue(&f.s, &p, &exp);
    ok(tok != NULL && exp == f.cfg.jwt_ttl, "token issued for the key (expires in jwt_ttl)");
    char *authz_jwt = NULL;
    if (tok && asprintf(&authz_jwt, "Bearer %s", tok) < 0)
        authz_jwt = NULL;
    struct pub_principal jp;
    is_int(authz_jwt ? (int)pub_auth_bearer(&f.s, c, authz_jwt, &jp, &eb) : -1, CMN_OK, "Bearer JWT");
    ok(jp.via_jwt && jp.kind == PUB_PRINC_KEY && jp.id == kid && jp.app_id == f.app_id, "the key behind the JWT");
    char ks[24];
    snprintf(ks, sizeof(ks), "%lld", (long long)kid);
    const char *pr[] = {ks};
    ok(exec_ok(c, Q_APIKEY_REVOKE, pr), "key revoked");
    is_int(pub_auth_apikey(c, key, &p), CMN_E_DENIED, "a revoked key is denied");
    is_int(authz_jwt ? (int)pub_auth_bearer(&f.s, c, authz_jwt, &jp, &eb) : -1, CMN_E_DENIED,
           "a token of a revoked key is denied (%s)", eb.msg);
    free(authz_jwt);
    if (tok)
        cmn_wipe(tok, strlen(tok));
    free(tok);

    /* users: roles come from memberships, org-wide or per app */
    char pw[128];
    is_int(pub_password_hash("correct horse", pw), CMN_OK, "password hashed");
    const char *pu[] = {"dev@example.com", pw};
    int64_t uid = one_id(c, Q_USER_INSERT, pu);
    char us[24];
    snprintf(us, sizeof(us), "%lld", (long long)uid);
    const char *pm[] = {us, oid, aid, "admin"};
    ok(uid > 0 && exec_ok(c, Q_MEMBER_INSERT, pm), "user with admin on app demo only");
    struct pub_principal up = {0};
    up.kind = PUB_PRINC_USER;
    up.id = uid;
    tok = pub_jwt_issue(&f.s, &up, &exp);
    authz_jwt = NULL;
    if (tok && asprintf(&authz_jwt, "Bearer %s", tok) < 0)
        authz_jwt = NULL;
    is_int(authz_jwt ? (int)pub_auth_bearer(&f.s, c, authz_jwt, &up, &eb) : -1, CMN_OK, "user JWT");
    ok(up.kind == PUB_PRINC_USER && up.org_id == f.org_id, "user principal, default org from the membership");
    is_int(pub_auth_role(c, &up, f.org_id, f.app_id), PUB_ROLE_ADMIN, "admin on demo");
    is_int(pub_auth_role(c, &up, f.org_id, other), PUB_ROLE_NONE, "nothing on the other app");
    const char *pm2[] = {us, oid, NULL, "read"};
    ok(exec_ok(c, Q_MEMBER_INSERT, pm2), "plus read on the whole org");
    is_int(pub_auth_role(c, &up, f.org_id, other), PUB_ROLE_READ, "read on the other app");
    is_int(pub_auth_role(c, &up, f.org_id, f.app_id), PUB_ROLE_ADMIN, "the higher grant wins on demo");
    free(authz_jwt);
    if (tok)
        cmn_wipe(tok, strlen(tok));
    free(tok);
    cmn_wipe(pw, sizeof(pw));
    pub_db_put(f.s.db, c);
    fx_teardown(&f);
    return done_testing();
}
