/*
 * Fuzz target for publisher/multipart.c: the input is fed as a multipart
 * body (boundary "xYz") in chunks whose sizes come from the first byte, and
 * also given to the Content-Type boundary parser. Parts are consumed by
 * callbacks that check the parser's promises (names NUL-terminated, data
 * pieces non-empty, begin/end balanced).
 */
#include "common/compat.h"

#include "pub_multipart.h"

struct st {
    int open;
    size_t total;
};

static int on_begin(void *ctx, const struct pub_mp_part *p)
{
    struct st *s = ctx;
    if (s->open || strnlen(p->name, sizeof(p->name)) >= sizeof(p->name) || !p->name[0])
        abort();
    s->open = 1;
    return 0;
}

static int on_data(void *ctx, const void *p, size_t n)
{
    struct st *s = ctx;
    if (!s->open || n == 0)
        abort();
    s->total += n;
    return 0;
}

static int on_end(void *ctx)
{
    struct st *s = ctx;
    if (!s->open)
        abort();
    s->open = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *ct = malloc(size + 1);
    if (!ct)
        return 0;
    memcpy(ct, data, size);
    ct[size] = '\0';
    char b[PUB_MP_MAX_BOUNDARY + 1];
    if (pub_mp_boundary(ct, b, NULL) == CMN_OK && strlen(b) == 0)
        abort();
    free(ct);
    if (size == 0)
        return 0;
    size_t step = (size_t)(data[0] % 17) + 1;
    struct st s = {0, 0};
    struct pub_mp mp;
    struct pub_mp_cb cb = {on_begin, on_data, on_end, &s};
    pub_mp_init(&mp, "xYz", &cb);
    size_t off = 1;
    enum cmn_err rc = CMN_OK;
    while (off < size && !rc) {
        size_t n = size - off < step ? size - off : step;
        rc = pub_mp_feed(&mp, data + off, n, NULL);
        off += n;
    }
    if (!rc && pub_mp_finish(&mp, NULL) == CMN_OK && s.open)
        abort(); /* a completed body has no open part */
    if (s.total > size)
        abort();
    return 0;
}
