/*
 * crash_test.c - crash safety and concurrency of the manifest writer.
 *
 * The publisher is made to die abruptly (HOTPATCH_FAULT test hook: _exit at
 * a named point, the same as a SIGKILL there) after the bundle upload, after
 * the database commit and after the manifest put, and is also SIGKILLed while
 * a large upload streams in. After each crash the stored manifest must still
 * verify (never half-written), and after a restart the stored manifest and
 * the database must agree (same sequence, channel not dirty, same releases).
 * Then several releases race on one channel: all must land, each with its own
 * strictly increasing sequence.
 */
#include "../../lib/test.h"
#include "pub_itest.h"

#include <dirent.h>
#include <pthread.h>

static struct it_pub P;
static struct it_world W;

/* Stored manifest and DB agree: sequence equal, not dirty, release sets equal. */
static int consistent(const char *channel, long long *seq_out)
{
    struct cmn_errbuf eb = {0};
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "android", channel, &eb);
    if (!m) {
        diag("manifest unreadable: %s", eb.msg);
        return 0;
    }
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT sequence || ':' || manifest_dirty FROM channels WHERE platform = 'android' AND channel = '%s'",
             channel);
    char *row = it_sql(P.dburl, sql);
    char want[64];
    snprintf(want, sizeof(want), "%llu:false", (unsigned long long)m->sequence);
    int okay = row && !strcmp(row, want);
    if (!okay)
        diag("db channel row '%s', stored manifest sequence %llu", row ? row : "(none)",
             (unsigned long long)m->sequence);
    free(row);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM releases WHERE channel = '%s' AND state IN ('active','halted','rolled_back')",
             channel);
    long long n = it_sql_int(P.dburl, sql);
    if ((size_t)n != m->n_releases) {
        diag("db has %lld releases in the manifest states, stored manifest %zu", n, m->n_releases);
        okay = 0;
    }
    for (size_t i = 0; i < m->n_releases && okay; i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM releases WHERE id = '%s' AND state = '%s'", m->releases[i].id,
                 cmn_release_state_name(m->releases[i].state));
        if (it_sql_int(P.dburl, sql) != 1) {
            diag("release %s in the manifest does not match the db", m->releases[i].id);
            okay = 0;
        }
    }
    if (seq_out)
        *seq_out = (long long)m->sequence;
    cmn_manifest_free(m);
    return okay;
}

static int manifest_has_version(const char *channel, const char *version)
{
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "android", channel, NULL);
    int found = 0;
    for (size_t i = 0; m && i < m->n_releases; i++)
        if (!strcmp(m->releases[i].version, version))
            found = 1;
    cmn_manifest_free(m);
    return found;
}

static long release_version(const char *version, size_t size, json_t **out)
{
    struct it_bundle b;
    it_bundle_make(&b, size, (uint32_t)strlen(version) * 7919u + (uint32_t)version[0] + (uint32_t)size, &W.rkey);
    char *meta = it_meta("demo", "android", "staging", version, &b, &W.rkey, NULL);
    long st = it_post_release(&P, W.app_key, meta, &b, out);
    free(meta);
    it_bundle_free(&b);
    return st;
}

static void crash_at(const char *fault, const char *version)
{
    char env[128];
    snprintf(env, sizeof(env), "HOTPATCH_FAULT=%s", fault);
    const char *extra[] = {env, NULL};
    long long before = 0;
    ok(consistent("staging", &before), "[%s] consistent before", fault);
    it_pub_stop(&P);
    if (it_pub_start(&P, extra)) {
        ok(0, "[%s] publisher restarts with the fault hook", fault);
        return;
    }
    long st = release_version(version, 30000, NULL);
    is_int(st, 0, "[%s] the publisher dies mid-release (no answer)", fault);
    int ws = it_pub_wait_exit(&P, 10000);
    ok(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 99, "[%s] exited at the fault point", fault);
    struct cmn_errbuf eb = {0};
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "android", "staging", &eb);
    ok(m != NULL, "[%s] the stored manifest still verifies after the crash (%s)", fault, m ? "ok" : eb.msg);
    cmn_manifest_free(m);
    if (it_pub_start(&P, NULL)) {
        ok(0, "[%s] publisher restarts", fault);
        return;
    }
    long long after = 0;
    ok(consistent("staging", &after), "[%s] storage and database agree after the restart", fault);
    ok(after >= before, "[%s] sequence never went back (%lld -> %lld)", fault, before, after);
}

struct racer {
    char version[16];
    long status;
    long long seq;
    char id[64];
};

static void *race_one(void *arg)
{
    struct racer *r = arg;
    json_t *o = NULL;
    r->status = release_version(r->version, 20000 + (size_t)r->version[2] * 100, &o);
    r->seq = it_jint(o, "manifest.sequence");
    snprintf(r->id, sizeof(r->id), "%s", it_jstr(o, "release.id") ? it_jstr(o, "release.id") : "");
    json_decref(o);
    return NULL;
}

/* Kill -9 the publisher while a large upload is streaming in. */
struct bigup {
    long status;
};

static char spool_dir[1100], spool_var[1200];
static const char *spool_env[] = {spool_var, NULL};

static int spool_files(void)
{
    int n = 0;
    DIR *d = opendir(spool_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += !strncmp(e->d_name, "hotpatch-upload-", 16);
    if (d)
        closedir(d);
    return n;
}

static struct it_bundle big;
static char *big_meta;

static void *big_upload(void *arg)
{
    struct bigup *bu = arg;
    it_send_speed = 16 << 20; /* ~3 s for 48 MiB: the kill lands mid-stream */
    bu->status = it_post_release(&P, W.app_key, big_meta, &big, NULL);
    it_send_speed = 0;
    return NULL;
}

int main(void)
{
    if (!getenv("HP_TEST_PG_URL")) {
        test_skip(1, "HP_TEST_PG_URL not set (run through make test)");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_pub_setup(&P, "crash", 0) || it_pub_start(&P, NULL) || it_world_setup(&P, "demo", &W)) {
        ok(0, "publisher + org + app + release key");
        it_log_tail(&P);
        return done_testing();
    }
    ok(1, "publisher + org + app + release key");
    is_int(release_version("1.0.0", 10000, NULL), 201, "first release lands");

    crash_at("after_bundle_upload", "1.1.0");
    ok(!manifest_has_version("staging", "1.1.0"), "a release that died before its commit is not published");
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM releases WHERE version = '1.1.0'"), 0, "and left no row");
    is_int(release_version("1.1.0", 30000, NULL), 201, "the same release can be retried and lands");

    crash_at("after_db_commit", "1.2.0");
    ok(manifest_has_version("staging", "1.2.0"), "a committed release is published by the start-up reconciliation");

    crash_at("after_manifest_put", "1.3.0");
    ok(manifest_has_version("staging", "1.3.0"), "a release put before the crash stays published");
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM audit_events WHERE action = 'release.create'"), 4,
           "one audit event per committed release");

    /* SIGKILL mid-upload, with a private spool directory */
    snprintf(spool_dir, sizeof(spool_dir), "%s/spool", test_tmpdir());
    mkdir(spool_dir, 0700);
    snprintf(spool_var, sizeof(spool_var), "HOTPATCH_TMPDIR=%s", spool_dir);
    it_pub_stop(&P);
    ok(it_pub_start(&P, spool_env) == 0, "restart with a private upload spool");
    long long before = 0;
    consistent("staging", &before);
    struct bigup bu = {0};
    it_bundle_make(&big, 48u << 20, 77, &W.rkey);
    big_meta = it_meta("demo", "android", "staging", "7.7.7", &big, &W.rkey, NULL);
    pthread_t t;
    pthread_create(&t, NULL, big_upload, &bu);
    usleep(1000000);
    int ws = it_pub_signal(&P, SIGKILL);
    pthread_join(t, NULL);
    it_bundle_free(&big);
    free(big_meta);
    ok(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "publisher SIGKILLed during a 48 MiB upload");
    ok(bu.status != 201, "the interrupted upload did not succeed (status %ld)", bu.status);
    ok(spool_files() == 1, "the killed upload left its spool file behind");
    ok(it_pub_start(&P, spool_env) == 0, "restart after SIGKILL");
    is_int(spool_files(), 0, "start-up removed the dead publisher's spool file");
    long long after = 0;
    ok(consistent("staging", &after) && after == before, "nothing changed: manifest and database agree");
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM releases WHERE version = '7.7.7'"), 0,
           "no row for the killed upload");

    /* storage lost its manifest: the next start re-publishes it above the old sequence */
    char mpath[4400];
    snprintf(mpath, sizeof(mpath), "%s/manifests/demo/android/staging.json", P.storage + 7);
    ok(unlink(mpath) == 0, "manifest deleted from storage behind the publisher's back");
    it_pub_stop(&P);
    ok(it_pub_start(&P, NULL) == 0, "restart");
    long long again = 0;
    ok(consistent("staging", &again) && again > after,
       "start-up reconciliation re-published it with a higher sequence");

    /* concurrent releases on one channel */
    struct racer rs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&rs[i], 0, sizeof(rs[i]));
        snprintf(rs[i].version, sizeof(rs[i].version), "2.%d.0", i);
        pthread_create(&th[i], NULL, race_one, &rs[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    int all = 1;
    for (int i = 0; i < 4; i++)
        all &= rs[i].status == 201;
    ok(all, "4 concurrent releases all answered 201");
    int distinct = 1;
    long long maxseq = 0;
    for (int i = 0; i < 4; i++) {
        if (rs[i].seq <= again)
            distinct = 0;
        if (rs[i].seq > maxseq)
            maxseq = rs[i].seq;
        for (int j = 0; j < i; j++)
            if (rs[i].seq == rs[j].seq)
                distinct = 0;
    }
    ok(distinct, "each got its own sequence, all above the previous one");
    long long fin = 0;
    ok(consistent("staging", &fin), "storage and database agree after the race");
    ok(fin >= maxseq, "stored sequence %lld >= every release's sequence %lld", fin, maxseq);
    int landed = 1;
    for (int i = 0; i < 4; i++)
        landed &= manifest_has_version("staging", rs[i].version);
    ok(landed, "all 4 releases are in the stored manifest");

    /*
     * Issue 12 #1: the database is restored from an older backup (its sequence far below what
     * devices accepted) and the manifest object is lost too. The next manifest must still be
     * above every sequence published before, or the whole fleet refuses it as a replay.
     */
    it_pub_stop(&P);
    char *r0 = it_sql(P.dburl, "UPDATE channels SET sequence = 1, etag = NULL, manifest_dirty = false "
                               "WHERE platform = 'android' AND channel = 'staging' RETURNING 'restored'");
    ok(r0 && !strcmp(r0, "restored"), "database 'restored': channel sequence back to 1, no etag");
    free(r0);
    ok(unlink(mpath) == 0, "and the manifest lost from storage");
    ok(it_pub_start(&P, NULL) == 0, "restart on the restored database");
    json_t *ro = NULL;
    is_int(release_version("3.0.0", 12000, &ro), 201, "a release after the restore");
    long long pubseq = it_jint(ro, "manifest.published_sequence");
    json_decref(ro);
    long long restored = 0;
    ok(consistent("staging", &restored), "storage and database agree after the restore");
    ok(restored > fin && pubseq > fin,
       "the manifest after the restore is above every sequence published before (%lld > %lld): devices accept it",
       restored, fin);
    ok(manifest_has_version("staging", "3.0.0"), "the new release is in it");

    it_pub_stop(&P);
    if (test_failures())
        it_log_tail(&P);
    return done_testing();
}
