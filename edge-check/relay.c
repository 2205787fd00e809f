/*
 * relay.c - best-effort forwarding of device telemetry from the edge to the
 * publisher. Devices that only know the edge (seed 002's ESP firmware posting
 * update-status, CodePush apps posting report_status) hand their reports to
 * a request handler, which translates them into the publisher's own telemetry
 * JSON and calls edge_relay_enqueue(): the body is copied into a bounded
 * queue and the handler answers at once. One worker thread POSTs the queue,
 * oldest first, to --publisher-url + path through the shared client
 * (common/http.c). Telemetry is best effort: a full queue drops the new item
 * (counted), a failed POST is counted and not retried past the client's own
 * single retry, so a slow or dead publisher never holds a device's check or
 * grows the edge's memory. Request handlers call edge_relay_admit() first: a
 * token bucket per client address (collisions share a bucket, which only
 * makes the limit stricter) keeps one address from filling the queue.
 * The Lambda runtime calls edge_relay_drain() after each response, before it
 * asks for the next event: a frozen sandbox would otherwise hold reports.
 */
#include "common/compat.h"

#include <pthread.h>

#include "common/http.h"
#include "common/log.h"
#include "edge.h"

#define RL_SLOTS 4096 /* token buckets, by client address hash */

struct item {
    char path[EDGE_RELAY_PATH_MAX + 1];
    char *body;
    size_t len;
};

struct bucket {
    double tokens;
    int64_t at_ms; /* last refill; 0 = never used (full) */
};

struct edge_relay {
    char *base; /* publisher URL without a trailing '/' */
    long timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started, stop;
    struct item *q; /* ring of cap items */
    size_t cap, head, n;
    double rate, burst;
    struct bucket *b;
    /* counters, under mu */
    uint64_t enqueued, sent, failed, dropped, limited, busy;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* common/http.c calls this about once a second and while sending: abort the POST when the edge stops. */
static int cancelled(void *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    struct edge_relay *r = ctx;
    (void)a, (void)b, (void)c, (void)d;
    return __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
}

static void post_one(struct edge_relay *r, struct cmn_http *h, const struct item *it)
{
    char url[1024 + EDGE_RELAY_PATH_MAX];
    snprintf(url, sizeof(url), "%s%s", r->base, it->path);
    struct cmn_http_req rq = {.method = "POST",
                              .url = url,
                              .headers = {"Content-Type: application/json"},
                              .nheaders = 1,
                              .body = it->body,
                              .body_len = it->len,
                              .user_agent = "hotpatch-edge-relay",
                              .timeout_ms = r->timeout_ms,
                              .connect_timeout_ms = r->timeout_ms < 10000 ? r->timeout_ms : 10000,
                              .max_retries = 1,
                              .progress = cancelled,
                              .progress_ctx = r};
    struct cmn_http_resp rs;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cmn_http_perform(h, &rq, &rs, &eb);
    int good = rc == CMN_OK && rs.status >= 200 && rs.status < 300;
    if (!good) {
        /* one line per failure at debug level: a dead publisher must not flood the log */
        if (rc)
            cmn_debug("relay: POST %s failed: %s", it->path, cmn_errmsg(&eb, rc));
        else
            cmn_debug("relay: POST %s answered %ld: %.*s", it->path, rs.status,
                      (int)(rs.err_body.len > 200 ? 200 : rs.err_body.len), rs.err_body.ptr ? rs.err_body.ptr : "");
    }
    cmn_http_resp_release(&rs);
    pthread_mutex_lock(&r->mu);
    if (good)
        r->sent++;
    else
        r->failed++;
    pthread_mutex_unlock(&r->mu);
}

static void *relay_main(void *arg)
{
    struct edge_relay *r = arg;
    struct cmn_http *h = NULL;
    struct cmn_errbuf eb = {{0}};
    if (cmn_http_new(&h, &eb) != CMN_OK) {
        cmn_error("relay: cannot create the HTTP client: %s", eb.msg);
        h = NULL;
    }
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->stop && r->n == 0)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break;
        struct item it = r->q[r->head];
        r->q[r->head].body = NULL;
        r->head = (r->head + 1) % r->cap;
        r->n--;
        r->busy = 1;
        pthread_mutex_unlock(&r->mu);
        if (h) {
            post_one(r, h, &it);
        } else {
            pthread_mutex_lock(&r->mu);
            r->failed++;
            pthread_mutex_unlock(&r->mu);
        }
        free(it.body);
        pthread_mutex_lock(&r->mu);
        r->busy = 0;
    }
    pthread_mutex_unlock(&r->mu);
    cmn_http_free(h);
    return NULL;
}

/* Free what edge_relay_start allocated (the thread is not running, or joined). */
static void relay_free(struct edge_relay *r)
{
    free(r->base);
    free(r->q);
    free(r->b);
    free(r);
}

enum cmn_err edge_relay_start(struct edge_relay **out, const struct edge_relay_opts *o, struct cmn_errbuf *eb)
{
    if (!o->base_url || (strncmp(o->base_url, "http://", 7) != 0 && strncmp(o->base_url, "https://", 8) != 0) ||
        strlen(o->base_url) > 1000)
        return cmn_errf(eb, CMN_E_INVAL, "--publisher-url wants an http:// or https:// URL (up to 1000 bytes)");
    struct edge_relay *r = calloc(1, sizeof(*r));
    if (!r)
        return CMN_E_NOMEM;
    r->base = strdup(o->base_url);
    r->cap = o->queue_max ? o->queue_max : EDGE_RELAY_QUEUE_DEFAULT;
    r->q = calloc(r->cap, sizeof(*r->q));
    r->b = calloc(RL_SLOTS, sizeof(*r->b));
    if (!r->base || !r->q || !r->b) {
        relay_free(r);
        return CMN_E_NOMEM;
    }
    size_t bl = strlen(r->base);
    while (bl > 0 && r->base[bl - 1] == '/')
        r->base[--bl] = '\0';
    r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    r->rate = o->rate_per_s > 0 ? o->rate_per_s : EDGE_RELAY_RATE_DEFAULT;
    r->burst = o->burst > 0 ? o->burst : 2 * r->rate;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->th, NULL, relay_main, r) != 0) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        relay_free(r);
        return cmn_errf(eb, CMN_E_IO, "cannot start the relay thread");
    }
    r->started = 1;
    *out = r;
    return CMN_OK;
}

int edge_relay_enqueue(struct edge_relay *r, const char *path, const char *json, size_t len)
{
    size_t pl = path ? strlen(path) : 0;
    if (!r || pl == 0 || pl > EDGE_RELAY_PATH_MAX || path[0] != '/' || len > EDGE_RELAY_BODY_MAX)
        return EDGE_RELAY_INVAL;
    char *copy = malloc(len + 1);
    if (!copy) {
        pthread_mutex_lock(&r->mu);
        r->dropped++;
        pthread_mutex_unlock(&r->mu);
        return EDGE_RELAY_FULL;
    }
    memcpy(copy, json, len);
    copy[len] = '\0';
    pthread_mutex_lock(&r->mu);
    if (r->n == r->cap || r->stop) {
        r->dropped++;
        pthread_mutex_unlock(&r->mu);
        free(copy);
        return EDGE_RELAY_FULL;
    }
    struct item *it = &r->q[(r->head + r->n) % r->cap];
    memcpy(it->path, path, pl + 1);
    it->body = copy;
    it->len = len;
    r->n++;
    r->enqueued++;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return EDGE_RELAY_QUEUED;
}

long edge_relay_admit(struct edge_relay *r, uint32_t client)
{
    if (!r)
        return 0;
    uint32_t h = (client ^ 2166136261u) * 16777619u;
    struct bucket *b = &r->b[(h ^ (h >> 16)) % RL_SLOTS];
    int64_t t = now_ms();
    long wait = 0;
    pthread_mutex_lock(&r->mu);
    if (!b->at_ms) {
        b->tokens = r->burst;
    } else {
        b->tokens += (double)(t - b->at_ms) * r->rate / 1000.0;
        if (b->tokens > r->burst)
            b->tokens = r->burst;
    }
    b->at_ms = t ? t : 1;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        wait = (long)((1.0 - b->tokens) / r->rate) + 1;
        r->limited++;
    }
    pthread_mutex_unlock(&r->mu);
    return wait;
}

size_t edge_relay_drain(struct edge_relay *r, long timeout_ms)
{
    if (!r)
        return 0;
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        size_t left = r->n + r->busy;
        pthread_mutex_unlock(&r->mu);
        if (left == 0 || now_ms() >= end)
            return left;
        struct timespec ts = {0, 5 * 1000000L}; /* the worker posts one report at a time: poll, never spin */
        nanosleep(&ts, NULL);
    }
}

void edge_relay_stats(struct edge_relay *r, struct edge_relay_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    out->queued = r->n + r->busy;
    out->capacity = r->cap;
    out->enqueued = r->enqueued;
    out->sent = r->sent;
    out->failed = r->failed;
    out->dropped = r->dropped;
    out->rate_limited = r->limited;
    pthread_mutex_unlock(&r->mu);
}

void edge_relay_stop(struct edge_relay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    __atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->started)
        pthread_join(r->th, NULL);
    if (r->n)
        cmn_info("relay: %zu queued telemetry reports dropped at shutdown", r->n);
    for (size_t i = 0; i < r->n; i++)
        free(r->q[(r->head + i) % r->cap].body);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    relay_free(r);
}
