/*
 * err.h - the project-internal error codes (enum cmn_err) and their messages.
 *
 * Every fallible function in common/ returns an enum cmn_err; 0 is success.
 * Details (which file, which field) travel beside the code in a caller-owned
 * struct cmn_errbuf, filled once where the failure is first understood
 * (curl's failf + CURLcode pattern).
 */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

#include <stddef.h>

enum cmn_err {
    CMN_OK = 0,
    CMN_E_NOMEM,        /* allocation failed */
    CMN_E_INVAL,        /* invalid argument or configuration */
    CMN_E_IO,           /* local file-system or OS error */
    CMN_E_PARSE,        /* malformed input (JSON, XML, HTTP, version string...) */
    CMN_E_TOOBIG,       /* input exceeds a configured size/depth/count cap */
    CMN_E_SIG,          /* signature does not verify */
    CMN_E_UNKNOWN_KEY,  /* signed by a key that is not trusted */
    CMN_E_EXPIRED,      /* manifest past its expires_at */
    CMN_E_REPLAY,       /* manifest sequence lower than one already accepted */
    CMN_E_HASH,         /* content digest mismatch */
    CMN_E_NOTFOUND,     /* object / record does not exist (HTTP 404) */
    CMN_E_EXISTS,       /* object / record already exists */
    CMN_E_CONFLICT,     /* conditional write lost a race (HTTP 412 / 409) */
    CMN_E_DENIED,       /* authentication or authorisation refused (401/403) */
    CMN_E_NET,          /* connection, DNS, TLS or timeout failure */
    CMN_E_HTTP,         /* unexpected HTTP status */
    CMN_E_NOT_MODIFIED, /* conditional GET: unchanged (HTTP 304) */
    CMN_E_UNSUPPORTED,  /* feature or scheme not supported */
    CMN_E_CANCELLED,    /* operation cancelled by the caller */
    CMN_E_DB,           /* database error */
    CMN_E_UNSAFE,       /* hostile input refused (zip slip, symlink, bomb...) */
    CMN_E_BUSY,         /* a shared resource (a connection pool) stayed in use for the whole wait: try again */
    CMN_E__COUNT
};

/* Static, lower-case description of a code; never NULL. */
const char *cmn_strerror(enum cmn_err e);

/* Short stable identifier of a code, e.g. "conflict", for JSON output. */
const char *cmn_errname(enum cmn_err e);

#define CMN_ERRBUF_SIZE 256

/*
 * Detail text for the last failure. Callers own it, usually on the stack:
 *     struct cmn_errbuf eb = {0};
 *     rc = cmn_storage_get(st, key, &out, &eb);
 *     if (rc) fprintf(stderr, "error: %s\n", eb.msg[0] ? eb.msg : cmn_strerror(rc));
 * Functions accept NULL when the caller does not want details.
 */
struct cmn_errbuf {
    char msg[CMN_ERRBUF_SIZE];
};

/*
 * Record a detail (printf format) and return `code`, so that a failing path
 * reads `return cmn_errf(eb, CMN_E_PARSE, "bad field '%s'", name);`.
 * Keeps the first message: a detail already set is not overwritten, because
 * the innermost failure is the one that explains the problem.
 */
enum cmn_err cmn_errf(struct cmn_errbuf *eb, enum cmn_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Message for display: the detail when one was set, else cmn_strerror(code). */
const char *cmn_errmsg(const struct cmn_errbuf *eb, enum cmn_err code);

#endif
