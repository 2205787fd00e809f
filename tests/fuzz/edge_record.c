/*
 * edge_record.c - fuzz target for reading compiled manifest records back
 * (edge-check/record.c edge_rec_view): the records live in an LMDB file that
 * could be damaged, so arbitrary bytes must give CMN_E_PARSE or a view whose
 * every pointer is safe to follow. When a view is built, the shared
 * cmn_decide() runs over it for a few devices and its answer is followed.
 */
#include "common/compat.h"

#include "../../edge-check/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int member(void *ctx, const char *list, const char *dev)
{
    (void)ctx;
    return (strlen(list) + strlen(dev)) % 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct edge_view v;
    static const char *const devs[] = {"dev-1", "a", "zzzzzzzz"};
    static const char *const bins[] = {"1.0.0", "2.3.4-beta.1", "0.0.1"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(devs); i++) {
        if (edge_rec_view(data, size, devs[i], &v) != CMN_OK)
            return 0;
        size_t sum = strlen(v.m.app) + strlen(v.m.platform) + strlen(v.m.channel) + strlen(v.m.signed_by);
        for (size_t r = 0; r < v.m.n_releases; r++) {
            const struct cmn_release *x = &v.rel[r];
            sum += strlen(x->id) + strlen(x->version) + strlen(x->bundle_url) + strlen(x->bundle_sig) +
                   strlen(x->sha256) + strlen(x->target_binary) + (x->notes ? strlen(x->notes) : 0) +
                   (x->device_list ? strlen(x->device_list) : 0) +
                   (x->legacy_signature ? strlen(x->legacy_signature) : 0);
        }
        if (v.hdr.env_len)
            sum += (size_t)v.env[v.hdr.env_len - 1];
        struct cmn_device d = {.device_id = devs[i], .binary_version = bins[i], .current_release = "r1"};
        struct cmn_decision dec;
        if (cmn_decide(&v.m, &d, member, NULL, &dec) == CMN_OK && dec.kind == CMN_DECIDE_UPDATE) {
            if (dec.index >= v.m.n_releases)
                abort();
            sum += strlen(v.rel[dec.index].id);
        }
        if (sum == (size_t)-1)
            abort();
    }
    return 0;
}
