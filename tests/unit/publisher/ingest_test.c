/*
 * Unit tests for the publisher's telemetry domain (telemetry.c) against a
 * real Postgres (pub_fixture.h): an installation batch is de-duplicated and
 * stored in one round trip, a retried batch is not counted twice, unknown
 * releases are dropped, devices upsert with the last report winning, and a
 * release whose failure rate reaches the threshold is halted automatically
 * (state, audit event, re-published manifest). Only reports with a valid edge
 * ticket count toward the halt: unticketed, forged and replayed-ticket
 * failures are stored but never halt; a report first stored without a ticket
 * counts once when the device reports it again with one. New rows take the
 * fast path (COPY straight into installations); a batch that meets stored
 * rows is merged through the staging table, and both count exactly (the
 * ticketed counters and the auto-halt check included).
 */
#include "pub_fixture.h"

#include "common/ticket.h"

static struct cmn_key tkey; /* plays the edge's ticket key */

/* A ticket for (release, device), as the edge issues it; rotating static buffers. */
static const char *tix(const char *rel, const char *dev, int64_t ttl)
{
    static char buf[8][CMN_TICKET_MAX + 1];
    static int k;
    char *t = buf[k++ % 8];
    if (cmn_ticket_issue(&tkey, "demo", "android", "beta", rel, dev, (int64_t)time(NULL) + ttl, t, sizeof(buf[0]),
                         NULL))
        t[0] = '\0';
    return t;
}

static long long counter(struct fx *f, const char *id, const char *col)
{
    char q[256];
    snprintf(q, sizeof(q), "SELECT %s FROM release_counters WHERE release_id = '%s'", col, id);
    return fx_sql_int(f, q);
}

int main(void)
{
    struct fx f;
    int rc = fx_setup(&f, "ingest");
    if (rc == 1) {
        test_skip(1, "HP_TEST_PG_URL is not set (make test starts Postgres and sets it)");
        return done_testing();
    }
    ok(rc == 0, "fixture: database, storage, keys");
    if (rc)
        return done_testing();
    ok(!cmn_key_generate(&tkey), "an edge ticket key");
    memcpy(f.s.tkeys[0].pk, tkey.pk, CMN_PK_BYTES);
    cmn_key_compute_id(&f.s.tkeys[0]);
    f.s.n_tkeys = 1; /* the publisher trusts its public half */
    struct cmn_errbuf eb = {0};
    struct pub_new_result nr;
    is_int(fx_release(&f, "beta", "1.0.0", 100, &nr, &eb), CMN_OK, "a release to report on");
    json_decref(nr.release);
    const char *id = nr.id;

    char batch[16384];
    snprintf(batch, sizeof(batch),
             "{\"events\":["
             "{\"device_id\":\"d1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\",\"event_id\":\"e1\","
             "\"ticket\":\"%s\"},"
             "{\"device_id\":\"d1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\",\"event_id\":\"e1\"},"
             "{\"device_id\":\"d2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\","
             "\"ticket\":\"%s\"},"
             "{\"device_id\":\"d3\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\",\"progress\":5},"
             "{\"device_id\":\"d3\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\",\"progress\":40},"
             "{\"device_id\":\"d4\",\"app\":\"demo\",\"release_id\":\"rel_unknown\",\"status\":\"applied\"},"
             "{\"device_id\":\"\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"}]}",
             id, tix(id, "d1", 3600), id, id, tix(id, "d2", 3600), id, id, id);
    struct pub_ingest_result res;
    unsigned long batches = atomic_load(&f.s.m.telemetry_batches);
    unsigned long merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "installation batch stored");
    is_int(res.accepted, 4, "duplicates within the batch merged (d1 twice, d3 twice)");
    is_int(res.rejected, 1, "the entry without a device id rejected");
    is_int(counter(&f, id, "applied"), 2, "two applied installs counted");
    is_int(res.ticketed, 2, "d1 (its duplicate's ticket merged) and d2 carried valid tickets");
    is_int(counter(&f, id, "t_applied"), 2, "both count as ticketed installs");
    is_int(counter(&f, id, "downloading"), 1, "one download in progress");
    is_int(fx_sql_int(&f, "SELECT max(progress) FROM installations WHERE device_id = 'd3'"), 40,
           "highest progress kept");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE release_id = 'rel_unknown'"), 0,
           "events for unknown releases dropped");
    is_int(atomic_load(&f.s.m.telemetry_batches), batches + 1, "batch counted in metrics");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "a batch of new rows took the fast path (no merge)");

    /* a retry of the same batch (the device did not see the reply) must not count twice */
    is_int(fx_installs(&f, batch, &res), CMN_OK, "retried batch accepted");
    is_int(counter(&f, id, "applied"), 2, "retry not double-counted (applied)");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations"), 3, "retry adds no rows");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged + 1, "the retry met stored rows and was merged");

    /* empty batch: nothing to store, no database round trip */
    is_int(fx_installs(&f, "{\"events\":[]}", &res), CMN_OK, "empty batch");
    is_int(res.accepted, 0, "nothing accepted");

    /* devices: one row per (app, device), the last report wins */
    const char *dv = "{\"devices\":[{\"device_id\":\"d1\",\"app\":\"demo\",\"os\":\"linux\"},"
                     "{\"device_id\":\"d2\",\"app\":\"demo\",\"os\":\"android\"},"
                     "{\"device_id\":\"d1\",\"app\":\"demo\",\"os\":\"ios\"}]}";
    struct pub_batch b;
    rc = pub_batch_parse_devices(dv, strlen(dv), f.cfg.max_telemetry, (size_t)f.cfg.max_batch, &b, &eb);
    is_int(rc, CMN_OK, "device batch parses");
    if (!rc) {
        is_int(pub_ingest_devices(&f.s, &b, &res, &eb), CMN_OK, "device batch stored (%s)", eb.msg);
        pub_batch_release(&b);
    }
    is_int(res.accepted, 2, "two devices");
    is_int(res.stored, 2, "two rows upserted");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM devices WHERE device_id = 'd1' AND os = 'ios'"), 1,
           "the last report of d1 won");

    /* auto-halt: the rate is (failed + rolled_back) / (applied + failed), halted at >= 60% after 4 installs */
    f.cfg.halt_threshold_pct = 60;
    f.cfg.halt_min_installs = 4;
    int notified = atomic_load(&f.notified);
    char st[24];
    /* forged failures: none carries a ticket that verifies for its own device and release */
    struct cmn_key other;
    ok(!cmn_key_generate(&other), "a key the publisher does not trust");
    char foreign[CMN_TICKET_MAX + 1];
    ok(!cmn_ticket_issue(&other, "demo", "android", "beta", id, "x3", (int64_t)time(NULL) + 3600, foreign,
                         sizeof(foreign), NULL),
       "a ticket signed by the untrusted key");
    snprintf(batch, sizeof(batch),
             "{\"events\":["
             "{\"device_id\":\"f1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"x1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"garbage\"},"
             "{\"device_id\":\"x2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"%s\"},"
             "{\"device_id\":\"x3\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"%s\"},"
             "{\"device_id\":\"x4\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"%s\"},"
             "{\"device_id\":\"x5\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":42}]}",
             id, id, id, tix(id, "d1", 3600), id, foreign, id, tix(id, "x4", -1), id);
    is_int(fx_installs(&f, batch, &res), CMN_OK,
           "six forged failures: none, garbage, replayed, foreign, expired, a number");
    is_int(res.accepted, 6, "all six stored");
    is_int(res.ticketed, 0, "none ticketed");
    is_int(counter(&f, id, "failed"), 6, "visible in the totals");
    is_int(counter(&f, id, "t_failed"), 0, "but no ticketed failure");
    is_str(fx_state(&f, id, st), "active", "6 untrusted failures of 8 reports: not halted");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE status = 'failed' AND NOT ticketed"), 6,
           "stored flagged as unticketed");

    snprintf(batch, sizeof(batch),
             "{\"events\":["
             "{\"device_id\":\"f1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"%s\"},"
             "{\"device_id\":\"f2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"%s\"}]}",
             id, tix(id, "f1", 3600), id, tix(id, "f2", 3600));
    is_int(fx_installs(&f, batch, &res), CMN_OK, "two failures");
    is_int(counter(&f, id, "failed"), 7, "f1's earlier unticketed row is not counted again in the totals");
    is_int(counter(&f, id, "t_failed"), 2, "f1 upgraded to ticketed and f2 new: two ticketed failures");
    is_int(fx_installs(&f, batch, &res), CMN_OK, "the ticketed batch retried");
    is_int(counter(&f, id, "t_failed"), 2, "a retry of ticketed reports is not counted twice");
    is_str(fx_state(&f, id, st), "active", "2 of 4 installs failed: 50%% < 60%%, still active");
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"f3\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"%s\"}]}",
             id, tix(id, "f3", 3600));
    merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "a third failure");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "a new row: the fast path, whose totals feed the halt");
    is_str(fx_state(&f, id, st), "halted", "3 of 5 failed (60%% >= 60%%): halted automatically");
    is_int(atomic_load(&f.s.m.auto_halts), 1, "auto-halt counted");
    ok(atomic_load(&f.notified) > notified, "the halt re-published (notify hook called)");
    struct cmn_manifest *m = fx_manifest(&f, "beta");
    ok(fx_find(m, id) && fx_find(m, id)->state == CMN_REL_HALTED, "manifest says halted");
    cmn_manifest_free(m);
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM audit_events WHERE release_id = '%s' AND action = 'release.halt' "
             "AND actor = 'auto-halt' AND detail->>'threshold_pct' = '60'",
             id);
    is_int(fx_sql_int(&f, q), 1, "audit event names auto-halt and the threshold");

    /* the fast path keeps each event's ts (or the transaction's now()) and the app of the release */
    merged = atomic_load(&f.s.m.telemetry_merged);
    snprintf(batch, sizeof(batch),
             "{\"events\":["
             "{\"device_id\":\"t1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\",\"ts\":1790000000,"
             "\"channel\":\"beta\",\"binary_version\":\"2.0.0\",\"ticket\":\"%s\"},"
             "{\"device_id\":\"t2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\",\"progress\":10},"
             "{\"device_id\":\"t3\",\"app\":\"other\",\"release_id\":\"%s\",\"status\":\"applied\"}]}",
             id, tix(id, "t1", 3600), id, id);
    long long applied = counter(&f, id, "applied");
    long long t_applied = counter(&f, id, "t_applied");
    is_int(fx_installs(&f, batch, &res), CMN_OK, "a batch of new rows");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "took the fast path");
    is_int(counter(&f, id, "applied"), applied + 1, "one applied counted (t3 names another app: dropped)");
    is_int(res.ticketed, 1, "t1's ticket verified");
    is_int(counter(&f, id, "t_applied"), t_applied + 1, "the fast path counts t1 as a ticketed install");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 't1' AND ticketed"), 1,
           "the fast path stores t1 flagged as ticketed");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 't2' AND NOT ticketed"), 1,
           "and t2 (no ticket) as unticketed");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 't3'"), 0,
           "an event whose app does not own the release is dropped");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 't1' AND ts = to_timestamp(1790000000) "
                          "AND channel = 'beta' AND binary_version = '2.0.0' "
                          "AND app_id = (SELECT id FROM apps WHERE name = 'demo')"),
           1, "t1 stored with its ts, channel, binary version and app");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 't2' AND progress = 10 "
                          "AND ts > now() - interval '1 hour' AND ts <= now()"),
           1, "t2 stored with its progress, ts = the transaction's time");

    /* a batch that is partly new: merged, and only the new rows count */
    snprintf(
        batch, sizeof(batch),
        "{\"events\":["
        "{\"device_id\":\"t1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"},"
        "{\"device_id\":\"t4\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\",\"ticket\":\"%s\"},"
        "{\"device_id\":\"t2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\",\"progress\":80}]}",
        id, id, tix(id, "t4", 3600), id);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "a partly new batch");
    is_int(res.accepted, 3, "all three accepted");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged + 1, "it met stored rows: merged");
    is_int(counter(&f, id, "applied"), applied + 2, "only t4 added to applied");
    is_int(counter(&f, id, "downloading"), 2, "t2's download counted once (d3 and t2)");
    is_int(fx_sql_int(&f, "SELECT progress FROM installations WHERE device_id = 't2'"), 80,
           "t2's progress raised by the merge");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 't1'"), 1, "t1 still one row");
    is_int(counter(&f, id, "t_applied"), t_applied + 2, "the merge counts t4 (new, ticketed) once, t1 not again");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id IN ('t1', 't4') AND ticketed"), 2,
           "t1 still ticketed, t4 stored ticketed by the merge");

    /*
     * The opt-in (apps.count_unticketed, issue 13): an app whose clients can never carry a ticket counts
     * unticketed reports toward the halt, still one per distinct device. Off (the default), 3 unticketed
     * failures of 4 do nothing; on, the same totals halt at the next failure, on the fast path and when
     * the batch is merged.
     */
    f.cfg.halt_threshold_pct = 60;
    f.cfg.halt_min_installs = 4;
    struct pub_new_result nr2, nr3;
    is_int(fx_release(&f, "opt", "3.0.0", 100, &nr2, &eb), CMN_OK, "a release on channel opt");
    json_decref(nr2.release);
    is_int(fx_release(&f, "opt", "3.0.1", 100, &nr3, &eb), CMN_OK, "a second one");
    json_decref(nr3.release);
    const char *o1 = nr2.id, *o2 = nr3.id;
    is_int(fx_sql_int(&f, "SELECT count(*) FROM apps WHERE name = 'demo' AND NOT count_unticketed"), 1,
           "the opt-in is off by default");
    snprintf(batch, sizeof(batch),
             "{\"events\":["
             "{\"device_id\":\"u1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"},"
             "{\"device_id\":\"u2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u3\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u4\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"},"
             "{\"device_id\":\"u2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u3\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u4\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"}]}",
             o1, o1, o1, o1, o2, o2, o2, o2);
    merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "3 unticketed failures of 4 on each release, opt-in off");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "(the fast path)");
    is_int(counter(&f, o1, "failed"), 3, "stored and counted in the totals");
    is_str(fx_state(&f, o1, st), "active", "opt-in off: 75%% unticketed failures halt nothing");
    is_str(fx_state(&f, o2, st), "active", "... on either release");
    is_int(fx_sql_int(&f, "UPDATE apps SET count_unticketed = true WHERE name = 'demo'"), 1,
           "the operator opts the app in");
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"u5\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":"
             "\"failed\"}]}",
             o1);
    merged = atomic_load(&f.s.m.telemetry_merged);
    unsigned long halts = atomic_load(&f.s.m.auto_halts);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "a fourth unticketed failure on the first release");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "a new row: the fast path");
    is_str(fx_state(&f, o1, st), "halted", "opt-in on: 4 of 5 failed (unticketed): halted");
    is_int(atomic_load(&f.s.m.auto_halts), halts + 1, "auto-halt counted");
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM audit_events WHERE release_id = '%s' AND action = 'release.halt' "
             "AND actor = 'auto-halt' AND detail->>'counted' LIKE 'all distinct devices%%'",
             o1);
    is_int(fx_sql_int(&f, q), 1, "the audit event says unticketed reports were counted");
    /* the merge path: a batch that meets a stored row (u4's failure again) plus one new failure */
    snprintf(batch, sizeof(batch),
             "{\"events\":["
             "{\"device_id\":\"u4\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u6\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"}]}",
             o2, o2);
    merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "a retried failure and a new one on the second release");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged + 1, "met a stored row: merged");
    is_int(counter(&f, o2, "failed"), 4, "u4 not counted twice: 4 distinct failed devices");
    is_int(counter(&f, o2, "t_failed"), 0, "none of them ticketed");
    is_str(fx_state(&f, o2, st), "halted", "opt-in on, merge path: 4 of 5 failed: halted");
    is_int(atomic_load(&f.s.m.auto_halts), halts + 2, "second auto-halt counted");
    /* off again: a third release with the same reports stays active */
    is_int(fx_sql_int(&f, "UPDATE apps SET count_unticketed = false WHERE name = 'demo'"), 1, "opted out again");
    struct pub_new_result nr4;
    is_int(fx_release(&f, "opt", "3.0.2", 100, &nr4, &eb), CMN_OK, "a third release");
    json_decref(nr4.release);
    snprintf(batch, sizeof(batch),
             "{\"events\":["
             "{\"device_id\":\"u1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"},"
             "{\"device_id\":\"u2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u3\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u4\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"},"
             "{\"device_id\":\"u5\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\"}]}",
             nr4.id, nr4.id, nr4.id, nr4.id, nr4.id);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "4 unticketed failures of 5, opted out");
    is_str(fx_state(&f, nr4.id, st), "active", "opt-in off again: not halted");

    cmn_key_clear(&tkey);
    cmn_key_clear(&other);
    fx_teardown(&f);
    return done_testing();
}
