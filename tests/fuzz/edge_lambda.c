/*
 * edge_lambda.c - fuzz target for Lambda mode's event mapping
 * (edge-check/lambda.c edge_lambda_invoke): an arbitrary API Gateway /
 * Function URL event (JSON) goes through the mapping and the real request
 * handlers against a small LMDB index created once in a temp directory (one
 * signed channel, demo/android/production). The answer must be a JSON object
 * with a statusCode; malformed events must fail cleanly.
 */
#include "common/compat.h"

#include <jansson.h>
#include <unistd.h>

#include "../../edge-check/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct edge_index ix;
static struct edge_config cfg;
static struct edge_ctx ctx;
static struct edge_resp *rs;
static int ready;

static void cleanup(void)
{
    char p[128];
    edge_ctx_release(&ctx);
    edge_index_close(&ix);
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int setup(void)
{
    struct cmn_key k;
    struct cmn_errbuf eb = {{0}};
    char sig[CMN_SIG_B64];
    uint8_t dg[32] = {3};
    snprintf(dir, sizeof(dir), "/tmp/hp-edge-fuzz-XXXXXX");
    if (!mkdtemp(dir) || cmn_crypto_init() || cmn_key_generate(&k) || cmn_bundle_sign(&k, dg, sig))
        return -1;
    if (edge_index_open(&ix, dir, 16 << 20, &eb))
        return -1;
    atexit(cleanup);
    struct cmn_manifest *m = cmn_manifest_new("demo", "android", "production");
    struct cmn_release r;
    memset(&r, 0, sizeof(r));
    r.id = "r1";
    r.version = "1.0.0";
    r.target_binary = "*";
    r.bundle_url = "bundles/x.zip";
    memset(r.sha256, 'a', 64);
    r.size = 1;
    r.bundle_sig = sig;
    memcpy(r.bundle_keyid, k.keyid, sizeof(r.bundle_keyid));
    r.rollout_bp = 5000;
    m->sequence = 1;
    m->issued_at = 1700000000;
    m->expires_at = 4000000000LL;
    struct cmn_buf env, rec;
    cmn_buf_init(&env, 1 << 20);
    cmn_buf_init(&rec, 1 << 22);
    if (cmn_manifest_add_release(m, &r) || cmn_manifest_seal(m, &k, &env, &eb) ||
        edge_rec_compile(m, env.ptr, env.len, 0, &rec))
        return -1;
    MDB_txn *t;
    MDB_val key = {strlen("demo/android/production"), "demo/android/production"}, val = {rec.len, rec.ptr};
    if (mdb_txn_begin(ix.env, NULL, 0, &t) || mdb_put(t, ix.manifests, &key, &val, 0) || mdb_txn_commit(t))
        return -1;
    cmn_manifest_free(m);
    cmn_buf_release(&env);
    cmn_buf_release(&rec);
    cmn_key_clear(&k);
    cfg.poll_ms = 5000;
    cfg.sync_token = "tok";
    rs = malloc(sizeof(*rs));
    if (!rs || edge_ctx_init(&ctx, &cfg, &ix, NULL))
        return -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (setup())
            abort();
        ready = 1;
    }
    struct cmn_buf out;
    struct cmn_errbuf eb = {{0}};
    cmn_buf_init(&out, 8 << 20);
    if (edge_lambda_invoke(&ctx, (const char *)data, size, rs, &out, &eb) == CMN_OK) {
        json_t *j = json_loadb(out.ptr, out.len, 0, NULL);
        if (!j || !json_is_integer(json_object_get(j, "statusCode")))
            abort();
        json_decref(j);
    }
    cmn_buf_release(&out);
    return 0;
}
