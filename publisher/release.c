/*
 * release.c - new releases and the release lifecycle (domain layer).
 *
 * A new release arrives here verified (the upload handler, h_upload.c, has
 * checked its digest, size and Ed25519 bundle signature against a release key
 * registered for the app). Then: bundle to storage (content-addressed,
 * idempotent) -> one transaction (channel bump + release row + audit) ->
 * manifest publish (publish.c) -> edge notification (the notify hook).
 * Lifecycle actions (rollout, rollback, halt, resume, conclude, archive) and
 * promotion change rows under the channel's row lock and re-publish.
 *
 * Test hook: HOTPATCH_FAULT=after_bundle_upload|after_db_commit|
 * after_manifest_put makes the process _exit(99) at that point (pub_fault), to
 * prove that a crash anywhere leaves storage and database consistent.
 */
#include "common/compat.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include "common/log.h"
#include "common/manifest.h"
#include "common/patchset.h"
#include "pub.h"

#define I64(buf, v) snprintf((buf), sizeof(buf), "%lld", (long long)(v))

const char *pub_spool_dir(const struct pub_srv *s)
{
    return s->cfg->tmp_dir ? s->cfg->tmp_dir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
}

void pub_stale_cleanup(const char *dir, const char *prefix, const char *what)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    size_t pl = strlen(prefix);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, pl) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + pl, &end, 10);
        /* named <prefix><pid>-...: left by a crash when that publisher is gone */
        if (pid <= 0 || *end != '-' || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path)) {
            cmn_rmtree(path);
            cmn_info("removed stale %s '%s'", what, path);
        }
    }
    closedir(d);
}

void pub_spool_cleanup(const char *dir)
{
    pub_stale_cleanup(dir, PUB_SPOOL_PREFIX, "upload spool");
}

static void new_release_id(char out[32])
{
    uint8_t rnd[8];
    cmn_random(rnd, sizeof(rnd));
    char hex[17];
    cmn_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(out, 32, "rel_%s", hex);
}

/* Insert a release + bump its channel + audit, in one transaction. Returns the HTTP-ish outcome. */
static enum cmn_err insert_release(struct pub_srv *s, struct pub_dbconn *c, const struct pub_chan *ch,
                                   const char *const *vals, const char *actor, int64_t org_id, const char *action,
                                   json_t *detail, int64_t *seq, struct cmn_errbuf *eb)
{
    enum cmn_err rc = pub_tx_begin(c);
    if (rc)
        return cmn_errf(eb, CMN_E_DB, "database unavailable");
    rc = pub_chan_bump(c, ch, seq);
    if (rc) {
        rc = cmn_errf(eb, CMN_E_DB, "cannot update channel");
        goto out;
    }
    PGresult *r = pub_q(c, Q_REL_INSERT, vals);
    if (!pub_res_ok(r)) {
        if (pub_res_state(r, "23505"))
            rc = cmn_errf(eb, CMN_E_EXISTS, "version '%s' already exists on %s/%s/%s", vals[4], ch->app, ch->platform,
                          ch->channel);
        else
            rc = cmn_errf(eb, CMN_E_DB, "cannot insert the release");
        PQclear(r);
        goto out;
    }
    PQclear(r);
    if (vals[18]) {
        /* SPEC.md section 14: a release with a signed content digest gets its patches built in the background
         * (patchjob.c); the job row commits with the release, so a crash right after loses nothing */
        const char *jp[] = {vals[0]};
        r = pub_q(c, Q_PJOB_INSERT, jp);
        int okay = pub_res_ok(r);
        PQclear(r);
        if (!okay) {
            rc = cmn_errf(eb, CMN_E_DB, "cannot queue the patch job");
            goto out;
        }
    }
    rc = pub_manifest_check(s, c, ch, eb);
    if (rc) {
        rc = cmn_errf(eb, rc == CMN_E_DB ? CMN_E_DB : CMN_E_INVAL, "release does not fit the channel manifest");
        goto out;
    }
    rc = pub_audit(c, actor, org_id, ch->app_id, vals[0], action, detail);
    if (rc) {
        rc = cmn_errf(eb, CMN_E_DB, "cannot write the audit event");
        goto out;
    }
    rc = pub_tx_commit(c);
    if (rc)
        rc = cmn_errf(eb, CMN_E_DB, "commit failed");
    else if (vals[18])
        pub_patch_kick(s);
out:
    if (rc)
        pub_tx_rollback(c);
    return rc;
}

enum cmn_err pub_release_new(struct pub_srv *s, const struct pub_new_release *nr, struct pub_new_result *res,
                             struct cmn_errbuf *eb)
{
    const struct pub_relmeta *rm = nr->meta;
    struct cmn_storage *st = NULL;
    memset(res, 0, sizeof(*res));

    /* 1. the bundle, content-addressed: storing it twice is harmless */
    res->stage = PUB_NEW_BUNDLE;
    char key[CMN_STORAGE_KEY_MAX];
    uint64_t size = (uint64_t)rm->size;
    enum cmn_err rc = cmn_storage_bundle_key(rm->app, rm->platform, nr->sha256_hex, key, sizeof(key));
    if (!rc)
        rc = pub_storage_open(s, &st, eb);
    if (!rc) {
        uint64_t have = 0;
        enum cmn_err hrc = cmn_storage_head(st, key, NULL, &have, NULL);
        if (hrc || have != size) {
            struct cmn_put_opts po = {0};
            po.content_type = "application/zip";
            po.cache_control = "public, max-age=31536000, immutable";
            rc = cmn_storage_put_file(st, key, nr->bundle_path, &po, NULL, eb);
        }
    }
    cmn_storage_free(st);
    if (rc) {
        cmn_error("cannot store bundle '%s': %s", key, cmn_errmsg(eb, rc));
        return rc;
    }
    pub_fault(s, "after_bundle_upload");

    /* 2. the release row and the channel bump, one transaction */
    res->stage = PUB_NEW_DB;
    enum cmn_err why = CMN_E_DB;
    struct pub_dbconn *c = pub_db_get(s->db, &why);
    if (!c)
        return pub_db_errf(why, eb);
    res->stage = PUB_NEW_INSERT;
    char aid[24], bp[24], sz[24];
    new_release_id(res->id);
    I64(aid, nr->app_id);
    I64(bp, rm->rollout_bp);
    I64(sz, rm->size);
    const char *vals[] = {res->id,
                          aid,
                          rm->platform,
                          rm->channel,
                          rm->version,
                          rm->target_binary,
                          rm->mandatory ? "true" : "false",
                          bp,
                          rm->notes,
                          nr->sha256_hex,
                          sz,
                          rm->bundle_sig,
                          rm->bundle_keyid,
                          key,
                          NULL,
                          nr->actor,
                          rm->legacy_signature,
                          rm->content_sha256,
                          rm->content_sig,
                          rm->codepush_hash};
    struct pub_chan ch = {nr->app_id, rm->app, rm->platform, rm->channel};
    json_t *detail = json_pack("{s:s,s:s,s:s,s:s,s:I}", "version", rm->version, "platform", rm->platform, "channel",
                               rm->channel, "sha256", nr->sha256_hex, "rollout_bp", (json_int_t)rm->rollout_bp);
    rc = insert_release(s, c, &ch, vals, nr->actor, nr->org_id, "release.create", detail, &res->seq, eb);
    json_decref(detail);
    if (rc) {
        pub_db_put(s->db, c);
        return rc;
    }
    res->stage = PUB_NEW_DONE;
    atomic_fetch_add(&s->m.releases_created, 1);
    cmn_info("release %s: %s %s/%s/%s by %s", res->id, rm->version, rm->app, rm->platform, rm->channel, nr->actor);
    pub_fault(s, "after_db_commit");

    /* 3. the manifest */
    struct cmn_errbuf peb = {0};
    enum cmn_err prc = pub_publish(s, c, &ch, 0, &res->pubseq, &peb);
    if (prc)
        cmn_warn("release %s stored but manifest publish failed (will retry): %s", res->id, cmn_errmsg(&peb, prc));
    res->published = prc == CMN_OK;
    if (!res->published)
        snprintf(res->publish_error, sizeof(res->publish_error), "%s",
                 peb.msg[0] ? peb.msg : "manifest publish failed");
    const char *p[] = {res->id};
    PGresult *r = pub_q(c, Q_REL_BY_ID, p);
    res->release = pub_res_ok(r) && PQntuples(r) == 1 ? pub_release_json(r, 0) : NULL;
    PQclear(r);
    pub_db_put(s->db, c);
    return CMN_OK;
}

/* ---- lifecycle ---- */

static const char *const act_names[] = {"release.rollout", "release.rollback", "release.halt",
                                        "release.resume",  "release.conclude", "release.archive"};

enum cmn_err pub_release_action(struct pub_srv *s, struct pub_dbconn *c, const char *id, int action, long rollout_bp,
                                const char *actor, json_t *extra, json_t **rel_out, int64_t *seq_out,
                                struct cmn_errbuf *eb)
{
    const char *p[] = {id};
    PGresult *r = pub_q(c, Q_REL_BY_ID, p);
    if (!pub_res_ok(r)) {
        PQclear(r);
        return cmn_errf(eb, CMN_E_DB, "database unavailable");
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return cmn_errf(eb, CMN_E_NOTFOUND, "no release '%s'", id);
    }
    char app[CMN_ID_MAX + 1], platform[CMN_ID_MAX + 1], channel[CMN_ID_MAX + 1];
    snprintf(app, sizeof(app), "%s", pub_cell(r, 0, 1));
    snprintf(platform, sizeof(platform), "%s", pub_cell(r, 0, 2));
    snprintf(channel, sizeof(channel), "%s", pub_cell(r, 0, 3));
    int64_t app_id = pub_cell_i64(r, 0, 19);
    PQclear(r);
    struct pub_chan ch = {app_id, app, platform, channel};
    int64_t seq = 0;
    enum cmn_err rc = pub_tx_begin(c);
    if (rc)
        return cmn_errf(eb, CMN_E_DB, "database unavailable");
    rc = pub_chan_bump(c, &ch, &seq); /* locks the channel: state changes on it are serialised */
    if (rc) {
        rc = cmn_errf(eb, CMN_E_DB, "cannot lock the channel");
        goto out;
    }
    r = pub_q(c, Q_REL_BY_ID, p);
    if (!pub_res_ok(r) || PQntuples(r) != 1) {
        PQclear(r);
        rc = cmn_errf(eb, CMN_E_DB, "cannot re-read the release");
        goto out;
    }
    char state[24];
    snprintf(state, sizeof(state), "%s", pub_cell(r, 0, 14));
    long old_bp = (long)pub_cell_i64(r, 0, 7);
    PQclear(r);
    const char *to = NULL;
    long new_bp = -1;
    switch (action) {
    case PUB_ACT_ROLLOUT:
        if (strcmp(state, "active") != 0) {
            rc = cmn_errf(eb, CMN_E_CONFLICT, "release '%s' is %s: only an active release's rollout can change", id,
                          state);
            goto out;
        }
        new_bp = rollout_bp;
        break;
    case PUB_ACT_CONCLUDE:
        if (strcmp(state, "active") != 0 && strcmp(state, "halted") != 0) {
            rc = cmn_errf(eb, CMN_E_CONFLICT, "release '%s' is %s and cannot be concluded", id, state);
            goto out;
        }
        to = "active";
        new_bp = 10000;
        break;
    case PUB_ACT_ROLLBACK:
        if (strcmp(state, "active") != 0 && strcmp(state, "halted") != 0) {
            rc = cmn_errf(eb, CMN_E_CONFLICT, "release '%s' is %s and cannot be rolled back", id, state);
            goto out;
        }
        to = "rolled_back";
        break;
    case PUB_ACT_HALT:
        if (strcmp(state, "active") != 0) {
            rc = cmn_errf(eb, CMN_E_CONFLICT, "release '%s' is %s, not active: cannot halt", id, state);
            goto out;
        }
        to = "halted";
        break;
    case PUB_ACT_RESUME:
        if (strcmp(state, "halted") != 0) {
            rc = cmn_errf(eb, CMN_E_CONFLICT, "release '%s' is %s, not halted: cannot resume", id, state);
            goto out;
        }
        to = "active";
        break;
    case PUB_ACT_ARCHIVE:
        if (!strcmp(state, "archived")) {
            rc = cmn_errf(eb, CMN_E_CONFLICT, "release '%s' is already archived", id);
            goto out;
        }
        to = "archived";
        break;
    default:
        rc = cmn_errf(eb, CMN_E_INVAL, "unknown action");
        goto out;
    }
    if (to) {
        const char *up[] = {id, to};
        r = pub_q(c, Q_REL_SET_STATE, up);
        int okay = pub_res_ok(r);
        PQclear(r);
        if (!okay) {
            rc = cmn_errf(eb, CMN_E_DB, "cannot update the release");
            goto out;
        }
    }
    if (new_bp >= 0) {
        char bps[24];
        I64(bps, new_bp);
        const char *up[] = {id, bps};
        r = pub_q(c, Q_REL_SET_ROLLOUT, up);
        int okay = pub_res_ok(r);
        PQclear(r);
        if (!okay) {
            rc = cmn_errf(eb, CMN_E_DB, "cannot update the release");
            goto out;
        }
    }
    json_t *detail = extra ? json_deep_copy(extra) : json_object();
    json_object_set_new(detail, "from_state", json_string(state));
    json_object_set_new(detail, "to_state", json_string(to ? to : state));
    json_object_set_new(detail, "from_rollout_bp", json_integer(old_bp));
    json_object_set_new(detail, "to_rollout_bp", json_integer(new_bp >= 0 ? new_bp : old_bp));
    /* org id for the audit row */
    char aid[24];
    I64(aid, app_id);
    const char *ap[] = {aid};
    r = pub_q(c, Q_APP_BY_ID, ap);
    int64_t org_id = pub_res_ok(r) && PQntuples(r) == 1 ? pub_cell_i64(r, 0, 1) : 0;
    PQclear(r);
    rc = pub_audit(c, actor, org_id, app_id, id, act_names[action], detail);
    json_decref(detail);
    if (rc) {
        rc = cmn_errf(eb, CMN_E_DB, "cannot write the audit event");
        goto out;
    }
    rc = pub_tx_commit(c);
    if (rc) {
        rc = cmn_errf(eb, CMN_E_DB, "commit failed");
        goto out;
    }
    cmn_info("%s %s by %s (%s -> %s)", act_names[action], id, actor, state, to ? to : state);
    struct cmn_errbuf peb = {0};
    int64_t pubseq = 0;
    enum cmn_err prc = pub_publish(s, c, &ch, 0, &pubseq, &peb);
    if (prc)
        cmn_warn("manifest publish after %s failed (will retry): %s", act_names[action], cmn_errmsg(&peb, prc));
    if (seq_out)
        *seq_out = seq;
    if (rel_out) {
        r = pub_q(c, Q_REL_BY_ID, p);
        *rel_out = pub_res_ok(r) && PQntuples(r) == 1 ? pub_release_json(r, 0) : NULL;
        PQclear(r);
    }
    return CMN_OK;
out:
    pub_tx_rollback(c);
    return rc;
}

/* Promote: a new release with the same bundle on another channel of the same app/platform. */
enum cmn_err pub_release_promote(struct pub_srv *s, struct pub_dbconn *c, const PGresult *src, const char *to_channel,
                                 long rollout_bp, const char *actor, int64_t org_id, json_t **rel_out, int64_t *seq_out,
                                 int64_t *pubseq_out, struct cmn_errbuf *eb)
{
    const char *state = pub_cell(src, 0, 14);
    if (!strcmp(state, "archived") || !strcmp(state, "rolled_back"))
        return cmn_errf(eb, CMN_E_CONFLICT, "release '%s' is %s and cannot be promoted", pub_cell(src, 0, 0), state);
    if (!strcmp(pub_cell(src, 0, 3), to_channel))
        return cmn_errf(eb, CMN_E_INVAL, "release is already on channel '%s'", to_channel);
    char id[32], aid[24], bp[24];
    new_release_id(id);
    int64_t app_id = pub_cell_i64(src, 0, 19);
    I64(aid, app_id);
    I64(bp, rollout_bp >= 0 ? rollout_bp : pub_cell_i64(src, 0, 7));
    const char *vals[] = {id,
                          aid,
                          pub_cell(src, 0, 2),
                          to_channel,
                          pub_cell(src, 0, 4),
                          pub_cell(src, 0, 5),
                          pub_cell(src, 0, 6)[0] == 't' ? "true" : "false",
                          bp,
                          PQgetisnull(src, 0, 8) ? NULL : pub_cell(src, 0, 8),
                          pub_cell(src, 0, 9),
                          pub_cell(src, 0, 10),
                          pub_cell(src, 0, 11),
                          pub_cell(src, 0, 12),
                          pub_cell(src, 0, 13),
                          pub_cell(src, 0, 0),
                          actor,
                          PQgetisnull(src, 0, 21) ? NULL : pub_cell(src, 0, 21),
                          PQgetisnull(src, 0, 24) ? NULL : pub_cell(src, 0, 24),
                          PQgetisnull(src, 0, 25) ? NULL : pub_cell(src, 0, 25),
                          PQgetisnull(src, 0, 30) ? NULL : pub_cell(src, 0, 30)};
    struct pub_chan ch = {app_id, pub_cell(src, 0, 1), pub_cell(src, 0, 2), to_channel};
    json_t *detail = json_pack("{s:s,s:s,s:s}", "from_release", pub_cell(src, 0, 0), "from_channel",
                               pub_cell(src, 0, 3), "to_channel", to_channel);
    int64_t seq = 0;
    enum cmn_err rc = insert_release(s, c, &ch, vals, actor, org_id, "release.promote", detail, &seq, eb);
    json_decref(detail);
    if (rc)
        return rc;
    struct cmn_errbuf peb = {0};
    int64_t pubseq = 0;
    enum cmn_err prc = pub_publish(s, c, &ch, 0, &pubseq, &peb);
    if (prc)
        cmn_warn("manifest publish after promote failed (will retry): %s", cmn_errmsg(&peb, prc));
    const char *p[] = {id};
    PGresult *r = pub_q(c, Q_REL_BY_ID, p);
    *rel_out = pub_res_ok(r) && PQntuples(r) == 1 ? pub_release_json(r, 0) : NULL;
    PQclear(r);
    *seq_out = seq;
    *pubseq_out = prc ? 0 : pubseq;
    return CMN_OK;
}
