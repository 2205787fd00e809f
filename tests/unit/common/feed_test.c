/*
 * Unit tests for the change feed and the snapshot (feed.h): parse / render
 * round trip, every malformed shape refused, the merge rule (a higher
 * sequence wins), the writers' loop on a real file:// store (a missing feed
 * is rebuilt from a listing, a corrupt one too, eight processes racing lose
 * no entry), and snapshots of real signed manifests (round trip, reuse of
 * unchanged envelopes, refusal of ones that do not verify).
 */
#include "common/compat.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/test.h"
#include "common/crypto.h"
#include "common/feed.h"
#include "common/manifest.h"
#include "common/storage.h"

static struct cmn_storage *ST;
static struct cmn_key K, OTHER;

static int parse(const char *s, struct cmn_feed *f)
{
    return cmn_feed_parse(s, strlen(s), f, NULL);
}

static void t_parse(void)
{
    struct cmn_feed f, g;
    struct cmn_buf b;
    cmn_feed_init(&f);
    cmn_feed_init(&g);
    const char *good = "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":3,\"updated_at\":5,\"manifests\":["
                       "{\"key\":\"a/android/beta\",\"sequence\":2,\"etag\":\"e1\",\"rev\":2},"
                       "{\"key\":\"a/android/prod\",\"sequence\":9,\"etag\":\"e2\",\"rev\":3}]}";
    is_int(parse(good, &f), CMN_OK, "a valid feed parses");
    is_int(f.n, 2, "two entries");
    is_int(f.rev, 3, "rev");
    ok(cmn_feed_find(&f, "a/android/prod") && cmn_feed_find(&f, "a/android/prod")->sequence == 9, "find by key");
    ok(!cmn_feed_find(&f, "a/android/nope"), "absent key not found");
    cmn_buf_init(&b, 1 << 20);
    ok(cmn_feed_render(&f, &b) == CMN_OK && parse(b.ptr, &g) == CMN_OK && g.n == 2, "render parses back");
    ok(b.len == strlen(good) + 1 && memcmp(b.ptr, good, strlen(good)) == 0, "render is the canonical form");
    cmn_buf_release(&b);
    const char *bad[] = {
        "",
        "[]",
        "{\"format\":\"hotpatch-feed\",\"version\":2,\"rev\":0,\"updated_at\":0,\"manifests\":[]}",
        "{\"format\":\"other\",\"version\":1,\"rev\":0,\"updated_at\":0,\"manifests\":[]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":0,\"updated_at\":0,\"manifests\":[],\"x\":1}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":-1,\"updated_at\":0,\"manifests\":[]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0,\"manifests\":[{\"key\":\"a/b\","
        "\"sequence\":1,\"etag\":\"e\",\"rev\":1}]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0,\"manifests\":[{\"key\":\"a/b/../c\","
        "\"sequence\":1,\"etag\":\"e\",\"rev\":1}]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0,\"manifests\":[{\"key\":\"a/b/c\","
        "\"sequence\":1,\"etag\":\"e e\",\"rev\":1}]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0,\"manifests\":[{\"key\":\"a/b/c\","
        "\"sequence\":1,\"etag\":\"\",\"rev\":1}]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0,\"manifests\":[{\"key\":\"a/b/c\","
        "\"sequence\":1.5,\"etag\":\"e\",\"rev\":1}]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0,\"manifests\":[{\"key\":\"a/b/c\","
        "\"sequence\":1,\"etag\":\"e\",\"rev\":2}]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0,\"manifests\":[{\"key\":\"a/b/c\","
        "\"sequence\":1,\"etag\":\"e\",\"rev\":1},{\"key\":\"a/b/c\",\"sequence\":1,\"etag\":\"e\",\"rev\":1}]}",
        "{\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0,\"manifests\":[{\"key\":\"a/b/d\","
        "\"sequence\":1,\"etag\":\"e\",\"rev\":1},{\"key\":\"a/b/c\",\"sequence\":1,\"etag\":\"e\",\"rev\":1}]}",
        "{\"format\":\"hotpatch-feed\",\"format\":\"hotpatch-feed\",\"version\":1,\"rev\":1,\"updated_at\":0}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cmn_errbuf eb = {{0}};
        enum cmn_err rc = cmn_feed_parse(bad[i], strlen(bad[i]), &f, &eb);
        ok(rc == CMN_E_PARSE && eb.msg[0], "malformed feed %zu refused (%s)", i, eb.msg);
    }
    is_int(f.n, 2, "a refused parse leaves the feed as it was");
    cmn_feed_release(&f);
    cmn_feed_release(&g);
}

static void t_set(void)
{
    struct cmn_feed f;
    cmn_feed_init(&f);
    is_int(cmn_feed_set(&f, "a/p/c", 5, "e5", 1), 1, "new entry");
    is_int(cmn_feed_set(&f, "a/p/c", 4, "e4", 2), 0, "an older sequence never replaces a newer one");
    ok(strcmp(cmn_feed_find(&f, "a/p/c")->etag, "e5") == 0, "still e5");
    is_int(cmn_feed_set(&f, "a/p/c", 6, "e6", 3), 1, "a newer sequence replaces");
    is_int(cmn_feed_set(&f, "a/p/c", 6, "e6", 4), 0, "the same write twice changes nothing");
    is_int(cmn_feed_set(&f, "a/p/a", 1, "x", 4), 1, "second key");
    ok(strcmp(f.v[0].key, "a/p/a") == 0, "entries stay sorted");
    is_int(cmn_feed_set(&f, "a/p", 1, "x", 4), -1, "bad key refused");
    is_int(cmn_feed_set(&f, "a/p/d", 1, "x\"", 4), -1, "bad etag refused");
    char k[CMN_FEED_KEY_MAX];
    ok(cmn_feed_key_from_storage("manifests/a/p/c.json", k) && strcmp(k, "a/p/c") == 0, "storage key maps");
    ok(!cmn_feed_key_from_storage("manifests/a/p.json", k) && !cmn_feed_key_from_storage("lists/a/p/c.json", k) &&
           !cmn_feed_key_from_storage("manifests/a/p/c.txt", k),
       "other storage keys do not map");
    cmn_feed_release(&f);
}

static int read_feed(struct cmn_feed *f)
{
    struct cmn_buf b;
    cmn_buf_init(&b, CMN_FEED_MAX_BYTES);
    int rc = cmn_storage_get(ST, CMN_FEED_KEY, NULL, &b, NULL, NULL) || cmn_feed_parse(b.ptr, b.len, f, NULL);
    cmn_buf_release(&b);
    return rc;
}

static int put_manifest(const char *app, const char *channel, uint64_t seq, const struct cmn_key *key,
                        char etag[CMN_ETAG_MAX])
{
    struct cmn_manifest *m = cmn_manifest_new(app, "android", channel);
    struct cmn_buf b;
    char k[CMN_STORAGE_KEY_MAX];
    int rc;
    m->sequence = seq;
    m->issued_at = (int64_t)time(NULL) - 10;
    m->expires_at = (int64_t)time(NULL) + 86400;
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    snprintf(k, sizeof(k), "manifests/%s/android/%s.json", app, channel);
    rc = cmn_manifest_seal(m, key, &b, NULL) || cmn_storage_put(ST, k, b.ptr, b.len, NULL, etag, NULL);
    cmn_buf_release(&b);
    cmn_manifest_free(m);
    return rc;
}

static void t_record(void)
{
    char e1[CMN_ETAG_MAX], e2[CMN_ETAG_MAX];
    struct cmn_feed f;
    cmn_feed_init(&f);
    /* a manifest written before any feed existed */
    ok(put_manifest("app", "old", 3, &K, e1) == 0, "manifest without a feed");
    ok(put_manifest("app", "prod", 1, &K, e2) == 0, "second manifest");
    is_int(cmn_feed_record(ST, "app", "android", "prod", 1, e2, 100, NULL), CMN_OK, "first record creates the feed");
    ok(read_feed(&f) == 0 && f.n == 2, "rebuilt from the listing: both manifests listed");
    ok(cmn_feed_find(&f, "app/android/old") && strcmp(cmn_feed_find(&f, "app/android/old")->etag, e1) == 0 &&
           cmn_feed_find(&f, "app/android/old")->sequence == 0,
       "the listed one carries its ETag, sequence unknown");
    ok(cmn_feed_find(&f, "app/android/prod")->sequence == 1, "the recorded one carries its sequence");
    is_int(f.rev, 1, "rev 1");
    /* corrupt feed: rebuilt, nothing lost */
    ok(cmn_storage_put(ST, CMN_FEED_KEY, "garbage", 7, NULL, NULL, NULL) == CMN_OK, "feed damaged");
    ok(put_manifest("app", "prod", 2, &K, e2) == 0, "prod sequence 2");
    is_int(cmn_feed_record(ST, "app", "android", "prod", 2, e2, 101, NULL), CMN_OK, "record over a corrupt feed");
    ok(read_feed(&f) == 0 && f.n == 2 && cmn_feed_find(&f, "app/android/prod")->sequence == 2 &&
           strcmp(cmn_feed_find(&f, "app/android/prod")->etag, e2) == 0,
       "corrupt feed rebuilt with the new entry");
    /* a slow writer finishing late never moves an entry back */
    is_int(cmn_feed_record(ST, "app", "android", "prod", 1, "stale", 102, NULL), CMN_OK, "late record of seq 1");
    ok(read_feed(&f) == 0 && cmn_feed_find(&f, "app/android/prod")->sequence == 2, "entry stays at sequence 2");
    is_int(f.rev, 1, "... and the feed was not rewritten (rev restarted at 1 when it was rebuilt)");

    /* eight processes, twenty records each, racing on the same feed object */
    pid_t kids[8];
    for (int w = 0; w < 8; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            int bad = 0;
            for (int i = 0; i < 20; i++) {
                char ch[32], et[32];
                snprintf(ch, sizeof(ch), "w%d-c%d", w, i);
                snprintf(et, sizeof(et), "etag-%d-%d", w, i);
                bad |= cmn_feed_record(ST, "race", "android", ch, (uint64_t)i + 1, et, 200, NULL) != CMN_OK;
                /* and all of them on one shared channel, with increasing sequences */
                snprintf(et, sizeof(et), "shared-%d-%d", w, i);
                bad |= cmn_feed_record(ST, "race", "android", "shared", (uint64_t)(w * 100 + i + 1), et, 200, NULL) !=
                       CMN_OK;
            }
            _exit(bad);
        }
    }
    int all = 1;
    for (int w = 0; w < 8; w++) {
        int st;
        waitpid(kids[w], &st, 0);
        all &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    ok(all, "every racing writer succeeded");
    ok(read_feed(&f) == 0, "feed readable after the race");
    int lost = 0;
    for (int w = 0; w < 8; w++)
        for (int i = 0; i < 20; i++) {
            char k[64];
            snprintf(k, sizeof(k), "race/android/w%d-c%d", w, i);
            lost += !cmn_feed_find(&f, k);
        }
    is_int(lost, 0, "no entry lost among 160 racing records");
    ok(cmn_feed_find(&f, "race/android/shared") && cmn_feed_find(&f, "race/android/shared")->sequence == 720,
       "the shared entry holds the highest sequence (720)");
    ok(f.rev >= 1 + 160 && f.rev <= 1 + 320, "every write that changed the feed bumped its revision (%llu)",
       (unsigned long long)f.rev);
    cmn_feed_release(&f);
}

static void t_snapshot(void)
{
    struct cmn_keyring kr = {&K, 1};
    struct cmn_snapshot_stats ss;
    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    char et[CMN_ETAG_MAX];
    ok(put_manifest("snap", "forged", 1, &OTHER, et) == 0 &&
           cmn_feed_record(ST, "snap", "android", "forged", 1, et, 300, NULL) == CMN_OK,
       "a manifest signed by an untrusted key, in the feed");
    is_int(cmn_snapshot_write(ST, &kr, (int64_t)time(NULL), &ss, &eb), CMN_OK, "snapshot written (%s)", eb.msg);
    is_int(ss.manifests, 2, "two verifying manifests (app/old, app/prod)");
    is_int(ss.skipped, 1 + 161, "the untrusted one and the race entries (no object behind them) are skipped");
    is_int(ss.reused, 0, "nothing to reuse the first time");
    is_int(cmn_snapshot_write(ST, &kr, (int64_t)time(NULL), &ss, &eb), CMN_OK, "second snapshot");
    is_int(ss.reused, 2, "unchanged envelopes reused");
    is_int(ss.fetched, 1, "... only the refused one is fetched again");
    cmn_buf_init(&b, CMN_SNAPSHOT_MAX_BYTES);
    ok(cmn_storage_get(ST, CMN_SNAPSHOT_KEY, NULL, &b, NULL, NULL) == CMN_OK, "snapshot readable");
    struct cmn_snapshot_reader r;
    struct cmn_snapshot_item it;
    int n = 0, verified = 0;
    enum cmn_err rc = cmn_snapshot_begin(&r, b.ptr, b.len, NULL);
    while (!rc && (rc = cmn_snapshot_next(&r, &it, NULL)) == CMN_OK) {
        struct cmn_manifest *m = NULL;
        n++;
        verified += cmn_manifest_open(it.env, it.env_len, &kr, NULL, (int64_t)time(NULL), 0, &m, NULL) == CMN_OK;
        cmn_manifest_free(m);
    }
    is_int(rc, CMN_E_NOTFOUND, "read to a clean end");
    ok(n == 2 && verified == 2, "two envelopes, each verifies");
    /* every truncation is refused, never read past */
    int trunc_ok = 1;
    for (size_t cut = 0; cut < b.len; cut += 7) {
        rc = cmn_snapshot_begin(&r, b.ptr, cut, NULL);
        while (!rc && (rc = cmn_snapshot_next(&r, &it, NULL)) == CMN_OK)
            ;
        trunc_ok &= rc != CMN_E_NOTFOUND;
    }
    ok(trunc_ok, "every truncated snapshot is refused");
    cmn_buf_release(&b);
}

int main(void)
{
    char root[600], url[700];
    struct cmn_errbuf eb = {{0}};
    if (cmn_crypto_init() || cmn_key_generate(&K) || cmn_key_generate(&OTHER))
        return 1;
    snprintf(root, sizeof(root), "%s/feed-store", test_tmpdir());
    mkdir(root, 0755);
    snprintf(url, sizeof(url), "file://%s", root);
    if (cmn_storage_open(url, NULL, &ST, &eb)) {
        ok(0, "open %s: %s", url, eb.msg);
        return done_testing();
    }
    t_parse();
    t_set();
    t_record();
    t_snapshot();
    cmn_storage_free(ST);
    cmn_key_clear(&K);
    cmn_key_clear(&OTHER);
    return done_testing();
}
