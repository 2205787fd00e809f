/*
 * Unit tests for publisher/config.c: the `key = value` parser (comments,
 * quotes, escapes, CRLF, errors with line numbers), typed settings with
 * bounds and size suffixes, the environment, and the start-up check that
 * refuses missing or weak settings.
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "pub_config.h"

static enum cmn_err parse(struct pub_config *c, const char *text, struct cmn_errbuf *eb)
{
    memset(eb, 0, sizeof(*eb));
    char *g = test_guard_alloc(text, strlen(text));
    enum cmn_err rc = pub_config_parse(c, g, strlen(text), eb);
    test_guard_free(g);
    return rc;
}

int main(void)
{
    struct pub_config c;
    struct cmn_errbuf eb;
    pub_config_init(&c);
    is_str(c.listen, "127.0.0.1:8080", "default listen address");
    is_int(c.max_upload, 256u << 20, "default upload cap 256 MiB");
    is_int(c.manifest_ttl, 7 * 86400, "default manifest TTL 7 days");
    is_int(c.halt_threshold_pct, 20, "default auto-halt 20%%");
    is_int(c.halt_min_installs, 50, "after 50 installs");
    is_int(c.db_wait, 10, "a request waits 10 s for a pooled connection");

    const char *good = "# comment\n"
                       "\n"
                       "database_url = postgres://u@h/db\r\n"
                       "  storage=file:///srv/hp   # trailing comment\n"
                       "jwt_secret = \"a \\\"quoted\\\" # secret with \\\\ and spaces..\"\n"
                       "manifest_key = /etc/hp/m.key\n"
                       "max_upload = 16M\n"
                       "max_json = 512K\n"
                       "manifest_ttl = 3600\n"
                       "log_json = yes\n"
                       "halt_threshold_pct = 35";
    is_int(parse(&c, good, &eb), CMN_OK, "a complete config file parses (%s)", eb.msg);
    is_str(c.database_url, "postgres://u@h/db", "CRLF line endings");
    is_str(c.storage, "file:///srv/hp", "unquoted value stops at ' #'");
    is_str(c.jwt_secret, "a \"quoted\" # secret with \\ and spaces..", "quoted value with escapes and '#'");
    is_int(c.max_upload, 16u << 20, "16M");
    is_int(c.max_json, 512u << 10, "512K");
    is_int(c.manifest_ttl, 3600, "integer setting");
    is_int(c.log_json, 1, "boolean yes");
    is_int(c.halt_threshold_pct, 35, "last line without a newline");
    is_int(pub_config_check(&c, &eb), CMN_OK, "complete settings pass the check");

    struct {
        const char *text, *want;
    } bad[] = {
        {"colour = red\n", "unknown setting 'colour'"},
        {"database_url postgres\n", "line 1"},
        {"\n\n= value\n", "line 3"},
        {"storage = \"unterminated\n", "unterminated"},
        {"storage = \"a\\x\"\n", "bad escape"},
        {"storage = \"a\" trailing\n", "text after quoted value"},
        {"max_upload = -5\n", "max_upload"},
        {"max_upload = 5T\n", "max_upload"},
        {"max_upload = 99999999999999999999G\n", "max_upload"},
        {"manifest_ttl = 1\n", "manifest_ttl"},
        {"db_pool = 9999\n", "db_pool"},
        {"db_wait = 0\n", "db_wait"},
        {"db_wait = 601\n", "db_wait"},
        {"log_json = maybe\n", "log_json"},
        {"Database_URL = x\n", "expected"},
        {"k\xc3\xa9y = v\n", "expected"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        struct pub_config t;
        pub_config_init(&t);
        enum cmn_err rc = parse(&t, bad[i].text, &eb);
        ok(rc != CMN_OK && strstr(eb.msg, bad[i].want), "refused case %zu: %s", i, eb.msg);
        pub_config_release(&t);
    }
    char *huge = malloc(PUB_CONFIG_MAX_FILE + 2);
    memset(huge, '#', PUB_CONFIG_MAX_FILE + 1);
    huge[PUB_CONFIG_MAX_FILE + 1] = '\0';
    struct pub_config t;
    pub_config_init(&t);
    is_int(parse(&t, huge, &eb), CMN_E_TOOBIG, "config file over 64 KiB refused");
    free(huge);
    const char nulcfg[] = "storage = a\0b\n";
    memset(&eb, 0, sizeof(eb));
    ok(pub_config_parse(&t, nulcfg, sizeof(nulcfg) - 1, &eb) != CMN_OK, "NUL byte in a value refused");
    pub_config_release(&t);

    /* the start-up check */
    struct {
        const char *key, *val, *want;
    } weak[] = {
        {"jwt_secret", "0123456789abcdef0123456789abcde", "too short"},
        {"jwt_secret", "", "JWT_SECRET is not set"},
        {"storage", "ftp://x", "neither"},
        {"listen", "8080", "host:port"},
        {"listen", "127.0.0.1:99999", "bad port"},
        {"manifest_key", "", "HOTPATCH_MANIFEST_KEY"},
        {"database_url", "", "DATABASE_URL"},
        {"public_url", "ota.example.com", "HOTPATCH_PUBLIC_URL"},
        {"public_url", "https://ota.example.com/", "not an origin"},
        {"public_url", "https://", "not an origin"},
        {"public_url", "https://user@ota.example.com", "not an origin"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(weak); i++) {
        struct pub_config w;
        pub_config_init(&w);
        memset(&eb, 0, sizeof(eb));
        if (parse(&w, good, &eb) || pub_config_set(&w, weak[i].key, weak[i].val, &eb))
            diag("setup failed: %s", eb.msg);
        enum cmn_err rc = pub_config_check(&w, &eb);
        ok(rc != CMN_OK && strstr(eb.msg, weak[i].want), "check refuses %s='%s': %s", weak[i].key, weak[i].val, eb.msg);
        pub_config_release(&w);
    }
    {
        struct pub_config o;
        pub_config_init(&o);
        memset(&eb, 0, sizeof(eb));
        ok(!parse(&o, good, &eb) && !pub_config_set(&o, "public_url", "https://ota.example.com:8443", &eb) &&
               !pub_config_set(&o, "cookie_secure", "1", &eb) && pub_config_check(&o, &eb) == CMN_OK &&
               o.cookie_secure == 1 && o.session_ttl == 8 * 3600,
           "an origin with a port is a good public_url; cookie_secure on; session_ttl defaults to 8 h (%s)", eb.msg);
        ok(pub_config_set(&o, "session_ttl", "59", &eb) != CMN_OK && strstr(eb.msg, "session_ttl"),
           "a session shorter than a minute is refused: %s", eb.msg);
        pub_config_release(&o);
    }
    struct pub_config e;
    pub_config_init(&e);
    setenv("DATABASE_URL", "postgres://env/db", 1);
    setenv("HOTPATCH_MAX_BATCH", "250", 1);
    memset(&eb, 0, sizeof(eb));
    is_int(pub_config_from_env(&e, &eb), CMN_OK, "environment read");
    is_str(e.database_url, "postgres://env/db", "DATABASE_URL from the environment");
    is_int(e.max_batch, 250, "HOTPATCH_MAX_BATCH from the environment");
    setenv("HOTPATCH_MAX_BATCH", "0", 1);
    ok(pub_config_from_env(&e, &eb) != CMN_OK, "out-of-range environment value refused");
    pub_config_release(&e);
    pub_config_release(&c);
    return done_testing();
}
