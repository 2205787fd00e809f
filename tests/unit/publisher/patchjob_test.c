/*
 * Unit tests for the publisher's background patch job (patchjob.c) against a
 * real Postgres (pub_fixture.h) and file:// storage, with real zips (libzip)
 * whose content digests the release key signs, as the CLI does:
 *   - a release is published at once with its content digest and no patches;
 *     the job then lists patches from the channel's earlier bundles in a
 *     later, higher manifest sequence, and each patch rebuilds the release's
 *     signed content from its base (cmn_patch_apply);
 *   - the last N distinct bases only (patch_bases), a registered embedded
 *     bundle only when target_binary admits its binary version;
 *   - a patch that is not meaningfully smaller is not listed;
 *   - a job held by another worker (advisory lock) is left alone; a job
 *     re-run after a crash duplicates nothing (rows, objects, listing);
 *   - a storage failure is retried later, then given up ('failed', the
 *     error kept); a stored bundle that does not match its signed content is
 *     given up at once; an archived release gets no patches;
 *   - pub_bundle_content refuses a zip that cannot be a bundle.
 */
#include "pub_fixture.h"

#include <dirent.h>
#include <sys/stat.h>
#include <zip.h>

#include "common/embedded.h"
#include "common/patch.h"
#include "common/patchset.h"

static long long q(struct fx *f, const char *fmt, const char *id)
{
    char sql[512];
    snprintf(sql, sizeof(sql), fmt, id);
    return fx_sql_int(f, sql);
}

static char *qs(struct fx *f, const char *fmt, const char *id)
{
    char sql[512];
    snprintf(sql, sizeof(sql), fmt, id);
    return it_sql(f->dburl, sql);
}

/* Files under the storage's patches/ tree. */
static int count_patch_objects(struct fx *f)
{
    char d[1200];
    snprintf(d, sizeof(d), "%s/patches/demo/android", f->store);
    DIR *dp = opendir(d);
    int n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp)) != NULL)
        n += strstr(e->d_name, ".patch") != NULL && !strstr(e->d_name, ".tmp");
    if (dp)
        closedir(dp);
    return n;
}

/* Apply the listed patch from base dir `base` and check it yields `want` (the release's signed content). */
static int patch_rebuilds(struct fx *f, const struct cmn_patch_ref *p, const char *base, const char *want)
{
    char path[1200], out[1200];
    uint8_t wd[CMN_SHA256_BYTES];
    struct cmn_errbuf eb = {0};
    struct cmn_patch_limits lim;
    snprintf(path, sizeof(path), "%s/%s", f->store, p->url);
    snprintf(out, sizeof(out), "%s/apply-%.8s", test_tmpdir(), p->sha256);
    cmn_rmtree(out);
    mkdir(out, 0755);
    cmn_patch_limits_default(&lim);
    if (cmn_hex_decode(want, wd, sizeof(wd)))
        return 0;
    enum cmn_err rc = cmn_patch_apply(path, base, out, wd, &lim, NULL, &eb);
    if (rc)
        diag("apply %s: %s", p->url, cmn_errmsg(&eb, rc));
    return rc == CMN_OK;
}

static int count_cb(void *ctx, const char *key, const char *etag, uint64_t size)
{
    (void)key;
    (void)etag;
    (void)size;
    (*(int *)ctx)++;
    return 0;
}

/* The same job against S3 (Ceph radosgw of tests/harness/rgw.sh): patches stored, listed, not duplicated. */
static void s3_section(struct fx *f, char v[][1100])
{
    const char *ep = getenv("HP_TEST_S3_ENDPOINT"), *bucket = getenv("HP_TEST_S3_BUCKET");
    if (!ep || !bucket || !getenv("HP_TEST_S3_ACCESS_KEY")) {
        test_skip(1, "no S3 peer (HP_TEST_S3_*: make test starts radosgw)");
        return;
    }
    struct cmn_errbuf eb = {0};
    char url[512], id0[32], id1[32], c1[CMN_SHA256_HEX];
    snprintf(url, sizeof(url), "s3://%s/patchjob-%d", bucket, (int)getpid());
    setenv("AWS_ACCESS_KEY_ID", getenv("HP_TEST_S3_ACCESS_KEY"), 1);
    setenv("AWS_SECRET_ACCESS_KEY", getenv("HP_TEST_S3_SECRET_KEY"), 1);
    ok(!pub_config_set(&f->cfg, "storage", url, &eb) && !pub_config_set(&f->cfg, "s3_endpoint", ep, &eb) &&
           !pub_config_set(&f->cfg, "s3_region",
                           getenv("HP_TEST_S3_REGION") ? getenv("HP_TEST_S3_REGION") : "us-east-1", &eb),
       "storage switched to %s on radosgw", url);
    is_int(fx_release_content(f, "s3", "1.0.0", "*", v[0], id0, NULL), CMN_OK, "S3: release 1");
    is_int(pub_patch_run_once(&f->s), 1, "S3: its job runs");
    is_int(fx_release_content(f, "s3", "1.0.1", "*", v[1], id1, c1), CMN_OK, "S3: release 2");
    is_int(pub_patch_run_once(&f->s), 1, "S3: its job runs");
    struct cmn_manifest *m = fx_manifest(f, "s3");
    const struct cmn_release *e = fx_find(m, id1);
    ok(e && e->n_patches == 1, "S3: the manifest lists release 2's patch");
    struct cmn_storage *st = NULL;
    struct cmn_buf b;
    cmn_buf_init(&b, 16u << 20);
    ok(!pub_storage_open(&f->s, &st, &eb), "S3: storage handle");
    if (e && e->n_patches == 1 && st) {
        uint8_t d[CMN_SHA256_BYTES];
        char hex[CMN_SHA256_HEX];
        is_int(cmn_storage_get(st, e->patches[0].url, NULL, &b, NULL, &eb), CMN_OK, "S3: the patch object is there");
        cmn_sha256(b.ptr, b.len, d);
        cmn_hex_encode(d, sizeof(d), hex);
        ok(!strcmp(hex, e->patches[0].sha256) && b.len == e->patches[0].size, "S3: its SHA-256 and size as listed");
    }
    q(f, "UPDATE patch_jobs SET state = 'pending' WHERE release_id = '%s'", id1);
    is_int(pub_patch_run_once(&f->s), 1, "S3: the job re-runs");
    int n = 0;
    ok(st && !cmn_storage_list(st, "patches/", count_cb, &n, &eb), "S3: listed patches/");
    is_int(n, 1, "S3: still one patch object");
    is_int(q(f, "SELECT count(*) FROM release_patches WHERE release_id = '%s'", id1), 1, "S3: still one patch row");
    cmn_buf_release(&b);
    cmn_storage_free(st);
    cmn_manifest_free(m);
}

int main(void)
{
    struct fx f;
    int rc = fx_setup(&f, "patchjob");
    if (rc == 1) {
        test_skip(1, "HP_TEST_PG_URL is not set (make test starts Postgres and sets it)");
        return done_testing();
    }
    ok(rc == 0, "fixture: database, storage, keys");
    if (rc)
        return done_testing();
    struct cmn_errbuf eb = {0};
    ok(!pub_config_set(&f.cfg, "patch_bases", "2", &eb) && !pub_config_set(&f.cfg, "patch_retries", "2", &eb) &&
           !pub_config_set(&f.cfg, "patch_retry_delay", "60", &eb),
       "patch_bases 2, 2 attempts, 60 s retry delay");
    char v[4][1100], id[4][32], content[4][CMN_SHA256_HEX];
    for (int i = 0; i < 3; i++) {
        snprintf(v[i], sizeof(v[i]), "%s/v%d", test_tmpdir(), i);
        fx_bundle_dir(v[i], i);
    }

    /* release 1: no base yet */
    is_int(fx_release_content(&f, "production", "1.0.0", "1.0.x", v[0], id[0], content[0]), CMN_OK,
           "release 1 with a content digest");
    is_int(q(&f, "SELECT count(*) FROM patch_jobs WHERE release_id = '%s' AND state = 'pending'", id[0]), 1,
           "its patch job is queued with it");
    is_int(pub_patch_run_once(&f.s), 1, "the job runs");
    is_int(q(&f, "SELECT count(*) FROM patch_jobs WHERE release_id = '%s' AND state = 'done' AND patches = 0", id[0]),
           1, "and finishes with nothing to list (no earlier bundle)");
    is_int(pub_patch_run_once(&f.s), 0, "no job left");

    /* release 2: published at once without patches, then patched in a later sequence */
    is_int(fx_release_content(&f, "production", "1.0.1", "1.0.x", v[1], id[1], content[1]), CMN_OK,
           "release 2 (one line changed)");
    struct cmn_manifest *m = fx_manifest(&f, "production");
    const struct cmn_release *e = fx_find(m, id[1]);
    ok(e && !strcmp(e->content_sha256, content[1]) && e->content_sig, "the manifest lists release 2's signed content");
    is_int(e ? (long long)e->n_patches : -1, 0, "and no patch yet: the full bundle serves at once");
    uint64_t seq1 = m ? m->sequence : 0;
    cmn_manifest_free(m);
    int notified = atomic_load(&f.notified);
    is_int(pub_patch_run_once(&f.s), 1, "release 2's job runs");
    m = fx_manifest(&f, "production");
    e = fx_find(m, id[1]);
    ok(m && m->sequence > seq1, "the manifest was re-signed with a higher sequence");
    is_int(e ? (long long)e->n_patches : -1, 1, "release 2 now lists one patch");
    ok(e && e->n_patches == 1 && !strcmp(e->patches[0].base, content[0]), "from release 1's content");
    ok(e && e->n_patches == 1 && e->patches[0].size * 10 < (uint64_t)e->size, "a patch under 10%% of the zip");
    ok(e && e->n_patches == 1 && patch_rebuilds(&f, &e->patches[0], v[0], content[1]),
       "the stored patch rebuilds release 2's signed content from release 1");
    ok(atomic_load(&f.notified) > notified, "the edges were told");
    is_int(q(&f, "SELECT count(*) FROM audit_events WHERE release_id = '%s' AND action = 'release.patches'", id[1]), 1,
           "audited as release.patches");
    cmn_manifest_free(m);

    /* release 3: patches from the last 2 distinct bundles */
    is_int(fx_release_content(&f, "production", "1.0.2", "1.0.x", v[2], id[2], content[2]), CMN_OK,
           "release 3 (+300 lines)");
    is_int(pub_patch_run_once(&f.s), 1, "release 3's job runs");
    m = fx_manifest(&f, "production");
    e = fx_find(m, id[2]);
    is_int(e ? (long long)e->n_patches : -1, 2, "release 3 lists patches from releases 1 and 2");
    int rebuilt = 0;
    for (size_t i = 0; e && i < e->n_patches; i++)
        rebuilt +=
            patch_rebuilds(&f, &e->patches[i], !strcmp(e->patches[i].base, content[0]) ? v[0] : v[1], content[2]);
    is_int(rebuilt, 2, "each rebuilds release 3's signed content from its base");
    ok(e && e->n_patches == 2 && strcmp(e->patches[0].base, e->patches[1].base) < 0, "sorted by base");
    uint64_t seq3 = m ? m->sequence : 0;
    cmn_manifest_free(m);
    int objects = count_patch_objects(&f);
    is_int(objects, 3, "three patch objects in storage");

    /* a re-run (a crash after the patches were stored, before the job was marked done) duplicates nothing */
    is_int(q(&f, "UPDATE patch_jobs SET state = 'pending' WHERE release_id = '%s'", id[2]), 1,
           "release 3's job pending again");
    is_int(pub_patch_run_once(&f.s), 1, "it runs again");
    is_int(q(&f, "SELECT count(*) FROM release_patches WHERE release_id = '%s'", id[2]), 2, "still two patch rows");
    is_int(count_patch_objects(&f), objects, "no new object: the same content-addressed keys");
    m = fx_manifest(&f, "production");
    e = fx_find(m, id[2]);
    is_int(e ? (long long)e->n_patches : -1, 2, "the manifest still lists two");
    ok(m && m->sequence > seq3, "re-signed above the previous sequence (never backwards)");
    cmn_manifest_free(m);

    /* a promoted release keeps its signed content digest and gets its own patch job on the new channel */
    {
        struct pub_dbconn *c = pub_db_get(f.s.db, NULL);
        const char *pp[] = {id[1]};
        PGresult *src = pub_q(c, Q_REL_BY_ID, pp);
        json_t *prel = NULL;
        int64_t pseq = 0, ppub = 0;
        is_int(pub_release_promote(&f.s, c, src, "beta", -1, "key:test", f.org_id, &prel, &pseq, &ppub, &eb), CMN_OK,
               "release 2 promoted to beta");
        PQclear(src);
        const char *pid = prel ? json_string_value(json_object_get(prel, "id")) : NULL;
        is_str(prel ? json_string_value(json_object_get(prel, "content_sha256")) : "", content[1],
               "with release 2's content digest");
        is_int(pid ? q(&f, "SELECT count(*) FROM patch_jobs WHERE release_id = '%s' AND state = 'pending'", pid) : -1,
               1, "and a patch job of its own");
        json_decref(prel);
        pub_db_put(f.s.db, c);
        is_int(pub_patch_run_once(&f.s), 1, "which runs (no earlier bundle on beta: nothing to list)");
        m = fx_manifest(&f, "beta");
        ok(m && m->n_releases == 1 && m->releases[0].content_sig && !strcmp(m->releases[0].content_sha256, content[1]),
           "beta's manifest lists the promoted release's signed content");
        cmn_manifest_free(m);
    }

    /* another worker holds a job: it is left alone */
    char v4[1100], id4[32], c4[CMN_SHA256_HEX];
    snprintf(v4, sizeof(v4), "%s/v4", test_tmpdir());
    fx_bundle_dir(v4, 1);
    /* same files as release 2 but another version: same content, so an all-COPY patch */
    is_int(fx_release_content(&f, "production", "1.0.3", "1.0.x", v4, id4, c4), CMN_OK, "release 4");
    PGconn *other = PQconnectdb(f.dburl);
    char lock[160];
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(4739178, hashtext('%s'))", id4);
    PGresult *lr = PQexec(other, lock);
    ok(PQresultStatus(lr) == PGRES_TUPLES_OK, "another session holds release 4's job lock");
    PQclear(lr);
    is_int(pub_patch_run_once(&f.s), 0, "the job is not taken while another worker holds it");
    is_int(q(&f, "SELECT attempts FROM patch_jobs WHERE release_id = '%s'", id4), 0, "and not counted as an attempt");
    PQfinish(other); /* the holder dies: its lock goes with its connection */
    int ran = 0;     /* the server notices the closed connection a moment later */
    for (int i = 0; i < 100 && (ran = pub_patch_run_once(&f.s)) == 0; i++)
        usleep(20000);
    is_int(ran, 1, "once the holder is gone the job runs");
    is_int(q(&f, "SELECT count(*) FROM patch_jobs WHERE release_id = '%s' AND state = 'done'", id4), 1, "and is done");

    /* not meaningfully smaller: not listed */
    char v9[1100], id9[32];
    snprintf(v9, sizeof(v9), "%s/v9", test_tmpdir());
    fx_bundle_dir(v9, 9);
    is_int(fx_release_content(&f, "noise", "1.0.0", "*", v[0], id[3], NULL), CMN_OK, "channel noise: release 1");
    is_int(pub_patch_run_once(&f.s), 1, "its job runs");
    is_int(fx_release_content(&f, "noise", "1.0.1", "*", v9, id9, NULL), CMN_OK,
           "channel noise: unrelated random content");
    is_int(pub_patch_run_once(&f.s), 1, "its job runs");
    is_int(q(&f, "SELECT patches FROM patch_jobs WHERE release_id = '%s' AND state = 'done'", id9), 0,
           "no patch listed: it would not be meaningfully smaller than the zip");
    m = fx_manifest(&f, "noise");
    e = fx_find(m, id9);
    ok(e && e->n_patches == 0 && e->content_sig, "the manifest lists its content digest and no patch");
    cmn_manifest_free(m);

    /* embedded bases: only those whose binary version target_binary admits */
    struct cmn_storage *st = NULL;
    ok(!pub_storage_open(&f.s, &st, &eb), "storage");
    char ezip[1200], ev[1100];
    snprintf(ev, sizeof(ev), "%s/emb", test_tmpdir());
    fx_bundle_dir(ev, 1);
    snprintf(ezip, sizeof(ezip), "%s/emb.zip", test_tmpdir());
    char econtent[CMN_SHA256_HEX];
    ok(!fx_zip_bundle(ev, ezip) && !fx_dir_digest(ev, econtent), "an embedded bundle zipped");
    struct cmn_embedded_change ch;
    ok(!cmn_embedded_add(st, "demo", "android", "2.0.0", ezip, NULL, 0, econtent, time(NULL), &ch, &eb),
       "registered as the embedded bundle of binary 2.0.0");
    char v5[1100], id5[32], c5[CMN_SHA256_HEX];
    snprintf(v5, sizeof(v5), "%s/v5", test_tmpdir());
    fx_bundle_dir(v5, 2);
    is_int(fx_release_content(&f, "emb", "1.0.0", "1.0.x", v5, id5, c5), CMN_OK,
           "channel emb: a release for binaries 1.0.x");
    is_int(pub_patch_run_once(&f.s), 1, "its job runs");
    is_int(q(&f, "SELECT count(*) FROM release_patches WHERE release_id = '%s'", id5), 0,
           "binary 2.0.0's embedded bundle is not a base of a 1.0.x release");
    ok(!cmn_embedded_add(st, "demo", "android", "1.0.4", ezip, NULL, 0, econtent, time(NULL), &ch, &eb),
       "the same bundle registered for binary 1.0.4");
    char v6[1100], id6[32], c6[CMN_SHA256_HEX];
    snprintf(v6, sizeof(v6), "%s/v6", test_tmpdir());
    fx_bundle_dir(v6, 0);
    is_int(fx_release_content(&f, "emb2", "1.0.1", "1.0.x", v6, id6, c6), CMN_OK,
           "channel emb2: a release for binaries 1.0.x");
    is_int(pub_patch_run_once(&f.s), 1, "its job runs");
    char *label = qs(&f, "SELECT base_label || ' ' || base FROM release_patches WHERE release_id = '%s'", id6);
    char want[200];
    snprintf(want, sizeof(want), "embedded bundle of binary 1.0.4 %s", econtent);
    is_str(label ? label : "", want, "a fresh install of binary 1.0.4 gets a patch from its embedded bundle");
    free(label);
    m = fx_manifest(&f, "emb2");
    e = fx_find(m, id6);
    ok(e && e->n_patches == 1 && patch_rebuilds(&f, &e->patches[0], ev, c6),
       "listed, and it rebuilds the release from the embedded bundle");
    cmn_manifest_free(m);

    /* a storage failure is retried later, then given up; the release stays served in full */
    char v7[1100], id7[32];
    snprintf(v7, sizeof(v7), "%s/v7", test_tmpdir());
    fx_bundle_dir(v7, 2);
    is_int(fx_release_content(&f, "emb2", "1.0.2", "1.0.x", v7, id7, NULL), CMN_OK, "channel emb2: release 2");
    char blocker[1200];
    snprintf(blocker, sizeof(blocker), "%s/patches", f.store);
    char moved[1300];
    snprintf(moved, sizeof(moved), "%s.moved", blocker);
    ok(rename(blocker, moved) == 0 && fx_write_file(blocker, "x", 1) == 0,
       "patch storage made unwritable (a file in the way)");
    unsigned long errs = atomic_load(&f.s.m.patch_job_errors);
    is_int(pub_patch_run_once(&f.s), 1, "the job runs");
    is_int(q(&f,
             "SELECT count(*) FROM patch_jobs WHERE release_id = '%s' AND state = 'pending' AND attempts = 1 "
             "AND run_after > now() + interval '50 seconds'",
             id7),
           1, "and fails: pending again, retried in 60 s");
    char *err = qs(&f, "SELECT last_error FROM patch_jobs WHERE release_id = '%s'", id7);
    ok(err && strstr(err, "cannot store patch 'patches/demo/android/"), "the error names the patch object: %s",
       err ? err : "(none)");
    free(err);
    ok(atomic_load(&f.s.m.patch_job_errors) == errs + 1, "counted in patch_job_errors");
    is_int(pub_patch_run_once(&f.s), 0, "not due yet");
    q(&f, "UPDATE patch_jobs SET run_after = now() WHERE release_id = '%s'", id7);
    is_int(pub_patch_run_once(&f.s), 1, "due: the second attempt runs");
    is_int(q(&f, "SELECT count(*) FROM patch_jobs WHERE release_id = '%s' AND state = 'failed' AND attempts = 2", id7),
           1, "and the job is given up after patch_retries attempts");
    m = fx_manifest(&f, "emb2");
    e = fx_find(m, id7);
    ok(e && e->state == CMN_REL_ACTIVE && e->n_patches == 0, "the release is still listed, with its full bundle");
    cmn_manifest_free(m);
    ok(unlink(blocker) == 0 && rename(moved, blocker) == 0, "patch storage restored");

    /* a stored bundle that does not match its signed content digest: given up at once */
    char v8[1100], id8[32];
    snprintf(v8, sizeof(v8), "%s/v8", test_tmpdir());
    fx_bundle_dir(v8, 2);
    is_int(fx_release_content(&f, "tamper", "1.0.0", "*", v[0], id[3], NULL), CMN_OK, "channel tamper: release 1");
    is_int(pub_patch_run_once(&f.s), 1, "its job runs");
    is_int(fx_release_content(&f, "tamper", "1.0.1", "*", v8, id8, NULL), CMN_OK, "channel tamper: release 2");
    q(&f, "UPDATE releases SET content_sha256 = repeat('ab', 32) WHERE id = '%s'", id8);
    is_int(pub_patch_run_once(&f.s), 1, "its job runs");
    err = qs(&f, "SELECT state || ': ' || last_error FROM patch_jobs WHERE release_id = '%s'", id8);
    ok(err && !strncmp(err, "failed: ", 8) && strstr(err, "not the signed"),
       "a content digest that does not match the stored bundle fails the job at once: %s", err ? err : "(none)");
    free(err);
    is_int(q(&f, "SELECT count(*) FROM release_patches WHERE release_id = '%s'", id8), 0, "nothing listed");

    /* archived before its job ran: nothing to do */
    char id10[32];
    is_int(fx_release_content(&f, "tamper", "1.0.2", "*", v[2], id10, NULL), CMN_OK, "channel tamper: release 3");
    struct pub_dbconn *c = pub_db_get(f.s.db, NULL);
    is_int(pub_release_action(&f.s, c, id10, PUB_ACT_ARCHIVE, 0, "key:test", NULL, NULL, NULL, &eb), CMN_OK,
           "archived at once");
    pub_db_put(f.s.db, c);
    is_int(pub_patch_run_once(&f.s), 1, "its job runs");
    is_int(q(&f, "SELECT count(*) FROM patch_jobs WHERE release_id = '%s' AND state = 'done' AND patches = 0", id10), 1,
           "and lists nothing for an archived release");

    /* pub_bundle_content refuses what cannot be a bundle */
    uint8_t d[CMN_SHA256_BYTES];
    char bad[1200];
    snprintf(bad, sizeof(bad), "%s/notazip.zip", test_tmpdir());
    fx_write_file(bad, "PK\3\4 not really", 16);
    is_int(pub_bundle_content(bad, d, NULL, &eb), CMN_E_PARSE, "not a zip: CMN_E_PARSE");
    {
        int zerr = 0;
        snprintf(bad, sizeof(bad), "%s/escape.zip", test_tmpdir());
        zip_t *za = zip_open(bad, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
        zip_source_t *src = zip_source_buffer(za, "x", 1, 0);
        zip_file_add(za, "../escape.txt", src, ZIP_FL_ENC_UTF_8);
        zip_close(za);
    }
    is_int(pub_bundle_content(bad, d, NULL, &eb), CMN_E_UNSAFE, "an entry escaping the bundle: CMN_E_UNSAFE");
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s/../escape.txt", test_tmpdir());
    ok(access(tmp, F_OK) != 0, "and nothing written outside");
    DIR *sd = opendir(pub_spool_dir(&f.s));
    int left = 0;
    struct dirent *de;
    char prefix[64];
    snprintf(prefix, sizeof(prefix), PUB_PATCH_PREFIX "%ld-", (long)getpid());
    while (sd && (de = readdir(sd)) != NULL)
        left += !strncmp(de->d_name, prefix, strlen(prefix));
    if (sd)
        closedir(sd);
    is_int(left, 0, "no scratch directory left behind");

    cmn_storage_free(st);
    s3_section(&f, v);
    fx_teardown(&f);
    return done_testing();
}
