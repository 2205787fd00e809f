/*
 * ident_test - the SDK's state check of release ids (hp__rel_set, which the
 * state parser applies to the current and previous release) fed the shared
 * list tests/vectors/identifiers.txt; it must give the verdict of
 * common/ident.h for every name. Names with an embedded NUL cannot reach it
 * (C strings; jansson refuses \u0000 in the state file).
 */
#include "common/compat.h"

#include "../../../sdk/hp_int.h"
#include "../../lib/idlist.h"
#include "../../lib/test.h"

static struct idname L[IDLIST_MAX];

static const char SHA[] = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

int main(void)
{
    size_t n = idlist_load(L, IDLIST_MAX);
    for (size_t i = 0; i < n; i++) {
        const struct idname *e = &L[i];
        struct hp_rel r;
        if (!e->has_nul)
            is_int(hp__rel_set(&r, e->name, "1.0.0", SHA) == 0, e->valid, "release id %s", e->shown);
    }
    return done_testing();
}
