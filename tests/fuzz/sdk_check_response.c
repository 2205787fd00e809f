#include "common/compat.h"

/*
 * sdk_check_response - fuzz what the SDK parses from the network and from its
 * data dir. The first byte picks the parser:
 *   0  state.json (hp__state_parse), re-rendered and re-parsed when accepted
 *   1  a check answer / static manifest envelope, opened with cmn_manifest_open
 *      as hp_check does, then decided for a device with a blocklist
 *   2  a manifest payload, signed here with a process-local trusted key so the
 *      fuzzer reaches the payload parser and cmn_decide behind the signature
 *   3  a Content-Range header line (the download resume check)
 */

#include <jansson.h>

#include "../../sdk/hp_int.h"

static struct cmn_key key;
static int have_key;

static void decide(const struct cmn_manifest *m)
{
    const char *bl[] = {"r1", "bad"};
    struct cmn_device dev = {"device-1", "1.2.0", "r0", bl, 2};
    struct cmn_decision d;
    if (cmn_decide(m, &dev, NULL, NULL, &d) == CMN_OK && d.kind == CMN_DECIDE_UPDATE && d.index >= m->n_releases)
        abort();
}

static void open_and_decide(const char *doc, size_t n)
{
    struct cmn_keyring ring = {&key, 1};
    struct cmn_manifest_expect ex = {"demo", "android", "production", 3};
    struct cmn_manifest *m = NULL;
    if (cmn_manifest_open(doc, n, &ring, &ex, 1700000000, 0, &m, NULL) == CMN_OK) {
        decide(m);
        cmn_manifest_free(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!have_key) {
        if (cmn_crypto_init() || cmn_key_generate(&key))
            abort();
        have_key = 1;
    }
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        struct hp_state st;
        hp__state_init(&st);
        if (hp__state_parse(p, n, &st, NULL) == CMN_OK) {
            char *s = NULL;
            size_t len = 0;
            struct hp_state again;
            hp__state_init(&again);
            if (hp__state_render(&st, &s, &len) != CMN_OK || hp__state_parse(s, len, &again, NULL) != CMN_OK)
                abort(); /* what we accept we must be able to write back */
            hp__state_release(&again);
            free(s);
        }
        hp__state_release(&st);
        break;
    }
    case 1:
        open_and_decide(p, n);
        break;
    case 2: {
        uint8_t sig[CMN_SIG_BYTES];
        char sigb64[CMN_SIG_B64];
        if (cmn_sign(&key, CMN_SIGCTX_MANIFEST, p, n, sig) != CMN_OK)
            break;
        cmn_base64_encode(sig, sizeof sig, sigb64);
        json_t *env = json_pack("{s:s%, s:s, s:[{s:s, s:s}]}", "payload", p, n, "payload_type",
                                CMN_MANIFEST_PAYLOAD_TYPE, "signatures", "keyid", key.keyid, "sig", sigb64);
        char *doc = env ? json_dumps(env, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (doc)
            open_and_decide(doc, strlen(doc));
        free(doc);
        json_decref(env);
        break;
    }
    case 3: {
        long v = hp__content_range_start(p, n);
        if (v < -2)
            abort();
        break;
    }
    }
    return 0;
}
