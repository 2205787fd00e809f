/* Unit tests for common/cohort.c: FNV-1a 32 reference values, incremental
 * hashing, bucket range and the monotonic rollout property. The shared
 * bucket table (computed by an independent Python implementation) is
 * manifests/vectors/cohort.json, checked by vectors_test.c. */
#include "common/compat.h"

#include "common/cohort.h"
#include "../../lib/test.h"

int main(void)
{
    /* Published FNV-1a 32 test values (Fowler/Noll/Vo test suite). */
    is_int(cmn_fnv1a32("", 0), 0x811c9dc5u, "fnv1a32('') is the offset basis");
    is_int(cmn_fnv1a32("a", 1), 0xe40c292cu, "fnv1a32('a')");
    is_int(cmn_fnv1a32("foobar", 6), 0xbf9cf968u, "fnv1a32('foobar')");
    is_int(cmn_fnv1a32_update(cmn_fnv1a32("foo", 3), "bar", 3), 0xbf9cf968u, "update continues the hash");
    is_int(cmn_cohort_bucket("r1", "dev0"), cmn_fnv1a32("r1:dev0", 7) % 10000, "bucket hashes release ':' device");

    int in_range = 1, monotonic = 1, all_in = 1, none_in = 1;
    unsigned in_half = 0;
    for (int i = 0; i < 2000; i++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "device-%d", i);
        uint32_t b = cmn_cohort_bucket("rel-42", dev);
        if (b >= CMN_BP_MAX)
            in_range = 0;
        /* Raising the percentage only adds devices. */
        for (uint32_t bp = 0; bp < CMN_BP_MAX; bp += 500)
            if (cmn_cohort_in("rel-42", dev, bp) && !cmn_cohort_in("rel-42", dev, bp + 500))
                monotonic = 0;
        if (!cmn_cohort_in("rel-42", dev, CMN_BP_MAX))
            all_in = 0;
        if (cmn_cohort_in("rel-42", dev, 0))
            none_in = 0;
        in_half += (unsigned)cmn_cohort_in("rel-42", dev, 5000);
    }
    ok(in_range, "buckets are below 10000");
    ok(monotonic, "raising the rollout only adds devices");
    ok(all_in, "10000 bp includes every device");
    ok(none_in, "0 bp includes no device");
    ok(in_half > 850 && in_half < 1150, "50%% rollout selects about half of 2000 devices (%u)", in_half);
    /* Each release draws its own cohort. */
    int same = 0;
    for (int i = 0; i < 200; i++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "device-%d", i);
        same += cmn_cohort_bucket("rel-a", dev) == cmn_cohort_bucket("rel-b", dev);
    }
    ok(same < 5, "different releases give different buckets (%d equal of 200)", same);
    return done_testing();
}
