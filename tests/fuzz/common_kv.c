/*
 * Fuzz target for the key = value reader (kv.h). The first byte picks the
 * flags (quoted values, trailing comments); the rest is the file. Checks: no
 * crash or overread; every key reported is 1..63 bytes of [a-z0-9_]; every
 * value is no longer than the input and holds no '\n'; a syntax error names
 * a line; parsing is deterministic (a second pass reports the same count).
 */
#include "common/compat.h"

#include "common/kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    size_t n, total;
    size_t limit;
};

static enum cmn_err on_kv(void *ctx, const char *key, const char *val, size_t vlen, struct cmn_errbuf *eb)
{
    struct seen *s = ctx;
    size_t kl = strlen(key);
    if (kl == 0 || kl > CMN_KV_KEY_MAX || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != kl)
        abort();
    if (vlen > s->limit || memchr(val, '\n', vlen) || val[vlen] != '\0')
        abort();
    s->n++;
    s->total += vlen;
    return CMN_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    struct cmn_kv_opts o = {.flags = data[0] & 3u, .max_line = (data[0] & 4u) ? 80 : 0, .what = "line"};
    struct seen a = {.limit = size}, b = {.limit = size};
    struct cmn_errbuf eb = {{0}}, eb2 = {{0}};
    enum cmn_err r1 = cmn_kv_parse((const char *)data + 1, size - 1, &o, on_kv, &a, &eb);
    enum cmn_err r2 = cmn_kv_parse((const char *)data + 1, size - 1, &o, on_kv, &b, &eb2);
    if (r1 != r2 || a.n != b.n || a.total != b.total || strcmp(eb.msg, eb2.msg) != 0)
        abort();
    if (r1 == CMN_E_PARSE && strncmp(eb.msg, "line ", 5) != 0)
        abort();
    return 0;
}
