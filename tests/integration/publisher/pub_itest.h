/*
 * pub_itest.h - helpers for the publisher's integration tests (header-only,
 * static): a fresh Postgres database per test (HP_TEST_PG_URL), the real
 * hotpatch-publisher binary started on a free loopback port with a fresh
 * manifest key and storage, HTTP through libcurl, and signed test bundles
 * made with the core crypto API (so these tests do not need the CLI).
 */
#ifndef PUB_ITEST_H
#define PUB_ITEST_H

#include "common/compat.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/manifest.h"
#include "common/storage.h"
#include "../../lib/test.h"

#define IT_JWT_SECRET "an-integration-test-secret-of-more-than-32-bytes"

struct it_pub {
    pid_t pid;
    int port;
    char base[64];
    char dburl[512];
    char storage[1024];
    char mkey[1024];
    char log[1024];
    struct cmn_key key; /* the manifest key (for verifying stored manifests) */
    int s3;             /* storage is the radosgw bucket */
};

static CMN_UNUSED int it_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* Create a fresh database on the test cluster; its URL into out. */
static CMN_UNUSED int it_db_create(const char *tag, char out[512])
{
    static int counter;
    const char *base = getenv("HP_TEST_PG_URL");
    if (!base || !*base)
        return -1;
    char name[64];
    snprintf(name, sizeof(name), "hp_pub_%s_%d_%d", tag, (int)getpid(), ++counter);
    PGconn *pg = PQconnectdb(base);
    if (PQstatus(pg) != CONNECTION_OK) {
        diag("cannot connect to %s: %s", base, PQerrorMessage(pg));
        PQfinish(pg);
        return -1;
    }
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    PGresult *r = PQexec(pg, sql);
    int okay = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!okay)
        diag("create database: %s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(pg);
    if (!okay)
        return -1;
    const char *slash = strrchr(base, '/');
    const char *q = strchr(slash ? slash : base, '?');
    snprintf(out, 512, "%.*s/%s%s", (int)(slash - base), base, name, q ? q : "");
    return 0;
}

/* Run one SQL statement on the test database; returns the first cell (malloc'd) or NULL. */
static CMN_UNUSED char *it_sql(const char *dburl, const char *sql)
{
    PGconn *pg = PQconnectdb(dburl);
    char *val = NULL;
    if (PQstatus(pg) == CONNECTION_OK) {
        PGresult *r = PQexec(pg, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
            val = strdup(PQgetvalue(r, 0, 0));
        else if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            diag("sql '%s': %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(pg);
    return val;
}

static CMN_UNUSED long long it_sql_int(const char *dburl, const char *sql)
{
    char *v = it_sql(dburl, sql);
    long long n = v ? atoll(v) : -1;
    free(v);
    return n;
}

/* ---- HTTP ---- */

struct it_resp {
    long status;
    struct cmn_buf body;
    char retry_after[32];
    json_t *json;
    struct cmn_buf headers; /* the response's header lines as received (it_resp_header reads them) */
};

static CMN_UNUSED size_t it_write_cb(char *p, size_t sz, size_t n, void *ud)
{
    struct it_resp *r = ud;
    if (cmn_buf_add(&r->body, p, sz * n))
        return 0;
    return sz * n;
}

static CMN_UNUSED size_t it_header_cb(char *p, size_t sz, size_t n, void *ud)
{
    struct it_resp *r = ud;
    size_t len = sz * n;
    if (!r->headers.cap)
        cmn_buf_init(&r->headers, 1u << 20);
    if (cmn_buf_add(&r->headers, p, len))
        return 0;
    if (len > 13 && !strncasecmp(p, "Retry-After:", 12)) {
        const char *v = p + 12;
        while (*v == ' ')
            v++;
        size_t vl = strcspn(v, "\r\n");
        snprintf(r->retry_after, sizeof(r->retry_after), "%.*s", (int)vl, v);
    }
    return len;
}

/* The value of response header `name` (the first one) into out; 0, or -1 when absent. */
static CMN_UNUSED int it_resp_header(const struct it_resp *r, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (size_t off = 0; off < r->headers.len;) {
        const char *line = r->headers.ptr + off;
        size_t ll = strcspn(line, "\n");
        if (off + ll > r->headers.len)
            ll = r->headers.len - off;
        if (ll > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r\n"), v);
            return 0;
        }
        off += ll + 1;
    }
    if (outlen)
        out[0] = '\0';
    return -1;
}

static CMN_UNUSED void it_resp_free(struct it_resp *r)
{
    cmn_buf_release(&r->headers);
    cmn_buf_release(&r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* Upload speed cap for the next requests (bytes/s, 0 = none). */
static long it_send_speed;

/* One request. status 0 = transport failure. The JSON body (if any) is parsed into r->json. */
static CMN_UNUSED long it_http(const char *method, const char *url, const char *token, const char *ctype,
                               const void *body, size_t len, struct it_resp *r)
{
    memset(r, 0, sizeof(*r));
    cmn_buf_init(&r->body, 64u << 20);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char line[1024];
    if (token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, line);
    }
    if (ctype) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        hdr = curl_slist_append(hdr, line);
    }
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, it_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, it_header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (it_send_speed)
        curl_easy_setopt(h, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)it_send_speed);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    else
        diag("%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (r->body.len)
        r->json = json_loadb(r->body.ptr, r->body.len, 0, NULL);
    return r->status;
}

/* JSON request to the publisher; returns the status, *out (nullable) gets the parsed body. */
static CMN_UNUSED long it_call(struct it_pub *p, const char *method, const char *path, const char *token,
                               const char *json_body, json_t **out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", p->base, path);
    struct it_resp r;
    long st = it_http(method, url, token, json_body ? "application/json" : NULL, json_body,
                      json_body ? strlen(json_body) : 0, &r);
    if (out) {
        *out = r.json;
        r.json = NULL;
    }
    if (st >= 400 && st != 429)
        diag("%s %s -> %ld %.*s", method, path, st, (int)(r.body.len > 300 ? 300 : r.body.len),
             r.body.ptr ? r.body.ptr : "");
    it_resp_free(&r);
    return st;
}

static CMN_UNUSED const char *it_jstr(json_t *o, const char *path)
{
    /* "a.b.c" into nested objects */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *v = o;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static CMN_UNUSED long long it_jint(json_t *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *v = o;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/*
 * A test program's start: 0 when it can run (crypto and libcurl set up), 1
 * after a TAP skip when HP_TEST_PG_URL is not set (outside make test), -1
 * when the crypto library cannot start.
 */
static CMN_UNUSED int it_init(void)
{
    if (!getenv("HP_TEST_PG_URL")) {
        test_skip(1, "HP_TEST_PG_URL not set (run through make test)");
        return 1;
    }
    if (cmn_crypto_init())
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

/* ---- the publisher process ---- */

static CMN_UNUSED int it_wait_health(struct it_pub *p, int timeout_ms)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/healthz", p->base);
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->pid = 0;
            return -1;
        }
        CURL *h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
        CURLcode rc = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
        if (rc == CURLE_OK && code == 200)
            return 0;
        usleep(50000);
    }
    return -1;
}

static CMN_UNUSED void it_log_tail(struct it_pub *p)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return;
    char line[1024];
    long n = 0;
    while (fgets(line, sizeof(line), f))
        n++;
    rewind(f);
    long i = 0;
    while (fgets(line, sizeof(line), f))
        if (++i > n - 15)
            diag("publisher log: %.*s", (int)strcspn(line, "\n"), line);
    fclose(f);
}

/*
 * Prepare (once per it_pub) the database, storage and manifest key, then
 * start the publisher. `extra_env` is a NULL-terminated list of NAME=VALUE.
 */
static CMN_UNUSED int it_pub_setup(struct it_pub *p, const char *tag, int s3)
{
    memset(p, 0, sizeof(*p));
    if (it_db_create(tag, p->dburl))
        return -1;
    const char *tmp = test_tmpdir();
    snprintf(p->mkey, sizeof(p->mkey), "%s/manifest-%s.key", tmp, tag);
    if (cmn_key_generate(&p->key) || cmn_key_save_secret(&p->key, p->mkey, 1, NULL))
        return -1;
    p->s3 = s3;
    if (s3) {
        const char *b = getenv("HP_TEST_S3_BUCKET");
        if (!b || !getenv("HP_TEST_S3_ENDPOINT"))
            return -1;
        snprintf(p->storage, sizeof(p->storage), "s3://%s/pubtest-%s-%d", b, tag, (int)getpid());
    } else {
        char dir[900];
        snprintf(dir, sizeof(dir), "%s/storage-%s", tmp, tag);
        mkdir(dir, 0755);
        snprintf(p->storage, sizeof(p->storage), "file://%s", dir);
    }
    snprintf(p->log, sizeof(p->log), "%s/publisher-%s.log", tmp, tag);
    return 0;
}

static CMN_UNUSED int it_pub_start(struct it_pub *p, const char *const *extra_env)
{
    p->port = it_free_port();
    snprintf(p->base, sizeof(p->base), "http://127.0.0.1:%d", p->port);
    const char *bin = getenv("HP_BIN");
    char path[1024];
    snprintf(path, sizeof(path), "%s/hotpatch-publisher", bin && *bin ? bin : "build/bin");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char listen[64];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", p->port);
        setenv("DATABASE_URL", p->dburl, 1);
        setenv("HOTPATCH_STORAGE", p->storage, 1);
        setenv("JWT_SECRET", IT_JWT_SECRET, 1);
        setenv("HOTPATCH_MANIFEST_KEY", p->mkey, 1);
        setenv("HOTPATCH_LISTEN", listen, 1);
        setenv("HOTPATCH_LOG_LEVEL", "debug", 0);
        if (p->s3) {
            setenv("HOTPATCH_S3_ENDPOINT", getenv("HP_TEST_S3_ENDPOINT"), 1);
            setenv("AWS_REGION", getenv("HP_TEST_S3_REGION") ? getenv("HP_TEST_S3_REGION") : "us-east-1", 1);
            setenv("AWS_ACCESS_KEY_ID", getenv("HP_TEST_S3_ACCESS_KEY"), 1);
            setenv("AWS_SECRET_ACCESS_KEY", getenv("HP_TEST_S3_SECRET_KEY"), 1);
        }
        for (const char *const *e = extra_env; e && *e; e++)
            putenv((char *)*e);
        FILE *lf = freopen(p->log, "a", stderr);
        (void)lf;
        int devnull = open("/dev/null", 0);
        dup2(devnull, 0);
        dup2(2, 1);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    p->pid = pid;
    if (it_wait_health(p, 20000)) {
        diag("publisher did not become healthy on %s", p->base);
        it_log_tail(p);
        return -1;
    }
    return 0;
}

static CMN_UNUSED int it_pub_signal(struct it_pub *p, int sig)
{
    if (!p->pid)
        return -1;
    kill(p->pid, sig);
    int st = 0;
    for (int i = 0; i < 200; i++) {
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->pid = 0;
            return st;
        }
        usleep(50000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    p->pid = 0;
    return st;
}

static CMN_UNUSED void it_pub_stop(struct it_pub *p)
{
    it_pub_signal(p, SIGTERM);
}

/* Wait for the process to exit by itself (fault hooks). Returns the wait status, -1 on timeout. */
static CMN_UNUSED int it_pub_wait_exit(struct it_pub *p, int timeout_ms)
{
    int st = 0;
    for (int i = 0; i < timeout_ms / 20; i++) {
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->pid = 0;
            return st;
        }
        usleep(20000);
    }
    return -1;
}

/* ---- bundles and releases ---- */

struct it_bundle {
    uint8_t *data;
    size_t len;
    char sha[CMN_SHA256_HEX];
    char sig[CMN_SIG_B64];
};

/* Deterministic pseudo-random bytes with a zip-like header, signed by `k`. */
static CMN_UNUSED void it_bundle_make(struct it_bundle *b, size_t n, uint32_t seed, const struct cmn_key *k)
{
    b->len = n;
    b->data = malloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b->data[i] = (uint8_t)x;
    }
    if (n >= 4)
        memcpy(b->data, "PK\003\004", 4);
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256(b->data, n, d);
    cmn_hex_encode(d, sizeof(d), b->sha);
    if (cmn_bundle_sign(k, d, b->sig))
        b->sig[0] = '\0';
}

static CMN_UNUSED void it_bundle_free(struct it_bundle *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

#define IT_BOUNDARY "----hotpatch-test-boundary-7f3a"

/* A multipart body with a metadata part and a bundle part (either may be NULL to leave it out). */
static CMN_UNUSED char *it_multipart(const char *meta, const void *bundle, size_t blen, size_t *outlen)
{
    struct cmn_buf b;
    cmn_buf_init(&b, 512u << 20);
    enum cmn_err rc = CMN_OK;
    if (meta)
        rc |= cmn_buf_addf(&b,
                           "--" IT_BOUNDARY "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
                           "Content-Type: application/json\r\n\r\n%s\r\n",
                           meta);
    if (bundle) {
        rc |= cmn_buf_addf(&b, "--" IT_BOUNDARY "\r\nContent-Disposition: form-data; name=\"bundle\"; "
                               "filename=\"bundle.zip\"\r\nContent-Type: application/zip\r\n\r\n");
        rc |= cmn_buf_add(&b, bundle, blen);
        rc |= cmn_buf_addstr(&b, "\r\n");
    }
    rc |= cmn_buf_addstr(&b, "--" IT_BOUNDARY "--\r\n");
    if (rc)
        return NULL;
    return cmn_buf_take(&b, outlen);
}

/* Release metadata JSON for a bundle (caller frees). */
static CMN_UNUSED char *it_meta(const char *app, const char *platform, const char *channel, const char *version,
                                const struct it_bundle *b, const struct cmn_key *k, const char *extra)
{
    char *m = NULL;
    if (asprintf(&m,
                 "{\"app\":\"%s\",\"platform\":\"%s\",\"channel\":\"%s\",\"version\":\"%s\","
                 "\"target_binary\":\">=1.0.0 <2.0.0\",\"mandatory\":false,\"rollout_bp\":10000,"
                 "\"notes\":\"test release\",\"sha256\":\"%s\",\"size\":%zu,\"bundle_sig\":\"%s\","
                 "\"bundle_keyid\":\"%s\"%s}",
                 app, platform, channel, version, b->sha, b->len, b->sig, k->keyid, extra ? extra : "") < 0)
        return NULL;
    return m;
}

/* POST /v1/releases; returns the status, *out the JSON answer. */
static CMN_UNUSED long it_post_release(struct it_pub *p, const char *token, const char *meta, const struct it_bundle *b,
                                       json_t **out)
{
    size_t len = 0;
    char *body = it_multipart(meta, b ? b->data : NULL, b ? b->len : 0, &len);
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/releases", p->base);
    struct it_resp r;
    long st = it_http("POST", url, token, "multipart/form-data; boundary=" IT_BOUNDARY, body, len, &r);
    if (st != 201)
        diag("POST /v1/releases -> %ld %.*s", st, (int)(r.body.len > 300 ? 300 : r.body.len),
             r.body.ptr ? r.body.ptr : "");
    if (out) {
        *out = r.json;
        r.json = NULL;
    }
    it_resp_free(&r);
    free(body);
    return st;
}

/* Read and verify the stored manifest of a channel. NULL when missing or not verifiable. */
static CMN_UNUSED struct cmn_manifest *it_stored_manifest(struct it_pub *p, const char *app, const char *platform,
                                                          const char *channel, struct cmn_errbuf *eb)
{
    struct cmn_storage *st = NULL;
    struct cmn_storage_opts o = {0};
    if (p->s3) {
        o.endpoint = getenv("HP_TEST_S3_ENDPOINT");
        o.region = getenv("HP_TEST_S3_REGION");
        o.access_key = getenv("HP_TEST_S3_ACCESS_KEY");
        o.secret_key = getenv("HP_TEST_S3_SECRET_KEY");
    }
    if (cmn_storage_open(p->storage, &o, &st, eb))
        return NULL;
    char key[CMN_STORAGE_KEY_MAX];
    struct cmn_buf doc;
    cmn_buf_init(&doc, CMN_MANIFEST_MAX_BYTES);
    struct cmn_manifest *m = NULL;
    if (!cmn_storage_manifest_key(app, platform, channel, key, sizeof(key)) &&
        !cmn_storage_get(st, key, NULL, &doc, NULL, eb)) {
        struct cmn_keyring kr = {&p->key, 1};
        struct cmn_manifest_expect ex = {app, platform, channel, 0};
        if (cmn_manifest_open(doc.ptr, doc.len, &kr, &ex, (int64_t)time(NULL), 0, &m, eb))
            m = NULL;
    }
    cmn_buf_release(&doc);
    cmn_storage_free(st);
    return m;
}

/* Bootstrap an org + app + registered release key; fills owner/app tokens. */
struct it_world {
    char owner[128];
    char app_key[128];
    struct cmn_key rkey;
};

static CMN_UNUSED int it_world_setup(struct it_pub *p, const char *app, struct it_world *w)
{
    json_t *o = NULL;
    memset(w, 0, sizeof(*w));
    if (it_call(p, "POST", "/v1/bootstrap", NULL,
                "{\"org\":\"acme\",\"email\":\"owner@example.com\",\"password\":\"correct horse battery\"}",
                &o) != 201 ||
        !it_jstr(o, "api_key")) {
        json_decref(o);
        return -1;
    }
    snprintf(w->owner, sizeof(w->owner), "%s", it_jstr(o, "api_key"));
    json_decref(o);
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", app);
    if (it_call(p, "POST", "/v1/apps", w->owner, body, &o) != 201 || !it_jstr(o, "api_key")) {
        json_decref(o);
        return -1;
    }
    snprintf(w->app_key, sizeof(w->app_key), "%s", it_jstr(o, "api_key"));
    json_decref(o);
    if (cmn_key_generate(&w->rkey))
        return -1;
    char pk[CMN_PK_B64];
    cmn_key_public_b64(&w->rkey, pk);
    snprintf(body, sizeof(body), "{\"public_key\":\"%s\",\"name\":\"ci\"}", pk);
    char path[128];
    snprintf(path, sizeof(path), "/v1/apps/%s/keys", app);
    long st = it_call(p, "POST", path, w->owner, body, NULL);
    return st == 201 ? 0 : -1;
}

/* ---- releases and their state, through the API ---- */

/*
 * POST a release of `app` on android/production: a bundle of `size` bytes
 * drawn from the version (each version its own bytes), signed by w's release
 * key, uploaded with w's app key. Its id (malloc'd), or NULL.
 */
static CMN_UNUSED char *it_release(struct it_pub *p, const struct it_world *w, const char *app, const char *version,
                                   size_t size)
{
    uint32_t seed = 2166136261u;
    for (const char *v = version; *v; v++)
        seed = (seed ^ (uint8_t)*v) * 16777619u;
    struct it_bundle b;
    it_bundle_make(&b, size, seed, &w->rkey);
    char *meta = it_meta(app, "android", "production", version, &b, &w->rkey, NULL);
    json_t *o = NULL;
    char *id = NULL;
    if (it_post_release(p, w->app_key, meta, &b, &o) == 201 && it_jstr(o, "release.id"))
        id = strdup(it_jstr(o, "release.id"));
    json_decref(o);
    free(meta);
    it_bundle_free(&b);
    return id;
}

/* A release's state as GET /v1/releases/:id tells it ("" when unreadable); a static buffer. */
static CMN_UNUSED const char *it_release_state(struct it_pub *p, const char *token, const char *id)
{
    static char st[32];
    char path[256];
    snprintf(path, sizeof(path), "/v1/releases/%s", id);
    json_t *o = NULL;
    st[0] = '\0';
    if (it_call(p, "GET", path, token, NULL, &o) == 200 && it_jstr(o, "release.state"))
        snprintf(st, sizeof(st), "%s", it_jstr(o, "release.state"));
    json_decref(o);
    return st;
}

/* One integer of GET /v1/releases/:id/stats, `field` a path below "stats" ("ticketed.failures"); -1 if none. */
static CMN_UNUSED long long it_release_stat(struct it_pub *p, const char *token, const char *id, const char *field)
{
    char path[256], f[96];
    snprintf(path, sizeof(path), "/v1/releases/%s/stats", id);
    snprintf(f, sizeof(f), "stats.%s", field);
    json_t *o = NULL;
    long long v = -1;
    if (it_call(p, "GET", path, token, NULL, &o) == 200)
        v = it_jint(o, f);
    json_decref(o);
    return v;
}

/* ---- a real hotpatch-edge syncing the publisher's storage ---- */

struct it_edge {
    pid_t pid;
    int port; /* set before it_edge_start (it_free_port) */
    char log[1100];
};

/* The built hotpatch-edge ($HP_BIN or build/bin) into out; -1 when it is not there. */
static CMN_UNUSED int it_edge_bin(char out[1024])
{
    const char *bin = getenv("HP_BIN");
    snprintf(out, 1024, "%s/hotpatch-edge", bin && *bin ? bin : "build/bin");
    return access(out, X_OK) == 0 ? 0 : -1;
}

/*
 * Start hotpatch-edge on 127.0.0.1:e->port: it syncs p's storage, trusts p's
 * manifest key, polls every 120 s on one thread and takes the tests' sync
 * token; `extra` (NULL-terminated, at most 8) is appended to its arguments.
 * Data under <tmp>/edge-<tag>, log <tmp>/edge-<tag>.log (e->log). 0 once /healthz
 * answers 200 (10 s at most).
 */
static CMN_UNUSED int it_edge_start(struct it_edge *e, struct it_pub *p, const char *tag, const char *const *extra)
{
    char bin[1024], pk[CMN_PK_B64], listen[64], data_dir[1100], elog[1100];
    if (it_edge_bin(bin))
        return -1;
    cmn_key_public_b64(&p->key, pk);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", e->port);
    snprintf(data_dir, sizeof(data_dir), "%s/edge-%s", test_tmpdir(), tag);
    snprintf(elog, sizeof(elog), "%s/edge-%s.log", test_tmpdir(), tag);
    snprintf(e->log, sizeof(e->log), "%s", elog);
    const char *argv[24] = {bin,        "--listen",      listen, "--data-dir",      data_dir, "--source",
                            p->storage, "--trusted-key", pk,     "--poll-interval", "120",    "--threads",
                            "1"};
    size_t n = 13;
    for (const char *const *x = extra; x && *x && n < 21; x++)
        argv[n++] = *x;
    argv[n] = NULL;
    fflush(stdout);
    e->pid = fork();
    if (e->pid < 0)
        return -1;
    if (e->pid == 0) {
        setenv("HOTPATCH_SYNC_TOKEN", "edge-sync-token-for-tests", 1);
        FILE *lf = freopen(elog, "a", stderr);
        (void)lf;
        dup2(2, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", e->port);
    for (int i = 0; i < 100; i++) {
        struct it_resp r;
        int up = it_http("GET", url, NULL, NULL, NULL, 0, &r) == 200;
        it_resp_free(&r);
        if (up)
            return 0;
        usleep(100000);
    }
    return -1;
}

static CMN_UNUSED void it_edge_stop(struct it_edge *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        waitpid(e->pid, NULL, 0);
        e->pid = 0;
    }
}

#endif
