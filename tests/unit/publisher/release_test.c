/*
 * Unit tests for the publisher's domain layer, publish.c and release.c,
 * against a real Postgres and file:// storage (pub_fixture.h): a new release
 * stores its bundle, commits its row and writes a signed manifest whose
 * sequence increases with every change; the lifecycle verbs (rollout, halt,
 * resume, rollback, archive, conclude, promote) allow exactly the documented
 * transitions and re-publish; every publish calls the notify hook.
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
    struct pub_dbconn *c = pub_db_get(f->s.db);
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
    struct pub_dbconn *c = pub_db_get(f->s.db);
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
    struct pub_dbconn *c = pub_db_get(f->s.db);
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
    c = pub_db_get(f->s.db);
    src = pub_q(c, Q_REL_BY_ID, p);
    is_int(pub_res_ok(src) ? pub_cell_i64(src, 0, 7) : -1, 10000, "concluded at 10000 bp");
    PQclear(src);
    pub_db_put(f->s.db, c);
    is_int(act(f, res.id, PUB_ACT_ARCHIVE, 0, &seq), CMN_OK, "archive");
    is_str(fx_state(f, res.id, st), "archived", "state archived");
    is_int(act(f, res.id, PUB_ACT_ARCHIVE, 0, &seq), CMN_E_CONFLICT, "archive twice refused");
    c = pub_db_get(f->s.db);
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
    fx_teardown(&f);
    return done_testing();
}
