/*
 * config.c - the publisher's settings: defaults, the `key = value` config
 * file (read by common/kv.c; fuzzed by tests/fuzz/pub_config.c), environment variables and
 * the start-up check that refuses missing or weak settings. One table maps
 * each setting to its file key, its environment variable and its type, so
 * the three sources cannot drift apart.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/kv.h"
#include "pub_config.h"

enum kind { K_STR, K_SECRET, K_SIZE, K_LONG, K_BOOL };

struct setting {
    const char *key; /* file key */
    const char *env; /* environment variable, NULL when none */
    enum kind kind;
    size_t off;
    long min, max; /* K_LONG bounds */
};

#define OFF(f) offsetof(struct pub_config, f)

static const struct setting settings[] = {
    {"listen", "HOTPATCH_LISTEN", K_STR, OFF(listen), 0, 0},
    {"database_url", "DATABASE_URL", K_STR, OFF(database_url), 0, 0},
    {"storage", "HOTPATCH_STORAGE", K_STR, OFF(storage), 0, 0},
    {"jwt_secret", "JWT_SECRET", K_SECRET, OFF(jwt_secret), 0, 0},
    {"manifest_key", "HOTPATCH_MANIFEST_KEY", K_STR, OFF(manifest_key), 0, 0},
    {"manifest_key_next", "HOTPATCH_MANIFEST_KEY_NEXT", K_STR, OFF(manifest_key_next), 0, 0},
    {"ticket_keys", "HOTPATCH_TICKET_KEYS", K_STR, OFF(ticket_keys), 0, 0},
    {"edge_urls", "HOTPATCH_EDGE_URLS", K_STR, OFF(edge_urls), 0, 0},
    {"sync_token", "HOTPATCH_SYNC_TOKEN", K_SECRET, OFF(sync_token), 0, 0},
    {"bootstrap_token", "HOTPATCH_BOOTSTRAP_TOKEN", K_SECRET, OFF(bootstrap_token), 0, 0},
    {"s3_endpoint", "HOTPATCH_S3_ENDPOINT", K_STR, OFF(s3_endpoint), 0, 0},
    {"s3_region", "AWS_REGION", K_STR, OFF(s3_region), 0, 0},
    {"tmp_dir", "HOTPATCH_TMPDIR", K_STR, OFF(tmp_dir), 0, 0},
    {"log_level", "HOTPATCH_LOG_LEVEL", K_STR, OFF(log_level), 0, 0},
    {"log_json", "HOTPATCH_LOG_JSON", K_BOOL, OFF(log_json), 0, 1},
    {"max_upload", "HOTPATCH_MAX_UPLOAD", K_SIZE, OFF(max_upload), 1, 0},
    {"max_json", "HOTPATCH_MAX_JSON", K_SIZE, OFF(max_json), 1, 0},
    {"max_telemetry", "HOTPATCH_MAX_TELEMETRY", K_SIZE, OFF(max_telemetry), 1, 0},
    {"max_batch", "HOTPATCH_MAX_BATCH", K_LONG, OFF(max_batch), 1, 100000},
    {"manifest_ttl", "HOTPATCH_MANIFEST_TTL", K_LONG, OFF(manifest_ttl), 2, 366L * 86400},
    {"resign_interval", "HOTPATCH_RESIGN_INTERVAL", K_LONG, OFF(resign_interval), 1, 86400},
    {"snapshot_interval", "HOTPATCH_SNAPSHOT_INTERVAL", K_LONG, OFF(snapshot_interval), 0, 86400},
    {"snapshot_debounce", "HOTPATCH_SNAPSHOT_DEBOUNCE", K_LONG, OFF(snapshot_debounce), 0, 3600},
    {"jwt_ttl", "HOTPATCH_JWT_TTL", K_LONG, OFF(jwt_ttl), 10, 86400},
    {"db_pool", "HOTPATCH_DB_POOL", K_LONG, OFF(db_pool), 1, 256},
    {"db_wait", "HOTPATCH_DB_WAIT", K_LONG, OFF(db_wait), 1, 600},
    {"max_connections", "HOTPATCH_MAX_CONNECTIONS", K_LONG, OFF(max_connections), 4, 100000},
    {"rate_ip", "HOTPATCH_RATE_IP", K_LONG, OFF(rate_ip), 1, 10000000},
    {"rate_ip_burst", "HOTPATCH_RATE_IP_BURST", K_LONG, OFF(rate_ip_burst), 1, 10000000},
    {"rate_key", "HOTPATCH_RATE_KEY", K_LONG, OFF(rate_key), 1, 10000000},
    {"rate_key_burst", "HOTPATCH_RATE_KEY_BURST", K_LONG, OFF(rate_key_burst), 1, 10000000},
    {"halt_threshold_pct", "HOTPATCH_HALT_THRESHOLD_PCT", K_LONG, OFF(halt_threshold_pct), 1, 100},
    {"halt_min_installs", "HOTPATCH_HALT_MIN_INSTALLS", K_LONG, OFF(halt_min_installs), 1, 100000000},
    {"session_ttl", "HOTPATCH_SESSION_TTL", K_LONG, OFF(session_ttl), 60, 30L * 86400},
    {"cookie_secure", "HOTPATCH_COOKIE_SECURE", K_BOOL, OFF(cookie_secure), 0, 1},
    {"public_url", "HOTPATCH_PUBLIC_URL", K_STR, OFF(public_url), 0, 0},
    {"patch_bases", "HOTPATCH_PATCH_BASES", K_LONG, OFF(patch_bases), 0, 16},
    {"patch_retries", "HOTPATCH_PATCH_RETRIES", K_LONG, OFF(patch_retries), 1, 100},
    {"patch_retry_delay", "HOTPATCH_PATCH_RETRY_DELAY", K_LONG, OFF(patch_retry_delay), 1, 86400},
};

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

void pub_config_init(struct pub_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen = xstrdup("127.0.0.1:8080");
    c->max_upload = 256u << 20;
    c->max_json = 1u << 20;
    c->max_telemetry = 4u << 20;
    c->max_batch = 1000;
    c->manifest_ttl = 7L * 86400;
    c->resign_interval = 60;
    c->snapshot_interval = 600;
    c->snapshot_debounce = 5;
    c->jwt_ttl = 900;
    c->db_pool = 8;
    c->db_wait = 10;
    c->max_connections = 256;
    c->rate_ip = 200;
    c->rate_ip_burst = 400;
    c->rate_key = 100;
    c->rate_key_burst = 200;
    c->halt_threshold_pct = 20;
    c->halt_min_installs = 50;
    c->session_ttl = 8L * 3600;
    c->patch_bases = 3;
    c->patch_retries = 5;
    c->patch_retry_delay = 30;
}

void pub_config_release(struct pub_config *c)
{
    for (size_t i = 0; i < CMN_ARRAY_SIZE(settings); i++) {
        const struct setting *s = &settings[i];
        if (s->kind != K_STR && s->kind != K_SECRET)
            continue;
        char **p = (char **)((char *)c + s->off);
        if (*p && s->kind == K_SECRET)
            cmn_wipe(*p, strlen(*p));
        CMN_SAFEFREE(*p);
    }
}

/* Decimal with an optional K/M/G suffix (binary units). */
static int parse_size(const char *v, uint64_t *out)
{
    char *end;
    if (!*v || *v == '-' || *v == '+')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v)
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (*end)
        return -1;
    if (shift && n > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)n << shift;
    return 0;
}

enum cmn_err pub_config_set(struct pub_config *c, const char *key, const char *value, struct cmn_errbuf *eb)
{
    for (size_t i = 0; i < CMN_ARRAY_SIZE(settings); i++) {
        const struct setting *s = &settings[i];
        if (strcmp(s->key, key) != 0)
            continue;
        void *field = (char *)c + s->off;
        switch (s->kind) {
        case K_STR:
        case K_SECRET: {
            char **p = field;
            if (*p && s->kind == K_SECRET)
                cmn_wipe(*p, strlen(*p));
            free(*p);
            *p = xstrdup(value);
            return CMN_OK;
        }
        case K_SIZE: {
            uint64_t n;
            if (parse_size(value, &n) || n == 0)
                return cmn_errf(eb, CMN_E_INVAL, "bad size for '%s': '%.40s'", key, value);
            *(uint64_t *)field = n;
            return CMN_OK;
        }
        case K_LONG: {
            char *end;
            errno = 0;
            long n = strtol(value, &end, 10);
            if (errno || end == value || *end || n < s->min || n > s->max)
                return cmn_errf(eb, CMN_E_INVAL, "bad value for '%s': '%.40s' (want %ld..%ld)", key, value, s->min,
                                s->max);
            *(long *)field = n;
            return CMN_OK;
        }
        case K_BOOL:
            if (!strcmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes"))
                *(int *)field = 1;
            else if (!strcmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no"))
                *(int *)field = 0;
            else
                return cmn_errf(eb, CMN_E_INVAL, "bad boolean for '%s': '%.40s'", key, value);
            return CMN_OK;
        }
    }
    return cmn_errf(eb, CMN_E_INVAL, "unknown setting '%.64s'", key);
}

/* One `key = value` line of a config file (common/kv.c reads the syntax). */
static enum cmn_err config_line(void *ctx, const char *key, const char *val, size_t vlen, struct cmn_errbuf *eb)
{
    if (memchr(val, '\0', vlen))
        return cmn_errf(eb, CMN_E_PARSE, "NUL byte in value");
    return pub_config_set(ctx, key, val, eb);
}

enum cmn_err pub_config_parse(struct pub_config *c, const char *text, size_t n, struct cmn_errbuf *eb)
{
    if (n > PUB_CONFIG_MAX_FILE)
        return cmn_errf(eb, CMN_E_TOOBIG, "config file larger than %u bytes", PUB_CONFIG_MAX_FILE);
    /* quoted values keep spaces and '#'; an unquoted one ends at " #" */
    static const struct cmn_kv_opts opts = {CMN_KV_QUOTED | CMN_KV_TRAILING_COMMENT, 0, "config line"};
    return cmn_kv_parse(text, n, &opts, config_line, c, eb);
}

enum cmn_err pub_config_load_file(struct pub_config *c, const char *path, struct cmn_errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cmn_errf(eb, CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    char *buf = malloc(PUB_CONFIG_MAX_FILE + 1);
    if (!buf) {
        close(fd);
        return CMN_E_NOMEM;
    }
    size_t len = 0;
    enum cmn_err rc = CMN_OK;
    for (;;) {
        ssize_t r = read(fd, buf + len, PUB_CONFIG_MAX_FILE + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > PUB_CONFIG_MAX_FILE) {
            rc = cmn_errf(eb, CMN_E_TOOBIG, "config file '%s' larger than %u bytes", path, PUB_CONFIG_MAX_FILE);
            goto out;
        }
    }
    rc = pub_config_parse(c, buf, len, eb);
out:
    cmn_wipe(buf, len);
    free(buf);
    close(fd);
    return rc;
}

enum cmn_err pub_config_from_env(struct pub_config *c, struct cmn_errbuf *eb)
{
    for (size_t i = 0; i < CMN_ARRAY_SIZE(settings); i++) {
        const char *v = settings[i].env ? getenv(settings[i].env) : NULL;
        if (!v || !*v)
            continue;
        enum cmn_err rc = pub_config_set(c, settings[i].key, v, eb);
        if (rc)
            return rc;
    }
    return CMN_OK;
}

enum cmn_err pub_config_check(const struct pub_config *c, struct cmn_errbuf *eb)
{
    if (!c->database_url || !*c->database_url)
        return cmn_errf(eb, CMN_E_INVAL, "DATABASE_URL is not set (or database_url in the config file)");
    if (!c->storage || !*c->storage)
        return cmn_errf(eb, CMN_E_INVAL, "HOTPATCH_STORAGE is not set (file:///dir or s3://bucket/prefix)");
    if (strncmp(c->storage, "file://", 7) != 0 && strncmp(c->storage, "s3://", 5) != 0)
        return cmn_errf(eb, CMN_E_INVAL, "HOTPATCH_STORAGE '%.80s' is neither file:// nor s3://", c->storage);
    if (!c->jwt_secret || !*c->jwt_secret)
        return cmn_errf(eb, CMN_E_INVAL, "JWT_SECRET is not set (at least %d bytes)", PUB_JWT_SECRET_MIN);
    if (strlen(c->jwt_secret) < PUB_JWT_SECRET_MIN)
        return cmn_errf(eb, CMN_E_INVAL, "JWT_SECRET is too short: %zu bytes, need at least %d", strlen(c->jwt_secret),
                        PUB_JWT_SECRET_MIN);
    if (!c->manifest_key || !*c->manifest_key)
        return cmn_errf(eb, CMN_E_INVAL,
                        "HOTPATCH_MANIFEST_KEY is not set (path to the manifest secret key; "
                        "'hotpatch-publisher keygen-manifest --out FILE' makes one)");
    const char *colon = c->listen ? strrchr(c->listen, ':') : NULL;
    if (!colon || colon == c->listen || !colon[1])
        return cmn_errf(eb, CMN_E_INVAL, "HOTPATCH_LISTEN '%.80s' is not host:port", c->listen ? c->listen : "");
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return cmn_errf(eb, CMN_E_INVAL, "HOTPATCH_LISTEN '%.80s' has a bad port", c->listen);
    if (c->public_url && *c->public_url) {
        /* an origin: scheme://host[:port], nothing after it (it is compared with Origin headers byte for byte) */
        const char *u = c->public_url;
        const char *host = !strncmp(u, "https://", 8) ? u + 8 : !strncmp(u, "http://", 7) ? u + 7 : NULL;
        if (!host || !*host || strpbrk(host, "/?#@ "))
            return cmn_errf(eb, CMN_E_INVAL, "HOTPATCH_PUBLIC_URL '%.80s' is not an origin like https://host[:port]",
                            u);
    }
    return CMN_OK;
}
