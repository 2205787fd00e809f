/*
 * cohort.h - deterministic rollout cohorts (manifests/SPEC.md "Cohort").
 *
 *   bucket = fnv1a32(release_id ":" device_id) mod 10000
 *   a device is in a rollout of `bp` basis points when bucket < bp
 * so raising a percentage only adds devices, and each release draws its own
 * cohort. FNV-1a 32-bit: offset basis 2166136261, prime 16777619, over bytes.
 */
#ifndef COMMON_COHORT_H
#define COMMON_COHORT_H

#include <stddef.h>
#include <stdint.h>

#define CMN_BP_MAX 10000 /* 100% in basis points */

uint32_t cmn_fnv1a32(const void *p, size_t n);
/* Continue a hash: cmn_fnv1a32_update(cmn_fnv1a32(a, na), b, nb) == fnv1a32 of a||b. */
uint32_t cmn_fnv1a32_update(uint32_t h, const void *p, size_t n);
uint32_t cmn_cohort_bucket(const char *release_id, const char *device_id);
int cmn_cohort_in(const char *release_id, const char *device_id, uint32_t rollout_bp);

#endif
