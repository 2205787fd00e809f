/*
 * Integration test for the change feed, the snapshot and the listeners of
 * hotpatch-edge: the built binary, real storage (a file:// tree and Ceph
 * radosgw when HP_TEST_S3_* is set), manifests sealed and written the way
 * the writers do it (manifest put, then cmn_feed_record), real HTTP (libcurl,
 * IPv4 and IPv6 on ::1).
 *
 * Per storage: feed-driven sync (an idle pass costs two requests, a change
 * is fetched alone, no listing); a lost feed and a corrupt feed (the edge
 * lists instead and stays correct); a stale feed (a write it does not
 * mention shows up at the next full listing); six processes recording into
 * the feed at once (nothing lost); a cold start from a snapshot older than
 * the feed (snapshot loaded, the newer changes caught up from the feed, no
 * listing), and from a corrupt snapshot (falls back to a listing). Then
 * IPv6: --listen [::1]:PORT together with an IPv4 listener.
 */
#include "common/compat.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/feed.h"
#include "common/manifest.h"
#include "common/storage.h"
#include "../../lib/test.h"

#define NCHAN 40

static char BIN[1024], TMP[1024];
static struct cmn_key K;
static char K_B64[CMN_PK_B64];
static struct cmn_storage *ST;
static uint64_t SEQ[NCHAN + 8];

static void msleep(int ms)
{
    usleep((useconds_t)ms * 1000);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(int family)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        sl = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof(*s4);
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- HTTP through libcurl ---- */

struct body {
    char buf[65536];
    size_t n;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct body *b = ud;
    size_t n = sz * nm, room = sizeof(b->buf) - 1 - b->n;
    memcpy(b->buf + b->n, p, n < room ? n : room);
    b->n += n < room ? n : room;
    b->buf[b->n] = '\0';
    return n;
}

static char SEQHDR[64];

static size_t on_hdr(char *p, size_t sz, size_t nm, void *ud)
{
    size_t n = sz * nm;
    (void)ud;
    if (n > 21 && strncasecmp(p, "X-HotPatch-Sequence:", 20) == 0)
        snprintf(SEQHDR, sizeof(SEQHDR), "%.*s", (int)(n - 20), p + 20);
    return n;
}

/* GET url; the status (-1 when no answer); body into b when given. */
static long http_get(const char *url, struct body *b)
{
    static struct body sink;
    CURL *c = curl_easy_init();
    long st = -1;
    if (!b)
        b = &sink;
    b->n = 0;
    b->buf[0] = '\0';
    SEQHDR[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    return st;
}

/* ---- the edge ---- */

struct edge {
    pid_t pid;
    int port;
    char base[128];
    char data[1100], log[1100];
};

static int start_edge(struct edge *e, const char *name, const char *source, const char *full_interval,
                      const char *listen6)
{
    char listen[64];
    e->port = free_port(AF_INET);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", e->port);
    snprintf(e->base, sizeof(e->base), "http://127.0.0.1:%d", e->port);
    snprintf(e->data, sizeof(e->data), "%s/%s-index", TMP, name);
    snprintf(e->log, sizeof(e->log), "%s/%s.log", TMP, name);
    char *argv[] = {BIN,
                    "serve",
                    "--listen",
                    listen,
                    "--data-dir",
                    e->data,
                    "--source",
                    (char *)source,
                    "--trusted-key",
                    K_B64,
                    "--poll-interval",
                    "0.2",
                    "--full-sync-interval",
                    (char *)full_interval,
                    "--threads",
                    "1",
                    listen6 ? "--listen" : NULL,
                    (char *)listen6,
                    NULL};
    e->pid = fork();
    if (e->pid == 0) {
        int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    char url[256];
    snprintf(url, sizeof(url), "%s/healthz", e->base);
    for (int i = 0; i < 500; i++) {
        long st = http_get(url, NULL);
        if (st == 200 || st == 503)
            return 0;
        if (waitpid(e->pid, NULL, WNOHANG) == e->pid)
            return -1;
        msleep(10);
    }
    return -1;
}

static void stop_edge(struct edge *e)
{
    if (e->pid > 0) {
        int st = 0;
        kill(e->pid, SIGTERM);
        waitpid(e->pid, &st, 0);
    }
    e->pid = 0;
}

/* A counter from /metrics, -1 when absent. */
static long long metric(struct edge *e, const char *name)
{
    struct body b;
    char url[256], pat[128];
    snprintf(url, sizeof(url), "%s/metrics", e->base);
    if (http_get(url, &b) != 200)
        return -1;
    snprintf(pat, sizeof(pat), "\n%s ", name);
    const char *p = strstr(b.buf, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}

/* Sequence the edge serves for channel c<i> (app feed, platform android); -1 when none. */
static long long served(struct edge *e, int i)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/manifests/feed/android/c%d.json", e->base, i);
    if (http_get(url, NULL) != 200)
        return -1;
    return atoll(SEQHDR);
}

/* Wait until channel i serves `want`; ms taken, or -1. */
static long wait_served(struct edge *e, int i, long long want, int ms)
{
    int64_t t0 = now_ms();
    while (now_ms() - t0 < ms) {
        if (served(e, i) == want)
            return (long)(now_ms() - t0);
        msleep(20);
    }
    return -1;
}

static int all_served(struct edge *e, int n)
{
    for (int i = 0; i < n; i++)
        if (served(e, i) != (long long)SEQ[i])
            return 0;
    return 1;
}

static int wait_all(struct edge *e, int n, int ms)
{
    int64_t t0 = now_ms();
    while (now_ms() - t0 < ms) {
        if (all_served(e, n))
            return 1;
        msleep(50);
    }
    return 0;
}

/* ---- writers ---- */

/* Seal channel c<i> at sequence seq and put it; record in the feed unless `no_feed` (a writer that died). */
static int write_channel(int i, uint64_t seq, int no_feed)
{
    char ch[32], key[CMN_STORAGE_KEY_MAX], etag[CMN_ETAG_MAX] = "";
    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    snprintf(ch, sizeof(ch), "c%d", i);
    struct cmn_manifest *m = cmn_manifest_new("feed", "android", ch);
    m->sequence = seq;
    m->issued_at = (int64_t)time(NULL) - 10;
    m->expires_at = (int64_t)time(NULL) + 86400;
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    snprintf(key, sizeof(key), "manifests/feed/android/%s.json", ch);
    enum cmn_err rc = cmn_manifest_seal(m, &K, &b, &eb);
    if (!rc)
        rc = cmn_storage_put(ST, key, b.ptr, b.len, NULL, etag, &eb);
    if (!rc && !no_feed)
        rc = cmn_feed_record(ST, "feed", "android", ch, seq, etag, (int64_t)time(NULL), &eb);
    cmn_buf_release(&b);
    cmn_manifest_free(m);
    if (rc)
        diag("write c%d: %s", i, cmn_errmsg(&eb, rc));
    else
        SEQ[i] = seq;
    return rc ? -1 : 0;
}

/* ---- parts ---- */

static void t_feed_sync(const char *url, const char *tag)
{
    struct edge e;
    char name[64];
    snprintf(name, sizeof(name), "%s-feed", tag);
    int wrote = 1;
    for (int i = 0; i < NCHAN; i++)
        wrote &= write_channel(i, 1, 0) == 0;
    ok(wrote, "%s: %d channels written with feed records", tag, NCHAN);
    if (start_edge(&e, name, url, "3600", NULL)) {
        ok(0, "%s: edge starts (log %s)", tag, e.log);
        return;
    }
    ok(wait_all(&e, NCHAN, 10000), "%s: every channel synced", tag);
    is_int(metric(&e, "hotpatch_edge_sync_full_passes_total"), 1, "%s: one listing, at start", tag);

    /* idle: one conditional GET of the feed + the lists/ listing per pass */
    long long r0 = metric(&e, "hotpatch_edge_storage_requests_total"),
              p0 = metric(&e, "hotpatch_edge_sync_passes_total");
    msleep(1500);
    long long r1 = metric(&e, "hotpatch_edge_storage_requests_total"),
              p1 = metric(&e, "hotpatch_edge_sync_passes_total");
    ok(p1 - p0 >= 3, "%s: the edge kept polling (%lld passes)", tag, p1 - p0);
    /* a pass may be running at either read: allow for one */
    ok(r1 - r0 <= 2 * (p1 - p0 + 1) && r1 - r0 >= 2 * (p1 - p0 - 1), "%s: %lld requests for %lld idle passes (2 each)",
       tag, r1 - r0, p1 - p0);
    is_int(metric(&e, "hotpatch_edge_sync_full_passes_total"), 1, "%s: no listing while idle", tag);

    /* one change: picked up from the feed alone */
    long long fc0 = metric(&e, "hotpatch_edge_sync_feed_changes_total");
    ok(write_channel(7, 2, 0) == 0, "%s: c7 sequence 2 written", tag);
    long ms = wait_served(&e, 7, 2, 5000);
    ok(ms >= 0, "%s: the change is served %ld ms after the write", tag, ms);
    ok(metric(&e, "hotpatch_edge_sync_feed_changes_total") > fc0, "%s: found through the feed", tag);
    is_int(metric(&e, "hotpatch_edge_sync_full_passes_total"), 1, "%s: still no listing", tag);
    ok(all_served(&e, NCHAN), "%s: every other channel unchanged", tag);

    /* lost feed: a write it cannot mention is found by listing */
    ok(cmn_storage_delete(ST, CMN_FEED_KEY, NULL) == CMN_OK, "%s: feed deleted", tag);
    ok(write_channel(8, 2, 1) == 0, "%s: c8 sequence 2 written without a feed record", tag);
    ok(wait_served(&e, 8, 2, 5000) >= 0, "%s: lost feed: the edge lists and serves c8 sequence 2", tag);
    ok(metric(&e, "hotpatch_edge_sync_full_passes_total") > 1, "%s: ... by listing", tag);
    ok(all_served(&e, NCHAN), "%s: lost feed: every channel correct", tag);

    /* corrupt feed */
    ok(cmn_storage_put(ST, CMN_FEED_KEY, "{\"format\":\"hotpatch-feed\",", 26, NULL, NULL, NULL) == CMN_OK,
       "%s: feed corrupted", tag);
    ok(write_channel(9, 2, 1) == 0, "%s: c9 sequence 2 written without a feed record", tag);
    ok(wait_served(&e, 9, 2, 5000) >= 0, "%s: corrupt feed: the edge lists and serves c9 sequence 2", tag);
    ok(all_served(&e, NCHAN), "%s: corrupt feed: every channel correct", tag);

    /* the next writer repairs it (rebuilt from a listing), and the edge goes back to the feed */
    ok(write_channel(10, 2, 0) == 0, "%s: c10 written by a writer (repairs the feed)", tag);
    ok(wait_served(&e, 10, 2, 5000) >= 0, "%s: c10 served", tag);
    msleep(600);
    long long f0 = metric(&e, "hotpatch_edge_sync_full_passes_total");
    msleep(1000);
    is_int(metric(&e, "hotpatch_edge_sync_full_passes_total"), f0, "%s: repaired feed: listings stop", tag);
    ok(write_channel(11, 2, 0) == 0 && wait_served(&e, 11, 2, 5000) >= 0, "%s: feed-driven again", tag);
    stop_edge(&e);

    /* a stale feed (a write it does not mention) is caught by the periodic listing */
    snprintf(name, sizeof(name), "%s-stale", tag);
    if (start_edge(&e, name, url, "2", NULL) == 0) {
        ok(wait_all(&e, NCHAN, 10000), "%s: second edge synced", tag);
        ok(write_channel(12, 2, 1) == 0, "%s: c12 written, feed not told", tag);
        msleep(500);
        is_int(served(&e, 12), 1, "%s: not seen through the feed", tag);
        ok(wait_served(&e, 12, 2, 6000) >= 0, "%s: seen at the next full listing (--full-sync-interval 2)", tag);
        stop_edge(&e);
    } else {
        ok(0, "%s: second edge starts", tag);
    }
}

/* Six processes record twenty entries each into the same feed, and all bump one shared channel. */
static void t_concurrent_writers(const char *url, const struct cmn_storage_opts *o, const char *tag)
{
    pid_t kids[6];
    for (int w = 0; w < 6; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            int bad = 0;
            /* a handle of its own: the parent's would share its connection with its siblings */
            if (cmn_storage_open(url, o, &ST, NULL) != CMN_OK)
                _exit(3);
            for (int i = 0; i < 20; i++) {
                char ch[32], et[40];
                struct cmn_errbuf eb = {{0}};
                enum cmn_err rc;
                snprintf(ch, sizeof(ch), "w%d-%d", w, i);
                snprintf(et, sizeof(et), "e%d-%d", w, i);
                if ((rc = cmn_feed_record(ST, "race", "android", ch, 1, et, (int64_t)time(NULL), &eb)) != CMN_OK) {
                    diag("writer %d: %s", w, cmn_errmsg(&eb, rc));
                    bad = 1;
                }
                snprintf(et, sizeof(et), "s%d-%d", w, i);
                if ((rc = cmn_feed_record(ST, "race", "android", "shared", (uint64_t)(w * 20 + i + 1), et,
                                          (int64_t)time(NULL), &eb)) != CMN_OK) {
                    diag("writer %d (shared): %s", w, cmn_errmsg(&eb, rc));
                    bad = 1;
                }
            }
            _exit(bad);
        }
    }
    int good = 1;
    for (int w = 0; w < 6; w++) {
        int st;
        waitpid(kids[w], &st, 0);
        good &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    ok(good, "%s: six concurrent writers all succeed", tag);
    struct cmn_buf b;
    struct cmn_feed f;
    cmn_buf_init(&b, CMN_FEED_MAX_BYTES);
    cmn_feed_init(&f);
    ok(cmn_storage_get(ST, CMN_FEED_KEY, NULL, &b, NULL, NULL) == CMN_OK && cmn_feed_parse(b.ptr, b.len, &f, NULL) == 0,
       "%s: feed parses after the race", tag);
    int lost = 0;
    for (int w = 0; w < 6; w++)
        for (int i = 0; i < 20; i++) {
            char k[64];
            snprintf(k, sizeof(k), "race/android/w%d-%d", w, i);
            lost += !cmn_feed_find(&f, k);
        }
    is_int(lost, 0, "%s: none of the 120 concurrent entries lost", tag);
    const struct cmn_feed_entry *sh = cmn_feed_find(&f, "race/android/shared");
    ok(sh && sh->sequence == 120, "%s: the shared entry holds the highest sequence", tag);
    ok(cmn_feed_find(&f, "feed/android/c7") != NULL, "%s: earlier entries survived", tag);
    cmn_feed_release(&f);
    cmn_buf_release(&b);
}

static void t_cold_start(const char *url, const char *tag)
{
    struct edge e;
    char name[64];
    struct cmn_keyring kr = {&K, 1};
    struct cmn_snapshot_stats ss;
    struct cmn_errbuf eb = {{0}};
    is_int(cmn_snapshot_write(ST, &kr, (int64_t)time(NULL), &ss, &eb), CMN_OK, "%s: snapshot written (%s)", tag,
           eb.msg);
    is_int(ss.manifests, NCHAN, "%s: every channel in the snapshot", tag);
    /* the feed moves on: three updates and two new channels */
    int wrote = 1;
    for (int i = 0; i < 3; i++)
        wrote &= write_channel(i, SEQ[i] + 5, 0) == 0;
    wrote &= write_channel(NCHAN, 1, 0) == 0 && write_channel(NCHAN + 1, 1, 0) == 0;
    ok(wrote, "%s: newer than the snapshot: 3 updates, 2 new channels", tag);
    snprintf(name, sizeof(name), "%s-cold", tag);
    int64_t t0 = now_ms();
    if (start_edge(&e, name, url, "3600", NULL)) {
        ok(0, "%s: cold edge starts (log %s)", tag, e.log);
        return;
    }
    ok(wait_all(&e, NCHAN + 2, 10000), "%s: cold start: every channel at its newest sequence", tag);
    diag("%s: cold start to every answer correct: %lld ms", tag, (long long)(now_ms() - t0));
    is_int(metric(&e, "hotpatch_edge_snapshot_manifests_total"), NCHAN, "%s: %d envelopes from the snapshot", tag,
           NCHAN);
    is_int(metric(&e, "hotpatch_edge_sync_full_passes_total"), 0, "%s: no listing: the feed caught up", tag);
    stop_edge(&e);

    /* a corrupt snapshot: the cold edge lists instead */
    struct cmn_buf b;
    cmn_buf_init(&b, CMN_SNAPSHOT_MAX_BYTES);
    ok(cmn_storage_get(ST, CMN_SNAPSHOT_KEY, NULL, &b, NULL, NULL) == CMN_OK && b.len > 100, "%s: snapshot read", tag);
    b.ptr[b.len / 2] ^= 0x55; /* a flipped byte inside an envelope, or a framing line */
    ok(cmn_storage_put(ST, CMN_SNAPSHOT_KEY, b.ptr, b.len / 2 + 10, NULL, NULL, NULL) == CMN_OK,
       "%s: snapshot damaged and truncated", tag);
    cmn_buf_release(&b);
    snprintf(name, sizeof(name), "%s-cold2", tag);
    if (start_edge(&e, name, url, "3600", NULL)) {
        ok(0, "%s: second cold edge starts", tag);
        return;
    }
    ok(wait_all(&e, NCHAN + 2, 10000), "%s: damaged snapshot: every channel correct", tag);
    is_int(metric(&e, "hotpatch_edge_sync_full_passes_total"), 1, "%s: ... after a listing", tag);
    stop_edge(&e);
}

static void t_ipv6(const char *url)
{
    struct edge e;
    char l6[64], u[256];
    int p6 = free_port(AF_INET6);
    if (!p6) {
        test_skip(3, "no IPv6 loopback on this machine");
        return;
    }
    snprintf(l6, sizeof(l6), "[::1]:%d", p6);
    if (start_edge(&e, "ipv6", url, "3600", l6)) {
        ok(0, "edge with an IPv4 and an IPv6 listener starts (log %s)", e.log);
        return;
    }
    ok(wait_all(&e, 3, 10000), "synced");
    snprintf(u, sizeof(u), "http://[::1]:%d/v1/manifests/feed/android/c0.json", p6);
    ok(http_get(u, NULL) == 200 && atoll(SEQHDR) == (long long)SEQ[0], "manifest served over IPv6 on ::1");
    snprintf(u, sizeof(u),
             "http://[::1]:%d/v1/check?app=feed&platform=android&channel=c1&binary_version=1.0.0&device=d6", p6);
    is_int(http_get(u, NULL), 204, "a check over IPv6 answers (nothing applies: 204)");
    ok(served(&e, 0) == (long long)SEQ[0], "the IPv4 listener answers too");
    stop_edge(&e);
    char *argv[] = {BIN, "--listen", "::1:80", "serve", NULL};
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 2, "an IPv6 address without brackets is a usage error");
}

static int open_store(const char *url, const struct cmn_storage_opts *o)
{
    struct cmn_errbuf eb = {{0}};
    if (cmn_storage_open(url, o, &ST, &eb)) {
        ok(0, "open %s: %s", url, eb.msg);
        return -1;
    }
    return 0;
}

int main(void)
{
    const char *bin = getenv("HP_BIN");
    snprintf(BIN, sizeof(BIN), "%s/hotpatch-edge", bin ? bin : "build/bin");
    snprintf(TMP, sizeof(TMP), "%s", test_tmpdir());
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);
    if (access(BIN, X_OK) != 0) {
        ok(0, "hotpatch-edge built at %s", BIN);
        return done_testing();
    }
    if (cmn_crypto_init() || cmn_key_generate(&K))
        return 1;
    cmn_key_public_b64(&K, K_B64);

    char store[1200], url[1300];
    snprintf(store, sizeof(store), "%s/store", TMP);
    mkdir(store, 0755);
    snprintf(url, sizeof(url), "file://%s", store);
    if (open_store(url, NULL))
        return done_testing();
    t_feed_sync(url, "file");
    t_concurrent_writers(url, NULL, "file");
    t_cold_start(url, "file");
    t_ipv6(url);
    cmn_storage_free(ST);
    ST = NULL;

    const char *ep = getenv("HP_TEST_S3_ENDPOINT"), *bucket = getenv("HP_TEST_S3_BUCKET");
    if (!ep || !bucket) {
        test_skip(1, "HP_TEST_S3_ENDPOINT not set (run through make test)");
        return done_testing();
    }
    memset(SEQ, 0, sizeof(SEQ));
    snprintf(url, sizeof(url), "s3://%s/feed-test-%d", bucket, (int)getpid());
    struct cmn_storage_opts o = {.endpoint = ep,
                                 .region = getenv("HP_TEST_S3_REGION"),
                                 .access_key = getenv("HP_TEST_S3_ACCESS_KEY"),
                                 .secret_key = getenv("HP_TEST_S3_SECRET_KEY")};
    /* the edge reads the S3 settings from the environment it inherits */
    setenv("HOTPATCH_S3_ENDPOINT", ep, 1);
    setenv("AWS_REGION", o.region ? o.region : "us-east-1", 1);
    if (o.access_key)
        setenv("AWS_ACCESS_KEY_ID", o.access_key, 1);
    if (o.secret_key)
        setenv("AWS_SECRET_ACCESS_KEY", o.secret_key, 1);
    if (open_store(url, &o))
        return done_testing();
    t_feed_sync(url, "s3");
    t_concurrent_writers(url, &o, "s3");
    t_cold_start(url, "s3");
    cmn_storage_free(ST);
    cmn_key_clear(&K);
    return done_testing();
}
