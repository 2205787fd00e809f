/*
 * Fuzz target for manifest opening (manifest.h). Two modes, picked by the
 * first byte:
 *   'P' + text  the text is signed as a payload by the fuzz key and wrapped in
 *               an envelope, so the payload parser and validator are reached
 *               (a fuzzer cannot forge signatures);
 *   otherwise   the bytes are an envelope, opened with a keyring holding the
 *               published test manifest key (manifests/vectors/keys).
 * Whatever opens (with ALLOW_EXPIRED) is sealed again and re-opened: the
 * round trip must succeed and give the same payload bytes; cmn_decide runs on
 * it for a few devices.
 */
#include "common/compat.h"

#include "common/cjson.h"
#include "common/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1767225600
#define TEST_MANIFEST_PK "ARsrmzSKW4UJYUYpIxUGJUr10UGdGqq8mO8KG6fUlJE="

static struct cmn_key fuzz_key, test_key;
static int ready;

static int dev_list(void *ctx, const char *list, const char *dev)
{
    (void)ctx;
    return strcmp(list, "qa") == 0 && dev[0] == 'q';
}

static void exercise(const struct cmn_manifest *m)
{
    static const char *devs[] = {"dev-1", "q-2", "vip-1"};
    static const char *bins[] = {"2.3.0", "1.0.0", "3.0.0-beta"};
    for (size_t i = 0; i < 3; i++) {
        const char *cur = m->n_releases ? m->releases[i % m->n_releases].id : NULL;
        const char *bl[1] = {cur};
        struct cmn_device d = {devs[i], bins[i], cur, bl, i == 2};
        struct cmn_decision dc;
        if (cmn_decide(m, &d, i ? dev_list : NULL, NULL, &dc) != CMN_OK)
            abort();
        if (dc.kind == CMN_DECIDE_UPDATE && dc.index >= m->n_releases)
            abort();
    }
    /* Round trip: seal with the fuzz key, open, compare payload bytes. */
    struct cmn_buf env, p1, p2;
    cmn_buf_init(&env, CMN_MANIFEST_MAX_BYTES);
    cmn_buf_init(&p1, CMN_MANIFEST_MAX_BYTES);
    cmn_buf_init(&p2, CMN_MANIFEST_MAX_BYTES);
    struct cmn_keyring kr = {&fuzz_key, 1};
    struct cmn_manifest *again = NULL;
    if (cmn_manifest_seal(m, &fuzz_key, &env, NULL) != CMN_OK)
        goto out; /* an opened manifest may still exceed the cap once re-escaped */
    if (cmn_manifest_open(env.ptr, env.len, &kr, NULL, NOW, CMN_MANIFEST_ALLOW_EXPIRED, &again, NULL) != CMN_OK)
        abort();
    if (cmn_manifest_render_payload(m, &p1, NULL) != CMN_OK || cmn_manifest_render_payload(again, &p2, NULL) != CMN_OK)
        abort();
    if (p1.len != p2.len || memcmp(p1.ptr, p2.ptr, p1.len) != 0)
        abort();
out:
    cmn_manifest_free(again);
    cmn_buf_release(&env);
    cmn_buf_release(&p1);
    cmn_buf_release(&p2);
}

static void try_open(const char *doc, size_t len, const struct cmn_keyring *kr)
{
    struct cmn_manifest *m = NULL;
    struct cmn_errbuf eb = {0};
    struct cmn_manifest_expect ex = {NULL, NULL, NULL, 3};
    enum cmn_err rc = cmn_manifest_open(doc, len, kr, &ex, NOW, 0, &m, &eb);
    if (rc != CMN_OK && (m || !eb.msg[0]))
        abort();
    cmn_manifest_free(m);
    m = NULL;
    memset(&eb, 0, sizeof(eb));
    rc = cmn_manifest_open(doc, len, kr, NULL, NOW, CMN_MANIFEST_ALLOW_EXPIRED, &m, &eb);
    if (rc == CMN_OK) {
        if (cmn_manifest_validate(m, NULL) != CMN_OK)
            abort();
        exercise(m);
    }
    cmn_manifest_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (cmn_crypto_init() || cmn_key_generate(&fuzz_key) ||
            cmn_key_from_public_b64(TEST_MANIFEST_PK, &test_key, NULL))
            abort();
        ready = 1;
    }
    if (size > 0 && data[0] == 'P') {
        /* Build {"payload":<text>,"payload_type":...,"signatures":[...]} around the text. */
        uint8_t sig[CMN_SIG_BYTES];
        char s64[CMN_SIG_B64];
        if (cmn_sign(&fuzz_key, CMN_SIGCTX_MANIFEST, data + 1, size - 1, sig) != CMN_OK)
            abort();
        cmn_base64_encode(sig, sizeof(sig), s64);
        json_t *pl = json_stringn((const char *)data + 1, size - 1);
        if (!pl)
            return 0; /* not UTF-8: cannot be a payload string */
        json_t *e = json_pack("{s:o,s:s,s:[{s:s,s:s}]}", "payload", pl, "payload_type", CMN_MANIFEST_PAYLOAD_TYPE,
                              "signatures", "keyid", fuzz_key.keyid, "sig", s64);
        struct cmn_buf b;
        cmn_buf_init(&b, 2 * CMN_MANIFEST_MAX_BYTES);
        if (e && cmn_cjson_render(e, &b) == CMN_OK) {
            struct cmn_keyring kr = {&fuzz_key, 1};
            try_open(b.ptr, b.len, &kr);
        }
        json_decref(e);
        cmn_buf_release(&b);
        return 0;
    }
    struct cmn_keyring kr = {&test_key, 1};
    try_open((const char *)data, size, &kr);
    return 0;
}
