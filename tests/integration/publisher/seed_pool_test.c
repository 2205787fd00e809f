/*
 * seed_pool_test.c - the publisher's database pool under the seed telemetry
 * routes, against the real publisher + Postgres over loopback.
 *
 * The seed's POST /installations looks its release up, then stores the
 * report through the same ingest as POST /v1/installations, which takes a
 * pooled connection of its own: a handler still holding one while it does
 * that waits for itself with HOTPATCH_DB_POOL=1, and N concurrent requests
 * hold all N connections of a small pool. Each request here must answer
 * within a deadline and its rows must be stored. Then the pool's bounded
 * wait: with every connection held (a request blocked on a table lock this
 * test takes), another request gets a 503 within HOTPATCH_DB_WAIT, not a
 * hang, and /metrics counts it.
 */
#include "common/compat.h"

#include <pthread.h>

#include "../../lib/test.h"
#include "pub_itest.h"

#define DEADLINE_S 15L /* far above a healthy request, far below the harness's per-test timeout */

/* POST a JSON body with a deadline; the status (0: no answer in time), the error code and Retry-After. */
struct answer {
    long status;
    double secs;
    char code[64];
    char retry_after[32];
};

static void post(const char *base, const char *path, const char *json, struct answer *a)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    struct it_resp r;
    memset(&r, 0, sizeof(r));
    memset(a, 0, sizeof(*a));
    cmn_buf_init(&r.body, 1u << 20);
    CURL *h = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, it_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, it_header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, DEADLINE_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &a->secs);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    json_t *o = r.body.len ? json_loadb(r.body.ptr, r.body.len, 0, NULL) : NULL;
    const char *code = it_jstr(o, "error.code");
    snprintf(a->code, sizeof(a->code), "%s", code ? code : "");
    snprintf(a->retry_after, sizeof(a->retry_after), "%s", r.retry_after);
    if (a->status != 200)
        diag("POST %s -> %ld after %.1f s %.*s", path, a->status, a->secs, (int)(r.body.len > 300 ? 300 : r.body.len),
             r.body.ptr ? r.body.ptr : "");
    json_decref(o);
    it_resp_free(&r);
}

/*
 * A publisher started with `env` (its two settings named in the check), a
 * world (app "demo") and one release, its id into rel. -1 (the check failed,
 * the publisher's log shown and the publisher stopped) when any step fails.
 */
static int start(struct it_pub *p, struct it_world *w, const char *tag, const char *const *env, char rel[64])
{
    char *id = NULL;
    int bad = it_pub_setup(p, tag, 0) || it_pub_start(p, env) || it_world_setup(p, "demo", w) ||
              !(id = it_release(p, w, "demo", "1.0.1", 4096));
    ok(!bad, "publisher with %s %s, app, release", env[0], env[1]);
    if (bad) {
        it_log_tail(p);
        it_pub_stop(p);
        return -1;
    }
    snprintf(rel, 64, "%s", id);
    free(id);
    return 0;
}

static long long count(struct it_pub *p, const char *fmt, const char *arg)
{
    char sql[512];
    snprintf(sql, sizeof(sql), fmt, arg);
    return it_sql_int(p->dburl, sql);
}

/* HOTPATCH_DB_POOL=1: each seed telemetry route answers, and stores. */
static void test_pool_of_one(void)
{
    struct it_pub p;
    struct it_world w;
    char rel[64], body[512];
    static const char *const env[] = {"HOTPATCH_DB_POOL=1", "HOTPATCH_DB_WAIT=5", NULL};
    if (start(&p, &w, "pool1", env, rel))
        return;
    struct answer a;
    post(p.base, "/devices",
         "{\"device_id\":\"one-dev\",\"app_id\":\"demo\",\"platform\":\"android\",\"current_version\":\"1.0.0\"}", &a);
    is_int(a.status, 200, "pool of 1: POST /devices answers 200 (%.1f s)", a.secs);
    is_int(count(&p, "SELECT count(*) FROM devices WHERE device_id = '%s'", "one-dev"), 1, "and the device is stored");
    snprintf(body, sizeof(body), "{\"device_id\":\"one-dev\",\"release_id\":\"%s\",\"status\":\"applied\"}", rel);
    post(p.base, "/installations", body, &a);
    is_int(a.status, 200, "pool of 1: POST /installations answers 200 (%.1f s)", a.secs);
    is_int(count(&p, "SELECT count(*) FROM installations WHERE release_id = '%s' AND status = 'applied'", rel), 1,
           "and the installation is stored");
    post(p.base, "/installations",
         "{\"device_id\":\"one-dev\",\"release_id\":\"rel_0000000000000000\",\"status\":\"applied\"}", &a);
    is_int(a.status, 404, "an unknown release is still a 404");
    it_pub_stop(&p);
}

struct worker {
    const char *base;
    const char *path;
    char body[512];
    struct answer a;
};

static void *run_worker(void *arg)
{
    struct worker *k = arg;
    post(k->base, k->path, k->body, &k->a);
    return NULL;
}

/* HOTPATCH_DB_POOL=2 and many concurrent seed requests: none waits for a connection another one holds forever. */
#define NWORKERS 12
static void test_concurrent(void)
{
    struct it_pub p;
    struct it_world w;
    char rel[64];
    static const char *const env[] = {"HOTPATCH_DB_POOL=2", "HOTPATCH_DB_WAIT=10", NULL};
    if (start(&p, &w, "pool2", env, rel))
        return;
    for (int round = 0; round < 3; round++) {
        struct worker k[NWORKERS];
        pthread_t t[NWORKERS];
        for (int i = 0; i < NWORKERS; i++) {
            k[i].base = p.base;
            if (i % 3 == 2) {
                k[i].path = "/devices";
                snprintf(k[i].body, sizeof(k[i].body), "{\"device_id\":\"c-%d-%d\",\"app_id\":\"demo\"}", round, i);
            } else {
                k[i].path = "/installations";
                snprintf(k[i].body, sizeof(k[i].body),
                         "{\"device_id\":\"c-%d-%d\",\"release_id\":\"%s\",\"status\":\"%s\"}", round, i, rel,
                         i % 3 ? "failed" : "applied");
            }
            pthread_create(&t[i], NULL, run_worker, &k[i]);
        }
        int all = 1;
        double slowest = 0;
        for (int i = 0; i < NWORKERS; i++) {
            pthread_join(t[i], NULL);
            all &= k[i].a.status == 200;
            if (k[i].a.secs > slowest)
                slowest = k[i].a.secs;
        }
        ok(all, "round %d: %d concurrent seed requests on a pool of 2 all answer 200 (slowest %.1f s)", round, NWORKERS,
           slowest);
    }
    is_int(count(&p, "SELECT count(*) FROM installations WHERE release_id = '%s'", rel), 3 * NWORKERS * 2 / 3,
           "every installation is stored");
    is_int(count(&p, "SELECT count(*) FROM devices WHERE device_id LIKE '%s'", "c-%"), 3 * NWORKERS / 3,
           "every device is stored");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT applied + failed FROM release_counters WHERE release_id = '%s'", rel);
    is_int(it_sql_int(p.dburl, sql), 3 * NWORKERS * 2 / 3, "and counted once each");
    it_pub_stop(&p);
}

/* ---- the bounded wait ---- */

/* Wait (at most ~10 s) until a publisher connection waits for a lock; 1 when seen. */
static int publisher_blocked(PGconn *pg)
{
    for (int i = 0; i < 200; i++) {
        PGresult *r = PQexec(pg, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                 "'hotpatch-publisher' AND wait_event_type = 'Lock'");
        int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        if (n > 0)
            return 1;
        usleep(50000);
    }
    return 0;
}

static void test_exhausted(void)
{
    struct it_pub p;
    struct it_world w;
    char rel[64], body[512];
    static const char *const env[] = {"HOTPATCH_DB_POOL=1", "HOTPATCH_DB_WAIT=1", NULL};
    if (start(&p, &w, "busy", env, rel))
        return;
    /* the one connection, held: a device report blocked on a lock this test holds on devices */
    PGconn *pg = PQconnectdb(p.dburl);
    PGresult *r = PQexec(pg, "BEGIN; LOCK TABLE devices IN ACCESS EXCLUSIVE MODE");
    ok(PQresultStatus(r) == PGRES_COMMAND_OK, "the test locks the devices table");
    PQclear(r);
    struct worker held = {p.base, "/v1/devices", "{\"devices\":[{\"device_id\":\"held\",\"app\":\"demo\"}]}", {0}};
    pthread_t t;
    pthread_create(&t, NULL, run_worker, &held);
    ok(publisher_blocked(pg), "a device report holds the pool's only connection, waiting for the lock");

    struct answer a;
    snprintf(body, sizeof(body), "{\"device_id\":\"waiter\",\"release_id\":\"%s\",\"status\":\"applied\"}", rel);
    post(p.base, "/installations", body, &a);
    is_int(a.status, 503, "another request meanwhile: 503, not a hang");
    ok(a.secs >= 0.9 && a.secs < 6, "after the pool's wait of 1 s (%.1f s)", a.secs);
    is_str(a.code, "database_busy", "error code database_busy");
    ok(a.retry_after[0] != '\0', "with Retry-After (%s)", a.retry_after);
    snprintf(body, sizeof(body),
             "{\"events\":[{\"device_id\":\"waiter\",\"app\":\"demo\",\"platform\":\"android\",\"channel\":"
             "\"production\",\"release_id\":\"%s\",\"status\":\"applied\"}]}",
             rel);
    post(p.base, "/v1/installations", body, &a);
    is_int(a.status, 503, "the /v1 ingest too: 503");
    is_str(a.code, "database_busy", "database_busy");

    struct it_resp m;
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", p.base);
    it_http("GET", url, NULL, NULL, NULL, 0, &m);
    ok(m.body.ptr && strstr(m.body.ptr, "\nhotpatch_publisher_db_pool_timeouts_total 2\n"),
       "/metrics counts the two timed-out waits");
    it_resp_free(&m);

    r = PQexec(pg, "COMMIT");
    PQclear(r);
    pthread_join(t, NULL);
    is_int(held.a.status, 200, "the blocked report completes once the lock is gone");
    PQfinish(pg);
    snprintf(body, sizeof(body), "{\"device_id\":\"waiter\",\"release_id\":\"%s\",\"status\":\"applied\"}", rel);
    post(p.base, "/installations", body, &a);
    is_int(a.status, 200, "and the pool serves again");
    it_pub_stop(&p);
}

int main(void)
{
    int rc = it_init();
    if (rc)
        return rc < 0 ? 1 : done_testing();
    test_pool_of_one();
    test_concurrent();
    test_exhausted();
    return done_testing();
}
