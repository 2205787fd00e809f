/*
 * Fuzz target for the seed 000/001 upload decoders (publisher/jsonreq.c):
 * the first byte picks metadata.json or signature.sig.
 */
#include "common/compat.h"

#include "pub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] % 2 == 0) {
        struct pub_seed_meta m;
        if (pub_seed_meta_parse(p, n, &m, NULL) == CMN_OK) {
            if (!m.version || !m.platform || !m.hash || m.rollout_pct < 0 || m.rollout_pct > 100 ||
                (m.app && !pub_valid_id(m.app)))
                abort();
            pub_seed_meta_release(&m);
        }
    } else {
        char out[CMN_SIG_B64];
        uint8_t raw[CMN_SIG_BYTES + 1];
        size_t k = 0;
        if (pub_seed_sig_parse(p, n, out) == 0 &&
            (cmn_base64_decode(out, strlen(out), raw, sizeof(raw), &k) != CMN_OK || k != CMN_SIG_BYTES))
            abort();
    }
    return 0;
}
