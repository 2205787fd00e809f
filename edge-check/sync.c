/*
 * sync.c - one synchronisation pass from storage into the LMDB index.
 *
 * Order of work, so that the write lock is held only briefly and nothing
 * unverified is ever committed:
 *   1. list manifests/ and lists/ (ETags come with the listing);
 *   2. in a read transaction, compare each ETag with the one applied last
 *      time (meta "etag:<key>", "list:<name>") and read the stored sequence;
 *   3. fetch what changed (If-None-Match with the old ETag), verify it with
 *      cmn_manifest_open() against the trusted keys, the key path's
 *      app/platform/channel, the clock and the stored sequence, compile it;
 *      parse changed targeting lists;
 *   4. apply everything in ONE write transaction (re-checking the sequence
 *      there, in case another writer got in between) and commit.
 * A refused object is logged once per (key, ETag) for the life of the
 * process and counted; the previously applied version keeps serving.
 *
 * Every pass also reports what is wrong right now (issue 12 #4): manifests it
 * applied before that the listing no longer has (deleted from storage: one
 * log line when a key disappears, one when it is back) and manifests whose
 * stored version is refused. Both make /healthz "degraded" with the keys
 * named, and are exported as gauges. Retire a channel with a signed
 * tombstone, never by deleting its manifest.
 */
#include "common/compat.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "common/cohort.h"
#include "common/feed.h"
#include "common/log.h"
#include "edge.h"

#define SYNC_MAX_OBJECTS 100000
#define SYNC_LIST_MAX_BYTES ((size_t)1 << 30)
#define SYNC_MAX_BAD 4096

struct edge_bad {
    char key[CMN_STORAGE_KEY_MAX];
    char etag[CMN_ETAG_MAX];
    char why[128];
};

struct obj {
    char *key;
    char etag[CMN_ETAG_MAX];
};

struct objs {
    struct obj *v;
    size_t n, cap;
    const char *prefix;
    int overflow;
};

struct pending_manifest {
    char mkey[3 * CMN_ID_MAX + 4];
    const char *skey;
    char etag[CMN_ETAG_MAX];
    uint64_t sequence;
    struct cmn_buf rec;
};

struct pending_list {
    char name[CMN_ID_MAX + 1];
    char etag[CMN_ETAG_MAX];
    char **ids;
    size_t n;
};

static int collect(void *ctx, const char *key, const char *etag, uint64_t size)
{
    struct objs *o = ctx;
    (void)size;
    if (o->n == SYNC_MAX_OBJECTS) {
        o->overflow = 1;
        return 1;
    }
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 64;
        struct obj *nv = realloc(o->v, nc * sizeof(*nv));
        if (!nv)
            return 1;
        o->v = nv;
        o->cap = nc;
    }
    /* accept both full keys and keys relative to the listed prefix */
    size_t pl = strlen(o->prefix);
    char *k;
    if (strncmp(key, o->prefix, pl) == 0) {
        k = strdup(key);
    } else {
        k = malloc(pl + strlen(key) + 1);
        if (k) {
            memcpy(k, o->prefix, pl);
            memcpy(k + pl, key, strlen(key) + 1);
        }
    }
    if (!k)
        return 1;
    o->v[o->n].key = k;
    snprintf(o->v[o->n].etag, CMN_ETAG_MAX, "%s", etag ? etag : "");
    o->n++;
    return 0;
}

static void objs_free(struct objs *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].key);
    free(o->v);
    memset(o, 0, sizeof(*o));
}

/* "manifests/<app>/<platform>/<channel>.json" -> the three ids; 0 when the key has another shape. */
static int split_manifest_key(const char *key, char *app, char *platform, char *channel)
{
    const char *p = key + strlen("manifests/");
    char *outs[3] = {app, platform, channel};
    for (int i = 0; i < 3; i++) {
        const char *end = i < 2 ? strchr(p, '/') : strstr(p, ".json");
        if (!end)
            return 0;
        size_t n = (size_t)(end - p);
        if (!cmn_id_valid_n(p, n))
            return 0;
        memcpy(outs[i], p, n);
        outs[i][n] = '\0';
        p = end + 1;
        if (i == 2 && strcmp(end, ".json") != 0)
            return 0;
    }
    return 1;
}

/* "lists/<name>.txt" -> name */
static int split_list_key(const char *key, char *name)
{
    const char *p = key + strlen("lists/");
    const char *end = strstr(p, ".txt");
    if (!end || strcmp(end, ".txt") != 0)
        return 0;
    size_t n = (size_t)(end - p);
    if (!cmn_id_valid_n(p, n))
        return 0;
    memcpy(name, p, n);
    name[n] = '\0';
    return 1;
}

static const struct edge_bad *find_bad(const struct edge_sync *s, const char *key, const char *etag)
{
    for (size_t i = 0; i < s->n_bad; i++)
        if (strcmp(s->bad[i].key, key) == 0 && strcmp(s->bad[i].etag, etag) == 0)
            return &s->bad[i];
    return NULL;
}

static int is_bad(const struct edge_sync *s, const char *key, const char *etag)
{
    return find_bad(s, key, etag) != NULL;
}

static void add_problem(struct edge_sync_stats *st, const char *key, const char *what)
{
    if (st->n_problems >= EDGE_MAX_PROBLEMS)
        return;
    struct edge_problem *p = &st->problems[st->n_problems++];
    snprintf(p->key, sizeof(p->key), "%s", key);
    snprintf(p->what, sizeof(p->what), "%s", what);
}

/* A manifest whose stored version is refused: counted for health, reason kept for the next passes. */
static void refused_now(struct edge_sync *s, struct edge_sync_stats *st, const char *key, const char *etag,
                        const char *why)
{
    char what[160];
    snprintf(what, sizeof(what), "refused: %s", why);
    st->refused_now++;
    add_problem(st, key, what);
    if (!s->bad)
        return;
    for (size_t i = 0; i < s->n_bad; i++)
        if (strcmp(s->bad[i].key, key) == 0 && strcmp(s->bad[i].etag, etag) == 0)
            snprintf(s->bad[i].why, sizeof(s->bad[i].why), "%s", why);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Manifest keys the index applied ("etag:<key>" in meta) that the listing does
 * not have. Logs each disappearance and each return once; keeps the set in s.
 */
static enum cmn_err find_missing(struct edge_sync *s, MDB_txn *txn, const struct objs *mans, struct edge_sync_stats *st)
{
    static const char pfx[] = "etag:manifests/";
    const char **listed = calloc(mans->n + 1, sizeof(*listed));
    char **now_missing = NULL;
    size_t n_now = 0, cap = 0;
    MDB_cursor *cur = NULL;
    enum cmn_err rc = CMN_OK;
    if (!listed)
        return CMN_E_NOMEM;
    for (size_t i = 0; i < mans->n; i++)
        listed[i] = mans->v[i].key;
    qsort(listed, mans->n, sizeof(*listed), cmp_strp);
    if (mdb_cursor_open(txn, s->ix->meta, &cur) != 0) {
        free(listed);
        return CMN_E_IO;
    }
    MDB_val k = {sizeof(pfx) - 1, (void *)pfx}, v;
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < sizeof(pfx) - 1 || memcmp(k.mv_data, pfx, sizeof(pfx) - 1) != 0)
            break;
        char key[CMN_STORAGE_KEY_MAX];
        size_t kl = k.mv_size - 5;
        if (kl >= sizeof(key))
            continue;
        memcpy(key, (const char *)k.mv_data + 5, kl);
        key[kl] = '\0';
        const char *kp = key;
        if (mans->overflow || bsearch(&kp, listed, mans->n, sizeof(*listed), cmp_strp))
            continue; /* listed (or the listing was cut short: nothing can be called missing) */
        if (n_now == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nm = realloc(now_missing, nc * sizeof(*nm));
            if (!nm) {
                rc = CMN_E_NOMEM;
                break;
            }
            now_missing = nm;
            cap = nc;
        }
        if (!(now_missing[n_now] = strdup(key))) {
            rc = CMN_E_NOMEM;
            break;
        }
        n_now++;
        st->missing++;
        add_problem(st, key, "missing");
    }
    mdb_cursor_close(cur);
    free(listed);
    if (rc) {
        for (size_t i = 0; i < n_now; i++)
            free(now_missing[i]);
        free(now_missing);
        return rc;
    }
    /* one line when a key goes missing, one when it is back */
    for (size_t i = 0; i < n_now; i++) {
        int was = 0;
        for (size_t j = 0; j < s->n_missing && !was; j++)
            was = strcmp(s->missing[j], now_missing[i]) == 0;
        if (!was)
            cmn_warn("sync: manifest '%s' is missing from storage (deleted?); the last good copy keeps serving "
                     "until it expires; retire a channel with a signed tombstone instead",
                     now_missing[i]);
    }
    for (size_t j = 0; j < s->n_missing; j++) {
        int still = 0;
        for (size_t i = 0; i < n_now && !still; i++)
            still = strcmp(s->missing[j], now_missing[i]) == 0;
        if (!still && !mans->overflow)
            cmn_info("sync: manifest '%s' is back in storage", s->missing[j]);
        free(s->missing[j]);
    }
    free(s->missing);
    s->missing = now_missing;
    s->n_missing = n_now;
    return CMN_OK;
}

static void mark_bad(struct edge_sync *s, const char *key, const char *etag)
{
    if (!s->bad) {
        s->bad = calloc(SYNC_MAX_BAD, sizeof(*s->bad));
        if (!s->bad)
            return;
    }
    size_t i = s->n_bad < SYNC_MAX_BAD ? s->n_bad++ : (size_t)(cmn_fnv1a32(key, strlen(key)) % SYNC_MAX_BAD);
    snprintf(s->bad[i].key, sizeof(s->bad[i].key), "%s", key);
    snprintf(s->bad[i].etag, sizeof(s->bad[i].etag), "%s", etag);
    s->bad[i].why[0] = '\0';
}

void edge_sync_release(struct edge_sync *s)
{
    CMN_SAFEFREE(s->bad);
    s->n_bad = 0;
    for (size_t i = 0; i < s->n_missing; i++)
        free(s->missing[i]);
    CMN_SAFEFREE(s->missing);
    s->n_missing = 0;
    edge_roots_free(s);
}

/* Stored sequence of a manifest key, 0 when absent or unreadable. */
static uint64_t stored_sequence(struct edge_index *ix, MDB_txn *txn, const char *mkey)
{
    MDB_val k = {strlen(mkey), (void *)mkey}, v;
    struct edge_rec_hdr h;
    if (mdb_get(txn, ix->manifests, &k, &v) != 0 || edge_rec_header(v.mv_data, v.mv_size, &h) != CMN_OK)
        return 0;
    return h.sequence;
}

static void write_meta_result(struct edge_index *ix, int64_t now, int ok, const char *msg)
{
    MDB_txn *txn;
    char t[32];
    if (mdb_txn_begin(ix->env, NULL, 0, &txn) != 0)
        return;
    snprintf(t, sizeof(t), "%lld", (long long)now);
    if (edge_meta_put(ix, txn, "sync.last_at", t) || (ok && edge_meta_put(ix, txn, "sync.last_ok", t)) ||
        edge_meta_put(ix, txn, "sync.last_result", msg)) {
        mdb_txn_abort(txn);
        return;
    }
    if (mdb_txn_commit(txn) != 0)
        cmn_warn("cannot record the sync result in the index");
}

/* objs entry for a feed entry: "manifests/<key>.json" with the feed's ETag. */
static int collect_feed(struct objs *o, const struct cmn_feed *f)
{
    for (size_t i = 0; i < f->n; i++) {
        char k[CMN_STORAGE_KEY_MAX];
        snprintf(k, sizeof(k), "manifests/%s.json", f->v[i].key);
        if (collect(o, k, f->v[i].etag, 0))
            return o->overflow ? 0 : -1;
    }
    return 0;
}

static int index_is_empty(struct edge_index *ix)
{
    MDB_txn *txn;
    MDB_stat st;
    int empty = 0;
    if (mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    if (mdb_stat(txn, ix->manifests, &st) == 0)
        empty = st.ms_entries == 0;
    mdb_txn_abort(txn);
    return empty;
}

/*
 * One envelope to verify and compile. verify_jobs() runs these on several
 * threads (each only reads the keyring, the apps' roots and its own job: the
 * roots change only in edge_roots_refresh, on the sync thread at the start of
 * a pass, never while verify_jobs runs); what follows from a refusal (logging
 * once, marking, counting) happens afterwards on the sync thread, in order
 * (job_done).
 */
struct vjob {
    const char *key; /* "manifests/a/p/c.json" */
    char app[CMN_ID_MAX + 1], plat[CMN_ID_MAX + 1], chan[CMN_ID_MAX + 1];
    uint64_t min_seq;
    const char *doc;
    size_t len;
    const char *etag;
    struct pending_manifest pm; /* filled when ok */
    int ok, compile_failed;
    enum cmn_err rc;
    char msg[160];
};

static void verify_one(struct edge_sync *s, int64_t now, struct vjob *j)
{
    struct cmn_errbuf e2 = {{0}};
    struct cmn_manifest *m = NULL;
    struct cmn_manifest_expect ex = {
        .app = j->app, .platform = j->plat, .channel = j->chan, .min_sequence = j->min_seq};
    struct pending_manifest *p = &j->pm;
    j->ok = 0;
    j->compile_failed = 0;
    /* an app with a root: its keys (roots.c); otherwise the --trusted-key keyring */
    if (!edge_roots_open_manifest(s, j->app, j->doc, j->len, &ex, now, &m, &j->rc, &e2))
        j->rc = cmn_manifest_open(j->doc, j->len, &s->keyring, &ex, now, 0, &m, &e2);
    if (j->rc) {
        snprintf(j->msg, sizeof(j->msg), "%s", cmn_errmsg(&e2, j->rc));
        return;
    }
    edge_manifest_key(j->app, j->plat, j->chan, p->mkey, sizeof(p->mkey));
    p->skey = j->key;
    snprintf(p->etag, sizeof(p->etag), "%s", j->etag);
    p->sequence = m->sequence;
    cmn_buf_init(&p->rec, CMN_MANIFEST_MAX_BYTES * 2 + (1u << 20));
    j->rc = edge_rec_compile(m, j->doc, j->len, now, &p->rec);
    cmn_manifest_free(m);
    if (j->rc) {
        j->compile_failed = 1;
        cmn_buf_release(&p->rec);
        return;
    }
    j->ok = 1;
}

struct vpool {
    struct edge_sync *s;
    int64_t now;
    struct vjob *jobs;
    size_t n;
    atomic_size_t next;
};

static void *verify_worker(void *arg)
{
    struct vpool *vp = arg;
    for (size_t i; (i = atomic_fetch_add(&vp->next, 1)) < vp->n;)
        verify_one(vp->s, vp->now, &vp->jobs[i]);
    return NULL;
}

/* Threads verifying envelopes: one per usable CPU, at most 4 (Ed25519 and JSON parsing are the cold start's CPU). */
static unsigned verify_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (unsigned)n;
}

static void verify_jobs(struct edge_sync *s, struct vjob *jobs, size_t n, int64_t now)
{
    struct vpool vp = {.s = s, .now = now, .jobs = jobs, .n = n};
    atomic_init(&vp.next, 0);
    pthread_t th[4];
    unsigned nt = 0, want = verify_threads();
    if (want > n / 8)
        want = (unsigned)(n / 8); /* a handful of envelopes is not worth a thread */
    while (nt + 1 < want && pthread_create(&th[nt], NULL, verify_worker, &vp) == 0)
        nt++;
    verify_worker(&vp); /* this thread works too */
    for (unsigned i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
}

/* After verify_one: 0 when the job's record is ready to apply, else the refusal is logged, marked and counted. */
static int job_done(struct edge_sync *s, struct vjob *j, struct edge_sync_stats *stats)
{
    if (j->ok)
        return 0;
    if (j->compile_failed) {
        cmn_warn("sync: cannot compile '%s': %s", j->key, cmn_strerror(j->rc));
        stats->rejected++;
        refused_now(s, stats, j->key, j->etag, cmn_strerror(j->rc));
        return -1;
    }
    if (!is_bad(s, j->key, j->etag)) {
        cmn_warn("sync: refused '%s' (%s): %s; the last good manifest keeps serving", j->key, cmn_errname(j->rc),
                 j->msg);
        mark_bad(s, j->key, j->etag);
    }
    stats->rejected++;
    char why[200];
    snprintf(why, sizeof(why), "%s: %s", cmn_errname(j->rc), j->msg);
    why[127] = '\0'; /* the reason's length as before */
    refused_now(s, stats, j->key, j->etag, why);
    return -1;
}

/* Commit *txn (always consumed). */
static enum cmn_err commit(MDB_txn **txn, struct cmn_errbuf *eb)
{
    int mrc = mdb_txn_commit(*txn);
    *txn = NULL;
    return mrc ? cmn_errf(eb, CMN_E_IO, "cannot commit the index: %s", mdb_strerror(mrc)) : CMN_OK;
}

/* Put verified records (sequence re-checked inside the write transaction) with their storage ETags. */
static enum cmn_err apply_manifests(struct edge_index *ix, MDB_txn *txn, struct pending_manifest *pm, size_t npm,
                                    struct edge_sync_stats *stats, struct cmn_errbuf *eb)
{
    int mrc;
    enum cmn_err rc;
    for (size_t i = 0; i < npm; i++) {
        struct pending_manifest *p = &pm[i];
        uint64_t cur = stored_sequence(ix, txn, p->mkey);
        if (p->sequence < cur) {
            cmn_warn("sync: '%s' sequence %llu is below the stored %llu; keeping the stored one", p->skey,
                     (unsigned long long)p->sequence, (unsigned long long)cur);
            stats->rejected++;
            stats->refused_now++;
            add_problem(stats, p->skey, "refused: replay: sequence below the applied one");
            continue;
        }
        MDB_val k = {strlen(p->mkey), p->mkey}, v = {p->rec.len, p->rec.ptr};
        char mk[CMN_STORAGE_KEY_MAX + 8];
        snprintf(mk, sizeof(mk), "etag:%s", p->skey);
        if ((mrc = mdb_put(txn, ix->manifests, &k, &v, 0)) != 0)
            return cmn_errf(eb, mrc == MDB_MAP_FULL ? CMN_E_TOOBIG : CMN_E_IO, "cannot store '%s': %s", p->mkey,
                            mdb_strerror(mrc));
        if ((rc = edge_meta_put(ix, txn, mk, p->etag)))
            return rc;
        cmn_debug("sync: applied '%s' sequence %llu", p->skey, (unsigned long long)p->sequence);
        stats->updated++;
    }
    return CMN_OK;
}

#define SNAPSHOT_CHUNK 1000

/*
 * Cold start: load feed/snapshot, verify every envelope as a normal pass
 * would, commit in chunks of SNAPSHOT_CHUNK (so checks are answered while the
 * rest loads). A missing snapshot is not an error; a damaged one stops the
 * load where the damage starts (what came before verified and stays).
 */
static enum cmn_err load_snapshot(struct edge_sync *s, int64_t now, struct edge_sync_stats *stats,
                                  struct cmn_errbuf *eb)
{
    struct edge_index *ix = s->ix;
    struct cmn_buf doc;
    struct cmn_snapshot_reader rd;
    struct cmn_snapshot_item it;
    struct pending_manifest *pm = NULL;
    struct vjob *jobs = NULL;
    char(*keys)[CMN_STORAGE_KEY_MAX] = NULL;
    char(*etags)[CMN_ETAG_MAX] = NULL;
    size_t npm = 0;
    int nosync = 0;
    enum cmn_err rc, prc = CMN_OK;
    MDB_txn *txn = NULL;
    int mrc;
    cmn_buf_init(&doc, CMN_SNAPSHOT_MAX_BYTES);
    rc = cmn_storage_get(s->st, CMN_SNAPSHOT_KEY, NULL, &doc, NULL, eb);
    if (rc == CMN_E_NOTFOUND) {
        cmn_info("sync: no %s in storage: starting from a listing", CMN_SNAPSHOT_KEY);
        rc = CMN_OK;
        goto out;
    }
    if (rc)
        goto out;
    pm = calloc(SNAPSHOT_CHUNK, sizeof(*pm));
    jobs = calloc(SNAPSHOT_CHUNK, sizeof(*jobs));
    keys = calloc(SNAPSHOT_CHUNK, sizeof(*keys));
    etags = calloc(SNAPSHOT_CHUNK, sizeof(*etags));
    if (!pm || !jobs || !keys || !etags) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    if ((rc = cmn_snapshot_begin(&rd, doc.ptr, doc.len, eb)))
        goto out;
    /*
     * The chunks commit without fsync (one sync at the end): an index lost
     * to a crash in the middle is simply loaded again from the snapshot.
     */
    mdb_env_set_flags(ix->env, MDB_NOSYNC, 1);
    nosync = 1;
    do {
        /* a chunk: read SNAPSHOT_CHUNK envelopes, verify them on every CPU, apply them in one transaction */
        size_t nj = 0;
        while (nj < SNAPSHOT_CHUNK && (prc = cmn_snapshot_next(&rd, &it, eb)) == CMN_OK) {
            struct vjob *j = &jobs[nj];
            if (!cmn_feed_key_split(it.key, j->app, j->plat, j->chan))
                continue;
            snprintf(keys[nj], CMN_STORAGE_KEY_MAX, "manifests/%s.json", it.key);
            snprintf(etags[nj], CMN_ETAG_MAX, "%s", it.etag);
            j->key = keys[nj];
            j->etag = etags[nj];
            j->doc = it.env;
            j->len = it.env_len;
            j->min_seq = 0;
            nj++;
        }
        if (nj && (mrc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn)) == 0) {
            for (size_t i = 0; i < nj; i++) {
                char mk[3 * CMN_ID_MAX + 4];
                edge_manifest_key(jobs[i].app, jobs[i].plat, jobs[i].chan, mk, sizeof(mk));
                jobs[i].min_seq = stored_sequence(ix, txn, mk);
            }
            mdb_txn_abort(txn);
            txn = NULL;
        }
        verify_jobs(s, jobs, nj, now);
        for (size_t i = 0; i < nj; i++)
            if (job_done(s, &jobs[i], stats) == 0) {
                pm[npm++] = jobs[i].pm;
                stats->snapshot++;
            }
        if (npm) {
            if ((mrc = mdb_txn_begin(ix->env, NULL, 0, &txn)) != 0) {
                rc = cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
                goto out;
            }
            if ((rc = apply_manifests(ix, txn, pm, npm, stats, eb)) || (rc = commit(&txn, eb)))
                goto out;
            for (size_t i = 0; i < npm; i++)
                cmn_buf_release(&pm[i].rec);
            npm = 0;
        }
    } while (prc == CMN_OK);
    if (prc != CMN_E_NOTFOUND)
        rc = prc; /* damaged: the caller falls back to a listing */
    else
        cmn_info("sync: loaded %u manifests from %s (written %lld)", stats->snapshot, CMN_SNAPSHOT_KEY,
                 (long long)rd.created_at);
out:
    if (txn)
        mdb_txn_abort(txn);
    if (nosync) {
        mdb_env_set_flags(ix->env, MDB_NOSYNC, 0);
        mdb_env_sync(ix->env, 1);
    }
    for (size_t i = 0; pm && i < npm; i++)
        cmn_buf_release(&pm[i].rec);
    free(pm);
    free(jobs);
    free(keys);
    free(etags);
    cmn_buf_release(&doc);
    return rc;
}

/*
 * The change feed: CMN_OK with *changed = 0 (304: nothing to look at) or 1
 * (mans filled from its entries, *etag_out its ETag). Anything else (no
 * feed, unreadable, storage trouble) returns an error and the caller lists.
 */
static enum cmn_err read_feed(struct edge_sync *s, const char *old_etag, struct objs *mans, int *changed,
                              char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct cmn_buf doc;
    struct cmn_feed f;
    struct cmn_get_opts go = {.if_none_match = old_etag[0] ? old_etag : NULL, .max_size = CMN_FEED_MAX_BYTES};
    enum cmn_err rc;
    cmn_buf_init(&doc, CMN_FEED_MAX_BYTES);
    cmn_feed_init(&f);
    *changed = 0;
    rc = cmn_storage_get(s->st, CMN_FEED_KEY, &go, &doc, etag_out, eb);
    if (rc == CMN_E_NOT_MODIFIED) {
        rc = CMN_OK;
        goto out;
    }
    if (rc)
        goto out;
    rc = cmn_feed_parse(doc.ptr ? doc.ptr : "", doc.len, &f, eb);
    if (rc)
        goto out;
    if (collect_feed(mans, &f)) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    *changed = 1;
out:
    cmn_feed_release(&f);
    cmn_buf_release(&doc);
    return rc;
}

/*
 * After a big pass: give back the heap it freed, and drop the index pages
 * the pass mapped. Writing reads B-tree pages through the read-only map, and
 * the kernel maps the whole (large) page-cache folio around each one: a cold
 * start left most of data.mdb mapped. The pages stay in the page cache and
 * the map stays valid (LMDB never writes through it: no MDB_WRITEMAP); a
 * later read faults a page back in, so the edge keeps mapped only what checks
 * actually read.
 */
static void release_pass_memory(struct edge_index *ix)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    /* LMDB does not tell where it mapped the file (only with MDB_FIXEDMAP): find the mapping around a value */
    MDB_txn *txn;
    MDB_val k = {strlen("sync.last_at"), (void *)"sync.last_at"}, v;
    uintptr_t at = 0, lo = 0, hi = 0;
    if (mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn) != 0)
        return;
    if (mdb_get(txn, ix->meta, &k, &v) == 0)
        at = (uintptr_t)v.mv_data;
    mdb_txn_abort(txn);
    FILE *f = at ? fopen("/proc/self/maps", "r") : NULL;
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx", &a, &b) == 2 && at >= a && at < b) {
            lo = a;
            hi = b;
            break;
        }
    }
    if (f)
        fclose(f);
    if (hi > lo && madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0)
        cmn_debug("sync: madvise(index map): %s", strerror(errno));
}

#define FETCH_BATCH 64

enum cmn_err edge_sync_pass(struct edge_sync *s, int64_t now, struct edge_sync_stats *stats, struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    struct objs mans = {.prefix = "manifests/"}, lists = {.prefix = "lists/"};
    struct pending_manifest *pm = NULL;
    struct pending_list *pl = NULL;
    struct cmn_get_item *batch = NULL;
    struct vjob *jobs = NULL;
    size_t *bidx = NULL;
    size_t npm = 0, npl = 0;
    uint64_t *seqs = NULL;
    char(*old_etags)[CMN_ETAG_MAX] = NULL;
    char(*old_list_etags)[CMN_ETAG_MAX] = NULL;
    char old_feed[CMN_ETAG_MAX] = "", new_feed[CMN_ETAG_MAX] = "";
    MDB_txn *txn = NULL;
    int mrc, full, feed_changed = 0, feed_ok = 0;
    struct edge_index *ix = s->ix;
    uint64_t req0 = cmn_storage_requests(s->st);

    memset(stats, 0, sizeof(*stats));
    if (s->roots && (rc = edge_roots_refresh(s, now, stats, eb))) /* the keys this pass verifies with */
        goto out;

    /* 0. an empty index (a new replica, a cold Lambda) starts from the snapshot */
    if (!s->cold_done) {
        s->cold_done = 1;
        if (s->full_interval_s > 0 && index_is_empty(ix)) {
            struct cmn_errbuf e2 = {{0}};
            enum cmn_err src = load_snapshot(s, now, stats, &e2);
            if (src)
                cmn_warn("sync: cannot use %s (%s): starting from a listing", CMN_SNAPSHOT_KEY, cmn_errmsg(&e2, src));
            else if (stats->snapshot)
                s->last_full = now; /* the snapshot and the feed stand in for the first listing */
        }
    }

    /* 1. what may have changed: the feed when it can be trusted to say, else a listing */
    full = s->full_interval_s <= 0 || s->last_full == 0 || now - s->last_full >= s->full_interval_s;
    if (s->full_interval_s > 0) {
        struct cmn_errbuf e2 = {{0}};
        if ((mrc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn)) != 0) {
            rc = cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
            goto out;
        }
        edge_meta_get(ix, txn, "feed.etag", old_feed, sizeof(old_feed));
        mdb_txn_abort(txn);
        txn = NULL;
        /* on a listing pass the entries are read only for the feed's ETag */
        struct objs scratch = {.prefix = "manifests/"};
        enum cmn_err frc = read_feed(s, old_feed, full ? &scratch : &mans, &feed_changed, new_feed, &e2);
        objs_free(&scratch);
        if (frc == CMN_OK) {
            feed_ok = 1;
            stats->feed = feed_changed ? 2 : 1;
        } else {
            if (!is_bad(s, CMN_FEED_KEY, new_feed[0] ? new_feed : cmn_errname(frc))) {
                cmn_warn("sync: change feed unusable (%s): listing storage instead", cmn_errmsg(&e2, frc));
                mark_bad(s, CMN_FEED_KEY, new_feed[0] ? new_feed : cmn_errname(frc));
            }
            objs_free(&mans);
            mans.prefix = "manifests/";
            full = 1;
        }
    }
    if (full) {
        rc = cmn_storage_list(s->st, "manifests/", collect, &mans, eb);
        if (rc == CMN_E_NOTFOUND)
            rc = CMN_OK; /* an empty file:// tree may lack the folders */
        if (rc) {
            cmn_errf(eb, rc, "cannot list '%s'", cmn_storage_url(s->st));
            goto out;
        }
        stats->full = 1;
    }
    rc = cmn_storage_list(s->st, "lists/", collect, &lists, eb);
    if (rc == CMN_E_NOTFOUND)
        rc = CMN_OK;
    if (rc) {
        cmn_errf(eb, rc, "cannot list '%s'", cmn_storage_url(s->st));
        goto out;
    }
    if (mans.overflow || lists.overflow)
        cmn_warn("sync: more than %d objects listed; the rest waits for the next pass", SYNC_MAX_OBJECTS);
    stats->listed = (unsigned)(mans.n + lists.n);

    /* 2. what we applied last time */
    seqs = calloc(mans.n + 1, sizeof(*seqs));
    old_etags = calloc(mans.n + 1, sizeof(*old_etags));
    old_list_etags = calloc(lists.n + 1, sizeof(*old_list_etags));
    pm = calloc(mans.n + 1, sizeof(*pm));
    pl = calloc(lists.n + 1, sizeof(*pl));
    batch = calloc(FETCH_BATCH, sizeof(*batch));
    bidx = calloc(FETCH_BATCH, sizeof(*bidx));
    jobs = calloc(FETCH_BATCH, sizeof(*jobs));
    if (!seqs || !old_etags || !old_list_etags || !pm || !pl || !batch || !bidx || !jobs) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    if ((mrc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn)) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
        goto out;
    }
    for (size_t i = 0; i < mans.n; i++) {
        char mk[CMN_STORAGE_KEY_MAX + 8];
        char app[CMN_ID_MAX + 1], plat[CMN_ID_MAX + 1], chan[CMN_ID_MAX + 1];
        snprintf(mk, sizeof(mk), "etag:%s", mans.v[i].key);
        edge_meta_get(ix, txn, mk, old_etags[i], CMN_ETAG_MAX);
        if (strcmp(mans.v[i].etag, old_etags[i]) != 0 && split_manifest_key(mans.v[i].key, app, plat, chan)) {
            edge_manifest_key(app, plat, chan, mk, sizeof(mk));
            seqs[i] = stored_sequence(ix, txn, mk);
        }
    }
    for (size_t i = 0; i < lists.n; i++) {
        char name[CMN_ID_MAX + 1], mk[CMN_ID_MAX + 8];
        if (split_list_key(lists.v[i].key, name)) {
            snprintf(mk, sizeof(mk), "list:%s", name);
            edge_meta_get(ix, txn, mk, old_list_etags[i], CMN_ETAG_MAX);
        }
    }
    if (full) {
        if ((rc = find_missing(s, txn, &mans, stats))) {
            cmn_errf(eb, rc, "cannot compare the index with the listing");
            goto out;
        }
    } else {
        /* only a listing can tell a deletion: keep what the last one found */
        for (size_t i = 0; i < s->n_missing; i++) {
            stats->missing++;
            add_problem(stats, s->missing[i], "missing");
        }
    }
    mdb_txn_abort(txn);
    txn = NULL;

    /* 3. fetch what changed, FETCH_BATCH at a time in parallel, and verify it */
    for (size_t i = 0; i < mans.n;) {
        size_t nb = 0;
        for (; i < mans.n && nb < FETCH_BATCH; i++) {
            const char *key = mans.v[i].key;
            char app[CMN_ID_MAX + 1], plat[CMN_ID_MAX + 1], chan[CMN_ID_MAX + 1];
            if (!split_manifest_key(key, app, plat, chan)) {
                if (!is_bad(s, key, mans.v[i].etag)) {
                    cmn_warn("sync: ignoring '%s': not manifests/<app>/<platform>/<channel>.json", key);
                    mark_bad(s, key, mans.v[i].etag);
                }
                continue;
            }
            if (mans.v[i].etag[0] && strcmp(mans.v[i].etag, old_etags[i]) == 0) {
                stats->unchanged++;
                continue;
            }
            if (mans.v[i].etag[0] && is_bad(s, key, mans.v[i].etag)) {
                /* refused (and counted) before: not again, but it is still what storage holds */
                const struct edge_bad *b = find_bad(s, key, mans.v[i].etag);
                refused_now(s, stats, key, mans.v[i].etag, b && b->why[0] ? b->why : "see the log");
                continue;
            }
            memset(&batch[nb], 0, sizeof(batch[nb]));
            batch[nb].key = key;
            batch[nb].if_none_match = old_etags[i][0] ? old_etags[i] : NULL;
            batch[nb].max_size = CMN_MANIFEST_MAX_BYTES;
            cmn_buf_init(&batch[nb].out, CMN_MANIFEST_MAX_BYTES);
            bidx[nb++] = i;
        }
        if (!nb)
            break;
        rc = cmn_storage_get_many(s->st, batch, nb, s->parallel ? s->parallel : 16, eb);
        size_t nj = 0;
        for (size_t k = 0; k < nb; k++) {
            struct cmn_get_item *g = &batch[k];
            size_t j = bidx[k];
            const char *key = mans.v[j].key;
            if (rc) {
                /* an earlier item failed the pass: just release */
            } else if (g->rc == CMN_E_NOT_MODIFIED) {
                stats->unchanged++;
            } else if (g->rc == CMN_E_NOTFOUND) {
                /* deleted between list and get */
            } else if (g->rc == CMN_E_TOOBIG) {
                cmn_warn("sync: refused '%s': larger than %u bytes", key, CMN_MANIFEST_MAX_BYTES);
                stats->rejected++;
                mark_bad(s, key, mans.v[j].etag);
                refused_now(s, stats, key, mans.v[j].etag, "too large");
            } else if (g->rc) {
                rc = cmn_errf(eb, g->rc, "cannot fetch '%s': %s", key, cmn_errmsg(&g->eb, g->rc));
            } else {
                stats->fetched++;
                struct vjob *vj = &jobs[nj++];
                split_manifest_key(key, vj->app, vj->plat, vj->chan);
                vj->key = key;
                vj->min_seq = seqs[j];
                vj->doc = g->out.ptr ? g->out.ptr : "";
                vj->len = g->out.len;
                vj->etag = g->etag[0] ? g->etag : mans.v[j].etag;
            }
        }
        verify_jobs(s, jobs, nj, now);
        for (size_t k = 0; k < nj; k++)
            if (job_done(s, &jobs[k], stats) == 0)
                pm[npm++] = jobs[k].pm;
        for (size_t k = 0; k < nb; k++)
            cmn_buf_release(&batch[k].out);
        if (rc)
            goto out;
    }
    for (size_t i = 0; i < lists.n; i++) {
        const char *key = lists.v[i].key;
        struct pending_list *p = &pl[npl];
        struct cmn_errbuf e2 = {{0}};
        if (!split_list_key(key, p->name)) {
            if (!is_bad(s, key, lists.v[i].etag)) {
                cmn_warn("sync: ignoring '%s': not lists/<name>.txt", key);
                mark_bad(s, key, lists.v[i].etag);
            }
            continue;
        }
        if (lists.v[i].etag[0] && strcmp(lists.v[i].etag, old_list_etags[i]) == 0)
            continue;
        if (lists.v[i].etag[0] && is_bad(s, key, lists.v[i].etag))
            continue;
        struct cmn_buf doc;
        cmn_buf_init(&doc, SYNC_LIST_MAX_BYTES);
        struct cmn_get_opts go = {.max_size = SYNC_LIST_MAX_BYTES};
        enum cmn_err grc = cmn_storage_get(s->st, key, &go, &doc, p->etag, &e2);
        if (grc == CMN_E_NOTFOUND) {
            cmn_buf_release(&doc);
            continue;
        }
        if (grc && grc != CMN_E_TOOBIG) {
            rc = cmn_errf(eb, grc, "cannot fetch '%s': %s", key, cmn_errmsg(&e2, grc));
            cmn_buf_release(&doc);
            goto out;
        }
        if (!p->etag[0])
            snprintf(p->etag, sizeof(p->etag), "%s", lists.v[i].etag);
        if (grc == CMN_E_TOOBIG)
            grc = cmn_errf(&e2, CMN_E_TOOBIG, "larger than %zu bytes", SYNC_LIST_MAX_BYTES);
        else
            grc = edge_list_parse(doc.ptr ? doc.ptr : "", doc.len, &p->ids, &p->n, &e2);
        cmn_buf_release(&doc);
        if (grc) {
            cmn_warn("sync: refused list '%s': %s; the previous list keeps serving", key, cmn_errmsg(&e2, grc));
            stats->lists_rejected++;
            mark_bad(s, key, p->etag);
            continue;
        }
        npl++;
    }

    /* 4. one write transaction for the whole pass */
    if ((mrc = mdb_txn_begin(ix->env, NULL, 0, &txn)) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
        goto out;
    }
    if ((rc = apply_manifests(ix, txn, pm, npm, stats, eb)))
        goto out;
    for (size_t i = 0; i < npl; i++) {
        struct pending_list *p = &pl[i];
        char mk[CMN_ID_MAX + 8];
        if ((rc = edge_index_list_replace(ix, txn, p->name, p->ids, p->n, eb)))
            goto out;
        snprintf(mk, sizeof(mk), "list:%s", p->name);
        if ((rc = edge_meta_put(ix, txn, mk, p->etag)))
            goto out;
        cmn_info("sync: loaded list '%s' (%zu ids)", p->name, p->n);
        stats->lists_loaded++;
    }
    {
        char t[32], res[64];
        snprintf(t, sizeof(t), "%lld", (long long)now);
        snprintf(res, sizeof(res), "ok");
        if ((rc = edge_meta_put(ix, txn, "sync.last_at", t)) || (rc = edge_meta_put(ix, txn, "sync.last_ok", t)) ||
            (rc = edge_meta_put(ix, txn, "sync.last_result", res)))
            goto out;
        /* the feed's entries up to this ETag are applied (or refused and remembered) */
        if (feed_ok && new_feed[0] && strcmp(new_feed, old_feed) != 0 &&
            (rc = edge_meta_put(ix, txn, "feed.etag", new_feed)))
            goto out;
    }
    if ((rc = commit(&txn, eb)))
        goto out;
    if (full || feed_changed) {
        /* every manifest was looked at: remember which are refused for the passes that look at none */
        s->n_refused_kept = 0;
        s->refused_kept_count = stats->refused_now;
        for (unsigned i = 0; i < stats->n_problems; i++)
            if (strncmp(stats->problems[i].what, "refused", 7) == 0)
                s->refused_kept[s->n_refused_kept++] = stats->problems[i];
    } else {
        /* an unchanged feed: what was refused is still what storage holds */
        stats->refused_now += s->refused_kept_count;
        for (unsigned i = 0; i < s->n_refused_kept; i++)
            add_problem(stats, s->refused_kept[i].key, s->refused_kept[i].what);
    }
    if (full)
        s->last_full = now;

out:
    if (txn)
        mdb_txn_abort(txn);
    if (rc)
        write_meta_result(ix, now, 0, cmn_errmsg(eb, rc));
    for (size_t i = 0; pm && i < npm; i++)
        cmn_buf_release(&pm[i].rec);
    for (size_t i = 0; pl && i < npl; i++)
        edge_list_free(pl[i].ids, pl[i].n);
    free(pm);
    free(pl);
    free(batch);
    free(jobs);
    free(bidx);
    free(seqs);
    free(old_etags);
    free(old_list_etags);
    objs_free(&mans);
    objs_free(&lists);
    stats->requests = (unsigned)(cmn_storage_requests(s->st) - req0);
    if (stats->fetched + stats->snapshot + stats->lists_loaded * 256 > 256)
        release_pass_memory(ix);
    return rc;
}

enum cmn_err edge_sync_load_list_file(struct edge_index *ix, const char *name, const char *path, size_t *count,
                                      struct cmn_errbuf *eb)
{
    enum cmn_err rc;
    FILE *f = fopen(path, "rb");
    struct cmn_buf text;
    char **ids = NULL;
    size_t n = 0;
    MDB_txn *txn = NULL;
    int mrc;

    if (!cmn_id_valid_n(name, strlen(name)))
        return cmn_errf(eb, CMN_E_INVAL, "invalid list name '%s' (want [A-Za-z0-9._-]{1,64})", name);
    if (!f)
        return cmn_errf(eb, CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    cmn_buf_init(&text, SYNC_LIST_MAX_BYTES);
    char chunk[65536];
    size_t got;
    rc = CMN_OK;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((rc = cmn_buf_add(&text, chunk, got)))
            break;
    if (!rc && ferror(f))
        rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s'", path);
    fclose(f);
    if (rc) {
        cmn_errf(eb, rc, "cannot read '%s': %s", path, cmn_strerror(rc));
        goto out;
    }
    if ((rc = edge_list_parse(text.ptr ? text.ptr : "", text.len, &ids, &n, eb)))
        goto out;
    cmn_buf_release(&text);
    if ((mrc = mdb_txn_begin(ix->env, NULL, 0, &txn)) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
        goto out;
    }
    if ((rc = edge_index_list_replace(ix, txn, name, ids, n, eb)))
        goto out;
    {
        char mk[CMN_ID_MAX + 16];
        snprintf(mk, sizeof(mk), "list.local:%s", name);
        if ((rc = edge_meta_put(ix, txn, mk, "1")))
            goto out;
    }
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot commit the index: %s", mdb_strerror(mrc));
        goto out;
    }
    if (count)
        *count = n;
out:
    if (txn)
        mdb_txn_abort(txn);
    cmn_buf_release(&text);
    edge_list_free(ids, n);
    return rc;
}
