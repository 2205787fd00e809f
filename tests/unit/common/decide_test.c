/* Unit tests for common/decide.c: each rule of manifests/SPEC.md "Decision"
 * (eligibility, halted/rolled_back/disabled, range, cohort, targeting,
 * blocklist, no downgrade, rollback, mandatory-survives-skip). The shared
 * decision table is manifests/vectors/decisions.json (vectors_test.c). */
#include "common/compat.h"

#include "common/cohort.h"
#include "common/manifest.h"
#include "../../lib/test.h"

static char SIG[CMN_SIG_B64];

struct rel_spec {
    const char *id;
    const char *range;
    enum cmn_release_state state;
    uint32_t bp;
    int mandatory;
};

static struct cmn_manifest *build(const struct rel_spec *rs, size_t n)
{
    struct cmn_manifest *m = cmn_manifest_new("app", "android", "prod");
    m->sequence = 1;
    m->expires_at = 100;
    for (size_t i = 0; i < n; i++) {
        struct cmn_release r;
        memset(&r, 0, sizeof(r));
        r.id = (char *)rs[i].id;
        r.version = "v";
        r.target_binary = (char *)(rs[i].range ? rs[i].range : "*");
        r.bundle_url = "b.zip";
        memset(r.sha256, 'b', 64);
        r.size = 1;
        r.bundle_sig = SIG;
        memset(r.bundle_keyid, 'c', 16);
        r.state = rs[i].state;
        r.rollout_bp = rs[i].bp;
        r.mandatory = rs[i].mandatory;
        if (cmn_manifest_add_release(m, &r)) {
            cmn_manifest_free(m);
            return NULL;
        }
    }
    if (cmn_manifest_validate(m, NULL)) {
        cmn_manifest_free(m);
        return NULL;
    }
    return m;
}

/* "none", "rollback", or "update:<id>[!]" ('!' = mandatory). */
static const char *decide_str(const struct cmn_manifest *m, const char *dev, const char *bin, const char *cur,
                              cmn_list_member_fn fn, void *ctx, const char *const *bl, size_t nbl)
{
    static char out[64];
    struct cmn_device d = {dev, bin, cur, bl, nbl};
    struct cmn_decision dc;
    enum cmn_err rc = cmn_decide(m, &d, fn, ctx, &dc);
    if (rc)
        return cmn_errname(rc);
    ok(dc.reason && dc.reason[0], "decision has a reason (%s)", dc.reason ? dc.reason : "");
    if (dc.kind == CMN_DECIDE_NONE)
        return dc.mandatory ? "none!" : "none";
    if (dc.kind == CMN_DECIDE_ROLLBACK)
        return dc.mandatory ? "rollback!" : "rollback";
    snprintf(out, sizeof(out), "update:%s%s", m->releases[dc.index].id, dc.mandatory ? "!" : "");
    return out;
}

#define D(m, cur) decide_str((m), "dev-1", "2.1.0", (cur), NULL, NULL, NULL, 0)

struct list_ctx {
    const char *list, *member;
    int calls;
};

static int member_fn(void *ctx, const char *list, const char *device)
{
    struct list_ctx *c = ctx;
    c->calls++;
    return strcmp(list, c->list) == 0 && strcmp(device, c->member) == 0;
}

int main(void)
{
    memset(SIG, 'A', 86);
    SIG[86] = SIG[87] = '=';
    SIG[88] = 0;
    const enum cmn_release_state A = CMN_REL_ACTIVE, H = CMN_REL_HALTED, RB = CMN_REL_ROLLED_BACK, X = CMN_REL_DISABLED;

    struct rel_spec s1[] = {
        {"r1", "^2.0.0", A, 10000, 0}, {"r2", "^2.0.0", A, 10000, 0}, {"r3", "^3.0.0", A, 10000, 0}};
    struct cmn_manifest *m = build(s1, 3);
    ok(m != NULL, "manifest 1 built");
    is_str(D(m, NULL), "update:r2", "embedded: newest eligible (r3 is for another binary)");
    is_str(D(m, ""), "update:r2", "empty current = embedded");
    is_str(D(m, "r1"), "update:r2", "on r1: update to r2");
    is_str(D(m, "r2"), "none", "on r2: up to date");
    is_str(decide_str(m, "dev-1", "3.0.1", "r2", NULL, NULL, NULL, 0), "update:r3", "binary 3.0.1: r3");
    is_str(decide_str(m, "dev-1", "1.9.0", NULL, NULL, NULL, NULL, 0), "none", "binary outside every range");
    is_str(decide_str(m, "dev-1", "2.1.0", "r3", NULL, NULL, NULL, 0), "none", "no downgrade from r3");
    const char *bl[] = {"r2"};
    is_str(decide_str(m, "dev-1", "2.1.0", NULL, NULL, NULL, bl, 1), "update:r1", "blocklisted r2: falls back to r1");
    is_str(decide_str(m, "dev-1", "2.1.0", "r1", NULL, NULL, bl, 1), "none", "blocklisted r2 while on r1");
    is_str(decide_str(m, "", "2.1.0", NULL, NULL, NULL, NULL, 0), "invalid", "empty device id");
    is_str(decide_str(m, NULL, "2.1.0", NULL, NULL, NULL, NULL, 0), "invalid", "missing device id");
    char longid[200];
    memset(longid, 'd', 129);
    longid[129] = 0;
    is_str(decide_str(m, longid, "2.1.0", NULL, NULL, NULL, NULL, 0), "invalid", "129-byte device id");
    longid[128] = 0;
    is_str(decide_str(m, longid, "2.1.0", NULL, NULL, NULL, NULL, 0), "update:r2", "128-byte device id");
    is_str(decide_str(m, "dev-1", "2.1", NULL, NULL, NULL, NULL, 0), "update:r2", "partial binary version");
    is_str(decide_str(m, "dev-1", "two", NULL, NULL, NULL, NULL, 0), "invalid", "unparsable binary version");
    is_str(decide_str(m, "dev-1", NULL, NULL, NULL, NULL, NULL, 0), "invalid", "missing binary version");
    cmn_manifest_free(m);

    /* States. */
    struct rel_spec s2[] = {{"r1", NULL, A, 10000, 0}, {"r2", NULL, H, 10000, 0}, {"r3", NULL, X, 10000, 0}};
    m = build(s2, 3);
    is_str(D(m, NULL), "update:r1", "halted and disabled are not offered to new devices");
    is_str(D(m, "r2"), "none", "a device on the halted release keeps it");
    is_str(D(m, "r1"), "none", "halted newer release not offered to r1");
    is_str(D(m, "r3"), "none", "device on a disabled release keeps it (no downgrade)");
    cmn_manifest_free(m);

    struct rel_spec s3[] = {{"r1", NULL, A, 10000, 0}, {"r2", NULL, RB, 10000, 0}};
    m = build(s3, 2);
    is_str(D(m, "r2"), "update:r1!", "rolled back: move (mandatory) to the newest older eligible");
    is_str(D(m, NULL), "update:r1", "rolled back release never offered");
    cmn_manifest_free(m);

    struct rel_spec s4[] = {{"r1", "^9.0.0", A, 10000, 0}, {"r2", NULL, RB, 10000, 0}};
    m = build(s4, 2);
    is_str(D(m, "r2"), "rollback!", "rolled back with nothing eligible: revert to embedded");
    const char *bl1[] = {"r1"};
    is_str(decide_str(m, "dev-1", "9.0.0", "r2", NULL, NULL, bl1, 1), "rollback!", "older one blocklisted: rollback");
    is_str(decide_str(m, "dev-1", "9.0.0", "r2", NULL, NULL, NULL, 0), "update:r1!", "older one eligible for 9.0.0");
    cmn_manifest_free(m);

    struct rel_spec s5[] = {{"r1", NULL, A, 10000, 0}, {"r2", NULL, RB, 10000, 0}, {"r3", NULL, A, 10000, 0}};
    m = build(s5, 3);
    is_str(D(m, "r2"), "update:r3!", "rolled back with a newer fix: update forward (mandatory)");
    cmn_manifest_free(m);

    /* Cohort boundary: find this device's bucket for r1 and straddle it. */
    uint32_t b = cmn_cohort_bucket("r1", "dev-1");
    struct rel_spec s6[] = {{"r1", NULL, A, b, 0}};
    m = build(s6, 1);
    is_str(D(m, NULL), "none", "rollout_bp == bucket: out of cohort (bucket %u)", b);
    m->releases[0].rollout_bp = b + 1;
    is_str(D(m, NULL), "update:r1", "rollout_bp == bucket+1: in cohort");
    m->releases[0].rollout_bp = 0;
    is_str(D(m, NULL), "none", "rollout 0 offers nothing");
    cmn_manifest_free(m);

    /* Out-of-cohort newest; installed newer than any eligible: no downgrade. */
    struct rel_spec s7[] = {{"r1", NULL, A, 10000, 0}, {"r2", NULL, A, 0, 0}};
    m = build(s7, 2);
    is_str(D(m, "r2"), "none", "device on r2, r2 now at 0%%: keeps r2, no downgrade to r1");
    cmn_manifest_free(m);

    /* Mandatory survives skip. */
    struct rel_spec s8[] = {{"r1", NULL, A, 10000, 0}, {"r2", NULL, A, 10000, 1}, {"r3", NULL, A, 10000, 0}};
    m = build(s8, 3);
    is_str(D(m, "r1"), "update:r3!", "mandatory r2 skipped: r3 offer is mandatory");
    is_str(D(m, NULL), "update:r3!", "from embedded: mandatory");
    is_str(D(m, "r2"), "update:r3", "on the mandatory r2 itself: r3 is not mandatory");
    is_str(D(m, "gone"), "update:r3!", "current not in manifest: from the start");
    m->releases[1].state = RB;
    is_str(D(m, "r1"), "update:r3", "rolled back mandatory does not count");
    m->releases[1].state = X;
    is_str(D(m, "r1"), "update:r3", "disabled mandatory does not count");
    m->releases[1].state = H;
    is_str(D(m, "r1"), "update:r3!", "halted mandatory still counts");
    m->releases[1].state = A;
    m->releases[1].rollout_bp = 0;
    is_str(D(m, "r1"), "update:r3!", "mandatory out of cohort still counts");
    is_int(cmn_semver_range_parse("^5.0.0", &m->releases[1].target), CMN_OK, "retarget r2");
    is_str(D(m, "r1"), "update:r3", "mandatory for another binary does not count");
    cmn_manifest_free(m);
    struct rel_spec s9[] = {
        {"r1", NULL, A, 10000, 1}, {"r2", NULL, A, 10000, 0}, {"r3", NULL, A, 10000, 0}, {"r4", NULL, A, 10000, 1}};
    m = build(s9, 4);
    is_str(D(m, "r2"), "update:r4!", "candidate itself mandatory");
    m->releases[3].state = A;
    m->releases[3].rollout_bp = 0;
    is_str(D(m, "r2"), "update:r3", "mandatory after the candidate does not count; r1 before current neither");
    is_str(D(m, NULL), "update:r3!", "from embedded, r1 counts");
    cmn_manifest_free(m);
    struct rel_spec s10[] = {{"r1", NULL, A, 10000, 1}, {"r2", NULL, RB, 10000, 0}};
    m = build(s10, 2);
    is_str(D(m, "r2"), "update:r1!", "rollback-driven downgrade is mandatory (leaving a withdrawn release)");
    m->releases[0].state = RB;
    is_str(D(m, "r2"), "rollback!", "revert to embedded from a rolled-back release is mandatory");
    m->releases[0].state = A;
    m->releases[0].rollout_bp = 0;
    is_str(D(m, NULL), "none", "none is never mandatory");
    cmn_manifest_free(m);

    /* Targeting. */
    struct rel_spec s11[] = {{"r1", NULL, A, 10000, 0}, {"r2", NULL, A, 10000, 0}};
    m = build(s11, 2);
    static char *ids[] = {"dev-0", "dev-1", "dev-5"};
    m->releases[1].device_ids = malloc(sizeof(ids));
    m->releases[1].n_device_ids = 3;
    for (int i = 0; i < 3; i++)
        m->releases[1].device_ids[i] = strdup(ids[i]);
    is_str(decide_str(m, "dev-1", "1.0.0", NULL, NULL, NULL, NULL, 0), "update:r2", "inline target hit");
    is_str(decide_str(m, "dev-5", "1.0.0", NULL, NULL, NULL, NULL, 0), "update:r2", "inline target hit (last)");
    is_str(decide_str(m, "dev-2", "1.0.0", NULL, NULL, NULL, NULL, 0), "update:r1", "inline target miss");
    m->releases[1].device_list = strdup("qa");
    struct list_ctx lc = {"qa", "dev-9", 0};
    is_str(decide_str(m, "dev-9", "1.0.0", NULL, NULL, NULL, NULL, 0), "update:r1",
           "list without callback: not offered");
    is_str(decide_str(m, "dev-9", "1.0.0", NULL, member_fn, &lc, NULL, 0), "update:r2", "list member via callback");
    ok(lc.calls > 0, "callback called with its context");
    is_str(decide_str(m, "dev-1", "1.0.0", NULL, member_fn, &lc, NULL, 0), "update:r2", "inline OR list");
    is_str(decide_str(m, "dev-7", "1.0.0", NULL, member_fn, &lc, NULL, 0), "update:r1", "neither inline nor list");
    cmn_manifest_free(m);

    /* The edge calls cmn_decide per request: decide.o and what it uses
     * (semver.o, cohort.o) must not reference any allocator. */
    const char *bdir = getenv("HP_BUILD");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/common/decide.o", bdir ? bdir : "build");
    FILE *probe = fopen(cmd, "rb");
    if (!probe || system("command -v nm >/dev/null 2>&1") != 0) {
        test_skip(1, "object files or nm not available");
    } else {
        const char *bd = bdir ? bdir : "build";
        snprintf(cmd, sizeof(cmd),
                 "nm -u %s/common/decide.o %s/common/semver.o %s/common/cohort.o | "
                 "grep -E ' (malloc|calloc|realloc|strdup|strndup|free|asprintf|vasprintf)$'",
                 bd, bd, bd);
        ok(system(cmd) != 0, "decide/semver/cohort objects reference no allocator");
    }
    if (probe)
        fclose(probe);

    /* Empty manifest. */
    m = build(NULL, 0);
    is_str(D(m, NULL), "none", "no releases: none");
    is_str(D(m, "r9"), "none", "no releases, unknown current: none");
    cmn_manifest_free(m);
    return done_testing();
}
