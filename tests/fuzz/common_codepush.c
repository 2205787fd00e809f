/*
 * common_codepush.c - fuzz target for the CodePush rules (common/codepush.c):
 * the deployment-key parser (what the edge runs on every CodePush check, on
 * the client's deployment_key) and the package hash over arbitrary paths.
 * A key that parses must name three valid identifiers and rebuild to exactly
 * the input; the ignore rule and the hash must accept any path bytes.
 */
#include "common/compat.h"

#include "common/codepush.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char app[CMN_ID_MAX + 1], platform[CMN_ID_MAX + 1], channel[CMN_ID_MAX + 1];
    const char *key = (const char *)data;
    if (cmn_codepush_key_parse(key, size, app, platform, channel) == 0) {
        char back[CMN_CODEPUSH_KEY_MAX + 2];
        if (!cmn_id_valid(app) || !cmn_id_valid(platform) || !cmn_id_valid(channel))
            abort();
        int n = snprintf(back, sizeof(back), "%s~%s~%s~", app, platform, channel);
        if (n < 0 || (size_t)n + CMN_CODEPUSH_KEY_RANDOM != size || memcmp(back, key, (size_t)n) != 0)
            abort();
        char h[CMN_SHA256_HEX];
        cmn_codepush_key_hash(key, size, h);
        if (strlen(h) != 64)
            abort();
    }
    /* the input's lines as the paths of a bundle */
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    struct cmn_content_file f[16];
    struct cmn_content c = {f, 0};
    for (char *p = copy, *nl; p && *p && c.n < 16; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        f[c.n].path = p;
        f[c.n].size = strlen(p);
        memset(f[c.n].sha256, (int)c.n, sizeof(f[c.n].sha256));
        (void)cmn_codepush_ignored(p);
        c.n++;
    }
    char out[CMN_SHA256_HEX];
    if (cmn_codepush_hash(&c, out) == CMN_OK && strlen(out) != 64)
        abort();
    free(copy);
    return 0;
}
