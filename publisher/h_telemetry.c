/*
 * h_telemetry.c - handlers for device telemetry: POST /v1/devices and POST
 * /v1/installations (decoded by jsonreq.c, stored by telemetry.c) and
 * GET /v1/releases/<id>/stats.
 */
#include "common/compat.h"

#include "pub_handlers.h"

static int parse_err(struct pub_resp *out, enum cmn_err rc, const struct cmn_errbuf *eb)
{
    if (rc == CMN_E_TOOBIG)
        return pub_err(out, 413, "too_large", "%s", cmn_errmsg(eb, rc));
    if (rc == CMN_E_NOMEM)
        return pub_err(out, 500, "internal", "out of memory");
    return pub_err(out, 400, "bad_request", "%s", cmn_errmsg(eb, rc));
}

/* The domain's errors as replies: encoding -> 500, the database -> 503 (pub_err_from: unavailable or busy). */
static void ingest_err(struct pub_resp *out, enum cmn_err rc, const struct cmn_errbuf *eb)
{
    if (rc == CMN_E_DB || rc == CMN_E_BUSY)
        pub_err_from(out, rc, eb);
    else
        pub_err(out, 500, "internal", "%s", cmn_errmsg(eb, rc));
}

void pub_h_installations(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out)
{
    struct pub_batch b;
    struct cmn_errbuf eb = {0};
    pub_ingest_arriving(s, 1); /* a store about to start may wait a moment for this batch (group commit) */
    enum cmn_err rc = pub_batch_parse_installs(r->body.ptr ? r->body.ptr : "", r->body.len, s->cfg->max_telemetry,
                                               (size_t)s->cfg->max_batch, &b, &eb);
    if (rc) {
        pub_ingest_arriving(s, -1);
        parse_err(out, rc, &eb);
        return;
    }
    b.arriving = 1;
    struct pub_ingest_result res;
    rc = pub_ingest_installs(s, &b, &res, &eb);
    if (b.arriving)
        pub_ingest_arriving(s, -1); /* not queued: refused or nothing to store */
    if (rc)
        ingest_err(out, rc, &eb);
    else
        pub_json_reply(out, 200,
                       json_pack("{s:I,s:I,s:I}", "accepted", (json_int_t)res.accepted, "rejected",
                                 (json_int_t)res.rejected, "ticketed", (json_int_t)res.ticketed));
    pub_batch_release(&b);
}

void pub_h_devices(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out)
{
    struct pub_batch b;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_batch_parse_devices(r->body.ptr ? r->body.ptr : "", r->body.len, s->cfg->max_telemetry,
                                              (size_t)s->cfg->max_batch, &b, &eb);
    if (rc) {
        parse_err(out, rc, &eb);
        return;
    }
    struct pub_ingest_result res;
    rc = pub_ingest_devices(s, &b, &res, &eb);
    if (rc)
        ingest_err(out, rc, &eb);
    else
        pub_json_reply(out, 200,
                       json_pack("{s:I,s:I,s:I}", "accepted", (json_int_t)res.accepted, "stored",
                                 (json_int_t)res.stored, "rejected", (json_int_t)res.rejected));
    pub_batch_release(&b);
}

void pub_h_stats(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *id = r->segs[2];
    int64_t org_id = 0;
    PGresult *rel = pub_h_release(c, r, id, &org_id, out);
    if (!rel)
        return;
    const char *p[] = {id};
    PGresult *cnt = pub_q(c, Q_STATS_COUNTERS, p);
    PGresult *act = pub_q(c, Q_STATS_ACTIVE, p);
    PGresult *ver = pub_q(c, Q_STATS_VERSIONS, p);
    if (!pub_res_ok(cnt) || !pub_res_ok(act) || !pub_res_ok(ver)) {
        pub_err(out, 503, "database_unavailable", "cannot read stats");
    } else {
        long long d = 0, ap = 0, f = 0, rb = 0, tap = 0, tf = 0, trb = 0;
        if (PQntuples(cnt) == 1) {
            d = pub_cell_i64(cnt, 0, 0);
            ap = pub_cell_i64(cnt, 0, 1);
            f = pub_cell_i64(cnt, 0, 2);
            rb = pub_cell_i64(cnt, 0, 3);
            tap = pub_cell_i64(cnt, 0, 4);
            tf = pub_cell_i64(cnt, 0, 5);
            trb = pub_cell_i64(cnt, 0, 6);
        }
        json_t *vers = json_array();
        for (int i = 0; i < PQntuples(ver); i++)
            json_array_append_new(vers, json_pack("{s:s,s:I}", "binary_version", pub_cell(ver, i, 0), "devices",
                                                  (json_int_t)pub_cell_i64(ver, i, 1)));
        long long attempts = ap + f;
        json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "release_id", id, "state", pub_cell(rel, 0, 14),
                              "installs", (json_int_t)ap, "failures", (json_int_t)f, "rollbacks", (json_int_t)rb,
                              "downloading", (json_int_t)d, "active_devices",
                              (json_int_t)(PQntuples(act) ? pub_cell_i64(act, 0, 0) : 0), "failure_rate_bp",
                              (json_int_t)(attempts ? (f + rb) * 10000 / attempts : 0), "version_distribution", vers);
        /*
         * The totals above count every report; only ticketed ones (a valid
         * edge ticket for the device and release) count toward the auto-halt,
         * unless the app opted in to counting all of them: say which, and
         * show both halves (docs/security.md).
         */
        long long tatt = tap + tf;
        const char *ap_[] = {pub_cell(rel, 0, 19)};
        PGresult *app = pub_q(c, Q_APP_BY_ID, ap_);
        /* the app may count unticketed reports too (apps.count_unticketed, for clients that cannot carry tickets) */
        int all = pub_res_ok(app) && PQntuples(app) == 1 && pub_cell(app, 0, 8)[0] == 't';
        PQclear(app);
        json_object_set_new(o, "auto_halt_counts", json_string(all ? "all" : "ticketed"));
        json_object_set_new(o, "ticketed",
                            json_pack("{s:I,s:I,s:I,s:I}", "installs", (json_int_t)tap, "failures", (json_int_t)tf,
                                      "rollbacks", (json_int_t)trb, "failure_rate_bp",
                                      (json_int_t)(tatt ? (tf + trb) * 10000 / tatt : 0)));
        json_object_set_new(o, "unticketed",
                            json_pack("{s:I,s:I,s:I}", "installs", (json_int_t)(ap - tap), "failures",
                                      (json_int_t)(f - tf), "rollbacks", (json_int_t)(rb - trb)));
        pub_json_reply(out, 200, json_pack("{s:o}", "stats", o));
    }
    PQclear(cnt);
    PQclear(act);
    PQclear(ver);
    PQclear(rel);
}
