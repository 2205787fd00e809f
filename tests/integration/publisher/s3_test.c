/*
 * s3_test.c - the publisher on S3 storage (a real Ceph radosgw: SigV4,
 * conditional PUT with If-Match / If-None-Match): bundles land content-
 * addressed in the bucket, every change re-publishes a manifest that verifies
 * when read back from S3, a crash after the manifest put is repaired on the
 * next start through a real 412 from radosgw, and concurrent releases on one
 * channel all land with distinct sequences.
 */
#include "../../lib/test.h"
#include "pub_itest.h"

#include <pthread.h>

static struct it_pub P;
static struct it_world W;

static long release_version(const char *version, json_t **out)
{
    struct it_bundle b;
    it_bundle_make(&b, 20000 + (size_t)version[2] * 10, (uint32_t)version[0] * 131u + (uint32_t)version[2], &W.rkey);
    char *meta = it_meta("demo", "ios", "beta", version, &b, &W.rkey, NULL);
    long st = it_post_release(&P, W.app_key, meta, &b, out);
    free(meta);
    it_bundle_free(&b);
    return st;
}

static struct cmn_manifest *stored(void)
{
    struct cmn_errbuf eb = {0};
    struct cmn_manifest *m = it_stored_manifest(&P, "demo", "ios", "beta", &eb);
    if (!m)
        diag("stored manifest: %s", eb.msg);
    return m;
}

static int agrees(void)
{
    struct cmn_manifest *m = stored();
    if (!m)
        return 0;
    char want[64];
    snprintf(want, sizeof(want), "%llu:false", (unsigned long long)m->sequence);
    char *row = it_sql(P.dburl, "SELECT sequence || ':' || manifest_dirty FROM channels WHERE channel = 'beta'");
    int okay = row && !strcmp(row, want);
    if (!okay)
        diag("db '%s' vs stored '%s'", row ? row : "", want);
    long long n = it_sql_int(P.dburl, "SELECT count(*) FROM releases WHERE channel = 'beta' AND state <> 'archived'");
    okay = okay && (size_t)n == m->n_releases;
    free(row);
    cmn_manifest_free(m);
    return okay;
}

struct racer {
    char v[16];
    long st;
    long long seq;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    json_t *o = NULL;
    r->st = release_version(r->v, &o);
    r->seq = it_jint(o, "manifest.sequence");
    json_decref(o);
    return NULL;
}

int main(void)
{
    if (!getenv("HP_TEST_PG_URL") || !getenv("HP_TEST_S3_ENDPOINT")) {
        test_skip(1, "HP_TEST_PG_URL / HP_TEST_S3_ENDPOINT not set (run through make test)");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_pub_setup(&P, "s3", 1) || it_pub_start(&P, NULL) || it_world_setup(&P, "demo", &W)) {
        ok(0, "publisher on s3:// + org + app + release key");
        it_log_tail(&P);
        return done_testing();
    }
    ok(1, "publisher on s3:// storage (radosgw)");
    json_t *o = NULL;
    is_int(it_call(&P, "GET", "/healthz", NULL, NULL, &o), 200, "/healthz sees db and S3");
    is_str(it_jstr(o, "storage") ? it_jstr(o, "storage") : "", "ok", "storage ok");
    json_decref(o);

    is_int(release_version("1.0.0", &o), 201, "release to S3");
    char id[64];
    snprintf(id, sizeof(id), "%s", it_jstr(o, "release.id") ? it_jstr(o, "release.id") : "");
    char sha[80];
    snprintf(sha, sizeof(sha), "%s", it_jstr(o, "release.sha256") ? it_jstr(o, "release.sha256") : "");
    json_decref(o);
    struct cmn_storage *st = NULL;
    struct cmn_storage_opts so = {getenv("HP_TEST_S3_ENDPOINT"),
                                  getenv("HP_TEST_S3_REGION"),
                                  getenv("HP_TEST_S3_ACCESS_KEY"),
                                  getenv("HP_TEST_S3_SECRET_KEY"),
                                  0,
                                  0};
    uint64_t size = 0;
    char key[CMN_STORAGE_KEY_MAX];
    ok(!cmn_storage_open(P.storage, &so, &st, NULL) && !cmn_storage_bundle_key("demo", "ios", sha, key, sizeof(key)) &&
           !cmn_storage_head(st, key, NULL, &size, NULL) && size > 20000,
       "bundle is in the bucket under bundles/demo/ios/<sha>.zip");
    cmn_storage_free(st);
    struct cmn_manifest *m = stored();
    ok(m && m->n_releases == 1 && !strcmp(m->releases[0].id, id), "manifest read back from S3 verifies");
    cmn_manifest_free(m);
    ok(agrees(), "database and S3 agree");

    char path[256];
    snprintf(path, sizeof(path), "/v1/releases/%s/rollout", id);
    is_int(it_call(&P, "PATCH", path, W.app_key, "{\"percent\":40}", NULL), 200, "rollout 40 percent on S3");
    m = stored();
    ok(m && m->releases[0].rollout_bp == 4000, "S3 manifest updated through If-Match");
    cmn_manifest_free(m);

    /* crash after the manifest put: the DB does not know the new ETag */
    it_pub_stop(&P);
    const char *fault[] = {"HOTPATCH_FAULT=after_manifest_put", NULL};
    ok(it_pub_start(&P, fault) == 0, "restart with the after_manifest_put fault");
    is_int(release_version("1.1.0", NULL), 0, "the publisher dies right after the manifest put");
    int ws = it_pub_wait_exit(&P, 10000);
    ok(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 99, "exited at the fault point");
    m = stored();
    ok(m != NULL && m->n_releases == 2, "S3 holds the complete new manifest");
    long long crashed_seq = m ? (long long)m->sequence : 0;
    cmn_manifest_free(m);
    ok(it_pub_start(&P, NULL) == 0, "restart");
    m = stored();
    ok(m && (long long)m->sequence > crashed_seq, "reconciliation went above the orphan manifest's sequence");
    cmn_manifest_free(m);
    ok(agrees(), "database and S3 agree again");

    struct racer rs[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&rs[i], 0, sizeof(rs[i]));
        snprintf(rs[i].v, sizeof(rs[i].v), "3.%d.0", i);
        pthread_create(&th[i], NULL, race, &rs[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ok(rs[0].st == 201 && rs[1].st == 201 && rs[2].st == 201, "3 concurrent releases on S3 all land");
    ok(rs[0].seq != rs[1].seq && rs[1].seq != rs[2].seq && rs[0].seq != rs[2].seq, "with distinct sequences");
    m = stored();
    ok(m && m->n_releases == 5, "all of them are in the S3 manifest");
    cmn_manifest_free(m);
    ok(agrees(), "database and S3 agree after the race");

    it_pub_stop(&P);
    if (test_failures())
        it_log_tail(&P);
    return done_testing();
}
