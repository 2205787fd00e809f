/*
 * util.c - the CLI's shared plumbing: error reporting with exit codes and
 * --json output, option parsing and per-command help, settings resolution
 * (flag > environment > config file), key loading with errors that say what
 * to do, the upload progress bar, and small parsers (percent, duration).
 */
#include "common/compat.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "common/patchset.h"
#include "common/str.h"

struct cli_out cli_out;
struct cli_config *cli_cfg;
const char *cli_cfg_path;
const char *cli_cfg_dir;

/* ---- errors and output ---- */

int cli_exit_from_err(enum cmn_err e)
{
    switch (e) {
    case CMN_OK:
        return CLI_EXIT_OK;
    case CMN_E_DENIED:
        return CLI_EXIT_AUTH;
    case CMN_E_CONFLICT:
    case CMN_E_EXISTS:
        return CLI_EXIT_CONFLICT;
    case CMN_E_SIG:
    case CMN_E_UNKNOWN_KEY:
    case CMN_E_EXPIRED:
    case CMN_E_REPLAY:
    case CMN_E_HASH:
        return CLI_EXIT_VERIFY;
    case CMN_E_NET:
    case CMN_E_HTTP:
        return CLI_EXIT_NET;
    case CMN_E_NOTFOUND:
        return CLI_EXIT_NOTFOUND;
    default:
        return CLI_EXIT_FAIL;
    }
}

const char *cli_exit_name(int code)
{
    switch (code) {
    case CLI_EXIT_OK:
        return "ok";
    case CLI_EXIT_USAGE:
        return "usage";
    case CLI_EXIT_AUTH:
        return "auth";
    case CLI_EXIT_CONFLICT:
        return "conflict";
    case CLI_EXIT_VERIFY:
        return "verification_failed";
    case CLI_EXIT_NET:
        return "unavailable";
    case CLI_EXIT_NOTFOUND:
        return "not_found";
    default:
        return "failed";
    }
}

static void report(int code, const char *msg)
{
    if (cli_out.reported)
        return;
    cli_out.reported = 1;
    if (cli_out.json) {
        json_t *o =
            json_pack("{s:{s:s,s:s,s:i}}", "error", "code", cli_exit_name(code), "message", msg, "exit_code", code);
        cli_print_json(o);
    } else {
        fprintf(stderr, "hotpatch: error: %s\n", msg);
    }
}

int cli_fail(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report(code, msg);
    return code;
}

int cli_fail_rc(enum cmn_err rc, const struct cmn_errbuf *eb, const char *fmt, ...)
{
    char msg[1024];
    size_t n;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    n = strlen(msg);
    snprintf(msg + n, sizeof(msg) - n, ": %s", cmn_errmsg(eb, rc));
    n = strlen(msg);
    if (rc == CMN_E_DENIED && cli_out.s3)
        snprintf(msg + n, sizeof(msg) - n,
                 "; check the S3 credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) "
                 "and the bucket's permissions");
    report(cli_exit_from_err(rc), msg);
    return cli_exit_from_err(rc);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    if (cli_out.json || cli_out.quiet)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    if (cli_out.json)
        return;
    fputs("hotpatch: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_print_json(json_t *obj)
{
    char *s;
    if (!obj) {
        fputs("{\"error\":{\"code\":\"failed\",\"message\":\"out of memory\",\"exit_code\":1}}\n", stdout);
        return;
    }
    s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(obj);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
}

/* ---- progress bar ---- */

void cli_progress_init(struct cli_progress *p, const char *label)
{
    memset(p, 0, sizeof(*p));
    p->label = label;
    p->active = cli_out.tty && !cli_out.json && !cli_out.quiet;
    p->last_pct = -1;
}

static void human(uint64_t n, char *out, size_t cap)
{
    if (n >= (1u << 20))
        snprintf(out, cap, "%.1f MiB", (double)n / (1 << 20));
    else if (n >= 1024)
        snprintf(out, cap, "%.1f KiB", (double)n / 1024);
    else
        snprintf(out, cap, "%llu B", (unsigned long long)n);
}

int cli_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    struct cli_progress *p = ctx;
    char bar[31], a[32], b[32];
    int pct, fill, i;
    if (!p || !p->active || total == 0)
        return 0;
    if (done > total)
        done = total;
    pct = (int)(done * 100 / total);
    if (pct == p->last_pct)
        return 0;
    p->last_pct = pct;
    fill = pct * 30 / 100;
    for (i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[30] = '\0';
    human(done, a, sizeof(a));
    human(total, b, sizeof(b));
    fprintf(stderr, "\r%s [%s] %3d%%  %s / %s ", p->label, bar, pct, a, b);
    fflush(stderr);
    p->drawn = 1;
    return 0;
}

void cli_progress_done(struct cli_progress *p)
{
    if (p->active && p->drawn) {
        fputc('\n', stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}

/* ---- options ---- */

static const struct cli_opt common_opts[] = {
    {"json", NULL, NULL, &cli_out.json, "print one JSON object on stdout (errors too)"},
    {"quiet", NULL, NULL, &cli_out.quiet, "no progress bar, no bundler output"},
    {"help", NULL, NULL, NULL, "show this help"},
    {0},
};

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name, size_t len)
{
    const struct cli_opt *o;
    for (o = opts; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    for (o = common_opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static void help_opts(const struct cli_opt *opts)
{
    const struct cli_opt *o;
    char left[64];
    for (o = opts; o && o->name; o++) {
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        printf("  %-26s %s\n", left, o->help);
    }
}

void cli_print_help(const struct cli_cmd *cmd, const struct cli_opt *opts)
{
    printf("usage: %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->more)
        printf("\n%s", cmd->more);
    printf("\noptions:\n");
    help_opts(opts);
    help_opts(common_opts);
    if (cmd->env) {
        const char *p = cmd->env;
        printf("\nenvironment (flags override the environment, which overrides %s):\n",
               cli_cfg_path ? cli_cfg_path : "the config file");
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            printf("  %.*s\n", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
    printf("\nexit codes: 0 ok, 1 failure, 2 usage or missing setting, 3 auth/permission,\n"
           "            4 conflict/duplicate, 5 verification failed, 6 network/storage unavailable,\n"
           "            7 not found\n");
}

int cli_parse(const struct cli_cmd *cmd, const struct cli_opt *opts, int argc, char **argv, struct cli_args *a)
{
    int i, only_pos = 0;
    memset(a, 0, sizeof(*a));
    for (i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!only_pos && strcmp(s, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)) {
            a->help = 1;
            continue;
        }
        if (!only_pos && s[0] == '-' && s[1] == '-' && s[2]) {
            const char *name = s + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const struct cli_opt *o = find_opt(opts, name, len);
            if (!o)
                return cli_fail(CLI_EXIT_USAGE, "unknown option '--%.*s' for 'hotpatch %s': see 'hotpatch %s --help'",
                                (int)len, name, cmd->name, cmd->name);
            if (o->arg) {
                const char *v;
                if (eq)
                    v = eq + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else
                    return cli_fail(CLI_EXIT_USAGE, "option '--%s' needs a value (%s)", o->name, o->arg);
                if (o->sval)
                    *o->sval = v;
            } else {
                if (eq)
                    return cli_fail(CLI_EXIT_USAGE, "option '--%s' takes no value", o->name);
                if (o->flag)
                    *o->flag = 1;
            }
            continue;
        }
        if (!only_pos && s[0] == '-' && s[1])
            return cli_fail(CLI_EXIT_USAGE, "unknown option '%s' for 'hotpatch %s': see 'hotpatch %s --help'", s,
                            cmd->name, cmd->name);
        if (a->npos >= CLI_MAX_POS)
            return cli_fail(CLI_EXIT_USAGE, "too many arguments for 'hotpatch %s'", cmd->name);
        a->pos[a->npos++] = s;
    }
    if (a->help)
        cli_print_help(cmd, opts);
    return 0;
}

int cli_parse_flags(const struct cli_cmd *cmd, const struct cli_opt *opts, int argc, char **argv, struct cli_args *a)
{
    int ex = cli_parse(cmd, opts, argc, argv, a);
    if (!ex && !a->help && a->npos)
        ex = cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->pos[0]);
    return ex;
}

/* ---- settings ---- */

const char *cli_setting(const char *flag, const char *env, const char *cfgkey)
{
    const char *v;
    if (flag && *flag)
        return flag;
    if (env && (v = getenv(env)) && *v)
        return v;
    if (cfgkey && cli_cfg && (v = cli_config_get(cli_cfg, cfgkey)) && *v)
        return v;
    return NULL;
}

/* Which layer (3 flag, 2 env, 1 config, 0 none) sets a value. */
static int layer(const char *flag, const char *env, const char *cfgkey)
{
    const char *v;
    if (flag && *flag)
        return 3;
    if (env && (v = getenv(env)) && *v)
        return 2;
    if (cfgkey && cli_cfg && (v = cli_config_get(cli_cfg, cfgkey)) && *v)
        return 1;
    return 0;
}

int cli_conn_resolve(struct cli_conn *c)
{
    int le = layer(c->endpoint, "HOTPATCH_ENDPOINT", "endpoint");
    int ls = layer(c->storage, "HOTPATCH_STORAGE", "storage");
    const char *flag_storage = c->storage, *flag_endpoint = c->endpoint;
    c->endpoint = cli_setting(c->endpoint, "HOTPATCH_ENDPOINT", "endpoint");
    c->token = cli_setting(c->token, "HOTPATCH_TOKEN", "token");
    c->storage = cli_setting(c->storage, "HOTPATCH_STORAGE", "storage");
    c->manifest_key = cli_setting(c->manifest_key, "HOTPATCH_MANIFEST_KEY", "manifest_key");
    c->s3_endpoint = cli_setting(c->s3_endpoint, "HOTPATCH_S3_ENDPOINT", "s3_endpoint");
    c->region = cli_setting(c->region, "AWS_REGION", "region");
    if (flag_storage && *flag_storage && flag_endpoint && *flag_endpoint)
        return cli_fail(CLI_EXIT_USAGE, "pass either --endpoint (publisher) or --storage (serverless), not both");
    if (le == 0 && ls == 0)
        return cli_fail(CLI_EXIT_USAGE, "no publisher or storage configured: run 'hotpatch login --endpoint URL', "
                                        "or pass --storage file:///dir|s3://bucket (or set HOTPATCH_STORAGE)");
    if (le == ls)
        return cli_fail(CLI_EXIT_USAGE,
                        "both a publisher endpoint and a storage are set (%s): pass --endpoint or "
                        "--storage to choose",
                        le == 2 ? "environment" : "config");
    c->mode = ls > le ? CLI_MODE_SERVERLESS : CLI_MODE_PUBLISHER;
    if (c->mode == CLI_MODE_PUBLISHER && !c->token)
        return cli_fail(CLI_EXIT_USAGE, "no publisher token: run 'hotpatch login' or set HOTPATCH_TOKEN");
    return 0;
}

int cli_conn_storage(const struct cli_conn *c, struct cmn_storage **out)
{
    struct cmn_storage_opts so;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc;
    memset(&so, 0, sizeof(so));
    so.endpoint = c->s3_endpoint;
    so.region = c->region;
    rc = cmn_storage_open(c->storage, &so, out, &eb);
    if (rc == CMN_E_INVAL || rc == CMN_E_UNSUPPORTED)
        return cli_fail(CLI_EXIT_USAGE, "bad storage URL: %s", cmn_errmsg(&eb, rc));
    if (rc)
        return cli_fail_rc(rc, &eb, "cannot open storage '%s'", c->storage);
    cli_out.s3 = !cmn_storage_is_local(*out);
    return 0;
}

int cli_load_secret(const char *flag, const char *env, const char *cfgkey, const char *deffile, const char *what,
                    const char *hint, struct cmn_key *key)
{
    char defpath[PATH_MAX];
    const char *path = cli_setting(flag, env, cfgkey);
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc;
    if (!path && deffile && cli_cfg_dir) {
        snprintf(defpath, sizeof(defpath), "%s/%s", cli_cfg_dir, deffile);
        if (access(defpath, F_OK) == 0)
            path = defpath;
    }
    if (!path)
        return cli_fail(CLI_EXIT_USAGE, "no %s key: %s", what, hint);
    rc = cmn_key_load_secret(path, key, &eb);
    if (rc == CMN_E_NOTFOUND || (rc == CMN_E_IO && access(path, F_OK) != 0))
        return cli_fail(CLI_EXIT_USAGE, "%s key '%s' does not exist: %s", what, path, hint);
    if (rc == CMN_E_DENIED)
        return cli_fail(CLI_EXIT_AUTH, "%s key '%s' refused: %s", what, path, cmn_errmsg(&eb, rc));
    if (rc)
        return cli_fail_rc(rc, &eb, "cannot load %s key '%s'", what, path);
    if (!key->has_secret)
        return cli_fail(CLI_EXIT_FAIL, "%s key '%s' holds no secret key", what, path);
    return 0;
}

int cli_conn_manifest_key(const struct cli_conn *c, struct cmn_key *key)
{
    return cli_load_secret(c->manifest_key, "HOTPATCH_MANIFEST_KEY", "manifest_key", "manifest.key", "manifest",
                           "run 'hotpatch keygen --manifest' or set HOTPATCH_MANIFEST_KEY", key);
}

int cli_parse_pubkeys(const char *list, struct cmn_key *keys, size_t max, size_t *n)
{
    const char *p = list;
    *n = 0;
    while (p && *p) {
        char one[128];
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        struct cmn_errbuf eb = {{0}};
        while (len && (*p == ' ')) {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len) {
            if (len >= sizeof(one) || *n >= max)
                return cli_fail(CLI_EXIT_USAGE, "bad trusted key list: too many or too long keys");
            memcpy(one, p, len);
            one[len] = '\0';
            if (cmn_key_from_public_b64(one, &keys[*n], &eb))
                return cli_fail(CLI_EXIT_USAGE,
                                "bad trusted key '%s': expected the 44-character base64 public key "
                                "printed by 'hotpatch keygen'",
                                one);
            (*n)++;
        }
        p = comma ? comma + 1 : NULL;
    }
    if (*n == 0)
        return cli_fail(CLI_EXIT_USAGE, "empty trusted key list");
    return 0;
}

/* ---- small helpers ---- */

long cli_percent_to_bp(const char *s)
{
    long whole = 0, frac = 0;
    int nd = 0, nf = 0;
    if (!s || !*s)
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        whole = whole * 10 + (*s - '0');
        if (++nd > 3)
            return -1;
    }
    if (*s == '.') {
        s++;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (nf >= 2) {
                if (*s != '0')
                    return -1; /* finer than a basis point */
                continue;
            }
            frac = frac * 10 + (*s - '0');
            nf++;
        }
        if (nf == 0)
            return -1;
    }
    if (*s == '%')
        s++;
    if (*s || nd == 0)
        return -1;
    if (nf == 1)
        frac *= 10;
    if (whole > 100 || (whole == 100 && frac))
        return -1;
    return whole * 100 + frac;
}

long long cli_parse_uint(const char *s, long long lo, long long hi)
{
    long long v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > hi)
            return -1;
    }
    return v < lo ? -1 : v;
}

long long cli_parse_duration(const char *s)
{
    long long v = 0, mul = 1;
    int nd = 0;
    if (!s)
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (*s - '0');
        if (++nd > 9)
            return -1;
    }
    if (nd == 0)
        return -1;
    switch (*s) {
    case '\0':
        return v;
    case 's':
        mul = 1;
        break;
    case 'm':
        mul = 60;
        break;
    case 'h':
        mul = 3600;
        break;
    case 'd':
        mul = 86400;
        break;
    default:
        return -1;
    }
    if (s[1])
        return -1;
    return v * mul;
}

int cli_parse_ttl(const char *s, long long *ttl)
{
    long long v;
    if (!s)
        return 0;
    v = cli_parse_duration(s);
    if (v < 1 || v > 366LL * 86400)
        return cli_fail(CLI_EXIT_USAGE, "bad --ttl '%s': a duration from 1s to 366d, e.g. 7d, 12h or 90s", s);
    *ttl = v;
    return 0;
}

void cli_iso_time(int64_t t, char *out, size_t cap)
{
    cmn_iso_time(t, out, cap);
}

void cli_release_id(char out[CMN_ID_MAX + 1])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    struct timeval tv;
    unsigned long long ms;
    char t[16], hex[9];
    uint8_t rnd[4];
    int n = 0, i;
    gettimeofday(&tv, NULL);
    ms = (unsigned long long)tv.tv_sec * 1000ULL + (unsigned long long)tv.tv_usec / 1000ULL;
    do {
        t[n++] = digits[ms % 36];
        ms /= 36;
    } while (ms && n < (int)sizeof(t));
    cmn_random(rnd, sizeof(rnd));
    cmn_hex_encode(rnd, sizeof(rnd), hex);
    memcpy(out, "rel_", 4);
    for (i = 0; i < n; i++)
        out[4 + i] = t[n - 1 - i];
    memcpy(out + 4 + n, hex, 8);
    out[4 + n + 8] = '\0';
}

int cli_mkdtemp(char **out)
{
    const char *tmp = getenv("TMPDIR");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/hotpatch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(path))
        return cli_fail(CLI_EXIT_FAIL, "cannot create a temp dir in '%s': %s", tmp && *tmp ? tmp : "/tmp",
                        strerror(errno));
    *out = strdup(path);
    if (!*out)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    return 0;
}

void cli_rmtree(const char *path)
{
    if (path)
        cmn_rmtree(path);
}

json_t *cli_release_json(const struct cmn_release *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "version", json_string(r->version));
    json_object_set_new(o, "state", json_string(cmn_release_state_name(r->state)));
    json_object_set_new(o, "rollout_bp", json_integer(r->rollout_bp));
    json_object_set_new(o, "mandatory", json_boolean(r->mandatory));
    json_object_set_new(o, "target_binary", json_string(r->target_binary));
    json_object_set_new(o, "bundle_url", json_string(r->bundle_url));
    json_object_set_new(o, "sha256", json_string(r->sha256));
    json_object_set_new(o, "size", json_integer((json_int_t)r->size));
    json_object_set_new(o, "bundle_sig", json_string(r->bundle_sig));
    json_object_set_new(o, "bundle_keyid", json_string(r->bundle_keyid));
    json_object_set_new(o, "created_at", json_integer(r->created_at));
    if (r->legacy_signature)
        json_object_set_new(o, "legacy_signature", json_string(r->legacy_signature));
    if (r->codepush_hash[0])
        json_object_set_new(o, "codepush_hash", json_string(r->codepush_hash));
    if (r->notes)
        json_object_set_new(o, "notes", json_string(r->notes));
    if (r->content_sig) { /* SPEC section 14 */
        json_t *pa = json_array();
        json_object_set_new(o, "content_sha256", json_string(r->content_sha256));
        json_object_set_new(o, "content_sig", json_string(r->content_sig));
        for (size_t i = 0; i < r->n_patches; i++)
            json_array_append_new(pa,
                                  json_pack("{s:s,s:s,s:s,s:I}", "base", r->patches[i].base, "url", r->patches[i].url,
                                            "sha256", r->patches[i].sha256, "size", (json_int_t)r->patches[i].size));
        json_object_set_new(o, "patches", pa);
    }
    if (r->device_list || r->n_device_ids) {
        json_t *t = json_object(), *ids = json_array();
        size_t i;
        for (i = 0; i < r->n_device_ids; i++)
            json_array_append_new(ids, json_string(r->device_ids[i]));
        json_object_set_new(t, "device_ids", ids);
        if (r->device_list)
            json_object_set_new(t, "device_list", json_string(r->device_list));
        json_object_set_new(o, "targeting", t);
    }
    return o;
}

void cli_print_release_table(const struct cmn_release *r, size_t n)
{
    size_t i;
    printf("%-28s %-12s %-12s %8s %-9s %-18s %s\n", "ID", "VERSION", "STATE", "ROLLOUT", "MANDATORY", "TARGET",
           "CREATED");
    for (i = n; i-- > 0;) { /* newest first */
        char when[32], pct[16];
        cli_iso_time(r[i].created_at, when, sizeof(when));
        snprintf(pct, sizeof(pct), "%u.%02u%%", r[i].rollout_bp / 100, r[i].rollout_bp % 100);
        printf("%-28s %-12s %-12s %8s %-9s %-18s %s\n", r[i].id, r[i].version, cmn_release_state_name(r[i].state), pct,
               r[i].mandatory ? "yes" : "no", r[i].target_binary, when);
    }
}

int cli_target_resolve(struct cli_target *t)
{
    t->app = cli_setting(t->app, NULL, "app");
    t->platform = cli_setting(t->platform, NULL, "platform");
    t->channel = cli_setting(t->channel, NULL, "channel");
    if (!t->channel)
        t->channel = "production";
    if (!t->app)
        return cli_fail(CLI_EXIT_USAGE, "missing --app NAME (or 'hotpatch config set app NAME')");
    if (!t->platform)
        return cli_fail(CLI_EXIT_USAGE, "missing --platform android|ios (or 'hotpatch config set platform NAME')");
    if (!cmn_id_valid(t->app))
        return cli_fail(CLI_EXIT_USAGE, "bad app name '%s': use 1-64 of A-Z a-z 0-9 . _ -, not starting with '.'",
                        t->app);
    if (!cmn_id_valid(t->platform))
        return cli_fail(CLI_EXIT_USAGE, "bad platform '%s': use 1-64 of A-Z a-z 0-9 . _ -, not starting with '.'",
                        t->platform);
    if (!cmn_id_valid(t->channel))
        return cli_fail(CLI_EXIT_USAGE, "bad channel '%s': use 1-64 of A-Z a-z 0-9 . _ -, not starting with '.'",
                        t->channel);
    return 0;
}
