/*
 * Unit tests for common/str.c: percent-encoding (into a buffer and into an
 * array, with and without '/', the cap) and JSON escaping (every control
 * byte, quotes, backslash, UTF-8 left alone, truncation at a whole escape)
 * and the time format for people (cmn_iso_time).
 */
#include "common/compat.h"

#include <jansson.h>

#include "../../lib/test.h"
#include "common/buf.h"
#include "common/str.h"

int main(void)
{
    struct cmn_buf b;
    char arr[64];

    /* From storage_test.c, where the storage backend's encoder was tested. */
    cmn_buf_init(&b, 1024);
    is_int(cmn_url_encode(&b, "a b/c+d&e=f%~é", strlen("a b/c+d&e=f%~é"), 1), CMN_OK, "encode path");
    is_str(b.ptr, "a%20b/c%2Bd%26e%3Df%25~%C3%A9", "path encoding keeps '/' and unreserved");
    cmn_buf_reset(&b);
    is_int(cmn_url_encode(&b, "a/b=", 4, 0), CMN_OK, "encode query value");
    is_str(b.ptr, "a%2Fb%3D", "query encoding escapes '/'");
    cmn_buf_release(&b);

    cmn_buf_init(&b, 1024);
    is_int(cmn_url_encode(&b, "a b/c~d_e.f-G%\xc3\xa9", 16, 0), CMN_OK, "url encode");
    is_str(b.ptr, "a%20b%2Fc~d_e.f-G%25%C3%A9", "query value: '/' encoded, unreserved kept, upper-case hex");
    cmn_buf_reset(&b);
    is_int(cmn_url_encode(&b, "dir/sub name", 12, 1), CMN_OK, "path encode");
    is_str(b.ptr, "dir/sub%20name", "path: '/' kept");
    cmn_buf_reset(&b);
    is_int(cmn_url_encode(&b, "a\0b", 3, 0), CMN_OK, "embedded NUL");
    is_str(b.ptr, "a%00b", "NUL encoded");
    cmn_buf_release(&b);
    cmn_buf_init(&b, 4);
    is_int(cmn_url_encode(&b, "    ", 4, 0), CMN_E_TOOBIG, "cap enforced");
    is_int((long long)b.len, 0, "buffer emptied on error");
    cmn_buf_release(&b);

    is_int(cmn_url_encode_to(arr, sizeof(arr), "a b&c=d", 0), 13, "array: length returned");
    is_str(arr, "a%20b%26c%3Dd", "array: same encoding");
    is_int(cmn_url_encode_to(arr, 4, "abc", 0), 3, "exact fit");
    is_int(cmn_url_encode_to(arr, 3, "abc", 0), -1, "one byte short");
    is_str(arr, "", "emptied when it does not fit");
    is_int(cmn_url_encode_to(arr, 3, " ", 0), -1, "an escape does not fit");

    cmn_buf_init(&b, 4096);
    char all[32];
    for (int i = 0; i < 31; i++)
        all[i] = (char)(i + 1);
    all[31] = '\0';
    is_int(cmn_json_escape(&b, all, 31), CMN_OK, "escape control bytes");
    is_str(b.ptr,
           "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011"
           "\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f",
           "short forms for \\b \\t \\n \\f \\r, lower-case \\u00xx for the rest");
    cmn_buf_reset(&b);
    is_int(cmn_json_escape(&b, "q\"b\\s/\xc3\xa9\x7f", 9), CMN_OK, "escape quote, backslash");
    is_str(b.ptr, "q\\\"b\\\\s/\xc3\xa9\x7f", "'/', UTF-8 and DEL verbatim");
    cmn_buf_reset(&b);
    is_int(cmn_json_escape(&b, "a\0b", 3), CMN_OK, "NUL byte");
    is_str(b.ptr, "a\\u0000b", "NUL escaped");
    /* The escaped text, in quotes, parses back to the input. */
    cmn_buf_reset(&b);
    const char *tricky = "line\n\ttab \"q\" \\ \x01 end \xe2\x82\xac";
    (void)!cmn_buf_add(&b, "[\"", 2);
    (void)!cmn_json_escape(&b, tricky, strlen(tricky));
    (void)!cmn_buf_add(&b, "\"]", 2);
    json_error_t jerr;
    json_t *v = json_loadb(b.ptr, b.len, 0, &jerr);
    ok(v && json_is_string(json_array_get(v, 0)) && strcmp(json_string_value(json_array_get(v, 0)), tricky) == 0,
       "round trip through a JSON parser");
    json_decref(v);
    cmn_buf_release(&b);

    char line[16];
    size_t at = cmn_json_escape_to(line, sizeof(line), 0, "ab\"cd\n");
    is_str(line, "ab\\\"cd\\n", "fixed array");
    is_int((long long)at, 8, "length returned");
    at = cmn_json_escape_to(line, sizeof(line), 0, "\x01\x02\x03");
    is_str(line, "\\u0001\\u0002", "stops at a whole escape when the line is full");
    is_int((long long)at, 12, "truncated length");

    char when[CMN_ISO_TIME_MAX];
    cmn_iso_time(1767225600, when, sizeof(when));
    is_str(when, "2026-01-01T00:00:00Z", "iso time: UTC, seconds, Z");
    cmn_iso_time(0, when, sizeof(when));
    is_str(when, "1970-01-01T00:00:00Z", "iso time: the epoch");
    cmn_iso_time(INT64_MAX, when, sizeof(when));
    is_str(when, "9223372036854775807", "iso time: the number when gmtime cannot represent it");
    cmn_iso_time(1767225600, when, 8);
    is_str(when, "1767225", "iso time: a short array gets a truncated number, NUL-terminated");
    return done_testing();
}
