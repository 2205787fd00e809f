/*
 * limits_test.c - the publisher's guards and background duties over real
 * HTTP: oversize uploads (declared and chunked) and JSON bodies get 413 with
 * a reason, per-IP and per-key token buckets answer 429 with Retry-After,
 * edges are told to resync (POST /v1/sync with the Bearer sync token, received
 * by a recording listener on loopback standing in for an edge), and manifests
 * are re-signed with a higher sequence before they expire.
 */
#include "../../lib/test.h"
#include "pub_itest.h"

#include <microhttpd.h>
#include <pthread.h>

static struct it_pub P;
static struct it_world W;

/* ---- recording listener (stands in for an edge's /v1/sync) ---- */
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static int rec_count;
static char rec_auth[256], rec_path[128], rec_method[16];

static enum MHD_Result rec_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                   const char *version, const char *data, size_t *size, void **ctx)
{
    if (!*ctx) {
        *ctx = (void *)1;
        return MHD_YES;
    }
    if (*size) {
        *size = 0;
        return MHD_YES;
    }
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&rec_mu);
    rec_count++;
    snprintf(rec_auth, sizeof(rec_auth), "%s", a ? a : "");
    snprintf(rec_path, sizeof(rec_path), "%s", url);
    snprintf(rec_method, sizeof(rec_method), "%s", method);
    pthread_mutex_unlock(&rec_mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- chunked upload (no Content-Length) ---- */
struct src {
    const char *p;
    size_t len, off;
};

static size_t read_cb(char *buf, size_t sz, size_t n, void *ud)
{
    struct src *s = ud;
    size_t want = sz * n, left = s->len - s->off;
    if (want > left)
        want = left;
    if (want > 16384)
        want = 16384;
    memcpy(buf, s->p + s->off, want);
    s->off += want;
    return want;
}

static long chunked_post(const char *url, const char *token, const char *ctype, const char *body, size_t len,
                         struct it_resp *r)
{
    memset(r, 0, sizeof(*r));
    cmn_buf_init(&r->body, 1u << 20);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char line[512];
    snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "Content-Type: %s", ctype);
    hdr = curl_slist_append(hdr, line);
    hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
    hdr = curl_slist_append(hdr, "Expect:");
    struct src s = {body, len, 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &s);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, it_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    else
        diag("chunked POST: %s", curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return r->status;
}

static long long stored_seq(int64_t *expires)
{
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "android", "production", NULL);
    long long s = m ? (long long)m->sequence : -1;
    if (m && expires)
        *expires = m->expires_at;
    cmn_manifest_free(m);
    return s;
}

int main(void)
{
    if (!getenv("HP_TEST_PG_URL")) {
        test_skip(1, "HP_TEST_PG_URL not set (run through make test)");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int eport = it_free_port();
    struct MHD_Daemon *edge = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                               (uint16_t)eport, NULL, NULL, rec_handler, NULL, MHD_OPTION_END);
    ok(edge != NULL, "recording listener (edge stand-in) on port %d", eport);
    char edge_env[128];
    snprintf(edge_env, sizeof(edge_env), "HOTPATCH_EDGE_URLS=http://127.0.0.1:%d/", eport);
    const char *env[] = {"HOTPATCH_MAX_UPLOAD=65536",
                         "HOTPATCH_MAX_JSON=2048",
                         edge_env,
                         "HOTPATCH_SYNC_TOKEN=sync-token-for-tests",
                         "HOTPATCH_MANIFEST_TTL=6",
                         "HOTPATCH_RESIGN_INTERVAL=1",
                         "HOTPATCH_BOOTSTRAP_TOKEN=boot-token-for-a-second-org",
                         NULL};
    if (it_pub_setup(&P, "limits", 0) || it_pub_start(&P, env) || it_world_setup(&P, "demo", &W)) {
        ok(0, "publisher + org + app + release key");
        it_log_tail(&P);
        return done_testing();
    }
    ok(1, "publisher with a 64 KiB upload cap");
    json_t *o = NULL;

    /* more orgs only with the bootstrap token */
    const char *org2 = "{\"org\":\"second\",\"email\":\"two@example.com\",\"password\":\"second-password\"}";
    is_int(it_call(&P, "POST", "/v1/bootstrap", NULL, org2, NULL), 403,
           "second org without the bootstrap token -> 403");
    is_int(it_call(&P, "POST", "/v1/bootstrap", "boot-token-for-a-second-orX", org2, NULL), 403, "wrong token -> 403");
    is_int(it_call(&P, "POST", "/v1/bootstrap", "boot-token-for-a-second-org", org2, &o), 201,
           "with HOTPATCH_BOOTSTRAP_TOKEN a second org is created");
    char owner2[128];
    snprintf(owner2, sizeof(owner2), "%s", it_jstr(o, "api_key") ? it_jstr(o, "api_key") : "");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/bootstrap", "boot-token-for-a-second-org", org2, NULL), 409,
           "same org again -> 409");
    is_int(it_call(&P, "GET", "/v1/apps/demo", owner2, NULL, NULL), 404, "another org's owner cannot see app demo");
    is_int(it_call(&P, "GET", "/v1/releases?app=demo", owner2, NULL, NULL), 404, "nor list its releases");
    is_int(it_call(&P, "POST", "/v1/apps", owner2, "{\"name\":\"demo\"}", NULL), 409,
           "app names are unique across orgs (they are storage paths)");

    /* uploads over the cap */
    struct it_bundle big, small;
    it_bundle_make(&big, 100000, 5, &W.rkey);
    it_bundle_make(&small, 4000, 6, &W.rkey);
    char *meta = it_meta("demo", "android", "production", "1.0.0", &big, &W.rkey, NULL);
    is_int(it_post_release(&P, W.app_key, meta, &big, &o), 413, "100 KB upload with Content-Length -> 413");
    ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), "65536"), "the reason names the limit");
    json_decref(o);
    size_t len = 0;
    char *body = it_multipart(meta, big.data, big.len, &len);
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/releases", P.base);
    struct it_resp r;
    chunked_post(url, W.app_key, "multipart/form-data; boundary=" IT_BOUNDARY, body, len, &r);
    is_int(r.status, 413, "chunked 100 KB upload (no Content-Length) -> 413 while streaming");
    it_resp_free(&r);
    free(body);
    free(meta);
    /* metadata claims a size over the cap: refused as soon as the metadata part is read */
    meta = it_meta("demo", "android", "production", "1.0.0", &small, &W.rkey, NULL);
    char *liar = NULL;
    char *p = strstr(meta, "\"size\":");
    if (p && asprintf(&liar, "%.*s\"size\":999999999%s", (int)(p - meta), meta, strchr(p, ',')) < 0)
        liar = NULL;
    is_int(it_post_release(&P, W.app_key, liar ? liar : meta, &small, NULL), 413, "metadata.size over the cap -> 413");
    free(liar);
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM releases"), 0, "no release rows from refused uploads");
    char *junk = malloc(4096);
    memset(junk, 'a', 4096);
    memcpy(junk, "{\"name\":\"", 9);
    memcpy(junk + 4093, "\"}", 3);
    is_int(it_call(&P, "POST", "/v1/apps", W.owner, junk, &o), 413, "4 KiB JSON over the 2 KiB cap -> 413");
    json_decref(o);
    free(junk);

    snprintf(url, sizeof(url), "%s/v1/apps", P.base);
    chunked_post(url, W.owner, "text/plain", "{\"name\":\"zz\"}", 13, &r);
    is_int(r.status, 415, "chunked JSON body with a wrong Content-Type -> 415");
    it_resp_free(&r);

    /* a release notifies the edge */
    is_int(it_post_release(&P, W.app_key, meta, &small, NULL), 201, "small release lands");
    free(meta);
    int got = 0;
    for (int i = 0; i < 100 && !got; i++) {
        pthread_mutex_lock(&rec_mu);
        got = rec_count > 0;
        pthread_mutex_unlock(&rec_mu);
        if (!got)
            usleep(50000);
    }
    ok(got, "the edge received a sync request");
    pthread_mutex_lock(&rec_mu);
    is_str(rec_method, "POST", "sync is a POST");
    is_str(rec_path, "/v1/sync", "to /v1/sync");
    is_str(rec_auth, "Bearer sync-token-for-tests", "with the Bearer sync token");
    pthread_mutex_unlock(&rec_mu);

    /* re-sign before expiry (TTL 6 s: re-signed when under 3 s remain) */
    int64_t exp1 = 0, exp2 = 0;
    long long s1 = stored_seq(&exp1);
    ok(s1 >= 1, "manifest stored, sequence %lld", s1);
    long long s2 = s1;
    for (int i = 0; i < 100 && s2 == s1; i++) {
        usleep(100000);
        s2 = stored_seq(&exp2);
    }
    ok(s2 > s1 && exp2 > exp1,
       "the background job re-signed it with a higher sequence (%lld -> %lld) and a later expiry", s1, s2);
    ok(stored_seq(NULL) >= 1, "the re-signed manifest verifies and is not expired");

    /* rate limits */
    it_pub_stop(&P);
    const char *rl_env[] = {"HOTPATCH_RATE_IP=2", "HOTPATCH_RATE_IP_BURST=5", NULL};
    ok(it_pub_start(&P, rl_env) == 0, "publisher restarted with 2 req/s per IP, burst 5");
    int n429 = 0;
    char ra[32] = "";
    snprintf(url, sizeof(url), "%s/v1/apps", P.base);
    for (int i = 0; i < 20; i++) {
        it_http("GET", url, W.owner, NULL, NULL, 0, &r);
        if (r.status == 429) {
            n429++;
            snprintf(ra, sizeof(ra), "%s", r.retry_after);
        }
        it_resp_free(&r);
    }
    ok(n429 >= 10, "a burst of 20 requests from one IP gets 429s (%d)", n429);
    ok(atoi(ra) >= 1, "429 carries Retry-After: %s", ra);
    it_pub_stop(&P);
    const char *rk_env[] = {"HOTPATCH_RATE_KEY=1", "HOTPATCH_RATE_KEY_BURST=3", NULL};
    ok(it_pub_start(&P, rk_env) == 0, "publisher restarted with 1 req/s per key, burst 3");
    int k429 = 0, other_ok = 0;
    snprintf(url, sizeof(url), "%s/v1/apps", P.base);
    for (int i = 0; i < 8; i++) {
        it_http("GET", url, W.owner, NULL, NULL, 0, &r);
        k429 += r.status == 429;
        it_resp_free(&r);
    }
    it_http("GET", url, W.app_key, NULL, NULL, 0, &r);
    other_ok = r.status == 200;
    it_resp_free(&r);
    ok(k429 >= 4, "one key hammering gets 429 (%d of 8)", k429);
    ok(other_ok, "another key is not affected");

    it_bundle_free(&big);
    it_bundle_free(&small);
    it_pub_stop(&P);
    MHD_stop_daemon(edge);
    if (test_failures())
        it_log_tail(&P);
    return done_testing();
}
