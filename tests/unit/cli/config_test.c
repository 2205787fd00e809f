/*
 * config_test.c - the CLI config file: strict parsing (line numbers in
 * errors, unknown keys, duplicates, control characters, caps), set/unset,
 * render -> parse round trip, and the atomic 0600 save.
 */
#include "common/compat.h"

#include <sys/stat.h>
#include <unistd.h>

#include "../../../cli/cli.h"
#include "../../lib/test.h"

static enum cmn_err parse(const char *text, struct cli_config *cfg, struct cmn_errbuf *eb)
{
    /* Parse from a guard-page copy: reading past the end faults at once. */
    size_t n = strlen(text);
    void *g = test_guard_alloc(text, n);
    enum cmn_err rc;
    memset(cfg, 0, sizeof(*cfg));
    memset(eb, 0, sizeof(*eb));
    rc = cli_config_parse(g, n, cfg, eb);
    test_guard_free(g);
    return rc;
}

int main(void)
{
    struct cli_config cfg;
    struct cmn_errbuf eb;
    struct cmn_buf b;
    struct stat st;
    char path[512];
    FILE *f;

    ok(parse("# comment\n\nendpoint = http://127.0.0.1:8080\n  token=hp_abc  \r\nstorage =\n", &cfg, &eb) == CMN_OK,
       "valid config parses");
    is_int(cfg.n, 3, "three settings");
    is_str(cli_config_get(&cfg, "endpoint"), "http://127.0.0.1:8080", "endpoint value");
    is_str(cli_config_get(&cfg, "token"), "hp_abc", "spaces and CR trimmed");
    is_str(cli_config_get(&cfg, "storage"), "", "empty value allowed");
    ok(cli_config_get(&cfg, "app") == NULL, "absent key is NULL");
    cli_config_release(&cfg);

    ok(parse("", &cfg, &eb) == CMN_OK && cfg.n == 0, "empty file is an empty config");
    ok(parse("app = demo", &cfg, &eb) == CMN_OK && cfg.n == 1, "no final newline");
    cli_config_release(&cfg);

    is_int(parse("endpoint = a\nbogus = 1\n", &cfg, &eb), CMN_E_PARSE, "unknown key refused");
    ok(strstr(eb.msg, "line 2") && strstr(eb.msg, "bogus"), "error names the line and key: %s", eb.msg);
    is_int(cfg.n, 0, "nothing kept after an error");
    is_int(parse("app = a\napp = b\n", &cfg, &eb), CMN_E_PARSE, "duplicate key refused");
    ok(strstr(eb.msg, "twice") != NULL, "duplicate message: %s", eb.msg);
    is_int(parse("app demo\n", &cfg, &eb), CMN_E_PARSE, "missing '=' refused");
    is_int(parse("= demo\n", &cfg, &eb), CMN_E_PARSE, "missing key refused");
    is_int(parse("APP = demo\n", &cfg, &eb), CMN_E_PARSE, "upper-case key refused");
    is_int(parse("app = de\x01mo\n", &cfg, &eb), CMN_E_PARSE, "control character refused");
    is_int(parse("app = de\tmo\n", &cfg, &eb), CMN_E_PARSE, "tab inside a value refused");
    {
        char *big = malloc(CLI_CONFIG_MAX_BYTES + 2);
        memset(big, '#', CLI_CONFIG_MAX_BYTES + 1);
        big[CLI_CONFIG_MAX_BYTES + 1] = '\0';
        memset(&cfg, 0, sizeof(cfg));
        is_int(cli_config_parse(big, CLI_CONFIG_MAX_BYTES + 1, &cfg, &eb), CMN_E_TOOBIG, "oversize file refused");
        memset(big, 'a', CLI_CONFIG_MAX_LINE + 10);
        memcpy(big, "app = ", 6);
        big[CLI_CONFIG_MAX_LINE + 10] = '\0';
        is_int(parse(big, &cfg, &eb), CMN_E_PARSE, "overlong line refused");
        free(big);
    }

    /* set / unset / render round trip */
    memset(&cfg, 0, sizeof(cfg));
    memset(&eb, 0, sizeof(eb));
    ok(cli_config_set(&cfg, "token", "hp_secret", &eb) == CMN_OK, "set token");
    ok(cli_config_set(&cfg, "endpoint", "http://x", &eb) == CMN_OK, "set endpoint");
    ok(cli_config_set(&cfg, "token", "hp_other", &eb) == CMN_OK, "replace token");
    is_str(cli_config_get(&cfg, "token"), "hp_other", "replaced value");
    is_int(cli_config_set(&cfg, "nope", "x", &eb), CMN_E_INVAL, "set unknown key refused");
    is_int(cli_config_set(&cfg, "app", "a\nb", &eb), CMN_E_INVAL, "newline in a value refused (no injection)");
    is_int(cli_config_set(&cfg, "app", " a", &eb), CMN_E_INVAL, "leading space refused (would not round-trip)");
    ok(cli_config_set(&cfg, "endpoint", NULL, &eb) == CMN_OK && cli_config_get(&cfg, "endpoint") == NULL, "unset");
    ok(cli_config_set(&cfg, "app", "demo", &eb) == CMN_OK, "set app");
    cmn_buf_init(&b, 1 << 16);
    ok(cli_config_render(&cfg, &b) == CMN_OK, "render");
    {
        struct cli_config back;
        ok(parse(b.ptr, &back, &eb) == CMN_OK, "rendered config parses");
        is_int(back.n, 2, "same number of settings");
        is_str(cli_config_get(&back, "token"), "hp_other", "token survives the round trip");
        is_str(cli_config_get(&back, "app"), "demo", "app survives the round trip");
        cli_config_release(&back);
    }
    cmn_buf_release(&b);

    /* atomic save: mode 0600, dirs created 0700, content readable back */
    snprintf(path, sizeof(path), "%s/a/b/hotpatch/config", test_tmpdir());
    memset(&eb, 0, sizeof(eb));
    ok(cli_config_save(&cfg, path, &eb) == CMN_OK, "save creates the directories: %s", eb.msg);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "saved with mode 0600");
    {
        char dir[600];
        snprintf(dir, sizeof(dir), "%s/a/b/hotpatch", test_tmpdir());
        ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "config dir is 0700");
    }
    {
        struct cli_config back;
        memset(&back, 0, sizeof(back));
        ok(cli_config_load(path, &back, &eb) == CMN_OK && back.n == 2, "load what was saved");
        cli_config_release(&back);
    }
    /* the saved file replaced a pre-existing one (rename), not appended */
    ok(cli_config_set(&cfg, "app", "demo2", &eb) == CMN_OK && cli_config_save(&cfg, path, &eb) == CMN_OK, "save again");
    {
        struct cli_config back;
        memset(&back, 0, sizeof(back));
        ok(cli_config_load(path, &back, &eb) == CMN_OK, "reload");
        is_str(cli_config_get(&back, "app"), "demo2", "second save replaced the file");
        cli_config_release(&back);
    }
    {
        char tmpl[600];
        snprintf(tmpl, sizeof(tmpl), "%s/a/b/hotpatch", test_tmpdir());
        f = popen("true", "r"); /* keep stdio happy on some libcs */
        if (f)
            pclose(f);
        ok(access(tmpl, F_OK) == 0, "dir still there");
    }
    {
        struct cli_config none;
        char missing[600];
        memset(&none, 0, sizeof(none));
        snprintf(missing, sizeof(missing), "%s/does-not-exist", test_tmpdir());
        ok(cli_config_load(missing, &none, &eb) == CMN_OK && none.n == 0, "missing file = empty config");
    }
    cli_config_release(&cfg);
    return done_testing();
}
