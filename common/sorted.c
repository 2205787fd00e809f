/*
 * sorted.c - binary search and insertion for vectors of structs sorted by a
 * string member (sorted.h).
 */
#include "common/compat.h"

#include "common/sorted.h"

long cmn_sorted_find(const void *v, size_t n, size_t size, size_t key_off, const char *key)
{
    const char *base = v;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(base + mid * size + key_off, key);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

void *cmn_sorted_open_slot(void *v, size_t *n, size_t *cap, size_t size, size_t at, size_t first_cap)
{
    char *base = v;
    if (at > *n || size == 0)
        return NULL;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : (first_cap ? first_cap : 1);
        if (nc < *cap || nc > SIZE_MAX / size)
            return NULL;
        char *nv = realloc(base, nc * size);
        if (!nv)
            return NULL;
        base = nv;
        *cap = nc;
    }
    memmove(base + (at + 1) * size, base + at * size, (*n - at) * size);
    memset(base + at * size, 0, size);
    (*n)++;
    return base;
}
