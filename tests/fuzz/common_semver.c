/*
 * Fuzz target for versions and ranges (semver.h). Input: "<range>\n<version>"
 * (a line without a newline is tried as both). Checks: no crash or overread,
 * comparison is reflexive and antisymmetric, a parsed range matches
 * deterministically, and an exact range made from a version matches it.
 */
#include "common/compat.h"

#include "common/semver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char a[256], b[256];
    if (size > 400)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t la = nl ? (size_t)(nl - data) : size;
    size_t lb = nl ? size - la - 1 : size;
    const uint8_t *pb = nl ? nl + 1 : data;
    if (la >= sizeof(a) || lb >= sizeof(b))
        return 0;
    memcpy(a, data, la);
    a[la] = 0;
    memcpy(b, pb, lb);
    b[lb] = 0;

    struct cmn_semver_range r;
    struct cmn_semver v, w;
    int have_r = cmn_semver_range_parse(a, &r) == CMN_OK;
    int have_v = cmn_semver_parse(b, &v) == CMN_OK;
    if (have_r && (r.nsets == 0 || r.nsets > CMN_RANGE_MAX_SETS))
        abort();
    if (have_v) {
        if (cmn_semver_cmp(&v, &v) != 0)
            abort();
        if (have_r && cmn_semver_range_match(&r, &v) != cmn_semver_range_match(&r, &v))
            abort();
        if (cmn_semver_parse("1.2.3-rc.1", &w) == CMN_OK) {
            int x = cmn_semver_cmp(&v, &w), y = cmn_semver_cmp(&w, &v);
            if ((x > 0) != (y < 0) || (x == 0) != (y == 0))
                abort();
        }
        /* "=<version>" (build metadata dropped) must match the version itself. */
        char exact[300];
        size_t bl = strcspn(b, "+");
        if ((size_t)snprintf(exact, sizeof(exact), "=%.*s", (int)bl, b) < CMN_RANGE_TEXT_MAX) {
            struct cmn_semver_range er;
            if (cmn_semver_range_parse(exact, &er) == CMN_OK && !cmn_semver_range_match(&er, &v))
                abort();
        }
    }
    return 0;
}
