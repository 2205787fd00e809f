/* Unit tests for common/manifest.c: build + seal + open round trip, every
 * validation rule with its message, envelope strictness, signature and
 * keyring handling, expect / expiry / replay checks, and that the parsed
 * bytes are the verified bytes (hand-signed payload variants). */
#include "common/compat.h"

#include "common/cjson.h"
#include "common/manifest.h"
#include "../../lib/test.h"

static struct cmn_key K, K2;
static char SIG[CMN_SIG_B64];

static void base_release(struct cmn_release *r, const char *id)
{
    memset(r, 0, sizeof(*r));
    r->id = (char *)id;
    r->version = "1.0.0";
    r->target_binary = "^2.0.0";
    r->bundle_url = "bundles/app/abc.zip";
    memset(r->sha256, 'a', 64);
    r->size = 1234;
    r->bundle_sig = SIG;
    memcpy(r->bundle_keyid, K.keyid, sizeof(r->bundle_keyid));
    r->rollout_bp = 10000;
    r->state = CMN_REL_ACTIVE;
    r->created_at = 1700000000;
}

static struct cmn_manifest *base_manifest(void)
{
    struct cmn_manifest *m = cmn_manifest_new("demo", "ios", "production");
    m->sequence = 7;
    m->issued_at = 1700000000;
    m->expires_at = 1800000000;
    struct cmn_release r;
    base_release(&r, "r1");
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    base_release(&r, "r2");
    r.notes = "line 1\nline \"2\" \xc3\xa9";
    static char *ids[] = {"dev-a", "dev-b", "dev-c"};
    r.device_ids = ids;
    r.n_device_ids = 3;
    r.device_list = "beta-testers";
    r.mandatory = 1;
    r.rollout_bp = 2500;
    r.state = CMN_REL_HALTED;
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    return m;
}

/* Envelope around arbitrary payload text, signed by `key` (test helper). */
static char *envelope(const char *payload, size_t plen, const struct cmn_key *key, const char *keyid)
{
    uint8_t sig[64];
    char s64[CMN_SIG_B64];
    if (cmn_sign(key, CMN_SIGCTX_MANIFEST, payload, plen, sig))
        return NULL;
    cmn_base64_encode(sig, 64, s64);
    json_t *e = json_pack("{s:s%,s:s,s:[{s:s,s:s}]}", "payload", payload, plen, "payload_type",
                          CMN_MANIFEST_PAYLOAD_TYPE, "signatures", "keyid", keyid ? keyid : key->keyid, "sig", s64);
    struct cmn_buf b;
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES * 2);
    if (!e || cmn_cjson_render(e, &b)) {
        json_decref(e);
        return NULL;
    }
    json_decref(e);
    return cmn_buf_take(&b, NULL);
}

static enum cmn_err open_doc(const char *doc, const struct cmn_manifest_expect *ex, int64_t now, unsigned flags,
                             struct cmn_errbuf *eb)
{
    struct cmn_keyring kr = {&K, 1};
    struct cmn_manifest *m = NULL;
    if (eb)
        memset(eb, 0, sizeof(*eb));
    enum cmn_err rc = cmn_manifest_open(doc, strlen(doc), &kr, ex, now, flags, &m, eb);
    if (rc == CMN_OK && !m)
        rc = CMN_E__COUNT;
    cmn_manifest_free(m);
    return rc;
}

/* Render m's payload, apply a textual substitution, re-sign, open. */
static enum cmn_err open_edited(const struct cmn_manifest *m, const char *from, const char *to, struct cmn_errbuf *eb)
{
    struct cmn_buf p;
    cmn_buf_init(&p, 1 << 20);
    if (cmn_manifest_render_payload(m, &p, NULL))
        return CMN_E__COUNT;
    char *at = strstr(p.ptr, from);
    if (!at) {
        cmn_buf_release(&p);
        return CMN_E__COUNT;
    }
    struct cmn_buf q;
    cmn_buf_init(&q, 1 << 20);
    int bad =
        cmn_buf_add(&q, p.ptr, (size_t)(at - p.ptr)) || cmn_buf_addstr(&q, to) || cmn_buf_addstr(&q, at + strlen(from));
    cmn_buf_release(&p);
    if (bad)
        return CMN_E__COUNT;
    char *doc = envelope(q.ptr, q.len, &K, NULL);
    cmn_buf_release(&q);
    enum cmn_err rc = doc ? open_doc(doc, NULL, 1750000000, 0, eb) : CMN_E__COUNT;
    free(doc);
    return rc;
}

typedef void (*mutate_fn)(struct cmn_manifest *m);
#define MUT(name, body)                                                                                                \
    static void name(struct cmn_manifest *m)                                                                           \
    {                                                                                                                  \
        body;                                                                                                          \
    }
MUT(m_app, m->app[0] = '/')
MUT(m_seq0, m->sequence = 0)
MUT(m_exp, m->expires_at = m->issued_at)
MUT(m_schema, m->schema = 2)
MUT(m_id, m->releases[0].id[0] = ' ')
MUT(m_dupid, m->releases[1].id[1] = '1')
MUT(m_sha, m->releases[0].sha256[5] = 'A')
MUT(m_size, m->releases[0].size = 0)
MUT(m_bp, m->releases[0].rollout_bp = 10001)
MUT(m_state, m->releases[0].state = (enum cmn_release_state)9)
MUT(m_range, m->releases[0].target_binary[0] = '!')
MUT(m_url1, m->releases[0].bundle_url[0] = '/')
MUT(m_keyid, m->releases[0].bundle_keyid[0] = 'G')
MUT(m_sig, m->releases[0].bundle_sig[3] = '!')
MUT(m_sorted, {
    char *t = m->releases[1].device_ids[0];
    m->releases[1].device_ids[0] = m->releases[1].device_ids[1];
    m->releases[1].device_ids[1] = t;
})
MUT(m_list, m->releases[1].device_list[0] = '!')
MUT(m_ver, m->releases[0].version[0] = '\n')
MUT(m_mand, m->releases[0].mandatory = 2)

int main(void)
{
    struct cmn_errbuf eb = {0};
    if (cmn_crypto_init() || cmn_key_generate(&K) || cmn_key_generate(&K2))
        return 1;
    uint8_t d[32] = {1};
    if (cmn_bundle_sign(&K, d, SIG))
        return 1;

    ok(strcmp(cmn_release_state_name(CMN_REL_ROLLED_BACK), "rolled_back") == 0, "state name");
    is_int(cmn_release_state_parse("halted"), CMN_REL_HALTED, "state parse");
    is_int(cmn_release_state_parse("Halted"), -1, "state parse is exact");

    struct cmn_manifest *m = base_manifest();
    ok(m != NULL, "build manifest");
    is_int(cmn_manifest_validate(m, &eb), CMN_OK, "valid manifest: %s", eb.msg);
    is_int(cmn_manifest_find(m, "r2"), 1, "find r2");
    is_int(cmn_manifest_find(m, "nope"), -1, "find missing");

    struct cmn_buf out;
    cmn_buf_init(&out, CMN_MANIFEST_MAX_BYTES);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_manifest_seal(m, &K, &out, &eb), CMN_OK, "seal: %s", eb.msg);
    ok(cmn_cjson_is_canonical(out.ptr, out.len), "sealed envelope is canonical json");

    struct cmn_keyring kr = {&K, 1};
    struct cmn_manifest *o = NULL;
    struct cmn_manifest_expect ex = {"demo", "ios", "production", 7};
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_manifest_open(out.ptr, out.len, &kr, &ex, 1750000000, 0, &o, &eb), CMN_OK, "open: %s", eb.msg);
    if (!o)
        return done_testing();
    is_str(o->signed_by, K.keyid, "signed_by is the verifying key id");
    is_int(o->sequence, 7, "sequence");
    is_int(o->n_releases, 2, "two releases");
    is_str(o->releases[1].notes, "line 1\nline \"2\" \xc3\xa9", "notes survive escaping");
    is_int(o->releases[1].n_device_ids, 3, "device ids");
    is_str(o->releases[1].device_ids[2], "dev-c", "device id order");
    is_str(o->releases[1].device_list, "beta-testers", "device list");
    is_int(o->releases[1].state, CMN_REL_HALTED, "state");
    is_int(o->releases[1].rollout_bp, 2500, "rollout");
    ok(o->releases[1].mandatory && !o->releases[0].mandatory, "mandatory flags");
    ok(o->releases[0].notes == NULL && o->releases[0].device_ids == NULL, "absent optionals are NULL");
    struct cmn_semver v;
    is_int(cmn_semver_parse("2.5.0", &v), CMN_OK, "parse 2.5.0");
    ok(cmn_semver_range_match(&o->releases[0].target, &v), "target range compiled on open");
    /* Re-seal of the opened manifest gives the same bytes (deterministic Ed25519). */
    struct cmn_buf again;
    cmn_buf_init(&again, CMN_MANIFEST_MAX_BYTES);
    is_int(cmn_manifest_seal(o, &K, &again, NULL), CMN_OK, "re-seal opened manifest");
    ok(again.len == out.len && memcmp(again.ptr, out.ptr, out.len) == 0, "seal(open(x)) == x");
    cmn_buf_release(&again);
    cmn_manifest_free(o);
    o = NULL;

    /* expect / expiry / replay */
    struct cmn_manifest_expect wrong_app = {"other", NULL, NULL, 0};
    is_int(open_doc(out.ptr, &wrong_app, 1750000000, 0, &eb), CMN_E_INVAL, "wrong app: %s", eb.msg);
    struct cmn_manifest_expect wrong_ch = {NULL, NULL, "staging", 0};
    is_int(open_doc(out.ptr, &wrong_ch, 1750000000, 0, &eb), CMN_E_INVAL, "wrong channel: %s", eb.msg);
    struct cmn_manifest_expect wrong_pf = {NULL, "android", NULL, 0};
    is_int(open_doc(out.ptr, &wrong_pf, 1750000000, 0, &eb), CMN_E_INVAL, "wrong platform");
    is_int(open_doc(out.ptr, NULL, 1800000000, 0, &eb), CMN_E_EXPIRED, "expired at expires_at: %s", eb.msg);
    is_int(open_doc(out.ptr, NULL, 1799999999, 0, &eb), CMN_OK, "one second before expiry");
    is_int(open_doc(out.ptr, NULL, 1900000000, CMN_MANIFEST_ALLOW_EXPIRED, &eb), CMN_OK, "ALLOW_EXPIRED");
    struct cmn_manifest_expect seq8 = {NULL, NULL, NULL, 8};
    is_int(open_doc(out.ptr, &seq8, 1750000000, 0, &eb), CMN_E_REPLAY, "sequence below minimum: %s", eb.msg);
    struct cmn_manifest_expect seq7 = {NULL, NULL, NULL, 7};
    is_int(open_doc(out.ptr, &seq7, 1750000000, 0, &eb), CMN_OK, "sequence equal to minimum is accepted");

    /* keyring */
    struct cmn_keyring k2 = {&K2, 1};
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_manifest_open(out.ptr, out.len, &k2, NULL, 1750000000, 0, &o, &eb), CMN_E_UNKNOWN_KEY,
           "untrusted key: %s", eb.msg);
    is_int(cmn_manifest_open(out.ptr, out.len, NULL, NULL, 1750000000, 0, &o, NULL), CMN_E_UNKNOWN_KEY, "no keyring");
    struct cmn_key both[2];
    both[0] = K2;
    both[1] = K;
    struct cmn_keyring kb = {both, 2};
    is_int(cmn_manifest_open(out.ptr, out.len, &kb, NULL, 1750000000, 0, &o, NULL), CMN_OK, "second key in ring");
    cmn_manifest_free(o);
    o = NULL;
    /* A public-only key with a stale keyid field still works: ids are derived. */
    struct cmn_key pubonly;
    memset(&pubonly, 0, sizeof(pubonly));
    memcpy(pubonly.pk, K.pk, 32);
    struct cmn_keyring kp = {&pubonly, 1};
    is_int(cmn_manifest_open(out.ptr, out.len, &kp, NULL, 1750000000, 0, &o, NULL), CMN_OK,
           "public key without keyid field");
    cmn_manifest_free(o);
    o = NULL;

    /* Tampering with the envelope bytes. */
    char *t = strdup(out.ptr);
    char *p = strstr(t, "production");
    p[0] = 'P';
    is_int(open_doc(t, NULL, 1750000000, 0, &eb), CMN_E_SIG, "payload byte changed: %s", eb.msg);
    free(t);
    struct cmn_manifest *unsigned_seq = base_manifest();
    /* Signed by K2 but claiming K's key id. */
    struct cmn_buf pl;
    cmn_buf_init(&pl, 1 << 20);
    is_int(cmn_manifest_render_payload(unsigned_seq, &pl, NULL), CMN_OK, "render payload");
    char *doc = envelope(pl.ptr, pl.len, &K2, K.keyid);
    is_int(open_doc(doc, NULL, 1750000000, 0, &eb), CMN_E_SIG, "wrong key behind a trusted key id");
    free(doc);
    doc = envelope(pl.ptr, pl.len, &K, NULL);
    is_int(open_doc(doc, NULL, 1750000000, 0, &eb), CMN_OK, "hand-built envelope opens");
    free(doc);

    /* Non-canonical payloads, correctly signed, are refused. */
    char *spaced = malloc(pl.len + 2);
    spaced[0] = ' ';
    memcpy(spaced + 1, pl.ptr, pl.len + 1);
    doc = envelope(spaced, pl.len + 1, &K, NULL);
    is_int(open_doc(doc, NULL, 1750000000, 0, &eb), CMN_E_PARSE, "leading space in payload: %s", eb.msg);
    ok(strstr(eb.msg, "canonical") != NULL, "message says canonical");
    free(doc);
    free(spaced);
    cmn_buf_release(&pl);
    cmn_manifest_free(unsigned_seq);

    /* Edited (and re-signed) payloads: unknown fields, wrong types, bad values. */
    is_int(open_edited(m, "\"app\":", "\"aa_extra\":1,\"app\":", &eb), CMN_E_PARSE, "unknown payload field: %s",
           eb.msg);
    ok(strstr(eb.msg, "'aa_extra'") != NULL, "message names the field");
    is_int(open_edited(m, "\"bundle_keyid\":", "\"aaa\":1,\"bundle_keyid\":", &eb), CMN_E_PARSE,
           "unknown release field: %s", eb.msg);
    is_int(open_edited(m, "\"device_ids\":", "\"cohort\":1,\"device_ids\":", &eb), CMN_E_PARSE,
           "unknown targeting field: %s", eb.msg);
    is_int(open_edited(m, "\"mandatory\":false", "\"mandatory\":0", &eb), CMN_E_PARSE, "mandatory as integer: %s",
           eb.msg);
    is_int(open_edited(m, "\"size\":1234", "\"size\":\"1234\"", &eb), CMN_E_PARSE, "size as string: %s", eb.msg);
    is_int(open_edited(m, "\"size\":1234", "\"size\":-1", &eb), CMN_E_PARSE, "negative size: %s", eb.msg);
    is_int(open_edited(m, "\"schema\":1", "\"schema\":2", &eb), CMN_E_UNSUPPORTED, "schema 2: %s", eb.msg);
    is_int(open_edited(m, "\"sequence\":7", "\"sequence\":0", &eb), CMN_E_PARSE, "sequence 0: %s", eb.msg);
    is_int(open_edited(m, "\"state\":\"active\"", "\"state\":\"paused\"", &eb), CMN_E_PARSE, "unknown state: %s",
           eb.msg);
    is_int(open_edited(m, "\"rollout_bp\":2500", "\"rollout_bp\":10001", &eb), CMN_E_PARSE, "rollout over 100%%: %s",
           eb.msg);
    is_int(open_edited(m, "\"bundle_url\":\"bundles/app/abc.zip\"", "\"bundle_url\":\"bundles/../../etc/passwd\"", &eb),
           CMN_E_PARSE, "bundle_url with '..': %s", eb.msg);
    is_int(open_edited(m, "\"bundle_url\":\"bundles/app/abc.zip\"", "\"bundle_url\":\"file:///etc/passwd\"", &eb),
           CMN_E_PARSE, "bundle_url with another scheme");
    is_int(open_edited(m, "\"bundle_url\":\"bundles/app/abc.zip\"", "\"bundle_url\":\"http://x/a.zip\"", &eb),
           CMN_E_PARSE, "bundle_url over plain http");
    is_int(open_edited(m, "\"bundle_url\":\"bundles/app/abc.zip\"", "\"bundle_url\":\"https://cdn.example.com/a.zip\"",
                       &eb),
           CMN_OK, "bundle_url over https: %s", eb.msg);
    is_int(open_edited(m, "\"targeting\":{", "\"targeting\":{\"x\":{", &eb), CMN_E_PARSE, "broken json");
    is_int(open_edited(m, "\"device_ids\":[\"dev-a\",", "\"device_ids\":[\"dev-b\",", &eb), CMN_E_PARSE,
           "duplicate device ids: %s", eb.msg);
    is_int(open_edited(m, "\"device_ids\":[\"dev-a\",\"dev-b\",\"dev-c\"],", "", &eb), CMN_OK, "device_list alone: %s",
           eb.msg);
    is_int(open_edited(m, "\"device_ids\":[\"dev-a\",\"dev-b\",\"dev-c\"],\"device_list\":\"beta-testers\"", "", &eb),
           CMN_E_PARSE, "empty targeting: %s", eb.msg);
    is_int(open_edited(m, "\"device_ids\":[\"dev-a\",\"dev-b\",\"dev-c\"]", "\"device_ids\":[]", &eb), CMN_E_PARSE,
           "empty device_ids: %s", eb.msg);
    is_int(open_edited(m, "\"id\":\"r2\"", "\"id\":\"r1\"", &eb), CMN_E_PARSE, "duplicate release id: %s", eb.msg);
    is_int(open_edited(m, "\"target_binary\":\"^2.0.0\"", "\"target_binary\":\"2.0.0 ||\"", &eb), CMN_E_PARSE,
           "bad range: %s", eb.msg);
    is_int(open_edited(m, "\"releases\":[", "\"releases\":[1,", &eb), CMN_E_PARSE, "release that is not an object");

    /* Envelope strictness. */
    is_int(open_doc("{\"payload\":\"{}\",\"payload_type\":\"application/vnd.hotpatch.manifest.v1+json\"}", NULL, 0, 0,
                    &eb),
           CMN_E_PARSE, "missing signatures: %s", eb.msg);
    is_int(open_doc("{\"payload\":\"{}\",\"payload_type\":\"x\",\"signatures\":[]}", NULL, 0, 0, &eb), CMN_E_PARSE,
           "wrong payload type");
    is_int(open_doc("{\"payload\":\"{}\",\"payload_type\":\"application/vnd.hotpatch.manifest.v1+json\","
                    "\"signatures\":[]}",
                    NULL, 0, 0, &eb),
           CMN_E_PARSE, "empty signatures");
    is_int(open_doc("{\"payload\":\"{}\",\"payload_type\":\"application/vnd.hotpatch.manifest.v1+json\","
                    "\"signatures\":[{\"keyid\":\"0123456789abcdef\",\"sig\":\"AAAA\"}]}",
                    NULL, 0, 0, &eb),
           CMN_E_PARSE, "short signature: %s", eb.msg);
    is_int(open_doc("[]", NULL, 0, 0, &eb), CMN_E_PARSE, "envelope not an object");
    is_int(open_doc("", NULL, 0, 0, &eb), CMN_E_PARSE, "empty document");
    {
        struct cmn_manifest *x = NULL;
        is_int(cmn_manifest_open(out.ptr, CMN_MANIFEST_MAX_BYTES + 1, &kr, NULL, 0, 0, &x, &eb), CMN_E_TOOBIG,
               "over the size cap (length checked before reading)");
    }
    /* Extra envelope field. */
    t = malloc(out.len + 32);
    snprintf(t, out.len + 32, "{\"x\":1,%s", out.ptr + 1);
    is_int(open_doc(t, NULL, 1750000000, 0, &eb), CMN_E_PARSE, "unknown envelope field: %s", eb.msg);
    free(t);
    /* Two signatures: an unknown one first, then the trusted one. */
    {
        const char *sigs = strstr(out.ptr, "\"signatures\":[") + 14;
        size_t pre = (size_t)(sigs - out.ptr);
        t = malloc(out.len + 200);
        memcpy(t, out.ptr, pre);
        int k = snprintf(t + pre, 200, "{\"keyid\":\"%s\",\"sig\":\"%s\"},", K2.keyid, SIG);
        memcpy(t + pre + k, sigs, out.len - pre + 1);
        is_int(open_doc(t, NULL, 1750000000, 0, &eb), CMN_OK, "trusted signature after an unknown one: %s", eb.msg);
        free(t);
    }

    /* Validation messages for built manifests. */
    static const struct {
        mutate_fn fn;
        enum cmn_err code;
        const char *needle;
    } muts[] = {
        {m_app, CMN_E_PARSE, "'app'"},
        {m_seq0, CMN_E_PARSE, "'sequence'"},
        {m_exp, CMN_E_PARSE, "'expires_at'"},
        {m_schema, CMN_E_UNSUPPORTED, "schema"},
        {m_id, CMN_E_PARSE, "release 0: field 'id'"},
        {m_dupid, CMN_E_PARSE, "repeats"},
        {m_sha, CMN_E_PARSE, "release 0: field 'sha256' must be 64 lower-case hex"},
        {m_size, CMN_E_PARSE, "'size'"},
        {m_bp, CMN_E_PARSE, "'rollout_bp'"},
        {m_state, CMN_E_PARSE, "'state'"},
        {m_range, CMN_E_PARSE, "'target_binary'"},
        {m_url1, CMN_E_PARSE, "'bundle_url'"},
        {m_keyid, CMN_E_PARSE, "'bundle_keyid'"},
        {m_sig, CMN_E_PARSE, "'bundle_sig'"},
        {m_sorted, CMN_E_PARSE, "sorted"},
        {m_list, CMN_E_PARSE, "'device_list'"},
        {m_ver, CMN_E_PARSE, "'version'"},
        {m_mand, CMN_E_PARSE, "'mandatory'"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(muts); i++) {
        struct cmn_manifest *x = base_manifest();
        muts[i].fn(x);
        memset(&eb, 0, sizeof(eb));
        enum cmn_err rc = cmn_manifest_validate(x, &eb);
        is_int(rc, muts[i].code, "validation case %zu: %s", i, eb.msg);
        ok(strstr(eb.msg, muts[i].needle) != NULL, "message contains \"%s\"", muts[i].needle);
        struct cmn_buf b;
        cmn_buf_init(&b, 1 << 20);
        is_int(cmn_manifest_seal(x, &K, &b, NULL), muts[i].code, "seal refuses case %zu", i);
        ok(b.len == 0, "nothing written for case %zu", i);
        cmn_buf_release(&b);
        cmn_manifest_free(x);
    }
    {
        static const char *urls[] = {"a/./b.zip", "a//b.zip", "a/b/",       "..",   "a\\b",
                                     "a b",       "https://", "https:///x", "c:/x", "/abs"};
        for (size_t i = 0; i < CMN_ARRAY_SIZE(urls); i++) {
            struct cmn_manifest *x = base_manifest();
            free(x->releases[0].bundle_url);
            x->releases[0].bundle_url = strdup(urls[i]);
            is_int(cmn_manifest_validate(x, NULL), CMN_E_PARSE, "bundle_url '%s' refused", urls[i]);
            cmn_manifest_free(x);
        }
    }
    /* Seal needs a secret; release cap; render is deterministic. */
    struct cmn_key pub = K;
    pub.has_secret = 0;
    is_int(cmn_manifest_seal(m, &pub, &out, NULL), CMN_E_INVAL, "seal without secret");

    /* Key rotation: one envelope signed by two keys opens for devices trusting either. */
    {
        struct cmn_key pair[2] = {K, K2}, same[2] = {K, K}, K3;
        struct cmn_buf two;
        cmn_buf_init(&two, CMN_MANIFEST_MAX_BYTES);
        if (cmn_key_generate(&K3))
            return 1;
        is_int(cmn_manifest_seal_keys(m, pair, 2, &two, NULL), CMN_OK, "seal with two keys");
        ok(two.ptr && strstr(two.ptr, K.keyid) && strstr(two.ptr, K2.keyid), "both key ids in the envelope");
        struct cmn_keyring only1 = {&K, 1}, only2 = {&K2, 1}, only3 = {&K3, 1};
        struct cmn_manifest *x = NULL;
        is_int(cmn_manifest_open(two.ptr, two.len, &only1, NULL, 1750000000, 0, &x, NULL), CMN_OK,
               "device trusting the old key opens it");
        is_str(x ? x->signed_by : NULL, K.keyid, "verified by the old key");
        cmn_manifest_free(x);
        x = NULL;
        is_int(cmn_manifest_open(two.ptr, two.len, &only2, NULL, 1750000000, 0, &x, NULL), CMN_OK,
               "device trusting the new key opens it");
        is_str(x ? x->signed_by : NULL, K2.keyid, "verified by the new key");
        cmn_manifest_free(x);
        x = NULL;
        is_int(cmn_manifest_open(two.ptr, two.len, &only3, NULL, 1750000000, 0, &x, NULL), CMN_E_UNKNOWN_KEY,
               "device trusting neither refuses it");
        /* Damage the second signature: a device that trusts only that key must refuse. */
        char *sig2 = strstr(two.ptr, K2.keyid);
        char *sigv = sig2 ? strstr(sig2, "\"sig\":\"") : NULL;
        if (sigv)
            sigv[7] = sigv[7] == 'A' ? 'B' : 'A';
        is_int(cmn_manifest_open(two.ptr, two.len, &only2, NULL, 1750000000, 0, &x, NULL), CMN_E_SIG,
               "damaged second signature refused by a device trusting that key");
        {
            /* Issue 12 #6: the error names the key whose signature failed, not the first entry's. */
            struct cmn_errbuf seb = {{0}};
            is_int(cmn_manifest_open(two.ptr, two.len, &only2, NULL, 1750000000, 0, &x, &seb), CMN_E_SIG,
                   "damaged second signature refused (with detail)");
            ok(strstr(seb.msg, K2.keyid) && !strstr(seb.msg, K.keyid), "the signature error names key %s: %s", K2.keyid,
               seb.msg);
            memset(&seb, 0, sizeof(seb));
            is_int(cmn_manifest_open(two.ptr, two.len, &only3, NULL, 1750000000, 0, &x, &seb), CMN_E_UNKNOWN_KEY,
                   "unknown signers refused (with detail)");
            ok(strstr(seb.msg, K.keyid) && strstr(seb.msg, K2.keyid), "the unknown-key error names every signer: %s",
               seb.msg);
        }
        is_int(cmn_manifest_open(two.ptr, two.len, &only1, NULL, 1750000000, 0, &x, NULL), CMN_OK,
               "the first signature still verifies for its key");
        cmn_manifest_free(x);
        cmn_buf_reset(&two);
        is_int(cmn_manifest_seal_keys(m, same, 2, &two, NULL), CMN_E_INVAL, "the same key twice refused");
        is_int(cmn_manifest_seal_keys(m, pair, 0, &two, NULL), CMN_E_INVAL, "no keys refused");
        struct cmn_key mixed[2] = {K, pub};
        mixed[1] = K2;
        mixed[1].has_secret = 0;
        is_int(cmn_manifest_seal_keys(m, mixed, 2, &two, NULL), CMN_E_INVAL, "a key without secret refused");
        cmn_buf_release(&two);
        cmn_key_clear(&K3);
        cmn_wipe(pair, sizeof(pair));
        cmn_wipe(same, sizeof(same));
        cmn_wipe(mixed, sizeof(mixed));
    }
    {
        struct cmn_manifest *x = cmn_manifest_new("a", "b", "c");
        struct cmn_release r;
        enum cmn_err rc = CMN_OK;
        char id[16];
        for (int i = 0; i <= CMN_MANIFEST_MAX_RELEASES && rc == CMN_OK; i++) {
            base_release(&r, id);
            snprintf(id, sizeof(id), "r%d", i);
            rc = cmn_manifest_add_release(x, &r);
        }
        is_int(rc, CMN_E_TOOBIG, "release cap enforced by add_release");
        is_int(x->n_releases, CMN_MANIFEST_MAX_RELEASES, "cap is 256");
        x->sequence = 1;
        x->expires_at = 10;
        struct cmn_buf b;
        cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
        is_int(cmn_manifest_seal(x, &K, &b, NULL), CMN_OK, "256 releases seal");
        struct cmn_manifest *y = NULL;
        is_int(cmn_manifest_open(b.ptr, b.len, &kr, NULL, 5, 0, &y, NULL), CMN_OK, "and open");
        cmn_manifest_free(y);
        cmn_buf_release(&b);
        cmn_manifest_free(x);
    }
    cmn_manifest_free(NULL);
    cmn_release_clear(NULL);
    cmn_buf_release(&out);
    cmn_manifest_free(m);
    cmn_key_clear(&K);
    cmn_key_clear(&K2);
    return done_testing();
}
