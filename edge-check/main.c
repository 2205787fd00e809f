/*
 * main.c - hotpatch-edge: options, subcommands, the sync thread and signals.
 *
 *   hotpatch-edge [serve]            HTTP server + background sync (default)
 *   hotpatch-edge sync               one sync pass into the index, then exit
 *   hotpatch-edge load-list NAME FILE  load a targeting list into the index
 *   hotpatch-edge lambda             AWS Lambda custom runtime (also chosen
 *                                    when AWS_LAMBDA_RUNTIME_API is set)
 *
 * The server answers from the LMDB index from the first moment (a restart
 * serves what the last run synced); the sync thread runs a pass at start, then
 * every --poll-interval, and at once on SIGHUP or an authenticated
 * POST /v1/sync.
 */
#include "common/compat.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "common/ticket.h"
#include "edge.h"
#include "hotpatch_version.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: hotpatch-edge [options] [serve]\n"
               "       hotpatch-edge [options] sync\n"
               "       hotpatch-edge [options] load-list NAME FILE\n"
               "       hotpatch-edge [options] lambda\n"
               "\n"
               "Answers device update checks from an LMDB index kept in sync with the signed\n"
               "manifests in storage (see docs/edge.md).\n"
               "\n"
               "options:\n"
               "  --listen HOST:PORT      HTTP address; [IPV6]:PORT for IPv6 (IPv6-only sockets);\n"
               "                          repeatable, up to 8 (default 127.0.0.1:8081)\n"
               "  --threads N             worker threads (default: usable CPUs)\n"
               "  --data-dir DIR          LMDB index directory (default ./hotpatch-edge-data;\n"
               "                          /tmp/hotpatch-edge in Lambda mode)\n"
               "  --source URL            file:///dir or s3://bucket/prefix (env HOTPATCH_STORAGE)\n"
               "  --trusted-key B64[,B64] manifest public keys (env HOTPATCH_TRUSTED_KEYS); repeatable\n"
               "  --root FILE             an app's initial signed root of trust: its manifests are\n"
               "                          verified with the keys of the newest root in storage\n"
               "                          (roots/<app>/<N>.json) instead of --trusted-key; repeatable\n"
               "  --poll-interval SECS    sync period (default 5; fractions allowed)\n"
               "  --full-sync-interval SECS  list every manifest at least this often; between\n"
               "                          listings the change feed says what changed (default 600;\n"
               "                          0 = list on every pass, feed and snapshot unused)\n"
               "  --ticket-key FILE       Ed25519 secret key file: sign a telemetry ticket (X-HotPatch-Ticket)\n"
               "                          for every release offered (env HOTPATCH_TICKET_KEY)\n"
               "  --ticket-ttl SECS       ticket lifetime (default 604800, 7 days)\n"
               "  --public-base URL       prefix for relative bundle URLs in /update/check and\n"
               "                          /api/firmware/check answers\n"
               "  --device-model M=APP[/PLATFORM[/CHANNEL]]\n"
               "                          seed 002 devices of model M check APP/PLATFORM/CHANNEL\n"
               "                          (default: app M, platform firmware, channel production);\n"
               "                          repeatable (up to 32)\n"
               "  --publisher-url URL     relay device telemetry POSTs (seed 002 update-status, CodePush\n"
               "                          report_status) to this publisher's POST /v1/installations\n"
               "  --relay-queue N         reports queued for the publisher at most (default 1024)\n"
               "  --relay-rate N          relayed reports per second per client address (default 10,\n"
               "                          burst twice that)\n"
               "  --idle-timeout SECS     close idle keep-alive connections (default 60)\n"
               "  --header-timeout SECS   close connections stuck mid-request (default 10)\n"
               "  --max-conns N           connections per worker (default 10000)\n"
               "  --max-conns-per-ip N    connections from one client address, all workers (default 256)\n"
               "  --map-size MIB          LMDB map size (default 4096)\n"
               "  --refresh SECS          Lambda: resync when the index is older (default 30)\n"
               "  --log-level LEVEL       debug|info|warn|error (default info)\n"
               "  --log-json              JSON log lines\n"
               "  --json                  machine-readable output (sync, load-list)\n"
               "  -h, --help              this text\n"
               "  --version               print the version\n"
               "\n"
               "environment: HOTPATCH_STORAGE, HOTPATCH_TRUSTED_KEYS, HOTPATCH_SYNC_TOKEN (enables\n"
               "POST /v1/sync), HOTPATCH_S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID,\n"
               "AWS_SECRET_ACCESS_KEY, AWS_LAMBDA_RUNTIME_API\n");
}

/* ---- trusted keys ---- */

static int add_keys(struct edge_config *cfg, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -1;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        struct cmn_key *nk = realloc(cfg->keys, (cfg->n_keys + 1) * sizeof(*nk));
        struct cmn_errbuf eb = {{0}};
        if (!nk) {
            free(copy);
            return -1;
        }
        cfg->keys = nk;
        enum cmn_err rc = cmn_key_from_public_b64(tok, &cfg->keys[cfg->n_keys], &eb);
        if (rc) {
            fprintf(stderr, "hotpatch-edge: invalid trusted key '%s': %s\n", tok, cmn_errmsg(&eb, rc));
            free(copy);
            return -1;
        }
        cfg->n_keys++;
    }
    free(copy);
    return 0;
}

/* ---- the sync thread ---- */

struct syncer {
    struct edge_sync s;
    struct edge_sync_state *ss;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t requested; /* run until this pass number is done */
    uint64_t done;
    int running;
    int stop;
    int poll_ms;
};

static uint64_t syncer_trigger(void *arg)
{
    struct syncer *y = arg;
    pthread_mutex_lock(&y->mu);
    /* a pass already running may have listed storage before the caller's change */
    uint64_t want = y->done + (y->running ? 2 : 1);
    if (y->requested < want)
        y->requested = want;
    pthread_cond_signal(&y->cv);
    pthread_mutex_unlock(&y->mu);
    return want;
}

/* The roots of trust as they are now (also after a failed pass: a walk may have advanced before it). */
static void record_roots(struct edge_sync_state *ss, const struct edge_sync *s)
{
    pthread_mutex_lock(&ss->mu);
    ss->n_roots = (unsigned)edge_roots_info(s, ss->roots, EDGE_MAX_ROOTS);
    pthread_mutex_unlock(&ss->mu);
}

static void record_pass(struct edge_sync_state *ss, enum cmn_err rc, const struct edge_sync_stats *st,
                        const struct cmn_errbuf *eb, int64_t now, uint64_t pass)
{
    pthread_mutex_lock(&ss->mu);
    ss->last_at = now;
    ss->passes = pass;
    ss->rejected += st->rejected + st->lists_rejected;
    ss->storage_requests += st->requests;
    ss->full_passes += st->full;
    ss->feed_changes += st->feed == 2;
    ss->snapshot_loaded += st->snapshot;
    ss->last_rc = rc;
    if (!rc) { /* a failed pass proves nothing about the objects: keep the last pass's view */
        ss->missing = st->missing;
        ss->refused_now = st->refused_now;
        ss->n_problems = st->n_problems;
        memcpy(ss->problems, st->problems, sizeof(ss->problems));
    }
    if (rc) {
        ss->failures++;
        snprintf(ss->last_msg, sizeof(ss->last_msg), "%s", cmn_errmsg(eb, rc));
    } else {
        ss->last_ok = now;
        snprintf(ss->last_msg, sizeof(ss->last_msg), "ok");
    }
    pthread_mutex_unlock(&ss->mu);
}

static void *syncer_main(void *arg)
{
    struct syncer *y = arg;
    pthread_mutex_lock(&y->mu);
    for (;;) {
        if (y->stop)
            break;
        if (y->requested <= y->done) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += y->poll_ms / 1000;
            dl.tv_nsec += (long)(y->poll_ms % 1000) * 1000000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            int wrc = 0;
            while (!y->stop && y->requested <= y->done && wrc == 0)
                wrc = pthread_cond_timedwait(&y->cv, &y->mu, &dl);
            if (y->stop)
                break;
        }
        uint64_t pass = y->done + 1;
        y->running = 1;
        pthread_mutex_unlock(&y->mu);

        struct edge_sync_stats st;
        struct cmn_errbuf eb = {{0}};
        int64_t now = (int64_t)time(NULL);
        enum cmn_err rc = edge_sync_pass(&y->s, now, &st, &eb);
        if (rc)
            cmn_error("sync pass %llu failed: %s", (unsigned long long)pass, cmn_errmsg(&eb, rc));
        else if (st.updated || st.rejected || st.lists_loaded || st.lists_rejected)
            cmn_info("sync pass %llu: %u updated, %u refused, %u lists loaded, %u lists refused",
                     (unsigned long long)pass, st.updated, st.rejected, st.lists_loaded, st.lists_rejected);
        record_pass(y->ss, rc, &st, &eb, now, pass);
        record_roots(y->ss, &y->s);

        pthread_mutex_lock(&y->mu);
        y->running = 0;
        y->done = pass;
    }
    pthread_mutex_unlock(&y->mu);
    return NULL;
}

/* ---- signals ---- */

static volatile int g_stop;

struct sigctx {
    sigset_t set;
    struct syncer *y;
};

static void *signal_main(void *arg)
{
    struct sigctx *sc = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&sc->set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            cmn_info("SIGHUP: sync requested");
            if (sc->y)
                syncer_trigger(sc->y);
            continue;
        }
        cmn_info("signal %d: shutting down", sig);
        g_stop = 1;
        if (sc->y) {
            pthread_mutex_lock(&sc->y->mu);
            sc->y->stop = 1;
            pthread_cond_signal(&sc->y->cv);
            pthread_mutex_unlock(&sc->y->mu);
        }
        return NULL;
    }
}

static int open_storage(const struct edge_config *cfg, struct cmn_storage **st)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cmn_storage_open(cfg->source, NULL, st, &eb);
    if (rc) {
        fprintf(stderr, "hotpatch-edge: cannot open storage '%s': %s\n", cfg->source, cmn_errmsg(&eb, rc));
        return -1;
    }
    return 0;
}

/* --root files into the sync state; 1 after a one-line error. */
static int load_roots(const struct edge_config *cfg, struct edge_sync *s)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = edge_roots_load(s, cfg->root_files, cfg->n_roots, cfg->data_dir, &eb);
    if (rc)
        fprintf(stderr, "hotpatch-edge: --root: %s\n", cmn_errmsg(&eb, rc));
    return rc != CMN_OK;
}

static int cmd_serve(struct edge_config *cfg, struct edge_index *ix)
{
    struct edge_sync_state ss;
    struct syncer y;
    struct sigctx sc;
    pthread_t sync_th, sig_th;
    int have_sync = 0;
    struct cmn_errbuf eb = {{0}};

    memset(&ss, 0, sizeof(ss));
    pthread_mutex_init(&ss.mu, NULL);
    memset(&y, 0, sizeof(y));
    pthread_mutex_init(&y.mu, NULL);
    pthread_cond_init(&y.cv, NULL);
    y.ss = &ss;
    y.poll_ms = cfg->poll_ms;
    y.requested = 1; /* a first pass at start */

    sigemptyset(&sc.set);
    sigaddset(&sc.set, SIGHUP);
    sigaddset(&sc.set, SIGTERM);
    sigaddset(&sc.set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sc.set, NULL); /* every thread created below inherits it */
    signal(SIGPIPE, SIG_IGN);

    if (cfg->source) {
        if (open_storage(cfg, &y.s.st))
            return 6;
        y.s.ix = ix;
        y.s.keyring.keys = cfg->keys;
        y.s.keyring.n = cfg->n_keys;
        if (load_roots(cfg, &y.s))
            return 2;
        record_roots(&ss, &y.s); /* /healthz names them before the first pass ends */
        y.s.full_interval_s = cfg->full_sync_s;
        if (pthread_create(&sync_th, NULL, syncer_main, &y) != 0) {
            fprintf(stderr, "hotpatch-edge: cannot start the sync thread\n");
            return 1;
        }
        have_sync = 1;
    } else {
        cmn_warn("no --source: serving the index as it is, without syncing");
    }
    sc.y = have_sync ? &y : NULL;
    pthread_create(&sig_th, NULL, signal_main, &sc);
    pthread_detach(sig_th);

    enum cmn_err rc = edge_serve(cfg, ix, &ss, have_sync ? syncer_trigger : NULL, &y, &g_stop, &eb);
    if (rc)
        fprintf(stderr, "hotpatch-edge: %s\n", cmn_errmsg(&eb, rc));
    if (have_sync) {
        pthread_mutex_lock(&y.mu);
        y.stop = 1;
        pthread_cond_signal(&y.cv);
        pthread_mutex_unlock(&y.mu);
        /*
         * A pass stuck on a slow storage request must not hold the shutdown:
         * give it a few seconds, then exit anyway (an unfinished LMDB write
         * transaction is simply never committed).
         */
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        if (pthread_timedjoin_np(sync_th, NULL, &dl) != 0) {
            cmn_warn("sync pass still running at shutdown; exiting without waiting for it");
            fflush(NULL);
            _exit(rc ? 1 : 0); /* the index must not be closed under the running pass */
        }
        edge_sync_release(&y.s);
        cmn_storage_free(y.s.st);
    }
    return rc ? 1 : 0;
}

static int cmd_sync(struct edge_config *cfg, struct edge_index *ix)
{
    struct edge_sync s;
    struct edge_sync_stats st;
    struct cmn_errbuf eb = {{0}};
    memset(&s, 0, sizeof(s));
    if (!cfg->source) {
        fprintf(stderr, "hotpatch-edge: sync needs --source or HOTPATCH_STORAGE\n");
        return 2;
    }
    if (open_storage(cfg, &s.st))
        return 6;
    s.ix = ix;
    s.keyring.keys = cfg->keys;
    s.keyring.n = cfg->n_keys;
    if (load_roots(cfg, &s)) {
        edge_sync_release(&s);
        cmn_storage_free(s.st);
        return 2;
    }
    s.full_interval_s = cfg->full_sync_s;
    int64_t now = (int64_t)time(NULL);
    enum cmn_err rc = edge_sync_pass(&s, now, &st, &eb);
    struct edge_root_info roots[EDGE_MAX_ROOTS];
    size_t n_roots = edge_roots_info(&s, roots, EDGE_MAX_ROOTS);
    edge_sync_release(&s);
    cmn_storage_free(s.st);
    if (rc) {
        if (cfg->json)
            printf("{\"ok\":false,\"error\":{\"code\":\"%s\"}}\n", cmn_errname(rc));
        fprintf(stderr, "hotpatch-edge: sync failed: %s\n", cmn_errmsg(&eb, rc));
        return rc == CMN_E_NET || rc == CMN_E_HTTP || rc == CMN_E_DENIED ? 6 : 1;
    }
    if (cfg->json) {
        printf("{\"ok\":true,\"listed\":%u,\"fetched\":%u,\"updated\":%u,\"unchanged\":%u,\"rejected\":%u,"
               "\"lists_loaded\":%u,\"lists_rejected\":%u,\"snapshot\":%u,\"feed\":\"%s\",\"full\":%s,"
               "\"requests\":%u,\"roots\":[",
               st.listed, st.fetched, st.updated, st.unchanged, st.rejected, st.lists_loaded, st.lists_rejected,
               st.snapshot,
               st.feed == 2   ? "changed"
               : st.feed == 1 ? "unchanged"
                              : "unused",
               st.full ? "true" : "false", st.requests);
        /* app ids are identifiers (common/ident.h): nothing in them needs a JSON escape */
        for (size_t i = 0; i < n_roots; i++)
            printf("%s{\"app\":\"%s\",\"version\":%llu,\"expires_at\":%lld,\"expired\":%s}", i ? "," : "", roots[i].app,
                   (unsigned long long)roots[i].version, (long long)roots[i].expires_at,
                   now >= roots[i].expires_at ? "true" : "false");
        printf("]}\n");
    } else {
        printf("sync: %u updated, %u unchanged, %u refused, %u lists loaded, %u lists refused\n", st.updated,
               st.unchanged, st.rejected, st.lists_loaded, st.lists_rejected);
        for (size_t i = 0; i < n_roots; i++) {
            char when[CMN_ISO_TIME_MAX];
            cmn_iso_time(roots[i].expires_at, when, sizeof(when));
            printf("root of trust for app '%s': version %llu, expires %s%s\n", roots[i].app,
                   (unsigned long long)roots[i].version, when, now >= roots[i].expires_at ? " (expired)" : "");
        }
    }
    return 0;
}

static int cmd_load_list(struct edge_config *cfg, struct edge_index *ix, const char *name, const char *path)
{
    struct cmn_errbuf eb = {{0}};
    size_t n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum cmn_err rc = edge_sync_load_list_file(ix, name, path, &n, &eb);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc) {
        if (cfg->json)
            printf("{\"ok\":false,\"error\":{\"code\":\"%s\"}}\n", cmn_errname(rc));
        fprintf(stderr, "hotpatch-edge: load-list failed: %s\n", cmn_errmsg(&eb, rc));
        return rc == CMN_E_INVAL ? 2 : 1;
    }
    if (cfg->json)
        printf("{\"ok\":true,\"list\":\"%s\",\"ids\":%zu,\"seconds\":%.3f}\n", name, n, secs);
    else
        printf("loaded list '%s': %zu device ids in %.2f s\n", name, n, secs);
    return 0;
}

enum {
    O_LISTEN = 1000,
    O_THREADS,
    O_DATA,
    O_SOURCE,
    O_KEY,
    O_ROOT,
    O_POLL,
    O_FULL,
    O_BASE,
    O_MODEL,
    O_PUBURL,
    O_RQUEUE,
    O_RRATE,
    O_IDLE,
    O_HEAD,
    O_MAXC,
    O_MAXIP,
    O_MAP,
    O_REFRESH,
    O_LOGLEVEL,
    O_LOGJSON,
    O_JSON,
    O_TKEY,
    O_TTTL,
};

static int parse_secs(const char *s, int *ms)
{
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end || d < 0.01 || d > 86400)
        return -1;
    *ms = (int)(d * 1000);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, 0, O_LISTEN},
        {"threads", required_argument, 0, O_THREADS},
        {"data-dir", required_argument, 0, O_DATA},
        {"source", required_argument, 0, O_SOURCE},
        {"trusted-key", required_argument, 0, O_KEY},
        {"root", required_argument, 0, O_ROOT},
        {"poll-interval", required_argument, 0, O_POLL},
        {"full-sync-interval", required_argument, 0, O_FULL},
        {"public-base", required_argument, 0, O_BASE},
        {"device-model", required_argument, 0, O_MODEL},
        {"publisher-url", required_argument, 0, O_PUBURL},
        {"relay-queue", required_argument, 0, O_RQUEUE},
        {"relay-rate", required_argument, 0, O_RRATE},
        {"idle-timeout", required_argument, 0, O_IDLE},
        {"header-timeout", required_argument, 0, O_HEAD},
        {"max-conns", required_argument, 0, O_MAXC},
        {"max-conns-per-ip", required_argument, 0, O_MAXIP},
        {"map-size", required_argument, 0, O_MAP},
        {"refresh", required_argument, 0, O_REFRESH},
        {"log-level", required_argument, 0, O_LOGLEVEL},
        {"log-json", no_argument, 0, O_LOGJSON},
        {"json", no_argument, 0, O_JSON},
        {"ticket-key", required_argument, 0, O_TKEY},
        {"ticket-ttl", required_argument, 0, O_TTTL},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    struct edge_config cfg;
    struct edge_relay_opts relay;
    struct cmn_key ticket_key;
    const char *ticket_key_path = NULL;
    int ms, keys_given = 0, n_listen_given = 0;
    memset(&relay, 0, sizeof(relay));
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.listens[0].host, sizeof(cfg.listens[0].host), "127.0.0.1");
    cfg.listens[0].port = 8081;
    cfg.n_listen = 1;
    cfg.poll_ms = 5000;
    cfg.idle_timeout_s = 60;
    cfg.header_timeout_s = 10;
    cfg.max_conns = 10000;
    cfg.max_conns_per_ip = 256;
    cfg.lambda_refresh_s = 30;
    cfg.full_sync_s = EDGE_FULL_SYNC_DEFAULT_S;
    cfg.ticket_ttl_s = CMN_TICKET_TTL_DEFAULT;
    cmn_log_set_component("hotpatch-edge");

    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN: {
            /* HOST:PORT or [IPV6]:PORT, repeatable; the first one replaces the default */
            const char *colon = strrchr(optarg, ':');
            const char *h = optarg;
            size_t hl = colon ? (size_t)(colon - optarg) : 0;
            char *end;
            long p = colon ? strtol(colon + 1, &end, 10) : -1;
            if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
                h++;
                hl -= 2;
            } else if (colon && memchr(optarg, ':', hl)) {
                hl = 0; /* a bare IPv6 address needs brackets */
            }
            if (!colon || hl == 0 || hl >= sizeof(cfg.listens[0].host) || colon[1] == '\0' || *end || p < 0 ||
                p > 65535) {
                fprintf(stderr, "hotpatch-edge: --listen wants HOST:PORT or [IPV6]:PORT\n");
                return 2;
            }
            if (n_listen_given == EDGE_MAX_LISTEN) {
                fprintf(stderr, "hotpatch-edge: at most %d --listen addresses\n", EDGE_MAX_LISTEN);
                return 2;
            }
            struct edge_listen *l = &cfg.listens[n_listen_given++];
            memcpy(l->host, h, hl);
            l->host[hl] = '\0';
            l->port = (int)p;
            cfg.n_listen = n_listen_given;
            break;
        }
        case O_THREADS:
            cfg.threads = atoi(optarg);
            break;
        case O_DATA:
            cfg.data_dir = optarg;
            break;
        case O_SOURCE:
            cfg.source = optarg;
            break;
        case O_KEY:
            if (add_keys(&cfg, optarg))
                return 2;
            keys_given = 1;
            break;
        case O_ROOT:
            if (cfg.n_roots == EDGE_MAX_ROOTS) {
                fprintf(stderr, "hotpatch-edge: at most %d --root files\n", EDGE_MAX_ROOTS);
                return 2;
            }
            cfg.root_files[cfg.n_roots++] = optarg;
            break;
        case O_POLL:
            if (parse_secs(optarg, &cfg.poll_ms)) {
                fprintf(stderr, "hotpatch-edge: --poll-interval wants seconds (0.01..86400)\n");
                return 2;
            }
            break;
        case O_FULL: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v > 86400) {
                fprintf(stderr, "hotpatch-edge: --full-sync-interval wants whole seconds (0..86400)\n");
                return 2;
            }
            cfg.full_sync_s = (int)v;
            break;
        }
        case O_BASE:
            cfg.public_base = optarg;
            break;
        case O_MODEL:
            if (edge_model_add(&cfg, optarg)) {
                fprintf(stderr,
                        "hotpatch-edge: --device-model wants MODEL=APP[/PLATFORM[/CHANNEL]] (ids, each model once, at "
                        "most %d)\n",
                        EDGE_MAX_MODELS);
                return 2;
            }
            break;
        case O_PUBURL:
            relay.base_url = optarg;
            break;
        case O_RQUEUE:
        case O_RRATE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000000) {
                fprintf(stderr, "hotpatch-edge: --%s wants a whole number 1..1000000\n",
                        c == O_RQUEUE ? "relay-queue" : "relay-rate");
                return 2;
            }
            if (c == O_RQUEUE)
                relay.queue_max = (size_t)v;
            else
                relay.rate_per_s = (unsigned)v;
            break;
        }
        case O_IDLE:
        case O_HEAD:
        case O_REFRESH:
            if (parse_secs(optarg, &ms)) {
                fprintf(stderr, "hotpatch-edge: '%s' is not a duration in seconds\n", optarg);
                return 2;
            }
            ms = ms < 1000 ? 1000 : ms;
            if (c == O_IDLE)
                cfg.idle_timeout_s = ms / 1000;
            else if (c == O_HEAD)
                cfg.header_timeout_s = ms / 1000;
            else
                cfg.lambda_refresh_s = ms / 1000;
            break;
        case O_MAXC:
            cfg.max_conns = atoi(optarg) > 0 ? atoi(optarg) : 10000;
            break;
        case O_MAXIP:
            cfg.max_conns_per_ip = atoi(optarg) > 0 ? atoi(optarg) : 256;
            break;
        case O_MAP:
            cfg.map_size = (size_t)strtoull(optarg, NULL, 10) << 20;
            break;
        case O_LOGLEVEL: {
            int l = cmn_log_level_parse(optarg);
            if (l < 0) {
                fprintf(stderr, "hotpatch-edge: unknown log level '%s'\n", optarg);
                return 2;
            }
            cmn_log_set_level((enum cmn_log_level)l);
            break;
        }
        case O_LOGJSON:
            cmn_log_set_json(1);
            break;
        case O_JSON:
            cfg.json = 1;
            break;
        case O_TKEY:
            ticket_key_path = optarg;
            break;
        case O_TTTL: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 90L * 86400) {
                fprintf(stderr, "hotpatch-edge: --ticket-ttl wants whole seconds (1..7776000)\n");
                return 2;
            }
            cfg.ticket_ttl_s = (int)v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("hotpatch-edge %s\n", HP_VERSION_STRING);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    const char *cmd = optind < argc ? argv[optind] : NULL;
    if (!cmd)
        cmd = getenv("AWS_LAMBDA_RUNTIME_API") ? "lambda" : "serve";
    int lambda = strcmp(cmd, "lambda") == 0;
    if (!lambda && strcmp(cmd, "serve") && strcmp(cmd, "sync") && strcmp(cmd, "load-list")) {
        fprintf(stderr, "hotpatch-edge: unknown command '%s' (try --help)\n", cmd);
        return 2;
    }
    if (!cfg.source && getenv("HOTPATCH_STORAGE") && *getenv("HOTPATCH_STORAGE"))
        cfg.source = getenv("HOTPATCH_STORAGE");
    if (!keys_given && getenv("HOTPATCH_TRUSTED_KEYS") && add_keys(&cfg, getenv("HOTPATCH_TRUSTED_KEYS")))
        return 2;
    cfg.sync_token = getenv("HOTPATCH_SYNC_TOKEN");
    cfg.listen_host = cfg.listens[0].host;
    cfg.port = cfg.listens[0].port;
    if (!cfg.data_dir)
        cfg.data_dir = lambda ? "/tmp/hotpatch-edge" : "hotpatch-edge-data";

    if (cmn_crypto_init() != CMN_OK) {
        fprintf(stderr, "hotpatch-edge: cannot initialise libsodium\n");
        return 1;
    }
    if (!ticket_key_path && getenv("HOTPATCH_TICKET_KEY") && *getenv("HOTPATCH_TICKET_KEY"))
        ticket_key_path = getenv("HOTPATCH_TICKET_KEY");
    if (ticket_key_path) {
        struct cmn_errbuf teb = {{0}};
        enum cmn_err trc = cmn_key_load_secret(ticket_key_path, &ticket_key, &teb);
        if (trc) {
            fprintf(stderr, "hotpatch-edge: ticket key: %s\n", cmn_errmsg(&teb, trc));
            return 2;
        }
        cfg.ticket_key = &ticket_key;
    }
    if (lambda) {
        /* --publisher-url in Lambda too: reports are relayed, and drained after each response */
        struct cmn_errbuf leb = {{0}};
        if (relay.base_url && edge_relay_start(&cfg.relay, &relay, &leb) != CMN_OK) {
            fprintf(stderr, "hotpatch-edge: %s\n", leb.msg);
            return 2;
        }
        int lrc = edge_lambda_main(&cfg);
        edge_relay_stop(cfg.relay);
        if (cfg.ticket_key)
            cmn_key_clear(&ticket_key);
        return lrc;
    }
    if ((strcmp(cmd, "serve") == 0 || strcmp(cmd, "sync") == 0) && cfg.source && cfg.n_keys == 0 && cfg.n_roots == 0) {
        fprintf(stderr, "hotpatch-edge: no trusted manifest keys (--trusted-key or HOTPATCH_TRUSTED_KEYS)\n");
        return 2;
    }
    if (strcmp(cmd, "load-list") == 0 && argc - optind != 3) {
        fprintf(stderr, "hotpatch-edge: usage: load-list NAME FILE\n");
        return 2;
    }

    struct edge_index ix;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = edge_index_open(&ix, cfg.data_dir, cfg.map_size, &eb);
    if (rc) {
        fprintf(stderr, "hotpatch-edge: %s\n", cmn_errmsg(&eb, rc));
        return 1;
    }
    int ret;
    if (strcmp(cmd, "serve") == 0 && relay.base_url) {
        rc = edge_relay_start(&cfg.relay, &relay, &eb);
        if (rc) {
            fprintf(stderr, "hotpatch-edge: %s\n", cmn_errmsg(&eb, rc));
            edge_index_close(&ix);
            return 2;
        }
    }
    if (strcmp(cmd, "sync") == 0)
        ret = cmd_sync(&cfg, &ix);
    else if (strcmp(cmd, "load-list") == 0)
        ret = cmd_load_list(&cfg, &ix, argv[optind + 1], argv[optind + 2]);
    else
        ret = cmd_serve(&cfg, &ix);
    edge_relay_stop(cfg.relay);
    edge_index_close(&ix);
    for (size_t i = 0; i < cfg.n_keys; i++)
        cmn_key_clear(&cfg.keys[i]);
    free(cfg.keys);
    if (cfg.ticket_key)
        cmn_key_clear(&ticket_key);
    return ret;
}
