/*
 * cmd_login.c - the settings commands: `hotpatch login`, `logout`, `whoami`
 * and `config get|set|unset|list`.
 *
 * login stores the publisher endpoint and token (or a serverless storage URL)
 * in the config file, written atomically with mode 0600. The token is read
 * from --token, from stdin with --token-stdin (CI: no token in the process
 * list), or prompted for without echo on a terminal. Tokens are never printed
 * back: whoami and config list show only their first characters.
 */
#include "common/compat.h"

#include <termios.h>
#include <unistd.h>

#include "cli.h"

static int save(void)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cli_config_save(cli_cfg, cli_cfg_path, &eb);
    if (rc)
        return cli_fail_rc(rc, &eb, "cannot save the config");
    return 0;
}

static int set(const char *k, const char *v)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cli_config_set(cli_cfg, k, v, &eb);
    if (rc)
        return cli_fail(CLI_EXIT_USAGE, "%s", cmn_errmsg(&eb, rc));
    return 0;
}

static int read_line(FILE *f, char *out, size_t cap, int echo_off)
{
    struct termios old, raw;
    int restore = 0;
    size_t n;
    if (echo_off && isatty(fileno(f)) && tcgetattr(fileno(f), &old) == 0) {
        raw = old;
        raw.c_lflag &= ~(tcflag_t)ECHO;
        if (tcsetattr(fileno(f), TCSAFLUSH, &raw) == 0)
            restore = 1;
    }
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    if (restore) {
        tcsetattr(fileno(f), TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    return (int)n;
}

/* "hp_abcd…" : enough to tell tokens apart, not enough to use one. */
static void mask(const char *tok, char *out, size_t cap)
{
    if (!tok) {
        snprintf(out, cap, "(none)");
        return;
    }
    snprintf(out, cap, "%.6s… (%zu chars)", tok, strlen(tok));
}

/*
 * Ask the publisher whether the token is good before storing it: an API key
 * ("hp_...") is exchanged for a JWT (POST /v1/auth/token), a JWT is refreshed
 * (POST /v1/auth/refresh). The answer is discarded.
 */
static int verify_token(const char *endpoint, const char *token)
{
    struct cli_api api = {endpoint, NULL};
    json_t *body, *resp = NULL;
    int ex;
    if (strncmp(token, "hp_", 3) == 0) {
        body = json_pack("{s:s}", "api_key", token);
        ex = cli_api_call(&api, "POST", "/v1/auth/token", body, &resp);
        json_decref(body);
    } else {
        api.token = token;
        ex = cli_api_call(&api, "POST", "/v1/auth/refresh", NULL, &resp);
    }
    if (resp) {
        json_t *t = json_object_get(resp, "token");
        if (json_is_string(t))
            cmn_wipe((void *)json_string_value(t), strlen(json_string_value(t)));
    }
    json_decref(resp);
    return ex;
}

int cli_cmd_login(int argc, char **argv)
{
    const char *endpoint = NULL, *token = NULL, *storage = NULL;
    int token_stdin = 0, no_verify = 0, ex;
    char line[4096];
    struct cli_args a;
    const struct cli_opt opts[] = {
        {"endpoint", "URL", &endpoint, NULL, "publisher base URL, e.g. https://ota.example.com"},
        {"token", "TOKEN", &token, NULL, "API key or JWT (visible in the process list: prefer --token-stdin)"},
        {"token-stdin", NULL, NULL, &token_stdin, "read the token from stdin"},
        {"storage", "URL", &storage, NULL, "serverless instead: file:///dir or s3://bucket/prefix"},
        {"no-verify", NULL, NULL, &no_verify, "store the token without checking it with the publisher"},
        {0},
    };
    const struct cli_cmd cmd = {"login",
                                "Store the publisher endpoint and token (or a serverless storage URL) in the "
                                "config file (mode 0600).",
                                "hotpatch login --endpoint URL [--token TOKEN | --token-stdin] [--no-verify]\n"
                                "       hotpatch login --storage file:///dir|s3://bucket/prefix",
                                "HOTPATCH_ENDPOINT  default for --endpoint\nHOTPATCH_TOKEN     used instead of the "
                                "stored token by other commands",
                                NULL};
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if (storage) {
        if (endpoint || token || token_stdin)
            return cli_fail(CLI_EXIT_USAGE, "--storage (serverless) cannot be combined with --endpoint/--token");
        if (strncmp(storage, "file:///", 8) != 0 && strncmp(storage, "s3://", 5) != 0)
            return cli_fail(CLI_EXIT_USAGE, "bad storage URL '%s': use file:///abs/dir or s3://bucket/prefix", storage);
        if ((ex = set("storage", storage)) || (ex = set("endpoint", NULL)) || (ex = set("token", NULL)) ||
            (ex = save()))
            return ex;
        if (cli_out.json)
            cli_print_json(
                json_pack("{s:s,s:s,s:s}", "mode", "serverless", "storage", storage, "config", cli_cfg_path));
        else
            printf("serverless mode: storage %s saved in %s\n", storage, cli_cfg_path);
        return 0;
    }
    endpoint = cli_setting(endpoint, "HOTPATCH_ENDPOINT", "endpoint");
    if (!endpoint)
        return cli_fail(CLI_EXIT_USAGE, "no endpoint: pass --endpoint URL (the publisher, e.g. http://127.0.0.1:8080)");
    if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)
        return cli_fail(CLI_EXIT_USAGE, "bad endpoint '%s': expected http:// or https://", endpoint);
    if (!token) {
        if (!token_stdin && !isatty(0))
            token_stdin = 1;
        if (!token_stdin)
            fputs("API token: ", stderr);
        if (read_line(stdin, line, sizeof(line), !token_stdin) == 0)
            return cli_fail(CLI_EXIT_USAGE, "no token given: pass --token, --token-stdin, or type it at the prompt");
        token = line;
    }
    if (strchr(token, ' ') || strlen(token) > 2048)
        return cli_fail(CLI_EXIT_USAGE, "that does not look like a token (spaces or too long)");
    if (!no_verify) {
        ex = verify_token(endpoint, token);
        if (ex) {
            cmn_wipe(line, sizeof(line));
            return ex;
        }
    }
    ex = set("endpoint", endpoint);
    if (!ex)
        ex = set("token", token);
    if (!ex)
        ex = set("storage", NULL);
    if (!ex)
        ex = save();
    cmn_wipe(line, sizeof(line));
    if (ex)
        return ex;
    if (cli_out.json)
        cli_print_json(json_pack("{s:s,s:s,s:s}", "mode", "publisher", "endpoint", endpoint, "config", cli_cfg_path));
    else
        printf("logged in to %s (token saved in %s)\n", endpoint, cli_cfg_path);
    return 0;
}

int cli_cmd_logout(int argc, char **argv)
{
    int ex, had;
    struct cli_args a;
    const struct cli_opt opts[] = {{0}};
    const struct cli_cmd cmd = {"logout", "Forget the stored publisher token.", "hotpatch logout", NULL, NULL};
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    had = cli_config_get(cli_cfg, "token") != NULL;
    if (had && ((ex = set("token", NULL)) || (ex = save())))
        return ex;
    if (cli_out.json)
        cli_print_json(json_pack("{s:b}", "logged_out", had));
    else
        printf(had ? "token removed from %s\n" : "no token stored in %s\n", cli_cfg_path);
    if (getenv("HOTPATCH_TOKEN"))
        cli_warn("HOTPATCH_TOKEN is still set in the environment");
    return 0;
}

int cli_cmd_whoami(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_args a;
    char tok[64];
    int ex;
    const char *mode;
    const struct cli_opt opts[] = {CLI_CONN_OPTS(&c), {0}};
    const struct cli_cmd cmd = {"whoami", "Show the mode, endpoint or storage, and token the other commands would use.",
                                "hotpatch whoami", CLI_CONN_ENV, NULL};
    memset(&c, 0, sizeof(c));
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    ex = cli_conn_resolve(&c);
    if (ex)
        return ex;
    mode = c.mode == CLI_MODE_PUBLISHER ? "publisher" : "serverless";
    mask(c.token, tok, sizeof(tok));
    if (cli_out.json) {
        json_t *o = json_pack("{s:s,s:s}", "mode", mode, "config", cli_cfg_path);
        if (c.mode == CLI_MODE_PUBLISHER)
            json_object_set_new(o, "endpoint", json_string(c.endpoint));
        else
            json_object_set_new(o, "storage", json_string(c.storage));
        cli_print_json(o);
    } else {
        printf("mode:     %s\n", mode);
        if (c.mode == CLI_MODE_PUBLISHER) {
            printf("endpoint: %s\n", c.endpoint);
            printf("token:    %s\n", tok);
        } else {
            printf("storage:  %s\n", c.storage);
        }
        printf("config:   %s\n", cli_cfg_path);
    }
    return 0;
}

int cli_cmd_config(int argc, char **argv)
{
    struct cli_args a;
    const char *verb;
    size_t i;
    int ex;
    const struct cli_opt opts[] = {{0}};
    const struct cli_cmd cmd = {
        "config", "Read and change the config file.", "hotpatch config list | get KEY | set KEY VALUE | unset KEY",
        NULL,
        "keys: endpoint token storage signing_key manifest_key trusted_keys s3_endpoint region\n"
        "      app platform channel (defaults for --app/--platform/--channel)\n"};
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    verb = a.npos ? a.pos[0] : "list";
    if (strcmp(verb, "list") == 0 && a.npos <= 1) {
        json_t *o = json_object();
        for (i = 0; i < cli_cfg->n; i++) {
            char m[64];
            const char *v = cli_cfg->items[i].value;
            if (strcmp(cli_cfg->items[i].key, "token") == 0) {
                mask(v, m, sizeof(m));
                v = m;
            }
            if (cli_out.json)
                json_object_set_new(o, cli_cfg->items[i].key, json_string(v));
            else
                printf("%s = %s\n", cli_cfg->items[i].key, v);
        }
        if (cli_out.json)
            cli_print_json(o);
        else
            json_decref(o);
        return 0;
    }
    if (strcmp(verb, "get") == 0 && a.npos == 2) {
        const char *v;
        if (!cli_config_known(a.pos[1]))
            return cli_fail(CLI_EXIT_USAGE, "unknown setting '%s': see 'hotpatch config --help'", a.pos[1]);
        v = cli_config_get(cli_cfg, a.pos[1]);
        if (!v)
            return cli_fail(CLI_EXIT_NOTFOUND, "'%s' is not set in %s", a.pos[1], cli_cfg_path);
        if (cli_out.json)
            cli_print_json(json_pack("{s:s}", a.pos[1], v));
        else
            printf("%s\n", v);
        return 0;
    }
    if (strcmp(verb, "set") == 0 && a.npos == 3) {
        if ((ex = set(a.pos[1], a.pos[2])) || (ex = save()))
            return ex;
        if (cli_out.json)
            cli_print_json(json_pack("{s:s}", "set", a.pos[1]));
        return 0;
    }
    if (strcmp(verb, "unset") == 0 && a.npos == 2) {
        if ((ex = set(a.pos[1], NULL)) || (ex = save()))
            return ex;
        if (cli_out.json)
            cli_print_json(json_pack("{s:s}", "unset", a.pos[1]));
        return 0;
    }
    return cli_fail(CLI_EXIT_USAGE, "usage: %s", cmd.usage);
}
