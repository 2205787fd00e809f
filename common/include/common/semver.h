/*
 * semver.h - versions and version ranges for native-binary targeting.
 *
 * Versions: MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]; missing parts are 0,
 * build metadata is ignored, precedence follows semver.org section 11.
 * Ranges (as CodePush / npm users write them):
 *   "1.2.3" "=1.2.3"  exact        "1.2.x" "1.2.*" "1.2"  any patch of 1.2
 *   "*" or "x"        any          "^1.2.3"  >=1.2.3 <2.0.0 (^0.2.3 -> <0.3.0, ^0.0.3 -> <0.0.4)
 *   "~1.2.3"          >=1.2.3 <1.3.0
 *   ">=1.2.0 <1.3.0"  comparators joined by spaces are ANDed (> >= < <= =)
 *   "a || b"          alternatives are ORed
 * A range is a fixed-size value (no heap), so it can be stored pre-compiled
 * in an index and matched without parsing.
 */
#ifndef COMMON_SEMVER_H
#define COMMON_SEMVER_H

#include <stdint.h>

#include "common/err.h"

#define CMN_SEMVER_PRE_MAX 32 /* prerelease text, NUL included */
#define CMN_RANGE_MAX_SETS 4  /* alternatives joined by || */
#define CMN_RANGE_MAX_CMPS 4  /* comparators per alternative */
#define CMN_RANGE_TEXT_MAX 128

struct cmn_semver {
    uint32_t major, minor, patch;
    char pre[CMN_SEMVER_PRE_MAX]; /* "" for a release version */
};

enum cmn_semver_op {
    CMN_OP_EQ = 0,
    CMN_OP_LT,
    CMN_OP_LE,
    CMN_OP_GT,
    CMN_OP_GE,
};

struct cmn_semver_cmp {
    uint8_t op; /* enum cmn_semver_op */
    struct cmn_semver v;
};

struct cmn_semver_range {
    uint8_t nsets;                     /* 0 never happens after a successful parse */
    uint8_t ncmps[CMN_RANGE_MAX_SETS]; /* 0 comparators in a set means "any" */
    struct cmn_semver_cmp cmps[CMN_RANGE_MAX_SETS][CMN_RANGE_MAX_CMPS];
};

/* CMN_E_PARSE on anything that is not a version; numbers above 2^31 are refused. */
enum cmn_err cmn_semver_parse(const char *s, struct cmn_semver *out) __attribute__((warn_unused_result));
/* <0, 0, >0 by semver precedence. */
int cmn_semver_cmp(const struct cmn_semver *a, const struct cmn_semver *b);
/* CMN_E_PARSE for a malformed range, CMN_E_TOOBIG past the set/comparator limits. */
enum cmn_err cmn_semver_range_parse(const char *s, struct cmn_semver_range *out) __attribute__((warn_unused_result));
/* 1 when v satisfies the range. */
int cmn_semver_range_match(const struct cmn_semver_range *r, const struct cmn_semver *v);

#endif
