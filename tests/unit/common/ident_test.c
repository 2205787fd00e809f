/*
 * ident_test - the identifier rule of common/ident.h, and the manifest
 * validation that applies it to app/platform/channel/release id/device list,
 * fed the shared list tests/vectors/identifiers.txt (the other parts' own
 * ident_test.c feed the same list to their entry points).
 */
#include "common/compat.h"

#include "../../lib/idlist.h"
#include "../../lib/test.h"
#include "common/ident.h"
#include "common/manifest.h"

static struct idname L[IDLIST_MAX];
static struct cmn_key K;
static char SIG[CMN_SIG_B64];

static int manifest_accepts(const char *app, const char *rel_id)
{
    struct cmn_errbuf eb = {{0}};
    struct cmn_manifest *m = cmn_manifest_new(app, "android", "production");
    if (!m)
        return -1;
    m->sequence = 1;
    m->issued_at = 1700000000;
    m->expires_at = 1800000000;
    struct cmn_release r;
    memset(&r, 0, sizeof(r));
    r.id = (char *)rel_id;
    r.version = "1.0.0";
    r.target_binary = "*";
    r.bundle_url = "bundles/x.zip";
    memset(r.sha256, 'c', 64);
    r.size = 1;
    r.bundle_sig = SIG;
    memcpy(r.bundle_keyid, K.keyid, sizeof(r.bundle_keyid));
    r.rollout_bp = 10000;
    r.created_at = 1700000000;
    int accepted = cmn_manifest_add_release(m, &r) == CMN_OK && cmn_manifest_validate(m, &eb) == CMN_OK;
    cmn_manifest_free(m);
    return accepted;
}

int main(void)
{
    uint8_t dg[32] = {2};
    if (cmn_crypto_init() || cmn_key_generate(&K) || cmn_bundle_sign(&K, dg, SIG))
        return 1;
    size_t n = idlist_load(L, IDLIST_MAX);
    ok(manifest_accepts("demo", "rel-1") == 1, "the manifest used for the checks is valid");
    for (size_t i = 0; i < n; i++) {
        const struct idname *e = &L[i];
        is_int(cmn_id_valid_n(e->name, e->len), e->valid, "cmn_id_valid_n %s", e->shown);
        if (e->has_nul) {
            /* A C string stops at the NUL: the prefix is what a C caller would pass. */
            is_int(cmn_id_valid(e->name), cmn_id_valid_n(e->name, strlen(e->name)), "cmn_id_valid sees the prefix %s",
                   e->shown);
            continue;
        }
        is_int(cmn_id_valid(e->name), e->valid, "cmn_id_valid %s", e->shown);
        is_int(manifest_accepts(e->name, "rel-1"), e->valid, "manifest app %s", e->shown);
        is_int(manifest_accepts("demo", e->name), e->valid, "manifest release id %s", e->shown);
    }
    ok(!cmn_id_valid(NULL) && !cmn_id_valid_n(NULL, 3), "NULL refused");

    /* device ids: 1..128 bytes of UTF-8, no control character */
    char dev[200];
    memset(dev, 'x', sizeof(dev));
    ok(cmn_device_id_valid("dev 1/ü", strlen("dev 1/ü")), "device id with space, slash and UTF-8");
    ok(cmn_device_id_valid(dev, 128) && !cmn_device_id_valid(dev, 129), "128 bytes at most");
    ok(!cmn_device_id_valid("", 0) && !cmn_device_id_valid(NULL, 1), "empty and NULL refused");
    ok(!cmn_device_id_valid("a\nb", 3) && !cmn_device_id_valid("a\x7f", 2) && !cmn_device_id_valid("a\0b", 3),
       "control characters and NUL refused");
    ok(!cmn_device_id_valid("\xc3", 1) && !cmn_device_id_valid("\xff\xfe", 2), "invalid UTF-8 refused");
    return done_testing();
}
