/* Golden-vector test: checks the C implementation against the files in
 * manifests/vectors/, which were produced by manifests/vectors/gen.py and
 * gen_cohort.py (an independent Python implementation of canonical JSON,
 * Ed25519, cohorts and the decision rules) or written by hand (semver).
 * The committed files are the truth; nothing here regenerates them. */
#include "common/compat.h"

#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>

#include "common/cjson.h"
#include "common/cohort.h"
#include "common/manifest.h"
#include "../../lib/test.h"

static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/manifests/vectors/%s", test_srcdir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag("cannot open '%s'", path);
        return NULL;
    }
    struct cmn_buf b;
    cmn_buf_init(&b, 16u << 20);
    char chunk[65536];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        bad = cmn_buf_add(&b, chunk, n) != CMN_OK;
    fclose(f);
    if (bad)
        return NULL;
    return cmn_buf_take(&b, len);
}

static json_t *load_json(const char *rel)
{
    size_t n = 0;
    char *t = slurp(rel, &n);
    json_t *v = NULL;
    struct cmn_errbuf eb = {0};
    if (t && cmn_cjson_parse(t, n, 16u << 20, &v, &eb) != CMN_OK)
        diag("cannot parse '%s': %s", rel, eb.msg);
    free(t);
    return v;
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long jint(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* Load a key file from the vectors (git does not keep 0600: copy it first). */
static int load_secret(const char *name, struct cmn_key *k)
{
    char rel[128], dst[1024];
    size_t n = 0;
    snprintf(rel, sizeof(rel), "keys/%s.secret.json", name);
    char *t = slurp(rel, &n);
    if (!t)
        return -1;
    snprintf(dst, sizeof(dst), "%s/%s.secret.json", test_tmpdir(), name);
    FILE *f = fopen(dst, "wb");
    if (!f) {
        free(t);
        return -1;
    }
    fwrite(t, 1, n, f);
    fclose(f);
    cmn_wipe(t, n);
    free(t);
    chmod(dst, 0600);
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = cmn_key_load_secret(dst, k, &eb);
    if (rc)
        diag("key '%s': %s", name, eb.msg);
    return rc ? -1 : 0;
}

static struct cmn_key MK, OK_, BK;

static void test_keys(void)
{
    ok(load_secret("manifest", &MK) == 0, "manifest test key loads (python-derived public key matches libsodium)");
    ok(load_secret("other", &OK_) == 0, "other test key loads");
    ok(load_secret("bundle", &BK) == 0, "bundle test key loads");
    json_t *kj = load_json("keys/keys.json");
    const json_t *keys = json_object_get(kj, "keys");
    struct cmn_key *mine[] = {&MK, &OK_, &BK};
    for (size_t i = 0; i < 3 && i < json_array_size(keys); i++) {
        const json_t *e = json_array_get(keys, i);
        struct cmn_key pub;
        is_int(cmn_key_from_public_b64(jstr(e, "public_key"), &pub, NULL), CMN_OK, "public key %s parses",
               jstr(e, "name"));
        is_str(pub.keyid, jstr(e, "keyid"), "key id of %s = sha256(pk)[0..8]", jstr(e, "name"));
        is_str(mine[i]->keyid, jstr(e, "keyid"), "secret file of %s has the same key id", jstr(e, "name"));
        char rel[64], *pubtxt;
        size_t n = 0;
        snprintf(rel, sizeof(rel), "keys/%s.pub", jstr(e, "name"));
        pubtxt = slurp(rel, &n);
        ok(pubtxt && n == 45 && strncmp(pubtxt, jstr(e, "public_key"), 44) == 0, "%s matches keys.json", rel);
        free(pubtxt);
    }
    json_decref(kj);

    /* The C writer produces the same bytes as the python generator. */
    char out[1024];
    snprintf(out, sizeof(out), "%s/resaved.secret.json", test_tmpdir());
    size_t n1 = 0, n2 = 0;
    char *want = slurp("keys/manifest.secret.json", &n1);
    is_int(cmn_key_save_secret(&MK, out, 0, NULL), CMN_OK, "re-save the manifest test key");
    FILE *f = fopen(out, "rb");
    char got[1024];
    n2 = f ? fread(got, 1, sizeof(got), f) : 0;
    if (f)
        fclose(f);
    ok(want && n1 == n2 && memcmp(want, got, n1) == 0, "C key file bytes equal the committed python-written file");
    cmn_wipe(got, sizeof(got));
    if (want)
        cmn_wipe(want, n1);
    free(want);
}

static void test_canonical(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/manifests/vectors/canonical", test_srcdir());
    DIR *d = opendir(dir);
    ok(d != NULL, "canonical vectors directory");
    if (!d)
        return;
    struct dirent *e;
    int count = 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 9 || strcmp(e->d_name + l - 8, ".in.json") != 0)
            continue;
        char in_rel[600], out_rel[600];
        snprintf(in_rel, sizeof(in_rel), "canonical/%s", e->d_name);
        snprintf(out_rel, sizeof(out_rel), "canonical/%.*s.out.json", (int)(l - 8), e->d_name);
        size_t ni = 0, no = 0;
        char *in = slurp(in_rel, &ni), *want = slurp(out_rel, &no);
        json_t *v = NULL;
        struct cmn_buf b;
        cmn_buf_init(&b, 1 << 20);
        enum cmn_err rc = in ? cmn_cjson_parse(in, ni, 1 << 20, &v, NULL) : CMN_E_IO;
        if (!rc)
            rc = cmn_cjson_render(v, &b);
        ok(rc == CMN_OK && want && b.len == no && memcmp(b.ptr, want, no) == 0, "canonical bytes of %s", e->d_name);
        ok(want && cmn_cjson_is_canonical(want, no), "expected output %s is a fixed point", out_rel);
        json_decref(v);
        cmn_buf_release(&b);
        free(in);
        free(want);
        count++;
    }
    closedir(d);
    ok(count >= 10, "found %d canonical cases", count);

    json_t *cases = load_json("canonical/reject/cases.json");
    const json_t *arr = json_object_get(cases, "cases");
    ok(json_array_size(arr) >= 10, "canonical reject cases");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *c = json_array_get(arr, i);
        char rel[600];
        snprintf(rel, sizeof(rel), "canonical/reject/%s", jstr(c, "file"));
        size_t n = 0;
        char *t = slurp(rel, &n);
        json_t *v = NULL;
        struct cmn_errbuf eb = {0};
        enum cmn_err rc = t ? cmn_cjson_parse(t, n, 1 << 20, &v, &eb) : CMN_E_IO;
        is_str(cmn_errname(rc), jstr(c, "error"), "reject %s (%s)", jstr(c, "file"), eb.msg);
        json_decref(v);
        free(t);
    }
    json_decref(cases);
}

static enum cmn_err open_file(const char *rel, const struct cmn_manifest_expect *ex, int64_t now,
                              struct cmn_manifest **m, struct cmn_errbuf *eb)
{
    size_t n = 0;
    char *t = slurp(rel, &n);
    if (!t)
        return CMN_E_IO;
    struct cmn_keyring kr = {&MK, 1};
    enum cmn_err rc = cmn_manifest_open(t, n, &kr, ex, now, 0, m, eb);
    free(t);
    return rc;
}

static void test_signed(void)
{
    json_t *idx = load_json("signed/cases.json");
    int64_t now = jint(idx, "now");
    const json_t *arr = json_object_get(idx, "cases");
    ok(json_array_size(arr) >= 5, "signed cases listed");
    int legacy_seen = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *name = json_string_value(json_array_get(arr, i));
        char rel[256];
        snprintf(rel, sizeof(rel), "signed/%s.json", name);
        struct cmn_manifest *m = NULL;
        struct cmn_errbuf eb = {0};
        enum cmn_err rc = open_file(rel, NULL, now, &m, &eb);
        is_int(rc, CMN_OK, "open %s: %s", name, eb.msg);
        if (rc)
            continue;
        snprintf(rel, sizeof(rel), "signed/%s.expect.json", name);
        json_t *x = load_json(rel);
        int same = x && strcmp(m->app, jstr(x, "app")) == 0 && strcmp(m->platform, jstr(x, "platform")) == 0 &&
                   strcmp(m->channel, jstr(x, "channel")) == 0 && (long long)m->sequence == jint(x, "sequence") &&
                   m->issued_at == jint(x, "issued_at") && m->expires_at == jint(x, "expires_at") &&
                   strcmp(m->signed_by, jstr(x, "signed_by")) == 0 &&
                   m->retired == json_is_true(json_object_get(x, "retired"));
        ok(same, "%s: header fields match the summary", name);
        {
            const json_t *cpk = json_object_get(x, "codepush_keys");
            int cp_ok = cpk ? m->n_codepush_keys == json_array_size(cpk) : m->codepush_keys == NULL;
            for (size_t k = 0; cp_ok && cpk && k < m->n_codepush_keys; k++)
                cp_ok = strcmp(m->codepush_keys[k], json_string_value(json_array_get(cpk, k))) == 0;
            ok(cp_ok, "%s: codepush_keys match the summary", name);
        }
        const json_t *rels = json_object_get(x, "releases");
        is_int(m->n_releases, json_array_size(rels), "%s: release count", name);
        int rel_ok = 1, sig_ok = 1;
        for (size_t k = 0; k < m->n_releases && k < json_array_size(rels); k++) {
            const struct cmn_release *r = &m->releases[k];
            const json_t *e = json_array_get(rels, k);
            const char *notes = jstr(e, "notes"), *list = jstr(e, "device_list");
            rel_ok &= strcmp(r->id, jstr(e, "id")) == 0 && strcmp(r->version, jstr(e, "version")) == 0 &&
                      strcmp(cmn_release_state_name(r->state), jstr(e, "state")) == 0 &&
                      (long long)r->rollout_bp == jint(e, "rollout_bp") &&
                      r->mandatory == json_is_true(json_object_get(e, "mandatory")) &&
                      (long long)r->size == jint(e, "size") && strcmp(r->sha256, jstr(e, "sha256")) == 0 &&
                      strcmp(r->target_binary, jstr(e, "target_binary")) == 0 &&
                      strcmp(r->bundle_url, jstr(e, "bundle_url")) == 0 &&
                      (long long)r->n_device_ids == jint(e, "n_device_ids") &&
                      ((!notes && !r->notes) || (notes && r->notes && strcmp(notes, r->notes) == 0)) &&
                      ((!list && !r->device_list) || (list && r->device_list && strcmp(list, r->device_list) == 0));
            const char *cph = jstr(e, "codepush_hash"); /* SPEC section 16: only where present */
            rel_ok &= cph ? strcmp(r->codepush_hash, cph) == 0 : r->codepush_hash[0] == '\0';
            /* The bundle signature (python-made) verifies with libsodium over the digest. */
            uint8_t digest[32];
            sig_ok &= cmn_hex_decode(r->sha256, digest, 32) == CMN_OK && strcmp(r->bundle_keyid, BK.keyid) == 0 &&
                      cmn_bundle_verify(&BK, digest, r->bundle_sig) == CMN_OK;
            /* SPEC section 15: the legacy signature is plain Ed25519 over the bare digest. */
            const char *legacy = jstr(e, "legacy_signature");
            rel_ok &= (!legacy && !r->legacy_signature) ||
                      (legacy && r->legacy_signature && strcmp(legacy, r->legacy_signature) == 0);
            if (r->legacy_signature) {
                uint8_t ls[crypto_sign_BYTES + 1];
                size_t ln = 0;
                sig_ok &= sodium_base642bin(ls, sizeof(ls), r->legacy_signature, strlen(r->legacy_signature), NULL, &ln,
                                            NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
                          ln == crypto_sign_BYTES && crypto_sign_verify_detached(ls, digest, 32, BK.pk) == 0;
                legacy_seen++;
            }
        }
        ok(rel_ok, "%s: every release matches the summary", name);
        ok(sig_ok, "%s: every bundle (and legacy) signature verifies", name);
        /* The payload we re-render is byte-identical to the signed one. */
        struct cmn_buf p;
        cmn_buf_init(&p, CMN_MANIFEST_MAX_BYTES);
        uint8_t d[32];
        char hx[65];
        is_int(cmn_manifest_render_payload(m, &p, NULL), CMN_OK, "%s: re-render payload", name);
        cmn_sha256(p.ptr, p.len, d);
        cmn_hex_encode(d, 32, hx);
        is_str(hx, jstr(x, "payload_sha256"), "%s: re-rendered payload has the signed digest", name);
        cmn_buf_release(&p);
        /* seal(open(x)) with the same key is x for canonical single-signature envelopes. */
        if (strcmp(name, "two-signatures") != 0 && strcmp(name, "pretty-envelope") != 0) {
            struct cmn_buf s;
            cmn_buf_init(&s, CMN_MANIFEST_MAX_BYTES);
            size_t n = 0;
            snprintf(rel, sizeof(rel), "signed/%s.json", name);
            char *orig = slurp(rel, &n);
            ok(cmn_manifest_seal(m, &MK, &s, NULL) == CMN_OK && orig && s.len == n && memcmp(s.ptr, orig, n) == 0,
               "%s: C seal reproduces the python-signed bytes", name);
            free(orig);
            cmn_buf_release(&s);
        }
        json_decref(x);
        cmn_manifest_free(m);
    }
    ok(legacy_seen > 0, "a legacy_signature vector was opened and verified");
    json_decref(idx);
}

static void test_rejected(void)
{
    json_t *idx = load_json("rejected/cases.json");
    int64_t now = jint(idx, "now");
    const json_t *arr = json_object_get(idx, "cases");
    ok(json_array_size(arr) >= 20, "rejected cases listed (%zu)", json_array_size(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *c = json_array_get(arr, i);
        struct cmn_manifest_expect ex = {jstr(c, "expect_app"), NULL, jstr(c, "expect_channel"),
                                         (uint64_t)jint(c, "min_sequence")};
        char rel[256];
        snprintf(rel, sizeof(rel), "rejected/%s", jstr(c, "file"));
        struct cmn_manifest *m = NULL;
        struct cmn_errbuf eb = {0};
        enum cmn_err rc = open_file(rel, &ex, now, &m, &eb);
        is_str(cmn_errname(rc), jstr(c, "error"), "%s rejected (%s)", jstr(c, "file"), eb.msg);
        ok(m == NULL, "%s: no manifest handed out", jstr(c, "file"));
        ok(rc == CMN_OK || eb.msg[0], "%s: error has a detail", jstr(c, "file"));
        cmn_manifest_free(m);
    }
    json_decref(idx);
}

static void test_cohort(void)
{
    json_t *v = load_json("cohort.json");
    const json_t *h = json_object_get(v, "fnv1a32");
    for (size_t i = 0; i < json_array_size(h); i++) {
        const json_t *e = json_array_get(h, i);
        const char *s = jstr(e, "input");
        is_int(cmn_fnv1a32(s, strlen(s)), jint(e, "hash"), "fnv1a32('%s')", s);
    }
    const json_t *arr = json_object_get(v, "cases");
    ok(json_array_size(arr) >= 50, "cohort cases");
    size_t bad = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
        uint32_t b = cmn_cohort_bucket(jstr(e, "release_id"), jstr(e, "device_id"));
        if ((long long)b != jint(e, "bucket")) {
            bad++;
            diag("bucket(%s, %s) = %u, expected %lld", jstr(e, "release_id"), jstr(e, "device_id"), b,
                 jint(e, "bucket"));
        }
        if (!cmn_cohort_in(jstr(e, "release_id"), jstr(e, "device_id"), b + 1) ||
            cmn_cohort_in(jstr(e, "release_id"), jstr(e, "device_id"), b))
            bad++;
    }
    is_int(bad, 0, "all %zu cohort buckets match the python implementation", json_array_size(arr));
    json_decref(v);
}

static void test_semver(void)
{
    json_t *v = load_json("semver.json");
    const json_t *arr = json_object_get(v, "match");
    ok(json_array_size(arr) >= 50, "semver match cases");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
        struct cmn_semver_range r;
        struct cmn_semver ver;
        enum cmn_err rc1 = cmn_semver_range_parse(jstr(e, "range"), &r);
        enum cmn_err rc2 = cmn_semver_parse(jstr(e, "version"), &ver);
        int got = (rc1 || rc2) ? -1 : cmn_semver_range_match(&r, &ver);
        is_int(got, json_is_true(json_object_get(e, "match")), "'%s' vs %s", jstr(e, "range"), jstr(e, "version"));
    }
    arr = json_object_get(v, "bad_ranges");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
        struct cmn_semver_range r;
        is_str(cmn_errname(cmn_semver_range_parse(jstr(e, "range"), &r)), jstr(e, "error"), "bad range '%s'",
               jstr(e, "range"));
    }
    arr = json_object_get(v, "bad_versions");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct cmn_semver s;
        const char *t = json_string_value(json_array_get(arr, i));
        is_int(cmn_semver_parse(t, &s), CMN_E_PARSE, "bad version '%s'", t);
    }
    arr = json_object_get(v, "ascending");
    int sorted = json_array_size(arr) > 5;
    for (size_t i = 0; i + 1 < json_array_size(arr); i++) {
        for (size_t j = i + 1; j < json_array_size(arr); j++) {
            struct cmn_semver a, b;
            if (cmn_semver_parse(json_string_value(json_array_get(arr, i)), &a) ||
                cmn_semver_parse(json_string_value(json_array_get(arr, j)), &b) || cmn_semver_cmp(&a, &b) >= 0 ||
                cmn_semver_cmp(&b, &a) <= 0)
                sorted = 0;
        }
    }
    ok(sorted, "precedence: every pair of the ascending list compares in order");
    json_decref(v);
}

static int list_member(void *ctx, const char *list, const char *device)
{
    const json_t *members = json_object_get((const json_t *)ctx, list);
    for (size_t i = 0; i < json_array_size(members); i++)
        if (strcmp(json_string_value(json_array_get(members, i)), device) == 0)
            return 1;
    return 0;
}

static void test_decisions(void)
{
    json_t *v = load_json("decisions.json");
    int64_t now = jint(v, "now");
    const json_t *arr = json_object_get(v, "cases");
    ok(json_array_size(arr) >= 15, "decision cases");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *c = json_array_get(arr, i);
        struct cmn_manifest *m = NULL;
        if (open_file(jstr(c, "manifest"), NULL, now, &m, NULL) != CMN_OK) {
            ok(0, "open %s", jstr(c, "manifest"));
            continue;
        }
        const json_t *d = json_object_get(c, "device");
        const json_t *blj = json_object_get(d, "blocklist");
        const char *bl[8];
        size_t nbl = 0;
        for (; nbl < json_array_size(blj) && nbl < 8; nbl++)
            bl[nbl] = json_string_value(json_array_get(blj, nbl));
        struct cmn_device dev = {jstr(d, "device_id"), jstr(d, "binary_version"), jstr(d, "current_release"), bl, nbl};
        const json_t *lists = json_object_get(c, "lists");
        struct cmn_decision dc;
        enum cmn_err rc = cmn_decide(m, &dev, json_is_object(lists) ? list_member : NULL, (void *)lists, &dc);
        const json_t *x = json_object_get(c, "expect");
        const char *kind = dc.kind == CMN_DECIDE_UPDATE     ? "update"
                           : dc.kind == CMN_DECIDE_ROLLBACK ? "rollback"
                                                            : "none";
        const char *rel = dc.kind == CMN_DECIDE_UPDATE ? m->releases[dc.index].id : NULL;
        ok(rc == CMN_OK && strcmp(kind, jstr(x, "decision")) == 0 &&
               ((!rel && !jstr(x, "release")) || (rel && jstr(x, "release") && strcmp(rel, jstr(x, "release")) == 0)) &&
               dc.mandatory == json_is_true(json_object_get(x, "mandatory")),
           "%s (got %s %s%s)", jstr(c, "name"), kind, rel ? rel : "-", dc.mandatory ? " mandatory" : "");
        cmn_manifest_free(m);
    }
    json_decref(v);
}

/*
 * The Python side: the schema accepts the valid vectors and refuses the
 * shape-defective ones, and the generators reproduce the committed files
 * byte for byte. Skipped when python3 is not installed.
 */
/* SPEC.md section 7: next sequence = max(prev + 1, clock in ms), from gen.py's own implementation. */
static void test_sequence(void)
{
    json_t *v = load_json("sequence.json");
    json_t *cases = json_object_get(v, "cases");
    ok(json_array_size(cases) >= 8, "sequence vectors loaded");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        json_t *nx = json_object_get(c, "next");
        uint64_t want = json_is_null(nx) ? 0 : (uint64_t)json_integer_value(nx);
        uint64_t got = cmn_manifest_next_sequence((uint64_t)jint(c, "prev"), (int64_t)jint(c, "now_ms"));
        ok(got == want, "sequence: %s (%llu)", jstr(c, "name"), (unsigned long long)got);
    }
    json_decref(v);
}

static void test_python(void)
{
    if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
        test_skip(2, "python3 not available");
        return;
    }
    char cmd[4096];
    const char *src = test_srcdir();
    snprintf(cmd, sizeof(cmd), "python3 '%s/manifests/vectors/check_schema.py' > '%s/schema.tap' 2>&1", src,
             test_tmpdir());
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof(cmd), "grep -v '^ok' '%s/schema.tap' | sed 's/^/# /'", test_tmpdir());
        if (system(cmd) != 0)
            diag("cannot show schema.tap");
    }
    ok(rc == 0,
       "manifest.schema.json and root.schema.json accept every valid vector and refuse the shape-defective ones");
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s/regen' && python3 '%s/manifests/vectors/gen.py' '%s/regen' && "
             "python3 '%s/manifests/vectors/gen_cohort.py' '%s/regen' && "
             "python3 '%s/manifests/vectors/gen_root.py' '%s/regen' && "
             "diff -r -q -x README.md -x '*.py' -x __pycache__ '%s/manifests/vectors' '%s/regen'",
             test_tmpdir(), src, test_tmpdir(), src, test_tmpdir(), src, test_tmpdir(), src, test_tmpdir());
    ok(system(cmd) == 0, "gen.py, gen_cohort.py and gen_root.py reproduce the committed vectors byte for byte");
}

int main(void)
{
    if (cmn_crypto_init())
        return 1;
    test_keys();
    test_canonical();
    test_signed();
    test_rejected();
    test_cohort();
    test_semver();
    test_decisions();
    test_sequence();
    test_python();
    cmn_key_clear(&MK);
    cmn_key_clear(&OK_);
    cmn_key_clear(&BK);
    return done_testing();
}
