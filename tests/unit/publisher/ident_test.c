/*
 * ident_test - the publisher's JSON request validation (pub_relmeta_parse:
 * app, platform, channel of a release upload) fed the shared list
 * tests/vectors/identifiers.txt, names JSON-escaped (NUL and control bytes
 * included); it must give the verdict of common/ident.h for every name.
 */
#include "common/compat.h"

#include "../../../publisher/pub.h"
#include "../../lib/idlist.h"
#include "../../lib/test.h"
#include "common/str.h"

static struct idname L[IDLIST_MAX];

static int accepts(const char *field, const struct idname *e)
{
    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    struct pub_relmeta m;
    const char *fields[] = {"app", "platform", "channel"};
    const char *vals[] = {"demo", "android", "production"};
    cmn_buf_init(&b, 1 << 16);
    int built = cmn_buf_addstr(&b, "{") == CMN_OK;
    for (int i = 0; i < 3; i++) {
        built = built && cmn_buf_addf(&b, "\"%s\":\"", fields[i]) == CMN_OK;
        if (strcmp(fields[i], field) == 0)
            built = built && cmn_json_escape(&b, e->name, e->len) == CMN_OK;
        else
            built = built && cmn_buf_addstr(&b, vals[i]) == CMN_OK;
        built = built && cmn_buf_addstr(&b, "\",") == CMN_OK;
    }
    built = built &&
            cmn_buf_addstr(&b, "\"version\":\"1.0.0\",\"sha256\":\""
                               "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\","
                               "\"size\":10,\"bundle_sig\":\"c2ln\",\"bundle_keyid\":\"0123456789abcdef\"}") == CMN_OK;
    if (!built)
        return -1;
    enum cmn_err rc = pub_relmeta_parse(b.ptr, b.len, &m, &eb);
    if (rc == CMN_OK)
        pub_relmeta_release(&m);
    cmn_buf_release(&b);
    return rc == CMN_OK;
}

int main(void)
{
    size_t n = idlist_load(L, IDLIST_MAX);
    struct idname good = {.name = "demo", .len = 4};
    ok(accepts("app", &good) == 1, "the request used for the checks is valid");
    for (size_t i = 0; i < n; i++) {
        const struct idname *e = &L[i];
        is_int(accepts("app", e), e->valid, "app %s", e->shown);
        is_int(accepts("platform", e), e->valid, "platform %s", e->shown);
        is_int(accepts("channel", e), e->valid, "channel %s", e->shown);
        if (!e->has_nul)
            is_int(pub_valid_id(e->name), e->valid, "pub_valid_id %s", e->shown);
    }
    return done_testing();
}
