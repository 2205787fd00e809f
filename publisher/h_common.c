/*
 * h_common.c - what the handlers share: the JSON body, "run a read or answer
 * 503", "load the app / release named by the request and check the caller's
 * role on it" (the role is the route table's), rows -> JSON lists, API key
 * rows and audit events.
 */
#include "common/compat.h"

#include "pub_handlers.h"

json_t *pub_h_body(struct pub_srv *s, struct pub_req *r, int optional, struct pub_resp *out)
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

json_t *pub_h_body_strs(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, PGresult **app,
                        const struct pub_h_str *f, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return NULL;
    if (app && !(*app = pub_h_app(c, r, r->segs[2], out))) {
        json_decref(b);
        return NULL;
    }
    const char *allowed[PUB_H_STR_MAX + 1];
    size_t n = 0;
    while (n < PUB_H_STR_MAX && f[n].name) {
        allowed[n] = f[n].name;
        n++;
    }
    allowed[n] = NULL;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_jkeys(b, allowed, &eb);
    for (size_t i = 0; i < n && !rc; i++)
        rc = pub_jstr(b, f[i].name, f[i].required, f[i].maxlen, f[i].out, &eb);
    if (!rc)
        return b;
    pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
    if (app) {
        PQclear(*app);
        *app = NULL;
    }
    json_decref(b);
    return NULL;
}

PGresult *pub_h_query(struct pub_dbconn *c, enum pub_stmt q, const char *const *params, struct pub_resp *out)
{
    PGresult *res = pub_q(c, q, params);
    if (pub_res_ok(res))
        return res;
    PQclear(res);
    pub_err(out, 503, "database_unavailable", "database unavailable");
    return NULL;
}

int pub_h_begin(struct pub_dbconn *c, struct pub_resp *out)
{
    if (!pub_tx_begin(c))
        return 0;
    pub_err(out, 503, "database_unavailable", "database unavailable");
    return -1;
}

json_t *pub_h_rows(const PGresult *q, pub_row_fn row)
{
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(q); i++)
        json_array_append_new(arr, row(q, i));
    return arr;
}

void pub_h_list(struct pub_dbconn *c, enum pub_stmt q, const char *const *params, const char *key, pub_row_fn row,
                struct pub_resp *out)
{
    PGresult *res = pub_h_query(c, q, params, out);
    if (!res)
        return;
    json_t *arr = pub_h_rows(res, row);
    PQclear(res);
    pub_json_reply(out, 200, json_pack("{s:o}", key, arr));
}

PGresult *pub_h_app(struct pub_dbconn *c, struct pub_req *r, const char *name, struct pub_resp *out)
{
    int min_role = r->route->role;
    if (!pub_valid_id(name)) {
        pub_err(out, 400, "bad_request", "bad app name");
        return NULL;
    }
    const char *p[] = {name};
    PGresult *a = pub_h_query(c, Q_APP_BY_NAME, p, out);
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

int pub_h_app_id(struct pub_dbconn *c, struct pub_req *r, const char *name, char aid[24], struct pub_resp *out)
{
    PGresult *a = pub_h_app(c, r, name, out);
    if (!a)
        return -1;
    snprintf(aid, 24, "%lld", (long long)pub_cell_i64(a, 0, 0));
    PQclear(a);
    return 0;
}

PGresult *pub_h_release(struct pub_dbconn *c, struct pub_req *r, const char *id, int64_t *org_id, struct pub_resp *out)
{
    int min_role = r->route->role;
    if (!pub_valid_id(id)) {
        pub_err(out, 400, "bad_request", "bad release id");
        return NULL;
    }
    const char *p[] = {id};
    PGresult *rel = pub_h_query(c, Q_REL_BY_ID, p, out);
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

void pub_h_app_list(struct pub_dbconn *c, struct pub_req *r, enum pub_stmt q, const char *key, pub_row_fn row,
                    struct pub_resp *out)
{
    char aid[24];
    if (pub_h_app_id(c, r, r->segs[2], aid, out))
        return;
    const char *p[] = {aid};
    pub_h_list(c, q, p, key, row, out);
}

enum cmn_err pub_h_make_api_key(struct pub_dbconn *c, int64_t org_id, int64_t app_id, int role, const char *name,
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

enum cmn_err pub_h_audit(struct pub_dbconn *c, const char *actor, int64_t org_id, int64_t app_id,
                         const char *release_id, const char *action, json_t *detail)
{
    enum cmn_err rc = pub_audit(c, actor, org_id, app_id, release_id, action, detail);
    json_decref(detail);
    return rc;
}
