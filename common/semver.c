/*
 * semver.c - semantic versions and npm/CodePush-style ranges (semver.h).
 *
 * Versions follow semver.org 2.0.0 with two conveniences: MINOR and PATCH may
 * be omitted (they are 0). Numeric parts have no leading zeros and are at
 * most 2^31-1. Build metadata is validated and dropped.
 *
 * A range compiles into at most CMN_RANGE_MAX_SETS alternatives of at most
 * CMN_RANGE_MAX_CMPS primitive comparators (= < <= > >=). Partial versions
 * and the ^ ~ x forms desugar as in npm, with upper bounds written as
 * "X.Y.Z-0" (the lowest version with that tuple) so that "1.2.x" does not
 * match "1.3.0-beta". Matching is plain semver precedence against every
 * comparator; unlike npm there is no special rule excluding prereleases,
 * which keeps the rule short enough to state in manifests/SPEC.md.
 */
#include "common/compat.h"

#include "common/semver.h"

#define NUM_MAX 2147483647u

/* Parse a numeric identifier at s[*i]; -1 on none / leading zero / overflow. */
static int parse_num(const char *s, size_t *i, uint32_t *out)
{
    size_t start = *i;
    uint64_t v = 0;
    while (s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (uint64_t)(s[*i] - '0');
        if (v > NUM_MAX)
            return -1;
        (*i)++;
    }
    if (*i == start)
        return -1;
    if (s[start] == '0' && *i - start > 1)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int is_ident_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/*
 * Dot-separated identifiers starting at s[*i], stopping at `stop` chars or
 * NUL. Numeric identifiers may not have leading zeros when `numeric_rule`.
 */
static int parse_idents(const char *s, size_t *i, int numeric_rule)
{
    for (;;) {
        size_t start = *i;
        int all_digits = 1;
        while (is_ident_char(s[*i])) {
            if (s[*i] < '0' || s[*i] > '9')
                all_digits = 0;
            (*i)++;
        }
        size_t len = *i - start;
        if (len == 0)
            return -1;
        if (numeric_rule && all_digits && len > 1 && s[start] == '0')
            return -1;
        if (s[*i] != '.')
            return 0;
        (*i)++;
    }
}

enum cmn_err cmn_semver_parse(const char *s, struct cmn_semver *out)
{
    struct cmn_semver v;
    size_t i = 0;
    uint32_t parts[3] = {0, 0, 0};
    int n = 0;
    if (!s)
        return CMN_E_PARSE;
    memset(&v, 0, sizeof(v));
    for (;;) {
        if (parse_num(s, &i, &parts[n]) != 0)
            return CMN_E_PARSE;
        n++;
        if (n == 3 || s[i] != '.')
            break;
        i++;
    }
    v.major = parts[0];
    v.minor = parts[1];
    v.patch = parts[2];
    if (s[i] == '-') {
        size_t start = ++i;
        if (parse_idents(s, &i, 1) != 0)
            return CMN_E_PARSE;
        if (i - start >= CMN_SEMVER_PRE_MAX)
            return CMN_E_PARSE;
        memcpy(v.pre, s + start, i - start);
        v.pre[i - start] = '\0';
    }
    if (s[i] == '+') {
        i++;
        if (parse_idents(s, &i, 0) != 0)
            return CMN_E_PARSE;
    }
    if (s[i] != '\0')
        return CMN_E_PARSE;
    *out = v;
    return CMN_OK;
}

static int ident_is_num(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

/* semver.org 11.4: compare dot-separated prerelease identifiers. */
static int pre_cmp(const char *a, const char *b)
{
    if (!*a && !*b)
        return 0;
    if (!*a)
        return 1; /* a release ranks above any prerelease */
    if (!*b)
        return -1;
    for (;;) {
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        int na = ident_is_num(a, la), nb = ident_is_num(b, lb);
        int c;
        if (na && nb) {
            c = la != lb ? (la < lb ? -1 : 1) : memcmp(a, b, la); /* no leading zeros: length orders */
        } else if (na != nb) {
            c = na ? -1 : 1;
        } else {
            size_t m = la < lb ? la : lb;
            c = memcmp(a, b, m);
            if (!c)
                c = la < lb ? -1 : (la > lb);
        }
        if (c)
            return c < 0 ? -1 : 1;
        a += la;
        b += lb;
        if (!*a && !*b)
            return 0;
        if (!*a)
            return -1;
        if (!*b)
            return 1;
        a++;
        b++;
    }
}

int cmn_semver_cmp(const struct cmn_semver *a, const struct cmn_semver *b)
{
    if (a->major != b->major)
        return a->major < b->major ? -1 : 1;
    if (a->minor != b->minor)
        return a->minor < b->minor ? -1 : 1;
    if (a->patch != b->patch)
        return a->patch < b->patch ? -1 : 1;
    return pre_cmp(a->pre, b->pre);
}

/* ---- ranges ---- */

static enum cmn_err push(struct cmn_semver_cmp *cmps, uint8_t *n, enum cmn_semver_op op, uint32_t ma, uint32_t mi,
                         uint32_t pa, const char *pre)
{
    if (*n >= CMN_RANGE_MAX_CMPS)
        return CMN_E_TOOBIG;
    struct cmn_semver_cmp *c = &cmps[(*n)++];
    memset(c, 0, sizeof(*c));
    c->op = (uint8_t)op;
    c->v.major = ma;
    c->v.minor = mi;
    c->v.patch = pa;
    if (pre) {
        size_t l = strlen(pre);
        memcpy(c->v.pre, pre, l + 1);
    }
    return CMN_OK;
}

/*
 * Partial version "X", "X.Y", "X.Y.Z[-pre]" with x, X or * wildcards. *np is the
 * number of concrete numeric parts (0..3) before the first wildcard or the
 * end; a prerelease is only allowed when all three parts are present.
 */
static int parse_partial(const char *s, size_t *i, uint32_t parts[3], int *np, char pre[CMN_SEMVER_PRE_MAX])
{
    int n = 0, wild = 0;
    parts[0] = parts[1] = parts[2] = 0;
    pre[0] = '\0';
    for (int k = 0; k < 3; k++) {
        char c = s[*i];
        if (c == 'x' || c == 'X' || c == '*') {
            (*i)++;
            wild = 1;
        } else if (!wild && c >= '0' && c <= '9') {
            if (parse_num(s, i, &parts[k]) != 0)
                return -1;
            n++;
        } else {
            return -1;
        }
        if (s[*i] != '.')
            break;
        if (k == 2)
            return -1;
        (*i)++;
    }
    *np = n;
    if (s[*i] == '-') {
        if (n != 3)
            return -1;
        size_t start = ++(*i);
        if (parse_idents(s, i, 1) != 0 || *i - start >= CMN_SEMVER_PRE_MAX)
            return -1;
        memcpy(pre, s + start, *i - start);
        pre[*i - start] = '\0';
    }
    if (s[*i] == '+') {
        (*i)++;
        if (parse_idents(s, i, 0) != 0)
            return -1;
    }
    return 0;
}

/* Desugar one token (operator + partial version) into primitive comparators. */
static enum cmn_err add_token(const char *op, uint32_t p[3], int np, const char *pre, struct cmn_semver_cmp *cmps,
                              uint8_t *n)
{
    enum cmn_err rc = CMN_OK;
    if (strcmp(op, "^") == 0) {
        if (np == 0)
            return CMN_OK; /* ^* is any */
        rc = push(cmps, n, CMN_OP_GE, p[0], p[1], p[2], pre);
        if (rc)
            return rc;
        if (p[0] > 0 || np == 1)
            return push(cmps, n, CMN_OP_LT, p[0] + 1, 0, 0, "0");
        if (p[1] > 0 || np == 2)
            return push(cmps, n, CMN_OP_LT, 0, p[1] + 1, 0, "0");
        return push(cmps, n, CMN_OP_LT, 0, 0, p[2] + 1, "0");
    }
    if (strcmp(op, "~") == 0) {
        if (np == 0)
            return CMN_OK;
        rc = push(cmps, n, CMN_OP_GE, p[0], p[1], p[2], pre);
        if (rc)
            return rc;
        if (np == 1)
            return push(cmps, n, CMN_OP_LT, p[0] + 1, 0, 0, "0");
        return push(cmps, n, CMN_OP_LT, p[0], p[1] + 1, 0, "0");
    }
    if (op[0] == '\0' || strcmp(op, "=") == 0) {
        if (np == 3)
            return push(cmps, n, CMN_OP_EQ, p[0], p[1], p[2], pre);
        if (np == 0)
            return CMN_OK;
        rc = push(cmps, n, CMN_OP_GE, p[0], p[1], 0, NULL);
        if (rc)
            return rc;
        if (np == 1)
            return push(cmps, n, CMN_OP_LT, p[0] + 1, 0, 0, "0");
        return push(cmps, n, CMN_OP_LT, p[0], p[1] + 1, 0, "0");
    }
    if (np == 0) {
        /* ">=*" and "<=*" are any; ">*" and "<*" match nothing: refuse them. */
        if (strcmp(op, ">=") == 0 || strcmp(op, "<=") == 0)
            return CMN_OK;
        return CMN_E_PARSE;
    }
    if (strcmp(op, ">=") == 0)
        return push(cmps, n, CMN_OP_GE, p[0], p[1], p[2], pre);
    if (strcmp(op, "<") == 0)
        return push(cmps, n, CMN_OP_LT, p[0], p[1], p[2], np == 3 ? pre : "0");
    if (strcmp(op, ">") == 0) {
        if (np == 3)
            return push(cmps, n, CMN_OP_GT, p[0], p[1], p[2], pre);
        if (np == 1)
            return push(cmps, n, CMN_OP_GE, p[0] + 1, 0, 0, NULL);
        return push(cmps, n, CMN_OP_GE, p[0], p[1] + 1, 0, NULL);
    }
    if (strcmp(op, "<=") == 0) {
        if (np == 3)
            return push(cmps, n, CMN_OP_LE, p[0], p[1], p[2], pre);
        if (np == 1)
            return push(cmps, n, CMN_OP_LT, p[0] + 1, 0, 0, "0");
        return push(cmps, n, CMN_OP_LT, p[0], p[1] + 1, 0, "0");
    }
    return CMN_E_PARSE;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

enum cmn_err cmn_semver_range_parse(const char *s, struct cmn_semver_range *out)
{
    struct cmn_semver_range r;
    if (!s)
        return CMN_E_PARSE;
    size_t len = strlen(s);
    if (len >= CMN_RANGE_TEXT_MAX)
        return CMN_E_TOOBIG;
    memset(&r, 0, sizeof(r));
    size_t i = 0;
    int set = 0;
    int tokens = 0;
    for (;;) {
        while (is_space(s[i]))
            i++;
        if (s[i] == '\0' || (s[i] == '|' && s[i + 1] == '|')) {
            if (tokens == 0)
                return CMN_E_PARSE; /* empty range or empty alternative */
            if (s[i] == '\0')
                break;
            i += 2;
            if (++set >= CMN_RANGE_MAX_SETS)
                return CMN_E_TOOBIG;
            tokens = 0;
            continue;
        }
        char op[3] = {0, 0, 0};
        if (s[i] == '>' || s[i] == '<') {
            op[0] = s[i++];
            if (s[i] == '=')
                op[1] = s[i++];
        } else if (s[i] == '=' || s[i] == '^' || s[i] == '~') {
            op[0] = s[i++];
        }
        while (op[0] && is_space(s[i]))
            i++;
        uint32_t p[3];
        int np = 0;
        char pre[CMN_SEMVER_PRE_MAX];
        if (parse_partial(s, &i, p, &np, pre) != 0)
            return CMN_E_PARSE;
        if (s[i] != '\0' && !is_space(s[i]) && s[i] != '|')
            return CMN_E_PARSE;
        if (s[i] == '|' && s[i + 1] != '|')
            return CMN_E_PARSE;
        enum cmn_err rc = add_token(op, p, np, pre[0] ? pre : NULL, r.cmps[set], &r.ncmps[set]);
        if (rc)
            return rc;
        tokens++;
    }
    r.nsets = (uint8_t)(set + 1);
    *out = r;
    return CMN_OK;
}

static int cmp_match(const struct cmn_semver_cmp *c, const struct cmn_semver *v)
{
    int d = cmn_semver_cmp(v, &c->v);
    switch (c->op) {
    case CMN_OP_EQ:
        return d == 0;
    case CMN_OP_LT:
        return d < 0;
    case CMN_OP_LE:
        return d <= 0;
    case CMN_OP_GT:
        return d > 0;
    case CMN_OP_GE:
        return d >= 0;
    }
    return 0;
}

int cmn_semver_range_match(const struct cmn_semver_range *r, const struct cmn_semver *v)
{
    for (unsigned s = 0; s < r->nsets && s < CMN_RANGE_MAX_SETS; s++) {
        int all = 1;
        for (unsigned k = 0; k < r->ncmps[s] && k < CMN_RANGE_MAX_CMPS; k++) {
            if (!cmp_match(&r->cmps[s][k], v)) {
                all = 0;
                break;
            }
        }
        if (all)
            return 1;
    }
    return 0;
}
