/*
 * Fuzz target for the snapshot framing (feed.h cmn_snapshot_*). Checks: no
 * crash or overread (every envelope slice lies inside the input); a snapshot
 * read to its end re-encodes with the writer functions to the same bytes.
 */
#include "common/compat.h"

#include "common/feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmn_snapshot_reader r;
    struct cmn_snapshot_item it;
    struct cmn_buf out;
    enum cmn_err rc;
    if (size > (4u << 20) || cmn_snapshot_begin(&r, data, size, NULL) != CMN_OK)
        return 0;
    cmn_buf_init(&out, size + 64);
    if (cmn_snapshot_add_header(&out, r.created_at) != CMN_OK)
        abort();
    uint64_t n = 0;
    while ((rc = cmn_snapshot_next(&r, &it, NULL)) == CMN_OK) {
        if (it.env < (const char *)data || it.env + it.env_len > (const char *)data + size)
            abort();
        if (cmn_snapshot_add(&out, it.key, it.sequence, it.etag, it.env, it.env_len) != CMN_OK)
            abort();
        n++;
    }
    if (rc == CMN_E_NOTFOUND) {
        if (cmn_snapshot_add_trailer(&out, n) != CMN_OK || out.len != size || memcmp(out.ptr, data, size) != 0)
            abort();
    }
    cmn_buf_release(&out);
    return 0;
}
