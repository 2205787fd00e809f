/*
 * err.c - strings for enum cmn_err and the detail buffer helpers.
 */
#include "common/compat.h"

#include "common/err.h"

static const struct {
    const char *name;
    const char *text;
} err_table[CMN_E__COUNT] = {
    [CMN_OK] = {"ok", "no error"},
    [CMN_E_NOMEM] = {"nomem", "out of memory"},
    [CMN_E_INVAL] = {"invalid", "invalid argument"},
    [CMN_E_IO] = {"io", "input/output error"},
    [CMN_E_PARSE] = {"parse", "malformed input"},
    [CMN_E_TOOBIG] = {"too_big", "input exceeds a size limit"},
    [CMN_E_SIG] = {"bad_signature", "signature does not verify"},
    [CMN_E_UNKNOWN_KEY] = {"unknown_key", "signed by an untrusted key"},
    [CMN_E_EXPIRED] = {"expired", "manifest has expired"},
    [CMN_E_REPLAY] = {"replay", "manifest sequence went backwards"},
    [CMN_E_HASH] = {"hash_mismatch", "content digest mismatch"},
    [CMN_E_NOTFOUND] = {"not_found", "not found"},
    [CMN_E_EXISTS] = {"exists", "already exists"},
    [CMN_E_CONFLICT] = {"conflict", "conflicting concurrent update"},
    [CMN_E_DENIED] = {"denied", "permission denied"},
    [CMN_E_NET] = {"network", "network error"},
    [CMN_E_HTTP] = {"http", "unexpected http status"},
    [CMN_E_NOT_MODIFIED] = {"not_modified", "not modified"},
    [CMN_E_UNSUPPORTED] = {"unsupported", "not supported"},
    [CMN_E_CANCELLED] = {"cancelled", "cancelled"},
    [CMN_E_DB] = {"database", "database error"},
    [CMN_E_UNSAFE] = {"unsafe", "unsafe input refused"},
    [CMN_E_BUSY] = {"busy", "resource busy, try again"},
};

const char *cmn_strerror(enum cmn_err e)
{
    if ((unsigned)e >= CMN_E__COUNT)
        return "unknown error";
    return err_table[e].text;
}

const char *cmn_errname(enum cmn_err e)
{
    if ((unsigned)e >= CMN_E__COUNT)
        return "unknown";
    return err_table[e].name;
}

enum cmn_err cmn_errf(struct cmn_errbuf *eb, enum cmn_err code, const char *fmt, ...)
{
    if (eb && eb->msg[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *cmn_errmsg(const struct cmn_errbuf *eb, enum cmn_err code)
{
    if (eb && eb->msg[0])
        return eb->msg;
    return cmn_strerror(code);
}
