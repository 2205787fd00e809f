/*
 * Unit tests for the publisher's domain layer, publish.c and release.c,
 * against a real Postgres and file:// storage (pub_fixture.h): a new release
 * stores its bundle, commits its row and writes a signed manifest whose
 * sequence increases with every change; the lifecycle verbs (rollout, halt,
 * resume, rollback, archive, conclude, promote) allow exactly the documented
 * transitions and re-publish; every publish calls the notify hook; the
 * CodePush members (deployment key hashes, codepush_hash) follow the
 * channel's active keys.
 */
#include "pub_fixture.h"

static void test_publish(struct fx *f, char first_id[32])
{
    struct cmn_errbuf eb = {0};
    struct pub_new_result res;
    int before = atomic_load(&f->notified);
    enum cmn_err rc = fx_release(f, "beta", "1.0.0", 50, &res, &eb);
    is_int(rc, CMN_OK, "new release stored (%s)", eb.msg);
    is_int(res.stage, PUB_NEW_DONE, "every step ran");
    ok(res.published, "manifest published");
    ok(!strncmp(res.id, "rel_", 4) && strlen(res.id) == 20, "release id rel_<16 hex> (%s)", res.id);
    ok(res.release && !strcmp(json_string_value(json_object_get(res.release, "state")), "active"),
       "release row returned, active");
    is_int(json_integer_value(json_object_get(res.release, "rollout_bp")), 5000, "percent 50 -> 5000 bp");
    json_decref(res.release);
    snprintf(first_id, 32, "%s", res.id);
    ok(atomic_load(&f->notified) > before, "publishing called the notify hook");

    struct cmn_manifest *m = fx_manifest(f, "beta");
    ok(m != NULL, "stored manifest verifies with the manifest key");
    is_int(m ? (long long)m->sequence : -1, res.pubseq, "stored sequence is the published one");
    ok(fx_find(m, res.id) != NULL, "manifest lists the new release");
    const struct cmn_release *e = fx_find(m, res.id);
    is_int(e ? (long long)e->rollout_bp : -1, 5000, "manifest carries the rollout");
    cmn_manifest_free(m);

    char bkey[CMN_STORAGE_KEY_MAX], path[2048];
    struct pub_dbconn *c = pub_db_get(f->s.db, NULL);
    const char *p[] = {res.id};
    PGresult *r = pub_q(c, Q_REL_BY_ID, p);
    snprintf(bkey, sizeof(bkey), "%s", pub_res_ok(r) && PQntuples(r) ? pub_cell(r, 0, 13) : "");
    PQclear(r);
    pub_db_put(f->s.db, c);
    snprintf(path, sizeof(path), "%s/%s", f->store, bkey);
    ok(bkey[0] && access(path, R_OK) == 0, "bundle stored content-addressed at %s", bkey);

    int64_t prev = res.pubseq;
    rc = fx_release(f, "beta", "1.1.0", 100, &res, &eb);
    is_int(rc, CMN_OK, "second release stored");
    ok(res.pubseq > prev, "sequence increments (%lld -> %lld)", (long long)prev, (long long)res.pubseq);
    json_decref(res.release);
    m = fx_manifest(f, "beta");
    is_int(m ? (long long)m->n_releases : -1, 2, "manifest lists both releases");
    cmn_manifest_free(m);

    rc = fx_release(f, "beta", "1.1.0", 100, &res, &eb);
    is_int(rc, CMN_E_EXISTS, "same version on the same channel refused: %s", eb.msg);
    is_int(res.stage, PUB_NEW_INSERT, "refused in the transaction, after the (idempotent) bundle store");
}

/* Apply an action and return its code; *seq gets the committed channel sequence. */
static enum cmn_err act(struct fx *f, const char *id, int action, long bp, int64_t *seq)
{
    struct cmn_errbuf eb = {0};
    struct pub_dbconn *c = pub_db_get(f->s.db, NULL);
    json_t *rel = NULL;
    enum cmn_err rc = pub_release_action(&f->s, c, id, action, bp, "key:test", NULL, &rel, seq, &eb);
    if (rc)
        diag("action %d on %s: %s", action, id, cmn_errmsg(&eb, rc));
    json_decref(rel);
    pub_db_put(f->s.db, c);
    return rc;
}

static void test_lifecycle(struct fx *f, const char *id)
{
    char st[24];
    int64_t seq = 0, last = 0;
    struct cmn_manifest *m = fx_manifest(f, "beta");
    last = m ? (int64_t)m->sequence : 0;
    cmn_manifest_free(m);

    is_int(act(f, id, PUB_ACT_ROLLOUT, 2500, &seq), CMN_OK, "rollout to 25%%");
    m = fx_manifest(f, "beta");
    ok(m && (int64_t)m->sequence > last, "rollout re-published with a higher sequence");
    is_int(fx_find(m, id) ? (long long)fx_find(m, id)->rollout_bp : -1, 2500, "manifest carries 2500 bp");
    last = m ? (int64_t)m->sequence : last;
    cmn_manifest_free(m);

    is_int(act(f, id, PUB_ACT_HALT, 0, &seq), CMN_OK, "halt an active release");
    is_str(fx_state(f, id, st), "halted", "state halted");
    m = fx_manifest(f, "beta");
    ok(fx_find(m, id) && fx_find(m, id)->state == CMN_REL_HALTED, "manifest says halted");
    ok(m && (int64_t)m->sequence > last, "halt re-published");
    last = m ? (int64_t)m->sequence : last;
    cmn_manifest_free(m);
    is_int(act(f, id, PUB_ACT_HALT, 0, &seq), CMN_E_CONFLICT, "halt twice refused");
    is_int(act(f, id, PUB_ACT_ROLLOUT, 5000, &seq), CMN_E_CONFLICT, "rollout of a halted release refused");

    is_int(act(f, id, PUB_ACT_RESUME, 0, &seq), CMN_OK, "resume a halted release");
    is_str(fx_state(f, id, st), "active", "state active again");
    is_int(act(f, id, PUB_ACT_RESUME, 0, &seq), CMN_E_CONFLICT, "resume of an active release refused");

    is_int(act(f, id, PUB_ACT_ROLLBACK, 0, &seq), CMN_OK, "roll back");
    is_str(fx_state(f, id, st), "rolled_back", "state rolled_back");
    m = fx_manifest(f, "beta");
    ok(fx_find(m, id) && fx_find(m, id)->state == CMN_REL_ROLLED_BACK, "manifest says rolled_back");
    ok(m && (int64_t)m->sequence > last, "rollback is a new, higher sequence");
    cmn_manifest_free(m);
    is_int(act(f, id, PUB_ACT_RESUME, 0, &seq), CMN_E_CONFLICT, "a rolled-back release cannot resume");
    is_int(act(f, id, PUB_ACT_CONCLUDE, 0, &seq), CMN_E_CONFLICT, "nor conclude");

    /* promote copies the bundle to another channel as a new release */
    struct cmn_errbuf eb = {0};
    struct pub_new_result res;
    is_int(fx_release(f, "beta", "2.0.0", 10, &res, &eb), CMN_OK, "a release to promote");
    json_decref(res.release);
    struct pub_dbconn *c = pub_db_get(f->s.db, NULL);
    const char *p[] = {res.id};
    PGresult *src = pub_q(c, Q_REL_BY_ID, p);
    json_t *rel = NULL;
    int64_t pseq = 0, ppub = 0;
    enum cmn_err rc =
        pub_release_promote(&f->s, c, src, "production", -1, "key:test", f->org_id, &rel, &pseq, &ppub, &eb);
    is_int(rc, CMN_OK, "promote to production (%s)", eb.msg);
    const char *pid = rel ? json_string_value(json_object_get(rel, "id")) : NULL;
    ok(pid && strcmp(pid, res.id) != 0, "promotion is a new release");
    is_str(rel ? json_string_value(json_object_get(rel, "promoted_from")) : NULL, res.id, "promoted_from");
    is_int(rel ? json_integer_value(json_object_get(rel, "rollout_bp")) : -1, 1000, "keeps the source's rollout");
    m = fx_manifest(f, "production");
    ok(m && pid && fx_find(m, pid), "production manifest lists it");
    ok(m && ppub == (int64_t)m->sequence, "published sequence reported");
    cmn_manifest_free(m);
    json_decref(rel);
    rc = pub_release_promote(&f->s, c, src, "beta", -1, "key:test", f->org_id, &rel, &pseq, &ppub, &eb);
    is_int(rc, CMN_E_INVAL, "promote to its own channel refused");
    PQclear(src);
    pub_db_put(f->s.db, c);

    is_int(act(f, res.id, PUB_ACT_CONCLUDE, 0, &seq), CMN_OK, "conclude: 100%% and active");
    c = pub_db_get(f->s.db, NULL);
    src = pub_q(c, Q_REL_BY_ID, p);
    is_int(pub_res_ok(src) ? pub_cell_i64(src, 0, 7) : -1, 10000, "concluded at 10000 bp");
    PQclear(src);
    pub_db_put(f->s.db, c);
    is_int(act(f, res.id, PUB_ACT_ARCHIVE, 0, &seq), CMN_OK, "archive");
    is_str(fx_state(f, res.id, st), "archived", "state archived");
    is_int(act(f, res.id, PUB_ACT_ARCHIVE, 0, &seq), CMN_E_CONFLICT, "archive twice refused");
    c = pub_db_get(f->s.db, NULL);
    src = pub_q(c, Q_REL_BY_ID, p);
    rc = pub_release_promote(&f->s, c, src, "staging", -1, "key:test", f->org_id, &rel, &pseq, &ppub, &eb);
    is_int(rc, CMN_E_CONFLICT, "an archived release cannot be promoted");
    PQclear(src);
    pub_db_put(f->s.db, c);
    is_int(act(f, "rel_nosuchrelease", PUB_ACT_HALT, 0, &seq), CMN_E_NOTFOUND, "unknown release: not found");

    char q[256];
    snprintf(q, sizeof(q), "SELECT count(*) FROM audit_events WHERE release_id = '%s' AND action LIKE 'release.%%'",
             id);
    is_int(fx_sql_int(f, q), 5, "one audit event per accepted change (rollout, halt, resume, rollback + create)");
}

/* Add a CodePush key hash to demo/android/<channel> the way h_codepush.c does (touch + insert, one transaction). */
static enum cmn_err cp_key(struct fx *f, const char *channel, const char *hash, int64_t *seq)
{
    struct pub_dbconn *c = pub_db_get(f->s.db, NULL);
    if (!c)
        return CMN_E_DB;
    struct pub_chan ch = {f->app_id, "demo", "android", channel};
    char aid[24];
    snprintf(aid, sizeof(aid), "%lld", (long long)f->app_id);
    const char *p[] = {aid, "android", channel, hash, hash + 60, "", "key:test"};
    enum cmn_err rc = pub_tx_begin(c);
    if (!rc)
        rc = pub_chan_touch(c, &ch, seq);
    if (!rc) {
        PGresult *r = pub_q(c, Q_CPKEY_INSERT, p);
        rc = pub_res_ok(r) ? CMN_OK : CMN_E_DB;
        PQclear(r);
    }
    if (!rc)
        rc = pub_tx_commit(c);
    if (rc)
        pub_tx_rollback(c);
    pub_db_put(f->s.db, c);
    return rc;
}

static enum cmn_err publish(struct fx *f, const char *channel, int64_t *seq, struct cmn_errbuf *eb)
{
    struct pub_dbconn *c = pub_db_get(f->s.db, NULL);
    struct pub_chan ch = {f->app_id, "demo", "android", channel};
    enum cmn_err rc = c ? pub_publish(&f->s, c, &ch, 0, seq, eb) : CMN_E_DB;
    if (c)
        pub_db_put(f->s.db, c);
    return rc;
}

/*
 * CodePush members (SPEC.md section 16) in the publisher's manifests: the
 * channel's active key hashes, sorted, as codepush_keys; a release's stored
 * codepush_hash only while the channel has a key; a channel holding more keys
 * than the format carries is refused at publish (the stored manifest stays).
 */
static void test_codepush(struct fx *f)
{
    struct cmn_errbuf eb = {0};
    struct pub_new_result res;
    int64_t seq = 0, pubseq = 0;
    const char *cph = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    is_int(fx_release(f, "cp", "1.0.0", 100, &res, &eb), CMN_OK, "a release on channel cp");
    json_decref(res.release);
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE releases SET codepush_hash = '%s' WHERE id = '%s'", cph, res.id);
    is_int(fx_sql_int(f, sql), 1, "... with a stored codepush_hash");
    snprintf(sql, sizeof(sql), "UPDATE releases SET codepush_hash = 'NOT-HEX' WHERE id = '%s'", res.id);
    ok(fx_sql_int(f, sql) == -1, "the column refuses a malformed hash (CHECK)");
    const char *kb = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const char *ka = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    is_int(cp_key(f, "cp", kb, &seq), CMN_OK, "a key");
    is_int(cp_key(f, "cp", ka, &seq), CMN_OK, "a second key");
    is_int(publish(f, "cp", &pubseq, &eb), CMN_OK, "published (%s)", eb.msg);
    struct cmn_manifest *m = fx_manifest(f, "cp");
    ok(m && m->n_codepush_keys == 2 && !strcmp(m->codepush_keys[0], ka) && !strcmp(m->codepush_keys[1], kb),
       "codepush_keys lists both, sorted");
    const struct cmn_release *e = fx_find(m, res.id);
    is_str(e ? e->codepush_hash : "(none)", cph, "the release entry carries its codepush_hash");
    is_int(m ? (long long)m->sequence : -1, pubseq, "at the published sequence");
    cmn_manifest_free(m);
    m = fx_manifest(f, "beta");
    ok(m && m->n_codepush_keys == 0, "another channel of the app lists no key");
    cmn_manifest_free(m);

    /* revoked keys are left out; no key left: neither member */
    is_int(fx_sql_int(f, "UPDATE codepush_keys SET revoked_at = now() WHERE channel = 'cp'"), 2, "revoke both");
    is_int(cp_key(f, "cp", "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", &seq), CMN_OK,
           "... and add a third");
    is_int(fx_sql_int(f, "UPDATE codepush_keys SET revoked_at = now() WHERE channel = 'cp' AND revoked_at IS NULL"), 1,
           "revoke it too");
    is_int(cp_key(f, "cp", "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", &seq), CMN_OK,
           "(a bump to publish)");
    is_int(fx_sql_int(f, "UPDATE codepush_keys SET revoked_at = now() WHERE channel = 'cp' AND revoked_at IS NULL"), 1,
           "none active");
    is_int(publish(f, "cp", &pubseq, &eb), CMN_OK, "published");
    m = fx_manifest(f, "cp");
    e = fx_find(m, res.id);
    ok(m && m->n_codepush_keys == 0 && !m->codepush_keys && e && !e->codepush_hash[0],
       "no active key: no codepush_keys member, no codepush_hash");
    cmn_manifest_free(m);

    /* more keys than the format carries (only a bypassed handler could store them): refused, nothing written */
    int stored = 0;
    for (int i = 0; i <= CMN_MANIFEST_MAX_CODEPUSH_KEYS; i++) {
        char h[65];
        snprintf(h, sizeof(h), "%064x", i + 1);
        stored += cp_key(f, "cp", h, &seq) == CMN_OK;
    }
    is_int(stored, CMN_MANIFEST_MAX_CODEPUSH_KEYS + 1, "%d keys stored behind the handler's back", stored);
    memset(&eb, 0, sizeof(eb));
    enum cmn_err rc = publish(f, "cp", &seq, &eb);
    ok(rc == CMN_E_INVAL && strstr(eb.msg, "deployment key"), "publish refused: %s", eb.msg);
    m = fx_manifest(f, "cp");
    ok(m && (int64_t)m->sequence == pubseq && m->n_codepush_keys == 0, "the stored manifest is the previous one");
    cmn_manifest_free(m);
    is_int(fx_sql_int(f, "DELETE FROM codepush_keys WHERE channel = 'cp' AND key_sha256 LIKE '00%'"),
           CMN_MANIFEST_MAX_CODEPUSH_KEYS + 1, "(clean up)");

    /* a key change keeps a retired channel retired */
    struct pub_dbconn *c = pub_db_get(f->s.db, NULL);
    struct pub_chan ch = {f->app_id, "demo", "android", "cp"};
    int archived = 0;
    rc = c ? pub_channel_retire(&f->s, c, &ch, "key:test", f->org_id, &seq, &archived, &eb) : CMN_E_DB;
    if (c)
        pub_db_put(f->s.db, c);
    is_int(rc, CMN_OK, "retire channel cp");
    is_int(cp_key(f, "cp", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", &seq), CMN_OK,
           "a key on the retired channel");
    is_int(publish(f, "cp", &pubseq, &eb), CMN_OK, "published");
    m = fx_manifest(f, "cp");
    ok(m && m->retired && m->n_codepush_keys == 0 && m->n_releases == 0 && (int64_t)m->sequence == pubseq,
       "still a tombstone, listing nothing, at the new sequence");
    cmn_manifest_free(m);
}

int main(void)
{
    struct fx f;
    int rc = fx_setup(&f, "release");
    if (rc == 1) {
        test_skip(1, "HP_TEST_PG_URL is not set (make test starts Postgres and sets it)");
        return done_testing();
    }
    ok(rc == 0, "fixture: database, storage, keys");
    if (rc)
        return done_testing();
    char id[32] = "";
    test_publish(&f, id);
    test_lifecycle(&f, id);
    test_codepush(&f);
    fx_teardown(&f);
    return done_testing();
}
