/*
 * sorted.h - vectors of structs kept sorted by a NUL-terminated string
 * member, compared as bytes (strcmp): the change feed's entries by key, the
 * embedded registry's bases by binary_version. One binary search and one
 * insertion, so the two documents cannot disagree on their order.
 */
#ifndef COMMON_SORTED_H
#define COMMON_SORTED_H

#include <stddef.h>

/*
 * Find `key` in v[0..n), elements of `size` bytes whose string member sits
 * at byte offset key_off (offsetof). Returns its index, or -(insertion
 * point)-1 when absent, so that `-i - 1` is where it would go.
 */
long cmn_sorted_find(const void *v, size_t n, size_t size, size_t key_off, const char *key);

/*
 * Open a zeroed slot at index `at` (0..*n) of the vector v (*n elements of
 * `size` bytes, room for *cap), growing it by doubling from first_cap when
 * full, and count it in *n. Returns the vector's new address (the caller
 * stores it; the slot is at index `at`), or NULL when out of memory (or
 * `at` is past *n), in which case v, *n and *cap are unchanged and v is
 * still valid.
 */
void *cmn_sorted_open_slot(void *v, size_t *n, size_t *cap, size_t size, size_t at, size_t first_cap)
    __attribute__((warn_unused_result));

#endif
