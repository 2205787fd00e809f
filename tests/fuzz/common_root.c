/*
 * Fuzz target for the root of trust parser (root.h). The input is treated
 * three ways: opened as a trusted (embedded) root, accepted as the successor
 * of the golden chain's version 1 (whose keys are the published test root
 * keys, manifests/vectors/roots/keys), and parsed without signatures as the
 * CLI's `root sign` does. Whatever parses unverified is re-sealed with no
 * signature and parsed again: the payload must round-trip to the same
 * fields. A payload-only mode ('P' + text) wraps the text in an envelope so
 * the payload parser is reached without a signature.
 */
#include "common/compat.h"

#include "common/cjson.h"
#include "common/root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* manifests/vectors/roots/chain/1.json (root keys a, b, c; threshold 2) */
static const char CHAIN1[] =
#include "common_root_chain1.inc"
    ;

static struct cmn_root *trusted;

static void roundtrip(const struct cmn_root *r)
{
    struct cmn_buf env;
    struct cmn_root *back = NULL;
    cmn_buf_init(&env, CMN_ROOT_MAX_BYTES);
    if (cmn_root_seal(r, NULL, 0, &env, NULL) != CMN_OK)
        abort(); /* whatever parsed is valid, so it renders */
    if (cmn_root_parse_unverified(env.ptr, env.len, &back, NULL) != CMN_OK)
        abort();
    if (back->version != r->version || back->n_root_keys != r->n_root_keys || back->threshold != r->threshold ||
        back->n_manifest_keys != r->n_manifest_keys || back->n_revoked != r->n_revoked || strcmp(back->app, r->app))
        abort();
    cmn_root_free(back);
    cmn_buf_release(&env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmn_root *r = NULL;
    if (!trusted) {
        if (cmn_crypto_init() != CMN_OK || cmn_root_open(CHAIN1, sizeof(CHAIN1) - 1, "demo", &trusted, NULL))
            abort();
    }
    if (size > 0 && data[0] == 'P') {
        /* payload mode: wrap the text as an unsigned envelope */
        json_t *e = json_pack("{s:s%,s:s,s:[]}", "payload", (const char *)data + 1, size - 1, "payload_type",
                              CMN_ROOT_PAYLOAD_TYPE, "signatures");
        char *txt = e ? json_dumps(e, JSON_COMPACT) : NULL;
        if (txt && cmn_root_parse_unverified(txt, strlen(txt), &r, NULL) == CMN_OK) {
            roundtrip(r);
            cmn_root_free(r);
            r = NULL;
        }
        free(txt);
        json_decref(e);
        return 0;
    }
    if (cmn_root_open(data, size, NULL, &r, NULL) == CMN_OK) {
        roundtrip(r);
        cmn_root_free(r);
        r = NULL;
    }
    if (cmn_root_accept(trusted, data, size, &r, NULL) == CMN_OK) {
        if (r->version != trusted->version + 1)
            abort();
        cmn_root_free(r);
        r = NULL;
    }
    if (cmn_root_parse_unverified(data, size, &r, NULL) == CMN_OK) {
        roundtrip(r);
        cmn_root_free(r);
    }
    return 0;
}
