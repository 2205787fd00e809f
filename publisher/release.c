/*
 * release.c - POST /v1/releases and the release lifecycle.
 *
 * The upload is multipart/form-data with a "metadata" part (JSON) and a
 * "bundle" part (the zip). The bundle streams into a private temp file while
 * it is hashed; nothing is buffered whole. As soon as the metadata part is
 * complete the caller's role on the app and the release key are checked, so
 * a refused upload stops being written at once. At the end the digest, size
 * and Ed25519 bundle signature (by a release key registered for the app) must
 * all match before anything is stored. Then: bundle to storage (content-
 * addressed, idempotent) -> one transaction (channel bump + release row +
 * audit) -> manifest publish (publish.c) -> edge notification.
 *
 * Test hook: HOTPATCH_FAULT=after_bundle_upload|after_db_commit|
 * after_manifest_put makes the process _exit(99) at that point (pub_fault), to
 * prove that a crash anywhere leaves storage and database consistent.
 */
#include "common/compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <unistd.h>

#include "common/log.h"
#include "common/manifest.h"
#include "pub_http.h"
#include "pub_multipart.h"

#define I64(buf, v) snprintf((buf), sizeof(buf), "%lld", (long long)(v))
#define META_MAX (64u << 10)
#define PUB_SPOOL_PREFIX "hotpatch-upload-"

enum part_kind { PART_NONE = 0, PART_META, PART_BUNDLE, PART_SKIP };

struct pub_upload {
    struct pub_srv *s;
    struct pub_req *r;
    struct pub_mp mp;
    enum part_kind part;
    struct cmn_buf meta;
    int have_meta, have_bundle, bundle_done;
    char tmppath[PATH_MAX];
    int fd;
    struct cmn_sha256 h;
    uint64_t size;
    struct pub_relmeta rm;
    int meta_ok;
    int64_t app_id, org_id;
    struct cmn_key rkey;
    int failed;
    struct pub_resp *out;
};

void pub_upload_free(struct pub_upload *up)
{
    if (!up)
        return;
    if (up->fd >= 0)
        close(up->fd);
    if (up->tmppath[0])
        unlink(up->tmppath);
    cmn_buf_release(&up->meta);
    pub_relmeta_release(&up->rm);
    cmn_key_clear(&up->rkey);
    free(up);
}

static int up_fail(struct pub_upload *up, int status, const char *code, const char *msg)
{
    if (!up->failed)
        pub_err(up->out, status, code, "%s", msg);
    up->failed = 1;
    return 1;
}

/* Look up the app, the caller's role on it and the release key named by the metadata. */
static int check_meta(struct pub_upload *up)
{
    struct pub_srv *s = up->s;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_relmeta_parse(up->meta.ptr ? up->meta.ptr : "", up->meta.len, &up->rm, &eb);
    if (rc)
        return up_fail(up, 400, "bad_metadata", cmn_errmsg(&eb, rc));
    if ((uint64_t)up->rm.size > s->cfg->max_upload) {
        char msg[128];
        snprintf(msg, sizeof(msg), "bundle of %lld bytes exceeds the limit of %llu bytes", up->rm.size,
                 (unsigned long long)s->cfg->max_upload);
        return up_fail(up, 413, "too_large", msg);
    }
    struct pub_dbconn *c = pub_db_get(s->db);
    if (!c)
        return up_fail(up, 503, "database_unavailable", "database unavailable");
    const char *p1[] = {up->rm.app};
    PGresult *r = pub_q(c, Q_APP_BY_NAME, p1);
    int fail = 0;
    if (!pub_res_ok(r)) {
        fail = up_fail(up, 503, "database_unavailable", "database unavailable");
    } else if (PQntuples(r) != 1) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no app named '%s'", up->rm.app);
        fail = up_fail(up, 404, "not_found", msg);
    } else {
        up->app_id = pub_cell_i64(r, 0, 0);
        up->org_id = pub_cell_i64(r, 0, 1);
    }
    PQclear(r);
    if (!fail && pub_auth_role(c, &up->r->who, up->org_id, up->app_id) < PUB_ROLE_WRITE) {
        char msg[160];
        snprintf(msg, sizeof(msg), "releasing to app '%s' needs the write role", up->rm.app);
        fail = up_fail(up, 403, "forbidden", msg);
    }
    if (!fail) {
        char aid[24];
        I64(aid, up->app_id);
        const char *p2[] = {aid, up->rm.bundle_keyid};
        r = pub_q(c, Q_RKEY_BY_KEYID, p2);
        if (!pub_res_ok(r)) {
            fail = up_fail(up, 503, "database_unavailable", "database unavailable");
        } else if (PQntuples(r) != 1) {
            char msg[200];
            snprintf(msg, sizeof(msg), "bundle signed by key %s, which is not a release key registered for app '%s'",
                     up->rm.bundle_keyid, up->rm.app);
            fail = up_fail(up, 400, "unregistered_key", msg);
        } else if (cmn_key_from_public_b64(pub_cell(r, 0, 0), &up->rkey, NULL) ||
                   strcmp(up->rkey.keyid, up->rm.bundle_keyid) != 0) {
            fail = up_fail(up, 500, "internal", "registered release key is unusable");
        }
        PQclear(r);
    }
    pub_db_put(s->db, c);
    if (!fail)
        up->meta_ok = 1;
    return fail;
}

static int cb_begin(void *ctx, const struct pub_mp_part *part)
{
    struct pub_upload *up = ctx;
    if (!strcmp(part->name, "metadata")) {
        if (up->have_meta)
            return up_fail(up, 400, "bad_multipart", "duplicate 'metadata' part");
        up->have_meta = 1;
        up->part = PART_META;
    } else if (!strcmp(part->name, "bundle")) {
        if (up->have_bundle)
            return up_fail(up, 400, "bad_multipart", "duplicate 'bundle' part");
        up->have_bundle = 1;
        up->part = PART_BUNDLE;
        const char *dir = up->s->cfg->tmp_dir ? up->s->cfg->tmp_dir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        snprintf(up->tmppath, sizeof(up->tmppath), "%s/" PUB_SPOOL_PREFIX "%ld-XXXXXX", dir, (long)getpid());
        up->fd = mkostemp(up->tmppath, O_CLOEXEC);
        if (up->fd < 0) {
            cmn_error("cannot create upload spool file in '%s': %s", dir, strerror(errno));
            up->tmppath[0] = '\0';
            return up_fail(up, 503, "storage_unavailable", "cannot spool the upload");
        }
        cmn_sha256_init(&up->h);
    } else if (!strcmp(part->name, "signature")) {
        up->part = PART_SKIP; /* tolerated: the signature travels in metadata.bundle_sig */
    } else {
        char msg[200];
        snprintf(msg, sizeof(msg), "unexpected multipart part '%.64s' (want 'metadata' and 'bundle')", part->name);
        return up_fail(up, 400, "bad_multipart", msg);
    }
    return 0;
}

static int cb_data(void *ctx, const void *p, size_t n)
{
    struct pub_upload *up = ctx;
    if (up->part == PART_META) {
        if (cmn_buf_add(&up->meta, p, n))
            return up_fail(up, 413, "too_large", "metadata part larger than 64 KiB");
    } else if (up->part == PART_BUNDLE) {
        up->size += n;
        if (up->size > up->s->cfg->max_upload) {
            char msg[128];
            snprintf(msg, sizeof(msg), "bundle exceeds the upload limit of %llu bytes",
                     (unsigned long long)up->s->cfg->max_upload);
            return up_fail(up, 413, "too_large", msg);
        }
        if (up->meta_ok && up->size > (uint64_t)up->rm.size)
            return up_fail(up, 400, "size_mismatch", "bundle is larger than metadata.size");
        cmn_sha256_update(&up->h, p, n);
        const char *b = p;
        while (n) {
            ssize_t w = write(up->fd, b, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                cmn_error("cannot write upload spool '%s': %s", up->tmppath, strerror(errno));
                return up_fail(up, 507, "insufficient_storage", "cannot spool the upload");
            }
            b += w;
            n -= (size_t)w;
        }
        atomic_fetch_add(&up->s->m.upload_bytes, (unsigned long)(b - (const char *)p));
    }
    return 0;
}

static int cb_end(void *ctx)
{
    struct pub_upload *up = ctx;
    enum part_kind k = up->part;
    up->part = PART_NONE;
    if (k == PART_META)
        return check_meta(up);
    if (k == PART_BUNDLE)
        up->bundle_done = 1;
    return 0;
}

void pub_spool_cleanup(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    size_t pl = strlen(PUB_SPOOL_PREFIX);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, PUB_SPOOL_PREFIX, pl) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + pl, &end, 10);
        /* a spool file whose publisher is gone was left by a crash */
        if (pid <= 0 || *end != '-' || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path) && unlink(path) == 0)
            cmn_info("removed stale upload spool '%s'", path);
    }
    closedir(d);
}

int pub_upload_begin(struct pub_srv *s, struct pub_req *r, struct pub_resp *out)
{
    char boundary[PUB_MP_MAX_BOUNDARY + 1];
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_mp_boundary(pub_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), boundary, &eb);
    if (rc == CMN_E_UNSUPPORTED)
        return !pub_err(out, 415, "unsupported_media_type", "%s", cmn_errmsg(&eb, rc));
    if (rc)
        return !pub_err(out, 400, "bad_multipart", "%s", cmn_errmsg(&eb, rc));
    struct pub_upload *up = calloc(1, sizeof(*up));
    if (!up)
        return !pub_err(out, 500, "internal", "out of memory");
    up->s = s;
    up->r = r;
    up->fd = -1;
    up->out = out;
    cmn_buf_init(&up->meta, META_MAX);
    struct pub_mp_cb cb = {cb_begin, cb_data, cb_end, up};
    pub_mp_init(&up->mp, boundary, &cb);
    r->up = up;
    return 0;
}

int pub_upload_feed(struct pub_srv *s, struct pub_req *r, const char *p, size_t n, struct pub_resp *out)
{
    struct pub_upload *up = r->up;
    up->out = out;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_mp_feed(&up->mp, p, n, &eb);
    if (up->failed)
        return 1;
    if (rc == CMN_E_TOOBIG)
        return up_fail(up, 413, "too_large", cmn_errmsg(&eb, rc));
    if (rc)
        return up_fail(up, 400, "bad_multipart", cmn_errmsg(&eb, rc));
    return 0;
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
out:
    if (rc)
        pub_tx_rollback(c);
    return rc;
}

/* Reply 201 with the release row and manifest sequences. */
static void reply_created(struct pub_srv *s, struct pub_dbconn *c, const char *id, int64_t seq, int64_t pubseq,
                          int published, const struct cmn_errbuf *peb, struct pub_resp *out)
{
    const char *p[] = {id};
    PGresult *r = pub_q(c, Q_REL_BY_ID, p);
    if (!pub_res_ok(r) || PQntuples(r) != 1) {
        PQclear(r);
        pub_err(out, 500, "internal", "release vanished after insert");
        return;
    }
    json_t *man = json_pack("{s:I,s:b}", "sequence", (json_int_t)seq, "published", published);
    if (published)
        json_object_set_new(man, "published_sequence", json_integer(pubseq));
    else
        json_object_set_new(man, "error", json_string(peb->msg[0] ? peb->msg : "manifest publish failed"));
    pub_json_reply(out, 201, json_pack("{s:o,s:o}", "release", pub_release_json(r, 0), "manifest", man));
    PQclear(r);
}

void pub_release_create(struct pub_srv *s, struct pub_req *r, struct pub_resp *out)
{
    struct pub_upload *up = r->up;
    struct cmn_errbuf eb = {0};
    struct cmn_storage *st = NULL;
    struct pub_dbconn *c = NULL;
    if (!up) {
        pub_err(out, 500, "internal", "no upload state");
        return;
    }
    up->out = out;
    enum cmn_err rc = pub_mp_finish(&up->mp, &eb);
    if (up->failed)
        return;
    if (rc) {
        pub_err(out, 400, "bad_multipart", "%s", cmn_errmsg(&eb, rc));
        return;
    }
    if (!up->have_meta || !up->have_bundle) {
        pub_err(out, 400, "bad_multipart", "upload needs a 'metadata' part and a 'bundle' part");
        return;
    }
    if (!up->meta_ok) {
        pub_err(out, 400, "bad_metadata", "metadata was not accepted");
        return;
    }
    uint8_t digest[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    cmn_sha256_final(&up->h, digest);
    cmn_hex_encode(digest, sizeof(digest), hex);
    if (up->size != (uint64_t)up->rm.size) {
        pub_err(out, 400, "size_mismatch", "bundle is %llu bytes but metadata.size says %lld",
                (unsigned long long)up->size, up->rm.size);
        return;
    }
    if (strcmp(hex, up->rm.sha256) != 0) {
        pub_err(out, 400, "hash_mismatch", "bundle SHA-256 is %s but metadata.sha256 says %s", hex, up->rm.sha256);
        return;
    }
    if (cmn_bundle_verify(&up->rkey, digest, up->rm.bundle_sig)) {
        pub_err(out, 400, "bad_signature", "bundle_sig does not verify with release key %s", up->rkey.keyid);
        return;
    }
    if (fsync(up->fd) != 0 || close(up->fd) != 0) {
        up->fd = -1;
        pub_err(out, 507, "insufficient_storage", "cannot flush the upload spool");
        return;
    }
    up->fd = -1;

    /* 1. the bundle, content-addressed: storing it twice is harmless */
    char key[CMN_STORAGE_KEY_MAX];
    rc = cmn_storage_bundle_key(up->rm.app, up->rm.platform, hex, key, sizeof(key));
    if (!rc)
        rc = pub_storage_open(s, &st, &eb);
    if (!rc) {
        uint64_t have = 0;
        enum cmn_err hrc = cmn_storage_head(st, key, NULL, &have, NULL);
        if (hrc || have != up->size) {
            struct cmn_put_opts po = {0};
            po.content_type = "application/zip";
            po.cache_control = "public, max-age=31536000, immutable";
            rc = cmn_storage_put_file(st, key, up->tmppath, &po, NULL, &eb);
        }
    }
    cmn_storage_free(st);
    if (rc) {
        cmn_error("cannot store bundle '%s': %s", key, cmn_errmsg(&eb, rc));
        pub_err(out, 503, "storage_unavailable", "cannot store the bundle: %s", cmn_errmsg(&eb, rc));
        return;
    }
    pub_fault(s, "after_bundle_upload");

    /* 2. the release row and the channel bump, one transaction */
    c = pub_db_get(s->db);
    if (!c) {
        pub_err(out, 503, "database_unavailable", "database unavailable");
        return;
    }
    char id[32], aid[24], bp[24], size[24];
    new_release_id(id);
    I64(aid, up->app_id);
    I64(bp, up->rm.rollout_bp);
    I64(size, up->rm.size);
    const char *vals[] = {id,
                          aid,
                          up->rm.platform,
                          up->rm.channel,
                          up->rm.version,
                          up->rm.target_binary,
                          up->rm.mandatory ? "true" : "false",
                          bp,
                          up->rm.notes,
                          hex,
                          size,
                          up->rm.bundle_sig,
                          up->rm.bundle_keyid,
                          key,
                          NULL,
                          r->who.actor};
    struct pub_chan ch = {up->app_id, up->rm.app, up->rm.platform, up->rm.channel};
    json_t *detail = json_pack("{s:s,s:s,s:s,s:s,s:I}", "version", up->rm.version, "platform", up->rm.platform,
                               "channel", up->rm.channel, "sha256", hex, "rollout_bp", (json_int_t)up->rm.rollout_bp);
    int64_t seq = 0;
    rc = insert_release(s, c, &ch, vals, r->who.actor, up->org_id, "release.create", detail, &seq, &eb);
    json_decref(detail);
    if (rc) {
        pub_db_put(s->db, c);
        pub_err_from(out, rc, &eb);
        return;
    }
    atomic_fetch_add(&s->m.releases_created, 1);
    cmn_info("release %s: %s %s/%s/%s by %s", id, up->rm.version, up->rm.app, up->rm.platform, up->rm.channel,
             r->who.actor);
    pub_fault(s, "after_db_commit");

    /* 3. the manifest */
    struct cmn_errbuf peb = {0};
    int64_t pubseq = 0;
    enum cmn_err prc = pub_publish(s, c, &ch, 0, &pubseq, &peb);
    if (prc)
        cmn_warn("release %s stored but manifest publish failed (will retry): %s", id, cmn_errmsg(&peb, prc));
    reply_created(s, c, id, seq, pubseq, prc == CMN_OK, &peb, out);
    pub_db_put(s->db, c);
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
                          actor};
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
