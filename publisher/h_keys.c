/*
 * h_keys.c - handlers for keys: release keys registered for an app (add,
 * list, revoke) and API keys (create for an app, revoke by lookup id).
 */
#include "common/compat.h"

#include "common/log.h"
#include "pub_handlers.h"

void pub_h_keys_add(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *pk, *name;
    const struct pub_h_str f[] = {{"public_key", 1, 128, &pk}, {"name", 0, 128, &name}, {NULL}};
    PGresult *a = NULL;
    json_t *b = pub_h_body_strs(s, c, r, &a, f, out);
    if (!b)
        return;
    struct cmn_errbuf eb = {0};
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
    if (pub_h_begin(c, out))
        goto done;
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
    if (pub_h_audit(c, r->who.actor, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), NULL, "release_key.register",
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

static json_t *rkey_json(const PGresult *q, int i)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "keyid", pub_cell(q, i, 0), "public_key", pub_cell(q, i, 1), "name",
                     pub_cell(q, i, 2), "created_at", (json_int_t)pub_cell_i64(q, i, 3));
}

void pub_h_keys_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    pub_h_app_list(c, r, Q_RKEY_LIST, "keys", rkey_json, out);
}

void pub_h_apikeys(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *role_s, *name;
    const struct pub_h_str f[] = {{"role", 1, 16, &role_s}, {"name", 0, 128, &name}, {NULL}};
    PGresult *a = NULL;
    json_t *b = pub_h_body_strs(s, c, r, &a, f, out);
    if (!b)
        return;
    char key[80];
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
        pub_h_make_api_key(c, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), role, name, r->who.actor, key) ||
        pub_h_audit(c, r->who.actor, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), NULL, "api_key.create",
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

void pub_h_key_revoke(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    PGresult *a = pub_h_app(c, r, r->segs[2], out);
    if (!a)
        return;
    const char *keyid = r->segs[4];
    char aid[24];
    I64(aid, pub_cell_i64(a, 0, 0));
    const char *p[] = {aid, keyid};
    if (pub_h_begin(c, out))
        goto done;
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
    if (pub_h_audit(c, r->who.actor, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0), NULL, "release_key.revoke",
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

void pub_h_apikey_revoke(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *lookup = r->segs[2];
    const char *p[] = {lookup};
    PGresult *q = pub_h_query(c, Q_APIKEY_SCOPE, p, out);
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
    if (pub_h_begin(c, out))
        return;
    q = pub_q(c, Q_APIKEY_REVOKE, p2);
    int okay = pub_res_ok(q);
    PQclear(q);
    if (!okay || pub_h_audit(c, r->who.actor, org, app, NULL, "api_key.revoke", json_pack("{s:s}", "key_id", lookup)) ||
        pub_tx_commit(c)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot revoke the key");
        return;
    }
    pub_json_reply(out, 200, json_pack("{s:s,s:b}", "key_id", lookup, "revoked", 1));
}
