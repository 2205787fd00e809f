/*
 * main.c - `hotpatch`, the developer and CI tool: finds the config file,
 * reads the global flags, and dispatches to the command (cmd_<verb>.c).
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 auth, 4 conflict/duplicate,
 * 5 verification failed, 6 network/storage unavailable, 7 not found.
 */
#include "common/compat.h"

#include <curl/curl.h>
#include <unistd.h>

#include "cli.h"
#include "common/log.h"
#include "hotpatch_version.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} cmds[] = {
    {"keygen", cli_cmd_keygen, "create a release (or --manifest) Ed25519 key pair"},
    {"login", cli_cmd_login, "store the publisher endpoint + token (or a storage URL)"},
    {"logout", cli_cmd_logout, "forget the stored token"},
    {"whoami", cli_cmd_whoami, "show the mode and endpoint/storage in use"},
    {"config", cli_cmd_config, "list | get | set | unset settings"},
    {"release", cli_cmd_release, "bundle, zip, hash, sign and publish a release"},
    {"rollout", cli_cmd_rollout, "change a release's rollout percentage"},
    {"rollback", cli_cmd_rollback, "roll back a release"},
    {"halt", cli_cmd_halt, "stop offering a release to new devices"},
    {"resume", cli_cmd_resume, "resume a halted release"},
    {"promote", cli_cmd_promote, "publish a release from one channel to another"},
    {"archive", cli_cmd_archive, "remove a release from the channel manifest"},
    {"history", cli_cmd_history, "list a channel's releases (table or --json)"},
    {"stats", cli_cmd_stats, "install statistics of a release (publisher mode)"},
    {"app", cli_cmd_app, "show an app's settings; legacy signature opt-in, seed 002 device model"},
    {"manifest", cli_cmd_manifest, "manifest show: fetch, verify, print; manifest resign"},
    {"verify", cli_cmd_verify, "verify a bundle zip's SHA-256 and signature"},
    {"root", cli_cmd_root, "the app's signed root of trust: init, rotate, revoke, sign, show, publish"},
    {"snapshot", cli_cmd_snapshot, "serverless: write every channel manifest into one object for cold edges"},
    {"deployment-key", cli_cmd_deployment_key, "CodePush deployment keys of a channel: add | list | revoke"},
    {"patch", cli_cmd_patch, "create, apply or inspect differential bundle patches"},
    {"embedded", cli_cmd_embedded, "register the bundle each native binary version embeds, as a patch base"},
};

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "usage: hotpatch [--json] [--quiet] <command> [options]\n\n"
               "HotPatch over-the-air updates: build, sign and publish releases from a laptop or CI.\n\n"
               "commands:\n");
    for (i = 0; i < CMN_ARRAY_SIZE(cmds); i++)
        fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\nmodes:\n"
               "  publisher   --endpoint URL + token (hotpatch login): the publisher stores and signs manifests\n"
               "  serverless  --storage file:///dir | s3://bucket/prefix + manifest key: the CLI writes them itself\n"
               "\nglobal options (also accepted after the command):\n"
               "  --json      one JSON object on stdout; errors as {\"error\":{\"code\",\"message\"}}\n"
               "  --quiet     no progress bar, no bundler output\n"
               "  --help      this text; 'hotpatch <command> --help' for a command's options\n"
               "  --version   print the version\n"
               "\nenvironment (flags override the environment, which overrides the config file):\n"
               "  HOTPATCH_ENDPOINT, HOTPATCH_TOKEN            publisher mode\n"
               "  HOTPATCH_STORAGE, HOTPATCH_MANIFEST_KEY      serverless mode\n"
               "  HOTPATCH_S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  S3 / R2\n"
               "  HOTPATCH_SIGNING_KEY                         release secret key file\n"
               "  HOTPATCH_TRUSTED_KEYS                        manifest public keys for reading\n"
               "  XDG_CONFIG_HOME                              config dir (default ~/.config): hotpatch/config\n"
               "\nexit codes:\n"
               "  0 ok   1 failure   2 usage or missing setting   3 auth/permission refused\n"
               "  4 conflict or duplicate version   5 verification failed\n"
               "  6 network or storage unavailable   7 not found\n");
}

static char cfg_dir_buf[PATH_MAX], cfg_path_buf[PATH_MAX + 16];

static int load_config(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    static struct cli_config cfg;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc;
    cli_cfg = &cfg;
    if (xdg && *xdg)
        snprintf(cfg_dir_buf, sizeof(cfg_dir_buf), "%s/hotpatch", xdg);
    else if (home && *home)
        snprintf(cfg_dir_buf, sizeof(cfg_dir_buf), "%s/.config/hotpatch", home);
    else
        return 0; /* no config file at all: flags and environment only */
    snprintf(cfg_path_buf, sizeof(cfg_path_buf), "%s/config", cfg_dir_buf);
    cli_cfg_dir = cfg_dir_buf;
    cli_cfg_path = cfg_path_buf;
    rc = cli_config_load(cli_cfg_path, &cfg, &eb);
    if (rc)
        return cli_fail(CLI_EXIT_USAGE, "bad config file '%s': %s (fix it or 'hotpatch config unset KEY')",
                        cli_cfg_path, cmn_errmsg(&eb, rc));
    return 0;
}

int main(int argc, char **argv)
{
    int i, ex, nargs = 0;
    char **args;
    const char *cmd = NULL;
    size_t k;

    cli_out.tty = isatty(2);
    cmn_log_set_component("hotpatch");
    cmn_log_set_level(getenv("HOTPATCH_DEBUG") ? CMN_LOG_DEBUG : CMN_LOG_WARN);
    /* Global flags before the command; the rest goes to the command as is. */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            cli_out.json = 1;
        else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
            cli_out.quiet = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "help") == 0) {
            if (i + 1 < argc && strcmp(argv[i], "help") == 0) {
                cmd = argv[i + 1];
                break;
            }
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("hotpatch %s\n", HP_VERSION_STRING);
            return 0;
        } else if (argv[i][0] == '-') {
            return cli_fail(CLI_EXIT_USAGE, "unknown option '%s': see 'hotpatch --help'", argv[i]);
        } else {
            cmd = argv[i];
            break;
        }
    }
    if (!cmd) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (k = 0; k < CMN_ARRAY_SIZE(cmds); k++)
        if (strcmp(cmds[k].name, cmd) == 0)
            break;
    if (k == CMN_ARRAY_SIZE(cmds))
        return cli_fail(CLI_EXIT_USAGE, "unknown command '%s': see 'hotpatch --help'", cmd);
    if (strcmp(argv[i], "help") == 0) {
        /* `hotpatch help release` == `hotpatch release --help` */
        char *h[] = {"--help", NULL};
        if ((ex = load_config()))
            return ex;
        return cmds[k].fn(1, h);
    }
    args = argv + i + 1;
    nargs = argc - i - 1;
    ex = load_config();
    if (ex) {
        /* A broken config must not hide the help that explains how to fix it. */
        int j, help = 0;
        for (j = 0; j < nargs; j++)
            if (strcmp(args[j], "--help") == 0 || strcmp(args[j], "-h") == 0)
                help = 1;
        if (!help)
            return ex;
        cli_out.reported = 0;
        fflush(stdout);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libcurl");
    ex = cmds[k].fn(nargs, args);
    curl_global_cleanup();
    cli_config_release(cli_cfg);
    fflush(stdout);
    return ex;
}
