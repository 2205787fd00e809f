/*
 * cjson.h - strict JSON parsing and canonical JSON rendering (jansson underneath).
 *
 * Strict parse rejects: duplicate object keys, any non-integer number
 * (fractions, exponents), integers outside +/-(2^53-1), nesting deeper than
 * CMN_CJSON_MAX_DEPTH, invalid UTF-8, NUL in strings, trailing bytes, and
 * documents larger than the caller's cap.
 *
 * Canonical form (manifests/SPEC.md section "Canonical JSON"): object keys
 * sorted by their UTF-8 bytes, no insignificant whitespace, integers in plain
 * decimal, strings with only '"', '\\' and U+0000..U+001F escaped (\b \f \n \r
 * \t short forms, else \u00xx in lower-case hex), everything else as literal
 * UTF-8, no floats. Rendering the parse of canonical bytes gives the same bytes.
 */
#ifndef COMMON_CJSON_H
#define COMMON_CJSON_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

#define CMN_CJSON_MAX_DEPTH 32
#define CMN_CJSON_MAX_INT 9007199254740991LL

/*
 * Parse `n` bytes strictly. On success *out holds a new reference the caller
 * releases with json_decref(). On failure *out is untouched and `eb` says
 * where (line/column) and why: CMN_E_PARSE, or CMN_E_TOOBIG for n > max_size
 * or excessive depth.
 */
enum cmn_err cmn_cjson_parse(const char *p, size_t n, size_t max_size, json_t **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Append the canonical form of `v` to `out`. CMN_E_INVAL for reals or over-deep values. */
enum cmn_err cmn_cjson_render(const json_t *v, struct cmn_buf *out) __attribute__((warn_unused_result));

/* 1 when `p[0..n)` is exactly the canonical rendering of its own strict parse. */
int cmn_cjson_is_canonical(const char *p, size_t n);

/*
 * 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no sequence cut short), else 0. The
 * one rule for "is this text" shared by every part that takes ids from the
 * network.
 */
int cmn_utf8_valid(const char *s, size_t n);

#endif
