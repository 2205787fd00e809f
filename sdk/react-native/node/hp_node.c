#include "common/compat.h"

/*
 * hp_node.c - a Node-API addon over libhotpatch: the HotPatch native module
 * as a Node host sees it. The Jest suite of @hotpatch/react-native uses it as
 * the module behind NativeHotPatch (tests/integration/rn/), so the JS API is
 * tested against the real C core and real servers, not a mock. Built with a
 * plain `cc -shared -fPIC` against /usr/include/node (no node-gyp).
 *
 * One handle = one app launch over one data directory. Network work (check,
 * download, install, report flush) runs on libuv's thread pool as async work
 * and returns a promise; download progress is delivered on the JS thread
 * through a thread-safe function. A handle runs one operation at a time (the
 * core's handle is not thread-safe): a second one is refused with HP_E_STATE.
 * Failures reject/throw an Error whose `code` is the hp_status name and whose
 * message is hp_errmsg().
 */

#define NAPI_VERSION 8
#include <node_api.h>

#include "hotpatch.h"

struct h {
    hp_client *c;
    hp_offer *offer; /* last offer from check() */
    int busy;
    int opened;
};

static napi_value make_error(napi_env env, hp_status s, const char *msg)
{
    napi_value code, m, err;
    napi_create_string_utf8(env, hp_status_name(s), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, msg && msg[0] ? msg : hp_strerror(s), NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, code, m, &err);
    return err;
}

static napi_value throw_hp(napi_env env, hp_status s, const char *msg)
{
    napi_throw(env, make_error(env, s, msg));
    return NULL;
}

static napi_value str_or_null(napi_env env, const char *s)
{
    napi_value v;
    if (s)
        napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
    else
        napi_get_null(env, &v);
    return v;
}

static void set(napi_env env, napi_value o, const char *k, napi_value v)
{
    napi_set_named_property(env, o, k, v);
}

static napi_value num(napi_env env, double d)
{
    napi_value v;
    napi_create_double(env, d, &v);
    return v;
}

static napi_value boolean(napi_env env, int b)
{
    napi_value v;
    napi_get_boolean(env, b != 0, &v);
    return v;
}

/*
 * cfg[key] as a malloc'ed string in *out (the caller frees it): 1, or 0 when
 * absent, not a string or empty, -1 out of memory. Sized to the value, so a
 * long one (a root document, many keys) reaches the core whole, never cut.
 */
static int get_str(napi_env env, napi_value cfg, const char *key, char **out)
{
    napi_value v;
    napi_valuetype t;
    bool has = false;
    size_t len = 0;
    if (napi_has_named_property(env, cfg, key, &has) != napi_ok || !has)
        return 0;
    napi_get_named_property(env, cfg, key, &v);
    napi_typeof(env, v, &t);
    if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len == 0)
        return 0;
    if (!(*out = malloc(len + 1)))
        return -1;
    napi_get_value_string_utf8(env, v, *out, len + 1, &len);
    return 1;
}

static void h_finalize(napi_env env, void *data, void *hint)
{
    struct h *h = data;
    (void)env;
    (void)hint;
    hp_offer_free(h->offer);
    hp_client_free(h->c);
    free(h);
}

static struct h *get_h(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
{
    struct h *h = NULL;
    if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok || *argc < 1 ||
        napi_get_value_external(env, argv[0], (void **)&h) != napi_ok || !h || !h->c) {
        throw_hp(env, HP_E_INVAL, "expected a handle from open()");
        return NULL;
    }
    return h;
}

/* open(cfg) -> handle: hp_client_new + options + hp_open. */
static napi_value js_open(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value cfg, ext;
    if (napi_get_cb_info(env, info, &argc, &cfg, NULL, NULL) != napi_ok || argc < 1)
        return throw_hp(env, HP_E_INVAL, "open(config) needs a config object");
    struct h *h = calloc(1, sizeof *h);
    if (!h || hp_client_new(&h->c) != HP_OK) {
        free(h);
        return throw_hp(env, HP_E_NOMEM, "out of memory");
    }
    static const struct {
        const char *key;
        hp_option opt;
    } strs[] = {{"dataDir", HP_OPT_DATA_DIR},
                {"app", HP_OPT_APP},
                {"platform", HP_OPT_PLATFORM},
                {"channel", HP_OPT_CHANNEL},
                {"binaryVersion", HP_OPT_BINARY_VERSION},
                {"deviceId", HP_OPT_DEVICE_ID},
                {"edgeUrl", HP_OPT_EDGE_URL},
                {"manifestBaseUrl", HP_OPT_MANIFEST_BASE_URL},
                {"bundleBaseUrl", HP_OPT_BUNDLE_BASE_URL},
                {"publisherUrl", HP_OPT_PUBLISHER_URL},
                {"manifestKeys", HP_OPT_MANIFEST_KEY},
                {"releaseKeys", HP_OPT_RELEASE_KEY},
                {"embeddedBundlePath", HP_OPT_EMBEDDED_BUNDLE_PATH},
                {"root", HP_OPT_ROOT}}; /* the root document's JSON text */
    hp_status s = HP_OK;
    for (size_t i = 0; !s && i < sizeof strs / sizeof strs[0]; i++) {
        char *val = NULL;
        int got = get_str(env, cfg, strs[i].key, &val);
        if (got < 0)
            s = HP_E_NOMEM;
        else if (got)
            s = hp_setopt_str(h->c, strs[i].opt, val);
        free(val);
    }
    napi_value v;
    bool has = false;
    if (!s && napi_has_named_property(env, cfg, "maxFailedLaunches", &has) == napi_ok && has) {
        int64_t n = 0;
        napi_get_named_property(env, cfg, "maxFailedLaunches", &v);
        if (napi_get_value_int64(env, v, &n) == napi_ok)
            s = hp_setopt_int(h->c, HP_OPT_MAX_FAILED_LAUNCHES, n);
    }
    if (!s)
        s = hp_open(h->c);
    if (s) {
        napi_value err = make_error(env, s, hp_errmsg(h->c));
        hp_client_free(h->c);
        free(h);
        napi_throw(env, err);
        return NULL;
    }
    h->opened = 1;
    napi_create_external(env, h, h_finalize, NULL, &ext);
    return ext;
}

/* The boot protocol's verdict, by the names the agent's --json uses too. */
static const char *boot_reason(int rb)
{
    return rb == HP_BOOT_ROLLED_BACK ? "crash_loop" : rb == HP_BOOT_BINARY_CHANGED ? "binary_changed" : NULL;
}

/*
 * bootBegin(h) -> {rolledBack, reason, detail, bundlePath}: rolledBack only
 * for a crash loop (HP_BOOT_ROLLED_BACK); an app-store update that the
 * installed release does not target is reason 'binary_changed' with the
 * core's sentence in detail, and is not a failed launch.
 */
static napi_value js_boot_begin(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], o;
    struct h *h = get_h(env, info, &argc, argv);
    if (!h)
        return NULL;
    int rb = 0;
    hp_status s = hp_boot_begin(h->c, &rb);
    if (s)
        return throw_hp(env, s, hp_errmsg(h->c));
    napi_create_object(env, &o);
    set(env, o, "rolledBack", boolean(env, rb == HP_BOOT_ROLLED_BACK));
    set(env, o, "reason", str_or_null(env, boot_reason(rb)));
    set(env, o, "detail", str_or_null(env, rb == HP_BOOT_BINARY_CHANGED ? hp_errmsg(h->c) : NULL));
    set(env, o, "bundlePath", str_or_null(env, hp_bundle_path(h->c)));
    return o;
}

static napi_value js_boot_ok(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    struct h *h = get_h(env, info, &argc, argv);
    if (!h)
        return NULL;
    hp_status s = hp_boot_ok(h->c);
    return s ? throw_hp(env, s, hp_errmsg(h->c)) : NULL;
}

static napi_value js_clear(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    struct h *h = get_h(env, info, &argc, argv);
    if (!h)
        return NULL;
    if (h->busy)
        return throw_hp(env, HP_E_STATE, "another operation is running on this handle");
    hp_status s = hp_clear_updates(h->c);
    return s ? throw_hp(env, s, hp_errmsg(h->c)) : NULL;
}

/* state(h) -> what getCurrentRelease / getPendingRelease report. */
static napi_value js_state(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], o, bl;
    struct h *h = get_h(env, info, &argc, argv);
    if (!h)
        return NULL;
    napi_create_object(env, &o);
    set(env, o, "id", str_or_null(env, hp_installed_release(h->c)));
    set(env, o, "version", str_or_null(env, hp_installed_version(h->c)));
    set(env, o, "previous", str_or_null(env, hp_previous_release(h->c)));
    set(env, o, "sequence", num(env, (double)hp_manifest_sequence(h->c)));
    set(env, o, "embedded", boolean(env, hp_installed_release(h->c) == NULL));
    set(env, o, "launches", num(env, hp_launch_count(h->c)));
    set(env, o, "confirmed", boolean(env, hp_boot_confirmed(h->c)));
    set(env, o, "pending", str_or_null(env, hp_pending_release(h->c)));
    set(env, o, "reportsQueued", num(env, (double)hp_reports_queued(h->c)));
    set(env, o, "bundlePath", str_or_null(env, hp_bundle_path(h->c)));
    napi_create_array(env, &bl);
    for (size_t i = 0; i < hp_blocklist_count(h->c); i++)
        napi_set_element(env, bl, (uint32_t)i, str_or_null(env, hp_blocklist_at(h->c, i)));
    set(env, o, "blocklist", bl);
    return o;
}

/*
 * rootStatus(h) -> {version, expiresAt} of the root of trust the core
 * verifies manifests with (hp_root_version, hp_root_expires_at: unix
 * seconds), or null when the handle was opened without a root.
 */
static napi_value js_root_status(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], o;
    struct h *h = get_h(env, info, &argc, argv);
    if (!h)
        return NULL;
    unsigned long long v = hp_root_version(h->c);
    if (!v) {
        napi_get_null(env, &o);
        return o;
    }
    napi_create_object(env, &o);
    set(env, o, "version", num(env, (double)v));
    set(env, o, "expiresAt", num(env, (double)hp_root_expires_at(h->c)));
    return o;
}

/* ---- async work: check, download, install, flush ---- */

enum op { OP_CHECK, OP_DOWNLOAD, OP_INSTALL, OP_FLUSH };

struct job {
    struct h *h;
    enum op op;
    napi_deferred deferred;
    napi_async_work work;
    napi_ref handle_ref; /* keeps the handle alive while the job runs */
    napi_threadsafe_function progress;
    hp_offer *offer; /* OP_CHECK result */
    hp_status s;
    char msg[512];
};

/* One progress call, or (finish != NULL) the end of the download: see job_done. */
struct prog {
    long long done, total;
    char id[80];
    struct job *finish;
};

static void job_settle(napi_env env, struct job *j);

static void progress_js(napi_env env, napi_value cb, void *context, void *data)
{
    struct prog *p = data;
    (void)context;
    if (p->finish) {
        job_settle(env, p->finish);
    } else if (env && cb) {
        napi_value o, undef;
        napi_create_object(env, &o);
        set(env, o, "releaseId", str_or_null(env, p->id));
        set(env, o, "receivedBytes", num(env, (double)p->done));
        set(env, o, "totalBytes", num(env, (double)p->total));
        napi_get_undefined(env, &undef);
        napi_call_function(env, undef, cb, 1, &o, NULL);
    }
    free(p);
}

static int on_progress(void *ctx, long long done, long long total)
{
    struct job *j = ctx;
    struct prog *p = calloc(1, sizeof *p); /* finish = NULL: a progress call */
    if (p) {
        p->done = done;
        p->total = total;
        snprintf(p->id, sizeof p->id, "%s", hp_offer_release_id(j->h->offer));
        if (napi_call_threadsafe_function(j->progress, p, napi_tsfn_blocking) != napi_ok)
            free(p);
    }
    return 0;
}

static void job_run(napi_env env, void *data)
{
    struct job *j = data;
    (void)env;
    switch (j->op) {
    case OP_CHECK:
        j->s = hp_check(j->h->c, &j->offer);
        break;
    case OP_DOWNLOAD:
        j->s = hp_download(j->h->c, j->h->offer, j->progress ? on_progress : NULL, j);
        break;
    case OP_INSTALL:
        j->s = hp_install(j->h->c, j->h->offer);
        break;
    case OP_FLUSH:
        j->s = hp_report_flush(j->h->c);
        break;
    }
    if (j->s)
        snprintf(j->msg, sizeof j->msg, "%s", hp_errmsg(j->h->c));
}

static napi_value offer_value(napi_env env, const hp_offer *o)
{
    napi_value v;
    if (!o) {
        napi_get_null(env, &v);
        return v;
    }
    napi_create_object(env, &v);
    set(env, v, "kind", str_or_null(env, hp_offer_kind(o) == HP_OFFER_REVERT ? "revert" : "update"));
    set(env, v, "id", str_or_null(env, hp_offer_release_id(o)));
    set(env, v, "version", str_or_null(env, hp_offer_version(o)));
    set(env, v, "size", num(env, (double)hp_offer_size(o)));
    set(env, v, "mandatory", boolean(env, hp_offer_mandatory(o)));
    set(env, v, "sequence", num(env, (double)hp_offer_sequence(o)));
    return v;
}

/*
 * The worker finished. A download with a progress callback settles through
 * the same thread-safe function, after the progress calls still queued there
 * (its queue is FIFO; the async-work completion is not ordered with it), so a
 * promise never resolves before its last progress event has been delivered.
 */
static void job_done(napi_env env, napi_status st, void *data)
{
    struct job *j = data;
    (void)st;
    if (j->progress) {
        struct prog *p = calloc(1, sizeof *p);
        if (p) {
            p->finish = j;
            if (napi_call_threadsafe_function(j->progress, p, napi_tsfn_nonblocking) == napi_ok)
                return;
            free(p);
        }
    }
    job_settle(env, j);
}

static void job_settle(napi_env env, struct job *j)
{
    j->h->busy = 0;
    if (j->s) {
        napi_reject_deferred(env, j->deferred, make_error(env, j->s, j->msg));
    } else if (j->op == OP_CHECK) {
        hp_offer_free(j->h->offer);
        j->h->offer = j->offer;
        napi_resolve_deferred(env, j->deferred, offer_value(env, j->offer));
    } else {
        napi_value u;
        napi_get_undefined(env, &u);
        napi_resolve_deferred(env, j->deferred, u);
    }
    if (j->progress)
        napi_release_threadsafe_function(j->progress, napi_tsfn_release);
    napi_delete_reference(env, j->handle_ref);
    napi_delete_async_work(env, j->work);
    free(j);
}

static napi_value start(napi_env env, napi_callback_info info, enum op op)
{
    size_t argc = 3;
    napi_value argv[3], promise, name;
    struct h *h = get_h(env, info, &argc, argv);
    if (!h)
        return NULL;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return throw_hp(env, HP_E_NOMEM, "out of memory");
    j->h = h;
    j->op = op;
    napi_create_promise(env, &j->deferred, &promise);
    const char *why = NULL;
    if (h->busy)
        why = "another operation is running on this handle";
    else if ((op == OP_DOWNLOAD || op == OP_INSTALL) && !h->offer)
        why = "no offer: call check() first";
    if (!why && (op == OP_DOWNLOAD || op == OP_INSTALL) && argc >= 2) {
        char id[128] = "";
        napi_get_value_string_utf8(env, argv[1], id, sizeof id, NULL);
        if (strcmp(id, hp_offer_release_id(h->offer)) != 0)
            why = "release is not the last offer";
    }
    if (why) {
        napi_reject_deferred(env, j->deferred, make_error(env, HP_E_STATE, why));
        free(j);
        return promise;
    }
    if (op == OP_DOWNLOAD && argc >= 3) {
        napi_valuetype t;
        napi_typeof(env, argv[2], &t);
        if (t == napi_function) {
            napi_create_string_utf8(env, "hotpatch-progress", NAPI_AUTO_LENGTH, &name);
            napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, NULL, progress_js,
                                            &j->progress);
        }
    }
    h->busy = 1;
    napi_create_reference(env, argv[0], 1, &j->handle_ref);
    napi_create_string_utf8(env, "hotpatch", NAPI_AUTO_LENGTH, &name);
    napi_create_async_work(env, NULL, name, job_run, job_done, j, &j->work);
    napi_queue_async_work(env, j->work);
    return promise;
}

static napi_value js_check(napi_env env, napi_callback_info info)
{
    return start(env, info, OP_CHECK);
}
static napi_value js_download(napi_env env, napi_callback_info info)
{
    return start(env, info, OP_DOWNLOAD);
}
static napi_value js_install(napi_env env, napi_callback_info info)
{
    return start(env, info, OP_INSTALL);
}
static napi_value js_flush(napi_env env, napi_callback_info info)
{
    return start(env, info, OP_FLUSH);
}

static napi_value js_version(napi_env env, napi_callback_info info)
{
    (void)info;
    return str_or_null(env, hp_version());
}

static napi_value init(napi_env env, napi_value exports)
{
    static const struct {
        const char *name;
        napi_callback fn;
    } fns[] = {{"open", js_open},         {"bootBegin", js_boot_begin},
               {"bootOk", js_boot_ok},    {"clearUpdates", js_clear},
               {"state", js_state},       {"check", js_check},
               {"download", js_download}, {"install", js_install},
               {"reportFlush", js_flush}, {"rootStatus", js_root_status},
               {"version", js_version}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        napi_value f;
        napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
        napi_set_named_property(env, exports, fns[i].name, f);
    }
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
