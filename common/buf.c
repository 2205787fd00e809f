/*
 * buf.c - capped growable buffer. Growth doubles from 64 bytes so appends are
 * amortised O(1); the cap is checked before any allocation.
 */
#include "common/compat.h"

#include "common/buf.h"

void cmn_buf_init(struct cmn_buf *b, size_t cap)
{
    b->ptr = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void cmn_buf_release(struct cmn_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->alloc = 0;
}

void cmn_buf_reset(struct cmn_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

enum cmn_err cmn_buf_add(struct cmn_buf *b, const void *p, size_t n)
{
    if (n > b->cap || b->len > b->cap - n) {
        cmn_buf_release(b);
        return CMN_E_TOOBIG;
    }
    size_t need = b->len + n + 1;
    if (need > b->alloc) {
        size_t a = b->alloc ? b->alloc : 64;
        while (a < need)
            a = (a > SIZE_MAX / 2) ? need : a * 2;
        if (a > b->cap + 1)
            a = b->cap + 1;
        char *np = realloc(b->ptr, a);
        if (!np) {
            cmn_buf_release(b);
            return CMN_E_NOMEM;
        }
        b->ptr = np;
        b->alloc = a;
    }
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return CMN_OK;
}

enum cmn_err cmn_buf_addstr(struct cmn_buf *b, const char *s)
{
    return cmn_buf_add(b, s, strlen(s));
}

enum cmn_err cmn_buf_vaddf(struct cmn_buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        cmn_buf_release(b);
        return CMN_E_INVAL;
    }
    if ((size_t)n < sizeof(small))
        return cmn_buf_add(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) {
        cmn_buf_release(b);
        return CMN_E_NOMEM;
    }
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    enum cmn_err rc = cmn_buf_add(b, big, (size_t)n);
    free(big);
    return rc;
}

enum cmn_err cmn_buf_addf(struct cmn_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum cmn_err rc = cmn_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *cmn_buf_take(struct cmn_buf *b, size_t *len)
{
    char *p = b->ptr;
    size_t n = b->len;
    if (!p) {
        p = calloc(1, 1);
        n = 0;
    }
    b->ptr = NULL;
    b->len = 0;
    b->alloc = 0;
    if (p && len)
        *len = n;
    return p;
}
