/* Unit tests for common/buf.c: cap enforcement, failure frees, take. */
#include "common/compat.h"

#include "common/buf.h"
#include "common/err.h"
#include "../../lib/test.h"

int main(void)
{
    struct cmn_buf b;
    cmn_buf_init(&b, 10);
    is_int(cmn_buf_add(&b, "hello", 5), CMN_OK, "append within cap");
    is_str(b.ptr, "hello", "content is NUL-terminated");
    is_int(cmn_buf_addf(&b, "%d", 1234), CMN_OK, "formatted append");
    is_int(b.len, 9, "length counts both appends");
    is_int(cmn_buf_add(&b, "xy", 2), CMN_E_TOOBIG, "append past the cap fails");
    ok(b.ptr == NULL && b.len == 0, "failed append leaves the buffer empty");
    is_int(cmn_buf_add(&b, "0123456789", 10), CMN_OK, "exactly the cap is allowed");

    size_t n = 0;
    char *s = cmn_buf_take(&b, &n);
    is_str(s, "0123456789", "take returns the content");
    is_int(n, 10, "take reports the length");
    ok(b.ptr == NULL && b.len == 0, "take empties the buffer");
    free(s);

    struct cmn_buf big;
    cmn_buf_init(&big, 1 << 20);
    int all = 1;
    for (int i = 0; i < 1000; i++)
        all &= cmn_buf_addf(&big, "line %04d %s\n", i, "0123456789012345678901234567890123456789") == CMN_OK;
    ok(all && big.len == 1000 * 51, "many appends grow the buffer (len %zu)", big.len);
    char huge[600];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = 0;
    is_int(cmn_buf_addf(&big, "%s", huge), CMN_OK, "formatted append larger than the stack buffer");
    ok(big.ptr[big.len - 1] == 'a' && big.len == 51000 + 599, "long formatted text is complete");
    cmn_buf_release(&big);

    s = cmn_buf_take(&big, NULL);
    is_str(s, "", "take of an empty buffer gives an empty string");
    free(s);

    struct cmn_errbuf eb = {{0}};
    is_int(cmn_errf(&eb, CMN_E_PARSE, "bad field '%s'", "sequence"), CMN_E_PARSE, "errf returns its code");
    cmn_errf(&eb, CMN_E_IO, "second");
    is_str(cmn_errmsg(&eb, CMN_E_PARSE), "bad field 'sequence'", "first detail is kept");
    is_str(cmn_errmsg(NULL, CMN_E_CONFLICT), "conflicting concurrent update", "strerror without detail");
    is_str(cmn_errname(CMN_E_EXPIRED), "expired", "stable error names");
    is_str(cmn_strerror((enum cmn_err)999), "unknown error", "out-of-range code");
    return done_testing();
}
