/*
 * pub_fixture.h - a real publisher context for the domain-layer unit tests
 * (header-only, static): a fresh database on the throwaway Postgres cluster
 * (HP_TEST_PG_URL, set by tests/run.sh's servers; without it the tests print
 * a TAP skip), migrations applied, a file:// storage directory, a fresh
 * manifest key, and a notify hook that counts its calls. Nothing is mocked:
 * the domain functions run against the same Postgres and storage code the
 * daemon uses, only without HTTP in front.
 */
#ifndef PUB_FIXTURE_H
#define PUB_FIXTURE_H

#include "common/compat.h"

#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "../../integration/publisher/pub_itest.h" /* it_db_create: a fresh database on the test cluster */
#include "../../lib/test.h"
#include "common/crypto.h"
#include "common/manifest.h"
#include "common/patch.h"
#include "common/storage.h"
#include "pub.h"

#define FX_JWT_SECRET "a-unit-test-secret-that-is-longer-than-32-bytes"

struct fx {
    struct pub_config cfg;
    struct pub_srv s;
    char dburl[512];
    char store[1024];    /* the file:// storage directory */
    struct cmn_key rkey; /* a release key registered for the app */
    int64_t org_id, app_id;
    atomic_int notified; /* calls of the notify hook */
};

static void fx_count_notify(struct pub_srv *s, void *arg)
{
    struct fx *f = arg;
    atomic_fetch_add(&f->notified, 1);
}

/* Run one SQL statement on the test database; the first cell as a number, -1 on error. */
static CMN_UNUSED long long fx_sql_int(struct fx *f, const char *sql)
{
    PGconn *pg = PQconnectdb(f->dburl);
    long long v = -1;
    if (PQstatus(pg) == CONNECTION_OK) {
        PGresult *r = PQexec(pg, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
            v = atoll(PQgetvalue(r, 0, 0));
        else if (PQresultStatus(r) == PGRES_COMMAND_OK)
            v = atoll(PQcmdTuples(r));
        else
            diag("sql '%s': %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(pg);
    return v;
}

/*
 * Everything up to an app "demo" with a registered release key.
 * 1: no HP_TEST_PG_URL (the caller skips); 0: ready; -1: setup failed.
 */
static CMN_UNUSED int fx_setup(struct fx *f, const char *tag)
{
    memset(f, 0, sizeof(*f));
    const char *base = getenv("HP_TEST_PG_URL");
    if (!base || !*base)
        return 1;
    if (cmn_crypto_init() || it_db_create(tag, f->dburl))
        return -1;
    struct cmn_errbuf eb = {0};
    PGconn *pg = PQconnectdb(f->dburl);
    enum cmn_err rc = PQstatus(pg) == CONNECTION_OK ? pub_db_migrate(pg, NULL, &eb) : CMN_E_DB;
    PQfinish(pg);
    if (rc) {
        diag("migrate: %s", cmn_errmsg(&eb, rc));
        return -1;
    }
    snprintf(f->store, sizeof(f->store), "%s/store", test_tmpdir());
    char url[1100], keypath[1100];
    snprintf(url, sizeof(url), "file://%s", f->store);
    snprintf(keypath, sizeof(keypath), "%s/manifest.key", test_tmpdir());
    struct cmn_key mk;
    if (cmn_key_generate(&mk) || cmn_key_save_secret(&mk, keypath, 1, &eb))
        return -1;
    cmn_key_clear(&mk);
    pub_config_init(&f->cfg);
    if (pub_config_set(&f->cfg, "database_url", f->dburl, &eb) || pub_config_set(&f->cfg, "storage", url, &eb) ||
        pub_config_set(&f->cfg, "jwt_secret", FX_JWT_SECRET, &eb) ||
        pub_config_set(&f->cfg, "manifest_key", keypath, &eb) || pub_config_check(&f->cfg, &eb)) {
        diag("config: %s", eb.msg);
        return -1;
    }
    pub_srv_init(&f->s, &f->cfg, NULL);
    if (pub_srv_load_keys(&f->s, &eb) || pub_db_open(f->dburl, 2, 10000, &f->s.db, &eb)) {
        diag("context: %s", eb.msg);
        return -1;
    }
    pub_srv_set_notify(&f->s, fx_count_notify, f);

    /* org, app and a release key, through the same prepared statements the handlers use */
    struct pub_dbconn *c = pub_db_get(f->s.db, NULL);
    if (!c)
        return -1;
    const char *po[] = {"acme"};
    PGresult *r = pub_q(c, Q_ORG_INSERT, po);
    f->org_id = pub_res_ok(r) ? pub_cell_i64(r, 0, 0) : 0;
    PQclear(r);
    char oid[24], aid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)f->org_id);
    const char *pa[] = {oid, "demo"};
    r = pub_q(c, Q_APP_INSERT, pa);
    f->app_id = pub_res_ok(r) ? pub_cell_i64(r, 0, 0) : 0;
    PQclear(r);
    snprintf(aid, sizeof(aid), "%lld", (long long)f->app_id);
    char b64[CMN_PK_B64];
    int okay = f->org_id && f->app_id && !cmn_key_generate(&f->rkey);
    if (okay) {
        cmn_key_public_b64(&f->rkey, b64);
        const char *pk[] = {aid, f->rkey.keyid, b64, "ci"};
        r = pub_q(c, Q_RKEY_INSERT, pk);
        okay = pub_res_ok(r);
        PQclear(r);
    }
    pub_db_put(f->s.db, c);
    return okay ? 0 : -1;
}

static CMN_UNUSED void fx_teardown(struct fx *f)
{
    pub_srv_release(&f->s);
    pub_config_release(&f->cfg);
    cmn_key_clear(&f->rkey);
}

/*
 * A new release of app "demo" on android/<channel>: a bundle file signed by
 * the release key, its metadata decoded by the real parser, stored by
 * pub_release_new. res->release is the caller's to free.
 */
static CMN_UNUSED enum cmn_err fx_release(struct fx *f, const char *channel, const char *version, int percent,
                                          struct pub_new_result *res, struct cmn_errbuf *eb)
{
    char path[1100], body[128];
    snprintf(path, sizeof(path), "%s/bundle-%s-%s.zip", test_tmpdir(), channel, version);
    int n = snprintf(body, sizeof(body), "PK-not-really-a-zip %s %s", channel, version);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(body, 1, (size_t)n, fp) != (size_t)n || fclose(fp))
        return CMN_E_IO;
    uint8_t digest[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX], sig[CMN_SIG_B64], meta[1024];
    cmn_sha256(body, (size_t)n, digest);
    cmn_hex_encode(digest, sizeof(digest), hex);
    if (cmn_bundle_sign(&f->rkey, digest, sig))
        return CMN_E_INVAL;
    snprintf(meta, sizeof(meta),
             "{\"app\":\"demo\",\"platform\":\"android\",\"channel\":\"%s\",\"version\":\"%s\",\"percent\":%d,"
             "\"sha256\":\"%s\",\"size\":%d,\"bundle_sig\":\"%s\",\"bundle_keyid\":\"%s\"}",
             channel, version, percent, hex, n, sig, f->rkey.keyid);
    struct pub_relmeta m;
    enum cmn_err rc = pub_relmeta_parse(meta, strlen(meta), &m, eb);
    if (rc)
        return rc;
    struct pub_new_release nr = {&m, f->app_id, f->org_id, path, hex, "key:test"};
    rc = pub_release_new(&f->s, &nr, res, eb);
    pub_relmeta_release(&m);
    return rc;
}

/* The stored, signed manifest of demo/android/<channel>, verified with the context's keys. NULL when absent. */
static CMN_UNUSED struct cmn_manifest *fx_manifest(struct fx *f, const char *channel)
{
    struct cmn_storage *st = NULL;
    struct cmn_errbuf eb = {0};
    struct cmn_buf doc;
    cmn_buf_init(&doc, CMN_MANIFEST_MAX_BYTES);
    char key[CMN_STORAGE_KEY_MAX], etag[CMN_ETAG_MAX];
    struct cmn_manifest *m = NULL;
    struct cmn_keyring kr = {f->s.mkeys, f->s.n_mkeys};
    struct cmn_manifest_expect ex = {"demo", "android", channel, 0};
    enum cmn_err rc = cmn_storage_manifest_key("demo", "android", channel, key, sizeof(key));
    if (!rc)
        rc = pub_storage_open(&f->s, &st, &eb);
    if (!rc)
        rc = cmn_storage_get(st, key, NULL, &doc, etag, &eb);
    if (!rc)
        rc = cmn_manifest_open(doc.ptr, doc.len, &kr, &ex, (int64_t)time(NULL), 0, &m, &eb);
    if (rc)
        diag("manifest %s: %s", key, cmn_errmsg(&eb, rc));
    cmn_storage_free(st);
    cmn_buf_release(&doc);
    return m;
}

/* The state column of a release, "" when missing. */
static CMN_UNUSED const char *fx_state(struct fx *f, const char *id, char out[24])
{
    out[0] = '\0';
    struct pub_dbconn *c = pub_db_get(f->s.db, NULL);
    const char *p[] = {id};
    PGresult *r = pub_q(c, Q_REL_BY_ID, p);
    if (pub_res_ok(r) && PQntuples(r) == 1)
        snprintf(out, 24, "%s", pub_cell(r, 0, 14));
    PQclear(r);
    pub_db_put(f->s.db, c);
    return out;
}

/* The entry of release `id` in a manifest, NULL when not listed. */
static CMN_UNUSED const struct cmn_release *fx_find(const struct cmn_manifest *m, const char *id)
{
    for (size_t i = 0; m && i < m->n_releases; i++)
        if (!strcmp(m->releases[i].id, id))
            return &m->releases[i];
    return NULL;
}

/* An installation batch (JSON) through the real parser and pub_ingest_installs; the reason is diag'd on failure. */
static CMN_UNUSED enum cmn_err fx_installs(struct fx *f, const char *json, struct pub_ingest_result *res)
{
    struct pub_batch b;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc =
        pub_batch_parse_installs(json, strlen(json), f->cfg.max_telemetry, (size_t)f->cfg.max_batch, &b, &eb);
    if (rc) {
        diag("parse: %s", cmn_errmsg(&eb, rc));
        return rc;
    }
    rc = pub_ingest_installs(&f->s, &b, res, &eb);
    if (rc)
        diag("installs: %s", cmn_errmsg(&eb, rc));
    pub_batch_release(&b);
    return rc;
}

/* ---- real bundle zips with signed content digests (the patch job's input, SPEC.md section 14) ---- */

static CMN_UNUSED int fx_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = fwrite(p, 1, n, f) != n;
    return fclose(f) || bad ? -1 : 0;
}

/*
 * A bundle dir: index.android.bundle (about 150 KB of JS-like text; `variant`
 * changes one line (1) or adds 300 lines (2)) and assets/logo.png. Variant 9
 * is unrelated pseudo-random bytes (nothing to share with the others).
 */
static CMN_UNUSED int fx_bundle_dir(const char *dir, int variant)
{
    char p[1200];
    mkdir(dir, 0755);
    snprintf(p, sizeof(p), "%s/assets", dir);
    mkdir(p, 0755);
    struct cmn_buf b;
    cmn_buf_init(&b, 8u << 20);
    uint32_t x = 12345;
    for (int i = 0; i < 3000; i++) {
        char line[160];
        x = x * 1103515245u + 12345u;
        int n = snprintf(line, sizeof(line), "function f%d(a){return a*%u+\"%s\".length;}\n", i, (x >> 8) % 9973,
                         (i == 1500 && variant >= 1) ? "label 1.2.1" : "label 1.2.0");
        if (cmn_buf_add(&b, line, (size_t)n))
            return -1;
    }
    for (int i = 0; variant == 2 && i < 300; i++) {
        char line[96];
        int n = snprintf(line, sizeof(line), "export function extra%d(x){return x*%d;}\n", i, i + 7);
        if (cmn_buf_add(&b, line, (size_t)n))
            return -1;
    }
    if (variant == 9) {
        cmn_buf_reset(&b);
        uint8_t rnd[4096];
        for (int i = 0; i < 40; i++) {
            cmn_random(rnd, sizeof(rnd));
            if (cmn_buf_add(&b, rnd, sizeof(rnd)))
                return -1;
        }
    }
    snprintf(p, sizeof(p), "%s/index.android.bundle", dir);
    int rc = fx_write_file(p, b.ptr, b.len);
    cmn_buf_release(&b);
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    snprintf(p, sizeof(p), "%s/assets/logo.png", dir);
    return rc || fx_write_file(p, png, sizeof(png));
}

/* Zip a bundle dir (its two files) with libzip. */
static CMN_UNUSED int fx_zip_bundle(const char *dir, const char *zip)
{
    static const char *const names[] = {"assets/logo.png", "index.android.bundle"};
    int err = 0;
    zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za)
        return -1;
    for (size_t i = 0; i < CMN_ARRAY_SIZE(names); i++) {
        char p[1200];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        zip_source_t *src = zip_source_file(za, p, 0, -1);
        if (!src || zip_file_add(za, names[i], src, ZIP_FL_ENC_UTF_8) < 0) {
            zip_source_free(src);
            zip_discard(za);
            return -1;
        }
    }
    return zip_close(za) ? -1 : 0;
}

/* The content digest of a bundle dir, hex. */
static CMN_UNUSED int fx_dir_digest(const char *dir, char hex[CMN_SHA256_HEX])
{
    uint8_t d[CMN_SHA256_BYTES];
    struct cmn_errbuf eb = {0};
    if (cmn_content_digest_dir(dir, d, &eb))
        return -1;
    cmn_hex_encode(d, sizeof(d), hex);
    return 0;
}

/*
 * Release bundle dir `dir` as `version` on android/<channel> of app demo, with
 * its content digest signed by the release key (what `hotpatch release` sends).
 * The release id into id_out.
 */
static CMN_UNUSED enum cmn_err fx_release_content(struct fx *f, const char *channel, const char *version,
                                                  const char *target, const char *dir, char id_out[32],
                                                  char content_out[CMN_SHA256_HEX])
{
    char zip[1200], content[CMN_SHA256_HEX], meta[2048], hex[CMN_SHA256_HEX];
    char sig[CMN_SIG_B64], csig[CMN_SIG_B64];
    uint8_t d[CMN_SHA256_BYTES], cd[CMN_SHA256_BYTES];
    uint64_t size = 0;
    struct cmn_errbuf eb = {0};
    snprintf(zip, sizeof(zip), "%s.zip", dir);
    if (fx_zip_bundle(dir, zip) || fx_dir_digest(dir, content) || cmn_sha256_file(zip, d, &size, &eb))
        return CMN_E_IO;
    cmn_hex_encode(d, sizeof(d), hex);
    if (cmn_hex_decode(content, cd, sizeof(cd)) || cmn_bundle_sign(&f->rkey, d, sig) ||
        cmn_content_sign(&f->rkey, cd, csig))
        return CMN_E_INVAL;
    snprintf(meta, sizeof(meta),
             "{\"app\":\"demo\",\"platform\":\"android\",\"channel\":\"%s\",\"version\":\"%s\",\"target_binary\":"
             "\"%s\",\"sha256\":\"%s\",\"size\":%llu,\"bundle_sig\":\"%s\",\"bundle_keyid\":\"%s\","
             "\"content_sha256\":\"%s\",\"content_sig\":\"%s\"}",
             channel, version, target, hex, (unsigned long long)size, sig, f->rkey.keyid, content, csig);
    struct pub_relmeta m;
    enum cmn_err rc = pub_relmeta_parse(meta, strlen(meta), &m, &eb);
    if (rc) {
        diag("metadata: %s", eb.msg);
        return rc;
    }
    struct pub_new_release nr = {&m, f->app_id, f->org_id, zip, hex, "key:test"};
    struct pub_new_result res;
    rc = pub_release_new(&f->s, &nr, &res, &eb);
    pub_relmeta_release(&m);
    if (rc) {
        diag("release: %s", cmn_errmsg(&eb, rc));
        return rc;
    }
    json_decref(res.release);
    snprintf(id_out, 32, "%s", res.id);
    if (content_out)
        memcpy(content_out, content, CMN_SHA256_HEX);
    return CMN_OK;
}

#endif
