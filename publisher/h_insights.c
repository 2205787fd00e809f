/*
 * h_insights.c - the read endpoints behind the dashboard's pages: a
 * release's time series, an app's version distribution over time, per-release
 * adoption, device lookup and the API key list. Every figure is a count of
 * distinct devices, and each reply says what it counts and over which window
 * (`counts`), so a page can label its charts with the server's own words.
 */
#include "common/compat.h"

#include "pub_handlers.h"

/* ?bucket=hour|day&buckets=N -> unit and count; -1 after a 400. */
static int bucket_params(struct pub_req *r, const char **unit, long *n, struct pub_resp *out)
{
    const char *b = pub_req_query(r, "bucket");
    const char *ns = pub_req_query(r, "buckets");
    if (!b || !*b || !strcmp(b, "hour"))
        *unit = "hour";
    else if (!strcmp(b, "day"))
        *unit = "day";
    else
        return pub_err(out, 400, "bad_request", "bucket must be 'hour' or 'day'"), -1;
    long max = !strcmp(*unit, "hour") ? 24 * 14 : 366;
    *n = !strcmp(*unit, "hour") ? 48 : 30;
    if (ns && *ns) {
        char *end;
        errno = 0;
        long v = strtol(ns, &end, 10);
        if (errno || *end || v < 1 || v > max)
            return pub_err(out, 400, "bad_request", "buckets must be 1..%ld for bucket=%s", max, *unit), -1;
        *n = v;
    }
    return 0;
}

void pub_h_rel_series(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *unit;
    long n;
    if (bucket_params(r, &unit, &n, out))
        return;
    const char *id = r->segs[2];
    PGresult *rel = pub_h_release(c, r, id, NULL, out);
    if (!rel)
        return;
    PQclear(rel);
    char ns[24];
    I64(ns, n);
    const char *p[] = {id, unit, ns};
    PGresult *q = pub_h_query(c, Q_SERIES_RELEASE, p, out);
    if (!q)
        return;
    json_t *pts = json_array();
    for (int i = 0; i < PQntuples(q); i++)
        json_array_append_new(
            pts, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "t", (json_int_t)pub_cell_i64(q, i, 0), "downloading",
                           (json_int_t)pub_cell_i64(q, i, 1), "applied", (json_int_t)pub_cell_i64(q, i, 2), "failed",
                           (json_int_t)pub_cell_i64(q, i, 3), "rolled_back", (json_int_t)pub_cell_i64(q, i, 4),
                           "active", (json_int_t)pub_cell_i64(q, i, 5)));
    PQclear(q);
    pub_json_reply(out, 200,
                   json_pack("{s:s,s:s,s:I,s:{s:s,s:s},s:o}", "release_id", id, "bucket", unit, "buckets",
                             (json_int_t)n, "counts", "statuses",
                             "distinct devices that reported each status for this release in the bucket (UTC)",
                             "active",
                             "distinct devices on this release at the end of the bucket: applied, and not failed or "
                             "rolled back since",
                             "points", pts));
}

void pub_h_app_versions(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *unit;
    long n;
    if (bucket_params(r, &unit, &n, out))
        return;
    const char *platform = pub_req_query(r, "platform");
    if (platform && *platform && !pub_valid_id(platform)) {
        pub_err(out, 400, "bad_request", "bad platform");
        return;
    }
    char aid[24];
    if (pub_h_app_id(c, r, r->segs[2], aid, out))
        return;
    char ns[24];
    I64(ns, n);
    const char *p[] = {aid, unit, ns, platform && *platform ? platform : NULL};
    PGresult *q = pub_h_query(c, Q_SERIES_VERSIONS, p, out);
    if (!q)
        return;
    /* rows come ordered by bucket: group them into one point per bucket that has devices */
    json_t *pts = json_array(), *cur = NULL;
    long long last_t = -1;
    for (int i = 0; i < PQntuples(q); i++) {
        long long t = pub_cell_i64(q, i, 0);
        if (t != last_t) {
            cur = json_array();
            json_array_append_new(pts, json_pack("{s:I,s:o}", "t", (json_int_t)t, "versions", cur));
            last_t = t;
        }
        json_array_append_new(
            cur, json_pack("{s:s,s:I}", "version", pub_cell(q, i, 1), "devices", (json_int_t)pub_cell_i64(q, i, 2)));
    }
    PQclear(q);
    pub_json_reply(out, 200,
                   json_pack("{s:s,s:s,s:I,s:s,s:o}", "app", r->segs[2], "bucket", unit, "buckets", (json_int_t)n,
                             "counts",
                             "distinct devices by the version they run at the end of each bucket (UTC): their latest "
                             "applied release that they have not failed or rolled back; buckets with no devices are "
                             "left out",
                             "points", pts));
}

void pub_h_app_adoption(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    char aid[24];
    if (pub_h_app_id(c, r, r->segs[2], aid, out))
        return;
    const char *p[] = {aid};
    PGresult *q = pub_h_query(c, Q_APP_ADOPTION, p, out);
    if (!q)
        return;
    json_t *totals = json_object();
    for (int i = 0; i < PQntuples(q); i++) {
        const char *plat = pub_cell(q, i, 1);
        json_t *t = json_object_get(totals, plat);
        json_int_t sum = (t ? json_integer_value(t) : 0) + (json_int_t)pub_cell_i64(q, i, 6);
        json_object_set_new(totals, plat, json_integer(sum));
    }
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(q); i++) {
        long long cur = pub_cell_i64(q, i, 6);
        long long total = json_integer_value(json_object_get(totals, pub_cell(q, i, 1)));
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "release_id", pub_cell(q, i, 0), "platform",
                           pub_cell(q, i, 1), "installs", (json_int_t)pub_cell_i64(q, i, 2), "failures",
                           (json_int_t)pub_cell_i64(q, i, 3), "rollbacks", (json_int_t)pub_cell_i64(q, i, 4),
                           "downloading", (json_int_t)pub_cell_i64(q, i, 5), "current_devices", (json_int_t)cur,
                           "adoption_bp", (json_int_t)(total ? cur * 10000 / total : 0)));
    }
    PQclear(q);
    pub_json_reply(out, 200,
                   json_pack("{s:s,s:o,s:o,s:{s:s,s:s,s:s}}", "app", r->segs[2], "devices_by_platform", totals,
                             "releases", arr, "counts", "installs",
                             "distinct devices that reported applied / failed / rolled_back for the release, ever",
                             "current_devices",
                             "distinct devices whose latest applied release is this one (not failed or rolled back)",
                             "adoption_bp",
                             "current_devices / devices_by_platform (devices with any current release on the "
                             "platform), in basis points"));
}

static json_t *history_row(const PGresult *q, int i)
{
    json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "ts", (json_int_t)pub_cell_i64(q, i, 0), "received_at",
                          (json_int_t)pub_cell_i64(q, i, 1), "release_id", pub_cell(q, i, 2), "version",
                          pub_cell(q, i, 3), "channel", pub_cell(q, i, 4), "platform", pub_cell(q, i, 5), "status",
                          pub_cell(q, i, 6), "binary_version", pub_cell(q, i, 8));
    if (!PQgetisnull(q, i, 7))
        json_object_set_new(o, "progress", json_integer(pub_cell_i64(q, i, 7)));
    return o;
}

void pub_h_device(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *dev = pub_req_query(r, "id");
    if (!dev || !*dev || strlen(dev) > 128) {
        pub_err(out, 400, "bad_request", "query parameter 'id' (a device id of 1..128 bytes) is required");
        return;
    }
    char aid[24];
    if (pub_h_app_id(c, r, r->segs[2], aid, out))
        return;
    const char *p[] = {aid, dev, "200"};
    PGresult *d = pub_h_query(c, Q_DEV_GET, p, out);
    if (!d)
        return;
    PGresult *h = pub_h_query(c, Q_DEV_HISTORY, p, out);
    if (!h) {
        PQclear(d);
        return;
    }
    int nh = PQntuples(h);
    if (PQntuples(d) == 0 && nh == 0) {
        pub_err(out, 404, "not_found", "no device '%.128s' has reported to app '%s'", dev, r->segs[2]);
        goto done;
    }
    /* current release: the newest 'applied' report whose release this device has not failed or rolled back */
    json_t *current = json_null();
    for (int i = 0; i < nh; i++) {
        if (strcmp(pub_cell(h, i, 6), "applied") != 0)
            continue;
        int undone = 0;
        for (int j = 0; j < nh; j++)
            if (!strcmp(pub_cell(h, j, 2), pub_cell(h, i, 2)) &&
                (!strcmp(pub_cell(h, j, 6), "failed") || !strcmp(pub_cell(h, j, 6), "rolled_back")))
                undone = 1;
        if (!undone) {
            current = history_row(h, i);
            break;
        }
    }
    json_t *device = json_null();
    if (PQntuples(d))
        device = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "device_id", pub_cell(d, 0, 0), "platform", pub_cell(d, 0, 1),
                           "binary_version", pub_cell(d, 0, 2), "os", pub_cell(d, 0, 3), "first_seen",
                           (json_int_t)pub_cell_i64(d, 0, 4), "last_seen", (json_int_t)pub_cell_i64(d, 0, 5));
    pub_json_reply(out, 200,
                   json_pack("{s:s,s:o,s:o,s:o,s:s}", "device_id", dev, "device", device, "current_release", current,
                             "history", pub_h_rows(h, history_row), "counts",
                             "this device's install reports, newest first (at most 200); the current release is its "
                             "newest applied release that it has not failed or rolled back"));
done:
    PQclear(d);
    PQclear(h);
}

static json_t *apikey_row(const PGresult *q, int i)
{
    int org_wide = PQgetisnull(q, i, 5);
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s?}", "key_id", pub_cell(q, i, 0), "name", pub_cell(q, i, 1), "role",
                     pub_cell(q, i, 2), "created_by", pub_cell(q, i, 3), "created_at",
                     (json_int_t)pub_cell_i64(q, i, 4), "scope", org_wide ? "org" : "app", "app",
                     org_wide ? NULL : pub_cell(q, i, 5));
}

void pub_h_apikeys_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    PGresult *a = pub_h_app(c, r, r->segs[2], out);
    if (!a)
        return;
    char oid[24], aid[24];
    I64(oid, pub_cell_i64(a, 0, 1));
    I64(aid, pub_cell_i64(a, 0, 0));
    PQclear(a);
    const char *p[] = {oid, aid};
    pub_h_list(c, Q_APIKEY_LIST, p, "api_keys", apikey_row, out);
}
