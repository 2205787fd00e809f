/*
 * rawzip.h - a minimal zip writer (stored entries) for the tests of zip
 * readers (tests/unit/sdk/extract_test.c, tests/unit/common/patchset_test.c):
 * it writes what libzip will not produce, such as exact names like "../x" or
 * "/abs", symlink and device external attributes, duplicate names, and
 * uncompressed sizes that lie.
 */
#ifndef TESTS_LIB_RAWZIP_H
#define TESTS_LIB_RAWZIP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static inline uint32_t crc32_of(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

struct raw_entry {
    const char *name;
    const char *data;
    uint32_t ext_attr; /* high 16 bits: Unix mode */
    uint8_t opsys;     /* 3 = Unix */
    int lie_size;      /* declare this many fewer uncompressed bytes than there are (negative: more) */
};

static inline void add(struct cmn_buf *b, const void *p, size_t n)
{
    if (cmn_buf_add(b, p, n) != CMN_OK)
        abort();
}

static inline void put16(struct cmn_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    add(b, x, 2);
}

static inline void put32(struct cmn_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    add(b, x, 4);
}

/* nlens[i], when nlens is given, is the byte length of e[i].name (names with a NUL byte). */
static inline void raw_zip_n(struct cmn_buf *out, const struct raw_entry *e, size_t n, const size_t *nlens)
{
    struct cmn_buf cd;
    uint32_t offs[32];
    cmn_buf_init(out, 1 << 20);
    cmn_buf_init(&cd, 1 << 20);
    for (size_t i = 0; i < n; i++) {
        size_t nl = nlens ? nlens[i] : strlen(e[i].name), dl = strlen(e[i].data);
        uint32_t crc = crc32_of(e[i].data, dl);
        uint32_t usize = (uint32_t)dl - (uint32_t)e[i].lie_size;
        offs[i] = (uint32_t)out->len;
        put32(out, 0x04034b50u);
        put16(out, 20);
        put16(out, 0);
        put16(out, 0);
        put16(out, 0);
        put16(out, 0x21);
        put32(out, crc);
        put32(out, (uint32_t)dl);
        put32(out, usize);
        put16(out, (uint16_t)nl);
        put16(out, 0);
        add(out, e[i].name, nl);
        add(out, e[i].data, dl);

        put32(&cd, 0x02014b50u);
        put16(&cd, (uint16_t)((e[i].opsys << 8) | 20));
        put16(&cd, 20);
        put16(&cd, 0);
        put16(&cd, 0);
        put16(&cd, 0);
        put16(&cd, 0x21);
        put32(&cd, crc);
        put32(&cd, (uint32_t)dl);
        put32(&cd, usize);
        put16(&cd, (uint16_t)nl);
        put16(&cd, 0);
        put16(&cd, 0);
        put16(&cd, 0);
        put16(&cd, 0);
        put32(&cd, e[i].ext_attr);
        put32(&cd, offs[i]);
        add(&cd, e[i].name, nl);
    }
    uint32_t cd_off = (uint32_t)out->len;
    add(out, cd.ptr, cd.len);
    put32(out, 0x06054b50u);
    put16(out, 0);
    put16(out, 0);
    put16(out, (uint16_t)n);
    put16(out, (uint16_t)n);
    put32(out, (uint32_t)cd.len);
    put32(out, cd_off);
    put16(out, 0);
    cmn_buf_release(&cd);
}

static inline void raw_zip(struct cmn_buf *out, const struct raw_entry *e, size_t n)
{
    raw_zip_n(out, e, n, NULL);
}

#endif
