/*
 * Unit tests of the telemetry group commit (telemetry.c) against a real
 * Postgres (pub_fixture.h), through pub_ingest_installs from real threads:
 * batches that queue while another is being stored are committed together
 * (one COPY, one transaction), each caller returns only once its rows are
 * committed, and every count stays exact; a group that cannot commit (a
 * batch of it re-sends stored rows, two batches name the same row) stores
 * nothing and each batch is then stored alone - nothing lost, nothing
 * counted twice. pub_ingest_hold keeps the batches queued until the test has
 * them all waiting, so the groups are formed deterministically.
 */
#include "pub_fixture.h"

#include "common/ticket.h"

#include <pthread.h>

static struct cmn_key tkey; /* plays the edge's ticket key */

static const char *tix(const char *rel, const char *dev, char *t, size_t n)
{
    if (cmn_ticket_issue(&tkey, "demo", "android", "beta", rel, dev, (int64_t)time(NULL) + 3600, t, n, NULL))
        t[0] = '\0';
    return t;
}

static long long counter(struct fx *f, const char *id, const char *col)
{
    char q[256];
    snprintf(q, sizeof(q), "SELECT %s FROM release_counters WHERE release_id = '%s'", col, id);
    return fx_sql_int(f, q);
}

struct job {
    struct fx *f;
    char json[8192];
    enum cmn_err rc;
    struct pub_ingest_result res;
    atomic_int *returned;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    j->rc = fx_installs(j->f, j->json, &j->res);
    atomic_fetch_add(j->returned, 1);
    return NULL;
}

/* The HTTP handler's way (h_telemetry.c): the batch counted as arriving until it is queued. */
static void *run_arriving(void *arg)
{
    struct job *j = arg;
    struct pub_batch b;
    struct cmn_errbuf eb = {0};
    j->rc = pub_batch_parse_installs(j->json, strlen(j->json), j->f->cfg.max_telemetry, (size_t)j->f->cfg.max_batch, &b,
                                     &eb);
    if (j->rc == CMN_OK) {
        b.arriving = 1; /* pub_ingest_arriving(+1) was called by the test, as the handler does before decoding */
        j->rc = pub_ingest_installs(&j->f->s, &b, &j->res, &eb);
        if (b.arriving)
            pub_ingest_arriving(&j->f->s, -1);
        pub_batch_release(&b);
    }
    atomic_fetch_add(j->returned, 1);
    return NULL;
}

/* Queue the jobs' batches under the hold, check none is stored or answered, then release them together. */
static int run_group(struct fx *f, struct job *jobs, int n, const char *what)
{
    atomic_int returned = 0;
    pthread_t th[8];
    long long rows = fx_sql_int(f, "SELECT count(*) FROM installations");
    pub_ingest_hold(&f->s, 1);
    for (int i = 0; i < n; i++) {
        jobs[i].f = f;
        jobs[i].returned = &returned;
        if (pthread_create(&th[i], NULL, run_job, &jobs[i]))
            return -1;
    }
    for (int k = 0; k < 1000 && pub_ingest_waiting(&f->s) < (size_t)n; k++)
        usleep(10000);
    is_int(pub_ingest_waiting(&f->s), n, "%s: %d batches queued", what, n);
    is_int(atomic_load(&returned), 0, "%s: no caller answered before its rows are stored", what);
    is_int(fx_sql_int(f, "SELECT count(*) FROM installations"), rows, "%s: nothing stored yet", what);
    pub_ingest_hold(&f->s, 0);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    is_int(pub_ingest_waiting(&f->s), 0, "%s: the queue is empty", what);
    return 0;
}

#define EV(dev, st) "{\"device_id\":\"" dev "\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"" st "\"}"

int main(void)
{
    struct fx f;
    int rc = fx_setup(&f, "ingest_group");
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
    f.s.n_tkeys = 1;
    struct cmn_errbuf eb = {0};
    struct pub_new_result nr, nr2;
    is_int(fx_release(&f, "beta", "1.0.0", 100, &nr, &eb), CMN_OK, "a release to report on");
    json_decref(nr.release);
    is_int(fx_release(&f, "beta", "1.0.1", 100, &nr2, &eb), CMN_OK, "a second release");
    json_decref(nr2.release);
    const char *id = nr.id, *id2 = nr2.id;
    struct pub_ingest_result res;

    /* a batch with nothing in flight is stored at once, alone */
    unsigned long grouped = atomic_load(&f.s.m.telemetry_grouped);
    unsigned long merged = atomic_load(&f.s.m.telemetry_merged);
    unsigned long batches = atomic_load(&f.s.m.telemetry_batches);
    char one[512];
    snprintf(one, sizeof(one), "{\"events\":[" EV("s1", "applied") "]}", id);
    is_int(fx_installs(&f, one, &res), CMN_OK, "a lone batch");
    is_int(atomic_load(&f.s.m.telemetry_grouped), grouped, "not grouped");
    is_int(counter(&f, id, "applied"), 1, "and counted");

    /* three concurrent batches over two releases: one group, one transaction */
    struct job g[3];
    memset(g, 0, sizeof(g));
    char t1[CMN_TICKET_MAX + 1];
    snprintf(g[0].json, sizeof(g[0].json),
             "{\"events\":[" EV("a1", "applied") "," EV("a2", "applied") "," EV("a2", "applied") "]}", id, id, id);
    snprintf(g[1].json, sizeof(g[1].json),
             "{\"events\":[{\"device_id\":\"b1\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"%s\"}," EV("b2", "rolled_back") "]}",
             id, tix(id, "b1", t1, sizeof(t1)), id);
    snprintf(
        g[2].json, sizeof(g[2].json),
        "{\"events\":[" EV("c1", "applied") ",{\"device_id\":\"c2\",\"app\":\"demo\",\"release_id\":\"%s\","
                                            "\"status\":\"downloading\",\"progress\":30}," EV("c3", "applied") "]}",
        id2, id2, id);
    if (run_group(&f, g, 3, "a group of new rows"))
        return ok(0, "pthread_create"), done_testing();
    for (int i = 0; i < 3; i++)
        is_int(g[i].rc, CMN_OK, "batch %d stored", i);
    ok(g[0].res.accepted == 2 && g[1].res.accepted == 2 && g[2].res.accepted == 3,
       "each caller gets its own batch's figures (2, 2, 3 accepted)");
    is_int(g[1].res.ticketed, 1, "b1's ticket verified");
    is_int(atomic_load(&f.s.m.telemetry_grouped), grouped + 3, "the three were committed as one group");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged, "no merge");
    is_int(atomic_load(&f.s.m.telemetry_batches), batches + 4, "every batch counted in the metrics");
    is_int(counter(&f, id, "applied"), 4, "release 1: s1, a1, a2, c3 applied");
    ok(counter(&f, id, "failed") == 1 && counter(&f, id, "rolled_back") == 1 && counter(&f, id, "t_failed") == 1,
       "release 1: b1's failure (ticketed) and b2's rollback counted");
    ok(counter(&f, id2, "applied") == 1 && counter(&f, id2, "downloading") == 1, "release 2: c1 and c2 counted");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations"), 8, "8 rows stored");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 'b1' AND ticketed"), 1,
           "b1 stored ticketed");
    is_int(fx_sql_int(&f, "SELECT progress FROM installations WHERE device_id = 'c2'"), 30, "c2's progress kept");

    /*
     * a group that cannot commit: x re-sends stored rows (a1, b2) with a new one, y and z both name y1. The
     * group's COPY fails on the UNIQUE key; each batch is then stored alone: x and the second of y / z merge.
     */
    grouped = atomic_load(&f.s.m.telemetry_grouped);
    merged = atomic_load(&f.s.m.telemetry_merged);
    struct job h[3];
    memset(h, 0, sizeof(h));
    snprintf(h[0].json, sizeof(h[0].json),
             "{\"events\":[" EV("a1", "applied") "," EV("b2", "rolled_back") "," EV("x1", "failed") "]}", id, id, id);
    snprintf(h[1].json, sizeof(h[1].json), "{\"events\":[" EV("y1", "applied") "," EV("y2", "applied") "]}", id, id);
    snprintf(h[2].json, sizeof(h[2].json), "{\"events\":[" EV("y1", "applied") "," EV("z1", "applied") "]}", id, id);
    if (run_group(&f, h, 3, "a failing group"))
        return ok(0, "pthread_create"), done_testing();
    for (int i = 0; i < 3; i++)
        is_int(h[i].rc, CMN_OK, "batch %d of the failed group stored alone", i);
    is_int(atomic_load(&f.s.m.telemetry_grouped), grouped, "none counted as grouped");
    is_int(atomic_load(&f.s.m.telemetry_merged), merged + 2, "x and one of y / z merged");
    is_int(counter(&f, id, "applied"), 7, "release 1: y1, y2, z1 added once each (a1 not again)");
    ok(counter(&f, id, "failed") == 2 && counter(&f, id, "rolled_back") == 1, "x1 added, b2 not again");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations"), 12, "12 rows: 4 new");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations WHERE device_id = 'y1'"), 1, "y1 stored once");

    /* a group right after a failed one still forms and commits */
    grouped = atomic_load(&f.s.m.telemetry_grouped);
    struct job k[2];
    memset(k, 0, sizeof(k));
    snprintf(k[0].json, sizeof(k[0].json), "{\"events\":[" EV("k1", "applied") "]}", id2);
    snprintf(k[1].json, sizeof(k[1].json), "{\"events\":[" EV("k2", "failed") "]}", id2);
    if (run_group(&f, k, 2, "a group after the failed one"))
        return ok(0, "pthread_create"), done_testing();
    ok(k[0].rc == CMN_OK && k[1].rc == CMN_OK, "both stored");
    is_int(atomic_load(&f.s.m.telemetry_grouped), grouped + 2, "as one group");
    ok(counter(&f, id2, "applied") == 2 && counter(&f, id2, "failed") == 1, "release 2: k1 and k2 counted");

    /*
     * Gathering: a store about to start waits (bounded) for batches still being
     * decoded, so they join its group. With a 10 s window a lone batch waits
     * for the one announced as arriving, and both are committed as one group.
     */
    f.s.ig_gather_ns = 10L * 1000000000L;
    grouped = atomic_load(&f.s.m.telemetry_grouped);
    long long rows = fx_sql_int(&f, "SELECT count(*) FROM installations");
    atomic_int back = 0;
    struct job ga[2];
    memset(ga, 0, sizeof(ga));
    snprintf(ga[0].json, sizeof(ga[0].json), "{\"events\":[" EV("g1", "applied") "]}", id2);
    snprintf(ga[1].json, sizeof(ga[1].json), "{\"events\":[" EV("g2", "applied") "]}", id2);
    ga[0].f = ga[1].f = &f;
    ga[0].returned = ga[1].returned = &back;
    pub_ingest_arriving(&f.s, 1); /* g2's request: being decoded */
    pthread_t gt[2];
    if (pthread_create(&gt[0], NULL, run_job, &ga[0]))
        return ok(0, "pthread_create"), done_testing();
    usleep(300000);
    is_int(atomic_load(&back), 0, "a batch waits while another is being decoded");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations"), rows, "... nothing stored yet");
    if (pthread_create(&gt[1], NULL, run_arriving, &ga[1]))
        return ok(0, "pthread_create"), done_testing();
    pthread_join(gt[0], NULL);
    pthread_join(gt[1], NULL);
    ok(ga[0].rc == CMN_OK && ga[1].rc == CMN_OK, "once it is queued, both are stored");
    is_int(atomic_load(&f.s.m.telemetry_grouped), grouped + 2, "... as one group");
    is_int(fx_sql_int(&f, "SELECT count(*) FROM installations"), rows + 2, "... two rows");
    is_int(f.s.ig_arriving, 0, "no arrival left counted");
    /* the wait is bounded: an arrival that never queues (its request failed) delays a store, never blocks it */
    f.s.ig_gather_ns = 200L * 1000000L;
    grouped = atomic_load(&f.s.m.telemetry_grouped);
    pub_ingest_arriving(&f.s, 1);
    snprintf(one, sizeof(one), "{\"events\":[" EV("g3", "applied") "]}", id2);
    is_int(fx_installs(&f, one, &res), CMN_OK, "a batch while an arrival never comes: stored after the window");
    is_int(atomic_load(&f.s.m.telemetry_grouped), grouped, "... alone");
    pub_ingest_arriving(&f.s, -1);
    is_int(f.s.ig_arriving, 0, "arrivals back to none");
    ok(counter(&f, id2, "applied") == 5, "release 2: k1, g1, g2, g3 and c1 counted");

    cmn_key_clear(&tkey);
    fx_teardown(&f);
    return done_testing();
}
