/* Unit tests for common/semver.c: version parsing, precedence (semver.org
 * section 11 examples), range forms and limits. The range/version matrix
 * shared with other implementations is in manifests/vectors/semver.json,
 * checked by vectors_test.c. */
#include "common/compat.h"

#include "common/semver.h"
#include "../../lib/test.h"

static int cmpv(const char *a, const char *b)
{
    struct cmn_semver x, y;
    if (cmn_semver_parse(a, &x) || cmn_semver_parse(b, &y))
        return 99;
    return cmn_semver_cmp(&x, &y);
}

static int match(const char *range, const char *ver)
{
    struct cmn_semver_range r;
    struct cmn_semver v;
    if (cmn_semver_range_parse(range, &r) || cmn_semver_parse(ver, &v))
        return -1;
    return cmn_semver_range_match(&r, &v);
}

int main(void)
{
    struct cmn_semver v;
    is_int(cmn_semver_parse("1.2.3", &v), CMN_OK, "parse 1.2.3");
    ok(v.major == 1 && v.minor == 2 && v.patch == 3 && v.pre[0] == 0, "fields of 1.2.3");
    is_int(cmn_semver_parse("4", &v), CMN_OK, "parse 4");
    ok(v.major == 4 && v.minor == 0 && v.patch == 0, "missing parts are 0");
    is_int(cmn_semver_parse("1.2.3-rc.1+build.5", &v), CMN_OK, "prerelease and build");
    is_str(v.pre, "rc.1", "prerelease kept, build dropped");
    is_int(cmn_semver_parse("2147483647.0.0", &v), CMN_OK, "2^31-1 accepted");
    static const char *bad[] = {"",           "v1.2.3",
                                "1.2.3.4",    "01.2.3",
                                "1.02.3",     "1..3",
                                "1.2.",       "1.2.3-",
                                "1.2.3+",     "1.2.3-01",
                                "1.2.3-a..b", "1.2.3 ",
                                " 1.2.3",     "2147483648.0.0",
                                "1.2.3-a_b",  "99999999999999999999",
                                "x",          "1.x",
                                "-1.2.3",     "1.2.3-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++)
        is_int(cmn_semver_parse(bad[i], &v), CMN_E_PARSE, "refuse version '%s'", bad[i]);
    is_int(cmn_semver_parse(NULL, &v), CMN_E_PARSE, "refuse NULL");

    /* semver.org 11: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta
     * < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0. */
    static const char *order[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                  "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                                  "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                                  "1.1.0",       "2.0.0",         "10.0.0"};
    for (size_t i = 0; i + 1 < CMN_ARRAY_SIZE(order); i++) {
        is_int(cmpv(order[i], order[i + 1]), -1, "%s < %s", order[i], order[i + 1]);
        is_int(cmpv(order[i + 1], order[i]), 1, "%s > %s", order[i + 1], order[i]);
    }
    is_int(cmpv("1.0.0+a", "1.0.0+b"), 0, "build metadata ignored");
    is_int(cmpv("1.0", "1.0.0"), 0, "1.0 == 1.0.0");
    is_int(cmpv("1.0.0-2", "1.0.0-10"), -1, "numeric identifiers compare numerically");
    is_int(cmpv("1.0.0-10", "1.0.0-9a"), -1, "numeric below alphanumeric");

    /* Ranges. */
    is_int(match("1.2.x", "1.2.9"), 1, "1.2.x matches 1.2.9");
    is_int(match("1.2.x", "1.3.0-beta"), 0, "1.2.x excludes 1.3.0-beta");
    is_int(match("1.2.x", "1.2.0-beta"), 0, "1.2.x excludes 1.2.0-beta");
    is_int(match("^1.2.0", "1.9.9"), 1, "^1.2.0 matches 1.9.9");
    is_int(match("^1.2.0", "2.0.0"), 0, "^1.2.0 excludes 2.0.0");
    is_int(match(">=1.2.0 <1.3.0", "1.2.5"), 1, "AND of comparators");
    is_int(match(">=1.2.0 <1.3.0", "1.3.0"), 0, "upper bound exclusive");
    is_int(match("1.0.0 || >=2.0.0", "2.5.0"), 1, "OR of sets");
    is_int(match("1.0.0 || >=2.0.0", "1.5.0"), 0, "neither alternative");
    is_int(match(">= 1.2.0", "1.2.0"), 1, "space after operator");
    is_int(match("*", "0.0.1-alpha"), 1, "* matches everything (no prerelease exclusion)");

    struct cmn_semver_range r;
    is_int(cmn_semver_range_parse("1.0.0 || 2.0.0 || 3.0.0 || 4.0.0", &r), CMN_OK, "4 alternatives");
    is_int(r.nsets, 4, "nsets");
    is_int(cmn_semver_range_parse("1.0.0 || 2.0.0 || 3.0.0 || 4.0.0 || 5.0.0", &r), CMN_E_TOOBIG, "5 alternatives");
    is_int(cmn_semver_range_parse(">1.0.0 >1.0.1 >1.0.2 >1.0.3", &r), CMN_OK, "4 comparators");
    is_int(cmn_semver_range_parse(">1.0.0 >1.0.1 >1.0.2 >1.0.3 >1.0.4", &r), CMN_E_TOOBIG, "5 comparators");
    is_int(cmn_semver_range_parse("^1.0.0 ^1.0.0 ^1.0.0", &r), CMN_E_TOOBIG, "carets expand to 6 comparators");
    char longr[200];
    memset(longr, ' ', sizeof(longr));
    memcpy(longr + 180, "1.0.0", 6);
    is_int(cmn_semver_range_parse(longr, &r), CMN_E_TOOBIG, "range text over 127 bytes");
    static const char *badr[] = {"",      "   ",   "||",     "1.0.0 ||",      "|| 1.0.0",    "1.0.0 | 2.0.0",
                                 ">",     ">=",    "abc",    "1.2.3 - 2.0.0", ">*",          "<*",
                                 "~>1.2", "1.x.3", "1.2.3-", "=>1.0.0",       "1.0.0,2.0.0", ">=1.0.0<2.0.0"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(badr); i++)
        is_int(cmn_semver_range_parse(badr[i], &r), CMN_E_PARSE, "refuse range '%s'", badr[i]);
    is_int(cmn_semver_range_parse(NULL, &r), CMN_E_PARSE, "refuse NULL range");
    /* The range is POD: a copy matches like the original. */
    struct cmn_semver_range copy;
    is_int(cmn_semver_range_parse("~1.4.2", &r), CMN_OK, "parse ~1.4.2");
    memcpy(&copy, &r, sizeof(r));
    is_int(cmn_semver_parse("1.4.9", &v), CMN_OK, "parse 1.4.9");
    is_int(cmn_semver_range_match(&copy, &v), 1, "copied range matches");
    return done_testing();
}
