/*
 * ident_test - the CLI's argument check (cli_target_resolve: --app,
 * --platform, --channel) fed the shared list tests/vectors/identifiers.txt;
 * it must give the verdict of common/ident.h for every name. A name with an
 * embedded NUL cannot be a command-line argument and is left to the parts
 * that read JSON or URLs.
 */
#include "common/compat.h"

#include <stdio.h>

#include "../../../cli/cli.h"
#include "../../lib/idlist.h"
#include "../../lib/test.h"

static struct idname L[IDLIST_MAX];

static int accepts(const char *app, const char *platform, const char *channel)
{
    struct cli_target t = {app, platform, channel};
    return cli_target_resolve(&t) == 0;
}

int main(void)
{
    size_t n = idlist_load(L, IDLIST_MAX);
    /* cli_fail prints each refusal: keep the TAP output readable */
    if (!freopen("/dev/null", "w", stderr))
        return 1;
    for (size_t i = 0; i < n; i++) {
        const struct idname *e = &L[i];
        if (e->has_nul)
            continue;
        is_int(accepts(e->name, "android", "production"), e->valid, "--app %s", e->shown);
        is_int(accepts("demo", e->name, "production"), e->valid, "--platform %s", e->shown);
        if (e->len) /* an empty --channel means the default channel */
            is_int(accepts("demo", "android", e->name), e->valid, "--channel %s", e->shown);
    }
    return done_testing();
}
