/* Unit tests for common/cjson.c: the strict subset (duplicates, floats,
 * integer range, depth, UTF-8, NUL, trailing bytes, size cap), error
 * positions, canonical rendering and its fixed-point property, and reads
 * bounded by the given length (guard page). */
#include "common/compat.h"

#include "common/cjson.h"
#include "../../lib/test.h"

static enum cmn_err parse(const char *s, struct cmn_errbuf *eb)
{
    json_t *v = NULL;
    size_t n = strlen(s);
    /* Input placed right before a guard page: any read past n faults. */
    char *g = test_guard_alloc(s, n);
    enum cmn_err rc = cmn_cjson_parse(g, n, 1 << 20, &v, eb);
    test_guard_free(g);
    json_decref(v);
    return rc;
}

static void canon(const char *in, const char *want, const char *name)
{
    json_t *v = NULL;
    struct cmn_buf b;
    cmn_buf_init(&b, 1 << 16);
    enum cmn_err rc = cmn_cjson_parse(in, strlen(in), 1 << 20, &v, NULL);
    if (rc == CMN_OK)
        rc = cmn_cjson_render(v, &b);
    json_decref(v);
    is_str(rc == CMN_OK ? b.ptr : cmn_errname(rc), want, "canonical: %s", name);
    ok(cmn_cjson_is_canonical(b.ptr ? b.ptr : "", b.len), "output is canonical: %s", name);
    cmn_buf_release(&b);
}

int main(void)
{
    struct cmn_errbuf eb = {0};

    /* Accepted. */
    is_int(parse("{}", NULL), CMN_OK, "empty object");
    is_int(parse(" [1, -2, 0, true, false, null, \"s\"] \n", NULL), CMN_OK, "scalars with whitespace");
    is_int(parse("9007199254740991", NULL), CMN_OK, "max safe integer");
    is_int(parse("-9007199254740991", NULL), CMN_OK, "min safe integer");
    is_int(parse("\"\\ud83d\\ude00 \xc3\xa9\"", NULL), CMN_OK, "surrogate pair and literal utf-8");

    /* Rejected, with the error code the header promises. */
    memset(&eb, 0, sizeof(eb));
    is_int(parse("{\"a\":1,\n \"a\":2}", &eb), CMN_E_PARSE, "duplicate key");
    ok(strstr(eb.msg, "line 2") != NULL, "duplicate key error has a line: %s", eb.msg);
    memset(&eb, 0, sizeof(eb));
    is_int(parse("{\"a\":\n  [1, 2.5]}", &eb), CMN_E_PARSE, "fraction");
    ok(strstr(eb.msg, "line 2 column 7") != NULL, "float error has line and column: %s", eb.msg);
    is_int(parse("1e3", NULL), CMN_E_PARSE, "exponent");
    is_int(parse("1E+3", NULL), CMN_E_PARSE, "exponent upper case");
    is_int(parse("-0.0", NULL), CMN_E_PARSE, "negative zero float");
    is_int(parse("9007199254740992", NULL), CMN_E_PARSE, "2^53 is out of range");
    is_int(parse("-9007199254740992", NULL), CMN_E_PARSE, "-2^53 is out of range");
    is_int(parse("123456789012345678901234567890", NULL), CMN_E_PARSE, "huge integer");
    is_int(parse("[01]", NULL), CMN_E_PARSE, "leading zero");
    is_int(parse("\"a\\u0000b\"", NULL), CMN_E_PARSE, "escaped NUL");
    is_int(parse("\"\xff\"", NULL), CMN_E_PARSE, "invalid utf-8 byte");
    is_int(parse("\"\xc0\xaf\"", NULL), CMN_E_PARSE, "overlong utf-8");
    is_int(parse("\"\xed\xa0\x80\"", NULL), CMN_E_PARSE, "utf-8 encoded surrogate");
    is_int(parse("\"\\ud800\"", NULL), CMN_E_PARSE, "lone surrogate escape");
    is_int(parse("\"a\tb\"", NULL), CMN_E_PARSE, "raw control character in string");
    is_int(parse("{} {}", NULL), CMN_E_PARSE, "trailing value");
    is_int(parse("{}x", NULL), CMN_E_PARSE, "trailing garbage");
    is_int(parse("", NULL), CMN_E_PARSE, "empty input");
    is_int(parse("   ", NULL), CMN_E_PARSE, "whitespace only");
    is_int(parse("{\"a\":1,}", NULL), CMN_E_PARSE, "trailing comma");
    is_int(parse("[1", NULL), CMN_E_PARSE, "truncated");
    is_int(parse("\"abc", NULL), CMN_E_PARSE, "unterminated string");
    is_int(parse("\"abc\\", NULL), CMN_E_PARSE, "unterminated escape");
    is_int(parse("NaN", NULL), CMN_E_PARSE, "NaN");
    is_int(parse("\xef\xbb\xbf{}", NULL), CMN_E_PARSE, "byte order mark");
    {
        json_t *v = NULL;
        is_int(cmn_cjson_parse("{}\0", 3, 100, &v, NULL), CMN_E_PARSE, "raw NUL after the document");
        is_int(cmn_cjson_parse("[1,2,3]", 7, 6, &v, NULL), CMN_E_TOOBIG, "document over the cap");
        ok(v == NULL, "out untouched on failure");
    }

    /* Depth: 32 levels pass, 33 do not (with position), 100000 do not crash. */
    char deep[70000];
    size_t n = 0;
    for (int i = 0; i < 32; i++)
        deep[n++] = '[';
    for (int i = 0; i < 32; i++)
        deep[n++] = ']';
    deep[n] = 0;
    is_int(parse(deep, NULL), CMN_OK, "depth 32 accepted");
    n = 0;
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":[");
    deep[n++] = '1';
    for (int i = 0; i < 16; i++)
        deep[n++] = ']', deep[n++] = '}';
    deep[n] = 0;
    is_int(parse(deep, NULL), CMN_OK, "mixed depth 32 accepted");
    n = 0;
    for (int i = 0; i < 33; i++)
        deep[n++] = '[';
    for (int i = 0; i < 33; i++)
        deep[n++] = ']';
    deep[n] = 0;
    memset(&eb, 0, sizeof(eb));
    is_int(parse(deep, &eb), CMN_E_TOOBIG, "depth 33 refused");
    ok(strstr(eb.msg, "column 33") != NULL, "depth error has the column: %s", eb.msg);
    memset(deep, '[', 65000);
    deep[65000] = 0;
    is_int(parse(deep, NULL), CMN_E_TOOBIG, "65000 open brackets refused quickly");
    /* Brackets inside strings do not count. */
    is_int(parse("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[\"]", NULL), CMN_OK,
           "brackets inside strings ignored");

    /* Canonical rendering. */
    canon("{ \"b\" : 1 , \"a\" : [ true , null ] }", "{\"a\":[true,null],\"b\":1}", "sorted keys, no spaces");
    canon("{\"\xc3\xa9\":1,\"z\":2,\"Z\":3,\"\":4}", "{\"\":4,\"Z\":3,\"z\":2,\"\xc3\xa9\":1}", "keys by utf-8 bytes");
    canon("{\"\\ud83d\\ude00\":1,\"\xef\xbf\xbf\":2}", "{\"\xef\xbf\xbf\":2,\"\xf0\x9f\x98\x80\":1}",
          "astral sorts after BMP (byte order)");
    canon("\"\\u00e9\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\\"\\\\\"",
          "\"\xc3\xa9/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\\\"\\\\\"", "string escapes");
    canon("-0", "0", "negative zero integer");
    canon("[ ]", "[]", "empty array");
    canon("{\"a\":{\"c\":{},\"b\":[{\"y\":1,\"x\":2}]}}", "{\"a\":{\"b\":[{\"x\":2,\"y\":1}],\"c\":{}}}", "nested");
    canon("\"\\u2028\"", "\"\xe2\x80\xa8\"", "U+2028 literal");
    {
        /* Many keys (more than the renderer's small stack array). */
        char obj[2000];
        size_t k = 0;
        obj[k++] = '{';
        for (int i = 39; i >= 0; i--)
            k += (size_t)snprintf(obj + k, sizeof(obj) - k, "%s\"k%02d\":%d", i == 39 ? "" : ",", i, i);
        obj[k++] = '}';
        obj[k] = 0;
        json_t *v = NULL;
        struct cmn_buf b;
        cmn_buf_init(&b, 4096);
        ok(cmn_cjson_parse(obj, k, 4096, &v, NULL) == CMN_OK && cmn_cjson_render(v, &b) == CMN_OK, "40 keys render");
        ok(b.ptr && strncmp(b.ptr, "{\"k00\":0,\"k01\":1,", 17) == 0, "40 keys sorted");
        json_decref(v);
        cmn_buf_release(&b);
    }
    ok(!cmn_cjson_is_canonical("{\"b\":1,\"a\":2}", 13), "unsorted is not canonical");
    ok(!cmn_cjson_is_canonical("{\"a\": 2}", 8), "whitespace is not canonical");
    ok(!cmn_cjson_is_canonical("\"\\u00e9\"", 8), "escaped non-ascii is not canonical");
    ok(!cmn_cjson_is_canonical("\"\\u000a\"", 8), "long form of newline is not canonical");
    ok(cmn_cjson_is_canonical("\"\\n\"", 4), "short form of newline is canonical");
    ok(!cmn_cjson_is_canonical("{\"a\":1}\n", 8), "trailing newline is not canonical");
    ok(cmn_cjson_is_canonical("{\"a\":1}", 7), "canonical object");

    /* Render refuses what parse refuses. */
    json_t *r = json_real(1.5);
    struct cmn_buf b;
    cmn_buf_init(&b, 100);
    is_int(cmn_cjson_render(r, &b), CMN_E_INVAL, "render refuses reals");
    json_decref(r);
    json_t *big = json_integer(9007199254740992LL);
    cmn_buf_reset(&b);
    is_int(cmn_cjson_render(big, &b), CMN_E_INVAL, "render refuses out-of-range integers");
    json_decref(big);
    json_t *s = json_stringn("a\0b", 3);
    cmn_buf_release(&b);
    is_int(cmn_cjson_render(s, &b), CMN_OK, "render of an embedded NUL");
    is_str(b.ptr, "\"a\\u0000b\"", "embedded NUL escaped as \\u0000");
    json_decref(s);
    cmn_buf_release(&b);
    json_t *a = json_array(), *cur = a;
    for (int i = 0; i < 40; i++) {
        json_t *nx = json_array();
        json_array_append_new(cur, nx);
        cur = nx;
    }
    is_int(cmn_cjson_render(a, &b), CMN_E_INVAL, "render refuses over-deep values");
    json_decref(a);
    cmn_buf_release(&b);
    cmn_buf_init(&b, 5);
    json_t *o = json_pack("{s:s}", "key", "value");
    is_int(cmn_cjson_render(o, &b), CMN_E_TOOBIG, "render respects the output cap");
    json_decref(o);
    cmn_buf_release(&b);
    return done_testing();
}
