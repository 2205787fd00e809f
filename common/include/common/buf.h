/*
 * buf.h - growable byte buffer with a hard size cap (curl's dynbuf).
 *
 * Invariants: `ptr` is NULL or points to `len + 1` valid bytes, the last one
 * '\0', so the content can be used as a C string when it holds text. `len`
 * never exceeds `cap`. A failed append (CMN_E_NOMEM or CMN_E_TOOBIG) frees the
 * storage and leaves the buffer empty, so callers cannot continue with a
 * truncated document by accident. The cap is the DoS guard in the daemons.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/err.h"

struct cmn_buf {
    char *ptr;    /* NULL until the first append */
    size_t len;   /* bytes used, not counting the trailing '\0' */
    size_t alloc; /* bytes allocated */
    size_t cap;   /* the most `len` may ever be */
};

/* Initialise an empty buffer that may grow to `cap` bytes. Never fails. */
void cmn_buf_init(struct cmn_buf *b, size_t cap);

/* Free the storage; the buffer stays usable (empty, same cap). */
void cmn_buf_release(struct cmn_buf *b);

/* Keep the storage, drop the content. */
void cmn_buf_reset(struct cmn_buf *b);

/* Append bytes. CMN_E_TOOBIG past the cap, CMN_E_NOMEM on allocation failure. */
enum cmn_err cmn_buf_add(struct cmn_buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
enum cmn_err cmn_buf_addstr(struct cmn_buf *b, const char *s) __attribute__((warn_unused_result));
enum cmn_err cmn_buf_addf(struct cmn_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
enum cmn_err cmn_buf_vaddf(struct cmn_buf *b, const char *fmt, va_list ap) __attribute__((warn_unused_result));

/*
 * Hand the content to the caller, who frees it with free(). Returns a
 * NUL-terminated heap string (an empty one for an empty buffer) and stores
 * the length in *len when `len` is not NULL; NULL on allocation failure. The
 * buffer is left empty.
 */
char *cmn_buf_take(struct cmn_buf *b, size_t *len);

#endif
