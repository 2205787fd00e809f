/*
 * pub_multipart.h - a streaming multipart/form-data parser (RFC 7578 / 2046)
 * for release uploads. Bytes are fed as they arrive from the socket; part
 * bodies are handed to a callback in pieces and never buffered whole, so a
 * 256 MiB bundle costs a few kilobytes of parser memory. Fuzzed by
 * tests/fuzz/pub_multipart.c.
 *
 * Limits: boundary 1..70 characters of the RFC 2046 set (no CR/LF), part
 * header block PUB_MP_MAX_HEADER bytes, PUB_MP_MAX_PARTS parts, preamble
 * PUB_MP_MAX_PREAMBLE bytes. Every violation is CMN_E_PARSE (or CMN_E_TOOBIG)
 * with a one-line reason in the errbuf.
 */
#ifndef PUB_MULTIPART_H
#define PUB_MULTIPART_H

#include <stddef.h>

#include "common/err.h"

#define PUB_MP_MAX_BOUNDARY 70
#define PUB_MP_MAX_HEADER 8192
#define PUB_MP_MAX_PARTS 16
#define PUB_MP_MAX_PREAMBLE 4096
#define PUB_MP_NAME_MAX 128

struct pub_mp_part {
    char name[PUB_MP_NAME_MAX];         /* Content-Disposition name= */
    char filename[PUB_MP_NAME_MAX];     /* filename= or "" */
    char content_type[PUB_MP_NAME_MAX]; /* Content-Type or "" */
};

/* Callbacks return 0 to go on, non-zero to stop (feed then fails with CMN_E_CANCELLED). */
struct pub_mp_cb {
    int (*begin)(void *ctx, const struct pub_mp_part *part);
    int (*data)(void *ctx, const void *p, size_t n);
    int (*end)(void *ctx);
    void *ctx;
};

enum pub_mp_state {
    PUB_MP_PREAMBLE = 0, /* before the first boundary: discarded */
    PUB_MP_AFTER_DELIM,  /* just read a delimiter: expect "--" or CRLF */
    PUB_MP_AFTER_DASH,   /* read one '-' after a delimiter: expect the second */
    PUB_MP_PAD,          /* transport padding after the delimiter, until CRLF */
    PUB_MP_HEADERS,      /* part header block, until an empty line */
    PUB_MP_BODY,         /* part body, until the next delimiter */
    PUB_MP_DONE,         /* after the close delimiter: the epilogue is ignored */
    PUB_MP_ERROR,        /* a previous call failed: everything is refused */
};

struct pub_mp {
    enum pub_mp_state state;
    char delim[PUB_MP_MAX_BOUNDARY + 5]; /* "\r\n--" boundary */
    size_t dlen;
    size_t matched; /* delimiter bytes matched so far (pending, not yet emitted) */
    char hdr[PUB_MP_MAX_HEADER];
    size_t hlen;
    size_t preamble;
    int nparts;
    int in_part;
    struct pub_mp_part part;
    struct pub_mp_cb cb;
};

/*
 * Extract the boundary from a Content-Type value ("multipart/form-data;
 * boundary=..." with the parameter possibly quoted). CMN_E_UNSUPPORTED when
 * the type is not multipart/form-data, CMN_E_PARSE for a missing or bad boundary.
 */
enum cmn_err pub_mp_boundary(const char *content_type, char out[PUB_MP_MAX_BOUNDARY + 1], struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Initialise for one body with the given boundary (from pub_mp_boundary). */
void pub_mp_init(struct pub_mp *mp, const char *boundary, const struct pub_mp_cb *cb);

/* Feed the next bytes of the body. */
enum cmn_err pub_mp_feed(struct pub_mp *mp, const void *p, size_t n, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* End of body: CMN_E_PARSE unless the close delimiter was seen. */
enum cmn_err pub_mp_finish(struct pub_mp *mp, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

#endif
