#include "common/compat.h"

/*
 * state_test.c - state.json: render/parse round trip, checksum and field
 * validation, torn writes (truncated at every length, garbage, missing) fall
 * back to the backup or to a safe default, and hp_open() on such a data dir
 * still yields a bootable device.
 */

#include "../../../sdk/hp_int.h"
#include "../../lib/test.h"
#include "sdk_fixture.h"

static void fill(struct hp_state *st)
{
    hp__state_init(st);
    st->has_installed = 1;
    hp__rel_set(&st->installed, "rel-2", "1.0.2", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    hp__rel_bind(&st->installed, ">=1.0.0 <2.0.0", "1.2.0");
    snprintf(st->boot_note, sizeof st->boot_note, "a note \"quoted\"");
    st->has_previous = 1;
    hp__rel_set(&st->previous, "rel-1", "1.0.1 \"quoted\"",
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    st->sequence = 42;
    st->launches = 2;
    st->confirmed = 0;
    (void)hp__state_block(st, "bad-1");
    (void)hp__state_block(st, "bad-2");
    st->has_pending = 1;
    hp__rel_set(&st->pending.rel, "rel-3", "1.0.3", "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
    st->pending.size = 12345;
    st->pending.url = strdup("http://127.0.0.1:9/bundles/x.zip");
    memset(st->pending.bundle_sig, 'A', 86);
    st->pending.bundle_sig[86] = '=';
    st->pending.bundle_sig[87] = '=';
    memcpy(st->pending.bundle_keyid, "0123456789abcdef", 17);
    st->op = HP_OP_REVERT;
    st->op_rel = st->installed;
    st->op_to_previous = 1;
    st->op_blocklist = 1;
}

static int same_state(const struct hp_state *a, const struct hp_state *b)
{
    char *ra = NULL, *rb = NULL;
    size_t la, lb;
    if (hp__state_render(a, &ra, &la) || hp__state_render(b, &rb, &lb))
        return 0;
    int eq = la == lb && memcmp(ra, rb, la) == 0;
    free(ra);
    free(rb);
    return eq;
}

/* Re-checksum a hand-edited document so only the field validation can refuse it. */
static char *resum(json_t *o)
{
    uint8_t d[32];
    char hex[65];
    json_object_del(o, "checksum");
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    cmn_sha256(s, strlen(s), d);
    free(s);
    cmn_hex_encode(d, 32, hex);
    json_object_set_new(o, "checksum", json_string(hex));
    return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

static void test_round_trip(void)
{
    struct hp_state a, b;
    char *s = NULL;
    size_t n = 0;
    fill(&a);
    ok(hp__state_render(&a, &s, &n) == CMN_OK, "render");
    hp__state_init(&b);
    struct cmn_errbuf eb = {{0}};
    is_int(hp__state_parse(s, n, &b, &eb), CMN_OK, "parse what was rendered (%s)", eb.msg);
    ok(same_state(&a, &b), "round trip keeps every field");
    is_str(b.previous.version, "1.0.1 \"quoted\"", "escaped version survives");
    is_int(b.n_blocklist, 2, "blocklist");
    ok(b.op == HP_OP_REVERT && b.op_to_previous && b.op_blocklist, "op survives");
    is_int(b.pending.size, 12345, "pending size");

    /* Any single flipped byte is caught (checksum or syntax). */
    int caught = 0;
    for (size_t i = 0; i < n; i++) {
        struct hp_state c;
        char *t = malloc(n);
        memcpy(t, s, n);
        t[i] ^= 0x01;
        hp__state_init(&c);
        if (hp__state_parse(t, n, &c, NULL) != CMN_OK)
            caught++;
        hp__state_release(&c);
        free(t);
    }
    is_int(caught, n, "every single-bit flip is refused");

    /* Every truncation is refused. */
    caught = 0;
    for (size_t i = 0; i < n; i++) {
        struct hp_state c;
        hp__state_init(&c);
        void *g = test_guard_alloc(s, i);
        if (hp__state_parse(g, i, &c, NULL) != CMN_OK)
            caught++;
        test_guard_free(g);
        hp__state_release(&c);
    }
    is_int(caught, n, "every truncation is refused");

    /* Field validation behind a valid checksum. */
    json_error_t je;
    const char *bad_edits[][2] = {
        {"installed",
         "{\"id\":\"../../"
         "etc\",\"version\":\"1\",\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"},
        {"installed", "{\"id\":\"ok\",\"version\":\"1\",\"sha256\":\"../x\"}"},
        {"launches", "-1"},
        {"sequence", "\"7\""},
        {"blocklist", "[\"a/b\"]"},
        {"op", "{\"kind\":\"explode\",\"release\":null,\"to_previous\":false,\"blocklist\":false}"},
        {"extra", "1"},
        {"format", "2"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad_edits); i++) {
        json_t *o = json_loadb(s, n, 0, &je);
        json_object_set_new(o, bad_edits[i][0], json_loads(bad_edits[i][1], JSON_DECODE_ANY, &je));
        char *t = resum(o);
        struct hp_state c;
        hp__state_init(&c);
        ok(hp__state_parse(t, strlen(t), &c, NULL) != CMN_OK, "refuses %s=%s", bad_edits[i][0], bad_edits[i][1]);
        hp__state_release(&c);
        free(t);
        json_decref(o);
    }
    /* The same hand-edit with a valid value is accepted (the resum helper is right). */
    {
        json_t *o = json_loadb(s, n, 0, &je);
        json_object_set_new(o, "launches", json_integer(5));
        char *t = resum(o);
        struct hp_state c;
        hp__state_init(&c);
        ok(hp__state_parse(t, strlen(t), &c, NULL) == CMN_OK && c.launches == 5, "valid hand edit accepted");
        hp__state_release(&c);
        free(t);
        json_decref(o);
    }
    free(s);
    hp__state_release(&a);
    hp__state_release(&b);
}

static void test_load_fallbacks(void)
{
    char dir[4096], p[4200], pb[4200];
    snprintf(dir, sizeof dir, "%s/st", test_tmpdir());
    fx_mkdirs(dir);
    snprintf(p, sizeof p, "%s/state.json", dir);
    snprintf(pb, sizeof pb, "%s/state.json.bak", dir);
    struct hp_state a, b;
    int src = -1;
    struct cmn_errbuf eb = {{0}};

    hp__state_init(&b);
    ok(hp__state_load(dir, &b, &src, &eb) == CMN_OK && src == 0 && !b.has_installed && b.confirmed,
       "missing state: fresh default");
    hp__state_release(&b);

    fill(&a);
    a.op = HP_OP_NONE;
    ok(hp__state_save(dir, &a, &eb) == CMN_OK, "save");
    is_int(a.gen, 1, "generation counted");
    hp__state_init(&b);
    ok(hp__state_load(dir, &b, &src, &eb) == CMN_OK && src == 0 && same_state(&a, &b), "load main");
    hp__state_release(&b);

    size_t n = 0;
    char *orig = fx_read(p, &n);
    int good = 0;
    for (size_t cut = 0; cut < n; cut++) {
        fx_write(p, orig, cut);
        hp__state_init(&b);
        if (hp__state_load(dir, &b, &src, NULL) == CMN_OK && src == 1 && same_state(&a, &b))
            good++;
        hp__state_release(&b);
    }
    is_int(good, n, "state.json torn at any length: the backup is used");

    fx_write(p, "\x00\xff garbage", 10);
    fx_write(pb, "{\"format\":1}", 12);
    hp__state_init(&b);
    memset(&eb, 0, sizeof eb);
    ok(hp__state_load(dir, &b, &src, &eb) == CMN_OK && src == 2 && !b.has_installed && b.confirmed && b.sequence == 0,
       "both corrupt: safe default (embedded bundle)");
    ok(strstr(eb.msg, "unreadable") != NULL, "and says why: %s", eb.msg);
    hp__state_release(&b);
    unlink(p);
    hp__state_init(&b);
    ok(hp__state_load(dir, &b, &src, NULL) == CMN_OK && src == 2, "main missing, backup corrupt: default");
    hp__state_release(&b);
    free(orig);
    hp__state_release(&a);
}

static hp_client *open_client(const struct fx_keys *k, const char *dir, hp_status *st)
{
    hp_client *c = NULL;
    if (hp_client_new(&c) != HP_OK)
        return NULL;
    *st = HP_E_INVAL;
    if (hp_setopt_str(c, HP_OPT_DATA_DIR, dir) || hp_setopt_str(c, HP_OPT_APP, "demo") ||
        hp_setopt_str(c, HP_OPT_PLATFORM, "android") || hp_setopt_str(c, HP_OPT_CHANNEL, "production") ||
        hp_setopt_str(c, HP_OPT_BINARY_VERSION, "1.2.0") || hp_setopt_str(c, HP_OPT_DEVICE_ID, "dev-1") ||
        hp_setopt_str(c, HP_OPT_MANIFEST_BASE_URL, "http://127.0.0.1:9") ||
        hp_setopt_str(c, HP_OPT_MANIFEST_KEY, k->mkey_b64) || hp_setopt_str(c, HP_OPT_RELEASE_KEY, k->rkey_b64) ||
        hp_setopt_str(c, HP_OPT_EMBEDDED_BUNDLE_PATH, "/embedded"))
        return c;
    *st = hp_open(c);
    return c;
}

static void test_open_torn(const struct fx_keys *k)
{
    char dir[4096], p[4200], cur[4200], f[4300];
    snprintf(dir, sizeof dir, "%s/dev", test_tmpdir());
    fx_mkdirs(dir);
    snprintf(cur, sizeof cur, "%s/current", dir);
    snprintf(f, sizeof f, "%s/current/index.js", dir);
    fx_write(f, "v2", 2);
    struct hp_state a;
    hp__state_init(&a);
    a.has_installed = 1;
    hp__rel_set(&a.installed, "rel-2", "2", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    hp__rel_bind(&a.installed, "*", NULL); /* a release that admits any binary */
    a.confirmed = 1;
    a.sequence = 9;
    ok(hp__state_save(dir, &a, NULL) == CMN_OK, "device with rel-2 installed");
    hp__state_release(&a);

    snprintf(p, sizeof p, "%s/state.json", dir);
    size_t n;
    char *orig = fx_read(p, &n);
    fx_write(p, orig, n / 2);
    free(orig);
    hp_status st;
    hp_client *c = open_client(k, dir, &st);
    is_int(st, HP_OK, "hp_open with a torn state.json (%s)", hp_errmsg(c));
    is_str(hp_installed_release(c), "rel-2", "installed release recovered from the backup");
    is_int(hp_manifest_sequence(c), 9, "sequence recovered");
    is_str(hp_bundle_path(c), cur, "boots current/");
    hp_client_free(c);
    char *again = fx_read(p, &n);
    struct hp_state b;
    hp__state_init(&b);
    ok(again && hp__state_parse(again, n, &b, NULL) == CMN_OK, "state.json rewritten whole after recovery");
    hp__state_release(&b);
    free(again);

    char pb[4200];
    snprintf(pb, sizeof pb, "%s/state.json.bak", dir);
    fx_write(p, "}}}}", 4);
    fx_write(pb, "", 0);
    c = open_client(k, dir, &st);
    is_int(st, HP_OK, "hp_open with both state files destroyed");
    ok(hp_installed_release(c) == NULL, "nothing installed: safe default");
    is_str(hp_bundle_path(c), "/embedded", "boots the embedded bundle");
    ok(!hp__exists(cur), "unverifiable current/ removed");
    ok(strstr(hp_errmsg(c), "unreadable") != NULL, "open leaves a note: %s", hp_errmsg(c));
    int rb = 0;
    is_int(hp_boot_begin(c, &rb), HP_OK, "boot-begin works on the default state");
    hp_client_free(c);
}

/* Issue 12 #2: the binding of a release to its target range and binary. */
static void test_binding(void)
{
    struct hp_rel r;
    hp__rel_set(&r, "rel-1", "1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ok(!hp__rel_admits(&r, "1.0.0"), "no recorded range admits nothing (state from before the binding)");
    is_int(hp__rel_bind(&r, "1.0.x", "1.0.3"), 0, "bind 1.0.x under binary 1.0.3");
    ok(hp__rel_admits(&r, "1.0.9") && !hp__rel_admits(&r, "2.0.0") && !hp__rel_admits(&r, "not a version"),
       "1.0.x admits 1.0.9, not 2.0.0 nor garbage");
    is_str(r.binary, "1.0.3", "binary recorded");
    is_int(hp__rel_bind(&r, ">>1", NULL), -1, "a bad range is refused");
    is_int(hp__rel_bind(&r, NULL, "x.y"), -1, "a bad binary version is refused");
    is_str(r.target_binary, "1.0.x", "a refused bind changes nothing");
    /* a legacy 3-field release and a 5-field one both load; a 4th unknown field does not */
    struct hp_state a, b;
    fill(&a);
    char *txt = NULL;
    size_t n = 0;
    ok(hp__state_render(&a, &txt, &n) == CMN_OK && strstr(txt, "\"target_binary\":\">=1.0.0 <2.0.0\"") &&
           strstr(txt, "\"binary\":\"1.2.0\"") && strstr(txt, "\"boot_note\""),
       "binding and boot note are written");
    hp__state_init(&b);
    is_int(hp__state_parse(txt, n, &b, NULL), CMN_OK, "and read back");
    ok(!strcmp(b.installed.binary, "1.2.0") && !strcmp(b.boot_note, "a note \"quoted\""), "with their values");
    hp__state_release(&b);
    free(txt);
    hp__state_release(&a);
}

int main(void)
{
    struct fx_keys k;
    if (fx_keys_make(&k) != 0) {
        ok(0, "keys");
        return done_testing();
    }
    test_round_trip();
    test_binding();
    test_load_fallbacks();
    test_open_torn(&k);
    return done_testing();
}
