#include "common/compat.h"

/*
 * client.c - the public libhotpatch API: configuration, open + crash
 * recovery, check, download, install, the boot protocol and the getters.
 *
 * Crash safety rests on one rule: every multi-step change of the data dir is
 * first recorded in state.json (an "op"), and each step is a rename that can
 * be repeated or recognised as done by looking at which directories exist.
 * hp_open() rolls a recorded op forward, so after a crash at any point the
 * device ends up either on the old release or on the new one, both complete
 * and verified, never in between.
 *
 *   install (op "install", recorded once staging/ is complete and fsynced):
 *     previous/ -> trash/, current/ -> previous/, staging/ -> current/,
 *     then state: installed = new, previous = old; then trash/ is removed.
 *   revert (op "revert", boot rollback or a server-side rollback):
 *     current/ -> trash/, previous/ -> current/ (or nothing: embedded bundle),
 *     then state: installed = previous, blocklist += abandoned; trash/ removed.
 */

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/manifest.h"
#include "common/patch.h"
#include "hp_int.h"

#define DEFAULT_MAX_FAILED 3
#define DEFAULT_TIMEOUT_MS 30000L

const char *hp_strerror(hp_status s)
{
    switch (s) {
    case HP_OK:
        return "success";
    case HP_E_NOMEM:
        return "out of memory";
    case HP_E_INVAL:
        return "invalid argument or configuration";
    case HP_E_IO:
        return "data directory error";
    case HP_E_NET:
        return "network error";
    case HP_E_HTTP:
        return "unexpected HTTP status";
    case HP_E_VERIFY:
        return "verification failed";
    case HP_E_EXPIRED:
        return "manifest expired";
    case HP_E_REPLAY:
        return "manifest older than one already accepted";
    case HP_E_UNSAFE:
        return "unsafe archive refused";
    case HP_E_CANCELLED:
        return "cancelled";
    case HP_E_STATE:
        return "operation not valid in the current state";
    }
    return "unknown error";
}

const char *hp_status_name(hp_status s)
{
    static const char *const names[] = {"HP_OK",       "HP_E_NOMEM",  "HP_E_INVAL",     "HP_E_IO",
                                        "HP_E_NET",    "HP_E_HTTP",   "HP_E_VERIFY",    "HP_E_EXPIRED",
                                        "HP_E_REPLAY", "HP_E_UNSAFE", "HP_E_CANCELLED", "HP_E_STATE"};
    return (unsigned)s < CMN_ARRAY_SIZE(names) ? names[s] : "HP_E_UNKNOWN";
}

const char *hp_version(void)
{
    return HP_VERSION_STRING;
}

const char *hp_errmsg(const hp_client *c)
{
    return c ? c->err : "no handle";
}

hp_status hp_client_new(hp_client **out)
{
    if (!out)
        return HP_E_INVAL;
    if (hp__http_global_init() != CMN_OK)
        return HP_E_NET;
    if (cmn_crypto_init() != CMN_OK)
        return HP_E_NOMEM;
    struct hp_client *c = calloc(1, sizeof *c);
    if (!c)
        return HP_E_NOMEM;
    c->max_failed = DEFAULT_MAX_FAILED;
    c->timeout_ms = DEFAULT_TIMEOUT_MS;
    c->max_extract = UINT64_C(512) << 20;
    c->fault = getenv("HOTPATCH_AGENT_FAULT");
    hp__transport_default(c, &c->tr);
    hp__state_init(&c->st);
    *out = c;
    return HP_OK;
}

void hp_client_free(hp_client *c)
{
    if (!c)
        return;
    free(c->data_dir);
    free(c->app);
    free(c->platform);
    free(c->channel);
    free(c->binary_version);
    free(c->device_id);
    free(c->edge_url);
    free(c->manifest_base);
    free(c->bundle_base);
    free(c->publisher_url);
    free(c->embedded_path);
    free(c->embedded_dir);
    free(c->current_path);
    for (size_t i = 0; i < c->n_mkeys; i++)
        cmn_key_clear(&c->mkeys[i]);
    for (size_t i = 0; i < c->n_rkeys; i++)
        cmn_key_clear(&c->rkeys[i]);
    hp__root_release(c);
    hp__state_release(&c->st);
    json_decref(c->reports);
    json_decref(c->tickets);
    free(c);
}

static hp_status set_str(hp_client *c, char **slot, const char *v, int url)
{
    if (v && url && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0 && strncmp(v, "file://", 7) != 0)
        return hp__failf(c, HP_E_INVAL, "'%s' is not an http(s) URL", v);
    char *dup = NULL;
    if (v) {
        size_t n = strlen(v);
        if (url)
            while (n > 0 && v[n - 1] == '/')
                n--; /* "http://x/" and "http://x" name the same base */
        dup = strndup(v, n);
        if (!dup)
            return hp__failf(c, HP_E_NOMEM, "out of memory");
    }
    free(*slot);
    *slot = dup;
    return HP_OK;
}

static hp_status add_keys(hp_client *c, struct cmn_key *keys, size_t *n, const char *list, const char *what)
{
    if (!list) {
        for (size_t i = 0; i < *n; i++)
            cmn_key_clear(&keys[i]);
        *n = 0;
        return HP_OK;
    }
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char b64[128];
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0) {
            struct cmn_errbuf eb = {{0}};
            if (len >= sizeof b64)
                return hp__failf(c, HP_E_INVAL, "%s key is too long", what);
            memcpy(b64, p, len);
            b64[len] = '\0';
            if (*n == HP_MAX_KEYS)
                return hp__failf(c, HP_E_INVAL, "too many %s keys (max %d)", what, HP_MAX_KEYS);
            if (cmn_key_from_public_b64(b64, &keys[*n], &eb) != CMN_OK)
                return hp__failf(c, HP_E_INVAL, "bad %s key '%s': %s", what, b64, cmn_errmsg(&eb, CMN_E_INVAL));
            (*n)++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return HP_OK;
}

/* The entry of an hp_setopt_*: HP_E_INVAL without a handle or once it is open; clears the last message. */
static hp_status enter_setopt(hp_client *c)
{
    if (!c)
        return HP_E_INVAL;
    c->err[0] = '\0';
    return c->opened ? hp__failf(c, HP_E_INVAL, "options cannot change after hp_open") : HP_OK;
}

hp_status hp_setopt_str(hp_client *c, hp_option opt, const char *v)
{
    hp_status s = enter_setopt(c);
    if (s)
        return s;
    switch (opt) {
    case HP_OPT_DATA_DIR:
        return set_str(c, &c->data_dir, v, 0);
    case HP_OPT_APP:
        return set_str(c, &c->app, v, 0);
    case HP_OPT_PLATFORM:
        return set_str(c, &c->platform, v, 0);
    case HP_OPT_CHANNEL:
        return set_str(c, &c->channel, v, 0);
    case HP_OPT_BINARY_VERSION:
        return set_str(c, &c->binary_version, v, 0);
    case HP_OPT_DEVICE_ID:
        return set_str(c, &c->device_id, v, 0);
    case HP_OPT_EDGE_URL:
        return set_str(c, &c->edge_url, v, 1);
    case HP_OPT_MANIFEST_BASE_URL:
        return set_str(c, &c->manifest_base, v, 1);
    case HP_OPT_BUNDLE_BASE_URL:
        return set_str(c, &c->bundle_base, v, 1);
    case HP_OPT_PUBLISHER_URL:
        return set_str(c, &c->publisher_url, v, 1);
    case HP_OPT_EMBEDDED_BUNDLE_PATH:
        return set_str(c, &c->embedded_path, v, 0);
    case HP_OPT_EMBEDDED_BUNDLE_DIR:
        return set_str(c, &c->embedded_dir, v, 0);
    case HP_OPT_MANIFEST_KEY:
        return add_keys(c, c->mkeys, &c->n_mkeys, v, "manifest");
    case HP_OPT_RELEASE_KEY:
        return add_keys(c, c->rkeys, &c->n_rkeys, v, "release");
    case HP_OPT_ROOT:
        return hp__root_set(c, v);
    default:
        return hp__failf(c, HP_E_INVAL, "option %d is not a string option", (int)opt);
    }
}

hp_status hp_setopt_int(hp_client *c, hp_option opt, long long v)
{
    hp_status s = enter_setopt(c);
    if (s)
        return s;
    switch (opt) {
    case HP_OPT_MAX_FAILED_LAUNCHES:
        if (v < 1 || v > 100)
            return hp__failf(c, HP_E_INVAL, "max failed launches must be 1..100");
        c->max_failed = (int)v;
        return HP_OK;
    case HP_OPT_TIMEOUT_MS:
        if (v < 100 || v > 3600000)
            return hp__failf(c, HP_E_INVAL, "timeout must be 100..3600000 ms");
        c->timeout_ms = (long)v;
        return HP_OK;
    case HP_OPT_MAX_EXTRACT_BYTES:
        if (v < 1)
            return hp__failf(c, HP_E_INVAL, "max extract bytes must be positive");
        c->max_extract = (uint64_t)v;
        return HP_OK;
    case HP_OPT_NOW:
        if (v < 0)
            return hp__failf(c, HP_E_INVAL, "time must not be negative");
        c->now = (int64_t)v;
        return HP_OK;
    case HP_OPT_PATCHES:
        if (v != 0 && v != 1)
            return hp__failf(c, HP_E_INVAL, "patches must be 0 or 1");
        c->no_patch = v == 0;
        return HP_OK;
    default:
        return hp__failf(c, HP_E_INVAL, "option %d is not an integer option", (int)opt);
    }
}

/* ---- paths ---- */

static char *dpath(hp_client *c, const char *name)
{
    return hp__path(c->data_dir, name);
}

static hp_status save(hp_client *c)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = hp__state_save(c->data_dir, &c->st, &eb);
    return rc ? hp__fail(c, rc, &eb) : HP_OK;
}

/* pending/<sha256><suffix> */
static char *pending_file(hp_client *c, const char *sha, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "pending/%s%s", sha, suffix);
    return dpath(c, name);
}

/* Remove everything in pending/ except the download of `keep_sha` (NULL: remove all). */
static void pending_drop_files(hp_client *c, const char *keep_sha)
{
    char keep_zip[CMN_SHA256_HEX + 8] = "", keep_part[CMN_SHA256_HEX + 8] = "", keep_patch[CMN_SHA256_HEX + 8] = "";
    char *dir = dpath(c, "pending");
    if (!dir)
        return;
    if (keep_sha) {
        snprintf(keep_zip, sizeof keep_zip, "%s.zip", keep_sha);
        snprintf(keep_part, sizeof keep_part, "%s.part", keep_sha);
        snprintf(keep_patch, sizeof keep_patch, "%s.patch", keep_sha);
    }
    DIR *d = opendir(dir);
    int removed = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, keep_zip) ||
            !strcmp(e->d_name, keep_part) || !strcmp(e->d_name, keep_patch))
            continue;
        char *p = hp__path(dir, e->d_name);
        if (p && hp__rm_rf(p, NULL) == CMN_OK)
            removed = 1;
        free(p);
    }
    if (d)
        closedir(d);
    else
        (void)mkdir(dir, 0700);
    if (removed)
        hp__fsync_dir(dir, NULL);
    free(dir);
}

/* ---- ops: roll forward ---- */

/*
 * The data dir's fixed subdirectories, built in a caller's stack buffer: the
 * steps below must not depend on an allocation succeeding (an out-of-memory
 * "does not exist" would make an install skip a rename). hp_open() checks that
 * the data dir path leaves room.
 */
static const char *sub(const hp_client *c, const char *name, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s", c->data_dir, name);
    return out;
}

static hp_status dir_step(hp_client *c, const char *from, const char *to, const char *fault)
{
    struct cmn_errbuf eb = {{0}};
    char f[PATH_MAX], t[PATH_MAX];
    enum cmn_err rc = CMN_OK;
    sub(c, from, f);
    sub(c, to, t);
    if (strcmp(to, "trash") == 0)
        rc = hp__rm_rf(t, &eb);
    if (!rc)
        rc = hp__rename(f, t, &eb);
    if (!rc)
        rc = hp__fsync_dir(c->data_dir, &eb);
    if (rc)
        return hp__fail(c, rc, &eb);
    hp__fault(c, fault);
    return HP_OK;
}

/* 1: `name` is a directory, 0: absent, -1: cannot tell (stat error, or not a directory). */
static int dstate(hp_client *c, const char *name)
{
    char p[PATH_MAX];
    struct stat sb;
    if (lstat(sub(c, name, p), &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 1;
        hp__failf(c, HP_E_IO, "'%s' is not a directory", p);
        return -1;
    }
    if (errno == ENOENT)
        return 0;
    hp__failf(c, HP_E_IO, "cannot stat '%s': %s", p, strerror(errno));
    return -1;
}

static void rm_data(hp_client *c, const char *name)
{
    char p[PATH_MAX];
    hp__rm_rf(sub(c, name, p), NULL);
}

/* Carry out (or finish) the op recorded in c->st. Each step checks whether it already happened. */
static hp_status apply_op(hp_client *c)
{
    hp_status s = HP_OK;
    struct hp_state *st = &c->st;
    if (st->op == HP_OP_INSTALL) {
        int stg = dstate(c, "staging"), cur = dstate(c, "current"), prev = dstate(c, "previous");
        if (stg < 0 || cur < 0 || prev < 0)
            return HP_E_IO;
        if (stg) {
            if (cur) {
                if (prev && (s = dir_step(c, "previous", "trash", "swap-a")))
                    return s;
                if ((s = dir_step(c, "current", "previous", "swap-b")))
                    return s;
            }
            if ((s = dir_step(c, "staging", "current", "swap-c")))
                return s;
        }
        if (st->has_installed) {
            st->previous = st->installed;
            st->has_previous = 1;
        }
        st->installed = st->op_rel;
        st->has_installed = 1;
        st->launches = 0;
        st->confirmed = 0;
        int drop_pending = st->has_pending && strcmp(st->pending.rel.sha256, st->installed.sha256) == 0;
        if (drop_pending) {
            hp__pending_clear(&st->pending);
            st->has_pending = 0;
        }
        st->op = HP_OP_NONE;
        memset(&st->op_rel, 0, sizeof st->op_rel);
        if ((s = save(c)))
            return s;
        hp__fault(c, "installed");
        rm_data(c, "trash");
        if (!st->has_previous)
            rm_data(c, "previous");
        if (drop_pending)
            pending_drop_files(c, NULL);
    } else if (st->op == HP_OP_REVERT) {
        int cur = dstate(c, "current"), prev = dstate(c, "previous");
        if (cur < 0 || prev < 0)
            return HP_E_IO;
        if (st->op_to_previous) {
            if (prev) {
                if (cur && (s = dir_step(c, "current", "trash", "revert-a")))
                    return s;
                if ((s = dir_step(c, "previous", "current", "revert-b")))
                    return s;
            }
            st->installed = st->previous;
            st->has_installed = 1;
            st->has_previous = 0;
        } else {
            if (cur && (s = dir_step(c, "current", "trash", "revert-a")))
                return s;
            st->has_installed = 0;
        }
        if (st->op_blocklist && hp__state_block(st, st->op_rel.id) != CMN_OK)
            return hp__failf(c, HP_E_NOMEM, "out of memory");
        st->launches = 0;
        st->confirmed = 1;
        st->op = HP_OP_NONE;
        st->op_to_previous = st->op_blocklist = 0;
        memset(&st->op_rel, 0, sizeof st->op_rel);
        if ((s = save(c)))
            return s;
        rm_data(c, "trash");
    }
    return HP_OK;
}

/* Bring the data dir in line with the state after a crash or a corrupt state file. */
static hp_status recover(hp_client *c)
{
    hp_status s = apply_op(c);
    if (s)
        return s;
    struct hp_state *st = &c->st;
    int dirty = 0;
    rm_data(c, "staging"); /* an extraction that never got recorded */
    rm_data(c, "trash");
    int cur = dstate(c, "current"), prev = dstate(c, "previous");
    if (cur < 0 || prev < 0)
        return HP_E_IO;
    if (!st->has_installed && cur)
        rm_data(c, "current");
    if (st->has_installed && !cur) {
        /* Should not happen; boot the embedded bundle rather than a missing one. */
        st->has_installed = 0;
        st->launches = 0;
        st->confirmed = 1;
        dirty = 1;
    }
    if (!st->has_previous && prev)
        rm_data(c, "previous");
    if (st->has_previous && !prev) {
        st->has_previous = 0;
        dirty = 1;
    }
    if (!st->has_installed && !st->confirmed) {
        st->confirmed = 1;
        dirty = 1;
    }
    pending_drop_files(c, st->has_pending ? st->pending.rel.sha256 : NULL);
    return dirty ? save(c) : HP_OK;
}

static hp_status start_revert(hp_client *c, int to_previous, int block);

/*
 * The native binary changed under the installed releases (an app-store
 * update): a release whose signed target range does not admit the new binary
 * may call native code that is gone, so it never boots again. The installed
 * one is reverted to the embedded bundle (its files leave the disk; it is not
 * blocklisted: on a binary it targets it may be offered again), the previous
 * one is kept only if it still applies, and the reason is kept in the state
 * until hp_boot_begin() has told the app. A release that still applies is
 * re-bound to the new binary. State from before the binding recorded nothing:
 * then the range is unknown, which does not admit anything.
 */
static hp_status rebind_binary(hp_client *c)
{
    struct hp_state *st = &c->st;
    const char *bin = c->binary_version;
    int dirty = 0, drop_prev = 0;
    hp_status s;
    if (st->op != HP_OP_NONE)
        return HP_OK; /* recover() finished it; a failed recovery never gets here */
    if (st->has_previous && strcmp(st->previous.binary, bin) != 0) {
        if (hp__rel_admits(&st->previous, bin)) {
            (void)hp__rel_bind(&st->previous, NULL, bin);
        } else {
            st->has_previous = 0;
            drop_prev = 1;
        }
        dirty = 1;
    }
    if (st->has_installed && strcmp(st->installed.binary, bin) != 0) {
        if (hp__rel_admits(&st->installed, bin)) {
            (void)hp__rel_bind(&st->installed, NULL, bin);
            dirty = 1;
        } else {
            if (st->installed.target_binary[0])
                snprintf(st->boot_note, sizeof st->boot_note,
                         "release %s (%s) targets binary '%s', not %s (was %s): booting the embedded bundle",
                         st->installed.id, st->installed.version, st->installed.target_binary, bin,
                         st->installed.binary[0] ? st->installed.binary : "unknown");
            else
                snprintf(st->boot_note, sizeof st->boot_note,
                         "release %s (%s) was installed under an unrecorded binary, not %s: booting the embedded "
                         "bundle",
                         st->installed.id, st->installed.version, bin);
            if ((s = start_revert(c, 0, 0))) /* saves the state, then current/ -> trash */
                return s;
            dirty = 0;
        }
    }
    if (dirty && (s = save(c)))
        return s;
    if (drop_prev)
        rm_data(c, "previous");
    return HP_OK;
}

hp_status hp_open(hp_client *c)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc;
    int source = 0;
    if (!c)
        return HP_E_INVAL;
    c->err[0] = '\0';
    if (c->opened)
        return hp__failf(c, HP_E_STATE, "handle is already open");
    const struct {
        const char *v, *name;
    } req[] = {{c->data_dir, "data dir"},
               {c->app, "app"},
               {c->platform, "platform"},
               {c->channel, "channel"},
               {c->binary_version, "binary version"},
               {c->device_id, "device id"}};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(req); i++)
        if (!req[i].v || !req[i].v[0])
            return hp__failf(c, HP_E_INVAL, "missing %s", req[i].name);
    if (strlen(c->data_dir) > PATH_MAX - 128)
        return hp__failf(c, HP_E_INVAL, "data dir path is too long");
    if (strlen(c->device_id) > 128)
        return hp__failf(c, HP_E_INVAL, "device id is longer than 128 bytes");
    if (!c->edge_url && !c->manifest_base)
        return hp__failf(c, HP_E_INVAL, "missing edge URL or manifest base URL");
    if (c->edge_url && !c->bundle_base && !c->manifest_base)
        return hp__failf(c, HP_E_INVAL, "edge mode needs a bundle base URL");
    hp_status rs = hp__root_open(c); /* a root of trust supplies the keys */
    if (rs)
        return rs;
    if (c->n_mkeys == 0)
        return hp__failf(c, HP_E_INVAL, "no trusted manifest key configured");
    if (c->n_rkeys == 0)
        return hp__failf(c, HP_E_INVAL, "no trusted release key configured");
    struct cmn_semver sv;
    if (cmn_semver_parse(c->binary_version, &sv) != CMN_OK)
        return hp__failf(c, HP_E_INVAL, "binary version '%s' is not a version", c->binary_version);

    if (mkdir(c->data_dir, 0700) != 0 && errno != EEXIST)
        return hp__failf(c, HP_E_IO, "cannot create '%s': %s", c->data_dir, strerror(errno));
    if (!hp__is_dir(c->data_dir))
        return hp__failf(c, HP_E_IO, "'%s' is not a directory", c->data_dir);
    char *pd = dpath(c, "pending");
    c->current_path = dpath(c, "current");
    if (!pd || !c->current_path) {
        free(pd);
        return hp__failf(c, HP_E_NOMEM, "out of memory");
    }
    int mk = mkdir(pd, 0700);
    int e = errno;
    free(pd);
    if (mk != 0 && e != EEXIST)
        return hp__failf(c, HP_E_IO, "cannot create pending dir: %s", strerror(e));

    hp__state_release(&c->st);
    rc = hp__state_load(c->data_dir, &c->st, &source, &eb);
    if (rc)
        return hp__fail(c, rc, &eb);
    rc = hp__reports_load(c, &eb);
    if (rc)
        return hp__fail(c, rc, &eb);
    hp_status s = recover(c);
    if (s)
        return s;
    if ((s = rebind_binary(c)))
        return s;
    if (source != 0) {
        /* Rewrite a good main file from the backup / the default. */
        if ((s = save(c)))
            return s;
    }
    c->opened = 1;
    if (source == 2)
        snprintf(c->err, sizeof c->err, "%s", eb.msg); /* informational: success with a note */
    return HP_OK;
}

/* ---- check ---- */

static char *join_url(const char *base, const char *rel)
{
    while (*rel == '/')
        rel++;
    size_t a = strlen(base), b = strlen(rel);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, base, a);
    p[a] = '/';
    memcpy(p + a + 1, rel, b + 1);
    return p;
}

static enum cmn_err check_url(hp_client *c, struct cmn_buf *u)
{
    enum cmn_err rc;
    char *app = hp__url_escape(c->app), *plat = hp__url_escape(c->platform), *chan = hp__url_escape(c->channel);
    char *bv = hp__url_escape(c->binary_version), *dev = hp__url_escape(c->device_id);
    if (!app || !plat || !chan || !bv || !dev) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    if (c->edge_url) {
        rc = cmn_buf_addf(u, "%s/v1/check?app=%s&platform=%s&channel=%s&binary_version=%s&device=%s", c->edge_url, app,
                          plat, chan, bv, dev);
        if (!rc && c->st.has_installed)
            rc = cmn_buf_addf(u, "&release=%s", c->st.installed.id); /* ids are URL-safe */
        for (size_t i = 0; !rc && i < c->st.n_blocklist; i++)
            rc = cmn_buf_addf(u, "%s%s", i ? "," : "&skip=", c->st.blocklist[i]);
    } else {
        rc = cmn_buf_addf(u, "%s/manifests/%s/%s/%s.json", c->manifest_base, app, plat, chan);
    }
out:
    free(app);
    free(plat);
    free(chan);
    free(bv);
    free(dev);
    return rc;
}

/* An object URL from the manifest: absolute as is, else joined to the bundle base. NULL on ENOMEM. */
static char *object_url(hp_client *c, const char *u)
{
    if (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0)
        return strdup(u);
    return join_url(c->bundle_base ? c->bundle_base : c->manifest_base, u);
}

static int64_t now_s(const hp_client *c)
{
    return c->now ? c->now : (int64_t)time(NULL);
}

/*
 * Edge-held targeting lists (manifests/SPEC.md section 13): the device cannot
 * see the list, so it accepts the edge's word for membership, but only for
 * the list of the release the edge named. Whatever this admits is still a
 * release of the verified manifest that passes every other rule.
 */
struct named_lists {
    const struct cmn_manifest *m;
    const char *named;
};

static int edge_named_member(void *ctx, const char *list_name, const char *device_id)
{
    const struct named_lists *nl = ctx;
    (void)device_id;
    long i = nl->named[0] ? cmn_manifest_find(nl->m, nl->named) : -1;
    if (i < 0)
        return 0;
    const char *l = nl->m->releases[i].device_list;
    return l && strcmp(l, list_name) == 0;
}

hp_status hp_check(hp_client *c, hp_offer **out)
{
    char named[HP__NAMED_MAX] = "";
    struct cmn_errbuf eb = {{0}};
    struct cmn_buf url, body;
    struct cmn_manifest *m = NULL;
    struct hp_offer *o = NULL;
    enum cmn_err rc;
    hp_status s = HP_OK;
    long status = 0;

    if ((s = hp__enter_open(c, out != NULL)))
        return s;
    cmn_buf_init(&url, 16384);
    cmn_buf_init(&body, CMN_MANIFEST_MAX_BYTES);
    rc = check_url(c, &url);
    if (rc) {
        s = hp__fail(c, rc, &eb);
        goto out;
    }
    rc = hp__http_get(c, url.ptr, &body, c->edge_url ? named : NULL, &status, &eb);
    if (rc) {
        s = hp__fail(c, rc, &eb); /* an oversized answer (CMN_E_TOOBIG) is refused as HP_E_VERIFY */
        goto out;
    }
    if (c->edge_url && status == 204) {
        *out = NULL;
        goto out;
    }
    if (status != 200) {
        s = hp__failf(c, HP_E_HTTP, "check at '%s' answered HTTP %ld", url.ptr, status);
        goto out;
    }
    if ((s = hp__root_refresh(c)))
        goto out;
    struct cmn_manifest_expect ex = {c->app, c->platform, c->channel, c->st.sequence};
    rc = hp__open_manifest(c, body.ptr ? body.ptr : "", body.len, &ex, now_s(c), &m, &eb);
    if (rc) {
        s = hp__fail(c, rc, &eb);
        if (s == HP_E_INVAL || s == HP_E_IO)
            s = HP_E_VERIFY; /* wrong app/channel or malformed: refused like any bad manifest */
        goto out;
    }
    if (m->sequence > c->st.sequence) {
        c->st.sequence = m->sequence;
        if ((s = save(c)))
            goto out;
    }
    struct cmn_device dev = {c->device_id, c->binary_version, c->st.has_installed ? c->st.installed.id : NULL,
                             (const char *const *)c->st.blocklist, c->st.n_blocklist};
    struct cmn_decision d;
    struct named_lists nl = {m, named};
    rc = cmn_decide(m, &dev, c->edge_url && named[0] ? edge_named_member : NULL, &nl, &d);
    if (rc) {
        s = hp__fail(c, rc, &eb);
        goto out;
    }
    if (d.kind == CMN_DECIDE_NONE || (d.kind == CMN_DECIDE_ROLLBACK && !c->st.has_installed)) {
        *out = NULL;
        goto out;
    }
    o = calloc(1, sizeof *o);
    if (!o) {
        s = hp__failf(c, HP_E_NOMEM, "out of memory");
        goto out;
    }
    o->sequence = m->sequence;
    if (d.kind == CMN_DECIDE_ROLLBACK) {
        o->kind = HP_OFFER_REVERT;
        o->p.rel = c->st.installed;
        o->p.rel.version[0] = '\0';
        *out = o;
        o = NULL;
        goto out;
    }
    const struct cmn_release *r = &m->releases[d.index];
    if (c->st.has_installed && strcmp(r->id, c->st.installed.id) == 0) {
        *out = NULL;
        goto out;
    }
    o->kind = HP_OFFER_UPDATE;
    o->mandatory = d.mandatory;
    /* the edge's ticket for this offer goes with every report about the release (publisher auto-halt) */
    if (c->edge_url && c->check_ticket[0] && named[0] && strcmp(named, r->id) == 0)
        (void)hp__ticket_keep(c, r->id, c->check_ticket);
    if (hp__rel_set(&o->p.rel, r->id, r->version, r->sha256) != 0 ||
        hp__rel_bind(&o->p.rel, r->target_binary, NULL) != 0 || strlen(r->bundle_sig) + 1 > CMN_SIG_B64) {
        s = hp__failf(c, HP_E_VERIFY, "release '%s' has fields this device cannot store", r->id);
        goto out;
    }
    o->p.size = r->size;
    memcpy(o->p.bundle_sig, r->bundle_sig, strlen(r->bundle_sig) + 1);
    memcpy(o->p.bundle_keyid, r->bundle_keyid, CMN_KEYID_HEX);
    if (!(c->bundle_base || c->manifest_base) && strncmp(r->bundle_url, "https://", 8) != 0 &&
        strncmp(r->bundle_url, "http://", 7) != 0) {
        s = hp__failf(c, HP_E_INVAL, "relative bundle URL and no bundle base URL configured");
        goto out;
    }
    o->p.url = object_url(c, r->bundle_url);
    if (!o->p.url) {
        s = hp__failf(c, HP_E_NOMEM, "out of memory");
        goto out;
    }
    if (r->content_sig && strlen(r->content_sig) < CMN_SIG_B64) {
        o->has_content = 1;
        memcpy(o->content_sha256, r->content_sha256, CMN_SHA256_HEX);
        memcpy(o->content_sig, r->content_sig, strlen(r->content_sig) + 1);
        for (size_t i = 0; i < r->n_patches && i < CMN_MANIFEST_MAX_PATCHES; i++) {
            struct hp_patch_offer *po = &o->patches[o->n_patches];
            po->url = object_url(c, r->patches[i].url);
            if (!po->url) {
                s = hp__failf(c, HP_E_NOMEM, "out of memory");
                goto out;
            }
            memcpy(po->base, r->patches[i].base, CMN_SHA256_HEX);
            memcpy(po->sha256, r->patches[i].sha256, CMN_SHA256_HEX);
            po->size = r->patches[i].size;
            o->n_patches++;
        }
    }
    *out = o;
    o = NULL;
out:
    hp_offer_free(o);
    cmn_manifest_free(m);
    cmn_buf_release(&url);
    cmn_buf_release(&body);
    return s;
}

hp_offer_type hp_offer_kind(const hp_offer *o)
{
    return o ? o->kind : HP_OFFER_NONE;
}

const char *hp_offer_release_id(const hp_offer *o)
{
    return o ? o->p.rel.id : NULL;
}

const char *hp_offer_version(const hp_offer *o)
{
    return o ? o->p.rel.version : NULL;
}

long long hp_offer_size(const hp_offer *o)
{
    return o ? (long long)o->p.size : 0;
}

int hp_offer_mandatory(const hp_offer *o)
{
    return o ? o->mandatory : 0;
}

unsigned long long hp_offer_sequence(const hp_offer *o)
{
    return o ? (unsigned long long)o->sequence : 0;
}

void hp_offer_free(hp_offer *o)
{
    if (!o)
        return;
    hp__pending_clear(&o->p);
    for (size_t i = 0; i < o->n_patches; i++)
        free(o->patches[i].url);
    free(o);
}

/* ---- verify ---- */

/* The release signature over the signed digest, by a trusted release key with the manifest's key id. */
static hp_status verify_sig(hp_client *c, const struct hp_pending *p)
{
    uint8_t digest[CMN_SHA256_BYTES];
    const struct cmn_key *key = NULL;
    for (size_t i = 0; i < c->n_rkeys; i++)
        if (strcmp(c->rkeys[i].keyid, p->bundle_keyid) == 0)
            key = &c->rkeys[i];
    if (!key)
        return hp__failf(c, HP_E_VERIFY, "bundle of '%s' is signed by an untrusted release key '%s'", p->rel.id,
                         p->bundle_keyid);
    if (cmn_hex_decode(p->rel.sha256, digest, sizeof digest) != CMN_OK)
        return hp__failf(c, HP_E_VERIFY, "bad digest for '%s'", p->rel.id);
    if (cmn_bundle_verify(key, digest, p->bundle_sig) != CMN_OK)
        return hp__failf(c, HP_E_VERIFY, "bundle signature of '%s' does not verify", p->rel.id);
    return HP_OK;
}

static void refuse_pending(hp_client *c, const char *release_id)
{
    char saved[CMN_ERRBUF_SIZE];
    memcpy(saved, c->err, sizeof saved);
    if (c->st.has_pending) {
        hp__pending_clear(&c->st.pending);
        c->st.has_pending = 0;
        (void)save(c);
    }
    pending_drop_files(c, NULL);
    (void)hp__report(c, release_id, "failed", 0);
    memcpy(c->err, saved, sizeof saved);
}

/* ---- differential patches (SPEC section 14) ---- */

/*
 * The bundle a patch would apply to: the installed release's files, or the
 * embedded bundle's directory when nothing is installed. Its content digest is
 * computed from the files on disk, so a damaged base matches no patch.
 */
static const struct hp_patch_offer *pick_patch(hp_client *c, const hp_offer *o, char **base_dir)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t d[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    char *dir = c->st.has_installed ? dpath(c, "current") : (c->embedded_dir ? strdup(c->embedded_dir) : NULL);
    *base_dir = NULL;
    if (!dir) {
        snprintf(c->install_note, sizeof c->install_note, "full (no patch: no base bundle on this device)");
        return NULL;
    }
    enum cmn_err rc = cmn_content_digest_dir(dir, d, &eb);
    if (rc) {
        snprintf(c->install_note, sizeof c->install_note, "full (no patch: base unreadable: %.200s)",
                 eb.msg[0] ? eb.msg : cmn_strerror(rc));
        free(dir);
        return NULL;
    }
    cmn_hex_encode(d, sizeof d, hex);
    for (size_t i = 0; i < o->n_patches; i++)
        if (strcmp(o->patches[i].base, hex) == 0) {
            *base_dir = dir;
            return &o->patches[i];
        }
    snprintf(c->install_note, sizeof c->install_note, "full (no patch: none for base %.16s)", hex);
    free(dir);
    return NULL;
}

/* Download the patch for the installed base into pending/<bundle sha>.patch, hashed and size-checked. */
static hp_status download_patch(hp_client *c, const hp_offer *o, hp_progress_fn fn, void *ctx)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t want[CMN_SHA256_BYTES], got[CMN_SHA256_BYTES];
    char *base = NULL;
    const struct hp_patch_offer *po = pick_patch(c, o, &base);
    free(base);
    if (!po)
        return HP_E_STATE;
    char *part = pending_file(c, o->p.rel.sha256, ".patch.part");
    char *file = pending_file(c, o->p.rel.sha256, ".patch");
    hp_status s = HP_OK;
    enum cmn_err rc;
    if (!part || !file) {
        s = hp__failf(c, HP_E_NOMEM, "out of memory");
        goto out;
    }
    if (hp__exists(file))
        goto out; /* hp_install re-verifies it */
    hp__fault(c, "patch-download-start");
    rc = hp__http_download(c, po->url, part, po->size, got, fn, ctx, &eb);
    if (!rc && (cmn_hex_decode(po->sha256, want, sizeof want) != CMN_OK || !cmn_ct_equal(want, got, sizeof got)))
        rc = cmn_errf(&eb, CMN_E_HASH, "patch does not match its signed SHA-256");
    if (!rc)
        rc = hp__rename(part, file, &eb);
    if (!rc) {
        char *pd = dpath(c, "pending");
        rc = pd ? hp__fsync_dir(pd, &eb) : CMN_E_NOMEM;
        free(pd);
    }
    if (rc) {
        if (rc != CMN_E_NET)
            unlink(part);
        snprintf(c->install_note, sizeof c->install_note, "full (patch refused: %.200s)",
                 eb.msg[0] ? eb.msg : cmn_strerror(rc));
        s = hp__status(rc);
    }
out:
    free(part);
    free(file);
    return s;
}

/*
 * Rebuild the release in staging/ from the downloaded patch and the base.
 * The patch itself is only as trusted as the manifest key; the result must be
 * what the release key vouched for: the content signature is checked first,
 * and cmn_patch_apply refuses a patch that does not produce exactly that
 * signed content digest (before it writes anything, and again at the end).
 */
static hp_status stage_from_patch(hp_client *c, const hp_offer *o, const char *pfile, const char *stg)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t d[CMN_SHA256_BYTES], want[CMN_SHA256_BYTES], content[CMN_SHA256_BYTES];
    uint64_t size = 0;
    struct cmn_patch_stats pst = {0};
    char *base = NULL;
    const struct hp_patch_offer *po = pick_patch(c, o, &base);
    enum cmn_err rc;
    hp_status s = HP_OK;
    if (!po)
        return hp__failf(c, HP_E_STATE, "%s", c->install_note);
    const struct cmn_key *key = NULL;
    for (size_t i = 0; i < c->n_rkeys; i++)
        if (strcmp(c->rkeys[i].keyid, o->p.bundle_keyid) == 0)
            key = &c->rkeys[i];
    if (cmn_hex_decode(o->content_sha256, content, sizeof content) != CMN_OK || !key ||
        cmn_content_verify(key, content, o->content_sig) != CMN_OK) {
        s = hp__failf(c, HP_E_VERIFY, "content signature of '%s' does not verify with a trusted release key",
                      o->p.rel.id);
        goto out;
    }
    /* The exact file about to be applied. */
    rc = cmn_sha256_file(pfile, d, &size, &eb);
    if (!rc && (size != po->size || cmn_hex_decode(po->sha256, want, sizeof want) != CMN_OK ||
                !cmn_ct_equal(want, d, sizeof d)))
        rc = cmn_errf(&eb, CMN_E_HASH, "downloaded patch does not match its signed SHA-256");
    if (!rc)
        rc = hp__rm_rf(stg, &eb);
    if (!rc && mkdir(stg, 0755) != 0)
        rc = cmn_errf(&eb, CMN_E_IO, "cannot create '%s': %s", stg, strerror(errno));
    if (!rc) {
        struct cmn_patch_limits lim;
        cmn_patch_limits_default(&lim);
        lim.max_total = c->max_extract;
        lim.defer_sync = 1; /* hp__fsync_tree below, before the journal commit */
        rc = cmn_patch_apply(pfile, base, stg, content, &lim, &pst, &eb);
    }
    if (!rc)
        rc = hp__fsync_tree(stg, (size_t)pst.copied + pst.diffed + pst.full, &eb);
    if (rc) {
        s = rc == CMN_E_HASH ? hp__failf(c, HP_E_VERIFY,
                                         "patched bundle of '%s' does not match its signed content digest", o->p.rel.id)
                             : hp__fail(c, rc, &eb);
        goto out;
    }
    hp__fault(c, "patch-staged");
out:
    free(base);
    return s;
}

#ifdef __APPLE__
#define ST_MTIM st_mtimespec
#else
#define ST_MTIM st_mtim
#endif

/* Remember the zip just hashed while it streamed in (identity: device, inode, size, mtime). */
static void zip_seen_set(hp_client *c, const char *zip, const char *sha256)
{
    struct stat sb;
    memset(&c->zip_seen, 0, sizeof c->zip_seen);
    if (stat(zip, &sb) != 0 || strlen(sha256) >= sizeof c->zip_seen.sha256)
        return;
    memcpy(c->zip_seen.sha256, sha256, strlen(sha256) + 1);
    c->zip_seen.dev = sb.st_dev;
    c->zip_seen.ino = sb.st_ino;
    c->zip_seen.size = sb.st_size;
    c->zip_seen.mtime = sb.ST_MTIM;
}

/* 1 when `zip` is still the file this handle hashed as `sha256` (then its size is *size). */
static int zip_seen_same(hp_client *c, const char *zip, const char *sha256, uint64_t *size)
{
    struct stat sb;
    int same = c->zip_seen.sha256[0] && strcmp(c->zip_seen.sha256, sha256) == 0 && stat(zip, &sb) == 0 &&
               sb.st_dev == c->zip_seen.dev && sb.st_ino == c->zip_seen.ino && sb.st_size == c->zip_seen.size &&
               sb.ST_MTIM.tv_sec == c->zip_seen.mtime.tv_sec && sb.ST_MTIM.tv_nsec == c->zip_seen.mtime.tv_nsec;
    memset(&c->zip_seen, 0, sizeof c->zip_seen); /* one use */
    if (same)
        *size = (uint64_t)sb.st_size;
    return same;
}

hp_status hp_download(hp_client *c, const hp_offer *o, hp_progress_fn fn, void *ctx)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t want[CMN_SHA256_BYTES], got[CMN_SHA256_BYTES];
    char *part = NULL, *zip = NULL;
    hp_status s = HP_OK;
    enum cmn_err rc;

    if ((s = hp__enter_open(c, o != NULL)))
        return s;
    if (o->kind != HP_OFFER_UPDATE)
        return HP_OK;
    atomic_store(&c->cancel, 0);
    /* The signature is over the signed digest: check it before spending bandwidth. */
    if ((s = verify_sig(c, &o->p))) {
        refuse_pending(c, o->p.rel.id);
        return s;
    }
    part = pending_file(c, o->p.rel.sha256, ".part");
    zip = pending_file(c, o->p.rel.sha256, ".zip");
    if (!part || !zip) {
        s = hp__failf(c, HP_E_NOMEM, "out of memory");
        goto out;
    }
    int same = c->st.has_pending && strcmp(c->st.pending.rel.sha256, o->p.rel.sha256) == 0 &&
               strcmp(c->st.pending.rel.id, o->p.rel.id) == 0;
    if (!(c->no_patch & 2))
        snprintf(c->install_note, sizeof c->install_note, "full");
    if (same && hp__exists(zip))
        goto out; /* complete and hash-checked already; hp_install re-verifies */
    if (!same) {
        pending_drop_files(c, NULL);
        hp__pending_clear(&c->st.pending);
        c->st.pending = o->p;
        c->st.pending.url = strdup(o->p.url);
        if (!c->st.pending.url) {
            c->st.has_pending = 0;
            s = hp__failf(c, HP_E_NOMEM, "out of memory");
            goto out;
        }
        c->st.has_pending = 1;
        if ((s = save(c)))
            goto out;
        (void)hp__report(c, o->p.rel.id, "downloading", 0);
    }
    if (!c->no_patch && o->has_content && o->n_patches) {
        char saved[CMN_ERRBUF_SIZE];
        memcpy(saved, c->err, sizeof saved);
        if (download_patch(c, o, fn, ctx) == HP_OK) {
            snprintf(c->install_note, sizeof c->install_note, "patch");
            goto out;
        }
        memcpy(c->err, saved, sizeof saved); /* the reason is in the note; the full bundle follows */
    }
    hp__fault(c, "download-start");
    rc = hp__http_download(c, o->p.url, part, o->p.size, got, fn, ctx, &eb);
    if (rc) {
        s = hp__fail(c, rc, &eb);
        if (s == HP_E_VERIFY)
            refuse_pending(c, o->p.rel.id);
        goto out;
    }
    if (cmn_hex_decode(o->p.rel.sha256, want, sizeof want) != CMN_OK || !cmn_ct_equal(want, got, sizeof got)) {
        s = hp__failf(c, HP_E_VERIFY, "bundle of '%s' does not match its signed SHA-256", o->p.rel.id);
        refuse_pending(c, o->p.rel.id);
        goto out;
    }
    hp__fault(c, "download-done");
    rc = hp__rename(part, zip, &eb);
    if (!rc) {
        char *pd = dpath(c, "pending");
        rc = pd ? hp__fsync_dir(pd, &eb) : CMN_E_NOMEM;
        free(pd);
    }
    if (rc)
        s = hp__fail(c, rc, &eb);
    else
        zip_seen_set(c, zip, o->p.rel.sha256);
out:
    free(part);
    free(zip);
    return s;
}

/* ---- install ---- */

/* Test-only fault point in the middle of an extraction. */
static void extract_hook(void *ctx, size_t i, size_t n)
{
    if (i + 1 == (n + 1) / 2)
        hp__fault(ctx, "extract-mid");
}

static hp_status start_revert(hp_client *c, int to_previous, int block)
{
    struct hp_state *st = &c->st;
    if (block)
        (void)hp__report(c, st->installed.id, "rolled_back", 0);
    st->op = HP_OP_REVERT;
    st->op_rel = st->installed;
    st->op_to_previous = to_previous;
    st->op_blocklist = block;
    hp_status s = save(c);
    if (s)
        return s;
    hp__fault(c, "revert-recorded");
    return apply_op(c);
}

hp_status hp_clear_updates(hp_client *c)
{
    hp_status s = hp__enter_open(c, 1);
    if (s)
        return s;
    if (c->st.has_pending) {
        pending_drop_files(c, NULL);
        hp__pending_clear(&c->st.pending);
        c->st.has_pending = 0;
        s = save(c);
        if (s)
            return s;
    }
    return c->st.has_installed ? start_revert(c, 0, 0) : HP_OK;
}

hp_status hp_install(hp_client *c, const hp_offer *o)
{
    struct cmn_errbuf eb = {{0}};
    struct hp_extract_limits lim;
    uint8_t want[CMN_SHA256_BYTES], got[CMN_SHA256_BYTES];
    uint64_t size = 0;
    char *zip = NULL, *stg = NULL;
    hp_status s = HP_OK;
    enum cmn_err rc;

    if ((s = hp__enter_open(c, o != NULL)))
        return s;
    if (o->kind == HP_OFFER_REVERT) {
        if (!c->st.has_installed || strcmp(c->st.installed.id, o->p.rel.id) != 0)
            return hp__failf(c, HP_E_STATE, "release '%s' is not installed", o->p.rel.id);
        return start_revert(c, 0, 0);
    }
    if (!c->st.has_pending || strcmp(c->st.pending.rel.sha256, o->p.rel.sha256) != 0)
        return hp__failf(c, HP_E_STATE, "release '%s' is not downloaded", o->p.rel.id);
    zip = pending_file(c, o->p.rel.sha256, ".zip");
    stg = dpath(c, "staging");
    if (!zip || !stg) {
        s = hp__failf(c, HP_E_NOMEM, "out of memory");
        goto out;
    }
    if (!hp__exists(zip)) {
        char *pfile = pending_file(c, o->p.rel.sha256, ".patch");
        if (!pfile || !hp__exists(pfile) || !o->has_content) {
            free(pfile);
            s = hp__failf(c, HP_E_STATE, "release '%s' is not downloaded", o->p.rel.id);
            goto out;
        }
        s = stage_from_patch(c, o, pfile, stg);
        if (!s) {
            free(pfile);
            snprintf(c->install_note, sizeof c->install_note, "patch");
            goto staged;
        }
        /* Any failure: drop the patch and fall back to the full bundle, saying why. */
        snprintf(c->install_note, sizeof c->install_note, "full (patch refused: %.200s)", c->err);
        unlink(pfile);
        free(pfile);
        hp__rm_rf(stg, NULL);
        c->no_patch |= 2;
        s = hp_download(c, o, NULL, NULL);
        c->no_patch &= ~2;
        if (s)
            goto out;
        c->err[0] = '\0';
    }
    /*
     * Verify the exact file about to be extracted: digest, size, signature.
     * The digest was computed while the download streamed in; it is read
     * again only when this handle did not download it (a resumed install
     * after a restart) or the file is not the same one any more.
     */
    if (cmn_hex_decode(c->st.pending.rel.sha256, want, sizeof want) != CMN_OK) {
        s = hp__failf(c, HP_E_VERIFY, "bad digest for '%s'", o->p.rel.id);
        goto out;
    }
    if (zip_seen_same(c, zip, c->st.pending.rel.sha256, &size)) {
        memcpy(got, want, sizeof got);
    } else if ((rc = cmn_sha256_file(zip, got, &size, &eb)) != CMN_OK) {
        s = hp__fail(c, rc, &eb);
        goto out;
    } else if (size != c->st.pending.size || !cmn_ct_equal(want, got, sizeof got)) {
        /*
         * A zip this handle did not download (an install resumed after a
         * restart) that no longer hashes right: the download is a cache and
         * is not fsynced (net.c), so a power cut can tear it. Not the
         * release's fault: fetch it again, once, and verify that copy. When
         * that fetch fails too, it is refused as before (below).
         */
        char saved[CMN_ERRBUF_SIZE];
        memcpy(saved, c->err, sizeof saved);
        unlink(zip);
        hp_status again = hp_download(c, o, NULL, NULL);
        if (again != HP_OK && !c->st.has_pending) {
            s = again; /* refused (and reported) by hp_download itself */
            goto out;
        } else if (again != HP_OK) {
            memcpy(c->err, saved, sizeof saved);
        } else if (zip_seen_same(c, zip, c->st.pending.rel.sha256, &size)) {
            memcpy(got, want, sizeof got);
        } else if ((rc = cmn_sha256_file(zip, got, &size, &eb)) != CMN_OK) {
            s = hp__fail(c, rc, &eb);
            goto out;
        }
    }
    if (size != c->st.pending.size || !cmn_ct_equal(want, got, sizeof got)) {
        s = hp__failf(c, HP_E_VERIFY, "downloaded bundle of '%s' does not match its signed digest", o->p.rel.id);
        refuse_pending(c, o->p.rel.id);
        goto out;
    }
    if ((s = verify_sig(c, &c->st.pending))) {
        refuse_pending(c, o->p.rel.id);
        goto out;
    }
    hp__fault(c, "verified");
    rc = hp__rm_rf(stg, &eb);
    if (!rc && mkdir(stg, 0755) != 0)
        rc = cmn_errf(&eb, CMN_E_IO, "cannot create '%s': %s", stg, strerror(errno));
    if (rc) {
        s = hp__fail(c, rc, &eb);
        goto out;
    }
    hp__extract_limits_default(&lim);
    lim.max_total = c->max_extract;
    lim.after_entry = extract_hook;
    lim.ctx = c;
    rc = hp__extract_file(zip, stg, &lim, &eb);
    if (rc) {
        s = hp__fail(c, rc, &eb);
        hp__rm_rf(stg, NULL);
        if (s == HP_E_UNSAFE)
            refuse_pending(c, o->p.rel.id);
        goto out;
    }
staged:
    hp__fault(c, "staged");
    c->st.op = HP_OP_INSTALL;
    c->st.op_rel = c->st.pending.rel;
    /* bound to the binary it is installed under (issue 12 #2, see rebind_binary) */
    if (hp__rel_bind(&c->st.op_rel, NULL, c->binary_version) != 0) {
        s = hp__failf(c, HP_E_INVAL, "binary version '%s' cannot be recorded", c->binary_version);
        goto out;
    }
    if ((s = save(c)))
        goto out;
    hp__fault(c, "install-recorded");
    if ((s = apply_op(c)))
        goto out;
    (void)hp__report(c, o->p.rel.id, "applied", 100);
out:
    free(zip);
    free(stg);
    return s;
}

hp_status hp_update(hp_client *c, hp_progress_fn fn, void *ctx, int *updated)
{
    hp_offer *o = NULL;
    if (updated)
        *updated = 0;
    hp_status s = hp_check(c, &o);
    if (s || !o)
        return s;
    s = hp_download(c, o, fn, ctx);
    if (!s)
        s = hp_install(c, o);
    if (!s && updated)
        *updated = 1;
    hp_offer_free(o);
    return s;
}

void hp_cancel(hp_client *c)
{
    if (!c)
        return;
    atomic_store(&c->cancel, 1);
    if (c->tr.cancel)
        c->tr.cancel(c->tr.ctx);
}

hp_status hp_set_transport(hp_client *c, const hp_transport *t)
{
    if (!c)
        return HP_E_INVAL;
    c->err[0] = '\0';
    if (c->opened)
        return hp__failf(c, HP_E_INVAL, "the transport is set before hp_open()");
    if (t && !t->perform)
        return hp__failf(c, HP_E_INVAL, "a transport needs a perform callback");
    if (t)
        c->tr = *t;
    else
        hp__transport_default(c, &c->tr);
    return HP_OK;
}

/* ---- boot ---- */

hp_status hp_boot_begin(hp_client *c, int *rolled_back)
{
    if (rolled_back)
        *rolled_back = 0;
    hp_status s = hp__enter_open(c, 1);
    if (s)
        return s;
    struct hp_state *st = &c->st;
    if (st->boot_note[0]) {
        /* hp_open fell back because the binary changed: tell the app once (result + hp_errmsg). */
        char note[sizeof st->boot_note];
        memcpy(note, st->boot_note, sizeof note);
        st->boot_note[0] = '\0';
        s = save(c);
        if (s)
            return s;
        size_t nl = strnlen(note, sizeof c->err - 1); /* the handle's message is shorter than the note */
        memcpy(c->err, note, nl);
        c->err[nl] = '\0';
        if (rolled_back)
            *rolled_back = HP_BOOT_BINARY_CHANGED;
    }
    if (!st->has_installed || st->confirmed)
        return HP_OK;
    if (st->launches >= c->max_failed) {
        s = start_revert(c, st->has_previous, 1);
        if (!s && rolled_back)
            *rolled_back = 1;
        return s;
    }
    st->launches++;
    s = save(c);
    if (!s)
        hp__fault(c, "boot-counted");
    return s;
}

hp_status hp_boot_ok(hp_client *c)
{
    hp_status s = hp__enter_open(c, 1);
    if (s)
        return s;
    if (c->st.confirmed && c->st.launches == 0)
        return HP_OK;
    c->st.confirmed = 1;
    c->st.launches = 0;
    return save(c);
}

const char *hp_bundle_path(const hp_client *c)
{
    if (!c || !c->opened)
        return NULL;
    return c->st.has_installed ? c->current_path : c->embedded_path;
}

const char *hp_installed_release(const hp_client *c)
{
    return c && c->st.has_installed ? c->st.installed.id : NULL;
}

const char *hp_installed_version(const hp_client *c)
{
    return c && c->st.has_installed ? c->st.installed.version : NULL;
}

const char *hp_previous_release(const hp_client *c)
{
    return c && c->st.has_previous ? c->st.previous.id : NULL;
}

unsigned long long hp_manifest_sequence(const hp_client *c)
{
    return c ? (unsigned long long)c->st.sequence : 0;
}

int hp_launch_count(const hp_client *c)
{
    return c ? c->st.launches : 0;
}

int hp_boot_confirmed(const hp_client *c)
{
    return c ? c->st.confirmed : 0;
}

size_t hp_blocklist_count(const hp_client *c)
{
    return c ? c->st.n_blocklist : 0;
}

const char *hp_blocklist_at(const hp_client *c, size_t i)
{
    return c && i < c->st.n_blocklist ? c->st.blocklist[i] : NULL;
}

const char *hp_pending_release(const hp_client *c)
{
    return c && c->st.has_pending ? c->st.pending.rel.id : NULL;
}

const char *hp_install_note(const hp_client *c)
{
    return c ? c->install_note : "";
}
