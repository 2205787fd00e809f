/*
 * Unit tests for edge-check/record.c: a verified manifest compiled into a
 * record and viewed back gives the same fields and, for thousands of device
 * ids, the same cmn_decide() answer as the manifest itself (inline targeting,
 * list targeting, halted/rolled-back states, mandatory); damaged records
 * (every truncation, random byte flips, hostile offsets) are refused without
 * a bad read. Legacy signatures (SPEC section 15) are carried from the
 * verified envelope, and only well-formed ones.
 */
#include "common/compat.h"

#include <sodium.h>

#include "../../../edge-check/record.c"
#include "../../lib/test.h"

static struct cmn_key K;
static char SIG[CMN_SIG_B64];

static void rel(struct cmn_release *r, const char *id, const char *version, const char *range, uint32_t bp,
                enum cmn_release_state st)
{
    memset(r, 0, sizeof(*r));
    r->id = (char *)id;
    r->version = (char *)version;
    r->target_binary = (char *)range;
    r->bundle_url = "bundles/demo/android/abc.zip";
    memset(r->sha256, 'b', 64);
    r->size = 4242;
    r->bundle_sig = SIG;
    memcpy(r->bundle_keyid, K.keyid, sizeof(r->bundle_keyid));
    r->rollout_bp = bp;
    r->state = st;
    r->created_at = 1700000000;
}

/* members of list "beta": devices whose number is divisible by 7 */
static int list_member(void *ctx, const char *list, const char *dev)
{
    (void)ctx;
    if (strcmp(list, "beta") != 0)
        return 0;
    const char *p = strrchr(dev, '-');
    return p && atoi(p + 1) % 7 == 0;
}

static struct cmn_manifest *sealed_and_opened(char **env, size_t *env_len)
{
    struct cmn_manifest *m = cmn_manifest_new("demo", "android", "production");
    struct cmn_release r;
    static char *ids[] = {"dev-10", "dev-3", "dev-42", "dev-5"}; /* not sorted on purpose? sorted by strcmp */
    m->sequence = 9;
    m->issued_at = 1700000000;
    m->expires_at = 4000000000LL;
    rel(&r, "r1", "1.0.0", ">=1.0.0 <2.0.0", 10000, CMN_REL_ACTIVE);
    r.mandatory = 1;
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    rel(&r, "r2", "1.1.0", "^1.2.0", 5000, CMN_REL_ACTIVE);
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    rel(&r, "r3", "1.2.0", "*", 10000, CMN_REL_ACTIVE);
    r.device_ids = ids;
    r.n_device_ids = 4;
    r.notes = "targeted \"fix\"\n";
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    rel(&r, "r4", "1.3.0", "1.x || 2.x", 10000, CMN_REL_ACTIVE);
    r.device_list = "beta";
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    rel(&r, "r5", "1.4.0", ">=1.0.0", 3000, CMN_REL_HALTED);
    if (cmn_manifest_add_release(m, &r))
        return NULL;
    rel(&r, "r6", "1.5.0", ">=1.5.0", 2000, CMN_REL_ROLLED_BACK);
    if (cmn_manifest_add_release(m, &r))
        return NULL;

    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    enum cmn_err rc = cmn_manifest_seal(m, &K, &b, &eb);
    cmn_manifest_free(m);
    if (rc) {
        diag("seal: %s", cmn_errmsg(&eb, rc));
        return NULL;
    }
    struct cmn_keyring kr = {&K, 1};
    struct cmn_manifest *o = NULL;
    rc = cmn_manifest_open(b.ptr, b.len, &kr, NULL, 1700000001, 0, &o, &eb);
    if (rc) {
        diag("open: %s", cmn_errmsg(&eb, rc));
        cmn_buf_release(&b);
        return NULL;
    }
    *env = cmn_buf_take(&b, env_len);
    return o;
}

int main(void)
{
    char *env = NULL;
    size_t env_len = 0;
    if (cmn_crypto_init() || cmn_key_generate(&K)) {
        ok(0, "crypto init");
        return done_testing();
    }
    uint8_t digest[32] = {1};
    if (cmn_bundle_sign(&K, digest, SIG))
        return 1;
    struct cmn_manifest *m = sealed_and_opened(&env, &env_len);
    ok(m != NULL, "test manifest sealed and opened");
    if (!m)
        return done_testing();

    struct cmn_buf rec;
    cmn_buf_init(&rec, 1 << 24);
    is_int(edge_rec_compile(m, env, env_len, 1234, &rec), CMN_OK, "compile");
    struct edge_view *v = calloc(1, sizeof(*v));
    is_int(edge_rec_view(rec.ptr, rec.len, "dev-3", v), CMN_OK, "view");
    is_int(v->m.n_releases, 6, "release count");
    is_int(v->m.sequence, 9, "sequence");
    is_int(v->m.expires_at, 4000000000LL, "expires_at");
    is_str(v->m.app, "demo", "app");
    is_str(v->m.channel, "production", "channel");
    is_str(v->m.signed_by, K.keyid, "signed_by kept");
    is_int(v->hdr.env_len, env_len, "envelope length");
    ok(memcmp(v->env, env, env_len) == 0, "envelope bytes identical");
    is_int(v->hdr.synced_at, 1234, "synced_at");
    ok(v->hdr.etag[0] == '"' && strlen(v->hdr.etag) == 66, "quoted sha256 etag");
    int fields = 1;
    for (size_t i = 0; i < m->n_releases; i++) {
        const struct cmn_release *a = &m->releases[i], *b = &v->rel[i];
        fields &= strcmp(a->id, b->id) == 0 && strcmp(a->version, b->version) == 0 &&
                  strcmp(a->target_binary, b->target_binary) == 0 && strcmp(a->bundle_url, b->bundle_url) == 0 &&
                  strcmp(a->sha256, b->sha256) == 0 && a->size == b->size &&
                  strcmp(a->bundle_sig, b->bundle_sig) == 0 && strcmp(a->bundle_keyid, b->bundle_keyid) == 0 &&
                  a->mandatory == b->mandatory && a->rollout_bp == b->rollout_bp && a->state == b->state &&
                  a->created_at == b->created_at && memcmp(&a->target, &b->target, sizeof(a->target)) == 0 &&
                  (!a->notes == !b->notes) && (!a->notes || strcmp(a->notes, b->notes) == 0) &&
                  (!a->device_list == !b->device_list) &&
                  (!a->device_list || strcmp(a->device_list, b->device_list) == 0);
    }
    ok(fields, "every release field survives the round trip");

    /* Same decision as the manifest itself for many devices, versions and installed releases. */
    static const char *const bins[] = {"1.0.0", "1.2.5", "1.5.0", "2.1.0", "0.9.0"};
    static const char *const curs[] = {NULL, "r1", "r2", "r5", "r6", "unknown"};
    int same = 1, n = 0, updates = 0, targeted_r3 = 0;
    char dev[32];
    for (int d = 0; d < 1000; d++) {
        snprintf(dev, sizeof(dev), "dev-%d", d);
        if (edge_rec_view(rec.ptr, rec.len, dev, v) != CMN_OK) {
            same = 0;
            break;
        }
        for (size_t bi = 0; bi < CMN_ARRAY_SIZE(bins); bi++) {
            for (size_t ci = 0; ci < CMN_ARRAY_SIZE(curs); ci++) {
                struct cmn_device dv = {.device_id = dev, .binary_version = bins[bi], .current_release = curs[ci]};
                struct cmn_decision a, b;
                enum cmn_err ra = cmn_decide(m, &dv, list_member, NULL, &a);
                enum cmn_err rb = cmn_decide(&v->m, &dv, list_member, NULL, &b);
                n++;
                if (ra != rb || a.kind != b.kind || a.mandatory != b.mandatory ||
                    (a.kind == CMN_DECIDE_UPDATE && a.index != b.index)) {
                    if (same)
                        diag("differs: %s bin %s cur %s", dev, bins[bi], curs[ci] ? curs[ci] : "-");
                    same = 0;
                }
                if (a.kind == CMN_DECIDE_UPDATE) {
                    updates++;
                    if (a.index == 2)
                        targeted_r3++;
                }
            }
        }
    }
    ok(same, "view decides like the manifest for %d device/version/current combinations", n);
    ok(updates > 1000 && targeted_r3 > 0, "the sample exercises updates (%d) and inline targeting (%d)", updates,
       targeted_r3);

    /* Inline membership is exact. */
    ok(edge_rec_view(rec.ptr, rec.len, "dev-42", v) == CMN_OK && v->rel[2].n_device_ids == 1 &&
           strcmp(v->rel[2].device_ids[0], "dev-42") == 0,
       "inline member sees itself");
    ok(edge_rec_view(rec.ptr, rec.len, "dev-4", v) == CMN_OK && strcmp(v->rel[2].device_ids[0], "") == 0,
       "non-member sees a list without it");
    ok(edge_rec_view(rec.ptr, rec.len, NULL, v) == CMN_OK && strcmp(v->rel[2].device_ids[0], "") == 0,
       "no device: nobody matches inline");

    /* The per-snapshot cache: same record + same txn id reuses the view but redoes inline targeting. */
    {
        struct edge_view *cv = calloc(1, sizeof(*cv));
        ok(edge_rec_view_cached(rec.ptr, rec.len, 5, "dev-42", cv) == CMN_OK &&
               strcmp(cv->rel[2].device_ids[0], "dev-42") == 0,
           "cached view built");
        ok(cv->src == rec.ptr && cv->src_txn == 5, "cache remembers the record and the snapshot");
        ok(edge_rec_view_cached(rec.ptr, rec.len, 5, "dev-4", cv) == CMN_OK &&
               strcmp(cv->rel[2].device_ids[0], "") == 0,
           "cache hit recomputes inline membership for another device");
        ok(edge_rec_view_cached(rec.ptr, rec.len, 5, "dev-5", cv) == CMN_OK &&
               strcmp(cv->rel[2].device_ids[0], "dev-5") == 0 && cv->self[0] != NULL,
           "... and back to a member");
        char *copy = malloc(rec.len);
        memcpy(copy, rec.ptr, rec.len);
        struct edge_rec_hdr hh;
        memcpy(&hh, copy, sizeof(hh));
        hh.sequence = 77;
        memcpy(copy, &hh, sizeof(hh));
        ok(edge_rec_view_cached(copy, rec.len, 5, "dev-5", cv) == CMN_OK && cv->m.sequence == 77,
           "another record is rebuilt");
        memcpy(copy, rec.ptr, rec.len);
        ok(edge_rec_view_cached(copy, rec.len, 6, "dev-5", cv) == CMN_OK && cv->m.sequence == 9,
           "same address in a new snapshot is rebuilt");
        copy[0] ^= 1;
        ok(edge_rec_view_cached(copy, rec.len, 7, "dev-5", cv) == CMN_E_PARSE && cv->src == NULL,
           "a damaged record is refused and not cached");
        ok(edge_rec_view_cached(rec.ptr, rec.len, 0, "dev-5", cv) == CMN_OK && cv->src_txn == 0,
           "txn id 0 disables the cache");
        free(copy);
        free(cv);
    }

    /* Every truncation is refused. */
    int trunc_ok = 1;
    for (size_t k = 0; k < rec.len; k++) {
        char *g = test_guard_alloc(rec.ptr, k);
        if (edge_rec_view(g, k, "dev-1", v) != CMN_E_PARSE)
            trunc_ok = 0;
        test_guard_free(g);
    }
    ok(trunc_ok, "all %zu truncations refused", rec.len);

    /* Random damage: must never read out of bounds (ASan / guard page), either answer is fine. */
    srand(7);
    int parsed = 0;
    for (int t = 0; t < 3000; t++) {
        char *g = test_guard_alloc(rec.ptr, rec.len);
        int flips = 1 + rand() % 4;
        for (int f = 0; f < flips; f++)
            g[rand() % (sizeof(struct edge_rec_hdr) + 6 * sizeof(struct edge_rec_rel))] ^= (char)(1 + rand() % 255);
        if (edge_rec_view(g, rec.len, "dev-1", v) == CMN_OK) {
            parsed++;
            struct cmn_device dv = {.device_id = "dev-1", .binary_version = "1.2.0"};
            struct cmn_decision d;
            if (cmn_decide(&v->m, &dv, list_member, NULL, &d) == CMN_OK && d.kind == CMN_DECIDE_UPDATE)
                (void)strlen(v->rel[d.index].id);
        }
        test_guard_free(g);
    }
    ok(1, "3000 damaged records handled (%d still parsed)", parsed);

    /* Hostile header fields. */
    struct edge_rec_hdr h;
    memcpy(&h, rec.ptr, sizeof(h));
    char *bad = malloc(rec.len);
    memcpy(bad, rec.ptr, rec.len);
    h.n_releases = 100000;
    memcpy(bad, &h, sizeof(h));
    is_int(edge_rec_view(bad, rec.len, "d", v), CMN_E_PARSE, "absurd release count refused");
    memcpy(&h, rec.ptr, sizeof(h));
    h.env_len = (uint32_t)rec.len;
    memcpy(bad, &h, sizeof(h));
    is_int(edge_rec_view(bad, rec.len, "d", v), CMN_E_PARSE, "envelope past the end refused");
    memcpy(&h, rec.ptr, sizeof(h));
    h.magic = 0;
    memcpy(bad, &h, sizeof(h));
    is_int(edge_rec_view(bad, rec.len, "d", v), CMN_E_PARSE, "bad magic refused");
    memcpy(bad, rec.ptr, rec.len);
    bad[rec.len - 1] = 'x';
    is_int(edge_rec_view(bad, rec.len, "d", v), CMN_E_PARSE, "missing final NUL refused");
    memcpy(bad, rec.ptr, rec.len);
    {
        struct edge_rec_rel e;
        memcpy(&e, rec.ptr + sizeof(h), sizeof(e));
        e.target.nsets = 9;
        memcpy(bad + sizeof(h), &e, sizeof(e));
        is_int(edge_rec_view(bad, rec.len, "d", v), CMN_E_PARSE, "range with too many sets refused");
        memcpy(&e, rec.ptr + sizeof(h), sizeof(e));
        e.off_id = (uint32_t)rec.len;
        memcpy(bad + sizeof(h), &e, sizeof(e));
        is_int(edge_rec_view(bad, rec.len, "d", v), CMN_E_PARSE, "string offset past the end refused");
        memcpy(&e, rec.ptr + sizeof(h), sizeof(e));
        e.state = 77;
        memcpy(bad + sizeof(h), &e, sizeof(e));
        is_int(edge_rec_view(bad, rec.len, "d", v), CMN_E_PARSE, "unknown state refused");
    }
    free(bad);

    /* Present-but-empty inline targeting stays "targets nobody by id". */
    {
        struct cmn_manifest *e = cmn_manifest_new("demo", "android", "beta");
        struct cmn_release r;
        static char *none[1];
        rel(&r, "only", "1.0.0", "*", 10000, CMN_REL_ACTIVE);
        r.device_ids = none;
        r.n_device_ids = 0;
        ok(cmn_manifest_add_release(e, &r) == CMN_OK, "built manifest with empty device_ids");
        struct cmn_buf r2;
        cmn_buf_init(&r2, 1 << 20);
        is_int(edge_rec_compile(e, "{}", 2, 0, &r2), CMN_OK, "compile empty-targeting manifest");
        ok(edge_rec_view(r2.ptr, r2.len, "dev-1", v) == CMN_OK && v->rel[0].device_ids != NULL &&
               v->rel[0].n_device_ids == 0,
           "empty device_ids stays present");
        struct cmn_device dv = {.device_id = "dev-1", .binary_version = "1.0.0"};
        struct cmn_decision a, b;
        ok(cmn_decide(e, &dv, NULL, NULL, &a) == CMN_OK && cmn_decide(&v->m, &dv, NULL, NULL, &b) == CMN_OK &&
               a.kind == b.kind,
           "same decision for empty inline targeting");
        cmn_buf_release(&r2);
        cmn_manifest_free(e);
    }

    /* CodePush members (SPEC section 16) survive the record; damaged key offsets are refused. */
    {
        struct cmn_manifest *e = cmn_manifest_new("demo", "android", "cp");
        struct cmn_release r;
        char h1[CMN_SHA256_HEX], h2[CMN_SHA256_HEX];
        memset(h1, 'a', 64), h1[64] = '\0';
        memset(h2, '2', 64), h2[64] = '\0';
        rel(&r, "one", "1.0.0", "*", 10000, CMN_REL_ACTIVE);
        memset(r.codepush_hash, 'c', 64);
        r.codepush_hash[64] = '\0';
        ok(cmn_manifest_add_release(e, &r) == CMN_OK && cmn_manifest_codepush_key_add(e, h1) == CMN_OK &&
               cmn_manifest_codepush_key_add(e, h2) == CMN_OK,
           "built manifest with codepush members");
        rel(&r, "two", "1.0.1", "*", 10000, CMN_REL_ACTIVE);
        ok(cmn_manifest_add_release(e, &r) == CMN_OK, "and a release without a package hash");
        struct cmn_buf r2;
        cmn_buf_init(&r2, 1 << 20);
        is_int(edge_rec_compile(e, "{}", 2, 0, &r2), CMN_OK, "compile codepush manifest");
        ok(edge_rec_view(r2.ptr, r2.len, "dev-1", v) == CMN_OK && v->m.n_codepush_keys == 2 &&
               strcmp(v->m.codepush_keys[0], h2) == 0 && strcmp(v->m.codepush_keys[1], h1) == 0,
           "key hashes in the view, sorted");
        ok(cmn_manifest_codepush_key_find(&v->m, h1) == 1 && cmn_manifest_codepush_key_find(&v->m, "x") < 0,
           "found through the view");
        ok(v->rel[0].codepush_hash[0] == 'c' && strlen(v->rel[0].codepush_hash) == 64 &&
               v->rel[1].codepush_hash[0] == '\0',
           "package hash per release (absent stays absent)");
        struct edge_rec_hdr hh;
        char *dam = malloc(r2.len);
        memcpy(&hh, r2.ptr, sizeof(hh));
        struct edge_rec_hdr h2h = hh;
        h2h.n_cp_keys = 1000;
        memcpy(dam, r2.ptr, r2.len);
        memcpy(dam, &h2h, sizeof(h2h));
        is_int(edge_rec_view(dam, r2.len, "d", v), CMN_E_PARSE, "key count past the cap refused");
        h2h = hh;
        h2h.off_cp_keys = (uint32_t)r2.len - 10;
        memcpy(dam, &h2h, sizeof(h2h));
        is_int(edge_rec_view(dam, r2.len, "d", v), CMN_E_PARSE, "keys running past the record refused");
        memcpy(dam, r2.ptr, r2.len);
        dam[hh.off_cp_keys + 64] = 'x';
        is_int(edge_rec_view(dam, r2.len, "d", v), CMN_E_PARSE, "unterminated key hash refused");
        free(dam);
        cmn_buf_release(&r2);
        cmn_manifest_free(e);
    }

    /*
     * Legacy signatures (SPEC section 15) travel in the record from the
     * envelope the sync verified, so the seed check does no verification:
     * carried when the verified manifest has one, absent otherwise; an
     * envelope whose legacy_signature was changed after signing does not
     * open (its release never reaches a record); a malformed one is left
     * out; a damaged record is refused.
     */
    {
        uint8_t dg[CMN_SHA256_BYTES], sig[CMN_SIG_BYTES];
        char lsig[CMN_SIG_B64];
        memset(dg, 0xbb, sizeof(dg));
        ok(crypto_sign_ed25519_detached(sig, NULL, dg, sizeof(dg), K.sk) == 0, "a legacy signature (bare digest)");
        cmn_base64_encode(sig, sizeof(sig), lsig);
        struct cmn_manifest *e = cmn_manifest_new("legacy-app", "android", "production");
        struct cmn_release r;
        e->sequence = 3;
        e->issued_at = 1700000000;
        e->expires_at = 4000000000LL;
        rel(&r, "l1", "2.0.0", "*", 10000, CMN_REL_ACTIVE);
        r.legacy_signature = lsig;
        ok(cmn_manifest_add_release(e, &r) == CMN_OK, "release l1 with a legacy signature");
        rel(&r, "l2", "2.1.0", "*", 10000, CMN_REL_ACTIVE);
        ok(cmn_manifest_add_release(e, &r) == CMN_OK, "release l2 without one");
        struct cmn_buf sealed, r2;
        struct cmn_errbuf eb = {{0}};
        cmn_buf_init(&sealed, CMN_MANIFEST_MAX_BYTES);
        is_int(cmn_manifest_seal(e, &K, &sealed, &eb), CMN_OK, "sealed");
        cmn_manifest_free(e);
        struct cmn_keyring kr = {&K, 1};
        struct cmn_manifest *o = NULL;
        is_int(cmn_manifest_open(sealed.ptr, sealed.len, &kr, NULL, 1700000001, 0, &o, &eb), CMN_OK, "opened");
        cmn_buf_init(&r2, 1 << 20);
        is_int(o ? edge_rec_compile(o, sealed.ptr, sealed.len, 0, &r2) : CMN_E_INVAL, CMN_OK, "compiled");
        ok(edge_rec_view(r2.ptr, r2.len, "dev-1", v) == CMN_OK && v->rel[0].legacy_signature &&
               !strcmp(v->rel[0].legacy_signature, lsig),
           "the record carries l1's verified legacy signature");
        ok(v->rel[1].legacy_signature == NULL, "and none for l2");

        /* changed after signing: the envelope's signature no longer verifies, nothing is compiled */
        char *tampered = malloc(sealed.len);
        memcpy(tampered, sealed.ptr, sealed.len);
        char *at = memmem(tampered, sealed.len, lsig, strlen(lsig));
        ok(at != NULL, "the legacy signature is inside the envelope's signed bytes");
        if (at)
            at[10] = at[10] == 'A' ? 'B' : 'A';
        struct cmn_manifest *t = NULL;
        is_int(cmn_manifest_open(tampered, sealed.len, &kr, NULL, 1700000001, 0, &t, &eb), CMN_E_SIG,
               "an envelope whose legacy_signature was changed does not open: the sync refuses it");
        ok(t == NULL, "so no record (and no release) comes from it");
        free(tampered);

        /* a manifest handed over with a malformed legacy signature: left out, the seed check answers ours */
        struct cmn_buf r3;
        cmn_buf_init(&r3, 1 << 20);
        char *keep = o ? o->releases[0].legacy_signature : NULL;
        if (o)
            o->releases[0].legacy_signature = "bm90IGEgc2lnbmF0dXJl";
        is_int(o ? edge_rec_compile(o, sealed.ptr, sealed.len, 0, &r3) : CMN_E_INVAL, CMN_OK,
               "compiled with a malformed legacy signature");
        if (o)
            o->releases[0].legacy_signature = keep;
        ok(edge_rec_view(r3.ptr, r3.len, "dev-1", v) == CMN_OK && v->rel[0].legacy_signature == NULL,
           "a malformed legacy signature is not carried");
        cmn_buf_release(&r3);

        /* a damaged record: the signature's offset moved onto a shorter string */
        struct edge_rec_hdr hh;
        struct edge_rec_rel er;
        memcpy(&hh, r2.ptr, sizeof(hh));
        memcpy(&er, r2.ptr + sizeof(hh), sizeof(er));
        char *dam = malloc(r2.len);
        memcpy(dam, r2.ptr, r2.len);
        er.off_legacy_sig = er.off_version;
        memcpy(dam + sizeof(hh), &er, sizeof(er));
        is_int(edge_rec_view(dam, r2.len, "d", v), CMN_E_PARSE, "a legacy signature of the wrong length refused");
        memcpy(&er, r2.ptr + sizeof(hh), sizeof(er));
        er.off_legacy_sig = (uint32_t)r2.len;
        memcpy(dam + sizeof(hh), &er, sizeof(er));
        is_int(edge_rec_view(dam, r2.len, "d", v), CMN_E_PARSE, "a legacy signature offset past the end refused");
        free(dam);
        cmn_buf_release(&r2);
        cmn_buf_release(&sealed);
        cmn_manifest_free(o);
    }

    free(v);
    cmn_buf_release(&rec);
    cmn_manifest_free(m);
    free(env);
    return done_testing();
}
