/*
 * codepush_keys_test.c - CodePush deployment keys and the CodePush package
 * hash in publisher mode (issue 13, publisher/h_codepush.c, migration 0134),
 * against the real publisher + Postgres + file:// storage over loopback.
 *
 * A key is returned once and never stored (checked in every table that could
 * hold it: codepush_keys and audit_events); its SHA-256 (recomputed here with
 * plain libsodium) is what the channel's signed manifest lists in
 * codepush_keys, re-published on every add and revoke; releases carry their
 * uploaded codepush_hash in the manifest only while the channel has keys.
 * Bad input on every new route: roles (403/401), malformed JSON, unknown
 * fields, bad identifiers, unknown app (404), duplicates (409), the per
 * channel cap, and an upload with a malformed codepush_hash: each refused
 * with a JSON error, and nothing changes.
 */
#include "common/compat.h"

#include <sodium.h>

#include "../../lib/rawzip.h"
#include "../../lib/test.h"
#include "pub_itest.h"

static struct it_pub P;
static struct it_world W;
static char READ_KEY[128];

static void sha_hex(const char *s, char out[65])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, 65, d, sizeof(d));
}

static long long sql_int(const char *fmt, const char *arg)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), fmt, arg);
    return it_sql_int(P.dburl, sql);
}

static const char *err_code(json_t *o)
{
    return it_jstr(o, "error.code") ? it_jstr(o, "error.code") : "(none)";
}

/* The stored manifest's codepush_keys as "h1,h2", "" when absent, "(unverifiable)" when it does not open. */
static void stored_keys(const char *channel, char *out, size_t cap, struct cmn_manifest **keep)
{
    struct cmn_errbuf eb = {0};
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "android", channel, &eb);
    out[0] = '\0';
    if (!m) {
        snprintf(out, cap, "(unverifiable: %s)", eb.msg);
        return;
    }
    for (size_t i = 0; i < m->n_codepush_keys; i++) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", i ? "," : "", m->codepush_keys[i]);
    }
    if (keep)
        *keep = m;
    else
        cmn_manifest_free(m);
}

static long add_key(const char *token, const char *body, json_t **out)
{
    return it_call(&P, "POST", "/v1/apps/demo/deployment-keys", token, body, out);
}

/*
 * A real bundle zip (a JS bundle, an asset, and a .DS_Store the CodePush
 * client leaves out of its hash) and its CodePush package hash, computed
 * here from the client's definition (SHA-256 of the sorted JSON array of
 * "path:sha256-of-file"), independently of common/codepush.c.
 */
static const struct raw_entry ZIP_FILES[] = {
    {"index.android.bundle", "var a = 1; // the JS bundle", 0, 0, 0},
    {"assets/logo.png", "\x89PNG not really", 0, 0, 0},
    {".DS_Store", "finder junk", 0, 0, 0},
};

/* A signed bundle of raw zip entries e[0..n) (names of nl[i] bytes when nl is given). */
static void raw_bundle(struct it_bundle *b, const struct raw_entry *e, size_t n, const size_t *nl)
{
    struct cmn_buf z;
    raw_zip_n(&z, e, n, nl);
    memset(b, 0, sizeof(*b));
    b->len = z.len;
    b->data = malloc(z.len);
    memcpy(b->data, z.ptr, z.len);
    cmn_buf_release(&z);
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256(b->data, b->len, d);
    cmn_hex_encode(d, sizeof(d), b->sha);
    if (cmn_bundle_sign(&W.rkey, d, b->sig))
        b->sig[0] = '\0';
}

static void zip_bundle(struct it_bundle *b, char cp_hash[CMN_SHA256_HEX])
{
    uint8_t d[CMN_SHA256_BYTES];
    raw_bundle(b, ZIP_FILES, CMN_ARRAY_SIZE(ZIP_FILES), NULL);
    char fa[CMN_SHA256_HEX], fb[CMN_SHA256_HEX], list[512];
    cmn_sha256(ZIP_FILES[1].data, strlen(ZIP_FILES[1].data), d); /* "assets/..." sorts first */
    cmn_hex_encode(d, sizeof(d), fa);
    cmn_sha256(ZIP_FILES[0].data, strlen(ZIP_FILES[0].data), d);
    cmn_hex_encode(d, sizeof(d), fb);
    snprintf(list, sizeof(list), "[\"assets/logo.png:%s\",\"index.android.bundle:%s\"]", fa, fb);
    cmn_sha256(list, strlen(list), d);
    cmn_hex_encode(d, sizeof(d), cp_hash);
}

static void test_upload_hash(char cp_hash[CMN_SHA256_HEX])
{
    struct it_bundle b;
    json_t *o = NULL;
    zip_bundle(&b, cp_hash);
    long long before = it_sql_int(P.dburl, "SELECT count(*) FROM releases");
    char extra[128];
    /* upper case, short, not hex, wrong type: each refused before anything is stored */
    const char *bad[] = {",\"codepush_hash\":\"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789\"",
                         ",\"codepush_hash\":\"abc\"",
                         ",\"codepush_hash\":\"zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
                         ",\"codepush_hash\":42"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        char *meta = it_meta("demo", "android", "production", "1.0.0", &b, &W.rkey, bad[i]);
        long st = it_post_release(&P, W.app_key, meta, &b, &o);
        is_int(st, 400, "upload with a malformed codepush_hash (%zu): 400", i);
        ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), "codepush_hash"),
           "... the error names codepush_hash");
        json_decref(o);
        o = NULL;
        free(meta);
    }
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM releases"), before, "... and no release was stored");
    /* well-formed but not the zip's: the publisher recomputes it from the files (never the uploader's word) */
    char wrong[CMN_SHA256_HEX];
    memcpy(wrong, cp_hash, sizeof(wrong));
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    snprintf(extra, sizeof(extra), ",\"codepush_hash\":\"%s\"", wrong);
    char *wmeta = it_meta("demo", "android", "production", "1.0.0", &b, &W.rkey, extra);
    is_int(it_post_release(&P, W.app_key, wmeta, &b, &o), 400, "upload with another package's codepush_hash: 400");
    is_str(it_jstr(o, "error.code"), "codepush_hash_mismatch", "... codepush_hash_mismatch");
    ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), cp_hash),
       "... the error names the hash the files have");
    json_decref(o);
    o = NULL;
    free(wmeta);
    struct it_bundle nz;
    it_bundle_make(&nz, 3000, 1, &W.rkey);
    snprintf(extra, sizeof(extra), ",\"codepush_hash\":\"%s\"", cp_hash);
    wmeta = it_meta("demo", "android", "production", "1.0.0", &nz, &W.rkey, extra);
    is_int(it_post_release(&P, W.app_key, wmeta, &nz, &o), 400, "a codepush_hash on a bundle that is no zip: 400");
    is_str(it_jstr(o, "error.code"), "bad_bundle", "... bad_bundle");
    json_decref(o);
    o = NULL;
    free(wmeta);
    it_bundle_free(&nz);
    /* zips the SDK would refuse to install, refused at upload by the same check (common/zipcheck.c) */
    static const struct raw_entry nul[] = {{"index.android.bundle", "var a = 1;", 0, 0, 0},
                                           {"assets/a\0b.png", "png", 0, 0, 0}};
    static const size_t nul_nl[] = {20, 14};
    static const struct raw_entry bomb[] = {{"index.android.bundle", "0123456789", 0, 0, -(8 << 20)}};
    const struct {
        const char *what, *says;
        const struct raw_entry *e;
        size_t n;
        const size_t *nl;
    } refused[] = {{"a NUL byte in an entry name", "NUL byte", nul, 2, nul_nl},
                   {"a zip bomb (declared ratio over the cap)", "zip bomb", bomb, 1, NULL}};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(refused); i++) {
        raw_bundle(&nz, refused[i].e, refused[i].n, refused[i].nl);
        wmeta = it_meta("demo", "android", "production", "1.0.0", &nz, &W.rkey, extra);
        is_int(it_post_release(&P, W.app_key, wmeta, &nz, &o), 400, "a bundle with %s: 400", refused[i].what);
        is_str(it_jstr(o, "error.code"), "bad_bundle", "... bad_bundle");
        ok(it_jstr(o, "error.message") && strstr(it_jstr(o, "error.message"), refused[i].says),
           "... the message says '%s' (%s)", refused[i].says, it_jstr(o, "error.message"));
        json_decref(o);
        o = NULL;
        free(wmeta);
        it_bundle_free(&nz);
    }
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM releases"), before, "... and still no release was stored");
    snprintf(extra, sizeof(extra), ",\"codepush_hash\":\"%s\"", cp_hash);
    char *meta = it_meta("demo", "android", "production", "1.0.0", &b, &W.rkey, extra);
    is_int(it_post_release(&P, W.app_key, meta, &b, &o), 201, "upload with a codepush_hash: 201");
    is_str(it_jstr(o, "release.codepush_hash"), cp_hash, "... the release answer carries it");
    const char *rid = it_jstr(o, "release.id");
    is_int(sql_int("SELECT count(*) FROM releases WHERE codepush_hash = '%s'", cp_hash), 1,
           "... stored with the release");
    char path[128];
    json_t *g = NULL;
    snprintf(path, sizeof(path), "/v1/releases/%s", rid ? rid : "x");
    is_int(it_call(&P, "GET", path, READ_KEY, NULL, &g), 200, "GET the release");
    is_str(it_jstr(g, "release.codepush_hash"), cp_hash, "... shows codepush_hash");
    json_decref(g);
    json_decref(o);
    free(meta);
    /* without the member (older CLIs): stored as NULL */
    struct it_bundle b2;
    it_bundle_make(&b2, 2000, 2, &W.rkey);
    meta = it_meta("demo", "android", "production", "1.0.1", &b2, &W.rkey, NULL);
    is_int(it_post_release(&P, W.app_key, meta, &b2, NULL), 201, "upload without a codepush_hash: 201");
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM releases WHERE version = '1.0.1' AND codepush_hash IS NULL"), 1,
           "... stored without one");
    free(meta);
    struct cmn_manifest *m = NULL;
    char keys[256];
    stored_keys("production", keys, sizeof(keys), &m);
    is_str(keys, "", "no deployment key yet: the manifest has no codepush_keys");
    ok(m && m->n_releases == 2 && !m->releases[0].codepush_hash[0] && !m->releases[1].codepush_hash[0],
       "... and its releases no codepush_hash (SDKs predating SPEC section 16 would refuse them)");
    cmn_manifest_free(m);
    it_bundle_free(&b);
    it_bundle_free(&b2);
}

static void test_keys(const char *cp_hash)
{
    json_t *o = NULL;
    char h1[65], h2[65], h3[65], keys[1024], want[300], k1[200], k2[200], path[256];
    struct cmn_manifest *m = NULL;
    int64_t seq0 = 0;
    stored_keys("production", keys, sizeof(keys), &m);
    seq0 = m ? (int64_t)m->sequence : 0;
    cmn_manifest_free(m);
    m = NULL;

    /* add, by the app's write key */
    is_int(add_key(W.app_key, "{\"platform\":\"android\",\"channel\":\"production\",\"name\":\"store build\"}", &o),
           201, "POST deployment-keys with the write role: 201");
    snprintf(k1, sizeof(k1), "%s", it_jstr(o, "deployment_key.key") ? it_jstr(o, "deployment_key.key") : "");
    size_t kl = strlen(k1);
    ok(kl == strlen("demo~android~production~") + 32 && !strncmp(k1, "demo~android~production~", 24) &&
           strspn(k1 + 24, "0123456789abcdef") == 32,
       "the key names its channel and has 32 random hex (%s)", k1);
    sha_hex(k1, h1);
    is_str(it_jstr(o, "deployment_key.sha256"), h1, "sha256 = SHA-256 of the key (recomputed with libsodium)");
    is_str(it_jstr(o, "deployment_key.last4"), kl > 4 ? k1 + kl - 4 : "?", "last4 = the key's last 4 characters");
    ok(json_is_true(json_object_get(json_object_get(o, "manifest"), "published")), "the manifest was re-published");
    long long pubseq = it_jint(o, "manifest.published_sequence");
    json_decref(o);
    is_int(sql_int("SELECT count(*) FROM codepush_keys WHERE key_sha256 = '%s' AND revoked_at IS NULL", h1), 1,
           "the hash is stored");
    is_int(sql_int("SELECT count(*) FROM codepush_keys c WHERE strpos(row_to_json(c)::text, '%s') > 0", k1 + 24), 0,
           "no row of codepush_keys holds the key's random part");
    is_int(sql_int("SELECT count(*) FROM audit_events a WHERE strpos(row_to_json(a)::text, '%s') > 0", k1 + 24), 0,
           "... nor does the audit log");
    is_int(sql_int("SELECT count(*) FROM audit_events WHERE action = 'deployment_key.create' AND detail->>'sha256' = "
                   "'%s'",
                   h1),
           1, "audit event deployment_key.create names the hash");
    stored_keys("production", keys, sizeof(keys), &m);
    is_str(keys, h1, "the stored, verified manifest lists the key's hash in codepush_keys");
    ok(m && (int64_t)m->sequence > seq0 && (long long)m->sequence == pubseq,
       "... with a higher sequence, the one the answer reported");
    ok(m && m->n_releases == 2 && !strcmp(m->releases[0].codepush_hash, cp_hash) && !m->releases[1].codepush_hash[0],
       "the release uploaded before the key now carries its codepush_hash; the one without stays without");
    cmn_manifest_free(m);
    m = NULL;

    /* a second key: the list stays sorted */
    is_int(add_key(W.owner, "{\"platform\":\"android\",\"channel\":\"production\"}", &o), 201, "a second key (owner)");
    snprintf(k2, sizeof(k2), "%s", it_jstr(o, "deployment_key.key") ? it_jstr(o, "deployment_key.key") : "");
    long long id2 = it_jint(o, "deployment_key.id");
    json_decref(o);
    sha_hex(k2, h2);
    snprintf(want, sizeof(want), "%s,%s", strcmp(h1, h2) < 0 ? h1 : h2, strcmp(h1, h2) < 0 ? h2 : h1);
    stored_keys("production", keys, sizeof(keys), NULL);
    is_str(keys, want, "both hashes listed, sorted");

    /* list, with the read role */
    is_int(it_call(&P, "GET", "/v1/apps/demo/deployment-keys", READ_KEY, NULL, &o), 200, "GET with the read role");
    json_t *arr = json_object_get(o, "deployment_keys");
    is_int((long long)json_array_size(arr), 2, "two keys listed");
    json_t *e0 = json_array_get(arr, 0);
    is_str(it_jstr(e0, "sha256"), h1, "... oldest first, by hash");
    is_str(it_jstr(e0, "name"), "store build", "... with its name");
    ok(it_jint(e0, "id") > 0 && it_jint(e0, "created_at") > 0 && it_jstr(e0, "last4") && it_jstr(e0, "created_by"),
       "... id, last4, created_at, created_by");
    ok(!json_object_get(e0, "key"), "... and never the key");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/apps/demo/deployment-keys?platform=android&channel=beta", READ_KEY, NULL, &o), 200,
           "GET filtered to another channel");
    is_int((long long)json_array_size(json_object_get(o, "deployment_keys")), 0, "... lists none");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/apps/demo/deployment-keys?channel=a%20b", READ_KEY, NULL, &o), 400,
           "GET with a bad channel filter: 400");
    json_decref(o);

    /* bad input: each refused, nothing stored */
    long long n_before = it_sql_int(P.dburl, "SELECT count(*) FROM codepush_keys");
    long long a_before = it_sql_int(P.dburl, "SELECT count(*) FROM audit_events");
    struct {
        const char *token, *path, *body;
        long want;
        const char *code, *what;
    } bad[] = {
        {READ_KEY, "/v1/apps/demo/deployment-keys", "{\"platform\":\"android\",\"channel\":\"production\"}", 403,
         "forbidden", "read role adds"},
        {NULL, "/v1/apps/demo/deployment-keys", "{\"platform\":\"android\",\"channel\":\"production\"}", 401, NULL,
         "no credentials"},
        {W.app_key, "/v1/apps/demo/deployment-keys", "{\"platform\":\"android\",", 400, "bad_json", "malformed JSON"},
        {W.app_key, "/v1/apps/demo/deployment-keys", "[1,2]", 400, "bad_json", "JSON that is not an object"},
        {W.app_key, "/v1/apps/demo/deployment-keys", "{\"platform\":\"android\"}", 400, "bad_request",
         "missing channel"},
        {W.app_key, "/v1/apps/demo/deployment-keys", "{\"platform\":\"android\",\"channel\":\"p\",\"color\":1}", 400,
         "bad_request", "unknown field"},
        {W.app_key, "/v1/apps/demo/deployment-keys", "{\"platform\":\"and roid\",\"channel\":\"production\"}", 400,
         "bad_request", "bad platform"},
        {W.app_key, "/v1/apps/demo/deployment-keys", "{\"platform\":\"android\",\"channel\":\"..~x\"}", 400,
         "bad_request", "channel with a '~'"},
        {W.app_key, "/v1/apps/demo/deployment-keys", "{\"platform\":\"android\",\"channel\":7}", 400, "bad_request",
         "channel not a string"},
        {W.owner, "/v1/apps/nope/deployment-keys", "{\"platform\":\"android\",\"channel\":\"production\"}", 404,
         "not_found", "unknown app"},
        {W.app_key, "/v1/apps/demo/deployment-keys",
         "{\"platform\":\"android\",\"channel\":\"production\",\"key\":\"demo~android~beta~"
         "0123456789abcdef0123456789abcdef\"}",
         400, "bad_request", "import a key of another channel"},
        {W.app_key, "/v1/apps/demo/deployment-keys",
         "{\"platform\":\"android\",\"channel\":\"production\",\"key\":\"demo~android~production~XYZ\"}", 400,
         "bad_request", "import a malformed key"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        o = NULL;
        long st = it_call(&P, "POST", bad[i].path, bad[i].token, bad[i].body, &o);
        is_int(st, bad[i].want, "POST, %s: %ld", bad[i].what, bad[i].want);
        if (bad[i].code)
            is_str(err_code(o), bad[i].code, "... error code %s", bad[i].code);
        else
            ok(it_jstr(o, "error.message") != NULL, "... a JSON error");
        json_decref(o);
    }
    is_int(it_call(&P, "GET", "/v1/apps/nope/deployment-keys", W.owner, NULL, &o), 404, "GET, unknown app: 404");
    json_decref(o);
    is_int(it_call(&P, "DELETE", "/v1/apps/nope/deployment-keys/1", W.owner, NULL, &o), 404,
           "DELETE, unknown app: 404");
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/apps/demo/deployment-keys/%s", h1);
    is_int(it_call(&P, "DELETE", path, READ_KEY, NULL, &o), 403, "DELETE with the read role: 403");
    json_decref(o);
    is_int(it_call(&P, "DELETE", "/v1/apps/demo/deployment-keys/zz", W.app_key, NULL, &o), 400,
           "DELETE naming neither an id nor a SHA-256: 400");
    json_decref(o);
    is_int(it_call(&P, "DELETE", path, W.app_key, "{\"channel\":", &o), 400, "DELETE with malformed JSON: 400");
    json_decref(o);
    is_int(it_call(&P, "DELETE", path, W.app_key, "{\"platform\":\"android\",\"channel\":\"beta\"}", &o), 404,
           "DELETE naming another channel than the key's: 404");
    json_decref(o);
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM codepush_keys"), n_before, "no key stored by the refusals");
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM audit_events"), a_before, "no audit event written by them");
    stored_keys("production", keys, sizeof(keys), NULL);
    is_str(keys, want, "the manifest still lists both keys");

    /* import (adopt a key apps already ship), then a duplicate */
    char k3[128], body[400];
    snprintf(k3, sizeof(k3), "demo~android~production~%s", "00112233445566778899aabbccddeeff");
    sha_hex(k3, h3);
    snprintf(body, sizeof(body), "{\"platform\":\"android\",\"channel\":\"production\",\"key\":\"%s\"}", k3);
    is_int(add_key(W.app_key, body, &o), 201, "import a key apps already ship: 201");
    is_str(it_jstr(o, "deployment_key.sha256"), h3, "... its hash");
    json_decref(o);
    is_int(add_key(W.app_key, body, &o), 409, "import it again: 409");
    is_str(err_code(o), "conflict", "... conflict");
    json_decref(o);
    is_int(sql_int("SELECT count(*) FROM audit_events WHERE action = 'deployment_key.import' AND detail->>'sha256' = "
                   "'%s'",
                   h3),
           1, "audit event deployment_key.import");
    stored_keys("production", keys, sizeof(keys), NULL);
    ok(strstr(keys, h3) != NULL, "the imported key is listed in the manifest");

    /* revoke: by SHA-256 (on the right channel), by id */
    is_int(it_call(&P, "DELETE", path, W.app_key, "{\"platform\":\"android\",\"channel\":\"production\"}", &o), 200,
           "DELETE by SHA-256: 200");
    ok(json_is_true(json_object_get(json_object_get(o, "deployment_key"), "revoked")), "... revoked");
    json_decref(o);
    stored_keys("production", keys, sizeof(keys), NULL);
    ok(!strstr(keys, h1) && strstr(keys, h2) && strstr(keys, h3), "the manifest no longer lists it, the others stay");
    is_int(it_call(&P, "DELETE", path, W.app_key, NULL, &o), 404, "revoking it again: 404");
    json_decref(o);
    snprintf(body, sizeof(body), "{\"platform\":\"android\",\"channel\":\"production\",\"key\":\"%s\"}", k1);
    is_int(add_key(W.app_key, body, &o), 409, "a revoked key cannot be imported back: 409");
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/apps/demo/deployment-keys/%lld", id2);
    is_int(it_call(&P, "DELETE", path, W.app_key, NULL, &o), 200, "DELETE by id: 200");
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/apps/demo/deployment-keys/%s", h3);
    is_int(it_call(&P, "DELETE", path, W.app_key, NULL, &o), 200, "DELETE the last key");
    json_decref(o);
    is_int(sql_int("SELECT count(*) FROM audit_events WHERE action = 'deployment_key.revoke' AND app_id IS NOT NULL%s",
                   ""),
           3, "three audit events deployment_key.revoke");
    stored_keys("production", keys, sizeof(keys), &m);
    is_str(keys, "", "no key left: the manifest has no codepush_keys member");
    ok(m && m->n_releases == 2 && !m->releases[0].codepush_hash[0],
       "... and its releases no codepush_hash again (SPEC section 16: only on channels with keys)");
    cmn_manifest_free(m);
}

/* A channel carries at most CMN_MANIFEST_MAX_CODEPUSH_KEYS; a key may start a channel with no release. */
static void test_cap(void)
{
    json_t *o = NULL;
    int made = 0;
    for (int i = 0; i < CMN_MANIFEST_MAX_CODEPUSH_KEYS; i++) {
        if (add_key(W.app_key, "{\"platform\":\"android\",\"channel\":\"many\"}", NULL) == 201)
            made++;
    }
    is_int(made, CMN_MANIFEST_MAX_CODEPUSH_KEYS, "%d keys on a channel with no release", made);
    is_int(add_key(W.app_key, "{\"platform\":\"android\",\"channel\":\"many\"}", &o), 409, "one more: 409");
    is_str(err_code(o), "too_many_keys", "... too_many_keys");
    json_decref(o);
    char keys[CMN_MANIFEST_MAX_CODEPUSH_KEYS * 66];
    struct cmn_manifest *m = NULL;
    stored_keys("many", keys, sizeof(keys), &m);
    ok(m && m->n_codepush_keys == CMN_MANIFEST_MAX_CODEPUSH_KEYS && m->n_releases == 0,
       "the channel's manifest lists all %d and no release", CMN_MANIFEST_MAX_CODEPUSH_KEYS);
    cmn_manifest_free(m);
}

/* A promoted release keeps its codepush_hash; a retired channel stays retired when a key is added. */
static void test_promote_retire(const char *cp_hash)
{
    json_t *o = NULL;
    char rid[64] = "", path[200];
    char *v = it_sql(P.dburl, "SELECT id FROM releases WHERE version = '1.0.0' AND channel = 'production'");
    snprintf(rid, sizeof(rid), "%s", v ? v : "x");
    free(v);
    snprintf(path, sizeof(path), "/v1/releases/%s/promote", rid);
    is_int(it_call(&P, "POST", path, W.app_key, "{\"to_channel\":\"beta\"}", &o), 201, "promote 1.0.0 to beta");
    is_str(it_jstr(o, "release.codepush_hash"), cp_hash, "... the promoted release keeps its codepush_hash");
    json_decref(o);
    is_int(add_key(W.app_key, "{\"platform\":\"android\",\"channel\":\"beta\"}", &o), 201, "a key on beta");
    json_decref(o);
    struct cmn_manifest *m = NULL;
    char keys[256];
    stored_keys("beta", keys, sizeof(keys), &m);
    ok(m && m->n_releases == 1 && !strcmp(m->releases[0].codepush_hash, cp_hash),
       "beta's manifest lists the promoted release with its codepush_hash");
    cmn_manifest_free(m);
    m = NULL;
    is_int(it_call(&P, "POST", "/v1/apps/demo/channels/android/beta/retire", W.app_key, "{}", NULL), 200,
           "retire beta");
    is_int(add_key(W.app_key, "{\"platform\":\"android\",\"channel\":\"beta\"}", &o), 201,
           "a key added to the retired channel is stored");
    json_decref(o);
    struct cmn_errbuf eb = {0};
    m = it_stored_manifest(&P, "demo", "android", "beta", &eb);
    ok(m && m->retired && m->n_codepush_keys == 0 && m->n_releases == 0,
       "... but the channel stays retired: its tombstone lists nothing");
    cmn_manifest_free(m);
}

int main(void)
{
    if (!getenv("HP_TEST_PG_URL")) {
        test_skip(1, "HP_TEST_PG_URL not set (run through make test)");
        return done_testing();
    }
    if (cmn_crypto_init() || sodium_init() < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    json_t *o = NULL;
    if (it_pub_setup(&P, "cpkeys", 0) || it_pub_start(&P, NULL) || it_world_setup(&P, "demo", &W) ||
        it_call(&P, "POST", "/v1/apps/demo/api-keys", W.owner, "{\"role\":\"read\"}", &o) != 201 ||
        !it_jstr(o, "api_key")) {
        ok(0, "publisher + org + app + release key + read key");
        it_log_tail(&P);
        json_decref(o);
        return done_testing();
    }
    snprintf(READ_KEY, sizeof(READ_KEY), "%s", it_jstr(o, "api_key"));
    json_decref(o);
    ok(1, "publisher + org + app + release key + read key");
    char cp_hash[CMN_SHA256_HEX];
    test_upload_hash(cp_hash);
    test_keys(cp_hash);
    test_cap();
    test_promote_retire(cp_hash);
    it_pub_stop(&P);
    return done_testing();
}
