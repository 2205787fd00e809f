/*
 * Integration test for hotpatch-edge: the built binary on 127.0.0.1, real
 * storage (a file:// tree, and Ceph radosgw when HP_TEST_S3_* is set), real
 * signed manifests (sealed here with cmn_manifest_seal, plus the golden
 * vectors of manifests/vectors), real HTTP over sockets.
 *
 * Covers: decisions for thousands of device ids against cohort buckets
 * (computed with cmn_cohort_bucket and from the golden cohort.json), the
 * golden decision vectors through /v1/check, tampered / expired / replayed /
 * unknown-key / wrong-path / malformed manifests refused while the last good
 * one keeps serving, POST /v1/sync authentication, SIGHUP, targeting lists
 * from storage and a 1M-entry list loaded with `load-list`, malformed and
 * oversized requests, keep-alive and pipelining, idle timeouts, a restart
 * that serves from LMDB before any sync, /healthz and /metrics, and Lambda
 * mode against a fake Runtime API (tests/integration/edge-check/fake_lambda_runtime.py).
 */
#include "common/compat.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "common/cohort.h"
#include "common/manifest.h"
#include "common/storage.h"
#include "../../lib/test.h"

static char BIN[1024];
static char TMP[1024];
static struct cmn_key K, K2, GOLDEN;
static char K_B64[CMN_PK_B64], GOLDEN_B64[CMN_PK_B64];
static char SIG[CMN_SIG_B64];
static const char *TOKEN = "edge-test-token";

/* ------------------------------------------------------------ processes */

struct proc {
    pid_t pid;
    int port;
    char data[1100];
    char log[1100];
};

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* fork + exec argv with extra environment "K=V" entries; output to logpath. */
static pid_t spawn(char *const argv[], const char *const env[], const char *logpath)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    for (size_t i = 0; env && env[i]; i++) {
        char kv[2048];
        snprintf(kv, sizeof(kv), "%s", env[i]);
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (eq[1])
            setenv(kv, eq + 1, 1);
        else
            unsetenv(kv);
    }
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    execv(argv[0], argv);
    _exit(127);
}

static int wait_exit(pid_t pid, int ms)
{
    int st;
    for (int i = 0; i < ms / 10; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static void msleep(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* Wait until something accepts connections on 127.0.0.1:port (a server we
 * spawned); a fixed sleep is not enough on a loaded machine. */
static void wait_listening(int port, int ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < ms / 20; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return;
        int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        if (rc == 0)
            return;
        msleep(20);
    }
}

/* ------------------------------------------------------------ HTTP client */

struct hc {
    int fd;
    size_t len;
    char buf[1 << 21];
};

struct hresp {
    int status;
    char head[8192];
    char *body; /* points into a static buffer, NUL-terminated */
    size_t body_len;
};

static int hc_open(struct hc *c, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    struct timeval tv = {10, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void hc_close(struct hc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int hc_send(struct hc *c, const char *data, size_t n)
{
    while (n) {
        ssize_t w = write(c->fd, data, n);
        if (w <= 0)
            return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one response (HEAD-less). Returns 0, or -1 on EOF/timeout/garbage. */
static int hc_read(struct hc *c, struct hresp *r)
{
    static char body[1 << 21];
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hl = (size_t)(end - c->buf) + 4;
            if (hl >= sizeof(r->head))
                return -1;
            memcpy(r->head, c->buf, hl);
            r->head[hl] = '\0';
            r->status = atoi(r->head + 9);
            size_t cl = 0;
            char *p = strcasestr(r->head, "\r\ncontent-length:");
            if (p)
                cl = (size_t)strtoull(p + 17, NULL, 10);
            while (c->len < hl + cl) {
                ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
                if (n <= 0)
                    return -1;
                c->len += (size_t)n;
            }
            memcpy(body, c->buf + hl, cl);
            body[cl] = '\0';
            r->body = body;
            r->body_len = cl;
            memmove(c->buf, c->buf + hl + cl, c->len - hl - cl);
            c->len -= hl + cl;
            return 0;
        }
        if (c->len == sizeof(c->buf))
            return -1;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
    }
}

/* Header value (copied into a static buffer) or NULL. */
static const char *rh(const struct hresp *r, const char *name)
{
    static char v[512];
    char pat[128];
    snprintf(pat, sizeof(pat), "\r\n%s:", name);
    const char *p = strcasestr(r->head, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    const char *e = strstr(p, "\r\n");
    snprintf(v, sizeof(v), "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
    return v;
}

/* One request on a persistent connection (reconnects when needed). */
static int req(struct hc *c, int port, const char *method, const char *target, const char *extra, struct hresp *r)
{
    char raw[16384];
    int n =
        snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, target, extra ? extra : "");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && hc_open(c, port))
            return -1;
        if (hc_send(c, raw, (size_t)n) == 0 && hc_read(c, r) == 0)
            return r->status;
        hc_close(c);
    }
    return -1;
}

static struct hc *HC;
static int PORT;

static int get(const char *target, struct hresp *r)
{
    return req(HC, PORT, "GET", target, NULL, r);
}

/* Percent-encode a query value. */
static void pct(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p)) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

static int check(const char *channel, const char *dev, const char *bin, const char *cur, struct hresp *r)
{
    char t[2048], d[600];
    pct(dev, d, sizeof(d));
    snprintf(t, sizeof(t), "/v1/check?app=demo&platform=android&channel=%s&binary_version=%s&device=%s%s%s", channel,
             bin, d, cur ? "&release=" : "", cur ? cur : "");
    return get(t, r);
}

static int seq_of(const char *channel)
{
    struct hresp r;
    char t[256];
    snprintf(t, sizeof(t), "/v1/manifests/demo/android/%s.json", channel);
    if (get(t, &r) != 200)
        return -1;
    const char *s = rh(&r, "X-HotPatch-Sequence");
    return s ? atoi(s) : -1;
}

/* Health JSON field (integer), -1 when absent. */
static long long health_int(const char *field)
{
    struct hresp r;
    int st = get("/healthz", &r);
    if (st != 200 && st != 503)
        return -1;
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *v = json_object_get(j, field);
    if (!v)
        v = json_object_get(json_object_get(j, "last_sync"), field);
    long long x = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(j);
    return x;
}

/* POST /v1/sync and wait until the pass it names has completed. */
static int sync_now(void)
{
    struct hresp r;
    char auth[256];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\nContent-Length: 0\r\n", TOKEN);
    if (req(HC, PORT, "POST", "/v1/sync", auth, &r) != 202)
        return -1;
    json_t *j = json_loads(r.body, 0, NULL);
    long long pass = json_integer_value(json_object_get(j, "pass"));
    json_decref(j);
    for (int i = 0; i < 1000; i++) {
        if (health_int("passes") >= pass)
            return 0;
        msleep(10);
    }
    return -1;
}

/* ------------------------------------------------------------ manifests */

static struct cmn_storage *ST;

static void rel(struct cmn_release *r, const char *id, const char *version, const char *range, uint32_t bp)
{
    memset(r, 0, sizeof(*r));
    r->id = (char *)id;
    r->version = (char *)version;
    r->target_binary = (char *)range;
    r->bundle_url = "bundles/demo/android/abc.zip";
    memset(r->sha256, 'd', 64);
    r->size = 1000;
    r->bundle_sig = SIG;
    memcpy(r->bundle_keyid, K.keyid, sizeof(r->bundle_keyid));
    r->rollout_bp = bp;
    r->state = CMN_REL_ACTIVE;
    r->created_at = 1700000000;
}

enum { PLAIN, TAMPER };

/* Seal with `key` and put at manifests/demo/android/<path_channel>.json. */
static int publish_as(struct cmn_manifest *m, const struct cmn_key *key, const char *path_channel, int how)
{
    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    char k[256];
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    enum cmn_err rc = cmn_manifest_seal(m, key, &b, &eb);
    if (rc) {
        diag("seal: %s", cmn_errmsg(&eb, rc));
        return -1;
    }
    if (how == TAMPER) {
        char *p = strstr(b.ptr, "rollout_bp\\\":");
        if (!p)
            return -1;
        p += strlen("rollout_bp\\\":");
        *p = *p == '1' ? '2' : '1'; /* still valid JSON, different signed bytes */
    }
    snprintf(k, sizeof(k), "manifests/demo/android/%s.json", path_channel);
    rc = cmn_storage_put(ST, k, b.ptr, b.len, NULL, NULL, &eb);
    cmn_buf_release(&b);
    if (rc)
        diag("put %s: %s", k, cmn_errmsg(&eb, rc));
    return rc ? -1 : 0;
}

static struct cmn_manifest *mk(const char *channel, uint64_t seq, int64_t expires)
{
    struct cmn_manifest *m = cmn_manifest_new("demo", "android", channel);
    m->sequence = seq;
    m->issued_at = (int64_t)time(NULL) - 60;
    m->expires_at = expires ? expires : (int64_t)time(NULL) + 86400 * 30;
    return m;
}

/* production: r1 at 50% (any binary), r2 at 30% (binaries >= 2.0.0); rollout_bp of r1 starts with '5' */
static struct cmn_manifest *production(uint64_t seq, int64_t expires)
{
    struct cmn_manifest *m = mk("production", seq, expires);
    struct cmn_release r;
    rel(&r, "r1", "1.0.0", "*", 5000);
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    rel(&r, "r2", "1.1.0", ">=2.0.0", 3000);
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    return m;
}

static int put_text(const char *key, const char *text, size_t n)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cmn_storage_put(ST, key, text, n, NULL, NULL, &eb);
    if (rc)
        diag("put %s: %s", key, cmn_errmsg(&eb, rc));
    return rc ? -1 : 0;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct cmn_buf b;
    char chunk[65536];
    size_t got;
    cmn_buf_init(&b, 64 << 20);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (cmn_buf_add(&b, chunk, got)) {
            fclose(f);
            return NULL;
        }
    fclose(f);
    return cmn_buf_take(&b, n);
}

/* ------------------------------------------------------------ the edge */

static int NO_PUBLIC_BASE; /* t_seed: an edge started without --public-base */

static int start_edge(struct proc *e, const char *source, const char *keys, const char *const *extras)
{
    char listen[64];
    e->port = free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", e->port);
    char *argv[24];
    int a = 0;
    argv[a++] = BIN;
    argv[a++] = "serve";
    argv[a++] = "--listen";
    argv[a++] = listen;
    argv[a++] = "--data-dir";
    argv[a++] = e->data;
    argv[a++] = "--source";
    argv[a++] = (char *)source;
    argv[a++] = "--trusted-key";
    argv[a++] = (char *)keys;
    argv[a++] = "--poll-interval";
    argv[a++] = "3600"; /* only the start pass, SIGHUP and POST /v1/sync sync in this test */
    argv[a++] = "--threads";
    argv[a++] = "2";
    if (!NO_PUBLIC_BASE) {
        argv[a++] = "--public-base";
        argv[a++] = "https://cdn.example.com";
    }
    for (size_t i = 0; extras && extras[i] && a < 22; i++)
        argv[a++] = (char *)extras[i];
    argv[a] = NULL;
    char tok[128];
    snprintf(tok, sizeof(tok), "HOTPATCH_SYNC_TOKEN=%s", TOKEN);
    const char *env[] = {tok, NULL};
    e->pid = spawn(argv, env, e->log);
    for (int i = 0; i < 500; i++) {
        struct hc *c = malloc(sizeof(*c));
        struct hresp r;
        int st = c && hc_open(c, e->port) == 0 ? req(c, e->port, "GET", "/healthz", NULL, &r) : -1;
        if (c) {
            hc_close(c);
            free(c);
        }
        if (st == 200 || st == 503)
            return 0;
        if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
            diag("edge exited early; see %s", e->log);
            return -1;
        }
        msleep(20);
    }
    return -1;
}

static void stop_edge(struct proc *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        int rc = wait_exit(e->pid, 5000);
        ok(rc == 0, "edge exits cleanly on SIGTERM (status %d)", rc);
    }
    e->pid = 0;
}

/* ------------------------------------------------------------ test parts */

static void t_cohort(void)
{
    struct hresp r;
    int agree = 1, n200 = 0, nr2 = 0;
    for (int d = 0; d < 4000; d++) {
        char dev[64];
        snprintf(dev, sizeof(dev), "device-%05d", d);
        const char *bin = d % 2 ? "2.1.0" : "1.4.0";
        const char *want = NULL;
        if (d % 2 && cmn_cohort_bucket("r2", dev) < 3000)
            want = "r2";
        else if (cmn_cohort_bucket("r1", dev) < 5000)
            want = "r1";
        int st = check("production", dev, bin, NULL, &r);
        const char *got = st == 200 ? rh(&r, "X-HotPatch-Release") : NULL;
        if ((want == NULL) != (st == 204) || (want && (!got || strcmp(got, want) != 0))) {
            if (agree)
                diag("device %s bin %s: status %d release %s, want %s", dev, bin, st, got ? got : "-",
                     want ? want : "204");
            agree = 0;
        }
        n200 += st == 200;
        nr2 += want && strcmp(want, "r2") == 0;
    }
    ok(agree, "4000 device ids over one keep-alive connection match the cohort buckets (%d updates, %d r2)", n200, nr2);
}

/* Golden cohort vectors (independent Python implementation): one channel per release id, 50% rollout. */
static void t_golden_cohort(void)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/manifests/vectors/cohort.json", test_srcdir());
    json_t *j = json_load_file(path, 0, NULL);
    json_t *cases = json_object_get(j, "cases");
    if (!json_is_array(cases)) {
        ok(0, "golden cohort vectors readable at %s", path);
        json_decref(j);
        return;
    }
    /* publish one channel per distinct release id */
    char chans[16][80], ids[16][80];
    size_t nch = 0, i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *rid = json_string_value(json_object_get(c, "release_id"));
        size_t k;
        for (k = 0; k < nch && strcmp(ids[k], rid); k++)
            ;
        if (k == nch && nch < 16) {
            snprintf(ids[nch], sizeof(ids[nch]), "%s", rid);
            snprintf(chans[nch], sizeof(chans[nch]), "golden-%zu", nch);
            struct cmn_manifest *m = mk(chans[nch], 1, 0);
            struct cmn_release r;
            rel(&r, rid, "1.0.0", "*", 5000);
            if (cmn_manifest_add_release(m, &r) || publish_as(m, &K, chans[nch], PLAIN))
                ok(0, "publish golden channel for '%s'", rid);
            cmn_manifest_free(m);
            nch++;
        }
    }
    ok(sync_now() == 0, "sync after publishing %zu golden cohort channels", nch);
    int agree = 1, n = 0;
    json_array_foreach(cases, i, c)
    {
        const char *rid = json_string_value(json_object_get(c, "release_id"));
        const char *dev = json_string_value(json_object_get(c, "device_id"));
        long long bucket = json_integer_value(json_object_get(c, "bucket"));
        size_t k;
        for (k = 0; k < nch && strcmp(ids[k], rid); k++)
            ;
        struct hresp r;
        int st = check(chans[k], dev, "1.0.0", NULL, &r);
        int want = bucket < 5000 ? 200 : 204;
        if (st != want) {
            diag("golden cohort: release %s device '%s' bucket %lld: got %d", rid, dev, bucket, st);
            agree = 0;
        }
        n++;
    }
    ok(agree && n >= 50, "golden cohort vectors: %d cases answered as their buckets say", n);
    json_decref(j);
}

/* Golden decision vectors: signed by the vector key, published verbatim, decided by the edge. */
static void t_golden_decisions(void)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/manifests/vectors/decisions.json", test_srcdir());
    json_t *j = json_load_file(path, 0, NULL);
    json_t *cases = json_object_get(j, "cases");
    if (!json_is_array(cases)) {
        ok(0, "golden decisions readable");
        json_decref(j);
        return;
    }
    /* publish the golden manifests verbatim (their paths from their payloads) and list "qa" */
    static const char *const files[][2] = {{"signed/decide-channel.json", "manifests/demo/ios/decide.json"},
                                           {"signed/decide-rollback.json", "manifests/demo/ios/decide-rollback.json"}};
    int pub = put_text("lists/qa.txt", "tester-9\n", 9) == 0;
    for (size_t f = 0; f < CMN_ARRAY_SIZE(files); f++) {
        char fp[1200];
        size_t fl;
        snprintf(fp, sizeof(fp), "%s/manifests/vectors/%s", test_srcdir(), files[f][0]);
        char *fd = slurp(fp, &fl);
        pub = pub && fd && put_text(files[f][1], fd, fl) == 0;
        free(fd);
    }
    ok(pub && sync_now() == 0, "golden decision manifests and list 'qa' published and synced");
    size_t i;
    json_t *c;
    int agree = 1, n = 0, skipped = 0;
    json_array_foreach(cases, i, c)
    {
        const char *file = json_string_value(json_object_get(c, "manifest"));
        char mp[1200];
        snprintf(mp, sizeof(mp), "%s/manifests/vectors/%s", test_srcdir(), file);
        size_t len;
        char *doc = slurp(mp, &len);
        json_t *env = doc ? json_loadb(doc, len, 0, NULL) : NULL;
        json_t *payload = env ? json_loads(json_string_value(json_object_get(env, "payload")), 0, NULL) : NULL;
        const char *app = json_string_value(json_object_get(payload, "app"));
        const char *plat = json_string_value(json_object_get(payload, "platform"));
        const char *chan = json_string_value(json_object_get(payload, "channel"));
        if (!app || !plat || !chan) {
            ok(0, "golden manifest %s readable", file);
            free(doc);
            json_decref(payload);
            json_decref(env);
            continue;
        }
        json_t *lists = json_object_get(c, "lists");
        json_t *dev = json_object_get(c, "device");
        const char *did = json_string_value(json_object_get(dev, "device_id"));
        /* the edge always has its lists; a "no lists" case is only comparable for non-members */
        if (json_is_null(lists) && did && strcmp(did, "tester-9") == 0) {
            skipped++;
            free(doc);
            json_decref(payload);
            json_decref(env);
            continue;
        }
        char t[4096], dq[600], skip[512] = "";
        pct(did, dq, sizeof(dq));
        json_t *bl = json_object_get(dev, "blocklist");
        size_t bi;
        json_t *b;
        json_array_foreach(bl, bi, b)
        {
            size_t l = strlen(skip);
            snprintf(skip + l, sizeof(skip) - l, "%s%s", l ? "," : "", json_string_value(b));
        }
        const char *cur = json_string_value(json_object_get(dev, "current_release"));
        snprintf(t, sizeof(t), "/v1/check?app=%s&platform=%s&channel=%s&binary_version=%s&device=%s%s%s%s%s", app, plat,
                 chan, json_string_value(json_object_get(dev, "binary_version")), dq, cur ? "&release=" : "",
                 cur ? cur : "", skip[0] ? "&skip=" : "", skip);
        struct hresp r;
        int st = get(t, &r);
        json_t *ex = json_object_get(c, "expect");
        const char *want = json_string_value(json_object_get(ex, "decision"));
        const char *wrel = json_string_value(json_object_get(ex, "release"));
        int wmand = json_is_true(json_object_get(ex, "mandatory"));
        int good;
        if (strcmp(want, "none") == 0) {
            good = st == 204;
        } else {
            const char *dh = rh(&r, "X-HotPatch-Decision");
            good = st == 200 && dh && strcmp(dh, want) == 0;
            if (good && wrel) {
                const char *rr = rh(&r, "X-HotPatch-Release");
                good = rr && strcmp(rr, wrel) == 0;
            }
            const char *mh = rh(&r, "X-HotPatch-Mandatory");
            if (good && strcmp(want, "update") == 0)
                good = mh && atoi(mh) == wmand;
        }
        if (!good) {
            diag("golden decision '%s': status %d, want %s %s", json_string_value(json_object_get(c, "name")), st, want,
                 wrel ? wrel : "");
            agree = 0;
        }
        n++;
        free(doc);
        json_decref(payload);
        json_decref(env);
    }
    ok(agree && n > 15, "golden decision vectors through /v1/check: %d agree (%d list-less cases skipped)", n, skipped);
    json_decref(j);
}

static void t_refusals(struct proc *e)
{
    struct hresp r;
    long long rej0 = health_int("rejected");
    is_int(seq_of("production"), 1, "production serves sequence 1");

    struct cmn_manifest *m = production(2, 0);
    ok(publish_as(m, &K, "production", TAMPER) == 0 && sync_now() == 0, "tampered sequence 2 published + synced");
    is_int(seq_of("production"), 1, "tampered manifest refused: sequence 1 keeps serving");
    cmn_manifest_free(m);

    m = production(3, (int64_t)time(NULL) - 10);
    ok(publish_as(m, &K, "production", PLAIN) == 0 && sync_now() == 0, "expired sequence 3 published + synced");
    is_int(seq_of("production"), 1, "expired manifest refused");
    cmn_manifest_free(m);

    m = production(4, 0);
    ok(publish_as(m, &K2, "production", PLAIN) == 0 && sync_now() == 0, "untrusted-key sequence 4 published");
    is_int(seq_of("production"), 1, "manifest signed by an unknown key refused");
    cmn_manifest_free(m);

    m = mk("beta", 5, 0);
    struct cmn_release rr;
    rel(&rr, "x1", "9.9.9", "*", 10000);
    ok(cmn_manifest_add_release(m, &rr) == 0 && publish_as(m, &K, "production", PLAIN) == 0 && sync_now() == 0,
       "a valid 'beta' manifest put at the production path");
    is_int(seq_of("production"), 1, "manifest for another channel refused at this path");
    cmn_manifest_free(m);

    ok(put_text("manifests/demo/android/production.json", "{not json", 9) == 0 && sync_now() == 0, "garbage published");
    is_int(seq_of("production"), 1, "malformed manifest refused");
    long long rej1 = health_int("rejected");
    ok(rej1 >= rej0 + 5, "healthz counts the refusals (%lld -> %lld)", rej0, rej1);
    ok(check("production", "device-00001", "2.1.0", NULL, &r) == 200 || r.status == 204,
       "checks keep answering during refusals");

    m = production(6, 0);
    ok(publish_as(m, &K, "production", PLAIN) == 0 && sync_now() == 0, "valid sequence 6 published");
    is_int(seq_of("production"), 6, "valid newer manifest applied");
    cmn_manifest_free(m);

    m = production(5, 0);
    ok(publish_as(m, &K, "production", PLAIN) == 0 && sync_now() == 0, "replayed older sequence 5 published");
    is_int(seq_of("production"), 6, "replay (lower sequence) refused");
    cmn_manifest_free(m);

    /* metrics reflect it */
    ok(get("/metrics", &r) == 200, "metrics");
    char *p = strstr(r.body, "\nhotpatch_edge_sync_rejected_total ");
    long long nrej = p ? atoll(p + strlen("\nhotpatch_edge_sync_rejected_total ")) : -1;
    ok(nrej >= 6, "metrics count refused manifests (%lld)", nrej);
    p = strstr(r.body, "\nhotpatch_edge_checks_total{outcome=\"update\"} ");
    ok(p && atoll(p + strlen("\nhotpatch_edge_checks_total{outcome=\"update\"} ")) > 1000, "metrics count updates");
    ok(strstr(r.body, "hotpatch_edge_request_duration_seconds_bucket{le=\"+Inf\"}") != NULL, "latency histogram");
    ok(strstr(r.body, "hotpatch_edge_sync_age_seconds ") != NULL, "sync age gauge");

    /* auth on /v1/sync */
    is_int(req(HC, PORT, "POST", "/v1/sync", "Content-Length: 0\r\n", &r), 401, "sync without a token: 401");
    is_int(req(HC, PORT, "POST", "/v1/sync", "Authorization: Bearer nope\r\nContent-Length: 0\r\n", &r), 401,
           "sync with a wrong token: 401");
    ok(rh(&r, "WWW-Authenticate") != NULL, "401 names the scheme");

    /* SIGHUP */
    m = production(7, 0);
    ok(publish_as(m, &K, "production", PLAIN) == 0, "sequence 7 published");
    cmn_manifest_free(m);
    is_int(seq_of("production"), 6, "not applied before a trigger (poll interval is an hour)");
    kill(e->pid, SIGHUP);
    int s = 0;
    for (int i = 0; i < 500 && (s = seq_of("production")) != 7; i++)
        msleep(10);
    is_int(s, 7, "SIGHUP triggers a sync");
}

/* The health status and the number of problems /healthz names for `key`. */
static int health_names(const char *key, const char *what, char *status, size_t cap)
{
    struct hresp r;
    status[0] = '\0';
    if (get("/healthz", &r) != 200)
        return -1;
    json_t *j = json_loads(r.body, 0, NULL);
    const char *st = json_string_value(json_object_get(j, "status"));
    snprintf(status, cap, "%s", st ? st : "");
    int n = 0;
    json_t *ps = json_object_get(j, "problems");
    for (size_t i = 0; i < json_array_size(ps); i++) {
        const char *k = json_string_value(json_object_get(json_array_get(ps, i), "key"));
        const char *w = json_string_value(json_object_get(json_array_get(ps, i), "problem"));
        if (k && w && !strcmp(k, key) && !strncmp(w, what, strlen(what)))
            n++;
    }
    json_decref(j);
    return n;
}

static long long metric(const char *name)
{
    struct hresp r;
    char pat[200];
    if (get("/metrics", &r) != 200)
        return -1;
    snprintf(pat, sizeof(pat), "\n%s ", name);
    const char *p = strstr(r.body, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}

static int count_in_log(const char *path, const char *needle)
{
    size_t n = 0;
    char *log = slurp(path, &n);
    int c = 0;
    for (const char *p = log; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        c++;
    free(log);
    return c;
}

/* Issue 12 #4: a manifest deleted from storage, or a refused one, is visible: health, metric, one log line. */
static void t_missing(struct proc *e)
{
    static const char key[] = "manifests/demo/android/gone.json";
    char status[32], path[1300];
    struct cmn_errbuf eb = {{0}};
    struct cmn_manifest *m = mk("gone", 1, 0);
    struct cmn_release r0;
    rel(&r0, "g1", "1.0.0", "*", 10000);
    ok(cmn_manifest_add_release(m, &r0) == 0 && publish_as(m, &K, "gone", PLAIN) == 0 && sync_now() == 0,
       "channel 'gone' published and synced");
    cmn_manifest_free(m);
    is_int(seq_of("gone"), 1, "the edge serves 'gone'");
    is_int(health_names(key, "", status, sizeof(status)), 0, "healthz names no problem with it yet");
    is_int(metric("hotpatch_edge_manifests_missing"), 0, "missing gauge 0");

    ok(cmn_storage_delete(ST, key, &eb) == CMN_OK && sync_now() == 0, "its manifest deleted from storage, synced");
    is_int(health_names(key, "missing", status, sizeof(status)), 1, "healthz names the missing manifest");
    is_str(status, "degraded", "healthz: degraded while a manifest is missing");
    is_int(metric("hotpatch_edge_manifests_missing"), 1, "missing gauge 1");
    is_int(seq_of("gone"), 1, "the last good copy keeps serving");
    ok(sync_now() == 0 && sync_now() == 0, "two more passes");
    snprintf(path, sizeof(path), "'%s' is missing from storage", key);
    is_int(count_in_log(e->log, path), 1, "one log line for the disappearance, not one per pass");

    m = mk("gone", 2, 0);
    ok(publish_as(m, &K2, "gone", PLAIN) == 0 && sync_now() == 0, "a manifest by an untrusted key stored there");
    cmn_manifest_free(m);
    is_int(health_names(key, "refused", status, sizeof(status)), 1, "healthz names the refused manifest");
    is_str(status, "degraded", "healthz: degraded while storage holds a refused manifest");
    is_int(metric("hotpatch_edge_manifests_refused"), 1, "refused gauge 1");
    is_int(metric("hotpatch_edge_manifests_missing"), 0, "missing gauge back to 0");
    ok(sync_now() == 0, "another pass");
    is_int(health_names(key, "refused", status, sizeof(status)), 1, "still refused on the next pass (logged once)");

    m = mk("gone", 3, 0);
    ok(cmn_manifest_add_release(m, &r0) == 0 && publish_as(m, &K, "gone", PLAIN) == 0 && sync_now() == 0,
       "a valid sequence 3 replaces it");
    cmn_manifest_free(m);
    is_int(health_names(key, "", status, sizeof(status)), 0, "healthz names no problem any more");
    is_int(metric("hotpatch_edge_manifests_refused"), 0, "refused gauge 0");
    is_int(seq_of("gone"), 3, "sequence 3 serves");

    /* retired by a signed tombstone: verified and applied like any manifest, nothing offered, healthy */
    m = mk("gone", 4, 0);
    m->retired = 1;
    ok(publish_as(m, &K, "gone", PLAIN) == 0 && sync_now() == 0, "a tombstone (retired, sequence 4) published");
    cmn_manifest_free(m);
    is_int(seq_of("gone"), 4, "the edge applied the tombstone");
    struct hresp hr;
    is_int(check("gone", "device-00001", "2.1.0", NULL, &hr), 204, "a retired channel offers nothing (204)");
    is_int(health_names(key, "", status, sizeof(status)), 0, "a retired channel is no health problem");
    m = mk("gone", 3, 0);
    ok(cmn_manifest_add_release(m, &r0) == 0 && publish_as(m, &K, "gone", PLAIN) == 0 && sync_now() == 0,
       "the pre-tombstone sequence 3 replayed over it");
    cmn_manifest_free(m);
    is_int(seq_of("gone"), 4, "the replay is refused: the tombstone stands");
    m = mk("gone", 5, 0);
    m->retired = 1;
    ok(publish_as(m, &K, "gone", PLAIN) == 0 && sync_now() == 0, "tombstone re-signed (sequence 5)");
    cmn_manifest_free(m);
}

static void t_lists(struct proc *e)
{
    struct hresp r;
    /* list from storage */
    struct cmn_manifest *m = mk("vip", 1, 0);
    struct cmn_release rr;
    rel(&rr, "v1", "1.0.0", "*", 10000);
    rr.device_list = "vip";
    ok(cmn_manifest_add_release(m, &rr) == 0 && publish_as(m, &K, "vip", PLAIN) == 0, "vip channel published");
    cmn_manifest_free(m);
    ok(put_text("lists/vip.txt", "alice\nbob\n", 10) == 0 && sync_now() == 0, "lists/vip.txt synced");
    is_int(check("vip", "alice", "1.0.0", NULL, &r), 200, "storage list member gets the targeted release");
    is_int(check("vip", "carol", "1.0.0", NULL, &r), 204, "non-member gets 204");
    ok(put_text("lists/vip.txt", "carol\n", 6) == 0 && sync_now() == 0, "list changed in storage");
    is_int(check("vip", "alice", "1.0.0", NULL, &r), 204, "removed member no longer targeted");
    is_int(check("vip", "carol", "1.0.0", NULL, &r), 200, "new member targeted");
    ok(put_text("lists/vip.txt", "bad\x01id\n", 7) == 0 && sync_now() == 0, "malformed list published");
    is_int(check("vip", "carol", "1.0.0", NULL, &r), 200, "malformed list refused; the previous list keeps serving");

    /* 1M entries through the load-list subcommand, while the server runs */
    char lp[1200], out[1200];
    snprintf(lp, sizeof(lp), "%s/big.txt", TMP);
    snprintf(out, sizeof(out), "%s/load-list.out", TMP);
    FILE *f = fopen(lp, "w");
    for (int i = 0; i < 1000000 && f; i++)
        fprintf(f, "phone-%07d\n", (int)(((long long)i * 7919) % 1000000) * 2); /* even numbers only */
    if (f)
        fclose(f);
    char *argv[] = {BIN, "load-list", "--json", "--data-dir", e->data, "big", lp, NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = spawn(argv, NULL, out);
    int rc = wait_exit(pid, 120000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    is_int(rc, 0, "load-list of 1,000,000 ids succeeds (%.2f s)", secs);
    size_t ol;
    char *o = slurp(out, &ol);
    ok(o && strstr(o, "\"ids\":1000000"), "load-list reports 1000000 ids: %s", o ? o : "");
    free(o);
    m = mk("big", 1, 0);
    rel(&rr, "b1", "1.0.0", "*", 10000);
    rr.device_list = "big";
    ok(cmn_manifest_add_release(m, &rr) == 0 && publish_as(m, &K, "big", PLAIN) == 0 && sync_now() == 0,
       "channel targeting the big list");
    cmn_manifest_free(m);
    int good = 1;
    for (int i = 0; i < 400; i++) {
        char dev[32];
        int num = (i * 4999) % 2000000;
        snprintf(dev, sizeof(dev), "phone-%07d", num);
        int want = num % 2 == 0 ? 200 : 204;
        if (check("big", dev, "1.0.0", NULL, &r) != want) {
            diag("big list: %s got %d want %d", dev, r.status, want);
            good = 0;
        }
    }
    ok(good, "400 lookups against the 1M list answer by membership");
    ok(sync_now() == 0 && check("big", "phone-0000002", "1.0.0", NULL, &r) == 200,
       "a later storage sync leaves the locally loaded list alone");
    unlink(lp);
}

static void t_http(void)
{
    struct hc *c = malloc(sizeof(*c));
    struct hresp r;
    /* pipelining: 200 requests in one write */
    struct cmn_buf b;
    cmn_buf_init(&b, 1 << 20);
    for (int i = 0; i < 200; i++)
        if (cmn_buf_addf(&b,
                         "GET /v1/check?app=demo&platform=android&channel=production&binary_version=2.1.0&device=p-%d "
                         "HTTP/1.1\r\nHost: x\r\n\r\n",
                         i))
            break;
    int good = hc_open(c, PORT) == 0 && hc_send(c, b.ptr, b.len) == 0;
    int n = 0;
    for (int i = 0; good && i < 200; i++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "p-%d", i);
        if (hc_read(c, &r)) {
            good = 0;
            break;
        }
        int want = (cmn_cohort_bucket("r2", dev) < 3000 || cmn_cohort_bucket("r1", dev) < 5000) ? 200 : 204;
        if (r.status != want)
            good = 0;
        n++;
    }
    ok(good && n == 200, "200 pipelined requests answered in order (%d)", n);
    hc_close(c);
    cmn_buf_release(&b);

    /* a slow client: one request in three pieces */
    {
        const char *parts[] = {"GET /v1/check?app=demo&platform=android&chan",
                               "nel=production&binary_version=2.1.0&devi", "ce=slow-1 HTTP/1.1\r\nHost: x\r\n\r\n"};
        int okk = hc_open(c, PORT) == 0;
        for (int i = 0; okk && i < 3; i++) {
            okk = hc_send(c, parts[i], strlen(parts[i])) == 0;
            msleep(30);
        }
        okk = okk && hc_read(c, &r) == 0 && (r.status == 200 || r.status == 204);
        ok(okk, "a request arriving in three pieces is answered (%d)", r.status);
        hc_close(c);
    }
    /* back-pressure: 3000 pipelined manifest requests (~9 MB of answers) sent without reading */
    {
        const char *one = "GET /v1/manifests/demo/android/production.json HTTP/1.1\r\nHost: x\r\n\r\n";
        size_t rlen = 0, total, got = 0, sent = 0, N = 3000;
        if (hc_open(c, PORT) == 0 && hc_send(c, one, strlen(one)) == 0 && hc_read(c, &r) == 0)
            rlen = strlen(r.head) + r.body_len;
        total = rlen * N;
        struct cmn_buf all;
        cmn_buf_init(&all, 1 << 20);
        for (size_t i = 0; i < N; i++)
            if (cmn_buf_addstr(&all, one))
                break;
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        char sink[65536];
        int stalled = 0;
        while (rlen && got < total && stalled < 500) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN | (sent < all.len ? POLLOUT : 0)};
            if (poll(&pfd, 1, 20) <= 0) {
                stalled++;
                continue;
            }
            if ((pfd.revents & POLLOUT) && sent < all.len) {
                ssize_t k = write(c->fd, all.ptr + sent, all.len - sent);
                if (k > 0)
                    sent += (size_t)k;
            }
            if (pfd.revents & POLLIN) {
                ssize_t k = read(c->fd, sink, sizeof(sink));
                if (k <= 0)
                    break;
                got += (size_t)k;
            }
        }
        ok(rlen && got == total, "3000 pipelined 2.6 KB answers all arrive under back-pressure (%zu of %zu bytes)", got,
           total);
        cmn_buf_release(&all);
        hc_close(c);
    }

    /* malformed and oversized requests: 400/431/413 with a JSON reason, then close */
    static const struct {
        const char *raw;
        int status;
        const char *name;
    } bad[] = {
        {"GARBAGE\r\n\r\n", 400, "garbage request line"},
        {"GET / HTTP/1.1\r\nbad header\r\n\r\n", 400, "header without a colon"},
        {"GET / HTTP/3.0\r\n\r\n", 400, "unknown version"},
        {"GET /v1/check HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "chunked body"},
        {"POST /v1/sync HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413, "huge body"},
        {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "two content-lengths"},
        {"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400, "bad content-length"},
        /* issue 12 #7: RFC 9112 3.2 */
        {"GET /healthz HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host"},
        {"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host headers"},
        {"GET /healthz HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400, "two Host headers on HTTP/1.0"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        int st = -1, closed = 0;
        if (hc_open(c, PORT) == 0 && hc_send(c, bad[i].raw, strlen(bad[i].raw)) == 0 && hc_read(c, &r) == 0) {
            st = r.status;
            closed = hc_read(c, &r) != 0;
        }
        ok(st == bad[i].status && closed, "%s -> %d and the connection closes (got %d)", bad[i].name, bad[i].status,
           st);
        hc_close(c);
    }
    {
        char big[10000];
        int k = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX-Big: ");
        memset(big + k, 'a', 9000);
        memcpy(big + k + 9000, "\r\n\r\n", 5);
        int st = -1;
        if (hc_open(c, PORT) == 0 && hc_send(c, big, strlen(big)) == 0 && hc_read(c, &r) == 0)
            st = r.status;
        is_int(st, 431, "9 KB header -> 431");
        ok(strstr(r.body, "\"error\"") != NULL, "431 has a JSON reason");
        hc_close(c);
    }
    {
        /* issue 12 #7: more than 64 header fields is 431 with a reason, not a generic 400 */
        char many[4096];
        int k = snprintf(many, sizeof(many), "GET /healthz HTTP/1.1\r\nHost: x\r\n");
        for (int h = 0; h < 70; h++)
            k += snprintf(many + k, sizeof(many) - (size_t)k, "X-H%d: v\r\n", h);
        snprintf(many + k, sizeof(many) - (size_t)k, "\r\n");
        int st = -1;
        r.body[0] = '\0';
        if (hc_open(c, PORT) == 0 && hc_send(c, many, strlen(many)) == 0 && hc_read(c, &r) == 0)
            st = r.status;
        is_int(st, 431, "71 header fields -> 431");
        ok(strstr(r.body, "header_too_large") && strstr(r.body, "64 header"), "431 names the header limit: %s", r.body);
        hc_close(c);
        /* exactly 64 fields are fine */
        k = snprintf(many, sizeof(many), "GET /healthz HTTP/1.1\r\nHost: x\r\n");
        for (int h = 0; h < 63; h++)
            k += snprintf(many + k, sizeof(many) - (size_t)k, "X-H%d: v\r\n", h);
        snprintf(many + k, sizeof(many) - (size_t)k, "\r\n");
        st = -1;
        if (hc_open(c, PORT) == 0 && hc_send(c, many, strlen(many)) == 0 && hc_read(c, &r) == 0)
            st = r.status;
        is_int(st, 200, "64 header fields -> 200");
        hc_close(c);
    }
    /* issue 12 #7: a device id that is not valid UTF-8 is refused (overlong, lone continuation, cut sequence) */
    {
        static const char *const badids[] = {"dev%C0%AF", "dev%80", "dev%E2%82", "dev%ED%A0%80", "dev%F5%80%80%80"};
        for (size_t i = 0; i < CMN_ARRAY_SIZE(badids); i++) {
            char t[512];
            snprintf(t, sizeof(t),
                     "/v1/check?app=demo&platform=android&channel=production&binary_version=2.1.0&device=%s",
                     badids[i]);
            is_int(get(t, &r), 400, "device id '%s' (not UTF-8) -> 400", badids[i]);
        }
        int st =
            get("/v1/check?app=demo&platform=android&channel=production&binary_version=2.1.0&device=d%C3%A9v-%E2%9C%93",
                &r);
        ok(st == 200 || st == 204, "a valid UTF-8 device id is answered (got %d)", st);
    }
    {
        /* random garbage bytes never crash it */
        int alive = 1;
        srand(11);
        for (int t = 0; t < 200 && alive; t++) {
            char junk[600];
            size_t l = 1 + (size_t)(rand() % (int)sizeof(junk));
            for (size_t q = 0; q < l; q++)
                junk[q] = (char)(rand() % 256);
            if (t % 2) /* half of them start like a request */
                memcpy(junk, "GET /v1/check?", l < 14 ? l : 14);
            if (hc_open(c, PORT) == 0) {
                hc_send(c, junk, l);
                shutdown(c->fd, SHUT_WR);
                char sink[4096];
                while (read(c->fd, sink, sizeof(sink)) > 0)
                    ;
                hc_close(c);
            }
        }
        alive = get("/healthz", &r) == 200;
        ok(alive, "200 connections of random bytes later the server still answers");
    }
    /* HTTP/1.0 closes; keep-alive header honoured */
    if (hc_open(c, PORT) == 0) {
        const char *r10 = "GET /healthz HTTP/1.0\r\n\r\n";
        hc_send(c, r10, strlen(r10));
        ok(hc_read(c, &r) == 0 && r.status == 200 && rh(&r, "Connection") && strcmp(rh(&r, "Connection"), "close") == 0,
           "HTTP/1.0 without keep-alive: Connection: close");
        ok(hc_read(c, &r) != 0, "... and the server closes");
        hc_close(c);
    }
    if (hc_open(c, PORT) == 0) {
        int okk = 1;
        for (int i = 0; i < 5 && okk; i++)
            okk = req(c, PORT, "GET", "/healthz", "Connection: keep-alive\r\n", &r) == 200;
        int fd = c->fd;
        ok(okk && fd == c->fd, "five requests on one keep-alive connection");
        hc_close(c);
    }
    /* bad parameters through the network */
    is_int(get("/v1/check?app=demo&platform=android&channel=production&binary_version=1.0.0", &r), 400,
           "missing device -> 400");
    ok(strstr(r.body, "device") != NULL, "reason names the parameter");
    is_int(get("/v1/check?app=demo&platform=android&channel=nope&binary_version=1.0.0&device=d", &r), 404,
           "unknown channel -> 404");
    is_int(get("/v1/manifests/demo/android/production.json", &r), 200, "manifest endpoint");
    char etag[128];
    snprintf(etag, sizeof(etag), "If-None-Match: %s\r\n", rh(&r, "ETag") ? rh(&r, "ETag") : "\"x\"");
    is_str(rh(&r, "Cache-Control"), "public, max-age=30", "manifest Cache-Control");
    is_int(req(HC, PORT, "GET", "/v1/manifests/demo/android/production.json", etag, &r), 304, "If-None-Match -> 304");
    is_int(get("/update/check?appId=demo&platform=android&deviceId=device-00003&binaryVersion=2.1.0", &r), 200,
           "/update/check answers");
    ok(strstr(r.body, "\"updateAvailable\":") != NULL, "/update/check uses the seed's field names");
    is_int(get("/api/firmware/check?device_id=device-00003&app=demo&platform=android&current_version=0.0.1", &r), 200,
           "/api/firmware/check answers");
    ok(strstr(r.body, "\"update_available\":") != NULL, "/api/firmware/check uses the seed's field names");
    free(c);
}

/* A non-blocking connection to the edge from source address `src` (127.0.0.x); -1 on failure. */
static int slow_open(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in me = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, src, &me.sin_addr);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
        (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 1 when the server closed fd (EOF or reset seen without blocking). */
static int slow_closed(int fd)
{
    char buf[512];
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (k == 0)
            return 1;
        if (k < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOTCONN ? 0 : 1;
    }
}

/*
 * Issue 12 #3, slowloris. One client address (127.0.0.2) opens 2,000 connections and trickles a
 * header byte into each every 500 ms, never finishing a request, against an edge with 1,000
 * connection slots and a 2 s header timeout. Real clients (127.0.0.1) must be answered all along,
 * and every trickling connection must be closed within the header timeout of its first byte
 * (plus the once-a-second sweep), however often it sends. Bounded: about 8 s.
 */
static void t_slowloris(const char *source, const char *keys)
{
    enum { N = 2000 };
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < N + 256) {
        rl.rlim_cur = rl.rlim_max < N + 1024 ? rl.rlim_max : N + 1024;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < N + 256) {
        test_skip(5, "slowloris needs 2256 file descriptors");
        return;
    }
    struct proc e;
    memset(&e, 0, sizeof(e));
    snprintf(e.data, sizeof(e.data), "%s/index-slow", TMP);
    snprintf(e.log, sizeof(e.log), "%s/edge-slow.log", TMP);
    static const char *const extras[] = {"--threads", "1", "--max-conns", "1000", "--header-timeout", "2", NULL};
    if (start_edge(&e, source, keys, extras) != 0) {
        ok(0, "slowloris: edge starts (log %s)", e.log);
        return;
    }
    static int fds[N];
    static int64_t opened_ms[N];
    int opened = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t t0 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, now = t0;
    static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (int i = 0; i < N; i++) {
        fds[i] = slow_open("127.0.0.2", e.port);
        opened_ms[i] = t0;
        if (fds[i] >= 0)
            opened++;
    }
    msleep(100);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0 && send(fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
            close(fds[i]);
            fds[i] = -1;
        }
    is_int(opened, N, "slowloris: %d trickling connections opened from one address", N);
    int real_ok = 0, real_total = 0, overdue = 0, max_open = 0;
    struct hc *c = malloc(sizeof(*c));
    c->fd = -1;
    while (now - t0 < 6500) {
        int open_now = 0;
        for (int i = 0; i < N; i++) {
            if (fds[i] < 0)
                continue;
            if (slow_closed(fds[i]) || send(fds[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                if (errno == EAGAIN)
                    continue;
                close(fds[i]);
                fds[i] = -1;
                continue;
            }
            open_now++;
            if (now - opened_ms[i] > 2000 + 1000 + 1500) /* header timeout + sweep period + slack */
                overdue++;
        }
        if (open_now > max_open)
            max_open = open_now;
        for (int k = 0; k < 10; k++) {
            struct hresp r;
            real_total++;
            hc_close(c);
            if (req(c, e.port, "GET", "/healthz", NULL, &r) == 200)
                real_ok++;
        }
        msleep(500);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    hc_close(c);
    free(c);
    int still = 0;
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0) {
            still += !slow_closed(fds[i]);
            close(fds[i]);
        }
    diag("slowloris: at most %d of the %d trickling connections were held open at once", max_open, N);
    is_int(real_ok, real_total, "slowloris: every real client was answered while it ran (%d of %d)", real_ok,
           real_total);
    ok(max_open <= 256, "slowloris: one client address holds at most 256 connections (held %d)", max_open);
    is_int(overdue, 0, "slowloris: no trickling connection outlived its request deadline (first byte + 2 s)");
    is_int(still, 0, "slowloris: after 6.5 s every trickling connection was closed by the server");
    stop_edge(&e);
}

static void t_restart(struct proc *e, const char *keys)
{
    struct hresp r;
    char dev_in[32] = "";
    for (int d = 0; d < 100 && !dev_in[0]; d++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "device-%05d", d);
        if (cmn_cohort_bucket("r2", dev) < 3000)
            snprintf(dev_in, sizeof(dev_in), "%s", dev);
    }
    stop_edge(e);
    hc_close(HC);
    /* restart against a storage that cannot be reached (nothing listens on that port):
     * everything must come from LMDB */
    char bad[1200];
    snprintf(bad, sizeof(bad), "s3://nobucket/x?endpoint=http://127.0.0.1:%d&region=us-east-1", free_port());
    setenv("AWS_ACCESS_KEY_ID", "unused", 0);
    setenv("AWS_SECRET_ACCESS_KEY", "unused", 0);
    static const char *const extras[] = {"--idle-timeout", "2", "--header-timeout", "1", NULL};
    ok(start_edge(e, bad, keys, extras) == 0, "edge restarts with unreachable storage");
    PORT = e->port;
    is_int(check("production", dev_in, "2.1.0", NULL, &r), 200, "first check after restart answers from LMDB");
    is_str(rh(&r, "X-HotPatch-Release"), "r2", "... with the same release");
    is_str(rh(&r, "X-HotPatch-Sequence"), "7", "... from the last synced manifest");
    is_int(check("vip", "carol", "1.0.0", NULL, &r), 200, "lists survive the restart");
    long long age = health_int("index_age_s");
    ok(age >= 0 && age < 600, "index age after a restart comes from the index (%lld s)", age);
    int failures = 0;
    for (int i = 0; i < 1500 && failures <= 0; i++) {
        failures = (int)health_int("failures");
        msleep(10);
    }
    ok(failures >= 1, "healthz reports the failed sync (%d)", failures);
    get("/healthz", &r);
    ok(strstr(r.body, "\"status\":\"degraded\"") != NULL, "status degraded after a failed sync");
    /* idle timeout (2 s) and header timeout (1 s): a slow-loris head is cut first */
    struct hc *c = malloc(sizeof(*c)), *slow = malloc(sizeof(*slow));
    if (hc_open(c, PORT) == 0 && hc_open(slow, PORT) == 0) {
        hc_send(slow, "GET /healthz HTTP/1.1\r\nX-Slow: ", 31);
        struct timespec t0, t1, t2;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct pollfd pfd = {.fd = slow->fd, .events = POLLIN};
        char x;
        int pr = poll(&pfd, 1, 5000);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ok(pr == 1 && read(slow->fd, &x, 1) == 0, "half-sent request head cut after --header-timeout");
        pfd.fd = c->fd;
        pr = poll(&pfd, 1, 5000);
        clock_gettime(CLOCK_MONOTONIC, &t2);
        ok(pr == 1 && read(c->fd, &x, 1) == 0, "idle connection closed by the server after --idle-timeout");
        double d1 = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        double d2 = (double)(t2.tv_sec - t0.tv_sec) + (double)(t2.tv_nsec - t0.tv_nsec) / 1e9;
        ok(d1 + 0.4 < d2, "the slow head went first (%.1f s vs %.1f s)", d1, d2);
    }
    hc_close(c);
    hc_close(slow);
    free(c);
    free(slow);
}

static void t_lambda(const char *source, const char *keys)
{
    char fake[1200], events[1200], results[1200], log[1200], data[1200], api[64];
    snprintf(fake, sizeof(fake), "%s/tests/integration/edge-check/fake_lambda_runtime.py", test_srcdir());
    snprintf(events, sizeof(events), "%s/events.json", TMP);
    snprintf(results, sizeof(results), "%s/results.json", TMP);
    snprintf(log, sizeof(log), "%s/lambda.log", TMP);
    snprintf(data, sizeof(data), "%s/lambda-index", TMP);
    char dev_in[32] = "";
    for (int d = 0; d < 100 && !dev_in[0]; d++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "device-%05d", d);
        if (cmn_cohort_bucket("r2", dev) < 3000)
            snprintf(dev_in, sizeof(dev_in), "%s", dev);
    }
    char report_b64[256];
    {
        static const char rep[] = "{\"firmware_version\":\"1.1.0\",\"status\":\"failed\"}";
        cmn_base64_encode((const uint8_t *)rep, sizeof(rep) - 1, report_b64);
    }
    FILE *f = fopen(events, "w");
    if (!f) {
        ok(0, "write events");
        return;
    }
    fprintf(f,
            "[{\"version\":\"2.0\",\"rawPath\":\"/v1/check\",\"rawQueryString\":\"app=demo&platform=android&"
            "channel=production&binary_version=2.1.0&device=%s\",\"headers\":{\"host\":\"x\"},\"requestContext\":"
            "{\"http\":{\"method\":\"GET\"}},\"isBase64Encoded\":false},"
            "{\"rawPath\":\"/v1/check\",\"rawQueryString\":\"app=demo\",\"requestContext\":{\"http\":{\"method\":"
            "\"GET\"}}},"
            "{\"httpMethod\":\"GET\",\"path\":\"/update/check\",\"queryStringParameters\":{\"appId\":\"demo\","
            "\"platform\":\"android\",\"deviceId\":\"%s\",\"binaryVersion\":\"2.1.0\"}},"
            "{\"rawPath\":\"/v1/sync\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},\"headers\":"
            "{\"authorization\":\"Bearer wrong\"}},"
            "\"this is not json\","
            "{\"__wait_file\":\"%s/go\"},"
            "{\"rawPath\":\"/v1/manifests/demo/android/production.json\",\"requestContext\":{\"http\":"
            "{\"method\":\"GET\"}}},"
            /* device reports through Lambda (body, base64 or not): relayed to --publisher-url (the fake) */
            "{\"rawPath\":\"/api/device/esp32_001/update-status\",\"headers\":{\"content-type\":"
            "\"application/json\"},\"requestContext\":{\"http\":{\"method\":\"POST\",\"sourceIp\":"
            "\"10.0.0.7\"}},\"body\":\"%s\",\"isBase64Encoded\":true},"
            "{\"rawPath\":\"/api/device/esp32_001/update-status\",\"requestContext\":{\"http\":{\"method\":"
            "\"POST\"}},\"body\":\"{not json\"},"
            "{\"rawPath\":\"/api/device/esp32_001/update-status\",\"requestContext\":{\"http\":{\"method\":"
            "\"POST\"}},\"body\":\"%05000d\"},"
            "{\"rawPath\":\"/healthz\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}]",
            dev_in, dev_in, TMP, report_b64, 0);
    fclose(f);
    int port = free_port();
    snprintf(api, sizeof(api), "127.0.0.1:%d", port);
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    char *pargv[] = {"/usr/bin/python3", fake, ports, events, results, NULL};
    pid_t fp = spawn(pargv, NULL, log);
    wait_listening(port, 10000);
    char apienv[128], tok[128];
    snprintf(apienv, sizeof(apienv), "AWS_LAMBDA_RUNTIME_API=%s", api);
    snprintf(tok, sizeof(tok), "HOTPATCH_SYNC_TOKEN=%s", TOKEN);
    const char *env[] = {apienv, tok, NULL};
    char pubu[64];
    snprintf(pubu, sizeof(pubu), "http://127.0.0.1:%d", port);
    char *largv[] = {BIN,
                     "lambda",
                     "--data-dir",
                     data,
                     "--source",
                     (char *)source,
                     "--trusted-key",
                     (char *)keys,
                     "--refresh",
                     "1",
                     "--publisher-url",
                     pubu,
                     "--device-model",
                     "esp=demo/android/production",
                     NULL};
    pid_t lp = spawn(largv, env, log);
    /* after the first five invocations: publish a new manifest, let the index age past --refresh, release */
    int five = 0;
    for (int i = 0; i < 1000 && !five; i++) {
        json_t *part = json_load_file(results, 0, NULL);
        five = json_object_get(json_object_get(part, "errors"), "req-4") != NULL;
        json_decref(part);
        if (!five)
            msleep(10);
    }
    ok(five, "first five invocations answered");
    struct cmn_manifest *nm = production(8, 0);
    ok(nm && publish_as(nm, &K, "production", PLAIN) == 0, "sequence 8 published while the runtime waits");
    cmn_manifest_free(nm);
    msleep(1200);
    char go[1200];
    snprintf(go, sizeof(go), "%s/go", TMP);
    FILE *gf = fopen(go, "w");
    if (gf)
        fclose(gf);
    int frc = wait_exit(fp, 30000);
    int lrc = wait_exit(lp, 10000);
    ok(frc == 0, "fake runtime saw every event answered");
    ok(lrc != -1, "runtime exits once the Runtime API goes away (status %d)", lrc);
    json_t *res = json_load_file(results, 0, NULL);
    json_t *rs = json_object_get(res, "responses"), *er = json_object_get(res, "errors");
    json_t *r0 = json_object_get(rs, "req-0");
    is_int(json_integer_value(json_object_get(r0, "statusCode")), 200, "lambda: in-cohort check -> 200");
    is_str(json_string_value(json_object_get(json_object_get(r0, "headers"), "X-HotPatch-Release")), "r2",
           "lambda: release header");
    const char *body = json_string_value(json_object_get(r0, "body"));
    {
        struct cmn_keyring kr = {&K, 1};
        struct cmn_manifest *m = NULL;
        ok(body && cmn_manifest_open(body, strlen(body), &kr, NULL, (int64_t)time(NULL), 0, &m, NULL) == CMN_OK,
           "lambda: body is the signed envelope and verifies");
        cmn_manifest_free(m);
    }
    ok(json_is_false(json_object_get(r0, "isBase64Encoded")), "lambda: isBase64Encoded false");
    is_int(json_integer_value(json_object_get(json_object_get(rs, "req-1"), "statusCode")), 400,
           "lambda: bad parameters -> 400");
    json_t *r2 = json_object_get(rs, "req-2");
    is_int(json_integer_value(json_object_get(r2, "statusCode")), 200, "lambda: REST API event mapped");
    ok(json_string_value(json_object_get(r2, "body")) &&
           strstr(json_string_value(json_object_get(r2, "body")), "\"updateAvailable\":true"),
       "lambda: /update/check body");
    is_int(json_integer_value(json_object_get(json_object_get(rs, "req-3"), "statusCode")), 401,
           "lambda: sync with a wrong token -> 401");
    ok(json_object_get(er, "req-4") != NULL, "lambda: malformed event reported to /invocation/<id>/error");
    is_str(json_string_value(json_object_get(json_object_get(r0, "headers"), "X-HotPatch-Sequence")), "7",
           "lambda: cold-start index had sequence 7");
    is_str(json_string_value(
               json_object_get(json_object_get(json_object_get(rs, "req-5"), "headers"), "X-HotPatch-Sequence")),
           "8", "lambda: index older than --refresh resynced before the next invocation");
    is_int(json_integer_value(json_object_get(json_object_get(rs, "req-6"), "statusCode")), 202,
           "lambda: a device report (base64 body) -> 202");
    json_t *rl = json_object_get(res, "relayed");
    json_t *ev0 = json_array_get(json_object_get(json_array_get(rl, 0), "events"), 0);
    is_int((long long)json_array_size(rl), 1, "lambda: relayed to --publisher-url before the next invocation");
    ok(ev0 && !strcmp(json_string_value(json_object_get(ev0, "status")), "failed") &&
           !strcmp(json_string_value(json_object_get(ev0, "release_id")), "r2") &&
           !strcmp(json_string_value(json_object_get(ev0, "device_id")), "esp32_001"),
       "lambda: the relayed event is the decoded report (failed, r2, esp32_001)");
    is_int(json_integer_value(json_object_get(json_object_get(rs, "req-7"), "statusCode")), 400,
           "lambda: a body that is not JSON reaches the parser -> 400");
    is_int(json_integer_value(json_object_get(json_object_get(rs, "req-8"), "statusCode")), 413,
           "lambda: a body over 4 KiB -> 413");
    json_decref(res);

    /* init error: no trusted keys */
    unlink(results);
    f = fopen(events, "w");
    if (f) {
        fputs("[{\"rawPath\":\"/healthz\"}]", f);
        fclose(f);
    }
    port = free_port();
    snprintf(ports, sizeof(ports), "%d", port);
    snprintf(apienv, sizeof(apienv), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", port);
    const char *env2[] = {apienv, "HOTPATCH_TRUSTED_KEYS=", NULL};
    char *largv2[] = {BIN, "lambda", "--data-dir", data, "--source", (char *)source, NULL};
    fp = spawn(pargv, NULL, log);
    wait_listening(port, 10000);
    lp = spawn(largv2, env2, log);
    lrc = wait_exit(lp, 10000);
    frc = wait_exit(fp, 10000);
    ok(lrc != 0 && lrc != -1, "lambda without trusted keys exits non-zero (%d)", lrc);
    res = json_load_file(results, 0, NULL);
    json_t *ie = json_object_get(res, "init_error");
    ok(json_is_object(ie) && strstr(json_string_value(json_object_get(ie, "errorMessage")), "trusted"),
       "init error posted to /runtime/init/error");
    json_decref(res);
}

static void t_s3(void)
{
    const char *ep = getenv("HP_TEST_S3_ENDPOINT"), *bucket = getenv("HP_TEST_S3_BUCKET");
    if (!ep || !bucket) {
        test_skip(6, "HP_TEST_S3_ENDPOINT not set (run through make test)");
        return;
    }
    char url[512], kb[128];
    snprintf(url, sizeof(url), "s3://%s/edge-test-%d", bucket, (int)getpid());
    struct cmn_storage_opts o = {.endpoint = ep,
                                 .region = getenv("HP_TEST_S3_REGION"),
                                 .access_key = getenv("HP_TEST_S3_ACCESS_KEY"),
                                 .secret_key = getenv("HP_TEST_S3_SECRET_KEY")};
    struct cmn_errbuf eb = {{0}};
    struct cmn_storage *saved = ST;
    if (cmn_storage_open(url, &o, &ST, &eb)) {
        ok(0, "open %s: %s", url, eb.msg);
        ST = saved;
        return;
    }
    struct cmn_manifest *m = production(1, 0);
    ok(publish_as(m, &K, "production", PLAIN) == 0, "published to radosgw");
    cmn_manifest_free(m);
    struct proc e;
    memset(&e, 0, sizeof(e));
    snprintf(e.data, sizeof(e.data), "%s/s3-index", TMP);
    snprintf(e.log, sizeof(e.log), "%s/edge-s3.log", TMP);
    /* the edge reads the S3 settings from the environment it inherits */
    setenv("HOTPATCH_S3_ENDPOINT", ep, 1);
    setenv("AWS_REGION", getenv("HP_TEST_S3_REGION") ? getenv("HP_TEST_S3_REGION") : "us-east-1", 1);
    if (o.access_key)
        setenv("AWS_ACCESS_KEY_ID", o.access_key, 1);
    if (o.secret_key)
        setenv("AWS_SECRET_ACCESS_KEY", o.secret_key, 1);
    snprintf(kb, sizeof(kb), "%s", K_B64);
    ok(start_edge(&e, url, kb, NULL) == 0, "edge syncing from radosgw starts");
    int save_port = PORT;
    PORT = e.port;
    hc_close(HC);
    int s = -1;
    for (int i = 0; i < 500 && s != 1; i++) {
        s = seq_of("production");
        msleep(10);
    }
    is_int(s, 1, "manifest synced from s3");
    struct hresp r;
    int agree = 1;
    for (int d = 0; d < 500; d++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "s3dev-%d", d);
        int want = (cmn_cohort_bucket("r2", dev) < 3000 || cmn_cohort_bucket("r1", dev) < 5000) ? 200 : 204;
        if (check("production", dev, "2.1.0", NULL, &r) != want)
            agree = 0;
    }
    ok(agree, "500 decisions from the s3-synced index match the buckets");
    m = production(2, 0);
    ok(publish_as(m, &K, "production", TAMPER) == 0 && sync_now() == 0, "tampered manifest in s3 + sync");
    cmn_manifest_free(m);
    is_int(seq_of("production"), 1, "tampered s3 manifest refused; sequence 1 keeps serving");
    m = production(3, 0);
    ok(publish_as(m, &K, "production", PLAIN) == 0 && sync_now() == 0 && seq_of("production") == 3,
       "valid s3 update applied (ETag change picked up)");
    cmn_manifest_free(m);
    stop_edge(&e);
    hc_close(HC);
    PORT = save_port;
    if (cmn_storage_delete(ST, "manifests/demo/android/production.json", NULL))
        diag("could not clean up the s3 test object");
    cmn_storage_free(ST);
    ST = saved;
}

/* ------------------------------------------------ seed 000/001 clients */

#define SEED_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One raw request, byte for byte as given; the answer's status. */
static int raw(int port, const char *bytes, struct hresp *r)
{
    struct hc *c = malloc(sizeof(*c));
    int st = -1;
    if (c && hc_open(c, port) == 0 && hc_send(c, bytes, strlen(bytes)) == 0 && hc_read(c, r) == 0)
        st = r->status;
    if (c) {
        hc_close(c);
        free(c);
    }
    return st;
}

/* Seal with K and put at manifests/<app>/<platform>/<channel>.json of st. */
static int put_manifest(struct cmn_storage *st, struct cmn_manifest *m)
{
    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    char k[256];
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    snprintf(k, sizeof(k), "manifests/%s/%s/%s.json", m->app, m->platform, m->channel);
    int good =
        cmn_manifest_seal(m, &K, &b, &eb) == CMN_OK && cmn_storage_put(st, k, b.ptr, b.len, NULL, NULL, &eb) == CMN_OK;
    if (!good)
        diag("put %s: %s", k, eb.msg);
    cmn_buf_release(&b);
    return good ? 0 : -1;
}

/* seed 002 firmware: 1.0.0 then 1.1.0 with the seed's release notes */
static int firmware_manifest(struct cmn_storage *st, const char *app, const char *platform)
{
    struct cmn_manifest *m = cmn_manifest_new(app, platform, "production");
    m->sequence = 1;
    m->issued_at = (int64_t)time(NULL) - 60;
    m->expires_at = (int64_t)time(NULL) + 86400;
    struct cmn_release r;
    rel(&r, "f1", "1.0.0", "*", 10000);
    int good = cmn_manifest_add_release(m, &r) == CMN_OK;
    rel(&r, "f2", "1.1.0", "*", 10000);
    r.size = 524288;
    r.notes = "Bug fixes and improvements";
    memcpy(r.sha256, SEED_SHA, 64);
    r.bundle_url = "bundles/fw/1.1.0.bin";
    good = good && cmn_manifest_add_release(m, &r) == CMN_OK && put_manifest(st, m) == 0;
    cmn_manifest_free(m);
    return good ? 0 : -1;
}

#define SEED_APP "550e8400-e29b-41d4-a716-446655440000"

/* The seed's documented request (001 section 4.5.3, sent as a query string as the
 * seed's SDK flow does), answered by an edge started without --public-base. */
static void t_seed(const char *keys)
{
    char dir[1200], url[1300], k[256];
    struct cmn_errbuf eb = {{0}};
    struct cmn_storage *st = NULL;
    snprintf(dir, sizeof(dir), "%s/seedstore", TMP);
    mkdir(dir, 0755);
    snprintf(url, sizeof(url), "file://%s", dir);
    if (cmn_storage_open(url, NULL, &st, &eb)) {
        ok(0, "open %s: %s", url, eb.msg);
        return;
    }
    /* 1.1.0 for any binary; 1.2.0 (mandatory) for binaries >= 1.0.0 */
    struct cmn_manifest *m = cmn_manifest_new(SEED_APP, "android", "production");
    m->sequence = 1;
    m->issued_at = (int64_t)time(NULL) - 60;
    m->expires_at = (int64_t)time(NULL) + 86400;
    struct cmn_release r;
    rel(&r, "s1", "1.1.0", "*", 10000);
    r.bundle_url = "bundles/" SEED_APP "/android/1111.zip";
    int good = cmn_manifest_add_release(m, &r) == CMN_OK;
    rel(&r, "s2", "1.2.0", ">=1.0.0", 10000);
    r.bundle_url = "bundles/" SEED_APP "/android/" SEED_SHA ".zip";
    memcpy(r.sha256, SEED_SHA, 64);
    r.mandatory = 1;
    good = good && cmn_manifest_add_release(m, &r) == CMN_OK;
    struct cmn_buf b;
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    snprintf(k, sizeof(k), "manifests/%s/android/production.json", SEED_APP);
    good = good && cmn_manifest_seal(m, &K, &b, &eb) == CMN_OK &&
           cmn_storage_put(st, k, b.ptr, b.len, NULL, NULL, &eb) == CMN_OK;
    ok(good, "seed manifest published (%s)", eb.msg);
    cmn_buf_release(&b);
    cmn_manifest_free(m);
    ok(firmware_manifest(st, "esp-fleet", "firmware") == 0, "firmware manifest for the esp32 mapping published");
    ok(firmware_manifest(st, "esp8266", "firmware") == 0, "firmware manifest for the esp8266 convention published");
    /* an app that opted in to legacy signatures: Ed25519 by the release key over the raw 32-byte digest */
    char legacy_b64[CMN_SIG_B64];
    {
        uint8_t dg[CMN_SHA256_BYTES], sig[crypto_sign_ed25519_BYTES];
        int good2 = cmn_hex_decode(SEED_SHA, dg, sizeof(dg)) == CMN_OK &&
                    crypto_sign_ed25519_detached(sig, NULL, dg, sizeof(dg), K.sk) == 0;
        cmn_base64_encode(sig, sizeof(sig), legacy_b64);
        m = cmn_manifest_new("legacy-app", "android", "production");
        m->sequence = 1;
        m->issued_at = (int64_t)time(NULL) - 60;
        m->expires_at = (int64_t)time(NULL) + 86400;
        rel(&r, "l1", "2.0.0", "*", 10000);
        memcpy(r.sha256, SEED_SHA, 64);
        r.bundle_url = "bundles/legacy-app/android/" SEED_SHA ".zip";
        r.legacy_signature = legacy_b64;
        good2 = good2 && cmn_manifest_add_release(m, &r) == CMN_OK && put_manifest(st, m) == 0;
        cmn_manifest_free(m);
        ok(good2, "legacy-app manifest with a legacy_signature published");
    }
    cmn_storage_free(st);

    struct proc e;
    memset(&e, 0, sizeof(e));
    snprintf(e.data, sizeof(e.data), "%s/seed-index", TMP);
    snprintf(e.log, sizeof(e.log), "%s/seed-edge.log", TMP);
    NO_PUBLIC_BASE = 1;
    static const char *const models[] = {"--device-model", "esp32=esp-fleet/firmware", NULL};
    int started = start_edge(&e, url, keys, models) == 0;
    NO_PUBLIC_BASE = 0;
    ok(started, "edge without --public-base starts (log %s)", e.log);
    if (!started)
        return;

    struct hresp h;
    json_t *j;
    /* the edge answers /healthz before its first sync pass has stored everything */
    static const char *const wanted[] = {
        "GET /v1/manifests/" SEED_APP "/android/production.json HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/manifests/esp-fleet/firmware/production.json HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/manifests/esp8266/firmware/production.json HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/manifests/legacy-app/android/production.json HTTP/1.1\r\nHost: x\r\n\r\n"};
    int synced = 0;
    for (int i = 0; i < 1000 && synced < 4; i++) {
        synced = 0;
        for (size_t w = 0; w < 4; w++)
            synced += raw(e.port, wanted[w], &h) == 200;
        if (synced < 4)
            msleep(20);
    }
    is_int(synced, 4, "the seed manifests are synced");
    /* legacy signature: returned as the seed's `signature`, and it verifies the way an unmodified seed client
     * checks it (Ed25519 over the raw SHA-256 of bundle.zip with the release public key) */
    for (int pass = 0; pass < 2; pass++) { /* the second answer comes from the worker's cache */
        is_int(raw(e.port,
                   "GET /update/check?appId=legacy-app&deviceId=a1b2c3d4-0001&version=1.0.0&platform=android"
                   "&channel=production HTTP/1.1\r\nHost: ota.example.test\r\n\r\n",
                   &h),
               200, "legacy-app check (%d)", pass);
        j = json_loads(h.body, 0, NULL);
        is_str(json_string_value(json_object_get(j, "signature")), legacy_b64, "signature is the legacy one");
        is_str(json_string_value(json_object_get(j, "signatureKind")), "legacy", "signatureKind legacy");
        uint8_t sig[crypto_sign_ed25519_BYTES], dg[CMN_SHA256_BYTES];
        size_t sl = 0;
        const char *sv = json_string_value(json_object_get(j, "signature"));
        const char *hv = json_string_value(json_object_get(j, "hash"));
        ok(sv && hv && cmn_base64_decode(sv, strlen(sv), sig, sizeof(sig), &sl) == CMN_OK && sl == sizeof(sig) &&
               cmn_hex_decode(hv, dg, sizeof(dg)) == CMN_OK &&
               crypto_sign_ed25519_verify_detached(sig, dg, sizeof(dg), K.pk) == 0,
           "it verifies as the seed client checks it: Ed25519(release key, raw SHA-256 of the bundle)");
        json_decref(j);
    }
    /* the documented request: device on 1.1.5 (a native build no release names) */
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0001&version=1.1.5&platform=android"
               "&channel=production HTTP/1.1\r\nHost: ota.example.test:8080\r\n\r\n",
               &h),
           200, "seed request without binaryVersion answers 200");
    is_str(rh(&h, "Content-Type"), "application/json", "seed answer is JSON");
    j = json_loads(h.body, 0, NULL);
    ok(json_is_true(json_object_get(j, "updateAvailable")), "updateAvailable true for 1.1.5");
    is_str(json_string_value(json_object_get(j, "bundleUrl")),
           "http://ota.example.test:8080/bundles/" SEED_APP "/android/" SEED_SHA ".zip",
           "bundleUrl absolute, from the Host header");
    is_str(json_string_value(json_object_get(j, "hash")), SEED_SHA, "hash is the bundle's SHA-256");
    is_str(json_string_value(json_object_get(j, "signature")), SIG, "signature is the release's bundle signature");
    is_str(json_string_value(json_object_get(j, "signatureKind")), "hotpatch",
           "no legacy signature in the manifest: ours, and the answer says so");
    ok(json_is_true(json_object_get(j, "mandatory")), "mandatory true");
    is_str(json_string_value(json_object_get(j, "version")), "1.2.0", "version is the offered release's");
    json_decref(j);

    /* the device installed 1.2.0 and asks again: no endless loop */
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0001&version=1.2.0&platform=android"
               "&channel=production HTTP/1.1\r\nHost: ota.example.test:8080\r\n\r\n",
               &h),
           200, "device already on 1.2.0");
    is_str(h.body, "{\"updateAvailable\":false}", "already on the offered version: the seed's short answer");
    /* a version newer than any release, or one only an older release carries: nothing offered */
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0002&version=1.3.0&platform=android"
               "&channel=production HTTP/1.1\r\nHost: ota.example.test\r\n\r\n",
               &h),
           200, "device on 1.3.0");
    is_str(h.body, "{\"updateAvailable\":false}", "never a downgrade to an older version");
    /* on 1.1.0 (release s1): offered 1.2.0 */
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0003&version=1.1.0&platform=android"
               "&channel=production HTTP/1.1\r\nHost: ota.example.test\r\n\r\n",
               &h),
           200, "device on 1.1.0");
    j = json_loads(h.body, 0, NULL);
    is_str(json_string_value(json_object_get(j, "version")), "1.2.0", "1.1.0 is offered 1.2.0");
    is_str(json_string_value(json_object_get(j, "bundleUrl")),
           "http://ota.example.test/bundles/" SEED_APP "/android/" SEED_SHA ".zip", "Host without a port");
    json_decref(j);
    /* binaryVersion given: the native range is checked against it, not against version */
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0003&version=1.1.0&binaryVersion=0.9.0"
               "&platform=android&channel=production HTTP/1.1\r\nHost: ota.example.test\r\n\r\n",
               &h),
           200, "binaryVersion 0.9.0");
    is_str(h.body, "{\"updateAvailable\":false}", "1.2.0 needs a binary >= 1.0.0");

    /* bad input: clear JSON errors */
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0001&platform=android&channel=production "
               "HTTP/1.1\r\nHost: ota.example.test\r\n\r\n",
               &h),
           400, "no version -> 400");
    j = json_loads(h.body, 0, NULL);
    is_str(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "bad_request", "error code");
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    ok(msg && strstr(msg, "'version'") != NULL, "the message names 'version'");
    json_decref(j);
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0001&version=latest&platform=android "
               "HTTP/1.1\r\nHost: ota.example.test\r\n\r\n",
               &h),
           400, "version that is not a version -> 400");
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0001&version=1.1.5&platform=android "
               "HTTP/1.1\r\nHost: evil.test/x?\r\n\r\n",
               &h),
           400, "a Host header that cannot be echoed into a URL -> 400");
    ok(strstr(h.body, "Host") != NULL, "the reason names the Host header");
    is_int(raw(e.port,
               "GET /update/check?appId=" SEED_APP "&deviceId=a1b2c3d4-0001&version=1.1.5&platform=ios"
               "&channel=production HTTP/1.1\r\nHost: ota.example.test\r\n\r\n",
               &h),
           404, "unknown platform -> 404");

    /* seed 002, the device update flow exactly as documented */
    is_int(raw(e.port,
               "GET /api/firmware/check?device_id=esp32_001&device_model=esp32&current_version=1.0.0 HTTP/1.1\r\n"
               "Host: ota-service:8080\r\n\r\n",
               &h),
           200, "firmware check without app (device_model mapped by --device-model)");
    j = json_loads(h.body, 0, NULL);
    ok(json_is_true(json_object_get(j, "update_available")), "update_available true");
    is_str(json_string_value(json_object_get(j, "current_version")), "1.0.0", "current_version echoed");
    is_str(json_string_value(json_object_get(j, "latest_version")), "1.1.0", "latest_version");
    is_str(json_string_value(json_object_get(j, "download_url")),
           "http://ota-service:8080/api/firmware/download/1.1.0?device_model=esp32",
           "download_url: the seed's download path on this edge, absolute");
    is_int(json_integer_value(json_object_get(j, "file_size")), 524288, "file_size");
    is_str(json_string_value(json_object_get(j, "checksum_sha256")), SEED_SHA, "checksum_sha256");
    is_str(json_string_value(json_object_get(j, "release_notes")), "Bug fixes and improvements", "release_notes");
    json_decref(j);
    is_int(raw(e.port,
               "GET /api/firmware/check?device_id=esp32_001&device_model=esp32&current_version=1.1.0 HTTP/1.1\r\n"
               "Host: ota-service:8080\r\n\r\n",
               &h),
           200, "firmware check on 1.1.0");
    is_str(h.body, "{\"update_available\":false,\"current_version\":\"1.1.0\"}", "on the latest: no update");
    is_int(raw(e.port, "GET /api/firmware/download/1.1.0 HTTP/1.1\r\nHost: ota-service:8080\r\n\r\n", &h), 302,
           "GET /api/firmware/download/1.1.0 (the seed's bare path) redirects");
    is_str(rh(&h, "Location"), "http://ota-service:8080/bundles/fw/1.1.0.bin", "to the firmware object");
    is_str(rh(&h, "X-Checksum-SHA256"), SEED_SHA, "with its checksum");
    is_int(raw(e.port, "GET /api/firmware/download/1.1.0?device_model=esp32 HTTP/1.1\r\nHost: ota-service:8080\r\n\r\n",
               &h),
           302, "the download_url we answered redirects");
    is_str(rh(&h, "Location"), "http://ota-service:8080/bundles/fw/1.1.0.bin", "to the same object");
    is_int(raw(e.port, "GET /api/firmware/download/9.9.9 HTTP/1.1\r\nHost: ota-service:8080\r\n\r\n", &h), 404,
           "unknown firmware version -> 404");
    ok(strstr(h.body, "\"not_found\"") != NULL, "JSON error");
    /* HTTP/1.0 without a Host header: the seed's documented relative download_url */
    is_int(raw(e.port,
               "GET /api/firmware/check?device_id=esp32_001&device_model=esp32&current_version=1.0.0 HTTP/1.0\r\n\r\n",
               &h),
           200, "firmware check over HTTP/1.0 without Host");
    j = json_loads(h.body, 0, NULL);
    is_str(json_string_value(json_object_get(j, "download_url")), "/api/firmware/download/1.1.0?device_model=esp32",
           "no Host: the seed's relative download_url");
    json_decref(j);
    is_int(raw(e.port,
               "GET /api/firmware/check?device_id=esp32_001&device_model=esp32&current_version=1.0.0 HTTP/1.1\r\n"
               "Host: bad host\r\n\r\n",
               &h),
           400, "a Host that cannot go into a URL -> 400");
    is_int(raw(e.port, "GET /api/firmware/download/..%2Fetc HTTP/1.1\r\nHost: ota-service:8080\r\n\r\n", &h), 404,
           "a download version that is not an id -> 404");
    is_int(raw(e.port,
               "POST /api/firmware/download/1.1.0 HTTP/1.1\r\nHost: ota-service:8080\r\nContent-Length: 0\r\n\r\n", &h),
           405, "POST on the download -> 405");
    /* update-status on an edge without --publisher-url: refused with a reason, not silently lost */
    is_int(raw(e.port,
               "POST /api/device/esp32_001/update-status HTTP/1.1\r\nHost: ota-service:8080\r\n"
               "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"status\":1}\n",
               &h),
           503, "update-status without --publisher-url -> 503");
    ok(strstr(h.body, "relay_disabled") && strstr(h.body, "--publisher-url"), "the reason names the option: %s",
       h.body);
    /* the same connection keeps working after a request with a body */
    is_int(raw(e.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &h), 200, "metrics");
    ok(strstr(h.body, "hotpatch_edge_requests_total{endpoint=\"firmware_download\"}") &&
           strstr(h.body, "hotpatch_edge_requests_total{endpoint=\"device_status\"}") &&
           !strstr(h.body, "hotpatch_edge_relay_"),
       "metrics count the new endpoints; no relay families without a relay");
    is_int(raw(e.port, "GET /health HTTP/1.1\r\nHost: ota-service:8080\r\n\r\n", &h), 200, "GET /health");
    j = json_loads(h.body, 0, NULL);
    ok(json_string_value(json_object_get(j, "status")) != NULL, "/health answers a status");
    json_decref(j);
    /* convention: no --device-model line -> app = model, platform firmware */
    is_int(raw(e.port,
               "GET /api/firmware/check?device_id=esp8266_007&device_model=esp8266&current_version=1.0.0 HTTP/1.1\r\n"
               "Host: ota-service:8080\r\n\r\n",
               &h),
           200, "esp8266 by convention");
    j = json_loads(h.body, 0, NULL);
    is_str(json_string_value(json_object_get(j, "latest_version")), "1.1.0", "convention app offers 1.1.0");
    json_decref(j);
    is_int(raw(e.port,
               "GET /api/firmware/download/1.1.0?device_model=esp8266 HTTP/1.1\r\nHost: ota-service:8080\r\n\r\n", &h),
           302, "convention model downloads");
    is_int(raw(e.port,
               "GET /api/firmware/check?device_id=x1&device_model=nrf52&current_version=1.0.0 HTTP/1.1\r\n"
               "Host: ota-service:8080\r\n\r\n",
               &h),
           404, "a model with no channel -> 404");
    is_int(raw(e.port,
               "GET /api/firmware/check?device_id=x1&current_version=1.0.0 HTTP/1.1\r\nHost: ota-service:8080\r\n\r\n",
               &h),
           400, "neither app nor device_model -> 400");
    ok(strstr(h.body, "device_model") != NULL, "the reason names device_model");
    is_int(raw(e.port,
               "GET /api/firmware/check?device_id=esp32_001&device_model=esp32&current_version=one HTTP/1.1\r\n"
               "Host: ota-service:8080\r\n\r\n",
               &h),
           400, "current_version that is not a version -> 400");
    stop_edge(&e);
}

int main(void)
{
    const char *bin = getenv("HP_BIN");
    snprintf(BIN, sizeof(BIN), "%s/hotpatch-edge", bin ? bin : "build/bin");
    snprintf(TMP, sizeof(TMP), "%s", test_tmpdir());
    signal(SIGPIPE, SIG_IGN);
    if (access(BIN, X_OK) != 0) {
        ok(0, "hotpatch-edge built at %s", BIN);
        return done_testing();
    }
    uint8_t dg[32] = {9};
    if (cmn_crypto_init() || cmn_key_generate(&K) || cmn_key_generate(&K2) || cmn_bundle_sign(&K, dg, SIG))
        return 1;
    cmn_key_public_b64(&K, K_B64);
    {
        char gp[1200];
        struct cmn_errbuf eb = {{0}};
        snprintf(gp, sizeof(gp), "%s/manifests/vectors/keys/manifest.pub", test_srcdir());
        size_t n;
        char *t = slurp(gp, &n);
        while (t && n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
            t[--n] = '\0';
        ok(t && cmn_key_from_public_b64(t, &GOLDEN, &eb) == CMN_OK, "golden manifest key loaded");
        cmn_key_public_b64(&GOLDEN, GOLDEN_B64);
        free(t);
    }
    char keys[256], store[1200], url[1300];
    snprintf(keys, sizeof(keys), "%s,%s", K_B64, GOLDEN_B64);
    snprintf(store, sizeof(store), "%s/store", TMP);
    mkdir(store, 0755);
    snprintf(url, sizeof(url), "file://%s", store);
    struct cmn_errbuf eb = {{0}};
    if (cmn_storage_open(url, NULL, &ST, &eb)) {
        ok(0, "open %s: %s", url, eb.msg);
        return done_testing();
    }
    struct cmn_manifest *m = production(1, 0);
    ok(m && publish_as(m, &K, "production", PLAIN) == 0, "production sequence 1 published to file://");
    cmn_manifest_free(m);

    struct proc e;
    memset(&e, 0, sizeof(e));
    snprintf(e.data, sizeof(e.data), "%s/index", TMP);
    snprintf(e.log, sizeof(e.log), "%s/edge.log", TMP);
    HC = malloc(sizeof(*HC));
    HC->fd = -1;
    if (start_edge(&e, url, keys, NULL) != 0) {
        ok(0, "edge starts (log %s)", e.log);
        return done_testing();
    }
    PORT = e.port;
    int s = -1;
    for (int i = 0; i < 500 && s != 1; i++) {
        s = seq_of("production");
        msleep(10);
    }
    is_int(s, 1, "initial sync pass applied the manifest");

    t_cohort();
    t_golden_cohort();
    t_golden_decisions();
    t_refusals(&e);
    t_lists(&e);
    t_missing(&e);
    t_http();
    t_restart(&e, keys);
    stop_edge(&e);
    t_slowloris(url, keys);
    t_lambda(url, keys);
    t_seed(keys);
    t_s3();

    if (test_failures()) {
        size_t n;
        char *log = slurp(e.log, &n);
        if (log)
            diag("edge log tail: %s", n > 3000 ? log + n - 3000 : log);
        free(log);
    }
    cmn_storage_free(ST);
    free(HC);
    return done_testing();
}
