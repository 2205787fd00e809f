/*
 * edge_query.c - fuzz target for query-string handling: the pair iterator
 * and percent-decoding (common/http1.c) as the edge uses them, and the
 * id/device validators that decoded values go through (edge-check/index.c).
 * Decoded output must stay inside its buffer, be NUL-terminated, contain no
 * NUL, and never be longer than its input.
 */
#include "common/compat.h"

#include "common/http1.h"
#include "../../edge-check/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmn_slice rest = {(const char *)data, size}, k, v;
    char out[512], kout[64];
    size_t pairs = 0;
    while (cmn_query_next(&rest, &k, &v)) {
        if (k.p < (const char *)data || k.p + k.n > (const char *)data + size || v.p + v.n > (const char *)data + size)
            abort();
        if (++pairs > size + 1)
            abort();
        for (int plus = 0; plus < 2; plus++) {
            long n = cmn_pct_decode(v, out, sizeof(out), plus);
            if (n >= 0) {
                if ((size_t)n > v.n || out[n] != '\0' || memchr(out, '\0', (size_t)n))
                    abort();
                (void)cmn_id_valid_n(out, (size_t)n);
                (void)edge_valid_device(out, (size_t)n);
            }
        }
        (void)cmn_pct_decode(k, kout, sizeof(kout), 1);
        /* tiny buffers: the terminator must still fit */
        char tiny[2];
        long t = cmn_pct_decode(v, tiny, sizeof(tiny), 0);
        if (t > 1)
            abort();
    }
    return 0;
}
