/*
 * jobs.c - the publisher's two background threads.
 *
 * The maintenance loop wakes every resign_interval seconds: it re-publishes
 * channels still marked dirty (a publish that failed because storage was
 * down, or a crash between commit and publish) and re-signs manifests whose
 * expiry is less than half the TTL away, so devices never see an expired
 * manifest while the publisher runs.
 *
 * The notifier tells the edges to resync (POST <edge>/v1/sync with Bearer
 * HOTPATCH_SYNC_TOKEN) after a manifest changes. Requests are coalesced (one
 * round for any number of publishes while a round is running) and best
 * effort: a failure is logged and counted, and edges also poll storage.
 * publish.c does not call the notifier: it calls the context's notify hook
 * (pub_notify), which main.c points at pub_notify_edges.
 */
#include "common/compat.h"

#include "common/http.h"
#include "common/log.h"
#include "pub.h"

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
    s->threads_started = 0;
}
