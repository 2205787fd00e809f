/*
 * metrics.c - Prometheus counters without contention. Each worker thread owns
 * one cache-line-aligned struct edge_metrics and is its only writer (relaxed
 * atomic stores, so the scraper's relaxed loads never see torn values); a
 * scrape sums every registered struct. Registration happens at thread start
 * and is the only locked path.
 */
#include "common/compat.h"

#include "common/prom.h"
#include "edge.h"

#define MAX_THREADS 256

static struct edge_metrics *registry[MAX_THREADS];
static size_t n_registered;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct edge_metrics overflow; /* shared by threads past MAX_THREADS (still atomic) */

/* Upper bounds in nanoseconds; the last bucket is +Inf. */
static const uint64_t bounds_ns[EDGE_LAT_BUCKETS] = {
    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 50000000, 250000000,
};

static const char *const ep_names[EDGE_EP__COUNT] = {
    "check",   "update_check",      "firmware_check", "manifest", "sync",  "healthz",
    "metrics", "firmware_download", "device_status",  "codepush", "other",
};

static const char *const out_names[EDGE_OUT__COUNT] = {
    "update", "rollback", "none", "bad_request", "not_found", "expired", "error",
};

struct edge_metrics *edge_metrics_register(void)
{
    struct edge_metrics *m = NULL;
    pthread_mutex_lock(&reg_mu);
    if (n_registered < MAX_THREADS && posix_memalign((void **)&m, 64, sizeof(*m)) == 0) {
        memset(m, 0, sizeof(*m));
        registry[n_registered++] = m;
    }
    pthread_mutex_unlock(&reg_mu);
    return m ? m : &overflow;
}

/*
 * One writer per struct (its worker): a relaxed load + store is enough and
 * avoids a locked instruction per counter on the request path; the scraper's
 * relaxed loads still never see a torn value. The shared overflow struct
 * (threads past MAX_THREADS) is the exception and uses a real atomic add.
 */
static void add(uint64_t *p, uint64_t v)
{
    if (p >= (uint64_t *)&overflow && p < (uint64_t *)(&overflow + 1))
        __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    else
        __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void edge_metrics_observe(struct edge_metrics *m, enum edge_endpoint ep, uint64_t ns)
{
    size_t b = 0;
    while (b < EDGE_LAT_BUCKETS && ns > bounds_ns[b])
        b++;
    add(&m->requests[ep], 1);
    add(&m->lat[b], 1);
    add(&m->lat_sum_ns, ns);
}

void edge_metrics_count(struct edge_metrics *m, enum edge_outcome o)
{
    add(&m->checks[o], 1);
}

enum cmn_err edge_metrics_render(struct cmn_buf *out, const struct edge_sync_state *ss, int64_t now, size_t n_manifests,
                                 const struct edge_relay_stats *rl)
{
    struct edge_metrics sum;
    memset(&sum, 0, sizeof(sum));
    pthread_mutex_lock(&reg_mu);
    size_t n = n_registered;
    pthread_mutex_unlock(&reg_mu);
    for (size_t t = 0; t <= n; t++) {
        const struct edge_metrics *m = t < n ? registry[t] : &overflow;
        for (size_t i = 0; i < EDGE_EP__COUNT; i++)
            sum.requests[i] += get(&m->requests[i]);
        for (size_t i = 0; i < EDGE_OUT__COUNT; i++)
            sum.checks[i] += get(&m->checks[i]);
        for (size_t i = 0; i <= EDGE_LAT_BUCKETS; i++)
            sum.lat[i] += get(&m->lat[i]);
        sum.lat_sum_ns += get(&m->lat_sum_ns);
        sum.bad_http += get(&m->bad_http);
        sum.conns_accepted += get(&m->conns_accepted);
        sum.conns_timed_out += get(&m->conns_timed_out);
        sum.conns_refused_per_ip += get(&m->conns_refused_per_ip);
    }

    struct cmn_prom p;
    cmn_prom_init(&p, out);
    cmn_prom_family(&p, "hotpatch_edge_checks_total", "counter", "Update checks by outcome.");
    for (size_t i = 0; i < EDGE_OUT__COUNT; i++)
        cmn_prom_u64(&p, "hotpatch_edge_checks_total", "outcome", out_names[i], sum.checks[i]);
    cmn_prom_family(&p, "hotpatch_edge_requests_total", "counter", "HTTP requests by endpoint.");
    for (size_t i = 0; i < EDGE_EP__COUNT; i++)
        cmn_prom_u64(&p, "hotpatch_edge_requests_total", "endpoint", ep_names[i], sum.requests[i]);
    cmn_prom_family(&p, "hotpatch_edge_request_duration_seconds", "histogram",
                    "Time from a parsed request to its queued response.");
    double bounds_s[EDGE_LAT_BUCKETS];
    for (size_t i = 0; i < EDGE_LAT_BUCKETS; i++)
        bounds_s[i] = (double)bounds_ns[i] / 1e9;
    cmn_prom_histogram(&p, "hotpatch_edge_request_duration_seconds", bounds_s, sum.lat, EDGE_LAT_BUCKETS,
                       (double)sum.lat_sum_ns / 1e9);
    cmn_prom_family(&p, "hotpatch_edge_bad_http_requests_total", "counter", "Malformed or oversized HTTP requests.");
    cmn_prom_u64(&p, "hotpatch_edge_bad_http_requests_total", NULL, NULL, sum.bad_http);
    cmn_prom_family(&p, "hotpatch_edge_connections_total", "counter", NULL);
    cmn_prom_u64(&p, "hotpatch_edge_connections_total", NULL, NULL, sum.conns_accepted);
    cmn_prom_family(&p, "hotpatch_edge_connections_timed_out_total", "counter", NULL);
    cmn_prom_u64(&p, "hotpatch_edge_connections_timed_out_total", NULL, NULL, sum.conns_timed_out);
    cmn_prom_family(&p, "hotpatch_edge_connections_refused_per_ip_total", "counter",
                    "Connections closed at accept: their client address had --max-conns-per-ip open.");
    cmn_prom_u64(&p, "hotpatch_edge_connections_refused_per_ip_total", NULL, NULL, sum.conns_refused_per_ip);
    cmn_prom_family(&p, "hotpatch_edge_manifests", "gauge", "Channels in the index.");
    cmn_prom_u64(&p, "hotpatch_edge_manifests", NULL, NULL, n_manifests);

    if (rl) {
        cmn_prom_family(&p, "hotpatch_edge_relay_queue_depth", "gauge",
                        "Telemetry reports waiting for (or being sent to) the publisher.");
        cmn_prom_u64(&p, "hotpatch_edge_relay_queue_depth", NULL, NULL, rl->queued);
        cmn_prom_family(&p, "hotpatch_edge_relay_queue_capacity", "gauge", "--relay-queue.");
        cmn_prom_u64(&p, "hotpatch_edge_relay_queue_capacity", NULL, NULL, rl->capacity);
        cmn_prom_family(&p, "hotpatch_edge_relay_reports_total", "counter",
                        "Device telemetry reports relayed to the publisher, by result.");
        cmn_prom_u64(&p, "hotpatch_edge_relay_reports_total", "result", "queued", rl->enqueued);
        cmn_prom_u64(&p, "hotpatch_edge_relay_reports_total", "result", "sent", rl->sent);
        cmn_prom_u64(&p, "hotpatch_edge_relay_reports_total", "result", "failed", rl->failed);
        cmn_prom_u64(&p, "hotpatch_edge_relay_reports_total", "result", "dropped", rl->dropped);
        cmn_prom_u64(&p, "hotpatch_edge_relay_reports_total", "result", "rate_limited", rl->rate_limited);
    }
    if (ss) {
        const struct edge_sync_state c = *ss; /* a snapshot the caller took */
        cmn_prom_family(&p, "hotpatch_edge_sync_age_seconds", "gauge",
                        "Seconds since the last successful sync pass (-1: never).");
        cmn_prom_i64(&p, "hotpatch_edge_sync_age_seconds", NULL, NULL, c.last_ok ? (int64_t)(now - c.last_ok) : -1);
        cmn_prom_family(&p, "hotpatch_edge_sync_passes_total", "counter", NULL);
        cmn_prom_u64(&p, "hotpatch_edge_sync_passes_total", NULL, NULL, c.passes);
        cmn_prom_family(&p, "hotpatch_edge_sync_failures_total", "counter",
                        "Sync passes that failed (storage or index errors).");
        cmn_prom_u64(&p, "hotpatch_edge_sync_failures_total", NULL, NULL, c.failures);
        cmn_prom_family(&p, "hotpatch_edge_sync_rejected_total", "counter",
                        "Manifests and lists refused by verification.");
        cmn_prom_u64(&p, "hotpatch_edge_sync_rejected_total", NULL, NULL, c.rejected);
        cmn_prom_family(&p, "hotpatch_edge_storage_requests_total", "counter", "Storage requests sent by sync passes.");
        cmn_prom_u64(&p, "hotpatch_edge_storage_requests_total", NULL, NULL, c.storage_requests);
        cmn_prom_family(&p, "hotpatch_edge_sync_full_passes_total", "counter",
                        "Sync passes that listed every manifest.");
        cmn_prom_u64(&p, "hotpatch_edge_sync_full_passes_total", NULL, NULL, c.full_passes);
        cmn_prom_family(&p, "hotpatch_edge_sync_feed_changes_total", "counter",
                        "Sync passes that found the change feed changed.");
        cmn_prom_u64(&p, "hotpatch_edge_sync_feed_changes_total", NULL, NULL, c.feed_changes);
        cmn_prom_family(&p, "hotpatch_edge_snapshot_manifests_total", "counter",
                        "Envelopes loaded from the cold-start snapshot.");
        cmn_prom_u64(&p, "hotpatch_edge_snapshot_manifests_total", NULL, NULL, c.snapshot_loaded);
        cmn_prom_family(&p, "hotpatch_edge_manifests_missing", "gauge",
                        "Manifests the index serves that storage no longer lists (deleted?).");
        cmn_prom_u64(&p, "hotpatch_edge_manifests_missing", NULL, NULL, c.missing);
        cmn_prom_family(&p, "hotpatch_edge_manifests_refused", "gauge",
                        "Manifests whose stored version is refused (the last good one keeps serving).");
        cmn_prom_u64(&p, "hotpatch_edge_manifests_refused", NULL, NULL, c.refused_now);
        if (c.n_roots) {
            cmn_prom_family(&p, "hotpatch_edge_root_version", "gauge",
                            "Version of the root of trust the app's manifests are verified with (--root).");
            for (unsigned i = 0; i < c.n_roots && i < EDGE_MAX_ROOTS; i++)
                cmn_prom_u64(&p, "hotpatch_edge_root_version", "app", c.roots[i].app, c.roots[i].version);
            cmn_prom_family(&p, "hotpatch_edge_root_expires_at_seconds", "gauge",
                            "Unix time at which that root expires (a newer one must be published before).");
            for (unsigned i = 0; i < c.n_roots && i < EDGE_MAX_ROOTS; i++)
                cmn_prom_i64(&p, "hotpatch_edge_root_expires_at_seconds", "app", c.roots[i].app, c.roots[i].expires_at);
        }
    }
    return cmn_prom_done(&p);
}
