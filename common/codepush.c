/*
 * codepush.c - the CodePush package hash and deployment keys (codepush.h).
 */
#include "common/compat.h"

#include "common/codepush.h"
#include "common/str.h"

int cmn_codepush_ignored(const char *p)
{
    static const char *const names[] = {".DS_Store", ".codepushrelease"};
    if (strncmp(p, "__MACOSX/", 9) == 0)
        return 1;
    const char *base = strrchr(p, '/');
    base = base ? base + 1 : p;
    for (size_t i = 0; i < CMN_ARRAY_SIZE(names); i++)
        if (strcmp(base, names[i]) == 0)
            return 1;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum cmn_err cmn_codepush_hash(const struct cmn_content *c, char out[CMN_SHA256_HEX])
{
    char **e = calloc(c->n ? c->n : 1, sizeof(*e));
    size_t n = 0;
    enum cmn_err rc = CMN_OK;
    if (!e)
        return CMN_E_NOMEM;
    for (size_t i = 0; i < c->n; i++) {
        if (cmn_codepush_ignored(c->v[i].path))
            continue;
        size_t pl = strlen(c->v[i].path);
        e[n] = malloc(pl + 1 + 64 + 1);
        if (!e[n]) {
            rc = CMN_E_NOMEM;
            goto out;
        }
        memcpy(e[n], c->v[i].path, pl);
        e[n][pl] = ':';
        cmn_hex_encode(c->v[i].sha256, CMN_SHA256_BYTES, e[n] + pl + 1);
        n++;
    }
    /* The client sorts the "path:hash" strings, not the paths ("a.b:" < "a:"). */
    if (n)
        qsort(e, n, sizeof(*e), cmp_entry);
    struct cmn_sha256 h;
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256_init(&h);
    cmn_sha256_update(&h, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            cmn_sha256_update(&h, ",", 1);
        cmn_sha256_update(&h, "\"", 1);
        /* org.json escaping, then the client's replace("\\/", "/"): only the
         * characters below need it, and bundle paths hold no '\' or controls */
        for (const unsigned char *p = (const unsigned char *)e[i]; *p; p++) {
            char esc[CMN_JSON_ESC_MAX];
            if (*p == '"' || *p == '\\' || *p < 0x20)
                cmn_sha256_update(&h, esc, cmn_json_escape_char(*p, esc));
            else
                cmn_sha256_update(&h, p, 1);
        }
        cmn_sha256_update(&h, "\"", 1);
    }
    cmn_sha256_update(&h, "]", 1);
    cmn_sha256_final(&h, d);
    cmn_hex_encode(d, sizeof(d), out);
out:
    for (size_t i = 0; i < n; i++)
        free(e[i]);
    free(e);
    return rc;
}

enum cmn_err cmn_codepush_hash_dir(const char *dir, char out[CMN_SHA256_HEX], struct cmn_errbuf *eb)
{
    struct cmn_content c;
    enum cmn_err rc = cmn_content_scan(dir, 1000000, &c, eb);
    if (rc)
        return rc;
    rc = cmn_codepush_hash(&c, out);
    cmn_content_release(&c);
    return rc;
}

enum cmn_err cmn_codepush_key_new(const char *app, const char *platform, const char *channel,
                                  char out[CMN_CODEPUSH_KEY_MAX + 1])
{
    uint8_t r[CMN_CODEPUSH_KEY_RANDOM / 2];
    char hex[CMN_CODEPUSH_KEY_RANDOM + 1];
    if (!cmn_id_valid(app) || !cmn_id_valid(platform) || !cmn_id_valid(channel))
        return CMN_E_INVAL;
    cmn_random(r, sizeof(r));
    cmn_hex_encode(r, sizeof(r), hex);
    snprintf(out, CMN_CODEPUSH_KEY_MAX + 1, "%s~%s~%s~%s", app, platform, channel, hex);
    cmn_wipe(r, sizeof(r));
    return CMN_OK;
}

int cmn_codepush_key_parse(const char *key, size_t n, char app[CMN_ID_MAX + 1], char platform[CMN_ID_MAX + 1],
                           char channel[CMN_ID_MAX + 1])
{
    char *dst[3] = {app, platform, channel};
    size_t at = 0;
    if (!key || n > CMN_CODEPUSH_KEY_MAX)
        return -1;
    for (int i = 0; i < 3; i++) {
        const char *t = memchr(key + at, '~', n - at);
        if (!t)
            return -1;
        size_t len = (size_t)(t - (key + at));
        if (!cmn_id_valid_n(key + at, len))
            return -1;
        memcpy(dst[i], key + at, len);
        dst[i][len] = '\0';
        at += len + 1;
    }
    if (n - at != CMN_CODEPUSH_KEY_RANDOM)
        return -1;
    for (size_t i = at; i < n; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return -1;
    return 0;
}

void cmn_codepush_key_hash(const char *key, size_t n, char out[CMN_SHA256_HEX])
{
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256(key, n, d);
    cmn_hex_encode(d, sizeof(d), out);
}
