/*
 * config.c - the CLI's settings file, ${XDG_CONFIG_HOME:-~/.config}/hotpatch/config.
 *
 * Format: one `key = value` per line, '#' starts a comment line, blank lines
 * ignored, surrounding spaces trimmed. Only known keys are accepted, each at
 * most once, so a typo is an error with its line number rather than a
 * setting silently ignored. Values are printable text without control
 * characters. The file holds the publisher token, so it is written with mode
 * 0600 through a temp file + fsync + rename (never half-written), in a 0700
 * directory.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/file.h"
#include "common/kv.h"

static const char *const known_keys[] = {
    "endpoint",    "token",  "storage", "signing_key", "manifest_key", "trusted_keys",
    "s3_endpoint", "region", "app",     "platform",    "channel",
};

int cli_config_known(const char *key)
{
    size_t i;
    for (i = 0; i < CMN_ARRAY_SIZE(known_keys); i++)
        if (strcmp(known_keys[i], key) == 0)
            return 1;
    return 0;
}

static int valid_value(const char *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

static void item_free(struct cli_config_item *it)
{
    if (it->value)
        cmn_wipe(it->value, strlen(it->value));
    free(it->key);
    free(it->value);
    it->key = it->value = NULL;
}

void cli_config_release(struct cli_config *cfg)
{
    size_t i;
    for (i = 0; i < cfg->n; i++)
        item_free(&cfg->items[i]);
    cfg->n = 0;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* One setting from the reader: known key, printable value, set once. */
static enum cmn_err on_setting(void *ctx, const char *key, const char *val, size_t vlen, struct cmn_errbuf *eb)
{
    struct cli_config *cfg = ctx;
    size_t i;
    if (!cli_config_known(key))
        return cmn_errf(eb, CMN_E_PARSE, "unknown setting '%s'", key);
    if (!valid_value(val, vlen))
        return cmn_errf(eb, CMN_E_PARSE, "control character in the value of '%s'", key);
    for (i = 0; i < cfg->n; i++)
        if (strcmp(cfg->items[i].key, key) == 0)
            return cmn_errf(eb, CMN_E_PARSE, "'%s' is set twice", key);
    if (cfg->n >= CLI_CONFIG_MAX_ITEMS)
        return cmn_errf(eb, CMN_E_TOOBIG, "too many settings");
    cfg->items[cfg->n].key = dupn(key, strlen(key));
    cfg->items[cfg->n].value = dupn(val, vlen);
    if (!cfg->items[cfg->n].key || !cfg->items[cfg->n].value) {
        item_free(&cfg->items[cfg->n]);
        return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
    }
    cfg->n++;
    return CMN_OK;
}

enum cmn_err cli_config_parse(const char *text, size_t len, struct cli_config *cfg, struct cmn_errbuf *eb)
{
    static const struct cmn_kv_opts opts = {.flags = 0, .max_line = CLI_CONFIG_MAX_LINE, .what = "line"};
    if (len > CLI_CONFIG_MAX_BYTES)
        return cmn_errf(eb, CMN_E_TOOBIG, "config is larger than %d bytes", CLI_CONFIG_MAX_BYTES);
    enum cmn_err rc = cmn_kv_parse(text, len, &opts, on_setting, cfg, eb);
    if (rc)
        cli_config_release(cfg);
    return rc;
}

enum cmn_err cli_config_load(const char *path, struct cli_config *cfg, struct cmn_errbuf *eb)
{
    struct cmn_buf b;
    char chunk[4096];
    enum cmn_err rc = CMN_OK;
    struct stat st;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cmn_buf_init(&b, CLI_CONFIG_MAX_BYTES);
    if (fd < 0) {
        if (errno == ENOENT)
            return CMN_OK;
        return cmn_errf(eb, CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "hotpatch: warning: '%s' is readable by others; run: chmod 600 '%s'\n", path, path);
    while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        rc = cmn_buf_add(&b, chunk, (size_t)r);
        if (rc) {
            rc = cmn_errf(eb, rc, "'%s' is larger than %d bytes", path, CLI_CONFIG_MAX_BYTES);
            goto out;
        }
    }
    rc = cli_config_parse(b.ptr ? b.ptr : "", b.len, cfg, eb);
out:
    if (b.ptr)
        cmn_wipe(b.ptr, b.len);
    cmn_buf_release(&b);
    cmn_wipe(chunk, sizeof(chunk));
    close(fd);
    return rc;
}

const char *cli_config_get(const struct cli_config *cfg, const char *key)
{
    size_t i;
    for (i = 0; i < cfg->n; i++)
        if (strcmp(cfg->items[i].key, key) == 0)
            return cfg->items[i].value;
    return NULL;
}

enum cmn_err cli_config_set(struct cli_config *cfg, const char *key, const char *value, struct cmn_errbuf *eb)
{
    size_t i;
    char *v;
    if (!cli_config_known(key))
        return cmn_errf(eb, CMN_E_INVAL, "unknown setting '%s'", key);
    for (i = 0; i < cfg->n; i++)
        if (strcmp(cfg->items[i].key, key) == 0)
            break;
    if (!value) {
        if (i < cfg->n) {
            item_free(&cfg->items[i]);
            memmove(&cfg->items[i], &cfg->items[i + 1], (cfg->n - i - 1) * sizeof(cfg->items[0]));
            cfg->n--;
        }
        return CMN_OK;
    }
    if (strlen(value) > CLI_CONFIG_MAX_LINE - 80 || !valid_value(value, strlen(value)))
        return cmn_errf(eb, CMN_E_INVAL, "bad value for '%s': control character or too long", key);
    if (value[0] == ' ' || value[0] == '\t' || (value[0] && is_space(value[strlen(value) - 1])))
        return cmn_errf(eb, CMN_E_INVAL, "bad value for '%s': leading or trailing space", key);
    v = strdup(value);
    if (!v)
        return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
    if (i < cfg->n) {
        cmn_wipe(cfg->items[i].value, strlen(cfg->items[i].value));
        free(cfg->items[i].value);
        cfg->items[i].value = v;
        return CMN_OK;
    }
    if (cfg->n >= CLI_CONFIG_MAX_ITEMS) {
        free(v);
        return cmn_errf(eb, CMN_E_TOOBIG, "too many settings");
    }
    cfg->items[cfg->n].key = strdup(key);
    if (!cfg->items[cfg->n].key) {
        free(v);
        return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
    }
    cfg->items[cfg->n].value = v;
    cfg->n++;
    return CMN_OK;
}

enum cmn_err cli_config_render(const struct cli_config *cfg, struct cmn_buf *out)
{
    enum cmn_err rc;
    size_t i;
    rc = cmn_buf_addstr(out, "# hotpatch CLI settings (hotpatch config set KEY VALUE); keep this file private\n");
    for (i = 0; !rc && i < cfg->n; i++)
        rc = cmn_buf_addf(out, "%s = %s\n", cfg->items[i].key, cfg->items[i].value);
    return rc;
}

int cli_mkdir_p(const char *dir, unsigned mode)
{
    char tmp[PATH_MAX];
    size_t i, n = strlen(dir);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
                return -1;
            tmp[i] = c;
        }
    }
    return 0;
}

enum cmn_err cli_config_save(const struct cli_config *cfg, const char *path, struct cmn_errbuf *eb)
{
    char dir[PATH_MAX];
    struct cmn_buf b;
    enum cmn_err rc;
    if (strlen(path) >= sizeof(dir))
        return cmn_errf(eb, CMN_E_INVAL, "config path too long");
    memcpy(dir, path, strlen(path) + 1);
    dirname(dir);
    if (cli_mkdir_p(dir, 0700) != 0)
        return cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", dir, strerror(errno));
    cmn_buf_init(&b, CLI_CONFIG_MAX_BYTES);
    rc = cli_config_render(cfg, &b);
    if (rc)
        rc = cmn_errf(eb, rc, "config too large");
    else
        rc = cmn_file_write_atomic(path, b.ptr ? b.ptr : "", b.len, 0600, 0, eb);
    if (b.ptr)
        cmn_wipe(b.ptr, b.len);
    cmn_buf_release(&b);
    return rc;
}
