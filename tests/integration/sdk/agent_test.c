#include "common/compat.h"

/*
 * agent_test.c - hotpatch-agent against real HTTP on loopback.
 *
 * A test-only static server (tests/integration/sdk/httpd.py: Range support,
 * a connection-cutting hook, an edge /v1/check emulation and a report sink)
 * serves a storage root that this test fills with bundles signed by
 * cmn_bundle_sign and manifests sealed by cmn_manifest_seal. The built agent
 * runs as a separate process, as on a device. Covered:
 *   - static and edge check paths, update, reports reaching the publisher URL;
 *   - the tamper matrix: flipped bundle byte, wrong bundle signature, unknown
 *     release key, manifest signed by an unknown key, expired manifest,
 *     replayed older sequence, bundle larger than signed, edge answering with
 *     another channel's manifest: each refused (exit 4) with current/ unchanged;
 *   - crash safety: the agent SIGKILLed (HOTPATCH_AGENT_FAULT) at every step of
 *     download, install and revert leaves a device that boots a complete
 *     verified bundle and finishes the update on the next run;
 *   - a transfer cut mid-download resumes with a Range request and fewer bytes;
 *   - the boot protocol end to end: rollback after N failed launches, blocklist,
 *     rolled_back report;
 *   - a native binary change (app-store update) never boots a release whose
 *     target range does not admit the new binary (issue 12 #2).
 */

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <jansson.h>
#include <sys/wait.h>

#include "../../lib/test.h"
#include "../../unit/sdk/sdk_fixture.h"
#include "sdk_server.h"

static struct fx_keys K;
static char WWW[4200], TMP[4096], AGENT[4096], BASE[256];
static struct srv SRV;

struct ver {
    const char *id;
    char zip[4300];
    char *index; /* expected content of index.js */
    size_t index_len;
    struct fx_rel rel;
};
static struct ver V[4]; /* v0 v1 v2, and a hostile one */

static int hp_exists_file(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- storage ---- */

static void set_ctl(const char *json)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/.ctl", WWW);
    if (json)
        fx_write(p, json, strlen(json));
    else
        unlink(p);
}

static char *read_www(const char *name)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", WWW, name);
    return fx_read(p, NULL);
}

static void clear_www(const char *name)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", WWW, name);
    unlink(p);
}

/* Serve `bytes` as the bundle of release r (at its content address). */
static void serve_bundle(const struct fx_rel *r, const char *bytes, size_t n)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", WWW, r->url);
    fx_write(p, bytes, n);
}

static void serve_good_bundle(struct ver *v)
{
    size_t n;
    char *b = fx_read(v->zip, &n);
    serve_bundle(&v->rel, b, n);
    free(b);
}

static int publish(uint64_t seq, int64_t expires, const struct cmn_key *mkey, const struct fx_rel *rels, size_t n)
{
    struct cmn_buf out;
    cmn_buf_init(&out, CMN_MANIFEST_MAX_BYTES);
    if (fx_manifest(mkey, "demo", "android", "production", seq, expires, rels, n, &out) != 0)
        return -1;
    char p[4300];
    snprintf(p, sizeof p, "%s/manifests/demo/android/production.json", WWW);
    int rc = fx_write(p, out.ptr, out.len);
    cmn_buf_release(&out);
    return rc;
}

static int64_t later(void)
{
    return (int64_t)time(NULL) + 86400;
}

/* Publish the first `n` good versions (v0..v(n-1)) at sequence `seq`. */
static void publish_upto(size_t n, uint64_t seq)
{
    struct fx_rel rels[4];
    for (size_t i = 0; i < n; i++)
        rels[i] = V[i].rel;
    if (publish(seq, later(), &K.mkey, rels, n) != 0)
        ok(0, "publish");
}

/* ---- agent ---- */

struct run {
    int code;   /* exit status, or -signal */
    json_t *js; /* parsed --json output, or NULL */
};

static struct run agent(const char *dev, const char *fault, const char *cmd, const char *extra1, const char *extra2)
{
    struct run r = {-1, NULL};
    char out[4300], devid[256];
    snprintf(out, sizeof out, "%s/agent.out", TMP);
    const char *slash = strrchr(dev, '/');
    snprintf(devid, sizeof devid, "device-%s", slash ? slash + 1 : dev);
    const char *argv[40];
    int a = 0;
    argv[a++] = AGENT;
    argv[a++] = "--json";
    argv[a++] = "--data-dir";
    argv[a++] = dev;
    argv[a++] = "--app";
    argv[a++] = "demo";
    argv[a++] = "--platform";
    argv[a++] = "android";
    argv[a++] = "--channel";
    argv[a++] = "production";
    argv[a++] = "--binary-version";
    argv[a++] = "1.2.0";
    argv[a++] = "--device-id";
    argv[a++] = devid;
    argv[a++] = "--trusted-key";
    argv[a++] = K.mkey_b64;
    argv[a++] = "--release-key";
    argv[a++] = K.rkey_b64;
    argv[a++] = "--publisher";
    argv[a++] = BASE;
    argv[a++] = "--timeout-ms";
    argv[a++] = "5000";
    if (extra1)
        argv[a++] = extra1;
    if (extra2)
        argv[a++] = extra2;
    if (!extra1 || strcmp(extra1, "--edge") != 0) {
        argv[a++] = "--manifest-base";
        argv[a++] = BASE;
    } else {
        argv[a++] = "--bundle-base";
        argv[a++] = BASE;
    }
    argv[a++] = cmd;
    argv[a] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        int fe = open("/dev/null", O_WRONLY);
        dup2(fe, 2);
        if (fault)
            setenv("HOTPATCH_AGENT_FAULT", fault, 1);
        else
            unsetenv("HOTPATCH_AGENT_FAULT");
        execv(AGENT, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1000;
    size_t n = 0;
    char *s = fx_read(out, &n);
    if (s && n) {
        json_error_t je;
        r.js = json_loadb(s, n, 0, &je);
    }
    free(s);
    return r;
}

static const char *jget(const struct run *r, const char *key)
{
    return json_string_value(json_object_get(r->js, key));
}

static void run_free(struct run *r)
{
    json_decref(r->js);
    r->js = NULL;
}

/* Exact content of the device's current/index.js equals version v's. */
static int has_bundle(const char *dev, const struct ver *v)
{
    char p[4300];
    size_t n = 0;
    snprintf(p, sizeof p, "%s/current/index.js", dev);
    char *s = fx_read(p, &n);
    int eq = s && n == v->index_len && memcmp(s, v->index, n) == 0;
    free(s);
    snprintf(p, sizeof p, "%s/current/assets/x.txt", dev);
    s = fx_read(p, &n);
    eq = eq && s && strcmp(s, v->id) == 0;
    free(s);
    return eq;
}

static int no_leftovers(const char *dev)
{
    char p[4300], q[4300];
    snprintf(p, sizeof p, "%s/staging", dev);
    snprintf(q, sizeof q, "%s/trash", dev);
    return !hp_exists_file(p) && !hp_exists_file(q);
}

static const char *installed(const char *dev)
{
    static char buf[128];
    struct run r = agent(dev, NULL, "status", NULL, NULL);
    const char *s = jget(&r, "installed");
    snprintf(buf, sizeof buf, "%s", s ? s : "(embedded)");
    run_free(&r);
    return buf;
}

static void devdir(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/dev/%s", TMP, name);
}

static void copy_dev(const char *from, const char *to)
{
    char cmd[13000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    if (system(cmd) != 0)
        ok(0, "copy device");
}

/* ---- fixtures ---- */

static void make_versions(void)
{
    static const char *ids[] = {"v0", "v1", "v2", "evil"};
    for (int i = 0; i < 4; i++) {
        struct ver *v = &V[i];
        v->id = ids[i];
        /* ~256 KiB of incompressible bytes, so a transfer can be cut in the middle. */
        v->index_len = 256 * 1024;
        v->index = malloc(v->index_len);
        cmn_random(v->index, v->index_len);
        memcpy(v->index, v->id, strlen(v->id));
        snprintf(v->zip, sizeof v->zip, "%s/%s.zip", TMP, v->id);
        const char *names[] = {"index.js", "assets/", "assets/x.txt", i == 3 ? "../../escape.js" : "assets/y.txt"};
        const char *bodies[] = {v->index, "", v->id, "y"};
        size_t lens[] = {v->index_len, 0, strlen(v->id), 1};
        if (fx_zip(v->zip, names, bodies, lens, 4) != 0)
            ok(0, "zip %s", v->id);
        v->rel.id = v->id;
        v->rel.version = v->id;
        v->rel.target = ">=1.0.0 <2.0.0";
        if (fx_sign_file(&v->rel, &K.rkey, v->zip) != 0)
            ok(0, "sign %s", v->id);
        static char urls[4][200];
        snprintf(urls[i], sizeof urls[i], "bundles/demo/android/%s.zip", v->rel.sha);
        v->rel.url = urls[i];
        serve_good_bundle(v);
    }
}

/* ---- scenarios ---- */

static char TEMPLATE[4300]; /* a device with v0 then v1 installed and confirmed, sequence 2 */

static void test_happy_and_template(void)
{
    char dev[4300];
    devdir(dev, sizeof dev, "template");
    publish_upto(1, 1);
    struct run r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 0, "update installs v0");
    ok(r.js && json_is_true(json_object_get(r.js, "applied")), "json says installed");
    run_free(&r);
    ok(has_bundle(dev, &V[0]), "current/ holds v0 exactly");
    r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 3, "second update: nothing to do (exit 3)");
    run_free(&r);
    r = agent(dev, NULL, "boot-begin", NULL, NULL);
    is_int(r.code, 0, "boot-begin");
    run_free(&r);
    r = agent(dev, NULL, "boot-ok", NULL, NULL);
    is_int(r.code, 0, "boot-ok");
    run_free(&r);

    publish_upto(2, 2);
    r = agent(dev, NULL, "check", NULL, NULL);
    is_int(r.code, 0, "check sees v1 (exit 0)");
    is_str(jget(&r, "release_id"), "v1", "check names v1");
    run_free(&r);
    r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 0, "update installs v1");
    run_free(&r);
    ok(has_bundle(dev, &V[1]), "current/ holds v1 exactly");
    r = agent(dev, NULL, "status", NULL, NULL);
    is_str(jget(&r, "previous"), "v0", "previous is v0");
    is_int(json_integer_value(json_object_get(r.js, "sequence")), 2, "sequence 2 stored");
    is_int(json_integer_value(json_object_get(r.js, "reports_queued")), 0, "reports all sent");
    run_free(&r);
    r = agent(dev, NULL, "boot-begin", NULL, NULL);
    run_free(&r);
    r = agent(dev, NULL, "boot-ok", NULL, NULL);
    run_free(&r);
    char *rep = read_www(".reports");
    ok(rep && strstr(rep, "\"status\":\"applied\"") && strstr(rep, "\"release_id\":\"v1\"") &&
           strstr(rep, "\"event_id\""),
       "applied reports reached the publisher URL");
    free(rep);
    snprintf(TEMPLATE, sizeof TEMPLATE, "%s", dev);
}

struct tamper {
    const char *what;
    int kind;
};

static void test_tamper(void)
{
    static const struct tamper cases[] = {
        {"bundle byte flipped", 1},
        {"wrong bundle signature (rogue key, trusted key id)", 2},
        {"bundle signed by an unknown release key", 3},
        {"manifest signed by an unknown key", 4},
        {"expired manifest", 5},
        {"replayed older-sequence manifest", 6},
        {"bundle larger than its signed size", 7},
        {"manifest size smaller than the served bundle", 8},
        {"signed hostile archive (zip slip)", 9},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(cases); i++) {
        char dev[4300];
        char name[64];
        snprintf(name, sizeof name, "tamper%zu", i);
        devdir(dev, sizeof dev, name);
        copy_dev(TEMPLATE, dev);
        struct fx_rel rels[3] = {V[0].rel, V[1].rel, V[2].rel};
        struct fx_rel *v2 = &rels[2];
        const struct cmn_key *mk = &K.mkey;
        int64_t exp = later();
        uint64_t seq = 10;
        size_t n;
        char *bytes = fx_read(V[2].zip, &n);
        switch (cases[i].kind) {
        case 1:
            bytes[n / 3] ^= 0x40;
            serve_bundle(v2, bytes, n);
            break;
        case 2: {
            uint8_t d[32];
            if (cmn_hex_decode(v2->sha, d, 32) || cmn_bundle_sign(&K.rogue, d, v2->sig))
                ok(0, "sign");
            break;
        }
        case 3: {
            uint8_t d[32];
            if (cmn_hex_decode(v2->sha, d, 32) || cmn_bundle_sign(&K.rogue, d, v2->sig))
                ok(0, "sign");
            memcpy(v2->keyid, K.rogue.keyid, CMN_KEYID_HEX);
            break;
        }
        case 4:
            mk = &K.rogue;
            break;
        case 5:
            exp = (int64_t)time(NULL) - 60;
            break;
        case 6: {
            /* The device first accepts sequence 11 (nothing new in it), then sees 10 offering v2. */
            publish_upto(2, 11);
            struct run r0 = agent(dev, NULL, "check", NULL, NULL);
            is_int(r0.code, 3, "replay: device accepted sequence 11");
            run_free(&r0);
            seq = 10;
            break;
        }
        case 7: {
            char *big = malloc(n + 4096);
            memcpy(big, bytes, n);
            memset(big + n, 'Z', 4096);
            serve_bundle(v2, big, n + 4096);
            free(big);
            break;
        }
        case 8:
            v2->size = n - 100;
            break; /* signed size lies low: the served file is bigger */
        case 9:
            rels[2] = V[3].rel;
            break;
        }
        free(bytes);
        if (publish(seq, exp, mk, rels, 3) != 0)
            ok(0, "publish tampered");
        struct run r = agent(dev, NULL, "update", NULL, NULL);
        is_int(r.code, 4, "%s: refused with exit 4", cases[i].what);
        const char *msg = r.js ? json_string_value(json_object_get(json_object_get(r.js, "error"), "message")) : NULL;
        ok(msg && msg[0] && strcmp(msg, "verification failed") != 0 && strcmp(msg, "unsafe archive refused") != 0,
           "%s: the one-line error says why: %s", cases[i].what, msg ? msg : "(none)");
        run_free(&r);
        is_str(installed(dev), "v1", "%s: installed release unchanged", cases[i].what);
        ok(has_bundle(dev, &V[1]), "%s: current/ unchanged", cases[i].what);
        ok(no_leftovers(dev), "%s: no staging/ or trash/", cases[i].what);
        serve_good_bundle(&V[2]);
    }
    char esc[4300];
    snprintf(esc, sizeof esc, "%s/dev/escape.js", TMP);
    ok(!hp_exists_file(esc), "zip slip wrote nothing outside the data dir");
}

static void test_edge(void)
{
    char dev[4300], p[4300];
    devdir(dev, sizeof dev, "edge");
    copy_dev(TEMPLATE, dev);
    snprintf(p, sizeof p, "%s/.edge-answer", WWW);
    unlink(p);
    struct run r = agent(dev, NULL, "update", "--edge", BASE);
    is_int(r.code, 3, "edge 204: no update");
    run_free(&r);

    /* An edge answering with another channel's (validly signed) manifest is refused. */
    struct cmn_buf out;
    struct fx_rel rels[3] = {V[0].rel, V[1].rel, V[2].rel};
    cmn_buf_init(&out, CMN_MANIFEST_MAX_BYTES);
    fx_manifest(&K.mkey, "demo", "android", "beta", 20, later(), rels, 3, &out);
    fx_write(p, out.ptr, out.len);
    cmn_buf_release(&out);
    r = agent(dev, NULL, "update", "--edge", BASE);
    is_int(r.code, 4, "edge answering another channel's manifest: refused");
    run_free(&r);
    ok(has_bundle(dev, &V[1]), "edge: current/ unchanged after refusal");

    cmn_buf_init(&out, CMN_MANIFEST_MAX_BYTES);
    fx_manifest(&K.rogue, "demo", "android", "production", 20, later(), rels, 3, &out);
    fx_write(p, out.ptr, out.len);
    cmn_buf_release(&out);
    r = agent(dev, NULL, "update", "--edge", BASE);
    is_int(r.code, 4, "edge answering a manifest signed by an unknown key: refused");
    run_free(&r);

    cmn_buf_init(&out, CMN_MANIFEST_MAX_BYTES);
    fx_manifest(&K.mkey, "demo", "android", "production", 20, later(), rels, 3, &out);
    fx_write(p, out.ptr, out.len);
    cmn_buf_release(&out);
    r = agent(dev, NULL, "update", "--edge", BASE);
    is_int(r.code, 0, "edge 200 with a good manifest: v2 installed");
    run_free(&r);
    ok(has_bundle(dev, &V[2]), "edge: current/ holds v2");
    char *log = read_www(".log");
    ok(log && strstr(log, "/v1/check?app=demo&platform=android&channel=production&binary_version=1.2.0"),
       "edge check request carries the device parameters");
    ok(log && strstr(log, "&release=v1"), "edge check names the installed release");
    free(log);
    unlink(p);

    /* Edge-held targeting list: v2 targeted to list "qa". The device cannot see
     * the list, so it accepts membership only for the release the edge names. */
    char named[4300];
    snprintf(named, sizeof named, "%s/.edge-release", WWW);
    devdir(dev, sizeof dev, "edge-list");
    copy_dev(TEMPLATE, dev);
    struct fx_rel lrels[3] = {V[0].rel, V[1].rel, V[2].rel};
    lrels[2].device_list = "qa";
    cmn_buf_init(&out, CMN_MANIFEST_MAX_BYTES);
    ok(fx_manifest(&K.mkey, "demo", "android", "production", 21, later(), lrels, 3, &out) == 0,
       "manifest with a list-targeted release");
    fx_write(p, out.ptr, out.len);
    cmn_buf_release(&out);
    unlink(named);
    r = agent(dev, NULL, "update", "--edge", BASE);
    is_int(r.code, 3, "list-targeted release without the edge naming it: not installed");
    run_free(&r);
    fx_write(named, "v0", 2);
    r = agent(dev, NULL, "update", "--edge", BASE);
    is_int(r.code, 3, "edge naming another release does not admit the list-targeted one");
    run_free(&r);
    ok(has_bundle(dev, &V[1]), "edge list: device still on v1");
    fx_write(named, "v2", 2);
    r = agent(dev, NULL, "update", "--edge", BASE);
    is_int(r.code, 0, "edge naming the list-targeted release: installed");
    run_free(&r);
    ok(has_bundle(dev, &V[2]), "edge list: current/ holds v2");
    unlink(named);
    unlink(p);
}

static void test_cut_and_resume(void)
{
    char dev[4300];
    devdir(dev, sizeof dev, "cut");
    copy_dev(TEMPLATE, dev);
    publish_upto(3, 30);
    clear_www(".log");
    set_ctl("{\"cut_after\": 100000}");
    struct run r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 5, "transfer cut mid-download: network error (exit 5)");
    run_free(&r);
    ok(has_bundle(dev, &V[1]), "cut: current/ unchanged");
    r = agent(dev, NULL, "status", NULL, NULL);
    is_str(jget(&r, "pending"), "v2", "cut: the partial download is remembered");
    run_free(&r);
    set_ctl(NULL);
    clear_www(".log");
    r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 0, "next run completes the update");
    run_free(&r);
    ok(has_bundle(dev, &V[2]), "resume: current/ holds v2 exactly");
    char *log = read_www(".log");
    char want[128];
    size_t total = V[2].rel.size;
    snprintf(want, sizeof want, "range=bytes=100000- status=206 sent=%zu", total - 100000);
    ok(log && strstr(log, want) != NULL, "resumed with a Range request for the rest only (%s)", want);
    diag("server log: %s", log ? log : "");
    free(log);

    /* A server that ignores Range after a cut: the agent starts over and still verifies. */
    devdir(dev, sizeof dev, "cut-norange");
    copy_dev(TEMPLATE, dev);
    set_ctl("{\"cut_after\": 50000}");
    r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 5, "second cut");
    run_free(&r);
    set_ctl("{\"ignore_range\": true}");
    r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 0, "server ignoring Range: full download, still installed");
    run_free(&r);
    ok(has_bundle(dev, &V[2]), "no-range resume: current/ holds v2 exactly");
    set_ctl(NULL);
}

static void test_crash_matrix(void)
{
    static const char *points[] = {"download-start", "download-mid", "download-done",    "verified",
                                   "extract-mid",    "staged",       "install-recorded", "swap-a",
                                   "swap-b",         "swap-c",       "installed"};
    publish_upto(3, 40);
    for (size_t i = 0; i < CMN_ARRAY_SIZE(points); i++) {
        char dev[4300], name[64];
        snprintf(name, sizeof name, "crash-%s", points[i]);
        devdir(dev, sizeof dev, name);
        copy_dev(TEMPLATE, dev);
        struct run r = agent(dev, points[i], "update", NULL, NULL);
        is_int(r.code, -SIGKILL, "killed at '%s'", points[i]);
        run_free(&r);
        r = agent(dev, NULL, "boot-begin", NULL, NULL);
        is_int(r.code, 0, "after kill at '%s': boot-begin works", points[i]);
        const char *inst = jget(&r, "installed");
        int v1 = inst && strcmp(inst, "v1") == 0 && has_bundle(dev, &V[1]);
        int v2 = inst && strcmp(inst, "v2") == 0 && has_bundle(dev, &V[2]);
        ok(v1 || v2, "after kill at '%s': boots a complete verified bundle (%s)", points[i], inst ? inst : "none");
        ok(no_leftovers(dev), "after kill at '%s': no staging/ or trash/", points[i]);
        run_free(&r);
        r = agent(dev, NULL, "update", NULL, NULL);
        ok(r.code == 0 || (r.code == 3 && v2), "after kill at '%s': next update finishes (exit %d)", points[i], r.code);
        run_free(&r);
        is_str(installed(dev), "v2", "after kill at '%s': v2 installed", points[i]);
        ok(has_bundle(dev, &V[2]), "after kill at '%s': current/ holds v2 exactly", points[i]);
    }
}

/*
 * The downloaded zip is a cache and is not fsynced: a power cut after the
 * download can leave it torn. Simulated by a kill after "verified" and the
 * zip cut to half its length: the next update fetches it again and installs,
 * and no "failed" report blames the release for a local loss.
 */
static void test_torn_zip(void)
{
    char dev[4300], pend[4400], zip[4700] = "";
    publish_upto(3, 45);
    devdir(dev, sizeof dev, "torn-zip");
    copy_dev(TEMPLATE, dev);
    struct run r = agent(dev, "verified", "update", NULL, NULL);
    is_int(r.code, -SIGKILL, "torn zip: killed after the download");
    run_free(&r);
    snprintf(pend, sizeof pend, "%s/pending", dev);
    DIR *d = opendir(pend);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".zip") == 0)
            snprintf(zip, sizeof zip, "%s/%s", pend, e->d_name);
    if (d)
        closedir(d);
    struct stat sb;
    ok(zip[0] && stat(zip, &sb) == 0 && truncate(zip, sb.st_size / 2) == 0, "torn zip: pending zip cut to half");
    clear_www(".reports");
    r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 0, "torn zip: the next update downloads it again and installs");
    run_free(&r);
    is_str(installed(dev), "v2", "torn zip: v2 installed");
    ok(has_bundle(dev, &V[2]), "torn zip: current/ holds v2 exactly");
    char *rep = read_www(".reports");
    ok(!rep || !strstr(rep, "\"status\":\"failed\""), "torn zip: no failed report for a local loss");
    free(rep);
}

static void test_boot_rollback(void)
{
    char dev[4300];
    devdir(dev, sizeof dev, "rollback");
    copy_dev(TEMPLATE, dev);
    publish_upto(3, 50);
    struct run r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 0, "v2 installed");
    run_free(&r);
    for (int i = 1; i <= 3; i++) {
        r = agent(dev, NULL, "boot-begin", NULL, NULL);
        ok(r.code == 0 && json_is_false(json_object_get(r.js, "rolled_back")) &&
               json_integer_value(json_object_get(r.js, "launches")) == i,
           "failed launch %d counted", i);
        run_free(&r);
    }
    r = agent(dev, NULL, "boot-begin", NULL, NULL);
    ok(r.code == 0 && json_is_true(json_object_get(r.js, "rolled_back")), "4th launch rolls back");
    is_str(jget(&r, "installed"), "v1", "back on v1");
    json_t *bl = json_object_get(r.js, "blocklist");
    ok(json_array_size(bl) == 1 && strcmp(json_string_value(json_array_get(bl, 0)), "v2") == 0, "v2 blocklisted");
    run_free(&r);
    ok(has_bundle(dev, &V[1]), "current/ holds v1 exactly");
    r = agent(dev, NULL, "update", NULL, NULL);
    is_int(r.code, 3, "the blocklisted release is not offered again");
    run_free(&r);
    char *rep = read_www(".reports");
    ok(rep && strstr(rep, "\"status\":\"rolled_back\""), "rolled_back report reached the publisher URL");
    free(rep);

    /* Kills during the revert. */
    static const char *points[] = {"boot-counted", "revert-recorded", "revert-a", "revert-b"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(points); i++) {
        char d2[4300], name[64];
        snprintf(name, sizeof name, "rb-%s", points[i]);
        devdir(d2, sizeof d2, name);
        copy_dev(TEMPLATE, d2);
        r = agent(d2, NULL, "update", NULL, NULL);
        run_free(&r);
        if (i > 0) { /* one failed launch first, so the next boot-begin reverts */
            r = agent(d2, NULL, "boot-begin", "--max-failed", "1");
            run_free(&r);
        }
        r = agent(d2, points[i], "boot-begin", "--max-failed", "1");
        is_int(r.code, -SIGKILL, "killed at '%s'", points[i]);
        run_free(&r);
        r = agent(d2, NULL, "boot-begin", "--max-failed", "1");
        const char *inst = jget(&r, "installed");
        ok(r.code == 0 && inst && strcmp(inst, "v1") == 0 && has_bundle(d2, &V[1]),
           "after kill at '%s': rolled back to a complete v1", points[i]);
        ok(no_leftovers(d2), "after kill at '%s': no leftovers", points[i]);
        run_free(&r);
    }
}

/*
 * Issue 12 #2: an app-store update changes the native binary under an installed OTA release.
 * The template device runs v1 (targets ">=1.0.0 <2.0.0") installed and confirmed on binary 1.2.0.
 */
static void test_binary_change(void)
{
    char dev[4300], p[4400];
    publish_upto(2, 1000); /* v0 and v1, both ">=1.0.0 <2.0.0" */
    /* 1.5.0 is admitted by the release's range: it keeps booting, nothing is reported. */
    devdir(dev, sizeof dev, "binary-compatible");
    copy_dev(TEMPLATE, dev);
    struct run r = agent(dev, NULL, "boot-begin", "--binary-version", "1.5.0");
    is_int(r.code, 0, "binary 1.2.0 -> 1.5.0: boot-begin");
    ok(r.js && json_is_false(json_object_get(r.js, "rolled_back")), "binary 1.5.0: no fallback");
    is_str(jget(&r, "installed"), "v1", "binary 1.5.0: v1 (targets <2.0.0) still boots");
    run_free(&r);
    ok(has_bundle(dev, &V[1]), "binary 1.5.0: current/ still holds v1");

    /* 2.0.0 is not: the embedded bundle boots, the app is told why, v1 and v0 leave the disk. */
    devdir(dev, sizeof dev, "binary-changed");
    copy_dev(TEMPLATE, dev);
    r = agent(dev, NULL, "status", "--binary-version", "2.0.0");
    is_int(r.code, 0, "binary 1.2.0 -> 2.0.0: status");
    ok(r.js && json_is_null(json_object_get(r.js, "installed")), "status: nothing installed for binary 2.0.0");
    run_free(&r);
    r = agent(dev, NULL, "boot-begin", "--binary-version", "2.0.0");
    is_int(r.code, 0, "binary 2.0.0: boot-begin");
    ok(r.js && json_is_true(json_object_get(r.js, "rolled_back")), "binary 2.0.0: boot-begin reports a fallback");
    is_str(jget(&r, "reason"), "binary_changed", "binary 2.0.0: the reason is the binary change");
    const char *detail = jget(&r, "detail");
    ok(detail && strstr(detail, "v1") && strstr(detail, "2.0.0"),
       "binary 2.0.0: the detail names release and binary: %s", detail ? detail : "(none)");
    ok(r.js && json_is_null(json_object_get(r.js, "bundle_path")) && json_is_null(json_object_get(r.js, "installed")),
       "binary 2.0.0: the embedded bundle boots, not current/");
    ok(r.js && json_is_null(json_object_get(r.js, "previous")), "binary 2.0.0: v0 (also <2.0.0) is no rollback target");
    run_free(&r);
    snprintf(p, sizeof p, "%s/current", dev);
    ok(!hp_exists_file(p), "binary 2.0.0: v1 is removed from disk (it no longer applies)");
    snprintf(p, sizeof p, "%s/previous", dev);
    ok(!hp_exists_file(p), "binary 2.0.0: v0 is removed from disk");
    r = agent(dev, NULL, "boot-begin", "--binary-version", "2.0.0");
    ok(r.code == 0 && r.js && json_is_false(json_object_get(r.js, "rolled_back")),
       "binary 2.0.0: the fallback is reported once");
    run_free(&r);
    r = agent(dev, NULL, "check", "--binary-version", "2.0.0");
    is_int(r.code, 3, "binary 2.0.0: check finds nothing for this binary (exit 3)");
    run_free(&r);
    r = agent(dev, NULL, "check", NULL, NULL);
    is_int(r.code, 0, "back on binary 1.2.0 the release is offered again (not blocklisted)");
    run_free(&r);
}

int main(void)
{
    const char *bin = getenv("HP_BIN");
    snprintf(AGENT, sizeof AGENT, "%s/hotpatch-agent", bin ? bin : "build/bin");
    snprintf(TMP, sizeof TMP, "%s", test_tmpdir());
    snprintf(WWW, sizeof WWW, "%s/www", TMP);
    fx_mkdirs(WWW);
    char devs[4300];
    snprintf(devs, sizeof devs, "%s/dev", TMP);
    fx_mkdirs(devs);
    if (access(AGENT, X_OK) != 0 || fx_keys_make(&K) != 0 || srv_start(&SRV, WWW) != 0) {
        ok(0, "setup (agent at %s, python3 server)", AGENT);
        return done_testing();
    }
    snprintf(BASE, sizeof BASE, "%s", SRV.base);
    make_versions();
    test_happy_and_template();
    if (!test_failures()) {
        test_tamper();
        test_edge();
        test_cut_and_resume();
        test_crash_matrix();
        test_torn_zip();
        test_boot_rollback();
        test_binary_change();
    }
    srv_stop(&SRV);
    return done_testing();
}
