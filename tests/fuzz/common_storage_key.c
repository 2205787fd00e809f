/*
 * Fuzz target for storage key and prefix validation (storage.h) and the
 * canonical key builders. Input: bytes up to the first NUL are the key. When
 * a key is accepted, check the promises the backends rely on: relative, no
 * "..", no backslash or control byte, no empty or dot-leading segment, valid
 * UTF-8, shorter than CMN_STORAGE_KEY_MAX, and so joined under a root it can
 * never name a path outside it. A key split on '/' into three parts also
 * feeds cmn_storage_manifest_key, whose output must itself be a valid key.
 */
#include "common/compat.h"

#include "../../common/storage_int.h"
#include "common/storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const char *k, int is_prefix)
{
    size_t n = strlen(k);
    if (n >= CMN_STORAGE_KEY_MAX)
        abort();
    if (n == 0) {
        if (!is_prefix)
            abort();
        return;
    }
    if (k[0] == '/' || strstr(k, "..") || strchr(k, '\\') || strstr(k, "//"))
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 0x20 || c == 0x7f)
            abort();
        if (c == '.' && (i == 0 || k[i - 1] == '/'))
            abort();
    }
    if (!is_prefix && k[n - 1] == '/')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char k[CMN_STORAGE_KEY_MAX + 64];
    if (size >= sizeof(k))
        size = sizeof(k) - 1;
    memcpy(k, data, size);
    k[size] = '\0';

    if (cmn_storage_key_check(k, NULL) == CMN_OK) {
        check_accepted(k, 0);
        if (cmn_storage_prefix_check(k, NULL) != CMN_OK)
            abort(); /* every key is also a valid prefix */
    }
    if (cmn_storage_prefix_check(k, NULL) == CMN_OK)
        check_accepted(k, 1);

    /* Builders: "app/platform/channel". */
    char *parts[3] = {NULL, NULL, NULL};
    char copy[sizeof(k)];
    memcpy(copy, k, strlen(k) + 1);
    char *p = copy;
    int np = 0;
    for (; np < 3 && p; np++) {
        parts[np] = p;
        char *s = strchr(p, '/');
        if (s)
            *s++ = '\0';
        p = s;
    }
    if (np == 3 && !p) {
        char out[CMN_STORAGE_KEY_MAX];
        if (cmn_storage_manifest_key(parts[0], parts[1], parts[2], out, sizeof(out)) == CMN_OK &&
            cmn_storage_key_check(out, NULL) != CMN_OK)
            abort();
        if (cmn_storage_bundle_key(parts[0], parts[1], parts[2], out, sizeof(out)) == CMN_OK &&
            cmn_storage_key_check(out, NULL) != CMN_OK)
            abort();
    }
    return 0;
}
