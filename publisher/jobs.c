/*
 * jobs.c - the publisher's background threads.
 *
 * The maintenance loop wakes every resign_interval seconds: it re-publishes
 * channels still marked dirty (a publish that failed because storage was
 * down, or a crash between commit and publish) and re-signs manifests whose
 * expiry is less than half the TTL away, so devices never see an expired
 * manifest while the publisher runs.
 *
 * The snapshot writer keeps feed/snapshot (every current envelope in one
 * object, for edges that start cold) fresh: snapshot_debounce seconds after
 * the last manifest change (at most SNAPSHOT_MAX_DELAY after the first of a
 * burst), and every snapshot_interval seconds anyway.
 *
 * The notifier tells the edges to resync (POST <edge>/v1/sync with Bearer
 * HOTPATCH_SYNC_TOKEN) after a manifest changes. Requests are coalesced (one
 * round for any number of publishes while a round is running) and best
 * effort: a failure is logged and counted, and edges also poll storage.
 * publish.c does not call the notifier: it calls the context's notify hook
 * (pub_notify), which main.c points at pub_manifest_changed (notify the
 * edges, schedule a snapshot).
 *
 * The patch worker runs the patch jobs of new releases (patchjob.c: patches
 * built from bundles the publisher already stores, then the manifest
 * re-signed with them listed).
 */
#include "common/compat.h"

#include "common/feed.h"
#include "common/http.h"
#include "common/log.h"
#include "pub.h"

#define SNAPSHOT_MAX_DELAY 30

/* One publisher per process: the snapshot writer's state lives here. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started, stop;
    int64_t first_change, last_change; /* monotonic seconds, 0 = nothing pending */
} snap = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0};

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

void pub_snapshot_changed(struct pub_srv *s)
{
    if (s->cfg->snapshot_interval <= 0)
        return;
    pthread_mutex_lock(&snap.mu);
    int64_t now = mono_s();
    if (!snap.first_change)
        snap.first_change = now;
    snap.last_change = now;
    pthread_cond_broadcast(&snap.cv);
    pthread_mutex_unlock(&snap.mu);
}

static void snapshot_write(struct pub_srv *s)
{
    struct cmn_storage *st = NULL;
    struct cmn_errbuf eb = {{0}};
    struct cmn_snapshot_stats ss;
    struct cmn_keyring kr = {s->mkeys, s->n_mkeys};
    enum cmn_err rc = pub_storage_open(s, &st, &eb);
    if (!rc)
        rc = cmn_snapshot_write(st, &kr, (int64_t)time(NULL), &ss, &eb);
    cmn_storage_free(st);
    if (rc)
        cmn_warn("cannot write %s: %s (edges start from a listing instead)", CMN_SNAPSHOT_KEY, cmn_errmsg(&eb, rc));
    else
        cmn_info("wrote %s: %u manifests (%u reused, %u fetched, %u skipped), %zu bytes", CMN_SNAPSHOT_KEY,
                 ss.manifests, ss.reused, ss.fetched, ss.skipped, ss.bytes);
}

static void *snapshot_main(void *arg)
{
    struct pub_srv *s = arg;
    int64_t last_write = mono_s();
    pthread_mutex_lock(&snap.mu);
    while (!snap.stop) {
        int64_t now = mono_s(), due = last_write + s->cfg->snapshot_interval;
        if (snap.last_change) {
            int64_t quiet = snap.last_change + s->cfg->snapshot_debounce, cap = snap.first_change + SNAPSHOT_MAX_DELAY;
            int64_t d = quiet < cap ? quiet : cap;
            if (d < due)
                due = d;
        }
        if (now < due) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += due - now;
            pthread_cond_timedwait(&snap.cv, &snap.mu, &until);
            continue;
        }
        snap.first_change = snap.last_change = 0;
        pthread_mutex_unlock(&snap.mu);
        snapshot_write(s);
        last_write = mono_s();
        pthread_mutex_lock(&snap.mu);
    }
    pthread_mutex_unlock(&snap.mu);
    return NULL;
}

/* POST <base>/v1/sync; best effort, one try (the edges also poll storage). */
static void notify_one(struct pub_srv *s, struct cmn_http *h, const char *base)
{
    char url[1024];
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof(url), "%.*s/v1/sync", (int)bl, base);
    char auth[600] = "";
    struct cmn_http_req rq = {0};
    rq.method = "POST";
    rq.url = url;
    if (s->cfg->sync_token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->cfg->sync_token);
        rq.headers[rq.nheaders++] = auth;
    }
    rq.headers[rq.nheaders++] = "Content-Type: application/json";
    rq.body = "{}";
    rq.body_len = 2;
    rq.timeout_ms = 5000;
    rq.connect_timeout_ms = 2000;
    struct cmn_http_resp rs;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = cmn_http_perform(h, &rq, &rs, &eb);
    cmn_wipe(auth, sizeof(auth));
    long status = rs.status;
    if (rc != CMN_OK || status < 200 || status >= 300) {
        atomic_fetch_add(&s->m.edge_notify_errors, 1);
        cmn_warn("edge notify '%s' failed: %s (HTTP %ld)", url, rc != CMN_OK ? cmn_errmsg(&eb, rc) : "status", status);
    } else {
        atomic_fetch_add(&s->m.edge_notifies, 1);
        cmn_debug("edge notify '%s': HTTP %ld", url, status);
    }
    cmn_http_resp_release(&rs);
}

static void *notify_main(void *arg)
{
    struct pub_srv *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->notify_pending && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stopping)
            break;
        s->notify_pending = 0;
        pthread_mutex_unlock(&s->mu);
        char *list = strdup(s->cfg->edge_urls ? s->cfg->edge_urls : "");
        char *save = NULL;
        struct cmn_http *h = NULL;
        struct cmn_errbuf eb = {0};
        if (cmn_http_new(&h, &eb)) {
            atomic_fetch_add(&s->m.edge_notify_errors, 1);
            cmn_warn("edge notify: %s", eb.msg);
        }
        for (char *u = list && h ? strtok_r(list, ",", &save) : NULL; u; u = strtok_r(NULL, ",", &save)) {
            while (*u == ' ')
                u++;
            if (*u)
                notify_one(s, h, u);
        }
        cmn_http_free(h);
        free(list);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void pub_notify_edges(struct pub_srv *s, void *arg)
{
    if (!s->cfg->edge_urls || !*s->cfg->edge_urls)
        return;
    pthread_mutex_lock(&s->mu);
    s->notify_pending = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void pub_manifest_changed(struct pub_srv *s, void *arg)
{
    pub_notify_edges(s, arg);
    pub_snapshot_changed(s);
}

static void *job_main(void *arg)
{
    struct pub_srv *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->cfg->resign_interval;
        while (!s->stopping) {
            if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
                break;
        }
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->mu);
        pub_reconcile(s, 0);
        pub_resign_expiring(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/*
 * The patch worker (patchjob.c): runs due patch jobs one after the other,
 * then sleeps until a release is committed (pub_patch_kick) or a retry may be
 * due (every min(resign_interval, patch_retry_delay) seconds). Stopping
 * waits for the job in progress to finish.
 */
static int is_stopping(struct pub_srv *s)
{
    pthread_mutex_lock(&s->mu);
    int v = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static void *patch_main(void *arg)
{
    struct pub_srv *s = arg;
    pub_patch_cleanup(pub_spool_dir(s));
    long every =
        s->cfg->resign_interval < s->cfg->patch_retry_delay ? s->cfg->resign_interval : s->cfg->patch_retry_delay;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        s->patch_pending = 0;
        pthread_mutex_unlock(&s->mu);
        int ran;
        do
            ran = pub_patch_run_once(s);
        while (ran == 1 && !is_stopping(s));
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += every;
        while (!s->stopping && !s->patch_pending) {
            if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

enum cmn_err pub_jobs_start(struct pub_srv *s)
{
    if (pthread_create(&s->job_thread, NULL, job_main, s))
        return CMN_E_NOMEM;
    if (pthread_create(&s->notify_thread, NULL, notify_main, s)) {
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->job_thread, NULL);
        return CMN_E_NOMEM;
    }
    s->threads_started = 1;
    if (pthread_create(&s->patch_thread, NULL, patch_main, s) == 0)
        s->patch_started = 1;
    else
        cmn_warn("cannot start the patch worker; releases are served with full bundles only");
    if (s->cfg->snapshot_interval > 0) {
        snap.stop = 0;
        if (pthread_create(&snap.th, NULL, snapshot_main, s) == 0)
            snap.started = 1;
        else
            cmn_warn("cannot start the snapshot writer; edges start from a listing");
    }
    return CMN_OK;
}

void pub_jobs_stop(struct pub_srv *s)
{
    if (!s->threads_started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->job_thread, NULL);
    pthread_join(s->notify_thread, NULL);
    if (s->patch_started) {
        pthread_join(s->patch_thread, NULL);
        s->patch_started = 0;
    }
    s->threads_started = 0;
    if (snap.started) {
        pthread_mutex_lock(&snap.mu);
        snap.stop = 1;
        pthread_cond_broadcast(&snap.cv);
        pthread_mutex_unlock(&snap.mu);
        pthread_join(snap.th, NULL);
        snap.started = 0;
    }
}
