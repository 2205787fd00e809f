/*
 * Unit tests for the integrity of installations without its foreign key to
 * releases (migration 0136), against a real Postgres (pub_fixture.h):
 *
 * - events naming no release of their app are never stored, on the fast
 *   path (COPY) and on the merge;
 * - archiving a release (the publisher's only way to retire one) keeps its
 *   rows and counters: the stats queries still read them;
 * - deleting a release that has installation rows (an operator's SQL), or
 *   changing its id, is refused with the FK's SQLSTATE 23503 and loses
 *   nothing; a release without rows can still be deleted;
 * - a release deleted while a batch for it is being ingested: the batch
 *   waits for the delete (the FOR KEY SHARE lock the FK used to take per
 *   row, now once per release) and then drops the events instead of storing
 *   rows that name no release - on both ingest paths.
 */
#include "pub_fixture.h"

#include <pthread.h>

/* Run one statement on its own connection; the SQLSTATE ("" on success) into state. */
static void sql_state(PGconn *pg, const char *sql, char state[6])
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, 6, "%s", st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "" : s ? s : "?????");
    PQclear(r);
}

/* The unique rows and the counters of a release, as the stats read them. */
static long long rows_of(struct fx *f, const char *id)
{
    char q[256];
    snprintf(q, sizeof(q), "SELECT count(*) FROM installations WHERE release_id = '%s'", id);
    return fx_sql_int(f, q);
}

static long long applied_of(struct fx *f, const char *id)
{
    char q[256];
    snprintf(q, sizeof(q), "SELECT applied FROM release_counters WHERE release_id = '%s'", id);
    return fx_sql_int(f, q);
}

struct ingest_job {
    struct fx *f;
    char batch[8192];
    enum cmn_err rc;
    struct pub_ingest_result res;
};

static void *ingest_thread(void *arg)
{
    struct ingest_job *j = arg;
    j->rc = fx_installs(j->f, j->batch, &j->res);
    return NULL;
}

/* Until some backend of this database waits on a lock; 10 s at most. */
static int wait_lock_waiter(struct fx *f)
{
    for (int i = 0; i < 500; i++) {
        if (fx_sql_int(f, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND wait_event_type = 'Lock'") > 0)
            return 1;
        usleep(20000);
    }
    return 0;
}

/*
 * Delete release `id` in an open transaction, ingest `batch` in a thread
 * (which must wait for the delete's row lock), commit the delete; returns the
 * ingest's result. *waited says the ingest was seen waiting on the lock.
 */
static enum cmn_err ingest_during_delete(struct fx *f, const char *id, const char *batch, int *waited,
                                         struct pub_ingest_result *res)
{
    PGconn *pg = PQconnectdb(f->dburl);
    char st[6], sql[256];
    sql_state(pg, "BEGIN", st);
    snprintf(sql, sizeof(sql), "DELETE FROM releases WHERE id = '%s'", id);
    sql_state(pg, sql, st);
    if (st[0])
        diag("delete: %s", st);
    struct ingest_job j = {.f = f, .rc = CMN_E_INVAL};
    snprintf(j.batch, sizeof(j.batch), "%s", batch);
    pthread_t t;
    int started = pthread_create(&t, NULL, ingest_thread, &j) == 0;
    *waited = started && wait_lock_waiter(f);
    sql_state(pg, "COMMIT", st);
    if (started)
        pthread_join(t, NULL);
    PQfinish(pg);
    *res = j.res;
    return j.rc;
}

int main(void)
{
    struct fx f;
    int rc = fx_setup(&f, "ingestfk");
    if (rc == 1) {
        test_skip(1, "HP_TEST_PG_URL is not set (make test starts Postgres and sets it)");
        return done_testing();
    }
    ok(rc == 0, "fixture: database, storage, keys");
    if (rc)
        return done_testing();
    is_int(fx_sql_int(&f, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'installations'::regclass "
                          "AND contype = 'f'"),
           0, "installations has no foreign key (migration 0136)");
    struct cmn_errbuf eb = {0};
    struct pub_new_result a, b, c, d;
    is_int(fx_release(&f, "beta", "1.0.0", 100, &a, &eb), CMN_OK, "release a");
    is_int(fx_release(&f, "beta", "1.1.0", 100, &b, &eb), CMN_OK, "release b");
    is_int(fx_release(&f, "beta", "1.2.0", 100, &c, &eb), CMN_OK, "release c");
    is_int(fx_release(&f, "beta", "1.3.0", 100, &d, &eb), CMN_OK, "release d");
    json_decref(a.release);
    json_decref(b.release);
    json_decref(c.release);
    json_decref(d.release);
    struct pub_ingest_result res;
    char batch[8192];
    long long merged = atomic_load(&f.s.m.telemetry_merged);

    /* unknown releases: never stored, on either path */
    snprintf(
        batch, sizeof(batch),
        "{\"events\":[{\"device_id\":\"u1\",\"app\":\"demo\",\"release_id\":\"rel_nosuch\",\"status\":\"applied\"},"
        "{\"device_id\":\"a1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"},"
        "{\"device_id\":\"a2\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"}]}",
        a.id, a.id);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "a batch naming one release that does not exist");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "(the fast path)");
    is_int(rows_of(&f, "rel_nosuch"), 0, "fast path: no row names the unknown release");
    is_int(rows_of(&f, a.id), 2, "the known release's two rows stored");
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"u2\",\"app\":\"demo\",\"release_id\":\"rel_nosuch\",\"status\":\"failed\"},"
             "{\"device_id\":\"a1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"},"
             "{\"device_id\":\"a3\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"}]}",
             a.id, a.id);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "a batch that meets a stored row, naming an unknown release");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged + 1, "(merged)");
    is_int(rows_of(&f, "rel_nosuch"), 0, "merge: no row names the unknown release");
    is_int(rows_of(&f, a.id), 3, "a3 added, a1 not twice");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations i WHERE NOT EXISTS "
                          "(SELECT 1 FROM releases r WHERE r.id = i.release_id)"),
           0, "no dangling row in the table");

    /* the COPY text format's special bytes in device ids and versions are stored as sent, on both paths */
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"tab\\tback\\\\slash\\nnew\\rret\",\"app\":\"demo\","
             "\"release_id\":\"%s\",\"status\":\"applied\",\"binary_version\":\"1.0\\\\N\",\"channel\":\"\\\\\"}]}",
             a.id);
    merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "a device id with a tab, a backslash, a newline and a CR");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "(the fast path)");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = E'tab\\tback\\\\slash\\nnew\\rret' "
                          "AND binary_version = E'1.0\\\\N' AND channel = E'\\\\'"),
           1, "stored byte for byte (and '\\N' is not taken for NULL)");
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"tab\\tback\\\\slash\\nnew\\rret\",\"app\":\"demo\","
             "\"release_id\":\"%s\",\"status\":\"applied\"},{\"device_id\":\"x\\t\\\\y\",\"app\":\"demo\","
             "\"release_id\":\"%s\",\"status\":\"applied\"}]}",
             a.id, a.id);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "the same device again, with another");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged + 1, "(merged)");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id IN "
                          "(E'tab\\tback\\\\slash\\nnew\\rret', E'x\\t\\\\y')"),
           2, "the merge matched the stored row byte for byte and stored the other as sent");
    is_int(rows_of(&f, a.id), 5, "a now has five rows");

    /* archive: the rows and counters stay, the stats read them */
    struct pub_dbconn *conn = pub_db_get(f.s.db, NULL);
    is_int(conn ? pub_release_action(&f.s, conn, a.id, PUB_ACT_ARCHIVE, 0, "key:test", NULL, NULL, NULL, &eb)
                : CMN_E_DB,
           CMN_OK, "release a archived");
    pub_db_put(f.s.db, conn);
    is_int(rows_of(&f, a.id), 5, "its five rows kept");
    is_int(applied_of(&f, a.id), 5, "its counter kept");
    char q[512];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM installations i JOIN releases r ON r.id = i.release_id "
             "WHERE i.app_id = (SELECT id FROM apps WHERE name = 'demo') AND i.device_id = 'a1'");
    is_int(fx_sql_int(&f, q), 1, "device history (which joins releases) still shows a1's install");

    /* an operator's DELETE or id change of a release with rows: refused like the FK did, nothing lost */
    PGconn *pg = PQconnectdb(f.dburl);
    char st[6];
    snprintf(q, sizeof(q), "DELETE FROM release_counters WHERE release_id = '%s'", a.id);
    sql_state(pg, q, st); /* the counters' own FK would refuse first: take them out of the way */
    is_str(st, "", "(a's counters deleted by hand)");
    snprintf(q, sizeof(q), "DELETE FROM releases WHERE id = '%s'", a.id);
    sql_state(pg, q, st);
    is_str(st, "23503", "DELETE of a release with installation rows refused (23503, foreign_key_violation)");
    snprintf(q, sizeof(q), "UPDATE releases SET id = 'rel_renamed' WHERE id = '%s'", a.id);
    sql_state(pg, q, st);
    is_str(st, "23503", "changing the id of a release with rows refused too");
    is_int(rows_of(&f, a.id), 5, "the rows are still there, still naming a");
    snprintf(q, sizeof(q), "SELECT count(*) FROM releases WHERE id = '%s'", a.id);
    is_int(fx_sql_int(&f, q), 1, "and so is the release");
    snprintf(q, sizeof(q), "UPDATE releases SET notes = 'x' WHERE id = '%s'", a.id);
    sql_state(pg, q, st);
    is_str(st, "", "other updates of the release are not affected");
    snprintf(q, sizeof(q), "DELETE FROM releases WHERE id = '%s'", b.id);
    sql_state(pg, q, st);
    is_str(st, "", "a release without rows can still be deleted");
    PQfinish(pg);

    /* a release deleted while a batch for it is ingested: the batch waits, then drops its events */
    int waited = 0;
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"c1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"},"
             "{\"device_id\":\"d1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"applied\"}]}",
             c.id, d.id);
    merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(ingest_during_delete(&f, c.id, batch, &waited, &res), CMN_OK, "a new batch during c's deletion");
    ok(waited, "the fast path waited for the delete's row lock");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "(the fast path)");
    is_int(rows_of(&f, c.id), 0, "no row names the deleted release c");
    is_int(rows_of(&f, d.id), 1, "the other release's event stored");
    /* more than 32 (app, release) pairs skip the fast path: the merge alone must take the lock */
    struct pub_new_result e;
    is_int(fx_release(&f, "beta", "1.4.0", 100, &e, &eb), CMN_OK, "release e");
    json_decref(e.release);
    int n = snprintf(batch, sizeof(batch),
                     "{\"events\":[{\"device_id\":\"e1\",\"app\":\"demo\",\"release_id\":\"%s\","
                     "\"status\":\"applied\"}",
                     e.id);
    for (int i = 0; i < 32 && n > 0 && (size_t)n < sizeof(batch); i++)
        n += snprintf(batch + n, sizeof(batch) - (size_t)n,
                      ",{\"device_id\":\"x%d\",\"app\":\"demo\",\"release_id\":\"rel_none_%d\","
                      "\"status\":\"applied\"}",
                      i, i);
    if (n > 0 && (size_t)n < sizeof(batch))
        snprintf(batch + n, sizeof(batch) - (size_t)n, "]}");
    merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(ingest_during_delete(&f, e.id, batch, &waited, &res), CMN_OK, "a batch of 33 releases during e's deletion");
    ok(waited, "the merge waited for the delete's row lock");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged + 1, "(merged: too many releases for the fast path)");
    is_int(rows_of(&f, e.id), 0, "no row names the deleted release e");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations i WHERE NOT EXISTS "
                          "(SELECT 1 FROM releases r WHERE r.id = i.release_id)"),
           0, "still no dangling row in the table");
    /*
     * The rows travel in COPY's binary form: multi-byte UTF-8 and the two ends
     * of the accepted time range (2000-01-01, Postgres's own epoch where a
     * binary timestamp is 0, and 2100-01-01) are stored exactly, on both paths.
     */
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"appareil-\\u00e9-\\u65e5\\u672c\",\"app\":\"demo\",\"release_id\":\"%s\","
             "\"status\":\"applied\",\"ts\":946684800,\"channel\":\"b\\u00eata\"},"
             "{\"device_id\":\"late\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\","
             "\"progress\":100,\"ts\":4102444800}]}",
             d.id, d.id);
    merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "UTF-8 ids and the ends of the time range");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "(the fast path)");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = U&'appareil-\\00e9-\\65e5\\672c' "
                          "AND channel = U&'b\\00eata' AND ts = '2000-01-01 00:00:00+00'"),
           1, "fast path: UTF-8 stored as sent, ts 2000-01-01 exactly");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 'late' AND progress = 100 "
                          "AND ts = '2100-01-01 00:00:00+00'"),
           1, "fast path: ts 2100-01-01 and progress 100 exactly");
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"late\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"downloading\","
             "\"progress\":100,\"ts\":4102444800},"
             "{\"device_id\":\"early-\\u00e9\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ts\":946684801,\"binary_version\":\"\\u00e9\"}]}",
             d.id, d.id);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "the same through the merge");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged + 1, "(merged)");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = U&'early-\\00e9' "
                          "AND binary_version = U&'\\00e9' AND ts = '2000-01-01 00:00:01+00'"),
           1, "merge: UTF-8 stored as sent, ts exact to the second");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 'late'"), 1, "'late' still one row");
    is_int(rows_of(&f, d.id), 4, "d now has four rows");

    /*
     * pub_q_around (db.c): BEGIN + the release lookup, then the counters +
     * COMMIT, each pair in one round trip (libpq pipeline mode). A failure
     * anywhere in a pipeline is reported, and the connection is usable after
     * the caller's rollback.
     */
    struct pub_dbconn *pc = pub_db_get(f.s.db, NULL);
    ok(pc != NULL, "a pooled connection");
    if (pc) {
        const char *badp[] = {"{demo}", "{unterminated"};
        PGresult *pr = pub_q_around(pc, "BEGIN", Q_INST_RELEASES, badp, NULL);
        ok(!pub_res_ok(pr) && pub_res_state(pr, "22P02"), "a failed statement after BEGIN: its error and SQLSTATE");
        PQclear(pr);
        is_int(PQtransactionStatus(pc->pg), PQTRANS_INERROR, "... the transaction is open and failed");
        pub_tx_rollback(pc);
        is_int(PQtransactionStatus(pc->pg), PQTRANS_IDLE, "... until the caller rolls back");
        is_int(PQpipelineStatus(pc->pg), PQ_PIPELINE_OFF, "... and the connection left pipeline mode");
        const char *okp[] = {"{demo}", "{rel_none}"};
        pr = pub_q_around(pc, "BEGIN", Q_INST_RELEASES, okp, NULL);
        ok(pub_res_ok(pr) && PQntuples(pr) == 0, "the same connection runs the next pipeline");
        PQclear(pr);
        is_int(PQtransactionStatus(pc->pg), PQTRANS_INTRANS, "... inside the transaction BEGIN opened");
        pub_tx_rollback(pc);
        pub_db_put(f.s.db, pc);
    }
    /* a COMMIT that fails (a deferred constraint trigger on the counters): the batch is refused, nothing stored */
    PGconn *tpg = PQconnectdb(f.dburl);
    sql_state(tpg,
              "CREATE FUNCTION hp_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
              "$$BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'P0001'; END$$",
              st);
    is_str(st, "", "a trigger function that refuses");
    sql_state(tpg,
              "CREATE CONSTRAINT TRIGGER hp_test_refuse AFTER INSERT OR UPDATE ON release_counters "
              "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hp_test_refuse()",
              st);
    is_str(st, "", "... run at COMMIT for every counter change");
    long long all_rows = fx_sql_int(&f, "SELECT count(*) FROM installations");
    long long d_applied = applied_of(&f, d.id);
    snprintf(batch, sizeof(batch),
             "{\"events\":[{\"device_id\":\"at-commit\",\"app\":\"demo\",\"release_id\":\"%s\","
             "\"status\":\"applied\"}]}",
             d.id);
    merged = atomic_load(&f.s.m.telemetry_merged);
    is_int(fx_installs(&f, batch, &res), CMN_E_DB, "a batch whose COMMIT fails: refused");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "(on the fast path, not retried as a merge)");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations"), all_rows, "... no row stored");
    is_int(applied_of(&f, d.id), d_applied, "... no counter changed");
    sql_state(tpg, "DROP TRIGGER hp_test_refuse ON release_counters", st);
    is_str(st, "", "trigger dropped");
    PQfinish(tpg);
    is_int(fx_installs(&f, batch, &res), CMN_OK, "the same batch again: stored");
    is_int(rows_of(&f, d.id), 5, "... d has five rows");
    is_int(applied_of(&f, d.id), d_applied + 1, "... and one more applied");
    fx_teardown(&f);
    return done_testing();
}
