/*
 * kv.h - the one reader of `key = value` settings files (the CLI's config,
 * the publisher's config file).
 *
 * Format: one setting per line; '\n' or "\r\n" line ends; blank lines and
 * lines whose first non-blank byte is '#' are skipped; a key is 1-63 bytes of
 * [a-z0-9_]; spaces and tabs around the key, the '=' and the value are
 * trimmed; a value is the rest of the line. Two options, for the publisher's
 * format:
 *   CMN_KV_QUOTED           a value in double quotes keeps its spaces and '#';
 *                           inside, \" and \\ are the only escapes; nothing
 *                           but a comment may follow the closing quote
 *   CMN_KV_TRAILING_COMMENT an unquoted value ends at a '#' that follows a
 *                           space or tab
 * Without them a '#' inside a value is literal (a token may contain one).
 * The reader checks syntax only; which keys exist, duplicates and value rules
 * are the caller's (in `fn`). Errors say where: "<what> <line>: <reason>",
 * with `what` from the caller ("line", "config line").
 */
#ifndef COMMON_KV_H
#define COMMON_KV_H

#include <stddef.h>

#include "common/err.h"

#define CMN_KV_QUOTED 1u
#define CMN_KV_TRAILING_COMMENT 2u
#define CMN_KV_KEY_MAX 63

/*
 * Called for each setting, in file order: `key` is NUL-terminated; `val` is
 * NUL-terminated too but may hold a NUL byte before `vlen` (check it when it
 * matters); both are valid only during the call. Return CMN_OK to go on, or
 * an error (with a detail in eb, without the line: the reader prefixes it).
 */
typedef enum cmn_err (*cmn_kv_fn)(void *ctx, const char *key, const char *val, size_t vlen, struct cmn_errbuf *eb);

struct cmn_kv_opts {
    unsigned flags;   /* CMN_KV_* */
    size_t max_line;  /* longest line in bytes; 0 = no limit */
    const char *what; /* error prefix before the line number; NULL = "line" */
};

/*
 * Read `len` bytes of `text`, calling `fn` per setting. CMN_OK, CMN_E_PARSE
 * for a syntax error, CMN_E_NOMEM, or what `fn` returned; eb then reads
 * "<what> <n>: <detail>". The value scratch buffer is wiped before return
 * (values are often secrets).
 */
enum cmn_err cmn_kv_parse(const char *text, size_t len, const struct cmn_kv_opts *opts, cmn_kv_fn fn, void *ctx,
                          struct cmn_errbuf *eb) __attribute__((warn_unused_result));

#endif
