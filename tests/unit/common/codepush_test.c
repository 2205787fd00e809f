/*
 * codepush_test - common/codepush.c: the CodePush package hash (against
 * values from two independent readings of react-native-code-push's
 * algorithm: acquisition.js's hashDir in Node, and Python's json.dumps), the
 * ignore rule, deployment keys, and the manifest's codepush_hash /
 * codepush_keys members (render, open, validate, add/remove).
 */
#include "common/compat.h"

#include <sys/stat.h>

#include "../../lib/test.h"
#include "common/codepush.h"
#include "common/file.h"
#include "common/manifest.h"

static void put(const char *dir, const char *rel, const char *text)
{
    char p[1024], d[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    snprintf(d, sizeof(d), "%s", p);
    for (char *s = d + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(d, 0755);
        *s = '/';
    }
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static struct cmn_manifest *manifest(struct cmn_key *k, char sig[CMN_SIG_B64])
{
    struct cmn_manifest *m = cmn_manifest_new("demo", "android", "production");
    struct cmn_release r;
    memset(&r, 0, sizeof(r));
    m->sequence = 1;
    m->issued_at = 1700000000;
    m->expires_at = 1800000000;
    r.id = "rel-1";
    r.version = "1.0.1";
    r.target_binary = "1.0.x";
    r.bundle_url = "bundles/x.zip";
    memset(r.sha256, 'c', 64);
    r.size = 10;
    r.bundle_sig = sig;
    memcpy(r.bundle_keyid, k->keyid, sizeof(r.bundle_keyid));
    r.rollout_bp = 10000;
    r.created_at = 1700000000;
    memset(r.codepush_hash, 'a', 64);
    if (cmn_manifest_add_release(m, &r) != CMN_OK) {
        cmn_manifest_free(m);
        return NULL;
    }
    return m;
}

int main(void)
{
    char dir[512], out[CMN_SHA256_HEX];
    struct cmn_errbuf eb = {{0}};

    /* --- package hash --- */
    snprintf(dir, sizeof(dir), "%s/cp1", test_tmpdir());
    mkdir(dir, 0755);
    put(dir, "CodePush/index.android.bundle", "hi\n");
    put(dir, "CodePush/a/b.png", "img\n");
    put(dir, ".DS_Store", "");
    ok(cmn_codepush_hash_dir(dir, out, &eb) == CMN_OK, "hash a dir");
    is_str(out, "53ab3a5cc378c02838e95f4900c1fa1dc70d866159f4bf16c1946c7b05294153",
           "package hash = acquisition.js hashDir (Node) of the same tree");
    put(dir, "__MACOSX/CodePush/._x", "junk");
    put(dir, "CodePush/.codepushrelease", "jwt");
    put(dir, "CodePush/a/.DS_Store", "x");
    ok(cmn_codepush_hash_dir(dir, out, &eb) == CMN_OK, "hash again");
    is_str(out, "53ab3a5cc378c02838e95f4900c1fa1dc70d866159f4bf16c1946c7b05294153",
           "__MACOSX/, .DS_Store and .codepushrelease at any depth do not count");
    put(dir, "CodePush/a/c.png", "more");
    ok(cmn_codepush_hash_dir(dir, out, &eb) == CMN_OK &&
           strcmp(out, "53ab3a5cc378c02838e95f4900c1fa1dc70d866159f4bf16c1946c7b05294153") != 0,
       "another file changes the hash");

    snprintf(dir, sizeof(dir), "%s/cp2", test_tmpdir());
    mkdir(dir, 0755);
    put(dir, "a", "1");
    put(dir, "a.b", "2");
    put(dir, "d/q\"x", "3");
    ok(cmn_codepush_hash_dir(dir, out, &eb) == CMN_OK, "hash the ordering tree");
    is_str(out, "8429550b3f1cd03a1387e708ef69f3848dd49fca5ca2bbc911ca11ed78960eb9",
           "entries sorted as \"path:hash\" strings (a.b before a), '\"' escaped (Python json.dumps)");
    struct cmn_content empty = {NULL, 0};
    ok(cmn_codepush_hash(&empty, out) == CMN_OK, "empty listing");
    is_str(out, "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945", "empty: SHA-256 of \"[]\"");

    ok(cmn_codepush_ignored("__MACOSX/a") && cmn_codepush_ignored(".DS_Store") &&
           cmn_codepush_ignored("x/y/.codepushrelease"),
       "ignored paths");
    ok(!cmn_codepush_ignored("x__MACOSX/a") && !cmn_codepush_ignored("a.DS_Store") &&
           !cmn_codepush_ignored("CodePush/index.android.bundle"),
       "look-alikes are hashed");

    /* --- deployment keys --- */
    char key[CMN_CODEPUSH_KEY_MAX + 1], a[CMN_ID_MAX + 1], p[CMN_ID_MAX + 1], c[CMN_ID_MAX + 1];
    ok(cmn_codepush_key_new("demo", "android", "production", key) == CMN_OK, "new key");
    is_int(strlen(key), strlen("demo~android~production~") + CMN_CODEPUSH_KEY_RANDOM, "key length");
    ok(cmn_codepush_key_parse(key, strlen(key), a, p, c) == 0 && !strcmp(a, "demo") && !strcmp(p, "android") &&
           !strcmp(c, "production"),
       "a new key parses to its channel");
    char key2[CMN_CODEPUSH_KEY_MAX + 1];
    ok(cmn_codepush_key_new("demo", "android", "production", key2) == CMN_OK && strcmp(key, key2) != 0,
       "two keys differ");
    ok(cmn_codepush_key_new("de mo", "android", "production", key2) == CMN_E_INVAL, "invalid app refused");
    static const char *const bad[] = {
        "demo~android~production",
        "demo~android~production~",
        "demo~android~production~0123456789abcdef0123456789abcde",
        "demo~android~production~0123456789abcdef0123456789abcdef0",
        "demo~android~production~0123456789ABCDEF0123456789abcdef",
        ".demo~android~production~0123456789abcdef0123456789abcdef",
        "demo~~production~0123456789abcdef0123456789abcdef",
        "demo~android~prod~uction~0123456789abcdef0123456789abcdef",
        "demo/android/production/0123456789abcdef0123456789abcdef",
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++)
        ok(cmn_codepush_key_parse(bad[i], strlen(bad[i]), a, p, c) == -1, "refused key '%s'", bad[i]);
    ok(cmn_codepush_key_parse("demo~android~production~0123456789abcdef0123456789abcdef\0", 57, a, p, c) == -1,
       "a NUL inside the key is refused");
    cmn_codepush_key_hash("abc", 3, out);
    is_str(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "key hash is SHA-256 hex");

    /* --- manifest members --- */
    struct cmn_key k;
    char sig[CMN_SIG_B64];
    uint8_t dg[32] = {1};
    if (cmn_crypto_init() || cmn_key_generate(&k) || cmn_bundle_sign(&k, dg, sig))
        return 1;
    struct cmn_manifest *m = manifest(&k, sig), *o = NULL;
    char h1[CMN_SHA256_HEX], h2[CMN_SHA256_HEX];
    memset(h1, 'b', 64), h1[64] = '\0';
    memset(h2, '1', 64), h2[64] = '\0';
    ok(m && cmn_manifest_codepush_key_add(m, h1) == CMN_OK && cmn_manifest_codepush_key_add(m, h2) == CMN_OK,
       "add two key hashes");
    is_int(cmn_manifest_codepush_key_add(m, h1), CMN_E_EXISTS, "adding one twice: exists");
    is_int(cmn_manifest_codepush_key_add(m, "ABC"), CMN_E_INVAL, "a malformed hash: invalid");
    ok(m->n_codepush_keys == 2 && strcmp(m->codepush_keys[0], h2) == 0, "kept sorted");
    struct cmn_buf env;
    cmn_buf_init(&env, CMN_MANIFEST_MAX_BYTES);
    struct cmn_keyring ring = {&k, 1};
    ok(cmn_manifest_seal(m, &k, &env, &eb) == CMN_OK, "seal with both members");
    ok(strstr(env.ptr, "\\\"codepush_keys\\\":[\\\"1111") && strstr(env.ptr, "\\\"codepush_hash\\\":\\\"aaaa"),
       "rendered in the signed payload");
    ok(cmn_manifest_open(env.ptr, env.len, &ring, NULL, 1750000000, 0, &o, &eb) == CMN_OK, "opens: %s", eb.msg);
    ok(o && o->n_codepush_keys == 2 && !strcmp(o->codepush_keys[1], h1) && o->releases[0].codepush_hash[0] == 'a',
       "parsed back");
    ok(o && cmn_manifest_codepush_key_find(o, h1) == 1 && cmn_manifest_codepush_key_find(o, "x") == -1, "find");
    cmn_manifest_free(o);
    o = NULL;
    memcpy(m->codepush_keys[0], h1, CMN_SHA256_HEX);
    memcpy(m->codepush_keys[1], h2, CMN_SHA256_HEX);
    eb.msg[0] = '\0';
    ok(cmn_manifest_validate(m, &eb) == CMN_E_PARSE && strstr(eb.msg, "sorted"), "unsorted keys refused: %s", eb.msg);
    memcpy(m->codepush_keys[0], h2, CMN_SHA256_HEX);
    memcpy(m->codepush_keys[1], h1, CMN_SHA256_HEX);
    m->releases[0].codepush_hash[3] = 'A';
    eb.msg[0] = '\0';
    ok(cmn_manifest_validate(m, &eb) == CMN_E_PARSE && strstr(eb.msg, "codepush_hash"),
       "upper-case package hash refused: %s", eb.msg);
    m->releases[0].codepush_hash[3] = 'a';
    ok(cmn_manifest_codepush_key_remove(m, h1) == CMN_OK && cmn_manifest_codepush_key_remove(m, h1) == CMN_E_NOTFOUND,
       "remove, then not found");
    ok(cmn_manifest_codepush_key_remove(m, h2) == CMN_OK && m->codepush_keys == NULL && m->n_codepush_keys == 0,
       "removing the last one makes the member absent");
    env.len = 0;
    ok(cmn_manifest_seal(m, &k, &env, &eb) == CMN_OK && !strstr(env.ptr, "codepush_keys"), "absent: not rendered");
    /* an empty list in a signed payload is refused (absent is the only way to say "none") */
    {
        static const char pl[] =
            "{\"app\":\"demo\",\"channel\":\"production\",\"codepush_keys\":[],\"expires_at\":1800000000,"
            "\"issued_at\":1700000000,\"platform\":\"android\",\"releases\":[],\"schema\":1,\"sequence\":1}";
        uint8_t s[CMN_SIG_BYTES];
        char s64[CMN_SIG_B64], doc[1024];
        if (cmn_sign(&k, CMN_SIGCTX_MANIFEST, pl, strlen(pl), s))
            return 1;
        cmn_base64_encode(s, sizeof(s), s64);
        char esc[512];
        size_t j = 0;
        for (const char *q = pl; *q; q++) {
            if (*q == '"')
                esc[j++] = '\\';
            esc[j++] = *q;
        }
        esc[j] = '\0';
        snprintf(doc, sizeof(doc),
                 "{\"payload\":\"%s\",\"payload_type\":\"" CMN_MANIFEST_PAYLOAD_TYPE
                 "\",\"signatures\":[{\"keyid\":\"%s\",\"sig\":\"%s\"}]}",
                 esc, k.keyid, s64);
        eb.msg[0] = '\0';
        is_int(cmn_manifest_open(doc, strlen(doc), &ring, NULL, 1750000000, 0, &o, &eb), CMN_E_PARSE,
               "signed payload with an empty codepush_keys: refused (%s)", eb.msg);
        cmn_manifest_free(o);
    }
    cmn_buf_release(&env);
    cmn_manifest_free(m);
    cmn_key_clear(&k);
    return done_testing();
}
