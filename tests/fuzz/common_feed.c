/*
 * Fuzz target for the change feed parser (feed.h). Checks: no crash or
 * overread; a feed that parses renders to bytes that parse again to the same
 * entries (render/parse round trip), and every entry is findable by its key.
 */
#include "common/compat.h"

#include "common/feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmn_feed f, g;
    struct cmn_buf out;
    cmn_feed_init(&f);
    cmn_feed_init(&g);
    if (size > (1u << 20) || cmn_feed_parse((const char *)data, size, &f, NULL) != CMN_OK)
        return 0;
    cmn_buf_init(&out, CMN_FEED_MAX_BYTES);
    if (cmn_feed_render(&f, &out) != CMN_OK || cmn_feed_parse(out.ptr, out.len, &g, NULL) != CMN_OK || g.n != f.n ||
        g.rev != f.rev)
        abort();
    for (size_t i = 0; i < f.n; i++) {
        const struct cmn_feed_entry *e = cmn_feed_find(&g, f.v[i].key);
        if (!e || e->sequence != f.v[i].sequence || strcmp(e->etag, f.v[i].etag) != 0 || e->rev != f.v[i].rev)
            abort();
    }
    cmn_buf_release(&out);
    cmn_feed_release(&f);
    cmn_feed_release(&g);
    return 0;
}
