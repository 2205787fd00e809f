/*
 * util_test.c - the CLI's small parsers and mappings: percent -> basis
 * points, durations, ids, release ids, error -> exit code, and the
 * publisher answer -> exit code + message translation.
 */
#include "common/compat.h"

#include "../../../cli/cli.h"
#include "../../lib/test.h"

int main(void)
{
    char id1[CMN_ID_MAX + 1], id2[CMN_ID_MAX + 1], msg[600], out[64];
    const char *body;

    is_int(cli_percent_to_bp("10"), 1000, "10%% = 1000 bp");
    is_int(cli_percent_to_bp("100"), 10000, "100%%");
    is_int(cli_percent_to_bp("0"), 0, "0%%");
    is_int(cli_percent_to_bp("2.5"), 250, "2.5%%");
    is_int(cli_percent_to_bp("0.01"), 1, "0.01%% = 1 bp");
    is_int(cli_percent_to_bp("12.50"), 1250, "trailing zero decimal");
    is_int(cli_percent_to_bp("25%"), 2500, "percent sign accepted");
    is_int(cli_percent_to_bp("100.01"), -1, "over 100 refused");
    is_int(cli_percent_to_bp("101"), -1, "101 refused");
    is_int(cli_percent_to_bp("0.001"), -1, "finer than a basis point refused");
    is_int(cli_percent_to_bp("-5"), -1, "negative refused");
    is_int(cli_percent_to_bp("1e2"), -1, "exponent refused");
    is_int(cli_percent_to_bp(""), -1, "empty refused");
    is_int(cli_percent_to_bp("."), -1, "dot refused");
    is_int(cli_percent_to_bp("5."), -1, "dot without decimals refused");
    is_int(cli_percent_to_bp("99999999999999999999"), -1, "huge refused");

    is_int(cli_parse_duration("7d"), 7 * 86400, "7d");
    is_int(cli_parse_duration("12h"), 12 * 3600, "12h");
    is_int(cli_parse_duration("30m"), 1800, "30m");
    is_int(cli_parse_duration("90s"), 90, "90s");
    is_int(cli_parse_duration("3600"), 3600, "bare seconds");
    is_int(cli_parse_duration("7w"), -1, "unknown unit refused");
    is_int(cli_parse_duration("d"), -1, "no number refused");
    is_int(cli_parse_duration("7dd"), -1, "trailing junk refused");
    is_int(cli_parse_uint("10000", 0, 10000), 10000, "uint at the bound");
    is_int(cli_parse_uint("10001", 0, 10000), -1, "uint over the bound");
    is_int(cli_parse_uint("1x", 0, 10), -1, "uint junk");

    ok(cmn_id_valid("demo-app_1.2"), "valid id");
    ok(!cmn_id_valid(""), "empty id refused");
    ok(!cmn_id_valid("a/b"), "slash refused");
    ok(cmn_id_valid("1.2.0"), "dots allowed");
    ok(!cmn_id_valid("a b"), "space refused");
    {
        char long_id[80];
        memset(long_id, 'a', 65);
        long_id[65] = '\0';
        ok(!cmn_id_valid(long_id), "65 chars refused");
        long_id[64] = '\0';
        ok(cmn_id_valid(long_id), "64 chars accepted");
    }

    ok(cmn_crypto_init() == CMN_OK, "crypto init");
    cli_release_id(id1);
    cli_release_id(id2);
    ok(strncmp(id1, "rel_", 4) == 0 && cmn_id_valid(id1), "release id is a valid id: %s", id1);
    ok(strcmp(id1, id2) != 0, "two release ids differ");

    is_int(cli_exit_from_err(CMN_OK), 0, "ok -> 0");
    is_int(cli_exit_from_err(CMN_E_DENIED), CLI_EXIT_AUTH, "denied -> 3");
    is_int(cli_exit_from_err(CMN_E_CONFLICT), CLI_EXIT_CONFLICT, "conflict -> 4");
    is_int(cli_exit_from_err(CMN_E_SIG), CLI_EXIT_VERIFY, "bad signature -> 5");
    is_int(cli_exit_from_err(CMN_E_UNKNOWN_KEY), CLI_EXIT_VERIFY, "unknown key -> 5");
    is_int(cli_exit_from_err(CMN_E_NET), CLI_EXIT_NET, "network -> 6");
    is_int(cli_exit_from_err(CMN_E_NOTFOUND), CLI_EXIT_NOTFOUND, "not found -> 7");
    is_int(cli_exit_from_err(CMN_E_IO), CLI_EXIT_FAIL, "io -> 1");

    body = "{\"error\":{\"code\":\"duplicate_version\",\"message\":\"version 1.2.0 exists\"}}";
    is_int(cli_api_status(409, body, strlen(body), msg, sizeof(msg)), CLI_EXIT_CONFLICT, "409 -> 4");
    ok(strstr(msg, "version 1.2.0 exists") && strstr(msg, "409"), "message carries the server's text: %s", msg);
    body = "{\"error\":{\"code\":\"bad_signature\",\"message\":\"signature\\nfails\"}}";
    is_int(cli_api_status(400, body, strlen(body), msg, sizeof(msg)), CLI_EXIT_VERIFY, "400 bad_signature -> 5");
    ok(strchr(msg, '\n') == NULL, "message is one line");
    body = "{\"error\":{\"code\":\"dup\\nlicate\",\"message\":\"x\"}}";
    cli_api_status(409, body, strlen(body), msg, sizeof(msg));
    ok(strchr(msg, '\n') == NULL, "newline in the error code does not break the line (fuzz find): %s", msg);
    is_int(cli_api_status(401, "", 0, msg, sizeof(msg)), CLI_EXIT_AUTH, "401 -> 3");
    is_int(cli_api_status(403, "nope", 4, msg, sizeof(msg)), CLI_EXIT_AUTH, "403 with junk body -> 3");
    is_str(msg, "HTTP 403", "junk body: status only");
    is_int(cli_api_status(404, NULL, 0, msg, sizeof(msg)), CLI_EXIT_NOTFOUND, "404 -> 7");
    is_int(cli_api_status(503, "{}", 2, msg, sizeof(msg)), CLI_EXIT_NET, "503 -> 6");
    is_int(cli_api_status(429, "{}", 2, msg, sizeof(msg)), CLI_EXIT_NET, "429 -> 6");
    is_int(cli_api_status(400, "{\"error\":\"x\"}", 13, msg, sizeof(msg)), CLI_EXIT_FAIL, "400 -> 1");
    is_int(cli_api_status(201, "{}", 2, msg, sizeof(msg)), CLI_EXIT_OK, "201 -> 0");

    ok(cli_api_escape("a b/c&d", out, sizeof(out)) == 0, "escape");
    is_str(out, "a%20b%2Fc%26d", "escaped value");
    ok(cli_api_escape("abcdefgh", out, 4) == -1, "escape refuses to overflow");
    /* option parsing */
    {
        const char *v = NULL, *w = NULL;
        int f = 0;
        struct cli_args a;
        const struct cli_opt opts[] = {
            {"value", "X", &v, NULL, "a value"},
            {"other", "Y", &w, NULL, "another"},
            {"flag", NULL, NULL, &f, "a flag"},
            {0},
        };
        const struct cli_cmd cmd = {"t", "test", "t", NULL, NULL};
        char *argv1[] = {"--value=1", "pos", "--flag", "--other", "two", "--", "--not-an-option"};
        cli_out.reported = 1; /* keep the expected errors off the TAP stream */
        is_int(cli_parse(&cmd, opts, 7, argv1, &a), 0, "parse a mixed command line");
        is_str(v, "1", "--name=value");
        is_str(w, "two", "--name value");
        is_int(f, 1, "flag set");
        is_int(a.npos, 2, "two positionals");
        is_str(a.pos[1], "--not-an-option", "after --, options are positionals");
        {
            char *bad[] = {"--nope"};
            is_int(cli_parse(&cmd, opts, 1, bad, &a), CLI_EXIT_USAGE, "unknown option: usage error");
        }
        {
            char *bad[] = {"--value"};
            is_int(cli_parse(&cmd, opts, 1, bad, &a), CLI_EXIT_USAGE, "missing value: usage error");
        }
        {
            char *bad[] = {"--flag=1"};
            is_int(cli_parse(&cmd, opts, 1, bad, &a), CLI_EXIT_USAGE, "value on a flag: usage error");
        }
        {
            char *bad[] = {"-x"};
            is_int(cli_parse(&cmd, opts, 1, bad, &a), CLI_EXIT_USAGE, "short unknown option: usage error");
        }
    }

    /* settings precedence: flag > environment > config; one layer picks the mode */
    {
        static struct cli_config cfg;
        struct cmn_errbuf eb = {{0}};
        struct cli_conn c;
        memset(&cfg, 0, sizeof(cfg));
        cli_cfg = &cfg;
        ok(cli_config_set(&cfg, "storage", "file:///cfg", &eb) == CMN_OK, "config storage");
        unsetenv("HOTPATCH_STORAGE");
        unsetenv("HOTPATCH_ENDPOINT");
        is_str(cli_setting(NULL, "HOTPATCH_STORAGE", "storage"), "file:///cfg", "config when nothing else");
        setenv("HOTPATCH_STORAGE", "file:///env", 1);
        is_str(cli_setting(NULL, "HOTPATCH_STORAGE", "storage"), "file:///env", "env beats config");
        is_str(cli_setting("file:///flag", "HOTPATCH_STORAGE", "storage"), "file:///flag", "flag beats env");
        is_str(cli_setting("", "HOTPATCH_STORAGE", "storage"), "file:///env", "empty flag ignored");

        memset(&c, 0, sizeof(c));
        setenv("HOTPATCH_ENDPOINT", "http://env", 1);
        is_int(cli_conn_resolve(&c), CLI_EXIT_USAGE, "endpoint and storage both in the environment: usage error");
        memset(&c, 0, sizeof(c));
        c.storage = "file:///flag";
        is_int(cli_conn_resolve(&c), 0, "a --storage flag settles it");
        is_int(c.mode, CLI_MODE_SERVERLESS, "serverless");
        unsetenv("HOTPATCH_STORAGE");
        memset(&c, 0, sizeof(c));
        setenv("HOTPATCH_TOKEN", "hp_x", 1);
        is_int(cli_conn_resolve(&c), 0, "env endpoint beats config storage");
        is_int(c.mode, CLI_MODE_PUBLISHER, "publisher");
        unsetenv("HOTPATCH_TOKEN");
        memset(&c, 0, sizeof(c));
        is_int(cli_conn_resolve(&c), CLI_EXIT_USAGE, "publisher without a token: usage error");
        unsetenv("HOTPATCH_ENDPOINT");
        cli_config_release(&cfg);
        cli_cfg = NULL;
    }
    return done_testing();
}
