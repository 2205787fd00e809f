/*
 * Unit tests for edge-check/req.c, run in-process against a real LMDB index:
 * /v1/check answers (204/200, headers, cohort membership computed
 * independently with cmn_cohort_bucket for thousands of device ids, list
 * targeting, skip/blocklist, rollback, expiry), parameter validation (400 with
 * a JSON reason), 404s, the seed endpoints' JSON, /v1/manifests with ETag and
 * If-None-Match, /v1/sync authentication, /healthz and /metrics.
 */
#include "common/compat.h"

#include <jansson.h>

#include "../../../edge-check/edge.h"
#include "../../lib/test.h"
#include "common/codepush.h"
#include "common/ticket.h"

static struct cmn_key K;
static char SIG[CMN_SIG_B64];
static struct edge_index IX;
static struct edge_config CFG;
static struct edge_ctx CTX;
static struct edge_resp *RS;
static int triggered;

static void rel(struct cmn_release *r, const char *id, const char *version, const char *range, uint32_t bp)
{
    memset(r, 0, sizeof(*r));
    r->id = (char *)id;
    r->version = (char *)version;
    r->target_binary = (char *)range;
    r->bundle_url = "bundles/demo/android/abc.zip";
    memset(r->sha256, 'c', 64);
    r->size = 777;
    r->bundle_sig = SIG;
    memcpy(r->bundle_keyid, K.keyid, sizeof(r->bundle_keyid));
    r->rollout_bp = bp;
    r->state = CMN_REL_ACTIVE;
    r->created_at = 1700000000;
}

/* Seal, open (as the sync pass does) and store a manifest in the index. */
static int store(struct cmn_manifest *m)
{
    struct cmn_buf env, rec;
    struct cmn_errbuf eb = {{0}};
    struct cmn_keyring kr = {&K, 1};
    struct cmn_manifest *o = NULL;
    cmn_buf_init(&env, CMN_MANIFEST_MAX_BYTES);
    cmn_buf_init(&rec, 1 << 24);
    int ok_ =
        cmn_manifest_seal(m, &K, &env, &eb) == CMN_OK &&
        cmn_manifest_open(env.ptr, env.len, &kr, NULL, 1700000001, CMN_MANIFEST_ALLOW_EXPIRED, &o, &eb) == CMN_OK &&
        edge_rec_compile(o, env.ptr, env.len, (int64_t)time(NULL), &rec) == CMN_OK;
    if (ok_) {
        char key[256];
        MDB_txn *t;
        size_t kn = edge_manifest_key(m->app, m->platform, m->channel, key, sizeof(key));
        MDB_val k = {kn, key}, v = {rec.len, rec.ptr};
        ok_ = mdb_txn_begin(IX.env, NULL, 0, &t) == 0 && mdb_put(t, IX.manifests, &k, &v, 0) == 0 &&
              mdb_txn_commit(t) == 0;
    } else {
        diag("store: %s", eb.msg);
    }
    cmn_manifest_free(o);
    cmn_buf_release(&env);
    cmn_buf_release(&rec);
    return ok_;
}

static const char *hdr(const char *name)
{
    static char buf[256];
    for (int i = 0; i < RS->nh; i++)
        if (strcasecmp(RS->h[i].name, name) == 0) {
            snprintf(buf, sizeof(buf), "%.*s", (int)RS->h[i].len, RS->h[i].val);
            return buf;
        }
    return NULL;
}

static char body[1 << 16];

/* The X-HotPatch-Ticket of the last answer verified for (release, device), with its platform/channel; else "". */
static const char *ticket_of(const char *release, const char *device, const char *channel)
{
    static char why[64];
    for (int i = 0; i < RS->nh; i++) {
        if (strcasecmp(RS->h[i].name, "X-HotPatch-Ticket") != 0)
            continue;
        struct cmn_ticket t;
        struct cmn_ticket_claim cl = {"demo", release, device};
        enum cmn_err rc = cmn_ticket_verify(RS->h[i].val, RS->h[i].len, &K, 1, &cl, (int64_t)time(NULL));
        if (rc == CMN_OK && cmn_ticket_parse(RS->h[i].val, RS->h[i].len, &t) == CMN_OK &&
            (strcmp(t.platform, "android") || strcmp(t.channel, channel) ||
             t.expires > (int64_t)time(NULL) + CFG.ticket_ttl_s ||
             t.expires < (int64_t)time(NULL) + CFG.ticket_ttl_s - 5))
            rc = CMN_E_PARSE;
        snprintf(why, sizeof(why), "%s", cmn_ticket_reason(rc));
        return why;
    }
    return "";
}

/* Overwrite the stack the handler used, so a response pointing at a dead frame shows in any build. */
static void __attribute__((noinline)) scribble(void)
{
    volatile char junk[1 << 16];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 0x5a;
}

static int req(const char *method, const char *path, const char *query, const char *auth, const char *inm)
{
    struct edge_reqin in;
    memset(&in, 0, sizeof(in));
    in.method = (struct cmn_slice){method, strlen(method)};
    in.path = (struct cmn_slice){path, strlen(path)};
    in.query = (struct cmn_slice){query ? query : "", query ? strlen(query) : 0};
    if (auth)
        in.authorization = (struct cmn_slice){auth, strlen(auth)};
    if (inm)
        in.if_none_match = (struct cmn_slice){inm, strlen(inm)};
    edge_handle(&CTX, &in, RS);
    scribble();
    size_t n = RS->body_len < sizeof(body) - 1 ? RS->body_len : sizeof(body) - 1;
    if (RS->body)
        memcpy(body, RS->body, n);
    body[RS->body ? n : 0] = '\0';
    edge_ctx_end(&CTX);
    return RS->status;
}

/* POST a JSON body (NULL: none) to path with Content-Type ctype (NULL: none); too_large: a body over the cap. */
static int post(const char *method, const char *path, const char *json, const char *ctype, int too_large)
{
    struct edge_reqin in;
    memset(&in, 0, sizeof(in));
    in.method = (struct cmn_slice){method, strlen(method)};
    in.path = (struct cmn_slice){path, strlen(path)};
    in.query = (struct cmn_slice){"", 0};
    if (ctype)
        in.ctype = (struct cmn_slice){ctype, strlen(ctype)};
    if (json)
        in.body = (struct cmn_slice){json, strlen(json)};
    in.body_too_large = too_large;
    in.peer = 0x0100007f;
    edge_handle(&CTX, &in, RS);
    scribble();
    size_t n = RS->body_len < sizeof(body) - 1 ? RS->body_len : sizeof(body) - 1;
    if (RS->body)
        memcpy(body, RS->body, n);
    body[RS->body ? n : 0] = '\0';
    edge_ctx_end(&CTX);
    return RS->status;
}

/* POST a seed 002 update-status body to /api/device/<dev>/update-status. */
static int status_post(const char *dev, const char *json)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/device/%s/update-status", dev);
    return post("POST", path, json, "application/json", 0);
}

/* POST a CodePush report (deploy or download) body. */
static int cp_post(const char *what, const char *json)
{
    char path[256];
    snprintf(path, sizeof(path), "/v0.1/public/codepush/report_status/%s", what);
    return post("POST", path, json, "application/json", 0);
}

static int check(const char *query)
{
    return req("GET", "/v1/check", query, NULL, NULL);
}

static uint64_t trig(void *arg)
{
    (void)arg;
    triggered++;
    return 42;
}

static json_t *jbody(void)
{
    return json_loads(body, 0, NULL);
}

int main(void)
{
    struct cmn_errbuf eb = {{0}};
    char dir[512], q[512];
    if (cmn_crypto_init() || cmn_key_generate(&K))
        return 1;
    uint8_t dg[32] = {2};
    if (cmn_bundle_sign(&K, dg, SIG))
        return 1;
    snprintf(dir, sizeof(dir), "%s/idx", test_tmpdir());
    is_int(edge_index_open(&IX, dir, 64 << 20, &eb), CMN_OK, "index opens");
    CFG.poll_ms = 5000;
    CFG.sync_token = "s3cret-token";
    CFG.public_base = "https://cdn.example.com/ota/";
    struct edge_sync_state ss;
    memset(&ss, 0, sizeof(ss));
    pthread_mutex_init(&ss.mu, NULL);
    RS = malloc(sizeof(*RS));
    is_int(edge_ctx_init(&CTX, &CFG, &IX, &ss), CMN_OK, "context");
    CTX.trigger = trig;

    /* channel 1: one release at 25% */
    struct cmn_manifest *m = cmn_manifest_new("demo", "android", "production");
    struct cmn_release r;
    m->sequence = 3;
    m->issued_at = 1700000000;
    m->expires_at = 4000000000LL;
    rel(&r, "rel-a", "1.1.0", ">=2.0.0 <3.0.0", 2500);
    r.notes = "fixes \"crash\"";
    ok(cmn_manifest_add_release(m, &r) == CMN_OK && store(m), "stored demo/android/production");
    cmn_manifest_free(m);

    /* channel 2: a list-targeted release, a mandatory one, a rolled-back one */
    m = cmn_manifest_new("demo", "android", "beta");
    m->sequence = 5;
    m->issued_at = 1700000000;
    m->expires_at = 4000000000LL;
    rel(&r, "b1", "2.0.0", "*", 10000);
    r.mandatory = 1;
    ok(cmn_manifest_add_release(m, &r) == CMN_OK, "b1");
    rel(&r, "b2", "2.1.0", "*", 10000);
    ok(cmn_manifest_add_release(m, &r) == CMN_OK, "b2");
    rel(&r, "b3", "2.2.0", "*", 10000);
    r.device_list = "testers";
    ok(cmn_manifest_add_release(m, &r) == CMN_OK, "b3");
    rel(&r, "b4", "2.3.0", "*", 10000);
    r.state = CMN_REL_ROLLED_BACK;
    ok(cmn_manifest_add_release(m, &r) == CMN_OK && store(m), "stored demo/android/beta");
    cmn_manifest_free(m);

    /* channel 3: expired */
    m = cmn_manifest_new("demo", "android", "old");
    m->sequence = 1;
    m->issued_at = 1700000000;
    m->expires_at = 1700000100;
    rel(&r, "o1", "1.0.0", "*", 10000);
    ok(cmn_manifest_add_release(m, &r) == CMN_OK && store(m), "stored an expired channel");
    cmn_manifest_free(m);

    {
        char **ids;
        size_t n;
        MDB_txn *t;
        const char *list = "tester-1\ntester-2\n";
        ok(edge_list_parse(list, strlen(list), &ids, &n, &eb) == CMN_OK && mdb_txn_begin(IX.env, NULL, 0, &t) == 0 &&
               edge_index_list_replace(&IX, t, "testers", ids, n, &eb) == CMN_OK && mdb_txn_commit(t) == 0,
           "list 'testers' loaded");
        edge_list_free(ids, n);
    }

    /* cohort: 3000 devices, expectation from the bucket formula */
    int agree = 1, in_cohort = 0;
    for (int d = 0; d < 3000; d++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "device-%d", d);
        int want = cmn_cohort_bucket("rel-a", dev) < 2500 ? 200 : 204;
        snprintf(q, sizeof(q), "app=demo&platform=android&channel=production&binary_version=2.4.1&device=%s", dev);
        int got = check(q);
        if (got != want || (got == 200 && (!hdr("X-HotPatch-Release") || strcmp(hdr("X-HotPatch-Release"), "rel-a"))))
            agree = 0;
        in_cohort += want == 200;
    }
    ok(agree, "3000 devices: 200/204 exactly as bucket < 2500 says (%d in cohort)", in_cohort);
    ok(in_cohort > 600 && in_cohort < 900, "about a quarter in the cohort");

    /* find one in and one out for the detailed checks */
    char din[32] = "", dout[32] = "";
    for (int d = 0; d < 100 && (!din[0] || !dout[0]); d++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "device-%d", d);
        if (cmn_cohort_bucket("rel-a", dev) < 2500)
            snprintf(din, sizeof(din), "%s", dev);
        else
            snprintf(dout, sizeof(dout), "%s", dev);
    }
    snprintf(q, sizeof(q), "app=demo&platform=android&channel=production&binary_version=2.4.1&device=%s", din);
    is_int(check(q), 200, "in-cohort device gets 200");
    is_str(hdr("X-HotPatch-Decision"), "update", "decision header");
    is_str(hdr("X-HotPatch-Mandatory"), "0", "mandatory header");
    is_str(hdr("X-HotPatch-Sequence"), "3", "sequence header");
    is_str(hdr("Cache-Control"), "private, no-store", "per-device answers are not cacheable");
    ok(hdr("ETag") && hdr("ETag")[0] == '"', "ETag present");
    ok(strstr(body, "\"payload\"") && strstr(body, "\"signatures\""), "body is the signed envelope");
    {
        struct cmn_keyring kr = {&K, 1};
        struct cmn_manifest *o = NULL;
        ok(cmn_manifest_open(body, strlen(body), &kr, NULL, (int64_t)time(NULL), 0, &o, NULL) == CMN_OK,
           "served envelope verifies");
        cmn_manifest_free(o);
    }
    snprintf(q, sizeof(q), "app=demo&platform=android&channel=production&binary_version=1.9.9&device=%s", din);
    is_int(check(q), 204, "binary outside the target range gets 204");
    snprintf(q, sizeof(q), "app=demo&platform=android&channel=production&binary_version=2.4.1&device=%s&release=rel-a",
             din);
    is_int(check(q), 204, "already on the release: 204");
    snprintf(q, sizeof(q), "app=demo&platform=android&channel=production&binary_version=2.4.1&device=%s&skip=rel-a",
             din);
    is_int(check(q), 204, "blocklisted release is not offered");
    snprintf(q, sizeof(q), "app=demo&platform=android&channel=production&binary_version=2.4.1&device=%s", dout);
    is_int(check(q), 204, "out-of-cohort device gets 204");
    ok(RS->body_len == 0 || RS->status == 204, "204 has no body");

    /* beta channel */
    is_int(check("app=demo&platform=android&channel=beta&binary_version=1.0.0&device=tester-1"), 200, "list member");
    is_str(hdr("X-HotPatch-Release"), "b3", "list member gets the list-targeted release");
    is_str(hdr("X-HotPatch-Mandatory"), "1", "mandatory survives skipping b1");
    is_int(check("app=demo&platform=android&channel=beta&binary_version=1.0.0&device=someone"), 200, "non-member");
    is_str(hdr("X-HotPatch-Release"), "b2", "non-member gets the newest untargeted release");
    is_int(check("app=demo&platform=android&channel=beta&binary_version=1.0.0&device=someone&release=b1"), 200,
           "upgrade from b1");
    is_str(hdr("X-HotPatch-Mandatory"), "0", "not mandatory once b1 is installed");
    is_int(check("app=demo&platform=android&channel=beta&binary_version=1.0.0&device=someone&release=b4"), 200,
           "device on a rolled-back release");
    is_str(hdr("X-HotPatch-Decision"), "update", "moves to an older eligible release");
    is_str(hdr("X-HotPatch-Release"), "b2", "... b2");
    is_int(check("app=demo&platform=android&channel=beta&binary_version=1.0.0&device=someone&release=b4&skip=b1,b2"),
           200, "rolled back with everything else skipped");
    is_str(hdr("X-HotPatch-Decision"), "rollback", "rollback to the embedded bundle");
    ok(hdr("X-HotPatch-Release") == NULL, "no release header on rollback");

    /* telemetry tickets: every offer carries one for (release, device) once a ticket key is set */
    is_int(check("app=demo&platform=android&channel=beta&binary_version=1.0.0&device=tester-1"), 200, "offer");
    is_str(ticket_of("b3", "tester-1", "beta"), "", "no ticket key: no ticket");
    CFG.ticket_key = &K; /* the test's key: verified below with its public half */
    CFG.ticket_ttl_s = 600;
    is_int(check("app=demo&platform=android&channel=beta&binary_version=1.0.0&device=tester-1"), 200, "offer again");
    is_str(ticket_of("b3", "tester-1", "beta"), "valid",
           "the offer carries a ticket for b3 and tester-1 (beta, android, 600 s)");
    is_str(ticket_of("b2", "tester-1", "beta"), "wrong_claim", "not valid for another release");
    is_str(ticket_of("b3", "tester-2", "beta"), "wrong_claim", "nor for another device");
    is_int(check("app=demo&platform=android&channel=beta&binary_version=1.0.0&device=someone&release=b4&skip=b1,b2"),
           200, "rollback answer");
    is_str(ticket_of("b4", "someone", "beta"), "", "a rollback offers nothing: no ticket");
    is_int(req("GET", "/update/check", "appId=demo&platform=android&channel=beta&binaryVersion=1.0.0&deviceId=someone",
               NULL, NULL),
           200, "/update/check offer");
    is_str(ticket_of("b2", "someone", "beta"), "valid", "the seed dialect's offer carries a ticket too");
    CFG.ticket_key = NULL;

    /* errors */
    is_int(check("app=demo&platform=android&channel=old&binary_version=1.0.0&device=x"), 503, "expired manifest: 503");
    ok(strstr(body, "manifest_expired") != NULL, "expired reason");
    is_int(check("app=demo&platform=android&channel=nope&binary_version=1.0.0&device=x"), 404, "unknown channel");
    is_int(check("app=demo&platform=android&binary_version=1.0.0&device=x"), 400, "missing channel");
    ok(strstr(body, "missing parameter 'channel'") != NULL, "reason names the parameter: %s", body);
    json_t *j = jbody();
    ok(json_is_string(json_object_get(json_object_get(j, "error"), "message")),
       "400 body is JSON {error:{code,message}}");
    json_decref(j);
    is_int(check("app=demo&platform=android&channel=production&binary_version=banana&device=x"), 400, "bad version");
    is_int(check("app=demo&platform=android&channel=production&binary_version=1.0.0"), 400, "missing device");
    is_int(check("app=de/mo&platform=android&channel=production&binary_version=1.0.0&device=x"), 400, "bad app id");
    is_int(check("app=demo&app=demo&platform=android&channel=production&binary_version=1.0.0&device=x"), 400,
           "duplicate parameter");
    is_int(check("app=demo&platform=android&channel=production&binary_version=1.0.0&device=%zz"), 400, "bad escape");
    is_int(check("app=demo&platform=android&channel=production&binary_version=1.0.0&device=a%00b"), 400, "NUL escape");
    is_int(check("app=demo&platform=android&channel=production&binary_version=1.0.0&device=a%09b"), 400,
           "control character in device");
    {
        char big[1200];
        int k = snprintf(big, sizeof(big), "app=demo&platform=android&channel=production&binary_version=1.0.0&device=");
        memset(big + k, 'd', 600);
        big[k + 600] = '\0';
        is_int(check(big), 400, "oversized device id");
    }
    is_int(check("app=demo&platform=android&channel=production&binary_version=1.0.0&device=x&skip=a,,b"), 400,
           "empty skip entry");
    {
        char sq[4096];
        int k = snprintf(sq, sizeof(sq),
                         "app=demo&platform=android&channel=production&binary_version=2.4.1&device=%s&skip=", din);
        for (int i = 0; i < 64; i++)
            k += snprintf(sq + k, sizeof(sq) - (size_t)k, "%srelease-%012d", i ? "," : "", i);
        is_int(check(sq), 200, "64 skipped ids (20 characters each) accepted");
        snprintf(sq + k, sizeof(sq) - (size_t)k, ",one-more");
        is_int(check(sq), 400, "65 skipped ids refused");
    }
    is_int(req("POST", "/v1/check", "", NULL, NULL), 405, "POST /v1/check");
    is_str(hdr("Allow"), "GET, HEAD", "Allow header");
    is_int(req("GET", "/nope", NULL, NULL, NULL), 404, "unknown path");
    is_int(req("HEAD", "/v1/check", "app=demo&platform=android&channel=beta&binary_version=1.0.0&device=tester-2", NULL,
               NULL),
           200, "HEAD works");
    ok(RS->head_only, "HEAD marks the response head-only");

    /* seed endpoints */
    is_int(req("GET", "/update/check",
               "appId=demo&platform=android&channel=beta&deviceId=tester-1&binaryVersion=1.0.0&currentVersion=2.0.0",
               NULL, NULL),
           200, "/update/check");
    j = jbody();
    ok(json_is_true(json_object_get(j, "updateAvailable")), "updateAvailable true");
    is_str(json_string_value(json_object_get(j, "version")), "2.2.0", "version label of b3 (current 2.0.0 = b1)");
    is_str(json_string_value(json_object_get(j, "bundleUrl")),
           "https://cdn.example.com/ota/bundles/demo/android/abc.zip", "bundleUrl joined with --public-base");
    ok(json_is_false(json_object_get(j, "mandatory")), "not mandatory from b1");
    is_int(json_integer_value(json_object_get(j, "size")), 777, "size");
    is_str(json_string_value(json_object_get(j, "signature")), SIG, "signature");
    ok(json_string_value(json_object_get(j, "hash")) && strlen(json_string_value(json_object_get(j, "hash"))) == 64,
       "hash");
    json_decref(j);
    is_int(req("GET", "/update/check",
               "appId=demo&platform=android&deviceId=d&binaryVersion=1.0.0&currentVersion=rel-a", NULL, NULL),
           200, "/update/check defaults to production");
    is_str(body, "{\"updateAvailable\":false}", "no update: the seed's short answer");
    is_int(req("GET", "/update/check", "appId=demo&platform=android&deviceId=d", NULL, NULL), 400,
           "/update/check without binaryVersion");
    /* seed 000/001 verbatim: `version` is the current version, binaryVersion optional, versions only move forward */
    is_int(req("GET", "/update/check", "appId=demo&deviceId=someone&version=2.0.0&platform=android&channel=beta", NULL,
               NULL),
           200, "seed request: version, no binaryVersion");
    j = jbody();
    is_str(json_string_value(json_object_get(j, "version")), "2.1.0", "on 2.0.0 (b1): offered 2.1.0");
    ok(json_is_false(json_object_get(j, "mandatory")), "b1 installed: not mandatory");
    json_decref(j);
    is_int(req("GET", "/update/check", "appId=demo&deviceId=someone&version=2.1.0&platform=android&channel=beta", NULL,
               NULL),
           200, "on 2.1.0");
    is_str(body, "{\"updateAvailable\":false}", "the version the device runs is not offered again (no loop)");
    is_int(req("GET", "/update/check", "appId=demo&deviceId=someone&version=2.9.0&platform=android&channel=beta", NULL,
               NULL),
           200, "on 2.9.0 (a native build no release names)");
    is_str(body, "{\"updateAvailable\":false}", "never an older version");
    is_int(req("GET", "/update/check", "appId=demo&deviceId=someone&version=2.3.0&platform=android&channel=beta", NULL,
               NULL),
           200, "on 2.3.0 = b4, rolled back");
    j = jbody();
    is_str(json_string_value(json_object_get(j, "version")), "2.1.0",
           "off a withdrawn release to the older good one: the one older offer allowed");
    json_decref(j);
    is_int(req("GET", "/update/check",
               "appId=demo&deviceId=someone&version=2.0.0&currentVersion=2.1.0&platform=android&channel=beta", NULL,
               NULL),
           200, "currentVersion (older spelling) wins over version");
    is_str(body, "{\"updateAvailable\":false}", "current 2.1.0");
    is_int(req("GET", "/update/check", "appId=demo&deviceId=someone&version=latest&platform=android", NULL, NULL), 400,
           "a version that is not a version");
    ok(strstr(body, "'version'") != NULL, "named: %s", body);
    is_int(req("GET", "/api/firmware/check", "device_id=x&current_version=1.0.0", NULL, NULL), 400,
           "firmware: neither app nor device_model");
    ok(strstr(body, "'device_model'") != NULL, "named: %s", body);
    is_int(req("GET", "/api/firmware/check", "device_id=x&device_model=nrf52&current_version=1.0.0", NULL, NULL), 404,
           "firmware: a model without a channel (nrf52/firmware/production)");
    is_int(req("GET", "/api/firmware/check", "device_id=x&device_model=a%20b&current_version=1.0.0", NULL, NULL), 400,
           "firmware: a model that is not an id");

    is_int(req("GET", "/api/firmware/check",
               "device_id=tester-2&app=demo&platform=android&channel=beta&current_version=2.1.0&hw_version=1.0", NULL,
               NULL),
           200, "/api/firmware/check");
    j = jbody();
    ok(json_is_true(json_object_get(j, "update_available")), "update_available");
    is_str(json_string_value(json_object_get(j, "latest_version")), "2.2.0", "latest_version");
    is_str(json_string_value(json_object_get(j, "current_version")), "2.1.0", "current_version echoed");
    is_int(json_integer_value(json_object_get(j, "file_size")), 777, "file_size");
    ok(json_string_value(json_object_get(j, "download_url")) != NULL, "download_url");
    ok(json_string_value(json_object_get(j, "checksum_sha256")) != NULL, "checksum_sha256");
    is_str(json_string_value(json_object_get(j, "release_notes")), "", "release_notes");
    json_decref(j);
    is_int(req("GET", "/api/firmware/check",
               "device_id=tester-2&app=demo&platform=android&channel=production&current_version=1.0.0&hw_version=2.5.0",
               NULL, NULL),
           200, "firmware in-range hw");
    j = jbody();
    ok(json_is_boolean(json_object_get(j, "update_available")), "boolean answer");
    json_decref(j);

    /* manifests endpoint */
    is_int(req("GET", "/v1/manifests/demo/android/production.json", NULL, NULL, NULL), 200, "manifest served");
    char etag[128];
    snprintf(etag, sizeof(etag), "%s", hdr("ETag") ? hdr("ETag") : "");
    is_str(hdr("Cache-Control"), "public, max-age=30", "manifest cache header");
    ok(strstr(body, "\"payload\"") != NULL, "envelope body");
    is_int(req("GET", "/v1/manifests/demo/android/production.json", NULL, NULL, etag), 304, "If-None-Match -> 304");
    ok(RS->body_len == 0 || RS->status == 304, "304 sends no body");
    char list[256];
    snprintf(list, sizeof(list), "\"x\", W/%s", etag);
    is_int(req("GET", "/v1/manifests/demo/android/production.json", NULL, NULL, list), 304, "weak match in a list");
    is_int(req("GET", "/v1/manifests/demo/android/production.json", NULL, NULL, "\"other\""), 200, "other etag: 200");
    is_int(req("GET", "/v1/manifests/demo/android/nope.json", NULL, NULL, NULL), 404, "unknown manifest");
    is_int(req("GET", "/v1/manifests/demo/android/production.txt", NULL, NULL, NULL), 404, "wrong suffix");
    is_int(req("GET", "/v1/manifests/../../etc/passwd.json", NULL, NULL, NULL), 404, "traversal-looking path");
    is_int(req("GET", "/v1/manifests/a.json", NULL, NULL, NULL), 404, "short path");

    /* sync */
    is_int(req("POST", "/v1/sync", NULL, NULL, NULL), 401, "sync without token");
    is_int(req("POST", "/v1/sync", NULL, "Bearer wrong", NULL), 401, "sync with a wrong token");
    is_int(req("POST", "/v1/sync", NULL, "Bearer s3cret-token-longer", NULL), 401, "sync with a longer token");
    is_int(triggered, 0, "nothing triggered yet");
    is_int(req("POST", "/v1/sync", NULL, "bearer s3cret-token", NULL), 202, "sync with the token");
    is_int(triggered, 1, "trigger called once");
    ok(strstr(body, "\"pass\":42") != NULL, "answer names the pass to wait for");
    is_int(req("GET", "/v1/sync", NULL, "Bearer s3cret-token", NULL), 405, "GET /v1/sync");
    CFG.sync_token = NULL;
    is_int(req("POST", "/v1/sync", NULL, "Bearer s3cret-token", NULL), 403, "sync disabled without a token");

    /* health + metrics */
    is_int(req("GET", "/healthz", NULL, NULL, NULL), 200, "healthz");
    j = jbody();
    is_int(json_integer_value(json_object_get(j, "manifests")), 3, "healthz counts manifests");
    ok(json_is_object(json_object_get(j, "last_sync")), "healthz has last_sync");
    ok(json_is_integer(json_object_get(j, "index_age_s")), "healthz has index_age_s");
    json_decref(j);
    is_int(req("GET", "/metrics", NULL, NULL, NULL), 200, "metrics");
    ok(strstr(body, "hotpatch_edge_checks_total{outcome=\"update\"}") != NULL, "checks by outcome");
    ok(strstr(body, "hotpatch_edge_request_duration_seconds_bucket") != NULL, "latency histogram");
    ok(strstr(body, "hotpatch_edge_sync_failures_total") != NULL, "sync failures");
    ok(strstr(body, "hotpatch_edge_checks_total{outcome=\"bad_request\"} 0") == NULL, "bad requests were counted");
    ok(strstr(body, "hotpatch_edge_root_version") == NULL, "no root gauges without --root");

    /* the roots of trust the sync thread recorded (main.c record_roots), on /healthz and /metrics */
    is_int(req("GET", "/healthz", NULL, NULL, NULL), 200, "healthz");
    j = jbody();
    ok(json_is_array(json_object_get(j, "roots")) && json_array_size(json_object_get(j, "roots")) == 0,
       "healthz without --root: roots []");
    json_decref(j);
    ss.n_roots = 2;
    snprintf(ss.roots[0].app, sizeof(ss.roots[0].app), "demo");
    ss.roots[0].version = 5;
    ss.roots[0].expires_at = 4000000000LL;
    snprintf(ss.roots[1].app, sizeof(ss.roots[1].app), "old");
    ss.roots[1].version = 2;
    ss.roots[1].expires_at = 1700000000;
    is_int(req("GET", "/healthz", NULL, NULL, NULL), 200, "healthz with two roots");
    j = jbody();
    json_t *jr = json_object_get(j, "roots");
    is_int((long long)json_array_size(jr), 2, "healthz lists both roots");
    is_str(json_string_value(json_object_get(json_array_get(jr, 0), "app")), "demo", "root 0: app");
    is_int(json_integer_value(json_object_get(json_array_get(jr, 0), "version")), 5, "root 0: version");
    is_int(json_integer_value(json_object_get(json_array_get(jr, 0), "expires_at")), 4000000000LL, "root 0: expiry");
    ok(json_is_false(json_object_get(json_array_get(jr, 0), "expired")), "root 0: current");
    is_int(json_integer_value(json_object_get(json_array_get(jr, 1), "version")), 2, "root 1: version");
    ok(json_is_true(json_object_get(json_array_get(jr, 1), "expired")), "root 1: expired");
    json_decref(j);
    is_int(req("GET", "/metrics", NULL, NULL, NULL), 200, "metrics with two roots");
    ok(strstr(body, "hotpatch_edge_root_version{app=\"demo\"} 5\n") != NULL, "root version gauge");
    ok(strstr(body, "hotpatch_edge_root_version{app=\"old\"} 2\n") != NULL, "... per app");
    ok(strstr(body, "hotpatch_edge_root_expires_at_seconds{app=\"demo\"} 4000000000\n") != NULL, "root expiry gauge");
    ss.n_roots = 0;

    /* seed 002 update-status: which channel a report is about (the relay posts to a closed port: best effort) */
    is_int(status_post("esp32_001", "{\"firmware_version\":\"1.1.0\",\"status\":\"success\"}"), 503,
           "update-status without a relay: 503");
    struct edge_relay_opts ro = {.base_url = "http://127.0.0.1:1", .rate_per_s = 1000};
    is_int(edge_relay_start(&CFG.relay, &ro, &eb), CMN_OK, "relay started");
    ok(edge_model_add(&CFG, "prod=demo/android") == 0 && edge_model_add(&CFG, "beta=demo/android/beta") == 0,
       "two models: prod (demo/android/production) and beta (demo/android/beta)");
    is_int(status_post("esp32_001", "{\"firmware_version\":\"1.1.0\",\"status\":\"success\"}"), 202,
           "version only in prod's channel: 202 without device_model");
    is_str(body, "{\"status\":\"accepted\",\"queued\":true}", "queued");
    is_int(status_post("esp32_001", "{\"firmware_version\":\"2.1.0\",\"status\":\"downloading\"}"), 202,
           "version only in beta's channel: 202");
    is_int(status_post("esp32_001", "{\"firmware_version\":\"9.9.9\",\"status\":\"failed\"}"), 404,
           "a version in no configured channel: 404");
    ok(strstr(body, "device_model") != NULL, "the reason says what to add: %s", body);
    is_int(status_post("esp32_001", "{\"firmware_version\":\"1.1.0\",\"status\":\"failed\",\"device_model\":\"beta\"}"),
           404, "device_model given: only its channel counts");
    ok(strstr(body, "demo/android/beta") != NULL, "the reason names the channel: %s", body);
    is_int(status_post("esp32_001", "{\"firmware_version\":\"1.1.0\",\"status\":\"failed\",\"device_model\":\"nrf\"}"),
           404, "an unconfigured model: its conventional channel does not exist");
    ok(edge_model_add(&CFG, "beta2=demo/android/beta") == 0, "a third model on the beta channel");
    is_int(status_post("esp32_001", "{\"firmware_version\":\"2.1.0\",\"status\":\"success\"}"), 400,
           "a version in two models' channels: 400");
    ok(strstr(body, "several") != NULL, "ambiguous: %s", body);
    is_int(
        status_post("esp32_001", "{\"firmware_version\":\"2.1.0\",\"status\":\"success\",\"device_model\":\"beta2\"}"),
        202, "device_model settles it");
    is_int(status_post(".x", "{\"firmware_version\":\"2.1.0\",\"status\":\"success\"}"), 400, "bad device id");
    is_int(req("GET", "/metrics", NULL, NULL, NULL), 200, "metrics");
    ok(strstr(body, "hotpatch_edge_relay_reports_total{result=\"queued\"} 3") != NULL, "3 reports queued: %s",
       strstr(body, "hotpatch_edge_relay_reports_total") ? strstr(body, "hotpatch_edge_relay_reports_total") : "none");

    /* CodePush report_status (codepush.c): the key names the channel, the signed manifest must list its hash */
    {
        char key[CMN_CODEPUSH_KEY_MAX + 1], key2[CMN_CODEPUSH_KEY_MAX + 1], kh[CMN_SHA256_HEX], js[1024];
        ok(cmn_codepush_key_new("demo", "android", "cp", key) == CMN_OK &&
               cmn_codepush_key_new("demo", "android", "cp", key2) == CMN_OK,
           "two deployment keys for demo/android/cp");
        cmn_codepush_key_hash(key, strlen(key), kh);
        m = cmn_manifest_new("demo", "android", "cp");
        m->sequence = 2;
        m->issued_at = 1700000000;
        m->expires_at = 4000000000LL;
        ok(cmn_manifest_codepush_key_add(m, kh) == CMN_OK, "the first key listed, the second not");
        rel(&r, "c1", "1.0.1", "*", 10000);
        ok(cmn_manifest_add_release(m, &r) == CMN_OK, "c1");
        rel(&r, "c2", "1.0.2", "*", 10000);
        r.state = CMN_REL_ROLLED_BACK;
        ok(cmn_manifest_add_release(m, &r) == CMN_OK && store(m), "stored demo/android/cp (c2 rolled back)");
        cmn_manifest_free(m);
#define CPB(k, extra)                                                                                                  \
    (snprintf(js, sizeof(js), "{\"deployment_key\":\"%s\",\"client_unique_id\":\"dev-1\"%s}", k, extra), js)
        is_int(cp_post("deploy",
                       CPB(key, ",\"app_version\":\"1.0\",\"label\":\"1.0.1\",\"status\":\"DeploymentSucceeded\"")),
               202, "deploy DeploymentSucceeded: 202");
        is_str(body, "{\"status\":\"accepted\",\"queued\":true}", "queued for the publisher");
        is_int(cp_post("deploy", CPB(key, ",\"label\":\"1.0.2\",\"status\":\"DeploymentFailed\","
                                          "\"previous_label_or_app_version\":\"1.0.1\"")),
               202, "DeploymentFailed about a rolled-back release: still news, 202");
        is_int(cp_post("download", CPB(key, ",\"label\":\"1.0.1\"")), 202, "download report: 202");
        is_int(cp_post("deploy", CPB(key, ",\"app_version\":\"1.0\"")), 200,
               "deploy of the binary (no label, no status): 200");
        is_str(body, "{\"status\":\"ok\",\"recorded\":false}", "... nothing recorded");
        is_int(cp_post("deploy", CPB(key2, ",\"label\":\"1.0.1\",\"status\":\"DeploymentSucceeded\"")), 404,
               "a key of our form the manifest does not list: 404");
        ok(strstr(body, "unknown deployment key") != NULL, "... says so: %s", body);
        is_int(cp_post("deploy", CPB("demo~android~nochan~0123456789abcdef0123456789abcdef",
                                     ",\"label\":\"1.0.1\",\"status\":\"DeploymentSucceeded\"")),
               404, "a key for a channel that does not exist: 404");
        is_int(cp_post("deploy", CPB(key, ",\"label\":\"9.9.9\",\"status\":\"DeploymentSucceeded\"")), 404,
               "a label the channel never carried: 404");
        ok(strstr(body, "no release labelled '9.9.9'") != NULL, "... named: %s", body);
        is_int(cp_post("deploy", CPB(key, ",\"label\":\"1.0.1\",\"status\":\"Installed\"")), 400,
               "an unknown status: 400");
        ok(strstr(body, "DeploymentSucceeded") != NULL, "... lists the two: %s", body);
        is_int(cp_post("deploy", CPB(key, ",\"label\":\"1.0.1\"")), 400, "a package without a status: 400");
        is_int(cp_post("deploy", CPB(key, ",\"status\":\"DeploymentFailed\"")), 400, "a status without a label: 400");
        is_int(cp_post("download", CPB(key, "")), 400, "a download without a label: 400");
        is_int(cp_post("deploy", "{\"deployment_key\":\"not-a-key\",\"client_unique_id\":\"d\"}"), 400,
               "a malformed key: 400");
        ok(strstr(body, "not a HotPatch deployment key") != NULL, "... says so: %s", body);
        snprintf(js, sizeof(js), "{\"deployment_key\":\"%s\",\"label\":\"1.0.1\",\"status\":\"DeploymentSucceeded\"}",
                 key);
        is_int(cp_post("deploy", js), 400, "no client_unique_id: 400");
        ok(strstr(body, "client_unique_id") != NULL, "... named: %s", body);
        is_int(cp_post("deploy", "[]"), 400, "not an object: 400");
        is_int(cp_post("deploy", "{\"deployment_key\":1}"), 400, "a key that is not a string: 400");
        is_int(post("POST", "/v0.1/public/codepush/report_status/deploy", "{}", "text/plain", 0), 415,
               "text/plain: 415");
        is_int(post("POST", "/v0.1/public/codepush/report_status/deploy", NULL, "application/json", 1), 413,
               "a body over the cap: 413");
        ok(strstr(body, "body_too_large") != NULL, "... a JSON error: %s", body);
        is_int(post("GET", "/v0.1/public/codepush/report_status/download", NULL, NULL, 0), 405, "GET: 405");
        is_str(hdr("Allow"), "POST", "Allow: POST");
        is_int(post("POST", "/v0.1/public/codepush/report_status/other", "{}", "application/json", 0), 404,
               "another report path: 404");
#undef CPB
    }
    edge_relay_stop(CFG.relay);
    CFG.relay = NULL;
    {
        char js[512];
        char key[CMN_CODEPUSH_KEY_MAX + 1];
        ok(cmn_codepush_key_new("demo", "android", "cp", key) == CMN_OK, "a key");
        snprintf(js, sizeof(js), "{\"deployment_key\":\"%s\",\"client_unique_id\":\"d\",\"label\":\"1.0.1\"}", key);
        is_int(cp_post("download", js), 503, "report_status without a relay: 503");
        ok(strstr(body, "--publisher-url") != NULL, "... says how to configure it: %s", body);
    }
    {
        /* the rate limit: a relay allowing 1 report a second (burst 1) */
        struct edge_relay_opts ro1 = {.base_url = "http://127.0.0.1:1", .rate_per_s = 1, .burst = 1};
        is_int(edge_relay_start(&CFG.relay, &ro1, &eb), CMN_OK, "a strict relay");
        int got429 = 0;
        for (int i = 0; i < 5; i++)
            got429 += cp_post("download", "{}") == 429;
        ok(got429 >= 3, "reports past the rate: 429 (%d of 5)", got429);
        ok(hdr("Retry-After") != NULL, "with Retry-After");
        edge_relay_stop(CFG.relay);
        CFG.relay = NULL;
    }

    edge_ctx_release(&CTX);
    free(RS);
    edge_index_close(&IX);
    return done_testing();
}
