/*
 * publish.c - the channel manifest writer.
 *
 * Crash safety comes from splitting every change in two steps:
 *   1. the change itself (new release, rollout, halt...) commits together
 *      with a bump of the channel's sequence and manifest_dirty = true
 *      (pub_chan_bump, inside the caller's transaction);
 *   2. pub_publish locks the channel row (SELECT ... FOR UPDATE), renders the
 *      manifest from the database, signs it, writes it with a conditional put
 *      (If-Match the last ETag, If-None-Match on the first write) and only
 *      then clears manifest_dirty with the new ETag.
 * Storage writes are atomic (temp + rename on file://, a single PUT on S3), so
 * storage only ever holds complete signed manifests. A SIGKILL between the two
 * steps leaves the row dirty and the start-up reconciliation publishes it; a
 * kill after the put but before the commit leaves a stored manifest whose ETag
 * the database does not know: the conditional put then fails, the stored
 * manifest is read back, and the new one is rendered with a higher sequence
 * than either, so sequences never go backwards.
 *
 * Sequences are floored by the clock in ms (SPEC.md section 7): the bump is
 * max(prev + 1, now_ms) and pub_publish reads the stored manifest before it
 * writes and goes above it, so a database restored from an older backup or a
 * manifest deleted from storage never makes devices refuse the next one.
 */
#include "common/compat.h"

#include "common/feed.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/semver.h"
#include "pub.h"

#define I64(buf, v) snprintf((buf), sizeof(buf), "%lld", (long long)(v))

enum cmn_err pub_audit(struct pub_dbconn *c, const char *actor, int64_t org_id, int64_t app_id, const char *release_id,
                       const char *action, json_t *detail)
{
    char org[24], app[24];
    I64(org, org_id);
    I64(app, app_id);
    char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    const char *params[] = {actor, org_id ? org : NULL, app_id ? app : NULL, release_id, action, d ? d : "{}"};
    PGresult *r = pub_q(c, Q_AUDIT_INSERT, params);
    enum cmn_err rc = pub_res_ok(r) ? CMN_OK : CMN_E_DB;
    PQclear(r);
    free(d);
    return rc;
}

json_t *pub_release_json(const PGresult *r, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(pub_cell(r, row, 0)));
    json_object_set_new(o, "app", json_string(pub_cell(r, row, 1)));
    json_object_set_new(o, "platform", json_string(pub_cell(r, row, 2)));
    json_object_set_new(o, "channel", json_string(pub_cell(r, row, 3)));
    json_object_set_new(o, "version", json_string(pub_cell(r, row, 4)));
    json_object_set_new(o, "target_binary", json_string(pub_cell(r, row, 5)));
    json_object_set_new(o, "mandatory", json_boolean(pub_cell(r, row, 6)[0] == 't'));
    json_object_set_new(o, "rollout_bp", json_integer(pub_cell_i64(r, row, 7)));
    if (!PQgetisnull(r, row, 8))
        json_object_set_new(o, "notes", json_string(pub_cell(r, row, 8)));
    json_object_set_new(o, "sha256", json_string(pub_cell(r, row, 9)));
    json_object_set_new(o, "size", json_integer(pub_cell_i64(r, row, 10)));
    json_object_set_new(o, "bundle_sig", json_string(pub_cell(r, row, 11)));
    json_object_set_new(o, "bundle_keyid", json_string(pub_cell(r, row, 12)));
    json_object_set_new(o, "bundle_url", json_string(pub_cell(r, row, 13)));
    json_object_set_new(o, "state", json_string(pub_cell(r, row, 14)));
    if (!PQgetisnull(r, row, 15))
        json_object_set_new(o, "promoted_from", json_string(pub_cell(r, row, 15)));
    json_object_set_new(o, "created_by", json_string(pub_cell(r, row, 16)));
    json_object_set_new(o, "created_at", json_integer(pub_cell_i64(r, row, 17)));
    json_object_set_new(o, "updated_at", json_integer(pub_cell_i64(r, row, 20)));
    if (!PQgetisnull(r, row, 21))
        json_object_set_new(o, "legacy_signature", json_string(pub_cell(r, row, 21)));
    if (!PQgetisnull(r, row, 24)) {
        json_object_set_new(o, "content_sha256", json_string(pub_cell(r, row, 24)));
        json_object_set_new(o, "content_sig", json_string(pub_cell(r, row, 25)));
    }
    if (!PQgetisnull(r, row, 26)) { /* the background patch job (patchjob.c) */
        json_t *pj = json_pack("{s:s,s:I,s:I}", "state", pub_cell(r, row, 26), "attempts",
                               (json_int_t)pub_cell_i64(r, row, 27), "patches", (json_int_t)pub_cell_i64(r, row, 28));
        if (!PQgetisnull(r, row, 29))
            json_object_set_new(pj, "last_error", json_string(pub_cell(r, row, 29)));
        json_object_set_new(o, "patch_job", pj);
    }
    if (!PQgetisnull(r, row, 30))
        json_object_set_new(o, "codepush_hash", json_string(pub_cell(r, row, 30)));
    return o;
}

static void chan_params(const struct pub_chan *ch, char app_id[24], const char *params[3])
{
    snprintf(app_id, 24, "%lld", (long long)ch->app_id);
    params[0] = app_id;
    params[1] = ch->platform;
    params[2] = ch->channel;
}

static enum cmn_err chan_bump(struct pub_dbconn *c, const struct pub_chan *ch, enum pub_stmt bump, int64_t *seq)
{
    char aid[24];
    const char *p[3];
    chan_params(ch, aid, p);
    PGresult *r = pub_q(c, Q_CHAN_ENSURE, p);
    int okay = pub_res_ok(r);
    PQclear(r);
    if (!okay)
        return CMN_E_DB;
    r = pub_q(c, Q_CHAN_LOCK, p);
    okay = pub_res_ok(r) && PQntuples(r) == 1;
    PQclear(r);
    if (!okay)
        return CMN_E_DB;
    r = pub_q(c, bump, p);
    okay = pub_res_ok(r) && PQntuples(r) == 1;
    if (okay && seq)
        *seq = pub_cell_i64(r, 0, 0);
    PQclear(r);
    return okay ? CMN_OK : CMN_E_DB;
}

enum cmn_err pub_chan_bump(struct pub_dbconn *c, const struct pub_chan *ch, int64_t *seq)
{
    return chan_bump(c, ch, Q_CHAN_BUMP, seq);
}

enum cmn_err pub_chan_touch(struct pub_dbconn *c, const struct pub_chan *ch, int64_t *seq)
{
    return chan_bump(c, ch, Q_CHAN_TOUCH, seq);
}

/*
 * The channel's active CodePush deployment key hashes into m->codepush_keys
 * (SPEC.md section 16): none leaves the member absent. More than the format
 * carries is refused (h_codepush.c never lets a channel get there).
 */
static enum cmn_err codepush_keys(struct pub_dbconn *c, const struct pub_chan *ch, struct cmn_manifest *m,
                                  struct cmn_errbuf *eb)
{
    char aid[24];
    const char *p[3];
    chan_params(ch, aid, p);
    PGresult *r = pub_q(c, Q_CPKEY_CHANNEL, p);
    if (!pub_res_ok(r)) {
        PQclear(r);
        return cmn_errf(eb, CMN_E_DB, "cannot read the deployment keys of %s/%s/%s", ch->app, ch->platform,
                        ch->channel);
    }
    enum cmn_err rc = CMN_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        rc = cmn_manifest_codepush_key_add(m, pub_cell(r, i, 0));
        if (rc && rc != CMN_E_NOMEM)
            rc = cmn_errf(eb, CMN_E_INVAL, "channel %s/%s/%s: deployment key %d cannot be listed (%s)", ch->app,
                          ch->platform, ch->channel, i, cmn_strerror(rc));
    }
    PQclear(r);
    return rc;
}

/* Build the manifest model from the channel's release rows (oldest first). */
static enum cmn_err build_manifest(struct pub_dbconn *c, const struct pub_chan *ch, struct cmn_manifest **out,
                                   struct cmn_errbuf *eb)
{
    char aid[24];
    const char *p[3];
    chan_params(ch, aid, p);
    PGresult *r = pub_q(c, Q_CHAN_RETIRED, p);
    if (!pub_res_ok(r)) {
        PQclear(r);
        return cmn_errf(eb, CMN_E_DB, "cannot read channel %s/%s/%s", ch->app, ch->platform, ch->channel);
    }
    int retired = PQntuples(r) == 1 && pub_cell(r, 0, 0)[0] == 't';
    PQclear(r);
    if (retired) { /* the tombstone lists nothing */
        struct cmn_manifest *t = cmn_manifest_new(ch->app, ch->platform, ch->channel);
        if (!t)
            return CMN_E_NOMEM;
        t->retired = 1;
        *out = t;
        return CMN_OK;
    }
    struct cmn_manifest *m = cmn_manifest_new(ch->app, ch->platform, ch->channel);
    if (!m)
        return CMN_E_NOMEM;
    enum cmn_err rc = codepush_keys(c, ch, m, eb);
    if (rc) {
        cmn_manifest_free(m);
        return rc;
    }
    r = pub_q(c, Q_REL_FOR_MANIFEST, p);
    if (!pub_res_ok(r)) {
        PQclear(r);
        cmn_manifest_free(m);
        return cmn_errf(eb, CMN_E_DB, "cannot read the releases of %s/%s/%s", ch->app, ch->platform, ch->channel);
    }
    /* the patches the background job built (patchjob.c), ordered by release id, then base */
    PGresult *pr = pub_q(c, Q_PATCH_FOR_CHANNEL, p);
    if (!pub_res_ok(pr)) {
        PQclear(pr);
        PQclear(r);
        cmn_manifest_free(m);
        return cmn_errf(eb, CMN_E_DB, "cannot read the patches of %s/%s/%s", ch->app, ch->platform, ch->channel);
    }
    int n = PQntuples(r);
    char *drop = calloc((size_t)n + 1, 1);
    struct cmn_patch_ref *pv = calloc(CMN_MANIFEST_MAX_PATCHES, sizeof(*pv));
    if (!drop || !pv) {
        PQclear(pr);
        free(pv);
        free(drop);
        PQclear(r);
        cmn_manifest_free(m);
        return CMN_E_NOMEM;
    }
    /* Over the cap: drop the oldest withdrawn releases first, then the oldest active ones. */
    int excess = n - (int)CMN_MANIFEST_MAX_RELEASES;
    for (int pass = 0; pass < 2 && excess > 0; pass++)
        for (int i = 0; i < n && excess > 0; i++) {
            int active = !strcmp(pub_cell(r, i, 14), "active");
            if (!drop[i] && (pass == 1 || !active)) {
                drop[i] = 1;
                excess--;
            }
        }
    for (int i = 0; i < n && !rc; i++) {
        if (drop[i])
            continue;
        struct cmn_release rel;
        memset(&rel, 0, sizeof(rel));
        rel.id = (char *)pub_cell(r, i, 0);
        rel.version = (char *)pub_cell(r, i, 4);
        rel.target_binary = (char *)pub_cell(r, i, 5);
        if (cmn_semver_range_parse(rel.target_binary, &rel.target)) {
            rc = cmn_errf(eb, CMN_E_INVAL, "release '%s' has a bad target_binary", rel.id);
            break;
        }
        rel.mandatory = pub_cell(r, i, 6)[0] == 't';
        rel.rollout_bp = (uint32_t)pub_cell_i64(r, i, 7);
        rel.notes = PQgetisnull(r, i, 8) ? NULL : (char *)pub_cell(r, i, 8);
        snprintf(rel.sha256, sizeof(rel.sha256), "%s", pub_cell(r, i, 9));
        rel.size = (uint64_t)pub_cell_i64(r, i, 10);
        rel.bundle_sig = (char *)pub_cell(r, i, 11);
        snprintf(rel.bundle_keyid, sizeof(rel.bundle_keyid), "%s", pub_cell(r, i, 12));
        rel.bundle_url = (char *)pub_cell(r, i, 13);
        int st = cmn_release_state_parse(pub_cell(r, i, 14));
        rel.state = st < 0 ? CMN_REL_DISABLED : (enum cmn_release_state)st;
        rel.created_at = pub_cell_i64(r, i, 17);
        rel.legacy_signature = PQgetisnull(r, i, 21) ? NULL : (char *)pub_cell(r, i, 21);
        /* only channels that answer CodePush clients carry it: SDKs predating SPEC section 16 refuse it */
        if (m->codepush_keys && !PQgetisnull(r, i, 30))
            snprintf(rel.codepush_hash, sizeof(rel.codepush_hash), "%s", pub_cell(r, i, 30));
        /* targeting (seed 002 rollouts): inline ids stored sorted and unique, or an edge-held list */
        rel.device_list = PQgetisnull(r, i, 23) ? NULL : (char *)pub_cell(r, i, 23);
        json_t *ids = PQgetisnull(r, i, 22) ? NULL : json_loads(pub_cell(r, i, 22), 0, NULL);
        char **idv = NULL;
        if (ids && json_array_size(ids)) {
            idv = calloc(json_array_size(ids), sizeof(char *));
            if (!idv) {
                json_decref(ids);
                rc = CMN_E_NOMEM;
                break;
            }
            for (size_t k = 0; k < json_array_size(ids); k++)
                idv[k] = (char *)json_string_value(json_array_get(ids, k));
            rel.device_ids = idv;
            rel.n_device_ids = json_array_size(ids);
        }
        /* SPEC.md section 14: the release key's content digest, and the patches that rebuild it */
        if (!PQgetisnull(r, i, 24) && !PQgetisnull(r, i, 25)) {
            snprintf(rel.content_sha256, sizeof(rel.content_sha256), "%s", pub_cell(r, i, 24));
            rel.content_sig = (char *)pub_cell(r, i, 25);
            size_t np = 0;
            for (int k = 0; k < PQntuples(pr) && np < CMN_MANIFEST_MAX_PATCHES; k++) {
                if (strcmp(pub_cell(pr, k, 0), rel.id) != 0)
                    continue;
                struct cmn_patch_ref *pe = &pv[np++];
                snprintf(pe->base, sizeof(pe->base), "%s", pub_cell(pr, k, 1));
                pe->url = (char *)pub_cell(pr, k, 2);
                snprintf(pe->sha256, sizeof(pe->sha256), "%s", pub_cell(pr, k, 3));
                pe->size = (uint64_t)pub_cell_i64(pr, k, 4);
            }
            rel.patches = np ? pv : NULL;
            rel.n_patches = np;
        }
        rc = cmn_manifest_add_release(m, &rel);
        free(idv);
        json_decref(ids);
    }
    free(drop);
    free(pv);
    PQclear(pr);
    PQclear(r);
    if (rc) {
        cmn_manifest_free(m);
        return rc;
    }
    *out = m;
    return CMN_OK;
}

enum cmn_err pub_manifest_check(struct pub_srv *s, struct pub_dbconn *c, const struct pub_chan *ch,
                                struct cmn_errbuf *eb)
{
    struct cmn_manifest *m = NULL;
    enum cmn_err rc = build_manifest(c, ch, &m, eb);
    if (rc)
        return rc;
    m->sequence = 1;
    m->issued_at = (int64_t)time(NULL);
    m->expires_at = m->issued_at + s->cfg->manifest_ttl;
    rc = cmn_manifest_validate(m, eb);
    cmn_manifest_free(m);
    return rc;
}

/* The sequence of a stored manifest we signed (expired ones too); 0 when unreadable. */
static uint64_t stored_sequence(struct pub_srv *s, const char *doc, size_t len, const struct pub_chan *ch)
{
    struct cmn_keyring kr = {s->mkeys, s->n_mkeys};
    struct cmn_manifest_expect ex = {ch->app, ch->platform, ch->channel, 0};
    struct cmn_manifest *m = NULL;
    if (cmn_manifest_open(doc, len, &kr, &ex, (int64_t)time(NULL), CMN_MANIFEST_ALLOW_EXPIRED, &m, NULL))
        return 0;
    uint64_t seq = m->sequence;
    cmn_manifest_free(m);
    return seq;
}

/* One publish, carried through cmn_storage_update to seal_edit on every attempt. */
struct seal_edit {
    struct pub_srv *s;
    const struct pub_chan *ch;
    struct cmn_manifest *m;
    const char *db_etag; /* the ETag the database recorded; NULL when none */
    int64_t seq;         /* in: the database's next sequence; out: the one sealed last */
    int64_t now;
    int seal_failed;
};

/*
 * Check the stored manifest before writing it (issue 12 #1): the database
 * may have been restored from an older backup, storage may have lost the
 * object, or hold one the database did not record (a crash after a put, an
 * operator's write). Go above what is stored, then seal.
 */
static enum cmn_err seal_edit(void *ctx, struct cmn_storage_edit *ed, struct cmn_errbuf *eb)
{
    struct seal_edit *se = ctx;
    struct cmn_manifest *m = se->m;
    if (ed->attempt > 0 || (ed->cur && (!se->db_etag || strcmp(se->db_etag, ed->etag) != 0)))
        cmn_warn("manifest %s changed in storage behind our back; rewriting it above what is stored", ed->key);
    if (!ed->cur) {
        if (se->db_etag && ed->attempt == 0)
            cmn_warn("manifest %s is missing from storage; writing it again above sequence %lld", ed->key,
                     (long long)se->seq);
    } else {
        uint64_t sseq = stored_sequence(se->s, ed->cur, ed->cur_len, se->ch);
        if ((int64_t)sseq >= se->seq) {
            cmn_warn("manifest %s in storage has sequence %llu, not below the database's %lld: going above it", ed->key,
                     (unsigned long long)sseq, (long long)se->seq);
            se->seq = (int64_t)cmn_manifest_next_sequence(sseq, cmn_now_ms());
        }
    }
    m->sequence = (uint64_t)se->seq;
    m->issued_at = se->now;
    m->expires_at = se->now + se->s->cfg->manifest_ttl;
    enum cmn_err rc = cmn_manifest_seal_keys(m, se->s->mkeys, se->s->n_mkeys, ed->out, eb);
    se->seal_failed = rc != CMN_OK;
    return rc;
}

enum cmn_err pub_publish(struct pub_srv *s, struct pub_dbconn *c, const struct pub_chan *ch, int force,
                         int64_t *seq_out, struct cmn_errbuf *eb)
{
    char aid[24];
    const char *p[3];
    chan_params(ch, aid, p);
    struct cmn_manifest *m = NULL;
    struct cmn_storage *st = NULL;
    char key[CMN_STORAGE_KEY_MAX];
    char etag[CMN_ETAG_MAX] = "", newetag[CMN_ETAG_MAX] = "";
    int have_etag = 0;
    int64_t seq = 0;
    enum cmn_err rc = pub_tx_begin(c);
    if (rc)
        return cmn_errf(eb, rc, "database unavailable");
    PGresult *r = pub_q(c, Q_CHAN_ENSURE, p);
    PQclear(r);
    r = pub_q(c, Q_CHAN_LOCK, p);
    if (!pub_res_ok(r) || PQntuples(r) != 1) {
        PQclear(r);
        rc = cmn_errf(eb, CMN_E_DB, "cannot lock channel %s/%s/%s", ch->app, ch->platform, ch->channel);
        goto out;
    }
    seq = pub_cell_i64(r, 0, 0);
    if (!PQgetisnull(r, 0, 1)) {
        snprintf(etag, sizeof(etag), "%s", pub_cell(r, 0, 1));
        have_etag = 1;
    }
    int dirty = pub_cell(r, 0, 2)[0] == 't';
    PQclear(r);
    if (!dirty && !force) {
        rc = pub_tx_commit(c);
        if (!rc && seq_out)
            *seq_out = seq;
        goto out;
    }
    if (force || seq < 1) /* a re-sign is a new document: it gets a new sequence */
        seq = (int64_t)cmn_manifest_next_sequence(seq > 0 ? (uint64_t)seq : 0, cmn_now_ms());
    rc = build_manifest(c, ch, &m, eb);
    if (rc)
        goto out;
    rc = cmn_storage_manifest_key(ch->app, ch->platform, ch->channel, key, sizeof(key));
    if (rc) {
        rc = cmn_errf(eb, rc, "bad manifest key for %s/%s/%s", ch->app, ch->platform, ch->channel);
        goto out;
    }
    rc = pub_storage_open(s, &st, eb);
    if (rc)
        goto out;
    struct seal_edit se = {s, ch, m, have_etag ? etag : NULL, seq, (int64_t)time(NULL), 0};
    struct cmn_storage_update_opts uo = {.what = "manifest",
                                         .max_size = CMN_MANIFEST_MAX_BYTES,
                                         .max_attempts = 4,
                                         .content_type = "application/json",
                                         .cache_control = "public, max-age=30"};
    struct cmn_storage_update_result ur;
    rc = cmn_storage_update(st, key, seal_edit, &se, &uo, &ur, eb);
    if (rc) {
        if (!se.seal_failed) /* storage unreadable, unwritable, or still changing after 4 attempts */
            atomic_fetch_add(&s->m.manifest_publish_errors, 1);
        goto out;
    }
    seq = se.seq;
    int64_t now = se.now;
    snprintf(newetag, sizeof(newetag), "%s", ur.etag);
    pub_fault(s, "after_manifest_put");
    {
        /* The change feed is a hint: on failure edges catch up at their next full listing. */
        struct cmn_errbuf feb = {{0}};
        enum cmn_err frc = cmn_feed_record(st, ch->app, ch->platform, ch->channel, (uint64_t)seq, newetag, now, &feb);
        if (frc)
            cmn_warn("manifest %s written, but the change feed was not updated: %s", key, cmn_errmsg(&feb, frc));
    }
    char seqs[24], exps[24];
    I64(seqs, seq);
    I64(exps, m->expires_at);
    const char *up[] = {aid, ch->platform, ch->channel, seqs, newetag, exps};
    r = pub_q(c, Q_CHAN_PUBLISHED, up);
    int okay = pub_res_ok(r);
    PQclear(r);
    if (!okay) {
        rc = cmn_errf(eb, CMN_E_DB, "cannot record the published manifest");
        goto out;
    }
    rc = pub_tx_commit(c);
    if (rc)
        goto out;
    atomic_fetch_add(&s->m.manifests_published, 1);
    cmn_info("published manifest %s sequence %lld (%zu releases)", key, (long long)seq, m->n_releases);
    if (seq_out)
        *seq_out = seq;
    pub_notify(s);
out:
    if (rc)
        pub_tx_rollback(c);
    cmn_manifest_free(m);
    cmn_storage_free(st);
    return rc;
}

enum cmn_err pub_channel_retire(struct pub_srv *s, struct pub_dbconn *c, const struct pub_chan *ch, const char *actor,
                                int64_t org_id, int64_t *seq_out, int *archived, struct cmn_errbuf *eb)
{
    char aid[24];
    const char *p[3];
    chan_params(ch, aid, p);
    int n = 0;
    enum cmn_err rc = pub_tx_begin(c);
    if (rc)
        return cmn_errf(eb, rc, "database unavailable");
    PGresult *r = pub_q(c, Q_CHAN_ENSURE, p);
    int okay = pub_res_ok(r);
    PQclear(r);
    if (okay) {
        r = pub_q(c, Q_CHAN_LOCK, p);
        okay = pub_res_ok(r) && PQntuples(r) == 1;
        PQclear(r);
    }
    if (okay) {
        r = pub_q(c, Q_REL_ARCHIVE_CHANNEL, p);
        okay = pub_res_ok(r);
        n = okay ? PQntuples(r) : 0;
        PQclear(r);
    }
    if (okay) {
        r = pub_q(c, Q_CHAN_RETIRE, p);
        okay = pub_res_ok(r) && PQntuples(r) == 1;
        PQclear(r);
    }
    if (!okay) {
        pub_tx_rollback(c);
        return cmn_errf(eb, CMN_E_DB, "cannot retire channel %s/%s/%s", ch->app, ch->platform, ch->channel);
    }
    json_t *detail = json_pack("{s:s,s:s,s:i}", "platform", ch->platform, "channel", ch->channel, "archived", n);
    rc = pub_audit(c, actor, org_id, ch->app_id, NULL, "channel.retire", detail);
    json_decref(detail);
    if (!rc)
        rc = pub_tx_commit(c);
    if (rc) {
        pub_tx_rollback(c);
        return cmn_errf(eb, rc, "cannot retire channel %s/%s/%s", ch->app, ch->platform, ch->channel);
    }
    cmn_info("retired channel %s/%s/%s (%d releases archived)", ch->app, ch->platform, ch->channel, n);
    if (archived)
        *archived = n;
    return pub_publish(s, c, ch, 0, seq_out, eb);
}

static void publish_rows(struct pub_srv *s, struct pub_dbconn *c, PGresult *r, int force)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct pub_chan ch = {pub_cell_i64(r, i, 0), pub_cell(r, i, 1), pub_cell(r, i, 2), pub_cell(r, i, 3)};
        struct cmn_errbuf eb = {0};
        enum cmn_err rc = pub_publish(s, c, &ch, force, NULL, &eb);
        if (rc)
            cmn_warn("cannot publish %s/%s/%s: %s", ch.app, ch.platform, ch.channel, cmn_errmsg(&eb, rc));
    }
}

void pub_reconcile(struct pub_srv *s, int check_storage)
{
    struct pub_dbconn *c = pub_db_get(s->db, NULL);
    if (!c)
        return;
    PGresult *r = pub_q(c, check_storage ? Q_CHAN_ALL : Q_CHAN_DIRTY_ALL, NULL);
    if (!pub_res_ok(r)) {
        PQclear(r);
        pub_db_put(s->db, c);
        return;
    }
    if (!check_storage) {
        publish_rows(s, c, r, 0);
        PQclear(r);
        pub_db_put(s->db, c);
        return;
    }
    struct cmn_storage *st = NULL;
    struct cmn_errbuf eb = {0};
    if (pub_storage_open(s, &st, &eb)) {
        cmn_warn("reconcile: %s", eb.msg);
        PQclear(r);
        pub_db_put(s->db, c);
        return;
    }
    struct cmn_buf doc;
    cmn_buf_init(&doc, CMN_MANIFEST_MAX_BYTES);
    for (int i = 0; i < PQntuples(r); i++) {
        struct pub_chan ch = {pub_cell_i64(r, i, 0), pub_cell(r, i, 1), pub_cell(r, i, 2), pub_cell(r, i, 3)};
        int64_t dbseq = pub_cell_i64(r, i, 4);
        const char *dbetag = pub_cell(r, i, 5);
        int dirty = pub_cell(r, i, 6)[0] == 't';
        int force = 0;
        if (!dirty) {
            char key[CMN_STORAGE_KEY_MAX], etag[CMN_ETAG_MAX] = "";
            if (cmn_storage_manifest_key(ch.app, ch.platform, ch.channel, key, sizeof(key)))
                continue;
            cmn_buf_reset(&doc);
            struct cmn_errbuf geb = {0};
            enum cmn_err grc = cmn_storage_get(st, key, NULL, &doc, etag, &geb);
            if (grc == CMN_E_NOTFOUND) {
                force = 1;
            } else if (grc) {
                cmn_warn("reconcile: cannot read '%s': %s", key, cmn_errmsg(&geb, grc));
                continue;
            } else if (strcmp(etag, dbetag) != 0 || (int64_t)stored_sequence(s, doc.ptr, doc.len, &ch) != dbseq) {
                force = 1;
            }
            if (!force)
                continue;
            cmn_warn("reconcile: manifest '%s' disagrees with the database (sequence %lld): re-publishing", key,
                     (long long)dbseq);
        }
        struct cmn_errbuf peb = {0};
        enum cmn_err rc = pub_publish(s, c, &ch, force, NULL, &peb);
        if (rc)
            cmn_warn("reconcile: cannot publish %s/%s/%s: %s", ch.app, ch.platform, ch.channel, cmn_errmsg(&peb, rc));
    }
    cmn_buf_release(&doc);
    cmn_storage_free(st);
    PQclear(r);
    pub_db_put(s->db, c);
}

void pub_resign_expiring(struct pub_srv *s)
{
    struct pub_dbconn *c = pub_db_get(s->db, NULL);
    if (!c)
        return;
    char half[24];
    I64(half, s->cfg->manifest_ttl / 2);
    const char *p[] = {half};
    PGresult *r = pub_q(c, Q_CHAN_EXPIRING, p);
    if (pub_res_ok(r)) {
        if (PQntuples(r))
            cmn_info("re-signing %d manifest(s) that expire within %s s", PQntuples(r), half);
        publish_rows(s, c, r, 1);
    }
    PQclear(r);
    pub_db_put(s->db, c);
}
