/*
 * patchjob.c - differential patches built by the publisher in the background
 * (issue 14 #4, manifests/SPEC.md section 14).
 *
 * CI uploads one bundle, with the content digest its release key signed
 * (checked against the zip at upload, h_upload.c). The release is published
 * at once with its full bundle; its patch_jobs row commits in the same
 * transaction. The worker (jobs.c's patch thread, or pub_patch_run_once
 * directly) then builds patches to it from bundles the publisher already
 * stores: the channel's last cfg->patch_bases distinct earlier bundles and
 * every registered embedded bundle (common/embedded.c) whose binary_version
 * the release's target_binary admits. The driver (extract, digest, build, the
 * worth-it rule, content-addressed store) is common/patchset.c, the one the
 * CLI uses in serverless mode.
 *
 * Crash safety, the same two-step shape as every manifest change:
 *   - a worker owns a job while it holds a session advisory lock on it (a
 *     killed publisher's lock goes with its connection: the job is pending
 *     again at once, for this publisher after a restart or for another one);
 *   - patch objects are stored before anything is recorded; they are
 *     content-addressed and deterministic, so a re-run writes the same keys;
 *   - the patch rows, the job's 'done' and the channel bump commit in one
 *     transaction; the manifest publish that follows is retried by the
 *     maintenance loop like any other (the channel stays dirty until then).
 * A failed attempt is retried after cfg->patch_retry_delay seconds, doubling,
 * and given up ('failed', last_error kept) after cfg->patch_retries attempts:
 * the release keeps being served with its full bundle.
 *
 * Test hooks (HOTPATCH_FAULT): patch_job_stored (patches in storage, nothing
 * recorded), patch_job_committed (recorded, manifest not yet published).
 */
#include "common/compat.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/embedded.h"
#include "common/file.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/patch.h"
#include "common/patchset.h"
#include "common/semver.h"
#include "pub.h"

#define I64(buf, v) snprintf((buf), sizeof(buf), "%lld", (long long)(v))
#define LABEL_MAX (2 * CMN_ID_MAX + 48)
#define MAX_BASES CMN_MANIFEST_MAX_PATCHES

static enum cmn_err scratch_dir(struct pub_srv *s, char out[PATH_MAX], struct cmn_errbuf *eb)
{
    const char *dir = pub_spool_dir(s);
    snprintf(out, PATH_MAX, "%s/" PUB_PATCH_PREFIX "%ld-XXXXXX", dir, (long)getpid());
    if (!mkdtemp(out))
        return cmn_errf(eb, CMN_E_IO, "cannot create a scratch directory in '%s': %s", dir, strerror(errno));
    return CMN_OK;
}

enum cmn_err pub_bundle_content(const char *zip, uint8_t out[CMN_SHA256_BYTES], size_t *nfiles, struct cmn_errbuf *eb)
{
    struct cmn_patch_limits lim;
    cmn_patch_limits_default(&lim);
    return cmn_content_digest_zip(zip, lim.max_total, lim.max_entries, out, nfiles, eb);
}

enum cmn_err pub_bundle_listing(const char *zip, struct cmn_content *out, struct cmn_errbuf *eb)
{
    struct cmn_patch_limits lim;
    cmn_patch_limits_default(&lim);
    return cmn_content_zip(zip, lim.max_total, lim.max_entries, out, eb);
}

void pub_patch_kick(struct pub_srv *s)
{
    pthread_mutex_lock(&s->mu);
    s->patch_pending = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void pub_patch_cleanup(const char *dir)
{
    pub_stale_cleanup(dir, PUB_PATCH_PREFIX, "patch scratch directory");
}

/* The release a job is for (a Q_REL_BY_ID row, copied out). */
struct job_rel {
    char id[CMN_ID_MAX + 1], app[CMN_ID_MAX + 1], platform[CMN_ID_MAX + 1], channel[CMN_ID_MAX + 1];
    char version[CMN_ID_MAX + 1], target_binary[256], state[24];
    char sha256[CMN_SHA256_HEX], content[CMN_SHA256_HEX], bundle_url[CMN_STORAGE_KEY_MAX];
    uint64_t size;
    int64_t app_id;
    int has_content;
};

static int listable(const char *state)
{
    return !strcmp(state, "active") || !strcmp(state, "halted") || !strcmp(state, "rolled_back");
}

/* 1 found, 0 gone, -1 database error. */
static int load_release(struct pub_dbconn *c, const char *id, struct job_rel *jr)
{
    const char *p[] = {id};
    PGresult *r = pub_q(c, Q_REL_BY_ID, p);
    if (!pub_res_ok(r)) {
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return 0;
    }
    memset(jr, 0, sizeof(*jr));
    snprintf(jr->id, sizeof(jr->id), "%s", pub_cell(r, 0, 0));
    snprintf(jr->app, sizeof(jr->app), "%s", pub_cell(r, 0, 1));
    snprintf(jr->platform, sizeof(jr->platform), "%s", pub_cell(r, 0, 2));
    snprintf(jr->channel, sizeof(jr->channel), "%s", pub_cell(r, 0, 3));
    snprintf(jr->version, sizeof(jr->version), "%s", pub_cell(r, 0, 4));
    snprintf(jr->target_binary, sizeof(jr->target_binary), "%s", pub_cell(r, 0, 5));
    snprintf(jr->sha256, sizeof(jr->sha256), "%s", pub_cell(r, 0, 9));
    jr->size = (uint64_t)pub_cell_i64(r, 0, 10);
    snprintf(jr->bundle_url, sizeof(jr->bundle_url), "%s", pub_cell(r, 0, 13));
    snprintf(jr->state, sizeof(jr->state), "%s", pub_cell(r, 0, 14));
    jr->app_id = pub_cell_i64(r, 0, 19);
    jr->has_content = !PQgetisnull(r, 0, 24) && !PQgetisnull(r, 0, 25);
    if (jr->has_content)
        snprintf(jr->content, sizeof(jr->content), "%s", pub_cell(r, 0, 24));
    PQclear(r);
    return 1;
}

/* Bases to patch from: what the job found, with storage for their strings. */
struct job_bases {
    struct cmn_patch_base v[MAX_BASES];
    char label[MAX_BASES][LABEL_MAX];
    char key[MAX_BASES][CMN_STORAGE_KEY_MAX];
    char sha[MAX_BASES][CMN_SHA256_HEX];
    char content[MAX_BASES][CMN_SHA256_HEX];
    size_t n;
};

static void add_base(struct job_bases *b, const char *label, const char *key, const char *sha, const char *content,
                     uint64_t zip_size)
{
    if (b->n >= MAX_BASES)
        return;
    size_t i = b->n++;
    snprintf(b->label[i], LABEL_MAX, "%s", label);
    snprintf(b->key[i], CMN_STORAGE_KEY_MAX, "%s", key);
    snprintf(b->sha[i], CMN_SHA256_HEX, "%s", sha ? sha : "");
    snprintf(b->content[i], CMN_SHA256_HEX, "%s", content ? content : "");
    b->v[i] = (struct cmn_patch_base){b->label[i], b->key[i], sha ? b->sha[i] : NULL, content ? b->content[i] : NULL,
                                      zip_size};
}

/* The channel's last `n` distinct earlier bundles, newest first. -1 on a database error. */
static int channel_bases(struct pub_dbconn *c, const struct job_rel *jr, long n, struct job_bases *b)
{
    const char *p[] = {jr->id};
    PGresult *r = pub_q(c, Q_PATCH_BASES, p);
    if (!pub_res_ok(r)) {
        PQclear(r);
        return -1;
    }
    size_t first = b->n;
    for (int i = 0; i < PQntuples(r) && (long)(b->n - first) < n; i++) {
        const char *sha = pub_cell(r, i, 2), *url = pub_cell(r, i, 3);
        int dup = 0;
        for (size_t k = first; k < b->n; k++)
            dup |= !strcmp(b->sha[k], sha);
        if (dup || !strncmp(url, "http", 4))
            continue;
        char label[LABEL_MAX];
        snprintf(label, sizeof(label), "release %s (%s)", pub_cell(r, i, 0), pub_cell(r, i, 1));
        add_base(b, label, url, sha, NULL, 0);
    }
    PQclear(r);
    return 0;
}

/*
 * The registered embedded bundles (embedded/<app>/<platform>/index.json) whose
 * binary_version the release's target_binary admits: a fresh install runs
 * the embedded bundle, the most common base of all. An unreadable registry
 * is logged and skipped (the channel's bases still count).
 */
static void embedded_bases(struct cmn_storage *st, const struct job_rel *jr, struct job_bases *b)
{
    struct cmn_semver_range range;
    struct cmn_embedded reg;
    struct cmn_errbuf eb = {{0}};
    if (cmn_semver_range_parse(jr->target_binary, &range))
        return;
    cmn_embedded_init(&reg);
    enum cmn_err rc = cmn_embedded_list(st, jr->app, jr->platform, &reg, NULL, &eb);
    if (rc) {
        cmn_warn("patch job %s: no embedded bases: %s", jr->id, cmn_errmsg(&eb, rc));
        cmn_embedded_release(&reg);
        return;
    }
    for (size_t i = 0; i < reg.n; i++) {
        const struct cmn_embedded_base *e = &reg.v[i];
        struct cmn_semver v;
        if (cmn_semver_parse(e->binary_version, &v) || !cmn_semver_range_match(&range, &v))
            continue;
        if (!strcmp(e->content_sha256, jr->content))
            continue; /* the release is the embedded bundle itself */
        int dup = 0;
        for (size_t k = 0; k < b->n; k++)
            dup |= !strcmp(b->content[k], e->content_sha256);
        if (dup)
            continue; /* two binary versions embedding the same bundle: one patch serves both */
        char label[LABEL_MAX];
        snprintf(label, sizeof(label), "embedded bundle of binary %s", e->binary_version);
        add_base(b, label, e->key, NULL, e->content_sha256, e->size);
    }
    cmn_embedded_release(&reg);
}

struct note_ctx {
    const char *id;
};

static void job_note(void *ctx, const char *msg)
{
    const struct note_ctx *n = ctx;
    cmn_info("patch job %s: %s", n->id, msg);
}

/* Read the release's own zip back from storage, check it, extract it into `dir`, check its content digest. */
static enum cmn_err load_new(struct pub_srv *s, struct cmn_storage *st, const struct job_rel *jr, const char *work,
                             const char *dir, int *permanent, struct cmn_errbuf *eb)
{
    char zip[PATH_MAX + 16], hex[CMN_SHA256_HEX];
    uint8_t d[CMN_SHA256_BYTES];
    struct cmn_buf buf;
    snprintf(zip, sizeof(zip), "%s/new.zip", work);
    cmn_buf_init(&buf, s->cfg->max_upload + 1);
    enum cmn_err rc = cmn_storage_get(st, jr->bundle_url, NULL, &buf, NULL, eb);
    if (!rc) {
        cmn_sha256(buf.ptr, buf.len, d);
        cmn_hex_encode(d, sizeof(d), hex);
        if (strcmp(hex, jr->sha256) != 0 || buf.len != jr->size) {
            *permanent = 1;
            rc = cmn_errf(eb, CMN_E_HASH, "stored bundle '%s' does not match the release's SHA-256", jr->bundle_url);
        }
    }
    if (!rc)
        rc = cmn_file_write_atomic(zip, buf.ptr ? buf.ptr : "", buf.len, 0600, 0, eb);
    cmn_buf_release(&buf);
    if (rc)
        return rc;
    if (mkdir(dir, 0700) != 0)
        return cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", dir, strerror(errno));
    struct cmn_patch_limits lim;
    cmn_patch_limits_default(&lim);
    rc = cmn_bundle_zip_digest(zip, dir, lim.max_total, lim.max_entries, d, eb);
    unlink(zip);
    if (rc) {
        *permanent = rc != CMN_E_IO && rc != CMN_E_NOMEM;
        return rc;
    }
    cmn_hex_encode(d, sizeof(d), hex);
    if (strcmp(hex, jr->content) != 0) {
        *permanent = 1;
        return cmn_errf(eb, CMN_E_HASH, "the stored bundle's content digest is %s, not the signed %s", hex,
                        jr->content);
    }
    return CMN_OK;
}

/* Record the patches, mark the job done and bump the channel: one transaction. *recorded = 0 when the
 * release left the channel meanwhile (nothing to list). */
static enum cmn_err record(struct pub_srv *s, struct pub_dbconn *c, const struct job_rel *jr,
                           const struct cmn_patch_ref *pv, const size_t *from, size_t n, const struct job_bases *b,
                           int *recorded, struct cmn_errbuf *eb)
{
    struct pub_chan ch = {jr->app_id, jr->app, jr->platform, jr->channel};
    struct job_rel now;
    char cnt[24];
    *recorded = 0;
    enum cmn_err rc = pub_tx_begin(c);
    if (rc)
        return cmn_errf(eb, CMN_E_DB, "database unavailable");
    rc = pub_chan_bump(c, &ch, NULL); /* locks the channel: state changes on it are serialised */
    if (rc) {
        rc = cmn_errf(eb, CMN_E_DB, "cannot lock the channel");
        goto out;
    }
    int found = load_release(c, jr->id, &now);
    if (found < 0) {
        rc = cmn_errf(eb, CMN_E_DB, "cannot re-read the release");
        goto out;
    }
    if (!found || !listable(now.state)) {
        pub_tx_rollback(c);
        return CMN_OK;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n && !rc; i++) {
        char size[24];
        I64(size, pv[i].size);
        const char *p[] = {jr->id, pv[i].base, pv[i].url, pv[i].sha256, size, b->label[from[i]]};
        PGresult *r = pub_q(c, Q_PATCH_INSERT, p);
        if (!pub_res_ok(r))
            rc = cmn_errf(eb, CMN_E_DB, "cannot record the patch from %s", b->label[from[i]]);
        PQclear(r);
        json_array_append_new(list, json_pack("{s:s,s:s,s:I}", "from", b->label[from[i]], "sha256", pv[i].sha256,
                                              "size", (json_int_t)pv[i].size));
    }
    I64(cnt, n);
    const char *dp[] = {jr->id, cnt};
    if (!rc) {
        PGresult *r = pub_q(c, Q_PJOB_DONE, dp);
        if (!pub_res_ok(r))
            rc = cmn_errf(eb, CMN_E_DB, "cannot finish the patch job");
        PQclear(r);
    }
    if (!rc) {
        char aid[24];
        I64(aid, jr->app_id);
        const char *ap[] = {aid};
        PGresult *r = pub_q(c, Q_APP_BY_ID, ap);
        int64_t org_id = pub_res_ok(r) && PQntuples(r) == 1 ? pub_cell_i64(r, 0, 1) : 0;
        PQclear(r);
        json_t *detail = json_pack("{s:o}", "patches", json_incref(list));
        rc = pub_audit(c, "system:patch-job", org_id, jr->app_id, jr->id, "release.patches", detail);
        json_decref(detail);
        if (rc)
            rc = cmn_errf(eb, CMN_E_DB, "cannot write the audit event");
    }
    json_decref(list);
    if (!rc && (rc = pub_manifest_check(s, c, &ch, eb)))
        rc = cmn_errf(eb, rc == CMN_E_DB ? CMN_E_DB : CMN_E_INVAL, "the patches do not fit the channel manifest");
    if (!rc && (rc = pub_tx_commit(c)))
        rc = cmn_errf(eb, CMN_E_DB, "commit failed");
    if (!rc)
        *recorded = 1;
out:
    if (rc)
        pub_tx_rollback(c);
    return rc;
}

static enum cmn_err mark_done_empty(struct pub_dbconn *c, const char *id, struct cmn_errbuf *eb)
{
    const char *p[] = {id, "0"};
    PGresult *r = pub_q(c, Q_PJOB_DONE, p);
    enum cmn_err rc = pub_res_ok(r) ? CMN_OK : cmn_errf(eb, CMN_E_DB, "cannot finish the patch job");
    PQclear(r);
    return rc;
}

/* One attempt of the job of release `id` (held: advisory lock taken, attempt counted). */
static enum cmn_err run_job(struct pub_srv *s, struct pub_dbconn *c, const char *id, int *permanent,
                            struct cmn_errbuf *eb)
{
    struct job_rel jr;
    struct job_bases *b = NULL;
    struct cmn_storage *st = NULL;
    struct cmn_patch_ref pv[MAX_BASES];
    size_t from[MAX_BASES], n = 0;
    char work[PATH_MAX] = "", newdir[PATH_MAX + 8], pwork[PATH_MAX + 8];
    int64_t t0 = cmn_now_ms();
    int found = load_release(c, id, &jr);
    if (found < 0)
        return cmn_errf(eb, CMN_E_DB, "cannot read release '%s'", id);
    if (!found || !jr.has_content || !listable(jr.state)) {
        cmn_info("patch job %s: nothing to do (%s)", id,
                 !found            ? "release gone"
                 : !jr.has_content ? "no signed content digest"
                                   : jr.state);
        return mark_done_empty(c, id, eb);
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return CMN_E_NOMEM;
    enum cmn_err rc = pub_storage_open(s, &st, eb);
    if (rc)
        goto out;
    if (channel_bases(c, &jr, s->cfg->patch_bases, b) < 0) {
        rc = cmn_errf(eb, CMN_E_DB, "cannot list the channel's earlier releases");
        goto out;
    }
    embedded_bases(st, &jr, b);
    if (b->n == 0) {
        cmn_info("patch job %s: no base to patch from", id);
        rc = mark_done_empty(c, id, eb);
        goto out;
    }
    if ((rc = scratch_dir(s, work, eb)))
        goto out;
    snprintf(newdir, sizeof(newdir), "%s/new", work);
    snprintf(pwork, sizeof(pwork), "%s/bases", work);
    if (mkdir(pwork, 0700) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", pwork, strerror(errno));
        goto out;
    }
    if ((rc = load_new(s, st, &jr, work, newdir, permanent, eb)))
        goto out;
    struct note_ctx nc = {id};
    struct cmn_patchset ps;
    memset(&ps, 0, sizeof(ps));
    ps.st = st;
    ps.work = pwork;
    ps.app = jr.app;
    ps.platform = jr.platform;
    ps.new_dir = newdir;
    ps.new_content = jr.content;
    ps.zip_size = jr.size;
    ps.max_zip = s->cfg->max_upload + 1;
    ps.note = job_note;
    ps.note_ctx = &nc;
    if ((rc = cmn_patchset_build(&ps, b->v, b->n, pv, from, MAX_BASES, &n, eb)))
        goto out;
    pub_fault(s, "patch_job_stored");
    if (n == 0) {
        cmn_info("patch job %s: no patch worth listing from %zu base(s)", id, b->n);
        rc = mark_done_empty(c, id, eb);
        goto out;
    }
    int recorded = 0;
    rc = record(s, c, &jr, pv, from, n, b, &recorded, eb);
    if (rc) {
        *permanent = rc == CMN_E_INVAL;
        goto out;
    }
    if (!recorded) {
        cmn_info("patch job %s: the release left the channel meanwhile", id);
        rc = mark_done_empty(c, id, eb);
        goto out;
    }
    atomic_fetch_add(&s->m.patches_built, n);
    cmn_info("patch job %s: %zu patch(es) from %zu base(s) recorded for %s/%s/%s %s in %lld ms", id, n, b->n, jr.app,
             jr.platform, jr.channel, jr.version, (long long)(cmn_now_ms() - t0));
    pub_fault(s, "patch_job_committed");
    {
        struct pub_chan ch = {jr.app_id, jr.app, jr.platform, jr.channel};
        struct cmn_errbuf peb = {{0}};
        enum cmn_err prc = pub_publish(s, c, &ch, 0, NULL, &peb);
        if (prc) /* the channel stays dirty: the maintenance loop publishes it */
            cmn_warn("patch job %s: recorded, but the manifest publish failed (will retry): %s", id,
                     cmn_errmsg(&peb, prc));
    }
out:
    cmn_patch_refs_release(pv, n);
    if (work[0])
        cmn_rmtree(work);
    cmn_storage_free(st);
    free(b);
    return rc;
}

/* Take the first due job no other worker holds. 1: *id set (lock held, attempt counted), 0: none, -1: DB. */
static int claim(struct pub_dbconn *c, char id[CMN_ID_MAX + 1], long *attempts)
{
    PGresult *r = pub_q(c, Q_PJOB_DUE, NULL);
    if (!pub_res_ok(r)) {
        PQclear(r);
        return -1;
    }
    int got = 0;
    for (int i = 0; i < PQntuples(r) && !got; i++) {
        const char *p[] = {pub_cell(r, i, 0)};
        PGresult *l = pub_q(c, Q_PJOB_LOCK, p);
        int locked = pub_res_ok(l) && PQntuples(l) == 1 && pub_cell(l, 0, 0)[0] == 't';
        PQclear(l);
        if (!locked)
            continue;
        /* under the lock: still pending (another worker may have finished it just before) */
        PGresult *st = pub_q(c, Q_PJOB_START, p);
        if (pub_res_ok(st) && PQntuples(st) == 1) {
            snprintf(id, CMN_ID_MAX + 1, "%s", p[0]);
            *attempts = (long)pub_cell_i64(st, 0, 0);
            got = 1;
        } else {
            PQclear(pub_q(c, Q_PJOB_UNLOCK, p));
        }
        PQclear(st);
    }
    PQclear(r);
    return got;
}

int pub_patch_run_once(struct pub_srv *s)
{
    struct pub_dbconn *c = pub_db_get(s->db, NULL);
    if (!c)
        return -1;
    char id[CMN_ID_MAX + 1];
    long attempts = 0;
    int got = claim(c, id, &attempts);
    if (got <= 0) {
        pub_db_put(s->db, c);
        return got;
    }
    struct cmn_errbuf eb = {{0}};
    int permanent = 0;
    cmn_info("patch job %s: attempt %ld", id, attempts);
    enum cmn_err rc = run_job(s, c, id, &permanent, &eb);
    const char *p[] = {id};
    if (rc) {
        atomic_fetch_add(&s->m.patch_job_errors, 1);
        /* retry after delay * 2^(attempts - 1), at most a day; a permanent failure is given up at once */
        long delay = s->cfg->patch_retry_delay;
        for (long k = 1; k < attempts && delay < 86400; k++)
            delay *= 2;
        if (delay > 86400)
            delay = 86400;
        char ds[24], cap[24];
        I64(ds, delay);
        I64(cap, permanent ? 0 : s->cfg->patch_retries);
        const char *rp[] = {id, ds, cap, cmn_errmsg(&eb, rc)};
        PGresult *r = pub_q(c, Q_PJOB_RETRY, rp);
        const char *state = pub_res_ok(r) && PQntuples(r) == 1 ? pub_cell(r, 0, 0) : "?";
        cmn_warn("patch job %s: attempt %ld failed: %s (%s)", id, attempts, cmn_errmsg(&eb, rc),
                 !strcmp(state, "failed") ? "given up: the release is served with its full bundle" : "will retry");
        PQclear(r);
    }
    PQclear(pub_q(c, Q_PJOB_UNLOCK, p));
    pub_db_put(s->db, c);
    return 1;
}
