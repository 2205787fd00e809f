/*
 * root_test.c - common/root.c against the golden vectors of
 * manifests/vectors/roots (written by gen_root.py, an independent Python
 * implementation): the chain is accepted link by link, every rejected case
 * is refused with its error name as the successor of the version it names,
 * C sealing reproduces the Python-signed bytes, co-signing one key at a time
 * reaches the threshold, the walk stops at the first missing version and
 * refuses an expired end, and manifests are judged by the latest root (the
 * revoked key named in the error).
 */
#include "common/compat.h"

#include <sys/stat.h>

#include "../../lib/test.h"
#include "common/cjson.h"
#include "common/root.h"

static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/manifests/vectors/roots/%s", test_srcdir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag("cannot open '%s'", path);
        *len = 0;
        return NULL;
    }
    struct cmn_buf b;
    cmn_buf_init(&b, 16u << 20);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (cmn_buf_add(&b, chunk, n) != CMN_OK)
            break;
    fclose(f);
    return cmn_buf_take(&b, len);
}

static struct cmn_root *chain_root(int v)
{
    char rel[64];
    size_t n;
    snprintf(rel, sizeof(rel), "chain/%d.json", v);
    char *d = slurp(rel, &n);
    struct cmn_root *r = NULL;
    struct cmn_errbuf eb = {{0}};
    if (cmn_root_open(d, n, "demo", &r, &eb) != CMN_OK)
        diag("open %s: %s", rel, eb.msg);
    free(d);
    return r;
}

static void load_key(const char *name, struct cmn_key *k)
{
    char src[1024], dst[1024];
    size_t n;
    snprintf(src, sizeof(src), "keys/%s.secret.json", name);
    char *d = slurp(src, &n);
    snprintf(dst, sizeof(dst), "%s/%s.key", test_tmpdir(), name);
    FILE *f = fopen(dst, "wb");
    if (f) {
        fwrite(d, 1, n, f);
        fclose(f);
    }
    chmod(dst, 0600);
    free(d);
    struct cmn_errbuf eb = {{0}};
    if (cmn_key_load_secret(dst, k, &eb) != CMN_OK)
        diag("load %s: %s", name, eb.msg);
}

static json_t *cases(void)
{
    size_t n;
    char *d = slurp("cases.json", &n);
    json_t *j = NULL;
    struct cmn_errbuf eb = {{0}};
    if (cmn_cjson_parse(d, n, 1u << 20, &j, &eb) != CMN_OK)
        diag("cases.json: %s", eb.msg);
    free(d);
    return j;
}

static void test_chain(const json_t *c)
{
    struct cmn_root *cur = chain_root(1);
    ok(cur && cur->version == 1 && cur->threshold == 2 && cur->n_root_keys == 3, "chain/1 opens as the trusted root");
    const json_t *chain = json_object_get(c, "chain");
    for (int v = 2; cur && v <= 3; v++) {
        char rel[64];
        size_t n;
        snprintf(rel, sizeof(rel), "chain/%d.json", v);
        char *d = slurp(rel, &n);
        struct cmn_root *next = NULL;
        struct cmn_errbuf eb = {{0}};
        enum cmn_err rc = cmn_root_accept(cur, d, n, &next, &eb);
        is_str(cmn_errname(rc), "ok", "chain/%d accepted as the successor of %d (%s)", v, v - 1, eb.msg);
        free(d);
        if (rc)
            break;
        const json_t *x = json_array_get(chain, (size_t)v - 1);
        const json_t *ids = json_object_get(x, "manifest_keyids");
        int same = next->n_manifest_keys == json_array_size(ids);
        for (size_t i = 0; same && i < next->n_manifest_keys; i++) {
            int found = 0;
            for (size_t j = 0; j < json_array_size(ids); j++)
                found |= strcmp(json_string_value(json_array_get(ids, j)), next->manifest_keys[i].keyid) == 0;
            same = found;
        }
        ok(same, "chain/%d: the manifest keys are the vector's", v);
        cmn_root_free(cur);
        cur = next;
    }
    ok(cur && cur->version == 3 && cur->n_revoked == 1, "walked to version 3, one key revoked");
    cmn_root_free(cur);
}

static void test_rejected(const json_t *c)
{
    const json_t *arr = json_object_get(c, "rejected");
    ok(json_array_size(arr) >= 15, "rejected cases listed (%zu)", json_array_size(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *x = json_array_get(arr, i);
        const char *file = json_string_value(json_object_get(x, "file"));
        const json_t *tv = json_object_get(x, "trusted");
        char rel[128];
        size_t n;
        snprintf(rel, sizeof(rel), "rejected/%s", file);
        char *d = slurp(rel, &n);
        struct cmn_root *r = NULL;
        struct cmn_errbuf eb = {{0}};
        enum cmn_err rc;
        if (json_is_integer(tv)) {
            struct cmn_root *t = chain_root((int)json_integer_value(tv));
            rc = t ? cmn_root_accept(t, d, n, &r, &eb) : CMN_E_INVAL;
            cmn_root_free(t);
        } else {
            rc = cmn_root_open(d, n, "demo", &r, &eb);
            if (!rc)
                rc = cmn_root_fresh(r, json_integer_value(json_object_get(c, "now")), &eb);
        }
        is_str(cmn_errname(rc), json_string_value(json_object_get(x, "error")), "%s refused (%s)", file, eb.msg);
        ok(rc == CMN_OK || !json_is_integer(tv) || r == NULL, "%s: nothing returned on refusal", file);
        cmn_root_free(r);
        free(d);
    }
}

/* C sealing is byte-identical to the Python signer (deterministic Ed25519); co-signing reaches the threshold. */
static void test_seal(void)
{
    struct cmn_key a, b, c;
    load_key("root-a", &a);
    load_key("root-b", &b);
    load_key("root-c", &c);
    struct cmn_root *r = chain_root(1);
    size_t n;
    char *want = slurp("chain/1.json", &n);
    struct cmn_buf out, one, two;
    struct cmn_errbuf eb = {{0}};
    cmn_buf_init(&out, CMN_ROOT_MAX_BYTES);
    cmn_buf_init(&one, CMN_ROOT_MAX_BYTES);
    cmn_buf_init(&two, CMN_ROOT_MAX_BYTES);
    struct cmn_key ab[2] = {a, b};
    ok(r && cmn_root_seal(r, ab, 2, &out, &eb) == CMN_OK, "seal with a and b (%s)", eb.msg);
    ok(out.len == n && memcmp(out.ptr, want, n) == 0, "C seal reproduces the python-signed chain/1.json");

    /* threshold signing one key file at a time */
    out.len = 0;
    ok(cmn_root_seal(r, NULL, 0, &out, &eb) == CMN_OK, "an unsigned draft");
    struct cmn_root *x = NULL;
    is_str(cmn_errname(cmn_root_open(out.ptr, out.len, NULL, &x, &eb)), "bad_signature", "a draft is not trusted");
    ok(cmn_root_add_signature(out.ptr, out.len, &a, &one, &eb) == CMN_OK, "a signs");
    struct cmn_errbuf e2 = {{0}};
    is_str(cmn_errname(cmn_root_add_signature(one.ptr, one.len, &a, &two, &e2)), "exists", "a cannot sign twice");
    is_str(cmn_errname(cmn_root_open(one.ptr, one.len, NULL, &x, &eb)), "bad_signature", "1 of 2 is not enough");
    ok(cmn_root_add_signature(one.ptr, one.len, &b, &two, &eb) == CMN_OK, "b signs");
    ok(two.len == n && memcmp(two.ptr, want, n) == 0, "a then b gives the same bytes as sealing with both");
    unsigned cnt = 0;
    ok(cmn_root_count_signatures(two.ptr, two.len, r->root_keys, r->n_root_keys, &cnt, &eb) == CMN_OK && cnt == 2,
       "two valid root signatures counted");

    /* a root whose root key signs manifests too is refused at sealing */
    struct cmn_root *bad = cmn_root_new("demo");
    bad->version = 1;
    bad->issued_at = 1;
    bad->expires_at = 2;
    bad->threshold = 1;
    bad->root_keys[0] = a;
    bad->n_root_keys = 1;
    bad->manifest_keys[0] = a;
    bad->n_manifest_keys = 1;
    out.len = 0;
    struct cmn_errbuf e3 = {{0}};
    is_str(cmn_errname(cmn_root_seal(bad, &a, 1, &out, &e3)), "parse", "root key used as manifest key refused (%s)",
           e3.msg);
    cmn_root_free(bad);
    cmn_root_free(r);
    free(want);
    cmn_buf_release(&out);
    cmn_buf_release(&one);
    cmn_buf_release(&two);
    cmn_key_clear(&a);
    cmn_key_clear(&b);
    cmn_key_clear(&c);
    (void)ab;
}

struct fetch_ctx {
    int last; /* highest version "published" */
    int calls;
    const char *override2; /* rejected/<file> served as version 2 */
};

static enum cmn_err fetch(void *ctx, uint64_t v, struct cmn_buf *out, struct cmn_errbuf *eb)
{
    struct fetch_ctx *f = ctx;
    char rel[128];
    size_t n;
    f->calls++;
    if ((int)v > f->last)
        return CMN_E_NOTFOUND;
    if (v == 2 && f->override2)
        snprintf(rel, sizeof(rel), "rejected/%s", f->override2);
    else
        snprintf(rel, sizeof(rel), "chain/%llu.json", (unsigned long long)v);
    char *d = slurp(rel, &n);
    enum cmn_err rc = d ? cmn_buf_add(out, d, n) : cmn_errf(eb, CMN_E_IO, "no file");
    free(d);
    return rc;
}

static void test_walk(const json_t *c)
{
    int64_t now = json_integer_value(json_object_get(c, "now"));
    struct cmn_root *r = chain_root(1);
    struct fetch_ctx f = {3, 0, NULL};
    unsigned adv = 0;
    struct cmn_errbuf eb = {{0}};
    ok(cmn_root_walk(&r, fetch, &f, now, &adv, &eb) == CMN_OK && r->version == 3 && adv == 2 && f.calls == 3,
       "walk 1 -> 3, stopping at the missing 4 (%s)", eb.msg);
    ok(cmn_root_walk(&r, fetch, &f, now, &adv, &eb) == CMN_OK && adv == 0, "walking again: nothing new");
    struct cmn_errbuf e2 = {{0}};
    is_str(cmn_errname(cmn_root_walk(&r, fetch, &f, (int64_t)r->expires_at, &adv, &e2)), "expired",
           "an expired end of the walk is refused (%s)", e2.msg);
    cmn_root_free(r);

    r = chain_root(1);
    f = (struct fetch_ctx){3, 0, "below-threshold.json"};
    struct cmn_errbuf e3 = {{0}};
    is_str(cmn_errname(cmn_root_walk(&r, fetch, &f, now, &adv, &e3)), "bad_signature",
           "a walk stops at a refused successor (%s)", e3.msg);
    ok(r->version == 1 && adv == 0, "and keeps the last trusted root");
    cmn_root_free(r);

    /* an expired trusted root may still be walked from */
    r = chain_root(1);
    r->expires_at = now - 10; /* as if the embedded root had expired on the shelf */
    f = (struct fetch_ctx){2, 0, NULL};
    struct cmn_errbuf e4 = {{0}};
    ok(cmn_root_walk(&r, fetch, &f, now, &adv, &e4) == CMN_OK && r->version == 2,
       "walk forward from an expired trusted root to a current one (%s)", e4.msg);
    cmn_root_free(r);
}

static void test_manifests(const json_t *c)
{
    int64_t now = json_integer_value(json_object_get(c, "now"));
    size_t n1, n2;
    char *bym = slurp("manifests/by-manifest.json", &n1), *byo = slurp("manifests/by-other.json", &n2);
    struct cmn_manifest_expect ex = {"demo", NULL, NULL, 0};
    for (int v = 1; v <= 3; v++) {
        struct cmn_root *r = chain_root(v);
        struct cmn_manifest *m = NULL;
        struct cmn_errbuf e1 = {{0}}, e2 = {{0}};
        enum cmn_err a = cmn_root_open_manifest(r, bym, n1, &ex, now, &m, &e1);
        cmn_manifest_free(m);
        m = NULL;
        enum cmn_err b = cmn_root_open_manifest(r, byo, n2, &ex, now, &m, &e2);
        cmn_manifest_free(m);
        if (v == 1) {
            ok(a == CMN_OK && b == CMN_E_UNKNOWN_KEY, "root 1: only the first manifest key (%s)", e2.msg);
            ok(strstr(e2.msg, "not signed by a manifest key of root version 1"), "... says which root: %s", e2.msg);
        } else if (v == 2) {
            ok(a == CMN_OK && b == CMN_OK, "root 2: both keys during the rotation");
        } else {
            ok(a == CMN_E_UNKNOWN_KEY && b == CMN_OK, "root 3: the revoked key is refused, the new one accepted");
            const char *kid = json_string_value(json_object_get(json_object_get(c, "revoked_manifest"), "keyid"));
            char want[128];
            snprintf(want, sizeof(want), "signed by key %s, revoked by root version 3", kid);
            ok(strstr(e1.msg, want) != NULL, "the error names the revoked key: %s", e1.msg);
        }
        cmn_root_free(r);
    }
    free(bym);
    free(byo);
}

static void test_misc(void)
{
    char k[128];
    ok(cmn_root_storage_key("demo", 7, k, sizeof(k)) == 0 && strcmp(k, "roots/demo/7.json") == 0, "storage key");
    ok(cmn_root_storage_key("demo", 0, k, sizeof(k)) == 0 && strcmp(k, "roots/demo/root.json") == 0, "current key");
    ok(cmn_root_storage_key("../x", 1, k, sizeof(k)) != 0, "bad app refused");
    struct cmn_root *r = NULL;
    struct cmn_errbuf eb = {{0}};
    is_str(cmn_errname(cmn_root_open("", 0, NULL, &r, &eb)), "parse", "empty document");
    char big[100];
    memset(big, ' ', sizeof(big));
    is_str(cmn_errname(cmn_root_open(big, CMN_ROOT_MAX_BYTES + 1, NULL, &r, &eb)), "too_big", "oversized document");
    struct cmn_root *c1 = chain_root(1);
    size_t n;
    char *d = slurp("chain/1.json", &n);
    struct cmn_errbuf e2 = {{0}};
    is_str(cmn_errname(cmn_root_open(d, n, "other", &r, &e2)), "invalid", "another app's root (%s)", e2.msg);
    free(d);
    cmn_root_free(c1);
}

int main(void)
{
    if (cmn_crypto_init() != CMN_OK)
        return 1;
    json_t *c = cases();
    ok(c != NULL, "cases.json loads");
    if (c) {
        test_chain(c);
        test_rejected(c);
        test_seal();
        test_walk(c);
        test_manifests(c);
        test_misc();
    }
    json_decref(c);
    return done_testing();
}
