#include "common/compat.h"

/*
 * agent.c - hotpatch-agent, a command-line device client for Linux/IoT
 * devices and for the tests. It is written against the public SDK header
 * only (hotpatch.h) and links libhotpatch.so, the way curl's tool is written
 * against libcurl: anything it needs, an app embedding the SDK can do too.
 * Its one other dependency is the project's JSON string escape and time format
 * (common/str.c, linked statically), so its output follows the rules every
 * part uses.
 */

#include <signal.h>
#include <unistd.h>

#include "common/str.h"
#include "hotpatch.h"

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_NO_UPDATE = 3,
    EXIT_REFUSED = 4,
    EXIT_NETWORK = 5,
    EXIT_CANCELLED = 6,
};

static const char usage_text[] =
    "usage: hotpatch-agent [options] check|update|boot-begin|boot-ok|status\n"
    "\n"
    "Commands:\n"
    "  check       ask for an update; print what would be installed\n"
    "  update      check + download (resumable) + verify + install; does not boot it\n"
    "  boot-begin  call before running the bundle: counts the launch, rolls back a\n"
    "              release that failed --max-failed launches; prints the bundle path\n"
    "  boot-ok     the app is ready: confirms the installed release\n"
    "  status      installed/previous release, sequence, launch counter, blocklist,\n"
    "              the root of trust's version and expiry (with --root)\n"
    "\n"
    "Options (environment fallback in brackets):\n"
    "  --data-dir D          private data directory (required)\n"
    "  --app A --platform P --channel C   what to update (required)\n"
    "  --binary-version V    native binary version (required)\n"
    "  --device-id ID        stable device id (required)\n"
    "  --trusted-key B64[,B64]  trusted manifest public keys [HOTPATCH_TRUSTED_KEYS]\n"
    "  --release-key B64[,B64]  trusted release (bundle) public keys [HOTPATCH_RELEASE_KEYS]\n"
    "  --root FILE           the app's initial signed root document: trust the manifest keys of the\n"
    "                        newest root walked to from storage (roots/<app>/<N>.json), cached in D\n"
    "  --edge URL            hotpatch-edge base URL (GET /v1/check)\n"
    "  --manifest-base URL   static storage/CDN root (manifests/<app>/<platform>/<channel>.json)\n"
    "  --bundle-base URL     root for relative bundle URLs (default: --manifest-base)\n"
    "  --publisher URL       publisher base URL; queued reports are sent after each command\n"
    "  --embedded PATH       bundle path printed when no release is installed\n"
    "  --embedded-dir DIR    the embedded bundle's files: a patch base when no release is installed\n"
    "  --patches 0|1         use differential patches when offered (default 1)\n"
    "  --max-failed N        failed launches before an automatic rollback (default 3)\n"
    "  --timeout-ms N        HTTP connect/stall timeout (default 30000)\n"
    "  --json                machine-readable output on stdout\n"
    "  --help, --version\n"
    "\n"
    "Exit codes:\n"
    "  0  ok (check: an update is available; update: something was installed)\n"
    "  1  failure (data directory, state, internal)\n"
    "  2  usage or configuration error\n"
    "  3  no update available (check, update)\n"
    "  4  verification refused: bad signature, untrusted key, hash/size mismatch,\n"
    "     expired or replayed manifest, unsafe archive; nothing was installed\n"
    "  5  network error or unexpected HTTP status (a download resumes next time)\n"
    "  6  cancelled (SIGINT/SIGTERM)\n"
    "\n"
    "Test-only: HOTPATCH_AGENT_FAULT=<point> SIGKILLs the process at a named point\n"
    "(see docs/sdk.md).\n";

static hp_client *g_client;
static int g_json;
static int g_tty;

static void on_signal(int sig)
{
    (void)sig;
    hp_cancel(g_client);
}

/* A JSON string on stdout, escaped by the project's one rule (cmn_json_escape_char). */
static void jstr(const char *s)
{
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        char e[CMN_JSON_ESC_MAX];
        size_t k = cmn_json_escape_char((unsigned char)*s, e);
        if (k)
            fwrite(e, 1, k, stdout);
        else
            putchar(*s);
    }
    putchar('"');
}

static int exit_for(hp_status s)
{
    switch (s) {
    case HP_OK:
        return EXIT_OK;
    case HP_E_INVAL:
        return EXIT_USAGE;
    case HP_E_VERIFY:
    case HP_E_EXPIRED:
    case HP_E_REPLAY:
    case HP_E_UNSAFE:
        return EXIT_REFUSED;
    case HP_E_NET:
    case HP_E_HTTP:
        return EXIT_NETWORK;
    case HP_E_CANCELLED:
        return EXIT_CANCELLED;
    default:
        return EXIT_FAIL;
    }
}

static const char *code_name(hp_status s)
{
    switch (s) {
    case HP_OK:
        return "ok";
    case HP_E_NOMEM:
        return "nomem";
    case HP_E_INVAL:
        return "invalid";
    case HP_E_IO:
        return "io";
    case HP_E_NET:
        return "network";
    case HP_E_HTTP:
        return "http";
    case HP_E_VERIFY:
        return "verify";
    case HP_E_EXPIRED:
        return "expired";
    case HP_E_REPLAY:
        return "replay";
    case HP_E_UNSAFE:
        return "unsafe";
    case HP_E_CANCELLED:
        return "cancelled";
    case HP_E_STATE:
        return "state";
    }
    return "unknown";
}

static char g_failmsg[512]; /* the failure's detail, kept across hp_report_flush() */

static void keep_error(hp_status s)
{
    if (s != HP_OK)
        snprintf(g_failmsg, sizeof g_failmsg, "%s", hp_errmsg(g_client));
}

static int fail(const char *cmd, hp_status s)
{
    const char *msg = g_failmsg[0]                         ? g_failmsg
                      : g_client && hp_errmsg(g_client)[0] ? hp_errmsg(g_client)
                                                           : hp_strerror(s);
    fprintf(stderr, "hotpatch-agent: %s: %s\n", cmd, msg);
    if (g_json) {
        printf("{\"ok\":false,\"command\":");
        jstr(cmd);
        printf(",\"error\":{\"code\":\"%s\",\"message\":", code_name(s));
        jstr(msg);
        printf("}}\n");
    }
    return exit_for(s);
}

static int progress(void *ctx, long long done, long long total)
{
    (void)ctx;
    if (g_tty && total > 0)
        fprintf(stderr, "\rdownloading %lld/%lld bytes (%lld%%)", done, total, done * 100 / total);
    return 0;
}

static void print_status(void)
{
    hp_client *c = g_client;
    if (g_json) {
        printf("\"installed\":");
        jstr(hp_installed_release(c));
        printf(",\"installed_version\":");
        jstr(hp_installed_version(c));
        printf(",\"previous\":");
        jstr(hp_previous_release(c));
        printf(",\"bundle_path\":");
        jstr(hp_bundle_path(c));
        printf(",\"sequence\":%llu,\"launches\":%d,\"confirmed\":%s,\"pending\":", hp_manifest_sequence(c),
               hp_launch_count(c), hp_boot_confirmed(c) ? "true" : "false");
        jstr(hp_pending_release(c));
        printf(",\"blocklist\":[");
        for (size_t i = 0; i < hp_blocklist_count(c); i++) {
            if (i)
                putchar(',');
            jstr(hp_blocklist_at(c, i));
        }
        printf("],\"reports_queued\":%zu,\"root\":", hp_reports_queued(c));
        if (hp_root_version(c))
            printf("{\"version\":%llu,\"expires_at\":%lld}", hp_root_version(c), hp_root_expires_at(c));
        else
            fputs("null", stdout);
    } else {
        const char *inst = hp_installed_release(c), *prev = hp_previous_release(c), *bp = hp_bundle_path(c);
        printf("installed: %s%s%s%s\n", inst ? inst : "(embedded)", inst ? " (" : "",
               inst ? hp_installed_version(c) : "", inst ? ")" : "");
        printf("previous: %s\n", prev ? prev : "-");
        printf("bundle path: %s\n", bp ? bp : "(embedded)");
        printf("manifest sequence: %llu\n", hp_manifest_sequence(c));
        printf("launches: %d%s\n", hp_launch_count(c), hp_boot_confirmed(c) ? " (confirmed)" : " (unconfirmed)");
        printf("pending: %s\n", hp_pending_release(c) ? hp_pending_release(c) : "-");
        printf("blocklist:");
        for (size_t i = 0; i < hp_blocklist_count(c); i++)
            printf(" %s", hp_blocklist_at(c, i));
        printf("%s\nreports queued: %zu\n", hp_blocklist_count(c) ? "" : " -", hp_reports_queued(c));
        if (hp_root_version(c)) {
            char when[CMN_ISO_TIME_MAX];
            cmn_iso_time(hp_root_expires_at(c), when, sizeof when);
            printf("root of trust: version %llu, expires %s%s\n", hp_root_version(c), when,
                   (long long)time(NULL) >= hp_root_expires_at(c) ? " (expired)" : "");
        }
    }
}

static void print_offer(const char *cmd, const hp_offer *o, int installed)
{
    if (g_json) {
        printf("{\"ok\":true,\"command\":\"%s\",\"update\":%s", cmd, o ? "true" : "false");
        if (o) {
            printf(",\"kind\":\"%s\",\"release_id\":", hp_offer_kind(o) == HP_OFFER_REVERT ? "revert" : "update");
            jstr(hp_offer_release_id(o));
            printf(",\"version\":");
            jstr(hp_offer_version(o));
            printf(",\"size\":%lld,\"mandatory\":%s,\"sequence\":%llu", hp_offer_size(o),
                   hp_offer_mandatory(o) ? "true" : "false", hp_offer_sequence(o));
        }
        printf(",\"applied\":%s,\"via\":", installed ? "true" : "false");
        jstr(hp_install_note(g_client));
        printf(",");
        print_status();
        printf("}\n");
    } else if (!o) {
        printf("no update\n");
    } else if (hp_offer_kind(o) == HP_OFFER_REVERT) {
        printf("%s: release %s was rolled back; revert to the embedded bundle\n",
               installed ? "reverted" : "revert available", hp_offer_release_id(o));
    } else {
        printf("%s: %s (%s), %lld bytes%s%s%s\n", installed ? "installed" : "update available", hp_offer_release_id(o),
               hp_offer_version(o), hp_offer_size(o), hp_offer_mandatory(o) ? ", mandatory" : "",
               installed ? ", via " : "", installed ? hp_install_note(g_client) : "");
    }
}

static void flush_reports(void)
{
    /* Telemetry never changes the command's outcome; what is not sent stays queued. */
    if (hp_report_flush(g_client) != HP_OK && !g_json)
        fprintf(stderr, "hotpatch-agent: reports not sent: %s\n", hp_errmsg(g_client));
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "hotpatch-agent: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'hotpatch-agent --help'.\n");
    return EXIT_USAGE;
}

struct opt_map {
    const char *flag;
    hp_option opt;
    int is_int;
};

static const struct opt_map opts[] = {
    {"--data-dir", HP_OPT_DATA_DIR, 0},
    {"--app", HP_OPT_APP, 0},
    {"--platform", HP_OPT_PLATFORM, 0},
    {"--channel", HP_OPT_CHANNEL, 0},
    {"--binary-version", HP_OPT_BINARY_VERSION, 0},
    {"--device-id", HP_OPT_DEVICE_ID, 0},
    {"--trusted-key", HP_OPT_MANIFEST_KEY, 0},
    {"--release-key", HP_OPT_RELEASE_KEY, 0},
    {"--edge", HP_OPT_EDGE_URL, 0},
    {"--manifest-base", HP_OPT_MANIFEST_BASE_URL, 0},
    {"--bundle-base", HP_OPT_BUNDLE_BASE_URL, 0},
    {"--publisher", HP_OPT_PUBLISHER_URL, 0},
    {"--embedded", HP_OPT_EMBEDDED_BUNDLE_PATH, 0},
    {"--embedded-dir", HP_OPT_EMBEDDED_BUNDLE_DIR, 0},
    {"--patches", HP_OPT_PATCHES, 1},
    {"--max-failed", HP_OPT_MAX_FAILED_LAUNCHES, 1},
    {"--timeout-ms", HP_OPT_TIMEOUT_MS, 1},
    {"--root", HP_OPT_ROOT, 2}, /* 2: the value names a file whose contents are the option */
};

/* The contents of a small text file (a root document), or NULL with a message printed. */
static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "hotpatch-agent: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1u << 16, n;
    char *b = malloc(cap + 1);
    n = b ? fread(b, 1, cap + 1, f) : 0;
    fclose(f);
    if (!b || n > cap) {
        fprintf(stderr, "hotpatch-agent: '%s' is larger than %zu bytes\n", path, cap);
        free(b);
        return NULL;
    }
    b[n] = '\0';
    return b;
}

int main(int argc, char **argv)
{
    const char *cmd = NULL;
    int rc = EXIT_FAIL, have_mkey = 0, have_rkey = 0;
    hp_status s;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("hotpatch-agent %s (libhotpatch %s)\n", HP_VERSION_STRING, hp_version());
            return EXIT_OK;
        }
    s = hp_client_new(&g_client);
    if (s) {
        fprintf(stderr, "hotpatch-agent: %s\n", hp_strerror(s));
        return EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            g_json = 1;
            continue;
        }
        if (a[0] != '-') {
            if (cmd) {
                rc = usage_error("unexpected argument '%s'", a);
                goto out;
            }
            cmd = a;
            continue;
        }
        /* --flag value or --flag=value */
        const char *eq = strchr(a, '=');
        size_t flen = eq ? (size_t)(eq - a) : strlen(a);
        const struct opt_map *m = NULL;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (strlen(opts[k].flag) == flen && strncmp(opts[k].flag, a, flen) == 0)
                m = &opts[k];
        if (!m) {
            rc = usage_error("unknown option '%s'", a);
            goto out;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) {
            rc = usage_error("option '%s' needs a value", m->flag);
            goto out;
        }
        if (m->is_int == 1) {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(val, &end, 10);
            if (errno || !end || *end || end == val) {
                rc = usage_error("'%s' is not a number", val);
                goto out;
            }
            s = hp_setopt_int(g_client, m->opt, v);
        } else if (m->is_int == 2) {
            char *text = read_small_file(val);
            if (!text) {
                rc = EXIT_USAGE;
                goto out;
            }
            s = hp_setopt_str(g_client, m->opt, text);
            free(text);
        } else {
            s = hp_setopt_str(g_client, m->opt, val);
        }
        if (s) {
            fprintf(stderr, "hotpatch-agent: %s: %s\n", m->flag, hp_errmsg(g_client));
            rc = EXIT_USAGE;
            goto out;
        }
        have_mkey |= m->opt == HP_OPT_MANIFEST_KEY || m->opt == HP_OPT_ROOT;
        have_rkey |= m->opt == HP_OPT_RELEASE_KEY;
    }
    if (!cmd) {
        rc = usage_error("%s", "missing command (check, update, boot-begin, boot-ok, status)");
        goto out;
    }
    if (strcmp(cmd, "check") != 0 && strcmp(cmd, "update") != 0 && strcmp(cmd, "boot-begin") != 0 &&
        strcmp(cmd, "boot-ok") != 0 && strcmp(cmd, "status") != 0) {
        rc = usage_error("unknown command '%s'", cmd);
        goto out;
    }
    const char *env;
    if (!have_mkey && (env = getenv("HOTPATCH_TRUSTED_KEYS")) && *env &&
        hp_setopt_str(g_client, HP_OPT_MANIFEST_KEY, env) != HP_OK) {
        fprintf(stderr, "hotpatch-agent: HOTPATCH_TRUSTED_KEYS: %s\n", hp_errmsg(g_client));
        rc = EXIT_USAGE;
        goto out;
    }
    if (!have_rkey && (env = getenv("HOTPATCH_RELEASE_KEYS")) && *env &&
        hp_setopt_str(g_client, HP_OPT_RELEASE_KEY, env) != HP_OK) {
        fprintf(stderr, "hotpatch-agent: HOTPATCH_RELEASE_KEYS: %s\n", hp_errmsg(g_client));
        rc = EXIT_USAGE;
        goto out;
    }
    g_tty = isatty(2) && !g_json;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    s = hp_open(g_client);
    if (s) {
        rc = fail(cmd, s);
        goto out;
    }
    if (strcmp(cmd, "status") == 0) {
        if (g_json) {
            printf("{\"ok\":true,\"command\":\"status\",");
            print_status();
            printf("}\n");
        } else {
            print_status();
        }
        rc = EXIT_OK;
    } else if (strcmp(cmd, "check") == 0) {
        hp_offer *o = NULL;
        s = hp_check(g_client, &o);
        if (s) {
            rc = fail(cmd, s);
        } else {
            print_offer(cmd, o, 0);
            rc = o ? EXIT_OK : EXIT_NO_UPDATE;
        }
        hp_offer_free(o);
    } else if (strcmp(cmd, "update") == 0) {
        hp_offer *o = NULL;
        s = hp_check(g_client, &o);
        if (!s && o)
            s = hp_download(g_client, o, progress, NULL);
        if (g_tty && o && hp_offer_size(o) > 0)
            fputc('\n', stderr);
        if (!s && o)
            s = hp_install(g_client, o);
        keep_error(s);
        flush_reports(); /* before printing, so the output shows what is still queued */
        if (s) {
            rc = fail(cmd, s);
        } else {
            print_offer(cmd, o, o != NULL);
            rc = o ? EXIT_OK : EXIT_NO_UPDATE;
        }
        hp_offer_free(o);
    } else if (strcmp(cmd, "boot-begin") == 0) {
        int rolled = 0;
        char why[512] = "";
        s = hp_boot_begin(g_client, &rolled);
        keep_error(s);
        if (!s && rolled == HP_BOOT_BINARY_CHANGED)
            snprintf(why, sizeof why, "%s", hp_errmsg(g_client)); /* before flushing reports resets it */
        flush_reports();
        if (s) {
            rc = fail(cmd, s);
        } else {
            const char *bp = hp_bundle_path(g_client);
            if (g_json) {
                printf("{\"ok\":true,\"command\":\"boot-begin\",\"rolled_back\":%s,", rolled ? "true" : "false");
                if (rolled) {
                    printf("\"reason\":\"%s\",\"detail\":",
                           rolled == HP_BOOT_BINARY_CHANGED ? "binary_changed" : "crash_loop");
                    jstr(rolled == HP_BOOT_BINARY_CHANGED ? why : NULL);
                    putchar(',');
                }
                print_status();
                printf("}\n");
            } else {
                if (rolled == HP_BOOT_BINARY_CHANGED)
                    printf("%s\n", why);
                else if (rolled)
                    printf("rolled back to %s\n",
                           hp_installed_release(g_client) ? hp_installed_release(g_client) : "the embedded bundle");
                printf("%s\n", bp ? bp : "(embedded)");
            }
            rc = EXIT_OK;
        }
    } else {
        s = hp_boot_ok(g_client);
        keep_error(s);
        flush_reports();
        if (s) {
            rc = fail(cmd, s);
        } else {
            if (g_json) {
                printf("{\"ok\":true,\"command\":\"boot-ok\",");
                print_status();
                printf("}\n");
            } else {
                printf("confirmed %s\n",
                       hp_installed_release(g_client) ? hp_installed_release(g_client) : "the embedded bundle");
            }
            rc = EXIT_OK;
        }
    }
out:
    hp_client_free(g_client);
    return rc;
}
