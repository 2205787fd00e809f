/*
 * Unit tests for common/kv.c: the CLI's plain format (a '#' inside a value
 * is literal) and the publisher's (quoted values, trailing comments), line
 * numbers in errors, CRLF, the line cap, key rules, and errors from the
 * callback carried with their line.
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "common/kv.h"

struct got {
    char keys[8][64];
    char vals[8][128];
    size_t vlens[8];
    int n;
    const char *refuse; /* key the callback refuses */
};

static enum cmn_err on_kv(void *ctx, const char *key, const char *val, size_t vlen, struct cmn_errbuf *eb)
{
    struct got *g = ctx;
    if (g->refuse && strcmp(key, g->refuse) == 0)
        return cmn_errf(eb, CMN_E_PARSE, "unknown setting '%s'", key);
    if (g->n < 8) {
        snprintf(g->keys[g->n], sizeof(g->keys[0]), "%s", key);
        memcpy(g->vals[g->n], val, vlen < 127 ? vlen : 127);
        g->vals[g->n][vlen < 127 ? vlen : 127] = '\0';
        g->vlens[g->n] = vlen;
    }
    g->n++;
    return CMN_OK;
}

static enum cmn_err run(const char *text, unsigned flags, size_t max_line, struct got *g, struct cmn_errbuf *eb)
{
    struct cmn_kv_opts o = {.flags = flags, .max_line = max_line, .what = flags ? "config line" : NULL};
    memset(eb, 0, sizeof(*eb));
    return cmn_kv_parse(text, strlen(text), &o, on_kv, g, eb);
}

int main(void)
{
    struct cmn_errbuf eb;
    struct got g;

    memset(&g, 0, sizeof(g));
    is_int(run("# comment\n\n  endpoint =  https://p.example/x  \ntoken=ab#cd # not a comment\r\n", 0, 0, &g, &eb),
           CMN_OK, "plain file");
    is_int(g.n, 2, "two settings");
    is_str(g.keys[0], "endpoint", "key");
    is_str(g.vals[0], "https://p.example/x", "value trimmed");
    is_str(g.vals[1], "ab#cd # not a comment", "plain: '#' is literal, CR dropped");

    memset(&g, 0, sizeof(g));
    is_int(run("storage = \"a \\\"q\\\" # kept\" # comment\nport = 80 # c\nempty =\n",
               CMN_KV_QUOTED | CMN_KV_TRAILING_COMMENT, 0, &g, &eb),
           CMN_OK, "publisher file");
    is_str(g.vals[0], "a \"q\" # kept", "quoted value unescaped");
    is_str(g.vals[1], "80", "trailing comment dropped");
    is_str(g.vals[2], "", "empty value");
    is_int((long long)g.vlens[2], 0, "empty length");

    memset(&g, 0, sizeof(g));
    is_int(run("k = \"a\\x\"\n", CMN_KV_QUOTED, 0, &g, &eb), CMN_E_PARSE, "bad escape");
    is_str(eb.msg, "config line 1: bad escape in quoted value", "bad escape message");
    is_int(run("\n\nk = \"open\n", CMN_KV_QUOTED, 0, &g, &eb), CMN_E_PARSE, "unterminated");
    is_str(eb.msg, "config line 3: unterminated quoted value", "names line 3");
    is_int(run("k = \"a\" trailing\n", CMN_KV_QUOTED, 0, &g, &eb), CMN_E_PARSE, "text after quote");
    is_str(eb.msg, "config line 1: text after quoted value", "text after quote message");
    is_int(run("k = \"a\"\n", 0, 0, &g, &eb), CMN_OK, "without CMN_KV_QUOTED quotes are literal");

    is_int(run("a = 1\nkey value\n", 0, 0, &g, &eb), CMN_E_PARSE, "missing '='");
    is_str(eb.msg, "line 2: expected '=' after 'key'", "missing '=' message");
    is_int(run("= v\n", 0, 0, &g, &eb), CMN_E_PARSE, "missing key");
    is_str(eb.msg, "line 1: expected 'key = value'", "missing key message");
    is_int(run("Key = v\n", 0, 0, &g, &eb), CMN_E_PARSE, "upper case key refused");
    is_int(run("k\xc3\xa9y = v\n", 0, 0, &g, &eb), CMN_E_PARSE, "non-ASCII key refused");
    char longkey[80];
    memset(longkey, 'k', 64);
    snprintf(longkey + 64, sizeof(longkey) - 64, " = v\n");
    is_int(run(longkey, 0, 0, &g, &eb), CMN_E_PARSE, "64-byte key refused");
    is_str(eb.msg, "line 1: key too long", "long key message");
    memset(&g, 0, sizeof(g));
    snprintf(longkey + 63, sizeof(longkey) - 63, " = v\n");
    is_int(run(longkey, 0, 0, &g, &eb), CMN_OK, "63-byte key accepted");

    is_int(run("a = 1\nb = 0123456789012345678901234567890123456789\n", 0, 20, &g, &eb), CMN_E_PARSE, "line cap");
    is_str(eb.msg, "line 2 is too long", "line cap message");

    memset(&g, 0, sizeof(g));
    g.refuse = "bogus";
    is_int(run("a = 1\nbogus = 2\nc = 3\n", 0, 0, &g, &eb), CMN_E_PARSE, "callback error");
    is_str(eb.msg, "line 2: unknown setting 'bogus'", "callback error gets the line");
    is_int(g.n, 1, "stops at the error");

    memset(&g, 0, sizeof(g));
    const char nul[] = "k = a\0b\n";
    struct cmn_kv_opts o = {0, 0, NULL};
    is_int(cmn_kv_parse(nul, sizeof(nul) - 1, &o, on_kv, &g, &eb), CMN_OK, "NUL passed through");
    is_int((long long)g.vlens[0], 3, "value length counts the NUL: the caller decides");
    memset(&g, 0, sizeof(g));
    is_int(cmn_kv_parse("", 0, NULL, on_kv, &g, &eb), CMN_OK, "empty file");
    is_int(g.n, 0, "no settings");
    return done_testing();
}
