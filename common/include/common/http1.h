/*
 * http1.h - an allocation-free, incremental HTTP/1.1 request parser (in the
 * style of picohttpparser) plus query-string helpers.
 *
 * The parser never allocates and never copies: every field it returns points
 * into the caller's buffer, so the buffer must stay unchanged while the
 * results are used. It reads at most `len` bytes (unit tests place the input
 * right before a guard page). Return convention (docs/style.md "Errors"):
 *   > 0  bytes consumed by the request line and the header section
 *        (the body, if any, starts there)
 *    -1  malformed request
 *    -2  incomplete: read more and call again with the longer buffer
 *    -3  more header fields than the caller allowed (HTTP 431)
 * The caller caps the header section (the edge allows 8 KiB): when the
 * parser still answers -2 past the cap, the request is too large.
 *
 * Accepted grammar (RFC 9112, deliberately strict where leniency has been a
 * source of request smuggling): method = token; request target = visible
 * ASCII; version "HTTP/1.0" or "HTTP/1.1"; header name = token (no space
 * before the colon); header value = VCHAR / obs-text / SP / HTAB, optional
 * whitespace around it trimmed; lines end with CRLF or a bare LF; obsolete
 * line folding, NUL and other control characters are refused.
 */
#ifndef COMMON_HTTP1_H
#define COMMON_HTTP1_H

#include <stddef.h>

/* A borrowed byte range; not NUL-terminated. */
struct cmn_slice {
    const char *p;
    size_t n;
};

struct cmn_http1_header {
    struct cmn_slice name;
    struct cmn_slice value;
};

struct cmn_http1_request {
    struct cmn_slice method;
    struct cmn_slice target;          /* request target as sent: path [ "?" query ] */
    struct cmn_slice path;            /* target up to '?' */
    struct cmn_slice query;           /* after '?', without it; n == 0 when absent */
    int minor_version;                /* 0 or 1 */
    struct cmn_http1_header *headers; /* caller-provided array */
    size_t num_headers;               /* headers found */
};

/*
 * Parse a request head in buf[0..len). `headers` has room for `max_headers`
 * entries (more headers -> -3). `last_len` is the length of the buffer at the
 * previous call that returned -2 (0 on the first call): the parser then only
 * looks for the end of the head in the new bytes before doing the full parse,
 * so feeding a slow client byte by byte stays linear. As in picohttpparser,
 * this means a malformed head can read as -2 until its end arrives; the
 * caller's size cap bounds that. On -1/-2, *req is unspecified.
 */
int cmn_http1_parse_request(const char *buf, size_t len, size_t last_len, struct cmn_http1_request *req,
                            struct cmn_http1_header *headers, size_t max_headers);

/* The first header named `name` (ASCII case-insensitive), or NULL. */
const struct cmn_http1_header *cmn_http1_find_header(const struct cmn_http1_request *req, const char *name);

/* 1 when the slice equals the NUL-terminated `s` ignoring ASCII case. */
int cmn_slice_ieq(struct cmn_slice a, const char *s);
/* 1 when the slice equals `s` exactly. */
int cmn_slice_eq(struct cmn_slice a, const char *s);

/*
 * Decode a Content-Length value: digits only, at most 18 of them. Returns the
 * value, or -1 when malformed.
 */
long long cmn_http1_content_length(struct cmn_slice v);

/*
 * Keep-alive after this request? HTTP/1.1 defaults to yes unless a
 * "Connection: close" token is present; HTTP/1.0 defaults to no unless
 * "Connection: keep-alive".
 */
int cmn_http1_keep_alive(const struct cmn_http1_request *req);

/*
 * Iterate over "k=v&k2=v2" pairs of a query string. *cursor starts at the
 * query (q->p) and advances; returns 1 with raw (still percent-encoded)
 * key/value slices, 0 at the end. A pair without '=' has an empty value;
 * empty pairs ("a=1&&b=2") are skipped.
 */
int cmn_query_next(struct cmn_slice *rest, struct cmn_slice *key, struct cmn_slice *val);

/*
 * Percent-decode `in` into out[0..cap), '+' meaning a space when
 * `plus_is_space`, and NUL-terminate. Returns the decoded length, or -1 when
 * the input is malformed (a '%' not followed by two hex digits, or one that
 * decodes to NUL) or the result plus its terminator does not fit in `cap`.
 */
long cmn_pct_decode(struct cmn_slice in, char *out, size_t cap, int plus_is_space);

#endif
