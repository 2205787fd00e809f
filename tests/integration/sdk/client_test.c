#include "common/compat.h"

/*
 * client_test.c - the public libhotpatch API against real HTTP on loopback
 * (tests/integration/sdk/httpd.py): configuration errors, offer getters, the
 * progress callback, cancelling from the callback and from another thread
 * (then resuming), report delivery with retry / keep / drop and stable event
 * ids, server-side rollbacks (downgrade to an older release, revert to the
 * embedded bundle), mandatory-survives-skip, expiry against the device clock,
 * and a file:// storage root.
 */

#include <jansson.h>
#include <pthread.h>

#include "../../lib/test.h"
#include "../../unit/sdk/sdk_fixture.h"
#include "hotpatch.h"
#include "sdk_server.h"

static struct fx_keys K;
static struct srv SRV;
static char TMP[4096], WWW[4200];

struct ver {
    const char *id;
    char zip[4300];
    struct fx_rel rel;
    char url[200];
};
static struct ver V[4];

static void make_version(struct ver *v, const char *id, size_t bytes)
{
    v->id = id;
    char *body = malloc(bytes);
    cmn_random(body, bytes);
    snprintf(v->zip, sizeof v->zip, "%s/%s.zip", TMP, id);
    const char *names[] = {"index.js", "id.txt"};
    const char *bodies[] = {body, id};
    size_t lens[] = {bytes, strlen(id)};
    if (fx_zip(v->zip, names, bodies, lens, 2) != 0 || fx_sign_file(&v->rel, &K.rkey, v->zip) != 0)
        ok(0, "make %s", id);
    free(body);
    v->rel.id = id;
    v->rel.version = id;
    snprintf(v->url, sizeof v->url, "bundles/demo/android/%s.zip", v->rel.sha);
    v->rel.url = v->url;
    size_t n;
    char *z = fx_read(v->zip, &n);
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", WWW, v->url);
    fx_write(p, z, n);
    free(z);
}

static void publish(uint64_t seq, const struct fx_rel *rels, size_t n)
{
    struct cmn_buf out;
    cmn_buf_init(&out, CMN_MANIFEST_MAX_BYTES);
    char p[4400];
    snprintf(p, sizeof p, "%s/manifests/demo/android/production.json", WWW);
    if (fx_manifest(&K.mkey, "demo", "android", "production", seq, (int64_t)time(NULL) + 3600, rels, n, &out) != 0 ||
        fx_write(p, out.ptr, out.len) != 0)
        ok(0, "publish %llu", (unsigned long long)seq);
    cmn_buf_release(&out);
}

static void set_ctl(const char *json)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/.ctl", WWW);
    if (json)
        fx_write(p, json, strlen(json));
    else
        unlink(p);
}

static hp_status configure(hp_client *c, const char *name, const char *base, const char *publisher)
{
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/%s", TMP, name);
    hp_status s;
    if ((s = hp_setopt_str(c, HP_OPT_DATA_DIR, dir)) || (s = hp_setopt_str(c, HP_OPT_APP, "demo")) ||
        (s = hp_setopt_str(c, HP_OPT_PLATFORM, "android")) || (s = hp_setopt_str(c, HP_OPT_CHANNEL, "production")) ||
        (s = hp_setopt_str(c, HP_OPT_BINARY_VERSION, "1.2.0")) || (s = hp_setopt_str(c, HP_OPT_DEVICE_ID, name)) ||
        (s = hp_setopt_str(c, HP_OPT_MANIFEST_BASE_URL, base)) ||
        (s = hp_setopt_str(c, HP_OPT_MANIFEST_KEY, K.mkey_b64)) ||
        (s = hp_setopt_str(c, HP_OPT_RELEASE_KEY, K.rkey_b64)) ||
        (s = hp_setopt_str(c, HP_OPT_EMBEDDED_BUNDLE_PATH, "/embedded")) ||
        (s = hp_setopt_int(c, HP_OPT_TIMEOUT_MS, 5000)))
        return s;
    if (publisher && (s = hp_setopt_str(c, HP_OPT_PUBLISHER_URL, publisher)))
        return s;
    return HP_OK;
}

static hp_client *dev_open(const char *name, const char *publisher)
{
    hp_client *c = NULL;
    if (hp_client_new(&c) != HP_OK)
        return NULL;
    if (configure(c, name, SRV.base, publisher) != HP_OK || hp_open(c) != HP_OK) {
        diag("open %s: %s", name, hp_errmsg(c));
        hp_client_free(c);
        return NULL;
    }
    return c;
}

static void test_config(void)
{
    hp_client *c = NULL;
    ok(hp_client_new(NULL) == HP_E_INVAL, "hp_client_new(NULL) refused");
    ok(hp_client_new(&c) == HP_OK && c, "handle created");
    is_int(hp_setopt_str(c, HP_OPT_MANIFEST_KEY, "not base64!"), HP_E_INVAL, "bad key refused");
    ok(strstr(hp_errmsg(c), "manifest key") != NULL, "error names the key: %s", hp_errmsg(c));
    is_int(hp_setopt_str(c, HP_OPT_EDGE_URL, "ftp://x"), HP_E_INVAL, "non-http URL refused");
    is_int(hp_setopt_int(c, HP_OPT_MAX_FAILED_LAUNCHES, 0), HP_E_INVAL, "max failed 0 refused");
    is_int(hp_setopt_int(c, HP_OPT_APP, 1), HP_E_INVAL, "string option as int refused");
    is_int(hp_open(c), HP_E_INVAL, "open without configuration refused");
    ok(strstr(hp_errmsg(c), "missing") != NULL, "says what is missing: %s", hp_errmsg(c));
    is_int(configure(c, "cfg", SRV.base, NULL), HP_OK, "configure");
    is_int(hp_setopt_str(c, HP_OPT_RELEASE_KEY, NULL), HP_OK, "forget release keys");
    is_int(hp_open(c), HP_E_INVAL, "open without a release key refused");
    ok(strstr(hp_errmsg(c), "release key") != NULL, "%s", hp_errmsg(c));
    is_int(hp_setopt_str(c, HP_OPT_RELEASE_KEY, K.rkey_b64), HP_OK, "release key");
    is_int(hp_setopt_str(c, HP_OPT_BINARY_VERSION, "not-a-version"), HP_OK, "odd binary version stored");
    is_int(hp_open(c), HP_E_INVAL, "unparsable binary version refused at open");
    is_int(hp_setopt_str(c, HP_OPT_BINARY_VERSION, "1.2.0"), HP_OK, "binary version");
    is_int(hp_open(c), HP_OK, "open");
    is_int(hp_setopt_str(c, HP_OPT_APP, "other"), HP_E_INVAL, "options frozen after open");
    is_int(hp_open(c), HP_E_STATE, "second open refused");
    hp_client_free(c);
    hp_client_free(NULL);
    hp_offer_free(NULL);
    ok(strcmp(hp_strerror(HP_E_VERIFY), "verification failed") == 0 && hp_strerror((hp_status)99) != NULL,
       "hp_strerror");
    is_str(hp_version(), HP_VERSION_STRING, "hp_version");
}

struct prog {
    long long last, total;
    int calls, monotonic, cancel_after;
};

static int on_progress(void *ctx, long long done, long long total)
{
    struct prog *p = ctx;
    if (done < p->last)
        p->monotonic = 0;
    p->last = done;
    p->total = total;
    p->calls++;
    return p->cancel_after && done >= p->cancel_after;
}

static void test_download_progress_cancel(void)
{
    publish(1, &V[0].rel, 1);
    hp_client *c = dev_open("prog", NULL);
    hp_offer *o = NULL;
    is_int(hp_check(c, &o), HP_OK, "check");
    ok(o != NULL, "an offer");
    is_int(hp_offer_kind(o), HP_OFFER_UPDATE, "kind update");
    is_str(hp_offer_release_id(o), "r0", "release id");
    is_str(hp_offer_version(o), "r0", "version");
    is_int(hp_offer_size(o), V[0].rel.size, "signed size");
    is_int(hp_offer_mandatory(o), 0, "not mandatory");
    is_int(hp_offer_sequence(o), 1, "sequence");
    is_int(hp_install(c, o), HP_E_STATE, "install before download refused");

    struct prog p = {0, 0, 0, 1, 65536};
    is_int(hp_download(c, o, on_progress, &p), HP_E_CANCELLED, "progress callback cancels");
    is_str(hp_pending_release(c), "r0", "partial download kept");
    p = (struct prog){0, 0, 0, 1, 0};
    is_int(hp_download(c, o, on_progress, &p), HP_OK, "download resumes and completes (%s)", hp_errmsg(c));
    ok(p.calls >= 2 && p.monotonic && p.last == p.total && p.total == (long long)V[0].rel.size,
       "progress: %d calls, monotonic, ends at the signed size", p.calls);
    char lp[4400];
    snprintf(lp, sizeof lp, "%s/.log", WWW);
    char *log = fx_read(lp, NULL);
    ok(log && strstr(log, "range=bytes=") != NULL, "resumed with a Range request");
    free(log);
    is_int(hp_install(c, o), HP_OK, "install");
    char cur[4400];
    snprintf(cur, sizeof cur, "%s/prog/current", TMP);
    is_str(hp_bundle_path(c), cur, "bundle path is current/");
    hp_offer_free(o);
    hp_client_free(c);
}

struct thr {
    hp_client *c;
    hp_offer *o;
    hp_status s;
};

static void *dl_thread(void *arg)
{
    struct thr *t = arg;
    t->s = hp_download(t->c, t->o, NULL, NULL);
    return NULL;
}

static void test_cancel_thread(void)
{
    hp_client *c = dev_open("cancel", NULL);
    struct thr t = {c, NULL, HP_OK};
    is_int(hp_check(c, &t.o), HP_OK, "check");
    set_ctl("{\"throttle_ms\": 40}");
    pthread_t th;
    pthread_create(&th, NULL, dl_thread, &t);
    usleep(250000);
    hp_cancel(c);
    pthread_join(th, NULL);
    set_ctl(NULL);
    is_int(t.s, HP_E_CANCELLED, "hp_cancel from another thread stops the download");
    is_int(hp_download(c, t.o, NULL, NULL), HP_OK, "a later download completes");
    is_int(hp_install(c, t.o), HP_OK, "and installs");
    is_str(hp_installed_release(c), "r0", "r0 installed");
    hp_offer_free(t.o);
    hp_client_free(c);
}

static json_t *queued_ids(const char *dev)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s/reports.json", TMP, dev);
    json_error_t je;
    json_t *doc = json_load_file(p, 0, &je);
    json_t *ids = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "events"), i, v) json_array_append(ids, json_object_get(v, "event_id"));
    json_decref(doc);
    return ids;
}

static void test_reports(void)
{
    /* The "prog" device queued downloading + applied; a dead publisher keeps them. */
    hp_client *c = dev_open("prog", "http://127.0.0.1:1");
    size_t n = hp_reports_queued(c);
    ok(n >= 2, "events queued (%zu)", n);
    json_t *before = queued_ids("prog");
    is_int(hp_report_flush(c), HP_E_NET, "unreachable publisher: network error");
    is_int(hp_reports_queued(c), n, "events kept");
    hp_client_free(c);

    c = dev_open("prog", SRV.base);
    set_ctl("{\"status\": 503}");
    is_int(hp_report_flush(c), HP_E_HTTP, "publisher 503: error after retries");
    is_int(hp_reports_queued(c), n, "events kept after 5xx");
    set_ctl(NULL);
    is_int(hp_report_flush(c), HP_OK, "publisher up: sent");
    is_int(hp_reports_queued(c), 0, "queue empty");
    char rp[4400];
    snprintf(rp, sizeof rp, "%s/.reports", WWW);
    char *sent = fx_read(rp, NULL);
    int all = sent != NULL;
    size_t i;
    json_t *v;
    json_array_foreach(before, i, v) all = all && strstr(sent, json_string_value(v)) != NULL;
    ok(all && json_array_size(before) == n, "the same event ids were delivered after the retries");
    ok(sent && strstr(sent, "\"status\":\"applied\"") && strstr(sent, "\"device_id\":\"prog\"") &&
           strstr(sent, "\"binary_version\":\"1.2.0\"") && strstr(sent, "\"channel\":\"production\""),
       "event fields");
    free(sent);
    json_decref(before);
    is_int(hp_report_flush(c), HP_OK, "nothing to send: ok");
    hp_client_free(c);

    /* A 400 drops the batch so it cannot block the queue. */
    c = dev_open("cancel", SRV.base);
    ok(hp_reports_queued(c) > 0, "second device has events");
    set_ctl("{\"status\": 400}");
    is_int(hp_report_flush(c), HP_E_HTTP, "publisher 400: refused");
    is_int(hp_reports_queued(c), 0, "refused batch dropped");
    set_ctl(NULL);
    hp_client_free(c);
}

static void test_server_rollbacks(void)
{
    hp_client *c = dev_open("srvrb", NULL);
    struct fx_rel rels[3] = {V[0].rel, V[1].rel, V[2].rel};
    publish(10, rels, 2);
    int upd = 0;
    is_int(hp_update(c, NULL, NULL, &upd), HP_OK, "update to r1");
    ok(upd == 1 && strcmp(hp_installed_release(c), "r1") == 0, "r1 installed");
    rels[1].state = CMN_REL_ROLLED_BACK;
    publish(11, rels, 2);
    hp_offer *o = NULL;
    is_int(hp_check(c, &o), HP_OK, "check after r1 was rolled back");
    ok(o && hp_offer_kind(o) == HP_OFFER_UPDATE && strcmp(hp_offer_release_id(o), "r0") == 0,
       "offered the older r0 (downgrade)");
    hp_offer_free(o);
    is_int(hp_update(c, NULL, NULL, &upd), HP_OK, "update");
    is_str(hp_installed_release(c), "r0", "on r0");

    rels[0].state = CMN_REL_ROLLED_BACK;
    publish(12, rels, 2);
    o = NULL;
    is_int(hp_check(c, &o), HP_OK, "check after everything was rolled back");
    ok(o && hp_offer_kind(o) == HP_OFFER_REVERT && strcmp(hp_offer_release_id(o), "r0") == 0,
       "offered a revert to the embedded bundle");
    is_int(hp_install(c, o), HP_OK, "revert");
    hp_offer_free(o);
    ok(hp_installed_release(c) == NULL, "embedded bundle");
    is_str(hp_bundle_path(c), "/embedded", "bundle path is the embedded one");
    hp_client_free(c);

    /* Mandatory survives skipping: r1 mandatory, r2 offered. */
    c = dev_open("mand", NULL);
    rels[0].state = rels[1].state = CMN_REL_ACTIVE;
    publish(20, rels, 1);
    is_int(hp_update(c, NULL, NULL, &upd), HP_OK, "on r0");
    rels[1].mandatory = 1;
    publish(21, rels, 3);
    o = NULL;
    is_int(hp_check(c, &o), HP_OK, "check");
    ok(o && strcmp(hp_offer_release_id(o), "r2") == 0 && hp_offer_mandatory(o) == 1,
       "r2 offered as mandatory because skipped r1 is");
    hp_offer_free(o);
    hp_client_free(c);

    /* The device clock decides expiry. */
    hp_client *e = NULL;
    if (hp_client_new(&e) == HP_OK && configure(e, "clock", SRV.base, NULL) == HP_OK &&
        hp_setopt_int(e, HP_OPT_NOW, (long long)time(NULL) + 7200) == HP_OK && hp_open(e) == HP_OK) {
        o = NULL;
        is_int(hp_check(e, &o), HP_E_EXPIRED, "manifest expired by the device clock (%s)", hp_errmsg(e));
        ok(o == NULL, "no offer");
    } else {
        ok(0, "clock device");
    }
    hp_client_free(e);
}

static void test_file_storage(void)
{
    char base[4300];
    snprintf(base, sizeof base, "file://%s", WWW);
    hp_client *c = NULL;
    if (hp_client_new(&c) != HP_OK || configure(c, "filedev", base, NULL) != HP_OK || hp_open(c) != HP_OK) {
        ok(0, "file:// device: %s", hp_errmsg(c));
        hp_client_free(c);
        return;
    }
    int upd = 0;
    is_int(hp_update(c, NULL, NULL, &upd), HP_OK, "update from a file:// storage root (%s)", hp_errmsg(c));
    is_str(hp_installed_release(c), "r2", "r2 installed from file://");
    hp_client_free(c);
}

int main(void)
{
    snprintf(TMP, sizeof TMP, "%s", test_tmpdir());
    snprintf(WWW, sizeof WWW, "%s/www", TMP);
    fx_mkdirs(WWW);
    if (fx_keys_make(&K) != 0 || srv_start(&SRV, WWW) != 0) {
        ok(0, "setup");
        return done_testing();
    }
    make_version(&V[0], "r0", 200 * 1024);
    make_version(&V[1], "r1", 1000);
    make_version(&V[2], "r2", 1000);
    test_config();
    test_download_progress_cancel();
    test_cancel_thread();
    test_reports();
    test_server_rollbacks();
    test_file_storage();
    srv_stop(&SRV);
    return done_testing();
}
