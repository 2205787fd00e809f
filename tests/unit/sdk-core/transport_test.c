#include "common/compat.h"

/*
 * transport_test.c - libhotpatch-core (no libcurl) with a host transport:
 * this test links only the core archive and plugs in a tiny HTTP/1.1 client
 * written here on plain sockets, the way an app plugs in HttpURLConnection or
 * NSURLSession. The server is the SDK tests' real static server on loopback
 * (tests/integration/sdk/httpd.py). Checks: no default transport in the core;
 * open and boot work without one, network calls refuse clearly; an update
 * installs through the host transport with progress; a cut transfer resumes
 * with a Range start the core chose and verifies the whole file; a tampered
 * bundle is refused with the core's message; a status the core did not ask
 * for is refused; hp_cancel() reaches the transport's cancel(); a dead server
 * is HP_E_NET with the transport's reason.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "../../integration/sdk/sdk_server.h"
#include "../../lib/test.h"
#include "../sdk/sdk_fixture.h"
#include "hotpatch.h"

static struct fx_keys K;
static struct srv SRV;
static char TMP[4096], WWW[4200];

/* What the loopback transport saw, for the assertions. */
struct lt {
    int requests;
    long long last_range;
    int cancels;
    int saw_206;
};

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A deliberately small HTTP/1.1 client: http://127.0.0.1:PORT/path only, Connection: close. */
static hp_status lt_perform(void *ctx, const hp_http_request *rq, hp_http_sink *sink, char *errbuf, size_t errlen)
{
    struct lt *t = ctx;
    t->requests++;
    t->last_range = rq->range_start;
    int port = 0, off = 0;
    if (sscanf(rq->url, "http://127.0.0.1:%d%n", &port, &off) != 1 || port <= 0) {
        snprintf(errbuf, errlen, "loopback transport: unsupported URL");
        return HP_E_NET;
    }
    const char *path = rq->url + off;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        snprintf(errbuf, errlen, "connect: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return HP_E_NET;
    }
    char head[2048];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n", rq->method,
                     path[0] ? path : "/", port);
    if (rq->range_start > 0)
        n += snprintf(head + n, sizeof head - (size_t)n, "Range: bytes=%lld-\r\n", rq->range_start);
    for (const char *const *h = rq->headers; h && *h; h++)
        n += snprintf(head + n, sizeof head - (size_t)n, "%s\r\n", *h);
    if (rq->body)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", rq->body_len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    hp_status s = HP_OK;
    if (send_all(fd, head, (size_t)n) != 0 || (rq->body && send_all(fd, rq->body, rq->body_len) != 0)) {
        snprintf(errbuf, errlen, "send failed");
        close(fd);
        return HP_E_NET;
    }
    /* Read the head, then stream the body to the sink. */
    static char buf[65536];
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) {
            snprintf(errbuf, errlen, "connection closed before the response head");
            close(fd);
            return HP_E_NET;
        }
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    *end = '\0';
    int status = 0;
    long long clen = -1;
    sscanf(buf, "HTTP/%*s %d", &status);
    if (status == 206)
        t->saw_206 = 1;
    if (hp_sink_status(sink, status)) {
        close(fd);
        return HP_E_CANCELLED;
    }
    for (char *line = strstr(buf, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        char *l = line + 2, *colon = strchr(l, ':'), *eol = strstr(l, "\r\n");
        if (!colon || (eol && colon > eol))
            continue;
        char name[128], value[512];
        size_t nl = (size_t)(colon - l), vl = eol ? (size_t)(eol - colon - 1) : strlen(colon + 1);
        if (nl >= sizeof name || vl >= sizeof value)
            continue;
        memcpy(name, l, nl);
        name[nl] = '\0';
        memcpy(value, colon + 1, vl);
        value[vl] = '\0';
        if (strcasecmp(name, "content-length") == 0)
            clen = atoll(value);
        if (hp_sink_header(sink, name, value)) {
            close(fd);
            return HP_E_CANCELLED;
        }
    }
    size_t body0 = (size_t)(end + 4 - buf);
    long long got = (long long)(have - body0);
    if (got > 0 && hp_sink_body(sink, end + 4, (size_t)got)) {
        close(fd);
        return HP_E_CANCELLED;
    }
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += r;
        if (hp_sink_body(sink, buf, (size_t)r)) {
            s = HP_E_CANCELLED;
            break;
        }
    }
    close(fd);
    if (!s && clen >= 0 && got < clen) {
        snprintf(errbuf, errlen, "connection closed after %lld of %lld bytes", got, clen);
        s = HP_E_NET;
    }
    return s;
}

static void lt_cancel(void *ctx)
{
    ((struct lt *)ctx)->cancels++;
}

static struct fx_rel REL;
static char REL_URL[200], REL_ZIP[4300];

static void publish(uint64_t seq)
{
    struct cmn_buf out;
    char p[4400];
    cmn_buf_init(&out, CMN_MANIFEST_MAX_BYTES);
    snprintf(p, sizeof p, "%s/manifests/demo/android/production.json", WWW);
    if (fx_manifest(&K.mkey, "demo", "android", "production", seq, (int64_t)time(NULL) + 3600, &REL, 1, &out) != 0 ||
        fx_write(p, out.ptr, out.len) != 0)
        ok(0, "publish");
    cmn_buf_release(&out);
}

static void make_release(const char *id, size_t bytes)
{
    char *body = malloc(bytes);
    cmn_random(body, bytes);
    snprintf(REL_ZIP, sizeof REL_ZIP, "%s/%s.zip", TMP, id);
    const char *names[] = {"index.android.bundle"};
    const char *bodies[] = {body};
    size_t lens[] = {bytes};
    if (fx_zip(REL_ZIP, names, bodies, lens, 1) != 0 || fx_sign_file(&REL, &K.rkey, REL_ZIP) != 0)
        ok(0, "make %s", id);
    free(body);
    REL.id = id;
    REL.version = "1.0.0";
    snprintf(REL_URL, sizeof REL_URL, "bundles/demo/android/%s.zip", REL.sha);
    REL.url = REL_URL;
    size_t n;
    char *z = fx_read(REL_ZIP, &n), p[4400];
    snprintf(p, sizeof p, "%s/%s", WWW, REL_URL);
    fx_write(p, z, n);
    free(z);
}

static void set_ctl(const char *json)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/.ctl", WWW);
    if (json)
        fx_write(p, json, strlen(json));
    else
        unlink(p);
}

static hp_client *dev(const char *name, const char *base, const hp_transport *tr)
{
    char dir[4300];
    hp_client *c = NULL;
    snprintf(dir, sizeof dir, "%s/%s", TMP, name);
    if (hp_client_new(&c) != HP_OK)
        return NULL;
    if ((tr && hp_set_transport(c, tr)) || hp_setopt_str(c, HP_OPT_DATA_DIR, dir) ||
        hp_setopt_str(c, HP_OPT_APP, "demo") || hp_setopt_str(c, HP_OPT_PLATFORM, "android") ||
        hp_setopt_str(c, HP_OPT_CHANNEL, "production") || hp_setopt_str(c, HP_OPT_BINARY_VERSION, "1.2.0") ||
        hp_setopt_str(c, HP_OPT_DEVICE_ID, name) || hp_setopt_str(c, HP_OPT_MANIFEST_BASE_URL, base) ||
        hp_setopt_str(c, HP_OPT_MANIFEST_KEY, K.mkey_b64) || hp_setopt_str(c, HP_OPT_RELEASE_KEY, K.rkey_b64) ||
        hp_setopt_int(c, HP_OPT_TIMEOUT_MS, 5000) || hp_open(c) != HP_OK) {
        diag("open %s: %s", name, hp_errmsg(c));
        hp_client_free(c);
        return NULL;
    }
    return c;
}

static int progress_calls;
static long long progress_last;
static int on_progress(void *ctx, long long done, long long total)
{
    (void)ctx;
    progress_calls++;
    progress_last = done;
    return done > total;
}

static void *cancel_soon(void *arg)
{
    usleep(200000);
    hp_cancel(arg);
    return NULL;
}

int main(void)
{
    snprintf(TMP, sizeof TMP, "%s", test_tmpdir());
    snprintf(WWW, sizeof WWW, "%s/www", TMP);
    fx_mkdirs(WWW);
    if (fx_keys_make(&K) != 0 || srv_start(&SRV, WWW) != 0) {
        ok(0, "fixture: keys and loopback server");
        return done_testing();
    }
    is_int(hp_has_default_transport(), 0, "libhotpatch-core has no default transport");
    is_str(hp_status_name(HP_E_VERIFY), "HP_E_VERIFY", "hp_status_name names a code as hotpatch.h does");
    is_str(hp_status_name((hp_status)99), "HP_E_UNKNOWN", "hp_status_name of an unknown value");
    make_release("r1", 300000);
    publish(1);

    /* Without a transport: opens and boots, refuses the network clearly. */
    hp_client *c = dev("none", SRV.base, NULL);
    ok(c != NULL, "core opens without a transport");
    int rb = -1;
    is_int(hp_boot_begin(c, &rb), HP_OK, "boot protocol needs no transport");
    hp_offer *o = NULL;
    is_int(hp_check(c, &o), HP_E_INVAL, "check without a transport is refused");
    ok(strstr(hp_errmsg(c), "no HTTP transport") != NULL, "says why: %s", hp_errmsg(c));
    hp_client_free(c);

    hp_transport bad = {NULL, NULL, NULL};
    ok(hp_client_new(&c) == HP_OK, "handle");
    is_int(hp_set_transport(c, &bad), HP_E_INVAL, "a transport without perform is refused");
    hp_client_free(c);

    /* An update through the host transport. */
    struct lt t = {0};
    hp_transport tr = {lt_perform, lt_cancel, &t};
    c = dev("dev1", SRV.base, &tr);
    ok(c != NULL, "open with the loopback transport");
    is_int(hp_setopt_int(c, HP_OPT_TIMEOUT_MS, 1000), HP_E_INVAL, "options frozen after open");
    is_int(hp_set_transport(c, &tr), HP_E_INVAL, "transport frozen after open");
    int upd = 0;
    is_int(hp_update(c, on_progress, NULL, &upd), HP_OK, "update through the host transport (%s)", hp_errmsg(c));
    is_int(upd, 1, "installed");
    is_str(hp_installed_release(c), "r1", "r1 installed");
    ok(t.requests >= 2, "manifest and bundle came through the transport (%d requests)", t.requests);
    ok(progress_calls >= 2 && progress_last == (long long)REL.size, "progress reached the signed size (%d calls)",
       progress_calls);
    hp_client_free(c);

    /* A cut transfer resumes from where the core says, and the whole file is verified. */
    make_release("r2", 400000);
    publish(2);
    set_ctl("{\"cut_after\": 150000}");
    memset(&t, 0, sizeof t);
    c = dev("dev2", SRV.base, &tr);
    is_int(hp_check(c, &o), HP_OK, "check r2");
    ok(o && strcmp(hp_offer_release_id(o), "r2") == 0, "offer r2");
    is_int(hp_download(c, o, NULL, NULL), HP_E_NET, "cut transfer is a network error");
    ok(strstr(hp_errmsg(c), "closed after") != NULL, "the transport's reason is kept: %s", hp_errmsg(c));
    set_ctl(NULL);
    is_int(hp_download(c, o, NULL, NULL), HP_OK, "resume (%s)", hp_errmsg(c));
    is_int(t.last_range, 150000, "the core asked for the rest from byte 150000");
    ok(t.saw_206, "the server answered 206");
    is_int(hp_install(c, o), HP_OK, "install the resumed download (%s)", hp_errmsg(c));
    is_str(hp_installed_release(c), "r2", "r2 installed");
    hp_offer_free(o);
    hp_client_free(c);

    /* A tampered bundle: the core refuses it, whoever fetched it. */
    {
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", WWW, REL_URL);
        size_t n;
        char *z = fx_read(p, &n);
        z[n / 2] ^= 0x5a;
        fx_write(p, z, n);
        free(z);
    }
    c = dev("dev3", SRV.base, &tr);
    is_int(hp_update(c, NULL, NULL, &upd), HP_E_VERIFY, "tampered bundle refused");
    ok(strstr(hp_errmsg(c), "does not match its signed SHA-256") != NULL, "core's message: %s", hp_errmsg(c));
    ok(hp_installed_release(c) == NULL, "nothing installed");
    hp_client_free(c);

    /* hp_cancel() reaches the transport; the transfer stops as cancelled. */
    make_release("r3", 2000000);
    publish(3);
    set_ctl("{\"throttle_ms\": 50}");
    memset(&t, 0, sizeof t);
    c = dev("dev4", SRV.base, &tr);
    is_int(hp_check(c, &o), HP_OK, "check r3");
    pthread_t th;
    pthread_create(&th, NULL, cancel_soon, c);
    is_int(hp_download(c, o, NULL, NULL), HP_E_CANCELLED, "hp_cancel stops a host-transport download");
    pthread_join(th, NULL);
    is_int(t.cancels, 1, "the transport's cancel() was called");
    ok(strstr(hp_errmsg(c), "cancelled") != NULL, "%s", hp_errmsg(c));
    hp_offer_free(o);
    hp_client_free(c);
    set_ctl(NULL);

    /* A dead server. */
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", SRV.port);
    srv_stop(&SRV);
    c = dev("dev5", dead, &tr);
    is_int(hp_check(c, &o), HP_E_NET, "server down: network error");
    ok(strstr(hp_errmsg(c), "cannot fetch") && strstr(hp_errmsg(c), "connect"), "%s", hp_errmsg(c));
    hp_client_free(c);
    return done_testing();
}
