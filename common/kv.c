/*
 * kv.c - the `key = value` reader of kv.h. One pass over the text, one
 * heap scratch buffer for the unescaped value (wiped), no other allocation.
 */
#include "common/compat.h"

#include <stdarg.h>

#include "common/crypto.h"
#include "common/kv.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Record "<what> <line>: <detail>" (the first error wins, as cmn_errf does). */
static enum cmn_err at_line(struct cmn_errbuf *eb, enum cmn_err rc, const char *what, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static enum cmn_err at_line(struct cmn_errbuf *eb, enum cmn_err rc, const char *what, size_t line, const char *fmt, ...)
{
    char detail[CMN_ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return cmn_errf(eb, rc, "%s %zu: %s", what, line, detail);
}

/* Parse one value starting at text[i] (already past the blanks after '='); writes it to val. */
static enum cmn_err read_value(const char *text, size_t i, size_t end, unsigned flags, char *val, size_t *vl_out,
                               const char **why)
{
    size_t vl = 0;
    if ((flags & CMN_KV_QUOTED) && i < end && text[i] == '"') {
        int closed = 0;
        i++;
        while (i < end) {
            char ch = text[i++];
            if (ch == '"') {
                closed = 1;
                break;
            }
            if (ch == '\\') {
                if (i == end || (text[i] != '"' && text[i] != '\\')) {
                    *why = "bad escape in quoted value";
                    return CMN_E_PARSE;
                }
                ch = text[i++];
            }
            val[vl++] = ch;
        }
        if (!closed) {
            *why = "unterminated quoted value";
            return CMN_E_PARSE;
        }
        while (i < end && is_blank(text[i]))
            i++;
        if (i < end && text[i] != '#') {
            *why = "text after quoted value";
            return CMN_E_PARSE;
        }
    } else {
        size_t vend = end;
        if (flags & CMN_KV_TRAILING_COMMENT) {
            /* an unquoted value ends at " #" (comment) or the end of the line */
            for (size_t k = i; k < end; k++) {
                if (text[k] == '#' && k > i && is_blank(text[k - 1])) {
                    vend = k;
                    break;
                }
            }
        }
        while (vend > i && is_blank(text[vend - 1]))
            vend--;
        memcpy(val, text + i, vend - i);
        vl = vend - i;
    }
    val[vl] = '\0';
    *vl_out = vl;
    return CMN_OK;
}

enum cmn_err cmn_kv_parse(const char *text, size_t len, const struct cmn_kv_opts *opts, cmn_kv_fn fn, void *ctx,
                          struct cmn_errbuf *eb)
{
    static const struct cmn_kv_opts defaults = {0, 0, NULL};
    const struct cmn_kv_opts *o = opts ? opts : &defaults;
    const char *what = o->what ? o->what : "line";
    enum cmn_err rc = CMN_OK;
    size_t pos = 0, line = 0;
    char *val = malloc(len + 1);
    if (!val)
        return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
    while (pos < len) {
        const char *why = NULL;
        size_t start = pos, end, i;
        char key[CMN_KV_KEY_MAX + 1];
        size_t kl = 0, vl = 0;
        line++;
        while (pos < len && text[pos] != '\n')
            pos++;
        end = pos;
        if (pos < len)
            pos++; /* the newline */
        if (o->max_line && end - start > o->max_line) {
            rc = cmn_errf(eb, CMN_E_PARSE, "%s %zu is too long", what, line);
            break;
        }
        if (end > start && text[end - 1] == '\r')
            end--;
        for (i = start; i < end && is_blank(text[i]); i++)
            ;
        if (i == end || text[i] == '#')
            continue;
        while (i < end && is_key_char(text[i])) {
            if (kl == CMN_KV_KEY_MAX) {
                why = "key too long";
                break;
            }
            key[kl++] = text[i++];
        }
        key[kl] = '\0';
        if (why) {
            rc = at_line(eb, CMN_E_PARSE, what, line, "%s", why);
            break;
        }
        if (kl == 0) {
            rc = at_line(eb, CMN_E_PARSE, what, line, "expected 'key = value'");
            break;
        }
        while (i < end && is_blank(text[i]))
            i++;
        if (i == end || text[i] != '=') {
            rc = at_line(eb, CMN_E_PARSE, what, line, "expected '=' after '%s'", key);
            break;
        }
        for (i++; i < end && is_blank(text[i]); i++)
            ;
        rc = read_value(text, i, end, o->flags, val, &vl, &why);
        if (rc) {
            rc = at_line(eb, rc, what, line, "%s", why);
            break;
        }
        struct cmn_errbuf inner = {{0}};
        rc = fn(ctx, key, val, vl, &inner);
        if (rc) {
            rc = at_line(eb, rc, what, line, "%s", cmn_errmsg(&inner, rc));
            break;
        }
    }
    cmn_wipe(val, len + 1);
    free(val);
    return rc;
}
