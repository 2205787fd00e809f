/*
 * roots.c - the edge's roots of trust (manifests/SPEC.md section 17).
 *
 * `--root FILE` (repeatable) gives the edge an app's initial signed root.
 * Manifests of that app are then verified with the manifest keys of the
 * newest root the edge can walk to from storage (roots/<app>/<N+1>.json ...),
 * never with --trusted-key; apps without a root are verified exactly as
 * before. Each sync pass walks first; the newest accepted root is cached in
 * <data-dir>/roots/<app>.json (atomic write), so a restart resumes from it.
 *
 * When an app's root changes, stored manifests signed by a key the new root
 * no longer lists stop serving at once (their records are dropped from the
 * index) and the next pass lists storage again, re-verifying what is stored
 * there: a manifest signed by a revoked key is refused by the edge as it is
 * by devices. A refused successor or an expired newest root is logged once
 * and shown on /healthz; with an expired root no manifest of the app is
 * accepted until a current root is published.
 */
#include "common/compat.h"

#include <sys/stat.h>

#include "common/file.h"
#include "common/log.h"
#include "common/root.h"
#include "edge.h"

struct edge_root_slot {
    struct cmn_root *root;
    char problem[160]; /* "" when the root is current and its successor (if any) was accepted */
    char logged[160];  /* the last problem logged, so each is logged once */
};

struct edge_roots {
    struct edge_root_slot *v;
    size_t n;
    char *dir; /* <data-dir>/roots */
};

static struct edge_root_slot *find(const struct edge_sync *s, const char *app)
{
    for (size_t i = 0; s->roots && i < s->roots->n; i++)
        if (strcmp(s->roots->v[i].root->app, app) == 0)
            return &s->roots->v[i];
    return NULL;
}

static char *cache_path(const struct edge_roots *rs, const char *app)
{
    size_t n = strlen(rs->dir) + strlen(app) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s.json", rs->dir, app);
    return p;
}

static enum cmn_err read_file(const char *path, struct cmn_buf *out, struct cmn_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;
    enum cmn_err rc = CMN_OK;
    if (!f)
        return cmn_errf(eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = cmn_buf_add(out, chunk, n);
    fclose(f);
    return rc ? cmn_errf(eb, rc, "'%s' is larger than %u bytes", path, CMN_ROOT_MAX_BYTES) : CMN_OK;
}

enum cmn_err edge_roots_load(struct edge_sync *s, const char *const *files, size_t n, const char *data_dir,
                             struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    struct edge_roots *rs;
    if (!n)
        return CMN_OK;
    rs = calloc(1, sizeof(*rs));
    size_t dl = strlen(data_dir) + 8;
    if (!rs || !(rs->v = calloc(n, sizeof(*rs->v))) || !(rs->dir = malloc(dl))) {
        if (rs)
            free(rs->v);
        free(rs);
        return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
    }
    snprintf(rs->dir, dl, "%s/roots", data_dir);
    s->roots = rs;
    if (mkdir(rs->dir, 0700) != 0 && errno != EEXIST)
        return cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", rs->dir, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        struct cmn_buf doc;
        struct cmn_root *r = NULL, *cached = NULL;
        cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
        rc = read_file(files[i], &doc, eb);
        if (!rc && (rc = cmn_root_open(doc.ptr ? doc.ptr : "", doc.len, NULL, &r, eb)))
            cmn_errf(eb, rc, "root '%s' is not valid", files[i]);
        cmn_buf_release(&doc);
        if (rc)
            return rc;
        if (find(s, r->app)) {
            cmn_root_free(r);
            return cmn_errf(eb, CMN_E_INVAL, "two --root files for app '%s'", r->app);
        }
        /* resume from the cached root when it is newer (it was walked to from this one or an older one) */
        char *cp = cache_path(rs, r->app);
        struct cmn_errbuf e2 = {{0}};
        cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
        if (cp && read_file(cp, &doc, &e2) == CMN_OK &&
            cmn_root_open(doc.ptr ? doc.ptr : "", doc.len, r->app, &cached, &e2) == CMN_OK &&
            cached->version > r->version) {
            cmn_root_free(r);
            r = cached;
            cached = NULL;
        }
        cmn_root_free(cached);
        cmn_buf_release(&doc);
        free(cp);
        rs->v[rs->n++].root = r;
        cmn_info("root of trust for app '%s': version %llu", r->app, (unsigned long long)r->version);
    }
    return CMN_OK;
}

void edge_roots_free(struct edge_sync *s)
{
    struct edge_roots *rs = s->roots;
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        cmn_root_free(rs->v[i].root);
    free(rs->v);
    free(rs->dir);
    free(rs);
    s->roots = NULL;
}

struct fetch_ctx {
    struct edge_sync *s;
    char app[CMN_ID_MAX + 1]; /* a copy: the walk frees the root it started from */
};

static enum cmn_err fetch(void *ctx, uint64_t version, struct cmn_buf *out, struct cmn_errbuf *eb)
{
    struct fetch_ctx *f = ctx;
    char key[CMN_STORAGE_KEY_MAX];
    struct cmn_get_opts go = {.max_size = CMN_ROOT_MAX_BYTES};
    if (cmn_root_storage_key(f->app, version, key, sizeof(key)))
        return cmn_errf(eb, CMN_E_INVAL, "bad app");
    return cmn_storage_get(f->s->st, key, &go, out, NULL, eb);
}

static int key_listed(const struct cmn_root *r, const char *keyid)
{
    for (size_t i = 0; i < r->n_manifest_keys; i++)
        if (strcmp(r->manifest_keys[i].keyid, keyid) == 0)
            return 1;
    return 0;
}

/* Drop the stored manifests of r's app whose signer r no longer trusts (and their ETags: they are fetched again). */
static enum cmn_err drop_untrusted(struct edge_sync *s, const struct cmn_root *r, unsigned *dropped,
                                   struct cmn_errbuf *eb)
{
    struct edge_index *ix = s->ix;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    char pfx[CMN_ID_MAX + 2];
    size_t pl = (size_t)snprintf(pfx, sizeof(pfx), "%s/", r->app);
    int mrc = mdb_txn_begin(ix->env, NULL, 0, &txn);
    if (mrc)
        return cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
    if ((mrc = mdb_cursor_open(txn, ix->manifests, &cur))) {
        mdb_txn_abort(txn);
        return cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
    }
    MDB_val k = {pl, pfx}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct edge_rec_hdr h;
        if (k.mv_size < pl || memcmp(k.mv_data, pfx, pl) != 0)
            break;
        if (edge_rec_header(v.mv_data, v.mv_size, &h) != CMN_OK || !h.off_signed_by || h.off_signed_by >= v.mv_size)
            continue;
        const char *signer = (const char *)v.mv_data + h.off_signed_by; /* NUL-terminated inside the record */
        if (key_listed(r, signer))
            continue;
        char mk[CMN_STORAGE_KEY_MAX + 24];
        snprintf(mk, sizeof(mk), "etag:manifests/%.*s.json", (int)k.mv_size, (const char *)k.mv_data);
        cmn_warn("sync: dropping '%.*s': signed by key %s, which root version %llu of '%s' %s", (int)k.mv_size,
                 (const char *)k.mv_data, signer, (unsigned long long)r->version, r->app,
                 cmn_root_is_revoked(r, signer) ? "revoked" : "no longer lists");
        MDB_val mkv = {strlen(mk), mk};
        mdb_del(txn, ix->meta, &mkv, NULL);
        if ((mrc = mdb_cursor_del(cur, 0)))
            break;
        (*dropped)++;
    }
    mdb_cursor_close(cur);
    if (mrc && mrc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
    }
    mrc = mdb_txn_commit(txn);
    return mrc ? cmn_errf(eb, CMN_E_IO, "cannot commit the index: %s", mdb_strerror(mrc)) : CMN_OK;
}

enum cmn_err edge_roots_refresh(struct edge_sync *s, int64_t now, struct edge_sync_stats *stats, struct cmn_errbuf *eb)
{
    struct edge_roots *rs = s->roots;
    for (size_t i = 0; rs && i < rs->n; i++) {
        struct edge_root_slot *sl = &rs->v[i];
        struct fetch_ctx f = {.s = s};
        snprintf(f.app, sizeof(f.app), "%s", sl->root->app);
        struct cmn_errbuf e2 = {{0}};
        unsigned adv = 0, dropped = 0;
        enum cmn_err rc = cmn_root_walk(&sl->root, fetch, &f, now, &adv, &e2);
        if (rc == CMN_E_NET || rc == CMN_E_HTTP || rc == CMN_E_DENIED || rc == CMN_E_IO)
            return cmn_errf(eb, rc, "%s", cmn_errmsg(&e2, rc)); /* storage trouble fails the pass */
        if (adv) {
            const struct cmn_root *r = sl->root;
            char *cp = cache_path(rs, r->app);
            struct cmn_errbuf e3 = {{0}};
            if (!cp || cmn_file_write_atomic(cp, r->env, r->env_len, 0644, 0, &e3) != CMN_OK)
                cmn_warn("cannot cache root version %llu of '%s': %s", (unsigned long long)r->version, r->app,
                         cmn_errmsg(&e3, CMN_E_IO));
            free(cp);
            cmn_info("sync: root of trust for app '%s' is now version %llu (%zu manifest keys, %zu revoked)", r->app,
                     (unsigned long long)r->version, r->n_manifest_keys, r->n_revoked);
            enum cmn_err drc = drop_untrusted(s, r, &dropped, eb);
            if (drc)
                return drc;
            s->last_full = 0; /* list storage now: re-verify what the new root may accept or refuse */
        }
        if (rc) {
            snprintf(sl->problem, sizeof(sl->problem), "%s: %s", cmn_errname(rc), cmn_errmsg(&e2, rc));
            if (strcmp(sl->problem, sl->logged) != 0) {
                cmn_warn("sync: root of trust for app '%s': %s", sl->root->app, cmn_errmsg(&e2, rc));
                snprintf(sl->logged, sizeof(sl->logged), "%s", sl->problem);
            }
        } else {
            sl->problem[0] = sl->logged[0] = '\0';
        }
        if (sl->problem[0] && stats && stats->n_problems < EDGE_MAX_PROBLEMS) {
            struct edge_problem *p = &stats->problems[stats->n_problems++];
            cmn_root_storage_key(sl->root->app, 0, p->key, sizeof(p->key));
            snprintf(p->what, sizeof(p->what), "root refused: %.140s", sl->problem);
            stats->refused_now++;
        }
    }
    return CMN_OK;
}

size_t edge_roots_info(const struct edge_sync *s, struct edge_root_info *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; s->roots && i < s->roots->n && n < cap; i++, n++) {
        const struct cmn_root *r = s->roots->v[i].root;
        snprintf(out[n].app, sizeof(out[n].app), "%s", r->app);
        out[n].version = r->version;
        out[n].expires_at = r->expires_at;
    }
    return n;
}

int edge_roots_open_manifest(struct edge_sync *s, const char *app, const void *doc, size_t len,
                             const struct cmn_manifest_expect *ex, int64_t now, struct cmn_manifest **out,
                             enum cmn_err *rc, struct cmn_errbuf *eb)
{
    struct edge_root_slot *sl = find(s, app);
    if (!sl)
        return 0;
    if (cmn_root_fresh(sl->root, now, NULL) != CMN_OK)
        *rc = cmn_errf(eb, CMN_E_EXPIRED, "root version %llu of '%s' has expired and no newer root is published",
                       (unsigned long long)sl->root->version, app);
    else
        *rc = cmn_root_open_manifest(sl->root, doc, len, ex, now, out, eb);
    return 1;
}
