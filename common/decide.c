/*
 * decide.c - the update decision shared by the edge and the SDK (manifest.h
 * cmn_decide, manifests/SPEC.md "Decision"). Pure and allocation-free: the
 * edge calls it once per request, the SDK re-runs it on the manifest it
 * verified, and both must reach the same answer from the same inputs.
 */
#include "common/compat.h"

#include "common/cohort.h"
#include "common/manifest.h"

#define DEVICE_ID_MAX 128

static int cmp_str_ptr(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

static int blocklisted(const struct cmn_device *dev, const char *id)
{
    for (size_t i = 0; i < dev->n_blocklist; i++)
        if (dev->blocklist[i] && strcmp(dev->blocklist[i], id) == 0)
            return 1;
    return 0;
}

/* Targeting: no targeting = everyone; else member of device_ids or of device_list. */
static int targeted(const struct cmn_release *r, const struct cmn_device *dev, cmn_list_member_fn member,
                    void *member_ctx)
{
    if (!r->device_ids && !r->device_list)
        return 1;
    if (r->device_ids && r->n_device_ids &&
        bsearch(dev->device_id, r->device_ids, r->n_device_ids, sizeof(char *), cmp_str_ptr))
        return 1;
    if (r->device_list && member && member(member_ctx, r->device_list, dev->device_id) == 1)
        return 1;
    return 0;
}

static int eligible(const struct cmn_release *r, long idx, long cur, const struct cmn_semver *bin,
                    const struct cmn_device *dev, cmn_list_member_fn member, void *member_ctx)
{
    if (!(r->state == CMN_REL_ACTIVE || (r->state == CMN_REL_HALTED && idx == cur)))
        return 0;
    if (!cmn_semver_range_match(&r->target, bin))
        return 0;
    if (!cmn_cohort_in(r->id, dev->device_id, r->rollout_bp))
        return 0;
    if (!targeted(r, dev, member, member_ctx))
        return 0;
    return !blocklisted(dev, r->id);
}

enum cmn_err cmn_decide(const struct cmn_manifest *m, const struct cmn_device *dev, cmn_list_member_fn member,
                        void *member_ctx, struct cmn_decision *out)
{
    struct cmn_semver bin;
    if (!m || !dev || !out)
        return CMN_E_INVAL;
    size_t idlen = dev->device_id ? strnlen(dev->device_id, DEVICE_ID_MAX + 1) : 0;
    if (idlen == 0 || idlen > DEVICE_ID_MAX)
        return CMN_E_INVAL;
    if (!dev->binary_version || cmn_semver_parse(dev->binary_version, &bin) != CMN_OK)
        return CMN_E_INVAL;
    if (dev->n_blocklist && !dev->blocklist)
        return CMN_E_INVAL;

    long cur = -1;
    if (dev->current_release && dev->current_release[0])
        cur = cmn_manifest_find(m, dev->current_release);

    long cand = -1;
    for (long i = (long)m->n_releases - 1; i >= 0; i--) {
        if (eligible(&m->releases[i], i, cur, &bin, dev, member, member_ctx)) {
            cand = i;
            break;
        }
    }

    struct cmn_decision d = {CMN_DECIDE_NONE, 0, 0, "no eligible release"};
    int cur_rolled_back = cur >= 0 && m->releases[cur].state == CMN_REL_ROLLED_BACK;
    if (cur_rolled_back) {
        if (cand >= 0) {
            d.kind = CMN_DECIDE_UPDATE;
            d.index = (size_t)cand;
            d.reason = cand > cur ? "installed release rolled back; newer release available"
                                  : "installed release rolled back; older release available";
        } else {
            d.kind = CMN_DECIDE_ROLLBACK;
            d.reason = "installed release rolled back; revert to the embedded bundle";
        }
    } else if (cand >= 0) {
        if (cand > cur) {
            d.kind = CMN_DECIDE_UPDATE;
            d.index = (size_t)cand;
            d.reason = cur >= 0 ? "newer release available" : "release available";
        } else if (cand == cur) {
            d.reason = "up to date";
        } else {
            d.reason = "installed release is newer than any eligible release";
        }
    }

    /* Leaving a rolled-back release is always mandatory: the publisher
     * withdrew it, so the device must not keep running it until the user
     * happens to accept an optional update. */
    if (cur_rolled_back)
        d.mandatory = 1;

    /* Mandatory survives skipping: any release after the installed one, up to
     * and including the offer, that this binary can run and that was not
     * withdrawn, makes the offer mandatory. */
    if (d.kind == CMN_DECIDE_UPDATE && !d.mandatory) {
        for (long i = cur + 1; i <= (long)d.index; i++) {
            const struct cmn_release *r = &m->releases[i];
            if (r->mandatory && r->state != CMN_REL_ROLLED_BACK && r->state != CMN_REL_DISABLED &&
                cmn_semver_range_match(&r->target, &bin)) {
                d.mandatory = 1;
                break;
            }
        }
    }
    *out = d;
    return CMN_OK;
}
