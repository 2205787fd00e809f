#include "common/compat.h"

/*
 * boot_test.c - install and the boot protocol through the public API, without
 * a network: archives are placed in pending/ as hp_download() would leave
 * them. Covers: the launch counter persisted before the bundle runs, boot-ok,
 * rollback after N failed launches to previous/ and to the embedded bundle,
 * the blocklist, queued reports, verification refusals at install time
 * (nothing installed), and crash recovery of a half-done install or revert
 * from every intermediate directory layout.
 */

#include "../../../sdk/hp_int.h"
#include "../../lib/test.h"
#include "sdk_fixture.h"

static struct fx_keys K;
static char DIR_[4096];
static int MAXF = 3;

static hp_client *open_dev(const char *dir)
{
    hp_client *c = NULL;
    if (hp_client_new(&c) != HP_OK)
        return NULL;
    if (hp_setopt_str(c, HP_OPT_DATA_DIR, dir) || hp_setopt_str(c, HP_OPT_APP, "demo") ||
        hp_setopt_str(c, HP_OPT_PLATFORM, "android") || hp_setopt_str(c, HP_OPT_CHANNEL, "production") ||
        hp_setopt_str(c, HP_OPT_BINARY_VERSION, "1.2.0") || hp_setopt_str(c, HP_OPT_DEVICE_ID, "dev-1") ||
        hp_setopt_str(c, HP_OPT_MANIFEST_BASE_URL, "http://127.0.0.1:9") ||
        hp_setopt_str(c, HP_OPT_MANIFEST_KEY, K.mkey_b64) || hp_setopt_str(c, HP_OPT_RELEASE_KEY, K.rkey_b64) ||
        hp_setopt_str(c, HP_OPT_EMBEDDED_BUNDLE_PATH, "/embedded") ||
        hp_setopt_int(c, HP_OPT_MAX_FAILED_LAUNCHES, MAXF) || hp_open(c) != HP_OK) {
        diag("open: %s", hp_errmsg(c));
        hp_client_free(c);
        return NULL;
    }
    return c;
}

/* A bundle zip whose index.js says `body`. */
static void make_zip(const char *path, const char *body)
{
    const char *names[] = {"index.js", "assets/", "assets/x.txt"};
    const char *bodies[] = {body, "", "asset"};
    if (fx_zip(path, names, bodies, NULL, 3) != 0)
        abort();
}

/*
 * Stage `zip` in pending/ as a completed download of release `id`, signed by
 * `signer` (claiming key id `keyid`), and return the offer to install.
 */
static struct hp_offer *stage(hp_client *c, const char *id, const char *zip, const struct cmn_key *signer,
                              const char *keyid)
{
    struct fx_rel r = {0};
    if (fx_sign_file(&r, signer, zip) != 0)
        abort();
    struct hp_offer *o = calloc(1, sizeof *o);
    o->kind = HP_OFFER_UPDATE;
    hp__rel_set(&o->p.rel, id, id, r.sha);
    hp__rel_bind(&o->p.rel, "*", NULL); /* the offer's signed target range, as hp_check records it */
    o->p.size = r.size;
    o->p.url = strdup("http://127.0.0.1:9/x.zip");
    memcpy(o->p.bundle_sig, r.sig, sizeof r.sig);
    memcpy(o->p.bundle_keyid, keyid ? keyid : r.keyid, CMN_KEYID_HEX);
    hp__pending_clear(&c->st.pending);
    c->st.pending = o->p;
    c->st.pending.url = strdup(o->p.url);
    c->st.has_pending = 1;
    char dst[4300];
    snprintf(dst, sizeof dst, "%s/pending/%s.zip", c->data_dir, r.sha);
    size_t n;
    char *bytes = fx_read(zip, &n);
    fx_write(dst, bytes, n);
    free(bytes);
    if (hp__state_save(c->data_dir, &c->st, NULL) != CMN_OK)
        abort();
    return o;
}

static char *cur_body(const char *dir, const char *sub)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s/index.js", dir, sub);
    return fx_read(p, NULL);
}

static int reports_with(hp_client *c, const char *status, const char *release)
{
    int n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(c->reports, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "status")), status) == 0 &&
            strcmp(json_string_value(json_object_get(v, "release_id")), release) == 0)
            n++;
    }
    return n;
}

static int install(const char *dir, const char *id, const char *body)
{
    char zp[4300];
    fx_mkdirs(dir);
    snprintf(zp, sizeof zp, "%s/../%s.zip", dir, id);
    make_zip(zp, body);
    hp_client *c = open_dev(dir);
    if (!c)
        return -1;
    struct hp_offer *o = stage(c, id, zp, &K.rkey, NULL);
    hp_status s = hp_install(c, o);
    if (s)
        diag("install %s: %s", id, hp_errmsg(c));
    hp_offer_free(o);
    hp_client_free(c);
    return s;
}

static void test_boot_protocol(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/boot", DIR_);
    hp_client *c = open_dev(dir);
    int rb = -1;
    ok(c != NULL, "fresh device opens");
    is_int(hp_boot_begin(c, &rb), HP_OK, "boot-begin on the embedded bundle");
    is_str(hp_bundle_path(c), "/embedded", "embedded bundle path");
    is_int(hp_launch_count(c), 0, "embedded launches are not counted");
    hp_client_free(c);

    is_int(install(dir, "v1", "one"), HP_OK, "install v1");
    c = open_dev(dir);
    is_str(hp_installed_release(c), "v1", "v1 installed");
    ok(!hp_boot_confirmed(c), "v1 not yet confirmed");
    ok(reports_with(c, "applied", "v1") == 1, "applied report queued");
    is_int(hp_boot_begin(c, &rb), HP_OK, "boot-begin v1");
    is_int(hp_launch_count(c), 1, "launch counted");
    hp_client_free(c);
    c = open_dev(dir);
    is_int(hp_launch_count(c), 1, "counter persisted before the bundle runs");
    char *b = cur_body(dir, "current");
    is_str(b, "one", "current/ holds v1");
    free(b);
    is_int(hp_boot_ok(c), HP_OK, "boot-ok");
    ok(hp_boot_confirmed(c) && hp_launch_count(c) == 0, "confirmed, counter cleared");
    hp_client_free(c);

    is_int(install(dir, "v2", "two"), HP_OK, "install v2");
    for (int i = 1; i <= MAXF; i++) {
        c = open_dev(dir);
        is_int(hp_boot_begin(c, &rb), HP_OK, "launch %d of v2", i);
        ok(rb == 0 && hp_launch_count(c) == i, "no rollback yet, %d failed launches", i);
        hp_client_free(c); /* crash: no boot-ok */
    }
    c = open_dev(dir);
    is_str(hp_previous_release(c), "v1", "previous is v1");
    is_int(hp_boot_begin(c, &rb), HP_OK, "launch after %d failures", MAXF);
    is_int(rb, 1, "rolled back");
    is_str(hp_installed_release(c), "v1", "back on v1");
    ok(hp_previous_release(c) == NULL, "no previous any more");
    ok(hp_blocklist_count(c) == 1 && strcmp(hp_blocklist_at(c, 0), "v2") == 0, "v2 blocklisted");
    ok(reports_with(c, "rolled_back", "v2") == 1, "rolled_back report queued");
    ok(hp_boot_confirmed(c) && hp_launch_count(c) == 0, "v1 runs as confirmed");
    b = cur_body(dir, "current");
    is_str(b, "one", "current/ holds v1 again");
    free(b);
    char pp[4300];
    snprintf(pp, sizeof pp, "%s/previous", dir);
    ok(!hp__exists(pp), "previous/ removed with the state's previous");
    hp_client_free(c);

    /* Rollback with no previous: back to the embedded bundle. */
    snprintf(dir, sizeof dir, "%s/boot-embedded", DIR_);
    is_int(install(dir, "solo", "solo"), HP_OK, "install a first release");
    for (int i = 0; i < MAXF; i++) {
        c = open_dev(dir);
        if (hp_boot_begin(c, &rb) != HP_OK)
            diag("boot-begin: %s", hp_errmsg(c));
        hp_client_free(c);
    }
    c = open_dev(dir);
    is_int(hp_boot_begin(c, &rb), HP_OK, "boot-begin after failures");
    ok(rb == 1 && hp_installed_release(c) == NULL, "rolled back to the embedded bundle");
    is_str(hp_bundle_path(c), "/embedded", "embedded path");
    ok(hp_blocklist_count(c) == 1, "solo blocklisted");
    char p[4300];
    snprintf(p, sizeof p, "%s/current", dir);
    ok(!hp__exists(p), "current/ gone");
    hp_client_free(c);
}

static void test_install_refusals(void)
{
    char dir[4200], zp[4300], bad[4300];
    snprintf(dir, sizeof dir, "%s/refuse", DIR_);
    is_int(install(dir, "good", "good"), HP_OK, "device on a good release");
    snprintf(zp, sizeof zp, "%s/new.zip", DIR_);
    make_zip(zp, "new");

    struct {
        const char *what;
        int kind;
        hp_status want;
    } cases[] = {
        {"archive byte flipped after download", 0, HP_E_VERIFY},
        {"signed by an untrusted key claiming the trusted key id", 1, HP_E_VERIFY},
        {"signed by an unknown key id", 2, HP_E_VERIFY},
        {"correctly signed but hostile archive (zip slip)", 3, HP_E_UNSAFE},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(cases); i++) {
        hp_client *c = open_dev(dir);
        struct hp_offer *o;
        if (cases[i].kind == 3) {
            snprintf(bad, sizeof bad, "%s/slip.zip", DIR_);
            const char *names[] = {"ok.js", "../../../escaped.js"};
            const char *bodies[] = {"x", "pwned"};
            fx_zip(bad, names, bodies, NULL, 2);
            o = stage(c, "slip", bad, &K.rkey, NULL);
        } else if (cases[i].kind == 1) {
            o = stage(c, "new", zp, &K.rogue, K.rkey.keyid);
        } else if (cases[i].kind == 2) {
            o = stage(c, "new", zp, &K.rogue, NULL);
        } else {
            o = stage(c, "new", zp, &K.rkey, NULL);
            char pz[4400];
            snprintf(pz, sizeof pz, "%s/pending/%s.zip", dir, o->p.rel.sha256);
            size_t n;
            char *bytes = fx_read(pz, &n);
            bytes[n / 2] ^= 1;
            fx_write(pz, bytes, n);
            free(bytes);
        }
        hp_status s = hp_install(c, o);
        is_int(s, cases[i].want, "%s: refused (%s)", cases[i].what, hp_errmsg(c));
        is_str(hp_installed_release(c), "good", "%s: installed release unchanged", cases[i].what);
        char *b = cur_body(dir, "current");
        is_str(b, "good", "%s: current/ unchanged", cases[i].what);
        free(b);
        ok(hp_pending_release(c) == NULL, "%s: pending download discarded", cases[i].what);
        ok(reports_with(c, "failed", o->p.rel.id) >= 1, "%s: failed report queued", cases[i].what);
        hp_offer_free(o);
        hp_client_free(c);
    }
    char esc[4300];
    snprintf(esc, sizeof esc, "%s/escaped.js", DIR_);
    ok(!hp__exists(esc), "zip slip wrote nothing outside the data dir");
    snprintf(esc, sizeof esc, "%s/staging", dir);
    ok(!hp__exists(esc), "no staging/ left behind");
}

/* Crash recovery: a recorded op with each possible directory layout is finished by hp_open(). */
static void test_recovery(void)
{
    for (int steps = 0; steps <= 3; steps++) {
        char dir[4200], zp[4300], stg[4300];
        snprintf(dir, sizeof dir, "%s/rec-install-%d", DIR_, steps);
        install(dir, "r0", "zero");
        install(dir, "r1", "one");
        hp_client *c = open_dev(dir);
        snprintf(zp, sizeof zp, "%s/../r2.zip", dir);
        make_zip(zp, "two");
        struct hp_offer *o = stage(c, "r2", zp, &K.rkey, NULL);
        snprintf(stg, sizeof stg, "%s/staging", dir);
        mkdir(stg, 0755);
        struct hp_extract_limits lim;
        hp__extract_limits_default(&lim);
        ok(hp__extract_file(zp, stg, &lim, NULL) == CMN_OK, "staged r2");
        c->st.op = HP_OP_INSTALL;
        c->st.op_rel = o->p.rel;
        hp__state_save(dir, &c->st, NULL);
        const char *moves[][2] = {{"previous", "trash"}, {"current", "previous"}, {"staging", "current"}};
        for (int i = 0; i < steps; i++) {
            char a[4300], b[4300];
            snprintf(a, sizeof a, "%s/%s", dir, moves[i][0]);
            snprintf(b, sizeof b, "%s/%s", dir, moves[i][1]);
            if (rename(a, b) != 0)
                diag("rename %s: %s", a, strerror(errno));
        }
        hp_offer_free(o);
        hp_client_free(c); /* "crash" */
        c = open_dev(dir);
        ok(c != NULL, "install interrupted after %d renames: open recovers", steps);
        is_str(hp_installed_release(c), "r2", "install after %d renames: rolled forward to r2", steps);
        is_str(hp_previous_release(c), "r1", "install after %d renames: previous is r1", steps);
        char *b = cur_body(dir, "current"), *pb = cur_body(dir, "previous");
        ok(b && pb && strcmp(b, "two") == 0 && strcmp(pb, "one") == 0, "install after %d renames: directories right",
           steps);
        free(b);
        free(pb);
        char t[4300];
        snprintf(t, sizeof t, "%s/trash", dir);
        ok(!hp__exists(t) && !hp__exists(stg), "install after %d renames: no leftovers", steps);
        ok(c && c->st.op == HP_OP_NONE, "install after %d renames: op cleared", steps);
        hp_client_free(c);
    }
    for (int steps = 0; steps <= 2; steps++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/rec-revert-%d", DIR_, steps);
        install(dir, "r0", "zero");
        install(dir, "r1", "one");
        hp_client *c = open_dev(dir);
        c->st.op = HP_OP_REVERT;
        c->st.op_rel = c->st.installed;
        c->st.op_to_previous = 1;
        c->st.op_blocklist = 1;
        hp__state_save(dir, &c->st, NULL);
        const char *moves[][2] = {{"current", "trash"}, {"previous", "current"}};
        for (int i = 0; i < steps; i++) {
            char a[4300], b[4300];
            snprintf(a, sizeof a, "%s/%s", dir, moves[i][0]);
            snprintf(b, sizeof b, "%s/%s", dir, moves[i][1]);
            rename(a, b);
        }
        hp_client_free(c);
        c = open_dev(dir);
        is_str(hp_installed_release(c), "r0", "revert after %d renames: back on r0", steps);
        ok(hp_blocklist_count(c) == 1 && strcmp(hp_blocklist_at(c, 0), "r1") == 0,
           "revert after %d renames: r1 blocklisted", steps);
        char *b = cur_body(dir, "current");
        is_str(b, "zero", "revert after %d renames: current/ holds r0", steps);
        free(b);
        hp_client_free(c);
    }
}

int main(void)
{
    if (fx_keys_make(&K) != 0) {
        ok(0, "keys");
        return done_testing();
    }
    snprintf(DIR_, sizeof DIR_, "%s", test_tmpdir());
    test_boot_protocol();
    test_install_refusals();
    test_recovery();
    return done_testing();
}
