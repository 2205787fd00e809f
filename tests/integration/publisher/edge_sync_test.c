/*
 * edge_sync_test.c - publisher -> real hotpatch-edge over loopback. The edge
 * polls storage only every 120 s, so a change can reach it within seconds
 * only through the publisher's POST /v1/sync notification (Bearer
 * HOTPATCH_SYNC_TOKEN). Checks: a new release is offered by the edge, a
 * rollback is answered as a rollback for a device on it, a halted release is
 * offered to no new device, and a wrong sync token is refused by the edge.
 */
#include "../../lib/test.h"
#include "pub_itest.h"

static struct it_pub P;
static struct it_world W;
static int edge_port;

static long edge_check(const char *device, const char *current, char *decision, size_t dcap)
{
    char url[512];
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/v1/check?app=demo&platform=android&channel=production&binary_version=1.0.0"
             "&device=%s%s%s",
             edge_port, device, current ? "&release=" : "", current ? current : "");
    CURL *h = curl_easy_init();
    struct it_resp r;
    memset(&r, 0, sizeof(r));
    cmn_buf_init(&r.body, 8u << 20);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, it_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
    long code = 0;
    if (decision)
        decision[0] = '\0';
    if (curl_easy_perform(h) == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        struct curl_header *hd = NULL;
        if (decision && curl_easy_header(h, "X-HotPatch-Decision", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
            snprintf(decision, dcap, "%s", hd->value);
    }
    curl_easy_cleanup(h);
    it_resp_free(&r);
    return code;
}

/* Poll the edge until the answer matches (status and, when given, decision); 5 s at most. */
static int wait_edge(const char *device, const char *current, long want, const char *want_decision)
{
    char d[64];
    for (int i = 0; i < 100; i++) {
        long st = edge_check(device, current, d, sizeof(d));
        if (st == want && (!want_decision || !strcmp(d, want_decision)))
            return 1;
        usleep(50000);
    }
    return 0;
}

int main(void)
{
    char edge_bin[1024];
    if (!getenv("HP_TEST_PG_URL") || it_edge_bin(edge_bin)) {
        test_skip(1, "needs HP_TEST_PG_URL and a built hotpatch-edge");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_pub_setup(&P, "edge", 0)) {
        ok(0, "setup");
        return done_testing();
    }
    edge_port = it_free_port();
    char edge_env[128];
    snprintf(edge_env, sizeof(edge_env), "HOTPATCH_EDGE_URLS=http://127.0.0.1:%d", edge_port);
    const char *env[] = {edge_env, "HOTPATCH_SYNC_TOKEN=edge-sync-token-for-tests", NULL};
    if (it_pub_start(&P, env) || it_world_setup(&P, "demo", &W)) {
        ok(0, "publisher + org + app + release key");
        it_log_tail(&P);
        return done_testing();
    }
    ok(1, "publisher up");

    /* the real edge: same storage, trusts the publisher's manifest key, polls rarely */
    struct it_edge edge = {.port = edge_port};
    int up = it_edge_start(&edge, &P, "sync", NULL) == 0;
    ok(up, "hotpatch-edge up (poll interval 120 s)");
    is_int(edge_check("d1", NULL, NULL, 0), 404, "edge does not know the channel yet");

    struct it_bundle b;
    it_bundle_make(&b, 9000, 42, &W.rkey);
    char *meta = it_meta("demo", "android", "production", "1.0.0", &b, &W.rkey, NULL);
    json_t *o = NULL;
    is_int(it_post_release(&P, W.app_key, meta, &b, &o), 201, "release 1.0.0 to production");
    char id[64];
    snprintf(id, sizeof(id), "%s", it_jstr(o, "release.id") ? it_jstr(o, "release.id") : "");
    json_decref(o);
    free(meta);
    it_bundle_free(&b);
    ok(wait_edge("d1", NULL, 200, "update"), "the edge offers it within seconds (sync notification, not polling)");

    char path[256];
    snprintf(path, sizeof(path), "/v1/releases/%s/rollback", id);
    is_int(it_call(&P, "POST", path, W.app_key, NULL, NULL), 200, "rollback");
    ok(wait_edge("d1", id, 200, "rollback"), "the edge tells a device on it to roll back");
    ok(wait_edge("d2", NULL, 204, NULL), "and offers nothing to a new device");

    it_bundle_make(&b, 9100, 43, &W.rkey);
    meta = it_meta("demo", "android", "production", "1.1.0", &b, &W.rkey, NULL);
    is_int(it_post_release(&P, W.app_key, meta, &b, &o), 201, "release 1.1.0");
    snprintf(id, sizeof(id), "%s", it_jstr(o, "release.id") ? it_jstr(o, "release.id") : "");
    json_decref(o);
    free(meta);
    it_bundle_free(&b);
    ok(wait_edge("d3", NULL, 200, "update"), "1.1.0 offered");
    snprintf(path, sizeof(path), "/v1/releases/%s/halt", id);
    is_int(it_call(&P, "POST", path, W.app_key, NULL, NULL), 200, "halt 1.1.0");
    ok(wait_edge("d4", NULL, 204, NULL), "a halted release is offered to no new device");

    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/sync", edge_port);
    struct it_resp r;
    it_http("POST", url, "wrong-token", "application/json", "{}", 2, &r);
    ok(r.status == 401 || r.status == 403, "the edge refuses a wrong sync token (%ld)", r.status);
    it_resp_free(&r);
    struct it_resp mr;
    snprintf(url, sizeof(url), "%s/metrics", P.base);
    it_http("GET", url, NULL, NULL, NULL, 0, &mr);
    ok(mr.body.ptr && strstr(mr.body.ptr, "hotpatch_publisher_edge_notifies_total") &&
           !strstr(mr.body.ptr, "hotpatch_publisher_edge_notifies_total 0\n"),
       "publisher metrics count the edge notifications");
    it_resp_free(&mr);

    it_edge_stop(&edge);
    it_pub_stop(&P);
    if (test_failures()) {
        it_log_tail(&P);
        FILE *f = fopen(edge.log, "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f))
            diag("edge log: %.*s", (int)strcspn(line, "\n"), line);
        if (f)
            fclose(f);
    }
    return done_testing();
}
