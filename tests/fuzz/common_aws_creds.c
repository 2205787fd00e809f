/*
 * Fuzz target: the AWS role-credentials document parser (common/aws_creds.c).
 * Whatever the endpoint sends, the parser either refuses it or returns three
 * well-formed strings.
 */
#include "common/compat.h"

#include "../../common/aws_creds_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmn_aws_creds c = {0};
    if (cmn_aws_creds_parse((const char *)data, size, &c, NULL) == CMN_OK) {
        if (!c.access_key || !c.secret_key || strpbrk(c.access_key, ":\r\n") || strpbrk(c.secret_key, "\r\n"))
            __builtin_trap();
    } else if (c.access_key || c.secret_key || c.token) {
        __builtin_trap();
    }
    cmn_aws_creds_clear(&c);
    return 0;
}
