/*
 * Unit tests for sorted.h: the binary search returns the index or the
 * encoded insertion point at the front, middle and end, and slots opened
 * with cmn_sorted_open_slot keep the vector sorted while it grows.
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "common/sorted.h"

struct item {
    int tag;
    char name[16];
};

static long find(const struct item *v, size_t n, const char *name)
{
    return cmn_sorted_find(v, n, sizeof(*v), offsetof(struct item, name), name);
}

int main(void)
{
    struct item *v = NULL;
    size_t n = 0, cap = 0;
    is_int(find(v, n, "m"), -1, "empty vector: insertion point 0");
    static const char *const order[] = {"m", "c", "x", "a", "e", "z", "b", "q", "d"};
    int sorted = 1;
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        long i = find(v, n, order[k]);
        if (i >= 0) {
            ok(0, "'%s' found before it was added", order[k]);
            continue;
        }
        size_t at = (size_t)(-i - 1);
        struct item *nv = cmn_sorted_open_slot(v, &n, &cap, sizeof(*v), at, 2);
        if (!nv) {
            ok(0, "open a slot for '%s'", order[k]);
            break;
        }
        v = nv;
        sorted &= v[at].tag == 0 && v[at].name[0] == '\0';
        v[at].tag = (int)k + 1;
        snprintf(v[at].name, sizeof(v[at].name), "%s", order[k]);
    }
    is_int(n, 9, "nine items");
    ok(cap >= n && cap == 16, "grew by doubling from 2 (cap %zu)", cap);
    ok(sorted, "every opened slot was zeroed");
    for (size_t i = 1; i < n; i++)
        sorted &= strcmp(v[i - 1].name, v[i].name) < 0;
    ok(sorted, "the vector is sorted");
    is_int(find(v, n, "a"), 0, "first found");
    is_int(find(v, n, "z"), 8, "last found");
    is_int(find(v, n, "m"), 5, "middle found");
    ok(v[find(v, n, "m")].tag == 1, "... it is the item inserted first");
    is_int(find(v, n, "0"), -1, "before the first: insertion point 0");
    is_int(find(v, n, "zz"), -10, "after the last: insertion point 9");
    is_int(find(v, n, "f"), -6, "between e and m: insertion point 5");
    size_t n0 = n, cap0 = cap;
    ok(cmn_sorted_open_slot(v, &n, &cap, sizeof(*v), n + 1, 2) == NULL && n == n0 && cap == cap0,
       "a slot past the end is refused, the vector unchanged");
    free(v);
    return done_testing();
}
