/*
 * h_ops.c - operations endpoints: /healthz (database and storage reachable)
 * and /metrics (Prometheus text format).
 */
#include "common/compat.h"

#include "common/log.h"
#include "common/prom.h"
#include "pub_handlers.h"

void pub_h_health(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out)
{
    const char *db = "ok", *storage = "ok";
    enum cmn_err why = CMN_E_DB;
    struct pub_dbconn *c = pub_db_get(s->db, &why);
    if (!c) {
        db = why == CMN_E_BUSY ? "busy" : "unreachable";
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

void pub_h_metrics(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out)
{
    if (pub_h_metrics_json(s, r, out)) /* seed 002's JSON document (h_esp.c) */
        return;
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
        {"hotpatch_publisher_telemetry_merged_total",
         "installation batches that met rows already stored (retries) and were merged", "counter",
         atomic_load(&s->m.telemetry_merged)},
        {"hotpatch_publisher_telemetry_grouped_total",
         "installation batches committed together with concurrent ones (one COPY, one transaction)", "counter",
         atomic_load(&s->m.telemetry_grouped)},
        {"hotpatch_publisher_device_reports_total", "device rows upserted", "counter", atomic_load(&s->m.devices_seen)},
        {"hotpatch_publisher_auto_halts_total", "releases halted automatically", "counter",
         atomic_load(&s->m.auto_halts)},
        {"hotpatch_publisher_edge_notifies_total", "edge sync notifications sent", "counter",
         atomic_load(&s->m.edge_notifies)},
        {"hotpatch_publisher_edge_notify_errors_total", "edge sync notifications failed", "counter",
         atomic_load(&s->m.edge_notify_errors)},
        {"hotpatch_publisher_upload_bytes_total", "bundle bytes received", "counter", atomic_load(&s->m.upload_bytes)},
        {"hotpatch_publisher_patches_built_total", "patches listed by background patch jobs", "counter",
         atomic_load(&s->m.patches_built)},
        {"hotpatch_publisher_patch_job_errors_total", "failed patch job attempts", "counter",
         atomic_load(&s->m.patch_job_errors)},
        {"hotpatch_publisher_db_pool_timeouts_total",
         "requests and jobs that found every pooled database connection in use for HOTPATCH_DB_WAIT", "counter",
         pub_db_timeouts(s->db)},
    };
    struct cmn_prom p;
    cmn_prom_init(&p, &b);
    for (size_t i = 0; i < CMN_ARRAY_SIZE(rows); i++) {
        cmn_prom_family(&p, rows[i].name, rows[i].type, rows[i].help);
        cmn_prom_u64(&p, rows[i].name, NULL, NULL, rows[i].v);
    }
    cmn_prom_family(&p, "hotpatch_publisher_responses_total", "counter", "HTTP responses by status class");
    static const char *const classes[] = {NULL, "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int k = 1; k <= 5; k++)
        cmn_prom_u64(&p, "hotpatch_publisher_responses_total", "code", classes[k], atomic_load(&s->m.status[k]));
    cmn_prom_family(&p, "hotpatch_publisher_up", "gauge", "1 while serving");
    cmn_prom_u64(&p, "hotpatch_publisher_up", NULL, NULL, 1);
    enum cmn_err rc = cmn_prom_done(&p);
    if (rc) {
        pub_err(out, 500, "internal", "cannot render metrics");
        return;
    }
    out->status = 200;
    out->raw = cmn_buf_take(&b, &out->raw_len);
    out->ctype = "text/plain; version=0.0.4";
}
