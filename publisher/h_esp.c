/*
 * h_esp.c - the seed 002 ESP firmware admin API (docs/compatibility.md "Seed
 * 002 admin API"): X-API-Key is one of our API keys (http.c), with its role.
 * A device model is served by the app whose `device_model` setting names it
 * (PATCH /v1/apps/:app {"device_model": "esp32"}), else by the app named like
 * the model (the edge's convention); platform "firmware", channel production,
 * as the edge's --device-model default.
 *
 *   upload   -> a release at 0% (h_upload.c, firmware shape)
 *   rollout  -> our rollout (all / canary) or inline targeting (specific) or
 *               an edge-held device list (group), then the same publish
 *   devices, update-status, metrics -> reads of our devices / installations
 */
#include "common/compat.h"

#include "common/ident.h"
#include "common/log.h"
#include "common/manifest.h"
#include "pub_handlers.h"

/* Our release object -> the seed's firmware release of device model `model`. */
static json_t *firmware_json(const json_t *rel, const char *model)
{
    const char *notes = json_string_value(json_object_get(rel, "notes"));
    const char *state = json_string_value(json_object_get(rel, "state"));
    json_t *o =
        json_pack("{s:O,s:O,s:o,s:O,s:O,s:O,s:b,s:I,s:b}", "id", json_object_get(rel, "id"), "version",
                  json_object_get(rel, "version"), "device_model", json_string(model), "file_size",
                  json_object_get(rel, "size"), "checksum_sha256", json_object_get(rel, "sha256"), "created_at",
                  json_object_get(rel, "created_at"), "is_signed", notes && !strcmp(notes, "is_signed=true"),
                  "rollout_percentage", (json_int_t)(json_integer_value(json_object_get(rel, "rollout_bp")) / 100),
                  "is_active", state && !strcmp(state, "active"));
    if (o)
        json_object_set(o, "state", json_object_get(rel, "state"));
    return o ? o : json_null();
}

void pub_h_esp_upload(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    pub_h_rel_create(s, c, r, out);
    if (out->status == 201 && json_is_object(out->json)) {
        json_t *o = firmware_json(json_object_get(out->json, "release"), pub_req_query(r, "device_model"));
        json_decref(out->json);
        out->json = json_pack("{s:s,s:o}", "status", "uploaded", "release", o);
    }
}

/* The app serving a device model, with the caller's role checked (pub_h_app). NULL after a reply. */
static PGresult *model_app(struct pub_dbconn *c, struct pub_req *r, const char *model, struct pub_resp *out)
{
    if (!model || !pub_valid_id(model)) {
        pub_err(out, 400, "bad_request", "device_model must match [A-Za-z0-9._-]{1,64}");
        return NULL;
    }
    const char *p[] = {model};
    PGresult *q = pub_h_query(c, Q_APP_BY_MODEL, p, out);
    if (!q)
        return NULL;
    if (PQntuples(q) != 1) {
        PQclear(q);
        pub_err(out, 404, "not_found", "no app serves device model '%s'", model);
        return NULL;
    }
    char name[CMN_ID_MAX + 1];
    snprintf(name, sizeof(name), "%s", pub_cell(q, 0, 2));
    PQclear(q);
    return pub_h_app(c, r, name, out);
}

/* Releases of one app-by-model as firmware objects, appended to arr. 0, or -1 after a 503. */
static int list_model(struct pub_dbconn *c, int64_t app_id, const char *model, json_t *arr, struct pub_resp *out)
{
    char aid[24];
    I64(aid, app_id);
    const char *p[] = {aid, PUB_FIRMWARE_PLATFORM, "production", NULL, "200"};
    PGresult *q = pub_h_query(c, Q_REL_LIST, p, out);
    if (!q)
        return -1;
    for (int i = 0; i < PQntuples(q); i++) {
        json_t *rel = pub_release_json(q, i);
        json_array_append_new(arr, firmware_json(rel, model));
        json_decref(rel);
    }
    PQclear(q);
    return 0;
}

void pub_h_esp_releases(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *model = pub_req_query(r, "device_model");
    json_t *arr = json_array();
    if (model) {
        PGresult *a = model_app(c, r, model, out);
        if (!a || list_model(c, pub_cell_i64(a, 0, 0), model, arr, out)) {
            PQclear(a);
            json_decref(arr);
            return;
        }
        PQclear(a);
    } else {
        char oid[24];
        I64(oid, r->who.org_id);
        const char *p[] = {oid};
        PGresult *q = pub_h_query(c, Q_APP_LIST, p, out);
        if (!q) {
            json_decref(arr);
            return;
        }
        for (int i = 0; i < PQntuples(q); i++) {
            if (pub_auth_role(c, &r->who, pub_cell_i64(q, i, 1), pub_cell_i64(q, i, 0)) < PUB_ROLE_READ)
                continue;
            const char *m = PQgetisnull(q, i, 7) ? pub_cell(q, i, 2) : pub_cell(q, i, 7);
            if (list_model(c, pub_cell_i64(q, i, 0), m, arr, out)) {
                PQclear(q);
                json_decref(arr);
                return;
            }
        }
        PQclear(q);
    }
    pub_json_reply(out, 200, json_pack("{s:o}", "releases", arr));
}

void pub_h_esp_rollout(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"name",          "firmware_version",   "device_model", "target_type",
                                          "target_filter", "rollout_percentage", "is_active",    NULL};
    const char *name = NULL, *version, *model, *type;
    long long pct = -1;
    int active = 1;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    PGresult *a = NULL, *q = NULL;
    json_t *ids = NULL;
    const char *group = NULL;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "name", 0, 128, &name, &eb)) ||
        (rc = pub_jstr(b, "firmware_version", 1, 64, &version, &eb)) ||
        (rc = pub_jstr(b, "device_model", 1, 64, &model, &eb)) ||
        (rc = pub_jstr(b, "target_type", 1, 16, &type, &eb)) ||
        (rc = pub_jint(b, "rollout_percentage", 0, 0, 100, &pct, &eb)) ||
        (rc = pub_jbool(b, "is_active", 0, &active, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    json_t *tf = json_object_get(b, "target_filter");
    if (tf && !json_is_object(tf)) {
        pub_err(out, 400, "bad_request", "target_filter must be an object");
        goto done;
    }
    long bp;
    if (!strcmp(type, "all")) {
        bp = pct < 0 ? 10000 : (long)pct * 100;
    } else if (!strcmp(type, "canary")) {
        if (pct < 0) {
            pub_err(out, 400, "bad_request", "target_type 'canary' needs rollout_percentage (0..100)");
            goto done;
        }
        bp = (long)pct * 100;
    } else if (!strcmp(type, "specific")) {
        ids = json_object_get(tf, "device_ids");
        size_t i;
        json_t *v;
        if (!json_is_array(ids) || json_array_size(ids) == 0 ||
            json_array_size(ids) > CMN_MANIFEST_MAX_INLINE_DEVICES) {
            pub_err(out, 400, "bad_request", "target_type 'specific' needs target_filter.device_ids: 1..%d ids",
                    CMN_MANIFEST_MAX_INLINE_DEVICES);
            goto done;
        }
        json_array_foreach(ids, i, v)
        {
            int ctl = 0;
            for (const char *ch = json_string_value(v); ch && *ch; ch++)
                ctl |= (unsigned char)*ch < 0x20 || *ch == 0x7f;
            if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > 128 || ctl ||
                strlen(json_string_value(v)) != json_string_length(v)) {
                pub_err(out, 400, "bad_request", "target_filter.device_ids[%zu] must be a 1-128 byte string", i);
                goto done;
            }
        }
        bp = 10000; /* everyone listed */
    } else if (!strcmp(type, "group")) {
        json_t *g = json_object_get(tf, "group");
        group = json_string_value(g);
        if (!group || !pub_valid_id(group)) {
            pub_err(out, 400, "bad_request",
                    "target_type 'group' needs target_filter.group: the name of an edge-held device list");
            goto done;
        }
        bp = 10000;
    } else {
        pub_err(out, 400, "bad_request", "target_type must be all, canary, specific or group");
        goto done;
    }
    if (!active)
        bp = 0; /* an inactive rollout offers the firmware to no one */
    a = model_app(c, r, model, out);
    if (!a)
        goto done;
    /* the release of that version on the model's production channel */
    char aid[24];
    I64(aid, pub_cell_i64(a, 0, 0));
    const char *pl[] = {aid, PUB_FIRMWARE_PLATFORM, "production", NULL, "200"};
    q = pub_h_query(c, Q_REL_LIST, pl, out);
    if (!q)
        goto done;
    int row = -1;
    for (int i = 0; i < PQntuples(q) && row < 0; i++)
        if (!strcmp(pub_cell(q, i, 4), version) && strcmp(pub_cell(q, i, 14), "archived") != 0)
            row = i;
    if (row < 0) {
        pub_err(out, 404, "not_found", "no firmware %s for device model '%s' (upload it first)", version, model);
        goto done;
    }
    char id[64];
    snprintf(id, sizeof(id), "%s", pub_cell(q, row, 0));
    /* targeting first (it narrows who is offered), then the rollout that bumps and publishes */
    char *idtext = ids ? json_dumps(ids, JSON_COMPACT) : NULL;
    const char *pt[] = {id, idtext, group};
    PGresult *t = pub_q(c, Q_REL_SET_TARGET, pt);
    int okay = pub_res_ok(t);
    PQclear(t);
    free(idtext);
    if (!okay) {
        pub_err(out, 503, "database_unavailable", "cannot store the targeting");
        goto done;
    }
    json_t *extra = json_pack("{s:s,s:s}", "via", "esp-rollout", "target_type", type);
    if (name)
        json_object_set_new(extra, "name", json_string(name));
    json_t *relj = NULL;
    int64_t seq = 0;
    rc = pub_release_action(s, c, id, PUB_ACT_ROLLOUT, bp, r->who.actor, extra, &relj, &seq, &eb);
    json_decref(extra);
    if (rc) {
        pub_err_from(out, rc, &eb);
        goto done;
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:o}", "name", name ? name : "", "firmware_version", version,
                          "device_model", model, "target_type", type, "rollout_percentage", (json_int_t)(bp / 100),
                          "is_active", active, "release", relj ? firmware_json(relj, model) : json_null());
    if (ids)
        json_object_set_new(o, "target_filter", json_pack("{s:O}", "device_ids", ids));
    else if (group)
        json_object_set_new(o, "target_filter", json_pack("{s:s}", "group", group));
    json_decref(relj);
    pub_json_reply(out, 201, json_pack("{s:o,s:{s:I}}", "rollout", o, "manifest", "sequence", (json_int_t)seq));
done:
    PQclear(q);
    PQclear(a);
    json_decref(b);
}

/* The caller's app scope as a query parameter: NULL = the whole org. */
static const char *scope(const struct pub_req *r, char buf[24])
{
    if (r->who.kind == PUB_PRINC_KEY && r->who.app_id) {
        snprintf(buf, 24, "%lld", (long long)r->who.app_id);
        return buf;
    }
    return NULL;
}

static long limit_of(struct pub_req *r, struct pub_resp *out)
{
    const char *lim = pub_req_query(r, "limit");
    if (!lim)
        return 100;
    char *end;
    long v = strtol(lim, &end, 10);
    if (*end || v < 1 || v > 1000) {
        pub_err(out, 400, "bad_request", "limit must be 1..1000");
        return -1;
    }
    return v;
}

static json_t *device_row(const PGresult *q, int i)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o}", "device_id", pub_cell(q, i, 0), "device_model", pub_cell(q, i, 1),
                     "current_version", pub_cell(q, i, 2), "first_seen", json_integer(pub_cell_i64(q, i, 3)),
                     "last_seen", json_integer(pub_cell_i64(q, i, 4)));
}

void pub_h_esp_devices(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    long lim = limit_of(r, out);
    if (lim < 0)
        return;
    if (pub_auth_role(c, &r->who, r->who.org_id, r->who.app_id) < PUB_ROLE_READ) {
        pub_err(out, 403, "forbidden", "reading devices needs the read role");
        return;
    }
    char oid[24], sb[24], ls[24];
    I64(oid, r->who.org_id);
    I64(ls, lim);
    const char *p[] = {oid, scope(r, sb), ls};
    pub_h_list(c, Q_ESP_DEVICES, p, "devices", device_row, out);
}

static json_t *status_row(const PGresult *q, int i)
{
    static const char *const names[][2] = {
        {"applied", "success"}, {"failed", "failed"}, {"downloading", "downloading"}, {"rolled_back", "rolled_back"}};
    const char *st = pub_cell(q, i, 2);
    for (size_t k = 0; k < CMN_ARRAY_SIZE(names); k++)
        if (!strcmp(st, names[k][0]))
            st = names[k][1];
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:I}", "device_id", pub_cell(q, i, 0), "firmware_version", pub_cell(q, i, 1),
                  "status", st, "device_model", pub_cell(q, i, 4), "updated_at", (json_int_t)pub_cell_i64(q, i, 3));
    json_object_set_new(o, "progress_percent",
                        PQgetisnull(q, i, 5) ? json_null() : json_integer(pub_cell_i64(q, i, 5)));
    return o;
}

void pub_h_esp_status(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    long lim = limit_of(r, out);
    if (lim < 0)
        return;
    const char *dev = pub_req_query(r, "device_id");
    if (dev && (!*dev || strlen(dev) > 128)) {
        pub_err(out, 400, "bad_request", "device_id must be 1-128 bytes");
        return;
    }
    if (pub_auth_role(c, &r->who, r->who.org_id, r->who.app_id) < PUB_ROLE_READ) {
        pub_err(out, 403, "forbidden", "reading update status needs the read role");
        return;
    }
    char oid[24], sb[24], ls[24];
    I64(oid, r->who.org_id);
    I64(ls, lim);
    const char *p[] = {oid, scope(r, sb), dev, ls};
    pub_h_list(c, Q_ESP_STATUS, p, "updates", status_row, out);
}

/* GET /metrics with Accept: application/json: the seed's document, for a caller with an API key. */
int pub_h_metrics_json(struct pub_srv *s, struct pub_req *r, struct pub_resp *out)
{
    const char *accept = pub_req_header(r, MHD_HTTP_HEADER_ACCEPT);
    if (!accept || !strstr(accept, "application/json"))
        return 0;
    const char *authz = pub_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *xkey = authz ? NULL : pub_req_header(r, "X-API-Key");
    if (!authz && !xkey)
        return !pub_err(
            out, 401, "unauthorized",
            "the JSON metrics document needs X-API-Key or Authorization: Bearer (Prometheus text needs none)");
    struct pub_dbconn *c = pub_reply_db(s, out);
    if (!c)
        return 1;
    struct cmn_errbuf eb = {0};
    enum cmn_err e = authz ? pub_auth_bearer(s, c, authz, &r->who, &eb) : pub_auth_apikey(c, xkey, &r->who);
    if (e == CMN_E_DB)
        pub_err(out, 503, "database_unavailable", "database unavailable");
    else if (e)
        pub_err(out, 401, "unauthorized", "%s", authz ? cmn_errmsg(&eb, e) : "invalid or revoked X-API-Key");
    else
        pub_h_esp_metrics(s, c, r, out);
    pub_db_put(s->db, c);
    return 1;
}

void pub_h_esp_metrics(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    if (pub_auth_role(c, &r->who, r->who.org_id, 0) < PUB_ROLE_READ) {
        pub_err(out, 403, "forbidden", "the metrics document needs the read role on the org");
        return;
    }
    char oid[24];
    I64(oid, r->who.org_id);
    const char *p[] = {oid};
    PGresult *q = pub_h_query(c, Q_ESP_METRICS, p, out);
    if (!q)
        return;
    json_t *models = json_loads(pub_cell(q, 0, 1), 0, NULL);
    json_t *recent = json_loads(pub_cell(q, 0, 2), 0, NULL);
    /* the seed's statuses: ours "applied" is its "success" */
    json_t *r24 =
        json_pack("{s:I,s:I,s:I}", "success", (json_int_t)0, "failed", (json_int_t)0, "downloading", (json_int_t)0);
    const char *k;
    json_t *v;
    json_object_foreach(recent, k, v) json_object_set(r24, !strcmp(k, "applied") ? "success" : k, v);
    json_decref(recent);
    pub_json_reply(out, 200,
                   json_pack("{s:I,s:o,s:o,s:I}", "total_devices", (json_int_t)pub_cell_i64(q, 0, 0),
                             "devices_by_model", models ? models : json_object(), "recent_updates_24h", r24,
                             "active_rollouts", (json_int_t)pub_cell_i64(q, 0, 3)));
    PQclear(q);
}
