/*
 * metrics.c - Prometheus counters without contention. Each worker thread owns
 * one cache-line-aligned struct edge_metrics and is its only writer (relaxed
 * atomic stores, so the scraper's relaxed loads never see torn values); a
 * scrape sums every registered struct. Registration happens at thread start
 * and is the only locked path.
 */
#include "common/compat.h"

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
    "check", "update_check", "firmware_check", "manifest", "sync", "healthz", "metrics", "other",
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

enum cmn_err edge_metrics_render(struct cmn_buf *out, const struct edge_sync_state *ss, int64_t now, size_t n_manifests)
{
    struct edge_metrics sum;
    enum cmn_err rc = CMN_OK;
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

#define ADDF(...)                                                                                                      \
    do {                                                                                                               \
        if ((rc = cmn_buf_addf(out, __VA_ARGS__)) != 0)                                                                \
            return rc;                                                                                                 \
    } while (0)

    ADDF("# HELP hotpatch_edge_checks_total Update checks by outcome.\n"
         "# TYPE hotpatch_edge_checks_total counter\n");
    for (size_t i = 0; i < EDGE_OUT__COUNT; i++)
        ADDF("hotpatch_edge_checks_total{outcome=\"%s\"} %llu\n", out_names[i], (unsigned long long)sum.checks[i]);
    ADDF("# HELP hotpatch_edge_requests_total HTTP requests by endpoint.\n"
         "# TYPE hotpatch_edge_requests_total counter\n");
    for (size_t i = 0; i < EDGE_EP__COUNT; i++)
        ADDF("hotpatch_edge_requests_total{endpoint=\"%s\"} %llu\n", ep_names[i], (unsigned long long)sum.requests[i]);
    ADDF("# HELP hotpatch_edge_request_duration_seconds Time from a parsed request to its queued response.\n"
         "# TYPE hotpatch_edge_request_duration_seconds histogram\n");
    uint64_t cum = 0, total = 0;
    for (size_t i = 0; i < EDGE_LAT_BUCKETS; i++) {
        cum += sum.lat[i];
        ADDF("hotpatch_edge_request_duration_seconds_bucket{le=\"%g\"} %llu\n", (double)bounds_ns[i] / 1e9,
             (unsigned long long)cum);
    }
    total = cum + sum.lat[EDGE_LAT_BUCKETS];
    ADDF("hotpatch_edge_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)total);
    ADDF("hotpatch_edge_request_duration_seconds_sum %.9f\n", (double)sum.lat_sum_ns / 1e9);
    ADDF("hotpatch_edge_request_duration_seconds_count %llu\n", (unsigned long long)total);
    ADDF("# HELP hotpatch_edge_bad_http_requests_total Malformed or oversized HTTP requests.\n"
         "# TYPE hotpatch_edge_bad_http_requests_total counter\n"
         "hotpatch_edge_bad_http_requests_total %llu\n",
         (unsigned long long)sum.bad_http);
    ADDF("# TYPE hotpatch_edge_connections_total counter\nhotpatch_edge_connections_total %llu\n",
         (unsigned long long)sum.conns_accepted);
    ADDF("# TYPE hotpatch_edge_connections_timed_out_total counter\nhotpatch_edge_connections_timed_out_total %llu\n",
         (unsigned long long)sum.conns_timed_out);
    ADDF("# HELP hotpatch_edge_connections_refused_per_ip_total Connections closed at accept: their client address "
         "had --max-conns-per-ip open.\n# TYPE hotpatch_edge_connections_refused_per_ip_total counter\n"
         "hotpatch_edge_connections_refused_per_ip_total %llu\n",
         (unsigned long long)sum.conns_refused_per_ip);
    ADDF("# HELP hotpatch_edge_manifests Channels in the index.\n# TYPE hotpatch_edge_manifests gauge\n"
         "hotpatch_edge_manifests %zu\n",
         n_manifests);

    if (ss) {
        const struct edge_sync_state c = *ss; /* a snapshot the caller took */
        ADDF("# HELP hotpatch_edge_sync_age_seconds Seconds since the last successful sync pass (-1: never).\n"
             "# TYPE hotpatch_edge_sync_age_seconds gauge\nhotpatch_edge_sync_age_seconds %lld\n",
             c.last_ok ? (long long)(now - c.last_ok) : -1LL);
        ADDF("# TYPE hotpatch_edge_sync_passes_total counter\nhotpatch_edge_sync_passes_total %llu\n",
             (unsigned long long)c.passes);
        ADDF("# HELP hotpatch_edge_sync_failures_total Sync passes that failed (storage or index errors).\n"
             "# TYPE hotpatch_edge_sync_failures_total counter\nhotpatch_edge_sync_failures_total %llu\n",
             (unsigned long long)c.failures);
        ADDF("# HELP hotpatch_edge_sync_rejected_total Manifests and lists refused by verification.\n"
             "# TYPE hotpatch_edge_sync_rejected_total counter\nhotpatch_edge_sync_rejected_total %llu\n",
             (unsigned long long)c.rejected);
        ADDF("# HELP hotpatch_edge_manifests_missing Manifests the index serves that storage no longer lists "
             "(deleted?).\n# TYPE hotpatch_edge_manifests_missing gauge\nhotpatch_edge_manifests_missing %u\n",
             c.missing);
        ADDF("# HELP hotpatch_edge_manifests_refused Manifests whose stored version is refused (the last good one "
             "keeps serving).\n# TYPE hotpatch_edge_manifests_refused gauge\nhotpatch_edge_manifests_refused %u\n",
             c.refused_now);
    }
#undef ADDF
    return rc;
}
