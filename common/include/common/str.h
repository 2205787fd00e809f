/*
 * str.h - the text encodings every part shares: percent-encoding for URLs
 * (RFC 3986), JSON string escaping (RFC 8259) and times for people (RFC 3339
 * UTC). One rule each, so a name that one program encodes is decoded the
 * same way by another.
 *
 * Hex (digests, keys, tokens) is not here: use libsodium's sodium_bin2hex /
 * sodium_hex2bin (constant time) directly.
 */
#ifndef COMMON_STR_H
#define COMMON_STR_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/*
 * Percent-encode `n` bytes of `s`, appending to `out`: RFC 3986 unreserved
 * characters (A-Z a-z 0-9 - _ . ~) stay, '/' stays when keep_slash (a URL
 * path), every other byte becomes %XX (upper-case hex). On error (the buffer's
 * cap) `out` is emptied, as cmn_buf does.
 */
enum cmn_err cmn_url_encode(struct cmn_buf *out, const char *s, size_t n, int keep_slash)
    __attribute__((warn_unused_result));

/*
 * The same encoding into a caller's array: writes the NUL-terminated result
 * to out[cap] and returns its length, or -1 (out = "") when it does not fit.
 */
long cmn_url_encode_to(char *out, size_t cap, const char *s, int keep_slash);

/* Longest escape cmn_json_escape_char writes. */
#define CMN_JSON_ESC_MAX 6

/*
 * The JSON escape of byte `c`: writes it to e[] and returns its length, or
 * returns 0 when `c` stands for itself. '"' and '\\' get a backslash, \b \f \n
 * \r \t their short forms, other control characters (< 0x20) \u00xx in lower
 * case; every other byte (UTF-8 included) is left as is. This is also the
 * canonical form signed manifests use (common/cjson.c).
 */
size_t cmn_json_escape_char(unsigned char c, char e[CMN_JSON_ESC_MAX]);

/* Append the JSON-escaped form of `n` bytes of `s` (no quotes) to `out`. */
enum cmn_err cmn_json_escape(struct cmn_buf *out, const char *s, size_t n) __attribute__((warn_unused_result));

/*
 * Append `s` JSON-escaped to out[at..cap) and return the new length; stops at
 * a whole escape when fewer than CMN_JSON_ESC_MAX + 1 bytes are left, and
 * keeps out NUL-terminated. For fixed-size lines (logs) that truncate quietly.
 */
size_t cmn_json_escape_to(char *out, size_t cap, size_t at, const char *s);

/* Bytes cmn_iso_time needs at most (NUL included). */
#define CMN_ISO_TIME_MAX 32

/*
 * Unix seconds `t` as "2026-01-01T00:00:00Z" (UTC) into out[cap], NUL-terminated;
 * the plain number when gmtime cannot represent it.
 */
void cmn_iso_time(int64_t t, char *out, size_t cap);

#endif
