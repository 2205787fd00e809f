/*
 * args_test.c - the commands that take no positional argument refuse a stray
 * one with a usage error naming it, before they look at any setting, and
 * --help still prints the help and exits 0 (cli_parse_flags in util.c).
 */
#include "common/compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "../../../cli/cli.h"
#include "../../lib/test.h"

static char ERRF[4200];

/* Run `fn` on argv with stderr in ERRF; return its exit code and, in msg, what it printed. */
static int run(int (*fn)(int, char **), int argc, char **argv, char *msg, size_t cap)
{
    fflush(stderr);
    if (!freopen(ERRF, "w", stderr))
        abort();
    cli_out.reported = 0;
    int ex = fn(argc, argv);
    fflush(stderr);
    msg[0] = '\0';
    FILE *f = fopen(ERRF, "r");
    if (f) {
        size_t n = fread(msg, 1, cap - 1, f);
        msg[n] = '\0';
        msg[strcspn(msg, "\n")] = '\0';
        fclose(f);
    }
    return ex;
}

int main(void)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
        const char *sub; /* the subcommand word, or NULL */
    } cmds[] = {
        {"keygen", cli_cmd_keygen, NULL},
        {"login", cli_cmd_login, NULL},
        {"snapshot", cli_cmd_snapshot, NULL},
        {"app", cli_cmd_app, NULL},
        {"root init", cli_cmd_root, "init"},
        {"root rotate", cli_cmd_root, "rotate"},
        {"manifest show", cli_cmd_manifest, "show"},
        {"manifest resign", cli_cmd_manifest, "resign"},
        {"manifest retire", cli_cmd_manifest, "retire"},
        {"history", cli_cmd_history, NULL},
        {"stats", cli_cmd_stats, NULL},
    };
    char msg[2048];
    snprintf(ERRF, sizeof ERRF, "%s/stderr.txt", test_tmpdir());
    /* No setting may come from the environment: the stray argument must be what is refused. */
    unsetenv("HOTPATCH_ENDPOINT");
    unsetenv("HOTPATCH_STORAGE");
    unsetenv("HOTPATCH_TOKEN");
    unsetenv("HOTPATCH_APP");
    unsetenv("HOTPATCH_PLATFORM");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *argv[3];
        int argc = 0;
        if (cmds[i].sub)
            argv[argc++] = (char *)cmds[i].sub;
        argv[argc++] = "stray";
        int ex = run(cmds[i].fn, argc, argv, msg, sizeof msg);
        is_int(ex, CLI_EXIT_USAGE, "%s stray: usage error", cmds[i].name);
        ok(strstr(msg, "unexpected argument 'stray'") != NULL, "%s stray: the message names it (%s)", cmds[i].name,
           msg);
    }
    /* --help wins over a stray argument, as before: help printed, exit 0. */
    {
        char *argv[] = {"stray", "--help"};
        int out = dup(1), null = open("/dev/null", O_WRONLY);
        fflush(stdout);
        if (out < 0 || null < 0 || dup2(null, 1) < 0)
            abort();
        int ex = run(cli_cmd_stats, 2, argv, msg, sizeof msg);
        fflush(stdout);
        dup2(out, 1);
        close(out);
        close(null);
        is_int(ex, 0, "stats stray --help: exit 0");
        is_str(msg, "", "stats stray --help: no error");
    }
    return done_testing();
}
