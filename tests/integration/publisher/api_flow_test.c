/*
 * api_flow_test.c - the publisher's admin API end to end against a real
 * Postgres database and file:// storage, over real HTTP on loopback:
 * bootstrap -> tokens -> app -> release key -> release -> list/get ->
 * rollout -> rollback -> promote -> halt/resume -> ramp/conclude/abort ->
 * archive -> audit -> stats, plus role checks (a read key cannot release),
 * refused bundles (unregistered key, bad signature, digest and size
 * mismatches, duplicate version) and the signed manifest in storage after
 * each step.
 */
#include "../../lib/test.h"
#include "pub_itest.h"

static struct it_pub P;

static long long manifest_seq(const char *channel)
{
    struct cmn_errbuf eb = {0};
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "android", channel, &eb);
    long long s = m ? (long long)m->sequence : -1;
    if (!m)
        diag("stored manifest %s: %s", channel, eb.msg);
    cmn_manifest_free(m);
    return s;
}

/* State of a release in the stored manifest: "" when absent, NULL when the manifest is unreadable. */
static const char *manifest_state(const char *channel, const char *id, uint32_t *bp)
{
    static char state[32];
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "android", channel, NULL);
    if (!m)
        return NULL;
    long i = cmn_manifest_find(m, id);
    state[0] = '\0';
    if (i >= 0) {
        snprintf(state, sizeof(state), "%s", cmn_release_state_name(m->releases[i].state));
        if (bp)
            *bp = m->releases[i].rollout_bp;
    }
    cmn_manifest_free(m);
    return state;
}

static long action(const char *method, const char *id, const char *verb, const char *token, const char *body,
                   json_t **out)
{
    char path[256];
    if (verb)
        snprintf(path, sizeof(path), "/v1/releases/%s/%s", id, verb);
    else
        snprintf(path, sizeof(path), "/v1/releases/%s", id);
    return it_call(&P, method, path, token, body, out);
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
    if (it_pub_setup(&P, "flow", 0) || it_pub_start(&P, NULL)) {
        ok(0, "publisher starts");
        return done_testing();
    }
    ok(1, "publisher starts and /healthz answers 200");
    json_t *o = NULL;
    struct it_resp hr;
    char url[256];
    snprintf(url, sizeof(url), "%s/metrics", P.base);
    it_http("GET", url, NULL, NULL, NULL, 0, &hr);
    ok(hr.status == 200 && hr.body.ptr && strstr(hr.body.ptr, "hotpatch_publisher_up 1"),
       "/metrics is Prometheus text");
    it_resp_free(&hr);

    /* ---- bootstrap and tokens ---- */
    is_int(it_call(&P, "POST", "/v1/bootstrap", NULL,
                   "{\"org\":\"acme\",\"email\":\"owner@example.com\",\"password\":\"correct horse battery\"}", &o),
           201, "bootstrap creates the first org");
    const char *k = it_jstr(o, "api_key");
    ok(k && !strncmp(k, "hp_", 3), "bootstrap returns an hp_ API key once");
    char owner[128];
    snprintf(owner, sizeof(owner), "%s", k ? k : "");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/bootstrap", NULL,
                   "{\"org\":\"evil\",\"email\":\"x@example.com\",\"password\":\"12345678910\"}", NULL),
           403, "a second bootstrap is refused");
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM api_keys WHERE encode(key_hash,'hex') = encode(sha256('%s'::bytea),'hex')", owner);
    is_int(it_sql_int(P.dburl, sql), 1, "the API key is stored as its SHA-256 only");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_keys WHERE lookup = '%s' OR name = '%s'", owner, owner);
    is_int(it_sql_int(P.dburl, sql), 0, "the plaintext key is stored nowhere");

    char body[1024];
    snprintf(body, sizeof(body), "{\"api_key\":\"%s\"}", owner);
    is_int(it_call(&P, "POST", "/v1/auth/token", NULL, body, &o), 200, "API key -> JWT");
    char jwt[2048];
    snprintf(jwt, sizeof(jwt), "%s", it_jstr(o, "token") ? it_jstr(o, "token") : "");
    ok(it_jint(o, "expires_in") == 900, "token expires in 900 s");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/auth/token", NULL,
                   "{\"email\":\"owner@example.com\",\"password\":\"correct horse battery\"}", &o),
           200, "email + password -> JWT");
    char ujwt[2048];
    snprintf(ujwt, sizeof(ujwt), "%s", it_jstr(o, "token") ? it_jstr(o, "token") : "");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/auth/token", NULL, "{\"email\":\"owner@example.com\",\"password\":\"wrong!!!!\"}",
                   NULL),
           401, "wrong password -> 401");
    is_int(it_call(&P, "POST", "/v1/auth/token", NULL,
                   "{\"api_key\":\"hp_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", NULL),
           401, "unknown API key -> 401");
    is_int(it_call(&P, "POST", "/v1/auth/refresh", jwt, NULL, &o), 200, "refresh with a JWT");
    ok(it_jstr(o, "token") && strcmp(it_jstr(o, "token"), jwt) != 0, "refresh returns a new token");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/auth/refresh", owner, NULL, NULL), 400, "refresh with an API key is refused");
    is_int(it_call(&P, "GET", "/v1/apps", "not-a-token", NULL, NULL), 401, "garbage token -> 401");
    is_int(it_call(&P, "GET", "/v1/apps", NULL, NULL, NULL), 401, "no token -> 401");
    char tampered[2048];
    snprintf(tampered, sizeof(tampered), "%s", jwt);
    size_t tl = strlen(tampered);
    if (tl > 5)
        tampered[tl - 3] = tampered[tl - 3] == 'A' ? 'B' : 'A';
    is_int(it_call(&P, "GET", "/v1/apps", tampered, NULL, NULL), 401, "tampered JWT -> 401");

    /* ---- apps and keys ---- */
    is_int(it_call(&P, "POST", "/v1/apps", ujwt, "{\"name\":\"demo\"}", &o), 201, "user JWT (owner) creates app");
    char appkey[128];
    snprintf(appkey, sizeof(appkey), "%s", it_jstr(o, "api_key") ? it_jstr(o, "api_key") : "");
    ok(appkey[0] && it_jstr(o, "app.name") && !strcmp(it_jstr(o, "app.name"), "demo"), "app answer has name + key");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/apps", owner, "{\"name\":\"demo\"}", NULL), 409, "duplicate app -> 409");
    is_int(it_call(&P, "POST", "/v1/apps", appkey, "{\"name\":\"other\"}", NULL), 403,
           "an app-scoped write key cannot create apps");
    is_int(it_call(&P, "GET", "/v1/apps/demo", appkey, NULL, &o), 200, "app key reads its app");
    json_decref(o);

    struct cmn_key rk, stranger;
    ok(!cmn_key_generate(&rk) && !cmn_key_generate(&stranger), "release keys generated");
    char pk[CMN_PK_B64];
    cmn_key_public_b64(&rk, pk);
    snprintf(body, sizeof(body), "{\"public_key\":\"%s\",\"name\":\"ci\"}", pk);
    is_int(it_call(&P, "POST", "/v1/apps/demo/keys", appkey, body, NULL), 403,
           "write key cannot register release keys");
    is_int(it_call(&P, "POST", "/v1/apps/demo/keys", owner, body, &o), 201, "owner registers a release key");
    ok(it_jstr(o, "key.keyid") && !strcmp(it_jstr(o, "key.keyid"), rk.keyid), "key id is SHA-256(pk)[:8]");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/apps/demo/keys", owner, body, NULL), 409, "same key twice -> 409");
    is_int(it_call(&P, "POST", "/v1/apps/demo/keys", owner, "{\"public_key\":\"bm90IGEga2V5\"}", NULL), 400,
           "a non-key -> 400");
    /* the body prologue (pub_h_body_strs): body, then the app, then the members, each refusal with its reason */
    is_int(it_call(&P, "POST", "/v1/apps/demo/keys", owner, "{\"public_key\":", NULL), 400,
           "truncated key body -> 400");
    is_int(it_call(&P, "POST", "/v1/apps/nosuch/keys", owner, "{\"colour\":1}", NULL), 404,
           "unknown app -> 404 before the body's members are read");
    is_int(it_call(&P, "POST", "/v1/apps/demo/keys", owner, "{\"name\":\"ci\"}", &o), 400, "no public_key -> 400");
    ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), "public_key"), "the reason names it");
    json_decref(o);
    snprintf(body, sizeof(body), "{\"public_key\":\"%s\",\"colour\":\"red\"}", pk);
    is_int(it_call(&P, "POST", "/v1/apps/demo/keys", owner, body, &o), 400, "an unknown member -> 400");
    ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), "colour"), "the reason names it");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/apps/demo/api-keys", owner, "{\"role\":7}", &o), 400,
           "a role that is no string -> 400");
    ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), "role"), "the reason names it");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/apps", owner, "{\"org\":\"acme\"}", NULL), 400, "an app without a name -> 400");
    is_int(it_call(&P, "GET", "/v1/apps/demo/keys", appkey, NULL, &o), 200, "list release keys");
    is_int((long long)json_array_size(json_object_get(o, "keys")), 1, "one release key registered");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/apps/demo/api-keys", owner, "{\"role\":\"read\",\"name\":\"dash\"}", &o), 201,
           "owner creates a read key");
    char readkey[128];
    snprintf(readkey, sizeof(readkey), "%s", it_jstr(o, "api_key") ? it_jstr(o, "api_key") : "");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/apps/demo/api-keys", appkey, "{\"role\":\"admin\"}", NULL), 403,
           "a write key cannot mint admin keys");

    /* ---- releases ---- */
    struct it_bundle b1, b2, b3;
    it_bundle_make(&b1, 200000, 1, &rk);
    it_bundle_make(&b2, 50000, 2, &rk);
    it_bundle_make(&b3, 3000, 3, &stranger);
    char *meta = it_meta("demo", "android", "staging", "1.0.0", &b1, &rk, NULL);
    is_int(it_post_release(&P, readkey, meta, &b1, NULL), 403, "a read key cannot release (403)");
    is_int(it_post_release(&P, NULL, meta, &b1, NULL), 401, "no token cannot release (401)");
    long st = it_post_release(&P, appkey, meta, &b1, &o);
    is_int(st, 201, "write key releases 1.0.0 to staging");
    char id1[64];
    snprintf(id1, sizeof(id1), "%s", it_jstr(o, "release.id") ? it_jstr(o, "release.id") : "");
    long long seq1 = it_jint(o, "manifest.sequence");
    ok(seq1 >= 1 && it_jint(o, "manifest.published_sequence") >= seq1, "answer carries the manifest sequence");
    ok(it_jstr(o, "release.sha256") && !strcmp(it_jstr(o, "release.sha256"), b1.sha), "release records the digest");
    json_decref(o);
    is_int(manifest_seq("staging"), seq1, "stored manifest verifies with the manifest key, same sequence");
    const char *ms = manifest_state("staging", id1, NULL);
    ok(ms && !strcmp(ms, "active"), "stored manifest lists the release as active");
    char bpath[4400];
    snprintf(bpath, sizeof(bpath), "%s/bundles/demo/android/%s.zip", P.storage + 7, b1.sha);
    struct stat sb;
    ok(stat(bpath, &sb) == 0 && (size_t)sb.st_size == b1.len, "bundle stored content-addressed");
    is_int(it_post_release(&P, appkey, meta, &b1, NULL), 409, "same version again -> 409");
    free(meta);

    meta = it_meta("demo", "android", "staging", "1.0.9", &b3, &stranger, NULL);
    is_int(it_post_release(&P, appkey, meta, &b3, &o), 400, "bundle signed by an unregistered key -> 400");
    ok(it_jstr(o, "error.code") && !strcmp(it_jstr(o, "error.code"), "unregistered_key"), "reason: unregistered_key");
    json_decref(o);
    free(meta);
    /* signed by the stranger but claiming the registered key id */
    meta = it_meta("demo", "android", "staging", "1.0.9", &b3, &rk, NULL);
    is_int(it_post_release(&P, appkey, meta, &b3, &o), 400, "signature by another key under a registered keyid -> 400");
    ok(it_jstr(o, "error.code") && !strcmp(it_jstr(o, "error.code"), "bad_signature"), "reason: bad_signature");
    json_decref(o);
    free(meta);
    meta = it_meta("demo", "android", "staging", "1.0.9", &b2, &rk, NULL);
    b2.data[100] ^= 1; /* the bytes no longer match the signed digest */
    is_int(it_post_release(&P, appkey, meta, &b2, &o), 400, "bundle bytes differ from metadata.sha256 -> 400");
    ok(it_jstr(o, "error.code") && !strcmp(it_jstr(o, "error.code"), "hash_mismatch"), "reason: hash_mismatch");
    json_decref(o);
    b2.data[100] ^= 1;
    struct it_bundle shortb = b2;
    shortb.len -= 10;
    is_int(it_post_release(&P, appkey, meta, &shortb, &o), 400, "bundle shorter than metadata.size -> 400");
    ok(it_jstr(o, "error.code") && !strcmp(it_jstr(o, "error.code"), "size_mismatch"), "reason: size_mismatch");
    json_decref(o);
    free(meta);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM releases");
    is_int(it_sql_int(P.dburl, sql), 1, "refused uploads left no release rows");

    meta = it_meta("demo", "android", "staging", "1.1.0", &b2, &rk, ",\"percent\":10");
    is_int(it_post_release(&P, appkey, meta, &b2, &o), 201, "release 1.1.0 at 10 percent");
    char id2[64];
    snprintf(id2, sizeof(id2), "%s", it_jstr(o, "release.id") ? it_jstr(o, "release.id") : "");
    is_int(it_jint(o, "release.rollout_bp"), 1000, "percent 10 -> 1000 bp");
    long long seq2 = it_jint(o, "manifest.sequence");
    ok(seq2 > seq1, "the second release has a higher sequence");
    json_decref(o);
    free(meta);

    /* list / get / pagination */
    is_int(it_call(&P, "GET", "/v1/releases?app=demo&platform=android&channel=staging", readkey, NULL, &o), 200,
           "read key lists releases");
    is_int((long long)json_array_size(json_object_get(o, "releases")), 2, "two releases listed");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/releases?app=demo&limit=1", readkey, NULL, &o), 200, "page 1");
    const char *cur = it_jstr(o, "next_cursor");
    ok(cur != NULL, "page 1 has a next_cursor");
    char path[256];
    snprintf(path, sizeof(path), "/v1/releases?app=demo&limit=1&cursor=%s", cur ? cur : "x");
    json_decref(o);
    is_int(it_call(&P, "GET", path, readkey, NULL, &o), 200, "page 2");
    json_t *arr = json_object_get(o, "releases");
    ok(json_array_size(arr) == 1 && !strcmp(json_string_value(json_object_get(json_array_get(arr, 0), "id")), id1),
       "page 2 holds the older release");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/releases?app=nope", readkey, NULL, NULL), 404, "unknown app -> 404");
    snprintf(path, sizeof(path), "/v1/releases/%s", id1);
    is_int(it_call(&P, "GET", path, readkey, NULL, &o), 200, "get release by id");
    ok(it_jstr(o, "release.version") && !strcmp(it_jstr(o, "release.version"), "1.0.0"), "version 1.0.0");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/releases/rel_doesnotexist", readkey, NULL, NULL), 404, "unknown release -> 404");

    /* ---- lifecycle ---- */
    is_int(action("PATCH", id2, "rollout", readkey, "{\"percent\":25}", NULL), 403, "read key cannot change rollout");
    is_int(action("PATCH", id2, "rollout", appkey, "{\"percent\":25}", &o), 200, "rollout -> 25 percent");
    is_int(it_jint(o, "release.rollout_bp"), 2500, "rollout_bp 2500");
    long long seq3 = it_jint(o, "manifest.sequence");
    json_decref(o);
    uint32_t bp = 0;
    ms = manifest_state("staging", id2, &bp);
    ok(ms && !strcmp(ms, "active") && bp == 2500, "manifest carries the new rollout");
    ok(manifest_seq("staging") >= seq3 && seq3 > seq2, "sequence went up");
    is_int(action("PATCH", id2, "rollout", appkey, "{\"percent\":250}", NULL), 400, "percent 250 -> 400");
    is_int(action("PATCH", id2, "rollout", appkey, "{\"percent\":5,\"rollout_bp\":5}", NULL), 400,
           "both percent and rollout_bp -> 400");
    is_int(action("POST", id2, "ramp", appkey, "{\"rollout_bp\":5000}", &o), 200, "ramp (Hyper OTA alias)");
    is_int(it_jint(o, "release.rollout_bp"), 5000, "ramp set 5000 bp");
    json_decref(o);
    is_int(action("POST", id2, "halt", appkey, "{\"reason\":\"crash spike\"}", &o), 200, "halt");
    ok(it_jstr(o, "release.state") && !strcmp(it_jstr(o, "release.state"), "halted"), "state halted");
    json_decref(o);
    ms = manifest_state("staging", id2, NULL);
    ok(ms && !strcmp(ms, "halted"), "manifest lists it halted");
    is_int(action("POST", id2, "halt", appkey, NULL, NULL), 409, "halting a halted release -> 409");
    is_int(action("PATCH", id2, "rollout", appkey, "{\"percent\":60}", NULL), 409, "halted rollout is frozen");
    is_int(action("POST", id2, "resume", appkey, NULL, &o), 200, "resume");
    ok(it_jstr(o, "release.state") && !strcmp(it_jstr(o, "release.state"), "active"), "state active again");
    json_decref(o);
    is_int(action("POST", id2, "conclude", appkey, NULL, &o), 200, "conclude (alias: 100 percent)");
    is_int(it_jint(o, "release.rollout_bp"), 10000, "conclude -> 10000 bp");
    json_decref(o);
    is_int(action("POST", id2, "rollback", appkey, NULL, &o), 200, "rollback");
    ok(it_jstr(o, "release.state") && !strcmp(it_jstr(o, "release.state"), "rolled_back"), "state rolled_back");
    json_decref(o);
    ms = manifest_state("staging", id2, NULL);
    ok(ms && !strcmp(ms, "rolled_back"), "manifest publishes the rollback");
    is_int(action("POST", id2, "abort", appkey, NULL, NULL), 409, "abort of a rolled-back release -> 409");

    is_int(action("POST", id1, "promote", appkey, "{\"to_channel\":\"production\",\"percent\":50}", &o), 201,
           "promote 1.0.0 to production");
    char id3[64];
    snprintf(id3, sizeof(id3), "%s", it_jstr(o, "release.id") ? it_jstr(o, "release.id") : "");
    ok(it_jstr(o, "release.promoted_from") && !strcmp(it_jstr(o, "release.promoted_from"), id1),
       "promoted_from points at the source");
    ok(it_jstr(o, "release.sha256") && !strcmp(it_jstr(o, "release.sha256"), b1.sha), "same bundle digest");
    json_decref(o);
    ms = manifest_state("production", id3, &bp);
    ok(ms && !strcmp(ms, "active") && bp == 5000, "production manifest has the promoted release at 50 percent");
    is_int(action("POST", id1, "promote", appkey, "{\"to_channel\":\"production\"}", NULL), 409,
           "promoting the same version again -> 409");
    is_int(action("POST", id3, "abort", appkey, NULL, NULL), 200, "abort (alias of rollback)");
    ms = manifest_state("production", id3, NULL);
    ok(ms && !strcmp(ms, "rolled_back"), "abort published as rolled_back");

    is_int(action("DELETE", id1, NULL, appkey, NULL, &o), 200, "archive (DELETE)");
    ok(it_jstr(o, "release.state") && !strcmp(it_jstr(o, "release.state"), "archived"), "state archived");
    json_decref(o);
    ms = manifest_state("staging", id1, NULL);
    ok(ms && !strcmp(ms, ""), "archived release is gone from the manifest");
    is_int(action("DELETE", id1, NULL, appkey, NULL, NULL), 409, "archiving twice -> 409");

    is_int(it_call(&P, "GET", "/v1/manifests/demo/android/staging", readkey, NULL, &o), 200,
           "GET /v1/manifests returns the envelope");
    ok(it_jstr(o, "payload") && json_is_array(json_object_get(o, "signatures")), "envelope has payload + signatures");
    json_decref(o);
    {
        /* conditional GET with the ETag the publisher gave */
        char murl[256], etag[200] = "";
        snprintf(murl, sizeof(murl), "%s/v1/manifests/demo/android/staging", P.base);
        CURL *h = curl_easy_init();
        struct curl_slist *hd = NULL;
        char line[300];
        snprintf(line, sizeof(line), "Authorization: Bearer %s", readkey);
        hd = curl_slist_append(hd, line);
        struct it_resp er;
        memset(&er, 0, sizeof(er));
        cmn_buf_init(&er.body, 1 << 20);
        curl_easy_setopt(h, CURLOPT_URL, murl);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, it_write_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &er);
        struct curl_header *ch = NULL;
        if (curl_easy_perform(h) == CURLE_OK && curl_easy_header(h, "ETag", 0, CURLH_HEADER, -1, &ch) == CURLHE_OK)
            snprintf(etag, sizeof(etag), "%s", ch->value);
        ok(etag[0] == '"', "manifest answer has an ETag (%s)", etag);
        snprintf(line, sizeof(line), "If-None-Match: %s", etag);
        hd = curl_slist_append(hd, line);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        long code = 0;
        if (curl_easy_perform(h) == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        is_int(code, 304, "If-None-Match with that ETag -> 304");
        curl_slist_free_all(hd);
        curl_easy_cleanup(h);
        it_resp_free(&er);
    }
    is_int(it_call(&P, "GET", "/v1/manifests/demo/android/nochannel", readkey, NULL, NULL), 404,
           "missing manifest -> 404");

    is_int(it_call(&P, "GET", "/v1/apps/demo/channels", readkey, NULL, &o), 200, "channel list");
    arr = json_object_get(o, "channels");
    int chan_ok = json_array_size(arr) == 2;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *c = json_array_get(arr, i);
        const char *cn = json_string_value(json_object_get(c, "channel"));
        chan_ok &= json_is_true(json_object_get(c, "published")) &&
                   json_integer_value(json_object_get(c, "sequence")) == manifest_seq(cn ? cn : "");
    }
    ok(chan_ok, "production + staging, published, sequences equal the stored manifests");
    json_decref(o);

    /* ---- audit ---- */
    is_int(it_call(&P, "GET", "/v1/apps/demo/audit", readkey, NULL, &o), 200, "audit log readable");
    const char *want[] = {"release.create",  "release.rollout",  "release.halt",
                          "release.resume",  "release.conclude", "release.rollback",
                          "release.promote", "release.archive",  "release_key.register"};
    arr = json_object_get(o, "events");
    for (size_t i = 0; i < CMN_ARRAY_SIZE(want); i++) {
        int found = 0;
        for (size_t j = 0; j < json_array_size(arr); j++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(arr, j), "action")), want[i]))
                found = 1;
        ok(found, "audit event %s recorded", want[i]);
    }
    json_decref(o);

    /* ---- stats ---- */
    snprintf(path, sizeof(path), "/v1/releases/%s/stats", id2);
    is_int(it_call(&P, "GET", path, readkey, NULL, &o), 200, "stats readable with the read key");
    is_int(it_jint(o, "stats.installs"), 0, "no installs yet");
    json_decref(o);

    /* ---- bad input gets a 4xx with a reason ---- */
    is_int(it_call(&P, "POST", "/v1/apps", owner, "{\"name\":\"x\",", &o), 400, "truncated JSON -> 400");
    ok(it_jstr(o, "error.code") && !strcmp(it_jstr(o, "error.code"), "bad_json") && it_jstr(o, "error.message"),
       "bad_json with a message");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/apps", owner, "{\"name\":\"a\",\"name\":\"b\"}", NULL), 400,
           "duplicate JSON keys -> 400");
    is_int(it_call(&P, "POST", "/v1/apps", owner, "{\"name\":\"x\",\"colour\":\"red\"}", NULL), 400,
           "unknown field -> 400");
    is_int(it_call(&P, "POST", "/v1/apps", owner, "[1,2]", NULL), 400, "array body -> 400");
    is_int(it_call(&P, "POST", "/v1/apps", owner, "{\"name\":\"../etc\"}", NULL), 400, "bad app name -> 400");
    snprintf(url, sizeof(url), "%s/v1/apps", P.base);
    it_http("POST", url, owner, "text/plain", "{\"name\":\"x\"}", 12, &hr);
    is_int(hr.status, 415, "wrong Content-Type -> 415");
    it_resp_free(&hr);
    snprintf(url, sizeof(url), "%s/v1/releases", P.base);
    it_http("POST", url, appkey, "application/json", "{}", 2, &hr);
    is_int(hr.status, 415, "release upload that is not multipart -> 415");
    it_resp_free(&hr);
    it_http("POST", url, appkey, "multipart/form-data", "x", 1, &hr);
    is_int(hr.status, 400, "multipart without a boundary -> 400");
    it_resp_free(&hr);
    const char *trunc = "--" IT_BOUNDARY "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{\"app\":";
    it_http("POST", url, appkey, "multipart/form-data; boundary=" IT_BOUNDARY, trunc, strlen(trunc), &hr);
    is_int(hr.status, 400, "truncated multipart -> 400");
    ok(hr.body.ptr && strstr(hr.body.ptr, "closing boundary"), "reason names the missing boundary");
    it_resp_free(&hr);
    const char *noname = "--" IT_BOUNDARY "\r\nContent-Type: text/plain\r\n\r\nxx\r\n--" IT_BOUNDARY "--\r\n";
    it_http("POST", url, appkey, "multipart/form-data; boundary=" IT_BOUNDARY, noname, strlen(noname), &hr);
    is_int(hr.status, 400, "part without Content-Disposition -> 400");
    it_resp_free(&hr);
    meta = it_meta("demo", "android", "staging", "9.9.9", &b2, &rk, NULL);
    is_int(it_post_release(&P, appkey, meta, NULL, &o), 400, "metadata without a bundle part -> 400");
    json_decref(o);
    free(meta);
    is_int(it_post_release(&P, appkey, "{\"app\":\"demo\"}", &b2, &o), 400, "incomplete metadata -> 400");
    ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), "missing field"), "names the missing field");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/nothing", owner, NULL, NULL), 404, "unknown endpoint -> 404");
    is_int(it_call(&P, "PUT", "/v1/apps", owner, NULL, NULL), 405, "wrong method -> 405");

    /* ---- users with per-app roles ---- */
    is_int(it_call(&P, "POST", "/v1/users", owner,
                   "{\"email\":\"reader@example.com\",\"password\":\"reader-password\",\"role\":\"read\","
                   "\"app\":\"demo\"}",
                   NULL),
           201, "owner adds a user with the read role on app demo");
    is_int(it_call(&P, "POST", "/v1/users", owner,
                   "{\"email\":\"reader@example.com\",\"role\":\"read\",\"app\":\"demo\"}", NULL),
           409, "the same grant twice -> 409");
    is_int(it_call(&P, "POST", "/v1/auth/token", NULL,
                   "{\"email\":\"reader@example.com\",\"password\":\"reader-password\"}", &o),
           200, "the new user logs in");
    char rjwt[2048];
    snprintf(rjwt, sizeof(rjwt), "%s", it_jstr(o, "token") ? it_jstr(o, "token") : "");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/releases?app=demo", rjwt, NULL, NULL), 200, "app reader lists releases");
    meta = it_meta("demo", "android", "staging", "5.0.0", &b2, &rk, NULL);
    is_int(it_post_release(&P, rjwt, meta, &b2, NULL), 403, "app reader (user JWT) cannot release");
    free(meta);
    is_int(it_call(&P, "POST", "/v1/users", rjwt,
                   "{\"email\":\"x@example.com\",\"password\":\"12345678\",\"role\":\"read\",\"app\":\"demo\"}", NULL),
           403, "a reader cannot add users");
    is_int(it_call(&P, "POST", "/v1/users", appkey,
                   "{\"email\":\"w@example.com\",\"password\":\"12345678\",\"role\":\"admin\",\"app\":\"demo\"}", NULL),
           403, "a write key cannot grant admin");
    is_int(it_call(&P, "POST", "/v1/apps", rjwt, "{\"name\":\"mine\"}", NULL), 403, "an app reader cannot create apps");

    /* ---- revocation ---- */
    char lookup[16];
    snprintf(lookup, sizeof(lookup), "%.12s", readkey + 3);
    snprintf(body, sizeof(body), "{\"api_key\":\"%s\"}", readkey);
    is_int(it_call(&P, "POST", "/v1/auth/token", NULL, body, &o), 200, "JWT from the read key");
    char rkjwt[2048];
    snprintf(rkjwt, sizeof(rkjwt), "%s", it_jstr(o, "token") ? it_jstr(o, "token") : "");
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/api-keys/%s", lookup);
    is_int(it_call(&P, "DELETE", path, appkey, NULL, NULL), 403, "a write key cannot revoke keys");
    is_int(it_call(&P, "DELETE", path, owner, NULL, NULL), 200, "owner revokes the read key");
    is_int(it_call(&P, "GET", "/v1/releases?app=demo", readkey, NULL, NULL), 401, "the revoked key is refused");
    is_int(it_call(&P, "GET", "/v1/releases?app=demo", rkjwt, NULL, NULL), 401, "and so is a JWT made from it");
    is_int(it_call(&P, "DELETE", path, owner, NULL, NULL), 404, "revoking twice -> 404");
    snprintf(path, sizeof(path), "/v1/apps/demo/keys/%s", rk.keyid);
    is_int(it_call(&P, "DELETE", path, appkey, NULL, NULL), 403, "a write key cannot revoke release keys");
    is_int(it_call(&P, "DELETE", path, owner, NULL, NULL), 200, "owner revokes the release key");
    meta = it_meta("demo", "android", "staging", "6.0.0", &b2, &rk, NULL);
    is_int(it_post_release(&P, appkey, meta, &b2, &o), 400, "bundles signed by a revoked release key are refused");
    ok(it_jstr(o, "error.code") && !strcmp(it_jstr(o, "error.code"), "unregistered_key"), "reason: unregistered_key");
    json_decref(o);
    free(meta);

    it_bundle_free(&b1);
    it_bundle_free(&b2);
    it_bundle_free(&b3);
    it_pub_stop(&P);
    if (test_failures())
        it_log_tail(&P);
    return done_testing();
}
