/*
 * remote_test.c - the serverless read-modify-write of a channel manifest
 * (cli_channel_edit) on a real file:// store: a new channel gets a sequence
 * floored by the clock in ms; a writer that loses the conditional put (a
 * competing write lands between its read and its put) re-reads and re-applies
 * its change, so both changes survive and the sequence rises with each write;
 * a lost manifest is not silently restarted, and when restarted on purpose
 * its sequence stays above the lost one (issue 12 #1); a manifest signed by
 * another key is refused and left untouched; an edit that fails writes
 * nothing. Deterministic: the competing write is made from inside the edit
 * callback.
 */
#include "common/compat.h"

#include "../../../cli/cli.h"
#include "../../lib/test.h"

static struct cmn_storage *st;
static struct cmn_key mkey, other;

struct add_ctx {
    const char *version;
    int calls;
    int compete; /* on the first call, write a competing release first */
};

static int add_version(void *ctx, struct cmn_manifest *m, int is_new, int *skip);

static void put_release(struct cmn_release *r, const char *id, const char *version)
{
    memset(r, 0, sizeof(*r));
    r->id = (char *)id;
    r->version = (char *)version;
    r->target_binary = "*";
    if (cmn_semver_range_parse("*", &r->target))
        abort();
    r->bundle_url = "bundles/demo/android/aa.zip";
    memset(r->sha256, 'a', 64);
    r->sha256[64] = '\0';
    r->size = 1;
    r->bundle_sig = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
    memcpy(r->bundle_keyid, "0123456789abcdef", 17);
    r->rollout_bp = 10000;
    r->state = CMN_REL_ACTIVE;
    r->created_at = 1;
}

static int add_version(void *ctx, struct cmn_manifest *m, int is_new, int *skip)
{
    struct add_ctx *a = ctx;
    struct cmn_release r;
    char id[40];
    (void)is_new;
    (void)skip;
    a->calls++;
    if (a->compete && a->calls == 1) {
        /* Another writer lands first: a full edit of its own, nested. */
        struct add_ctx b = {"competitor", 0, 0};
        struct cli_edit_result res;
        if (cli_channel_edit(st, &mkey, "demo", "android", "production", 3600, 1, add_version, &b, &res) != 0)
            return CLI_EXIT_FAIL;
    }
    snprintf(id, sizeof(id), "rel_%s", a->version);
    put_release(&r, id, a->version);
    return cmn_manifest_add_release(m, &r) ? CLI_EXIT_FAIL : 0;
}

static int fail_edit(void *ctx, struct cmn_manifest *m, int is_new, int *skip)
{
    (void)ctx;
    (void)m;
    (void)is_new;
    (void)skip;
    return cli_fail(CLI_EXIT_CONFLICT, "refused by the test");
}

static struct cmn_manifest *read_back(void)
{
    struct cmn_keyring ring = {&mkey, 1};
    struct cmn_manifest *m = NULL;
    if (cli_channel_read(st, &ring, "demo", "android", "production", 0, &m, NULL) != 0)
        return NULL;
    return m;
}

static char *raw(void)
{
    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    cmn_buf_init(&b, 1 << 20);
    if (cmn_storage_get(st, "manifests/demo/android/production.json", NULL, &b, NULL, &eb)) {
        cmn_buf_release(&b);
        return NULL;
    }
    return cmn_buf_take(&b, NULL);
}

int main(void)
{
    char url[600];
    struct cmn_errbuf eb = {{0}};
    struct cli_edit_result res;
    struct cmn_manifest *m;
    struct add_ctx a1 = {"1.0.0", 0, 0}, a2 = {"2.0.0", 0, 1};
    char *before, *after;

    cli_out.quiet = 1;
    ok(cmn_crypto_init() == CMN_OK, "crypto init");
    ok(cmn_key_generate(&mkey) == CMN_OK && cmn_key_generate(&other) == CMN_OK, "two manifest keys");
    snprintf(url, sizeof(url), "file://%s", test_tmpdir());
    ok(cmn_storage_open(url, NULL, &st, &eb) == CMN_OK, "open %s: %s", url, eb.msg);

    is_int(cli_channel_edit(st, &mkey, "demo", "android", "production", 3600, 0, add_version, &a1, &res),
           CLI_EXIT_NOTFOUND, "create=0 on a missing channel: not found");
    cli_out.reported = 0;
    is_int(cli_channel_edit(st, &mkey, "demo", "android", "production", 3600, 1, add_version, &a1, &res), 0,
           "first release creates the channel");
    int64_t t0 = cmn_now_ms();
    uint64_t s1 = res.sequence;
    ok(s1 > 0 && s1 <= (uint64_t)t0 && s1 + 60000 > (uint64_t)t0, "new channel: sequence = the clock in ms (%llu)",
       (unsigned long long)s1);
    is_int(res.attempts, 1, "one attempt");
    ok(res.expires_at > (int64_t)time(NULL) + 3500, "expiry = now + ttl");

    a1.calls = 0;
    is_int(cli_channel_edit(st, &mkey, "demo", "android", "production", 3600, 1, add_version, &a2, &res), 0,
           "release that loses one race");
    is_int(a2.calls, 2, "the change was applied twice: to the stale read, then to the re-read manifest");
    is_int(res.attempts, 2, "two attempts");
    uint64_t s3 = res.sequence;
    ok(s3 >= s1 + 2, "sequence s1 -> competitor -> ours: two writes above s1 (%llu -> %llu)", (unsigned long long)s1,
       (unsigned long long)s3);
    m = read_back();
    ok(m != NULL, "stored manifest verifies");
    if (m) {
        is_int(m->n_releases, 3, "all three releases present: nothing lost");
        is_str(m->releases[1].version, "competitor", "competitor's release kept");
        is_str(m->releases[2].version, "2.0.0", "ours appended after it");
        ok(m->sequence == s3, "stored sequence is ours");
        cmn_manifest_free(m);
    }

    /* An edit that fails writes nothing. */
    before = raw();
    cli_out.reported = 0;
    is_int(cli_channel_edit(st, &mkey, "demo", "android", "production", 3600, 1, fail_edit, NULL, &res),
           CLI_EXIT_CONFLICT, "failing edit returns its exit code");
    after = raw();
    ok(before && after && strcmp(before, after) == 0, "failing edit left the manifest byte-identical");
    free(after);

    /* Someone else's manifest key: refused, untouched. */
    cli_out.reported = 0;
    a1.calls = 0;
    is_int(cli_channel_edit(st, &other, "demo", "android", "production", 3600, 1, add_version, &a1, &res),
           CLI_EXIT_VERIFY, "manifest signed by another key: refused (exit 5)");
    is_int(a1.calls, 0, "the change was never applied");
    after = raw();
    ok(before && after && strcmp(before, after) == 0, "refused edit left the manifest byte-identical");
    free(after);
    free(before);

    /* pick: by id, by version, newest in a state */
    m = read_back();
    if (m) {
        m->releases[2].state = CMN_REL_ROLLED_BACK;
        is_int(cli_pick_release(m, "rel_1.0.0", NULL, 0), 0, "pick by id");
        is_int(cli_pick_release(m, NULL, "competitor", 0), 1, "pick by version");
        is_int(cli_pick_release(m, NULL, NULL, 1u << CMN_REL_ACTIVE), 1, "newest active skips the rolled-back one");
        cli_out.reported = 0;
        is_int(cli_pick_release(m, "rel_nope", NULL, 0), -1, "unknown id: -1");
        cmn_manifest_free(m);
    }
    /* Issue 12 #1: the manifest is lost while the app's bundle is still stored; creating the
     * channel again is refused, and when told it is new its sequence is still above the lost one. */
    {
        struct cmn_errbuf deb = {{0}};
        ok(cmn_storage_put(st, "bundles/demo/android/aa.zip", "zip", 3, NULL, NULL, &deb) == CMN_OK,
           "the app's bundle is in storage");
        m = read_back();
        uint64_t lost = m ? m->sequence : 0;
        cmn_manifest_free(m);
        ok(cmn_storage_delete(st, "manifests/demo/android/production.json", &deb) == CMN_OK, "manifest deleted");
        cli_out.reported = 0;
        a1.calls = 0;
        is_int(
            cli_channel_edit(st, &mkey, "demo", "android", "production", 3600, CLI_EDIT_CREATE, add_version, &a1, &res),
            CLI_EXIT_CONFLICT, "a lost manifest is not silently restarted (other channels/bundles exist)");
        is_int(a1.calls, 0, "the change was never applied");
        ok(raw() == NULL, "nothing written");
        cli_out.reported = 0;
        is_int(cli_channel_edit(st, &mkey, "demo", "android", "production", 3600,
                                CLI_EDIT_CREATE | CLI_EDIT_NEW_CHANNEL, add_version, &a1, &res),
               0, "--new-channel restarts it");
        ok(res.sequence > lost, "restarted above the lost sequence (%llu > %llu): devices accept it",
           (unsigned long long)res.sequence, (unsigned long long)lost);
        /* an empty store: the first channel of an app needs no flag */
        is_int(cli_channel_may_create(st, "fresh", "android", "production", NULL), 0,
               "a new app in storage: creating its first channel is allowed");
        is_int(cli_channel_may_create(st, "demo", "android", "beta", NULL), CLI_EXIT_CONFLICT,
               "a second channel of an app with one is refused without --new-channel");
        cli_out.reported = 0;
    }

    cmn_storage_free(st);
    cmn_key_clear(&mkey);
    cmn_key_clear(&other);
    return done_testing();
}
