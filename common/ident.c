/*
 * ident.c - the identifier rule of ident.h, the only copy in the tree.
 */
#include "common/compat.h"

#include "common/cjson.h" /* cmn_utf8_valid */
#include "common/ident.h"

int cmn_device_id_valid(const char *s, size_t n)
{
    if (!s || n == 0 || n > CMN_DEVICE_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return cmn_utf8_valid(s, n);
}

int cmn_id_valid_n(const char *s, size_t n)
{
    if (!s || n == 0 || n > CMN_ID_MAX || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int cmn_id_valid(const char *s)
{
    return s && cmn_id_valid_n(s, strnlen(s, CMN_ID_MAX + 1));
}
