/*
 * Fuzz target for the fast installation batch decoder (publisher/jsonreq.c,
 * pub_batch_fast_installs): differential against the strict jansson path on
 * the same bytes (tests/unit/publisher/evbatch_diff.h). The first byte picks
 * the event cap (0..15, or 1000), so declines at the cap are exercised too.
 */
#include "common/compat.h"

#include "../unit/publisher/evbatch_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t max_events = data[0] & 0x10 ? 1000 : (size_t)(data[0] & 0x0f);
    if (evbatch_diff((const char *)data + 1, size - 1, 1u << 20, max_events) < 0)
        abort();
    return 0;
}
