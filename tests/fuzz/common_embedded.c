/*
 * Fuzz target for the embedded-base registry parser (embedded.h). Checks: no
 * crash or overread; a registry that parses renders to bytes that parse
 * again to the same entries (render/parse round trip), every entry is
 * findable by its binary_version, and every key is the canonical one.
 */
#include "common/compat.h"

#include "common/embedded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmn_embedded r, g;
    struct cmn_buf out;
    char want[CMN_EMBEDDED_KEY_MAX];
    cmn_embedded_init(&r);
    cmn_embedded_init(&g);
    if (size > (1u << 20) || cmn_embedded_parse((const char *)data, size, "app", "android", &r, NULL) != CMN_OK)
        return 0;
    cmn_buf_init(&out, CMN_EMBEDDED_MAX_BYTES);
    if (cmn_embedded_render(&r, &out) != CMN_OK ||
        cmn_embedded_parse(out.ptr, out.len, "app", "android", &g, NULL) != CMN_OK || g.n != r.n)
        abort();
    for (size_t i = 0; i < r.n; i++) {
        const struct cmn_embedded_base *e = cmn_embedded_find(&g, r.v[i].binary_version);
        if (!e || strcmp(e->content_sha256, r.v[i].content_sha256) != 0 || e->size != r.v[i].size ||
            strcmp(e->added, r.v[i].added) != 0)
            abort();
        if (cmn_embedded_zip_key("app", "android", e->content_sha256, want, sizeof(want)) != CMN_OK ||
            strcmp(want, e->key) != 0)
            abort();
        if (i > 0 && strcmp(r.v[i - 1].binary_version, r.v[i].binary_version) >= 0)
            abort();
    }
    cmn_buf_release(&out);
    cmn_embedded_release(&r);
    cmn_embedded_release(&g);
    return 0;
}
