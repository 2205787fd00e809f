/*
 * telemetry_test.c - device telemetry against real Postgres over loopback:
 * device batches, installation batches written idempotently (a retried batch
 * and duplicates inside a batch are not double-counted), stats, malformed
 * entries skipped and counted, bad batches refused with 4xx, and the
 * auto-halt rule firing on a synthetic failure burst (state halted, manifest
 * re-published, audit event with the reason) but not before the minimum
 * number of installs and not for a healthy release. Each simulated device
 * reports with the ticket an edge would have given it (signed here with the
 * key whose public half the publisher trusts, HOTPATCH_TICKET_KEYS); the
 * edge's own tickets are tested end to end in tickets_test.c.
 */
#include "../../lib/test.h"
#include "pub_itest.h"

#include "common/ticket.h"

static struct it_pub P;
static struct it_world W;
static struct cmn_key TK; /* plays the edge's ticket key */

/* A batch of n events "dev-<from+i>" with one status. */
static char *events(const char *rel, const char *status, int from, int n, int dup_every)
{
    struct cmn_buf b;
    cmn_buf_init(&b, 8u << 20);
    enum cmn_err rc = cmn_buf_addstr(&b, "{\"events\":[");
    int first = 1;
    for (int i = 0; i < n; i++) {
        int copies = dup_every && i % dup_every == 0 ? 2 : 1;
        for (int c = 0; c < copies; c++) {
            char dev[32], tk[CMN_TICKET_MAX + 1];
            snprintf(dev, sizeof(dev), "dev-%d", from + i);
            if (cmn_ticket_issue(&TK, "demo", "android", "production", rel, dev, (int64_t)time(NULL) + 3600, tk,
                                 sizeof(tk), NULL))
                rc |= CMN_E_INVAL;
            rc |= cmn_buf_addf(&b,
                               "%s{\"event_id\":\"e-%s-%d-%s\",\"device_id\":\"dev-%d\",\"app\":\"demo\","
                               "\"platform\":\"android\",\"channel\":\"production\",\"release_id\":\"%s\","
                               "\"status\":\"%s\",\"binary_version\":\"1.%d.0\",\"ts\":1790000000,\"ticket\":\"%s\"}",
                               first ? "" : ",", status, from + i, rel, from + i, rel, status, (from + i) % 3, tk);
            first = 0;
        }
    }
    rc |= cmn_buf_addstr(&b, "]}");
    return rc ? NULL : cmn_buf_take(&b, NULL);
}

static long post(const char *path, const char *body, json_t **out)
{
    return it_call(&P, "POST", path, NULL, body, out);
}

int main(void)
{
    if (!getenv("HP_TEST_PG_URL")) {
        test_skip(1, "HP_TEST_PG_URL not set (run through make test)");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char tkenv[128], tkb64[CMN_PK_B64];
    if (cmn_key_generate(&TK))
        return 1;
    cmn_key_public_b64(&TK, tkb64);
    snprintf(tkenv, sizeof(tkenv), "HOTPATCH_TICKET_KEYS=%s", tkb64);
    const char *env[] = {"HOTPATCH_MAX_BATCH=500", tkenv, NULL};
    if (it_pub_setup(&P, "telem", 0) || it_pub_start(&P, env) || it_world_setup(&P, "demo", &W)) {
        ok(0, "publisher + org + app + release key");
        it_log_tail(&P);
        return done_testing();
    }
    ok(1, "publisher + org + app + release key");
    char *good = it_release(&P, &W, "demo", "1.0.0", 5000);
    char *bad = it_release(&P, &W, "demo", "1.1.0", 5000);
    ok(good && bad, "two releases on production");
    if (!good || !bad)
        return done_testing();
    json_t *o = NULL;

    /* devices */
    const char *devs = "{\"devices\":[{\"device_id\":\"d1\",\"app\":\"demo\",\"platform\":\"android\","
                       "\"binary_version\":\"1.0.0\",\"os\":\"android 14\"},"
                       "{\"device_id\":\"d2\",\"app\":\"demo\",\"platform\":\"android\",\"binary_version\":\"1.0.0\"},"
                       "{\"device_id\":\"d1\",\"app\":\"demo\",\"platform\":\"android\",\"binary_version\":\"1.2.0\"},"
                       "{\"device_id\":\"d3\",\"app\":\"nosuchapp\"},{\"app\":\"demo\"},42]}";
    is_int(post("/v1/devices", devs, &o), 200, "device batch accepted");
    is_int(it_jint(o, "rejected"), 2, "two malformed device entries counted as rejected");
    is_int(it_jint(o, "stored"), 2, "d1 (twice) and d2 stored once each; unknown app dropped");
    json_decref(o);
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM devices"), 2, "two device rows");
    char *bv = it_sql(P.dburl, "SELECT binary_version FROM devices WHERE device_id = 'd1'");
    is_str(bv ? bv : "", "1.2.0", "the last report of a device in a batch wins");
    free(bv);

    /* installations: duplicates in the batch and retries are not double-counted */
    char *b1 = events(good, "applied", 0, 60, 7);
    is_int(post("/v1/installations", b1, &o), 200, "60 applied events (with in-batch duplicates)");
    is_int(it_jint(o, "accepted"), 60, "duplicates folded: 60 accepted");
    json_decref(o);
    is_int(post("/v1/installations", b1, NULL), 200, "the same batch retried");
    is_int(post("/v1/installations", b1, NULL), 200, "and retried again");
    is_int(it_release_stat(&P, W.owner, good, "installs"), 60, "stats: 60 installs, retries not double-counted");
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM installations"), 60, "60 installation rows");
    free(b1);
    char *f1 = events(good, "failed", 100, 3, 0);
    is_int(post("/v1/installations", f1, NULL), 200, "3 failures on the healthy release");
    free(f1);
    is_int(it_release_stat(&P, W.owner, good, "failures"), 3, "stats: 3 failures");
    is_int(it_release_stat(&P, W.owner, good, "active_devices"), 60, "stats: 60 active devices");
    ok(it_release_stat(&P, W.owner, good, "failure_rate_bp") == 3 * 10000 / 63, "stats: failure rate in basis points");
    char path[256];
    snprintf(path, sizeof(path), "/v1/releases/%s/stats", good);
    is_int(it_call(&P, "GET", path, W.owner, NULL, &o), 200, "stats readable");
    json_t *vd = json_object_get(json_object_get(o, "stats"), "version_distribution");
    ok(json_is_array(vd) && json_array_size(vd) == 3, "version distribution over 1.0.0, 1.1.0 and 1.2.0");
    json_decref(o);
    ok(!strcmp(it_release_state(&P, W.owner, good), "active"), "a healthy release stays active (4.7 < 20 percent)");

    /* progress */
    char prog[512];
    snprintf(prog, sizeof(prog),
             "{\"events\":[{\"device_id\":\"dl\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\","
             "\"progress\":30},{\"device_id\":\"dl\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\","
             "\"progress\":70}]}",
             good, good);
    is_int(post("/v1/installations", prog, NULL), 200, "downloading progress events");
    snprintf(prog, sizeof(prog),
             "{\"events\":[{\"device_id\":\"dl\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\","
             "\"progress\":90}]}",
             good);
    is_int(post("/v1/installations", prog, NULL), 200, "a later progress event");
    is_int(it_sql_int(P.dburl, "SELECT progress FROM installations WHERE device_id = 'dl'"), 90,
           "progress keeps the highest value, one row");
    is_int(it_release_stat(&P, W.owner, good, "downloading"), 1, "one device downloading");

    /* bad batches */
    is_int(post("/v1/installations", "{\"events\":", NULL), 400, "truncated JSON -> 400");
    is_int(post("/v1/installations", "{\"events\":{}}", NULL), 400, "events not an array -> 400");
    is_int(post("/v1/installations", "{\"events\":[1.5]}", NULL), 400, "floats refused by the strict parser -> 400");
    char *big = events(good, "applied", 1000, 501, 0);
    is_int(post("/v1/installations", big, &o), 413, "501 events over the batch cap of 500 -> 413");
    ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), "500"), "the reason names the cap");
    json_decref(o);
    free(big);
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/installations", P.base);
    struct it_resp hr;
    it_http("POST", url, NULL, "text/plain", "{\"events\":[]}", 13, &hr);
    is_int(hr.status, 415, "telemetry with a wrong Content-Type -> 415");
    it_resp_free(&hr);
    snprintf(prog, sizeof(prog),
             "{\"events\":[{\"device_id\":\"x\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"exploded\"},"
             "{\"device_id\":\"x\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\",\"progress\":400}]}",
             good, good);
    is_int(post("/v1/installations", prog, &o), 200, "a batch of malformed events is answered");
    is_int(it_jint(o, "rejected"), 2, "both entries rejected, nothing stored");
    json_decref(o);
    is_int(it_release_stat(&P, W.owner, good, "installs"), 60, "installs unchanged");

    /* auto-halt: threshold 30% after 20 installs for this app */
    is_int(it_call(&P, "PATCH", "/v1/apps/demo", W.app_key, "{\"halt_threshold_pct\":30}", NULL), 403,
           "a write key cannot change the auto-halt threshold");
    is_int(it_call(&P, "PATCH", "/v1/apps/demo", W.owner, "{\"halt_threshold_pct\":30,\"halt_min_installs\":20}", &o),
           200, "owner sets threshold 30 percent after 20 installs");
    is_int(it_jint(o, "app.halt_threshold_pct"), 30, "threshold stored");
    json_decref(o);
    char *a = events(bad, "applied", 0, 10, 0);
    char *f = events(bad, "failed", 10, 9, 0);
    is_int(post("/v1/installations", a, NULL), 200, "10 applied on the bad release");
    is_int(post("/v1/installations", f, NULL), 200, "9 failed (19 installs: below the minimum)");
    ok(!strcmp(it_release_state(&P, W.owner, bad), "active"), "not halted before the minimum number of installs");
    free(a);
    free(f);
    char *f2 = events(bad, "failed", 19, 1, 0);
    char *r2 = events(bad, "rolled_back", 0, 3, 0);
    is_int(post("/v1/installations", f2, NULL), 200, "a 20th install, failed");
    ok(!strcmp(it_release_state(&P, W.owner, bad), "halted"), "auto-halt fired: the release is halted");
    is_int(post("/v1/installations", r2, NULL), 200, "more bad news after the halt is still accepted");
    free(f2);
    free(r2);
    ok(!strcmp(it_release_state(&P, W.owner, bad), "halted"), "still halted");
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "android", "production", NULL);
    long i = m ? cmn_manifest_find(m, bad) : -1;
    ok(i >= 0 && m->releases[i].state == CMN_REL_HALTED, "the manifest was re-published with the release halted");
    cmn_manifest_free(m);
    snprintf(path, sizeof(path), "/v1/apps/demo/audit?release=%s", bad);
    is_int(it_call(&P, "GET", path, W.owner, NULL, &o), 200, "audit for the release");
    json_t *ev = json_object_get(o, "events");
    int found = 0;
    for (size_t k = 0; k < json_array_size(ev); k++) {
        json_t *e = json_array_get(ev, k);
        const char *act = json_string_value(json_object_get(e, "action"));
        const char *actor = json_string_value(json_object_get(e, "actor"));
        const char *reason = json_string_value(json_object_get(json_object_get(e, "detail"), "reason"));
        if (act && !strcmp(act, "release.halt") && actor && !strcmp(actor, "auto-halt") && reason &&
            strstr(reason, "threshold"))
            found = 1;
    }
    ok(found, "audit event release.halt by auto-halt with the reason");
    json_decref(o);
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM audit_events WHERE action = 'release.halt'"), 1,
           "exactly one halt, however many batches followed");
    ok(!strcmp(it_release_state(&P, W.owner, good), "active"), "the healthy release is untouched");

    /* the database drops every connection: the pool replaces them, requests keep working */
    char sql[512];
    const char *dbname = strrchr(P.dburl, '/') + 1;
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s' "
             "AND pid <> pg_backend_pid()",
             dbname);
    ok(it_sql_int(P.dburl, sql) >= 1, "all publisher connections terminated by the server");
    usleep(300000);
    int all200 = 1;
    for (int k = 0; k < 12; k++)
        all200 &= it_call(&P, "GET", "/v1/apps/demo", W.owner, NULL, NULL) == 200;
    ok(all200, "every request after the drop succeeds (dead connections replaced)");
    char *again = events(good, "applied", 5000, 5, 0);
    is_int(post("/v1/installations", again, NULL), 200, "telemetry after the drop");
    free(again);
    is_int(it_release_stat(&P, W.owner, good, "installs"), 65, "and it was stored");

    free(good);
    free(bad);
    it_pub_stop(&P);
    if (test_failures())
        it_log_tail(&P);
    return done_testing();
}
