/*
 * Unit tests for the publisher's background jobs (jobs.c) and the notify
 * hook, against a real Postgres (pub_fixture.h) and a real HTTP listener on
 * loopback standing in for an edge: a publish calls the context's notify
 * hook; with jobs.c's notifier installed as that hook, the edge receives
 * POST /v1/sync with the sync token; the maintenance loop re-publishes a
 * channel left dirty; stopping the jobs joins both threads.
 */
#include "pub_fixture.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

/* A minimal edge: accepts connections, keeps each request's head, answers 204. */
struct edge {
    int fd, port;
    atomic_int stop;
    atomic_int hits;
    pthread_mutex_t mu;
    char last[2048];
    pthread_t t;
};

static void *edge_main(void *arg)
{
    struct edge *e = arg;
    while (!atomic_load(&e->stop)) {
        struct pollfd pf = {e->fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int c = accept(e->fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[2048];
        size_t n = 0;
        /* read the head and the small body ("{}") */
        for (int i = 0; i < 50 && n < sizeof(buf) - 1; i++) {
            struct pollfd pc = {c, POLLIN, 0};
            if (poll(&pc, 1, 100) <= 0)
                break;
            ssize_t k = read(c, buf + n, sizeof(buf) - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            buf[n] = '\0';
            const char *end = strstr(buf, "\r\n\r\n");
            if (end && strlen(end + 4) >= 2)
                break;
        }
        buf[n] = '\0';
        static const char reply[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        if (write(c, reply, sizeof(reply) - 1) < 0)
            diag("edge: write failed");
        close(c);
        pthread_mutex_lock(&e->mu);
        snprintf(e->last, sizeof(e->last), "%s", buf);
        pthread_mutex_unlock(&e->mu);
        atomic_fetch_add(&e->hits, 1);
    }
    return NULL;
}

static int edge_start(struct edge *e)
{
    memset(e, 0, sizeof(*e));
    pthread_mutex_init(&e->mu, NULL);
    e->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (e->fd < 0 || bind(e->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(e->fd, 8) ||
        getsockname(e->fd, (struct sockaddr *)&sa, &sl))
        return -1;
    e->port = ntohs(sa.sin_port);
    return pthread_create(&e->t, NULL, edge_main, e) ? -1 : 0;
}

static void edge_stop(struct edge *e)
{
    atomic_store(&e->stop, 1);
    pthread_join(e->t, NULL);
    close(e->fd);
    pthread_mutex_destroy(&e->mu);
}

/* Wait up to `ms` for *v to reach `want`. */
static int wait_for(atomic_int *v, int want, int ms)
{
    for (int i = 0; i < ms / 20 && atomic_load(v) < want; i++)
        usleep(20000);
    return atomic_load(v) >= want;
}

int main(void)
{
    struct fx f;
    int rc = fx_setup(&f, "jobs");
    if (rc == 1) {
        test_skip(1, "HP_TEST_PG_URL is not set (make test starts Postgres and sets it)");
        return done_testing();
    }
    ok(rc == 0, "fixture: database, storage, keys");
    if (rc)
        return done_testing();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct cmn_errbuf eb = {0};
    struct pub_new_result nr;

    /* the hook the wirer installs is what a publish calls */
    int before = atomic_load(&f.notified);
    is_int(fx_release(&f, "beta", "1.0.0", 100, &nr, &eb), CMN_OK, "release published");
    json_decref(nr.release);
    is_int(atomic_load(&f.notified), before + 1, "the injected notify hook was called once per publish");
    pub_srv_set_notify(&f.s, NULL, NULL);
    is_int(fx_release(&f, "beta", "1.1.0", 100, &nr, &eb), CMN_OK, "release published without a hook");
    json_decref(nr.release);
    is_int(atomic_load(&f.notified), before + 1, "no hook, no call (and no crash)");

    /* jobs.c's notifier as the hook: the edge is told over real HTTP */
    struct edge e;
    ok(edge_start(&e) == 0, "edge listener on loopback");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", e.port);
    ok(!pub_config_set(&f.cfg, "edge_urls", url, &eb) && !pub_config_set(&f.cfg, "sync_token", "sync-secret", &eb) &&
           !pub_config_set(&f.cfg, "resign_interval", "1", &eb),
       "edge URL, sync token, 1 s maintenance interval");
    pub_srv_set_notify(&f.s, pub_notify_edges, NULL);
    is_int(pub_jobs_start(&f.s), CMN_OK, "jobs started");
    is_int(fx_release(&f, "beta", "1.2.0", 100, &nr, &eb), CMN_OK, "release published with the notifier");
    json_decref(nr.release);
    ok(wait_for(&e.hits, 1, 10000), "the edge received a request");
    pthread_mutex_lock(&e.mu);
    ok(!strncmp(e.last, "POST /v1/sync HTTP/1.1\r\n", 24), "POST /v1/sync (trailing slash of the URL trimmed)");
    ok(strstr(e.last, "Authorization: Bearer sync-secret\r\n") != NULL, "with the sync token as Bearer");
    pthread_mutex_unlock(&e.mu);
    for (int i = 0; i < 100 && atomic_load(&f.s.m.edge_notifies) < 1; i++)
        usleep(20000);
    is_int(atomic_load(&f.s.m.edge_notifies), 1, "notify counted as sent");
    is_int(atomic_load(&f.s.m.edge_notify_errors), 0, "no notify errors");

    /* the maintenance loop re-publishes a dirty channel (as after a publish that failed) */
    int hits = atomic_load(&e.hits);
    ok(fx_sql_int(&f, "UPDATE channels SET manifest_dirty = true WHERE channel = 'beta'") == 1, "channel marked dirty");
    int clean = 0;
    for (int i = 0; i < 250 && !clean; i++) {
        usleep(20000);
        clean = fx_sql_int(&f, "SELECT count(*) FROM channels WHERE manifest_dirty") == 0;
    }
    ok(clean, "maintenance loop published the dirty channel");
    ok(wait_for(&e.hits, hits + 1, 10000), "and the edge was told again");
    /* the patch worker: kicked by a release with a signed content digest, no polling interval to wait for */
    ok(f.s.patch_started, "the patch worker runs");
    char v0[1100], v1[1100], id0[32], id1[32], c1[CMN_SHA256_HEX];
    snprintf(v0, sizeof(v0), "%s/jv0", test_tmpdir());
    snprintf(v1, sizeof(v1), "%s/jv1", test_tmpdir());
    ok(!fx_bundle_dir(v0, 0) && !fx_bundle_dir(v1, 1), "two bundle dirs (one line apart)");
    is_int(fx_release_content(&f, "patched", "1.0.0", "*", v0, id0, NULL), CMN_OK, "release 1 with a content digest");
    is_int(fx_release_content(&f, "patched", "1.0.1", "*", v1, id1, c1), CMN_OK, "release 2 with a content digest");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM patch_jobs WHERE release_id = '%s' AND state = 'done'", id1);
    int done = 0;
    for (int i = 0; i < 500 && !done; i++) {
        usleep(20000);
        done = fx_sql_int(&f, sql) == 1;
    }
    ok(done, "the worker finished release 2's patch job by itself");
    /* the job row turns 'done' before the channel's manifest is re-published: poll for the manifest too */
    struct cmn_manifest *pm = NULL;
    const struct cmn_release *pe = NULL;
    for (int i = 0; i < 500; i++) {
        cmn_manifest_free(pm);
        pm = fx_manifest(&f, "patched");
        pe = fx_find(pm, id1);
        if (pe && pe->n_patches == 1)
            break;
        usleep(20000);
    }
    ok(pe && pe->n_patches == 1 && !strcmp(pe->content_sha256, c1), "and the stored manifest lists its patch");
    cmn_manifest_free(pm);
    pub_jobs_stop(&f.s);
    ok(!f.s.threads_started, "jobs stopped, threads joined");
    ok(!f.s.patch_started, "the patch worker joined too");
    edge_stop(&e);
    fx_teardown(&f);
    curl_global_cleanup();
    return done_testing();
}
