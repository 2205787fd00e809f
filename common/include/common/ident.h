/*
 * ident.h - the one identifier rule (manifests/SPEC.md section 6,
 * "Identifiers"): app, platform, channel, release id, device list name.
 *
 *     [A-Za-z0-9_-][A-Za-z0-9._-]{0,63}
 *
 * 1 to 64 bytes of ASCII letters, digits, '.', '_' and '-', not starting
 * with '.'. Identifiers become storage key segments, file names and LMDB
 * keys, so ".", ".." and hidden names are refused everywhere; a NUL, '/', a
 * control character, a space or any non-ASCII byte is refused too. Every
 * part (manifest validation, CLI arguments, the edge's requests and index,
 * the publisher's JSON requests, the SDK's state) calls this rule and no
 * copy of it; tests/unit/<part>/ident_test.c feed the same list of names
 * (tests/vectors/identifiers.txt) to each part and expect one verdict.
 */
#ifndef COMMON_IDENT_H
#define COMMON_IDENT_H

#include <stddef.h>

#define CMN_ID_MAX 64 /* bytes; see the rule above */

/* 1 when the NUL-terminated `s` is an identifier; 0 otherwise (NULL included). */
int cmn_id_valid(const char *s);

/* The same for `n` bytes at `s` (not NUL-terminated; an embedded NUL is refused). */
int cmn_id_valid_n(const char *s, size_t n);

/*
 * Device ids are not identifiers: 1..CMN_DEVICE_ID_MAX bytes of UTF-8 with no
 * control character (the edge's index and lists, telemetry tickets). 1 when
 * the `n` bytes at `s` are one.
 */
#define CMN_DEVICE_ID_MAX 128
int cmn_device_id_valid(const char *s, size_t n);

#endif
