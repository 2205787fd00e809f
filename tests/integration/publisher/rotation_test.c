/*
 * rotation_test.c - manifest key rotation in the publisher. With
 * HOTPATCH_MANIFEST_KEY_NEXT set, every manifest carries a signature by both
 * keys, so devices trusting the old key and devices trusting only the new
 * key accept it. After the switch (the new key primary, the old one gone)
 * the next publish is signed by the new key only, and continues the sequence
 * from the co-signed manifest already in storage.
 */
#include "../../lib/test.h"
#include "pub_itest.h"

static struct it_pub P;
static struct it_world W;

/* Open the stored manifest trusting only `k`; the sequence in *seq on success. */
static enum cmn_err open_with(const struct cmn_key *k, uint64_t *seq)
{
    struct cmn_storage *st = NULL;
    struct cmn_errbuf eb = {{0}};
    if (cmn_storage_open(P.storage, NULL, &st, &eb))
        return CMN_E_IO;
    char key[CMN_STORAGE_KEY_MAX];
    struct cmn_buf doc;
    cmn_buf_init(&doc, CMN_MANIFEST_MAX_BYTES);
    enum cmn_err rc = cmn_storage_manifest_key("demo", "android", "production", key, sizeof(key));
    if (!rc)
        rc = cmn_storage_get(st, key, NULL, &doc, NULL, &eb);
    if (!rc) {
        struct cmn_keyring kr = {k, 1};
        struct cmn_manifest *m = NULL;
        rc = cmn_manifest_open(doc.ptr, doc.len, &kr, NULL, (int64_t)time(NULL), 0, &m, &eb);
        if (!rc && seq)
            *seq = m->sequence;
        cmn_manifest_free(m);
    }
    cmn_buf_release(&doc);
    cmn_storage_free(st);
    return rc;
}

static long release(const char *version, uint32_t seed)
{
    struct it_bundle b;
    it_bundle_make(&b, 5000, seed, &W.rkey);
    char *meta = it_meta("demo", "android", "production", version, &b, &W.rkey, NULL);
    long st = it_post_release(&P, W.app_key, meta, &b, NULL);
    free(meta);
    it_bundle_free(&b);
    return st;
}

int main(void)
{
    if (!getenv("HP_TEST_PG_URL")) {
        test_skip(1, "needs HP_TEST_PG_URL (run through make test)");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct cmn_key next, stranger;
    char next_path[1100], env_next[1200], env_primary[1200];
    if (it_pub_setup(&P, "rot", 0) || cmn_key_generate(&next) || cmn_key_generate(&stranger)) {
        ok(0, "setup");
        return done_testing();
    }
    snprintf(next_path, sizeof(next_path), "%s/manifest-next.key", test_tmpdir());
    if (cmn_key_save_secret(&next, next_path, 1, NULL)) {
        ok(0, "save the next key");
        return done_testing();
    }
    snprintf(env_next, sizeof(env_next), "HOTPATCH_MANIFEST_KEY_NEXT=%s", next_path);
    const char *env1[] = {env_next, NULL};
    if (it_pub_start(&P, env1) || it_world_setup(&P, "demo", &W)) {
        ok(0, "publisher with two manifest keys + org + app");
        it_log_tail(&P);
        return done_testing();
    }
    ok(1, "publisher up, co-signing with the next key");
    is_int(release("1.0.0", 7), 201, "release 1.0.0");
    uint64_t s1 = 0, s_any = 0;
    is_int(open_with(&P.key, &s1), CMN_OK, "a device trusting the old key accepts the manifest");
    is_int(open_with(&next, &s_any), CMN_OK, "a device trusting only the new key accepts it too");
    is_int(s_any, s1, "same manifest for both");
    is_int(open_with(&stranger, NULL), CMN_E_UNKNOWN_KEY, "a device trusting neither refuses it");
    it_pub_stop(&P);
    it_pub_wait_exit(&P, 10000);

    /* Rotation done: the new key is the only one. */
    snprintf(env_primary, sizeof(env_primary), "HOTPATCH_MANIFEST_KEY=%s", next_path);
    const char *env2[] = {env_primary, NULL};
    if (!ok(it_pub_start(&P, env2) == 0, "publisher restarted with the new key only")) {
        it_log_tail(&P);
        return done_testing();
    }
    is_int(release("1.1.0", 8), 201, "release 1.1.0 after the switch");
    uint64_t s2 = 0;
    is_int(open_with(&next, &s2), CMN_OK, "the new manifest verifies with the new key");
    ok(s2 > s1, "sequence continues (%llu > %llu)", (unsigned long long)s2, (unsigned long long)s1);
    is_int(open_with(&P.key, NULL), CMN_E_UNKNOWN_KEY, "the old key no longer signs");
    it_pub_stop(&P);
    it_pub_wait_exit(&P, 10000);
    cmn_key_clear(&next);
    cmn_key_clear(&stranger);
    return done_testing();
}
