/*
 * cohort.c - deterministic rollout buckets (cohort.h, manifests/SPEC.md
 * "Cohort"). The bucket of a device for a release is FNV-1a 32 of
 * release_id ":" device_id, mod 10000; hashing in three pieces avoids any
 * buffer, so the edge can evaluate cohorts per request without allocating.
 */
#include "common/compat.h"

#include "common/cohort.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

uint32_t cmn_fnv1a32_update(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

uint32_t cmn_fnv1a32(const void *p, size_t n)
{
    return cmn_fnv1a32_update(FNV_OFFSET, p, n);
}

uint32_t cmn_cohort_bucket(const char *release_id, const char *device_id)
{
    uint32_t h = cmn_fnv1a32(release_id, strlen(release_id));
    h = cmn_fnv1a32_update(h, ":", 1);
    h = cmn_fnv1a32_update(h, device_id, strlen(device_id));
    return h % CMN_BP_MAX;
}

int cmn_cohort_in(const char *release_id, const char *device_id, uint32_t rollout_bp)
{
    return cmn_cohort_bucket(release_id, device_id) < rollout_bp;
}
