/*
 * h_apps.c - handlers for apps: create (with a first write API key), list,
 * get, patch (auto-halt settings, compatibility settings), the app's
 * channels and its audit log.
 */
#include "common/compat.h"

#include "common/log.h"
#include "pub_handlers.h"

static json_t *app_json(const PGresult *r, int row)
{
    json_t *o =
        json_pack("{s:I,s:s,s:I,s:I}", "id", (json_int_t)pub_cell_i64(r, row, 0), "name", pub_cell(r, row, 2), "org_id",
                  (json_int_t)pub_cell_i64(r, row, 1), "created_at", (json_int_t)pub_cell_i64(r, row, 5));
    json_object_set_new(o, "halt_threshold_pct",
                        PQgetisnull(r, row, 3) ? json_null() : json_integer(pub_cell_i64(r, row, 3)));
    json_object_set_new(o, "halt_min_installs",
                        PQgetisnull(r, row, 4) ? json_null() : json_integer(pub_cell_i64(r, row, 4)));
    json_object_set_new(o, "legacy_signature", json_boolean(pub_cell(r, row, 6)[0] == 't'));
    json_object_set_new(o, "device_model", PQgetisnull(r, row, 7) ? json_null() : json_string(pub_cell(r, row, 7)));
    json_object_set_new(o, "count_unticketed", json_boolean(pub_cell(r, row, 8)[0] == 't'));
    return o;
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

void pub_h_apps_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *name, *org;
    const struct pub_h_str f[] = {{"name", 1, 64, &name}, {"org", 0, 64, &org}, {NULL}};
    json_t *b = pub_h_body_strs(s, c, r, NULL, f, out);
    if (!b)
        return;
    char key[80];
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
    if (pub_h_begin(c, out))
        goto done;
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
    if (pub_h_make_api_key(c, org_id, app_id, PUB_ROLE_WRITE, "app", r->who.actor, key) ||
        pub_h_audit(c, r->who.actor, org_id, app_id, NULL, "app.create", json_pack("{s:s}", "name", name)) ||
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

void pub_h_apps_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    char oid[24];
    I64(oid, r->who.org_id);
    const char *p[] = {oid};
    PGresult *q = pub_h_query(c, Q_APP_LIST, p, out);
    if (!q)
        return;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(q); i++) {
        int role = pub_auth_role(c, &r->who, pub_cell_i64(q, i, 1), pub_cell_i64(q, i, 0));
        if (role < PUB_ROLE_READ)
            continue;
        /* the caller's own role, so a client (the dashboard) can leave out what it may not do */
        json_t *o = app_json(q, i);
        json_object_set_new(o, "role", json_string(pub_role_name(role)));
        json_array_append_new(arr, o);
    }
    PQclear(q);
    pub_json_reply(out, 200, json_pack("{s:o}", "apps", arr));
}

void pub_h_app_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    PGresult *a = pub_h_app(c, r, r->segs[2], out);
    if (!a)
        return;
    json_t *o = app_json(a, 0);
    json_object_set_new(
        o, "role", json_string(pub_role_name(pub_auth_role(c, &r->who, pub_cell_i64(a, 0, 1), pub_cell_i64(a, 0, 0)))));
    pub_json_reply(out, 200, json_pack("{s:o}", "app", o));
    PQclear(a);
}

void pub_h_app_patch(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    PGresult *a = pub_h_app(c, r, r->segs[2], out);
    if (!a)
        goto done;
    static const char *const allowed[] = {"halt_threshold_pct", "halt_min_installs", "legacy_signature",
                                          "device_model",       "count_unticketed",  NULL};
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    long long thr = PQgetisnull(a, 0, 3) ? -1 : pub_cell_i64(a, 0, 3);
    long long min = PQgetisnull(a, 0, 4) ? -1 : pub_cell_i64(a, 0, 4);
    /* seed compatibility (docs/compatibility.md): the legacy signature opt-in and the ESP device model */
    int legacy = pub_cell(a, 0, 6)[0] == 't';
    const char *model = PQgetisnull(a, 0, 7) ? NULL : pub_cell(a, 0, 7);
    /* the auto-halt opt-in for unticketed reports (docs/security.md "Forged telemetry") */
    int unticketed = pub_cell(a, 0, 8)[0] == 't';
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jint(b, "halt_threshold_pct", 0, 1, 100, &thr, &eb)) ||
        (rc = pub_jint(b, "halt_min_installs", 0, 1, 100000000, &min, &eb)) ||
        (rc = pub_jbool(b, "legacy_signature", 0, &legacy, &eb)) ||
        (rc = pub_jbool(b, "count_unticketed", 0, &unticketed, &eb)) ||
        (!json_is_null(json_object_get(b, "device_model")) && (rc = pub_jstr(b, "device_model", 0, 64, &model, &eb)))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    if (json_is_null(json_object_get(b, "device_model")))
        model = NULL;
    if (model && !pub_valid_id(model)) {
        pub_err(out, 400, "bad_request", "device_model must match [A-Za-z0-9._-]{1,64}");
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
    if (pub_h_begin(c, out))
        goto done;
    PGresult *q = pub_q(c, Q_APP_SET_HALT, p);
    int okay = pub_res_ok(q);
    PQclear(q);
    const char *pc[] = {aid, legacy ? "true" : "false", model, unticketed ? "true" : "false"};
    q = okay ? pub_q(c, Q_APP_SET_COMPAT, pc) : NULL;
    if (okay && !pub_res_ok(q) && pub_res_state(q, "23505")) {
        PQclear(q);
        pub_tx_rollback(c);
        pub_err(out, 409, "conflict", "another app already serves device model '%s'", model);
        goto done;
    }
    okay = okay && pub_res_ok(q);
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

static json_t *channel_json(const PGresult *q, int i)
{
    return json_pack("{s:s,s:s,s:I,s:b,s:I,s:I}", "platform", pub_cell(q, i, 0), "channel", pub_cell(q, i, 1),
                     "sequence", (json_int_t)pub_cell_i64(q, i, 2), "published", pub_cell(q, i, 4)[0] != 't',
                     "published_at", (json_int_t)pub_cell_i64(q, i, 5), "expires_at",
                     (json_int_t)pub_cell_i64(q, i, 6));
}

void pub_h_channels(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    pub_h_app_list(c, r, Q_CHAN_LIST, "channels", channel_json, out);
}

void pub_h_chan_retire(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *platform = r->segs[4], *channel = r->segs[5];
    if (!pub_valid_id(platform) || !pub_valid_id(channel)) {
        pub_err(out, 400, "bad_request", "bad platform or channel");
        return;
    }
    PGresult *a = pub_h_app(c, r, r->segs[2], out);
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

static json_t *audit_json(const PGresult *q, int i)
{
    json_t *detail = json_loads(pub_cell(q, i, 5), 0, NULL);
    json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:o}", "id", (json_int_t)pub_cell_i64(q, i, 0), "at",
                          (json_int_t)pub_cell_i64(q, i, 1), "actor", pub_cell(q, i, 2), "action", pub_cell(q, i, 4),
                          "detail", detail ? detail : json_object());
    if (!PQgetisnull(q, i, 3))
        json_object_set_new(o, "release_id", json_string(pub_cell(q, i, 3)));
    return o;
}

void pub_h_audit_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    char aid[24];
    if (pub_h_app_id(c, r, r->segs[2], aid, out))
        return;
    const char *rel = pub_req_query(r, "release");
    const char *lim = pub_req_query(r, "limit");
    long limit = lim ? strtol(lim, NULL, 10) : 100;
    if (limit < 1 || limit > 1000)
        limit = 100;
    char ls[24];
    I64(ls, limit);
    const char *p[] = {aid, rel && *rel ? rel : NULL, ls};
    pub_h_list(c, Q_AUDIT_LIST, p, "events", audit_json, out);
}
