/*
 * Fuzz target for the strict JSON parser and canonical renderer (cjson.h).
 * Properties checked on every input that parses: rendering succeeds, the
 * rendering is canonical, and parse(render(x)) renders to the same bytes
 * (canonical form is a fixed point).
 */
#include "common/compat.h"

#include "common/cjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL, *w = NULL;
    struct cmn_errbuf eb = {0};
    if (cmn_cjson_parse((const char *)data, size, 1 << 20, &v, &eb) != CMN_OK) {
        if (!eb.msg[0])
            abort(); /* every failure explains itself */
        return 0;
    }
    struct cmn_buf a, b;
    cmn_buf_init(&a, 4u << 20);
    cmn_buf_init(&b, 4u << 20);
    if (cmn_cjson_render(v, &a) != CMN_OK)
        abort();
    if (!cmn_cjson_is_canonical(a.ptr, a.len))
        abort();
    if (cmn_cjson_parse(a.ptr, a.len, 4u << 20, &w, NULL) != CMN_OK)
        abort();
    if (cmn_cjson_render(w, &b) != CMN_OK || a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
        abort();
    if (a.len <= size &&
        cmn_cjson_is_canonical((const char *)data, size) != (a.len == size && memcmp(a.ptr, data, size) == 0))
        abort();
    json_decref(v);
    json_decref(w);
    cmn_buf_release(&a);
    cmn_buf_release(&b);
    return 0;
}
