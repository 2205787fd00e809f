/*
 * telemetry.c - device telemetry ingest (the batches behind POST /v1/devices
 * and POST /v1/installations, decoded by jsonreq.c) and the auto-halt rule.
 *
 * A batch of installations is validated entry by entry (bad entries are
 * counted and skipped, never fatal for the rest), de-duplicated in memory,
 * streamed with COPY (PQputCopyData, text format) into a session-local
 * staging table (TEMP, ON COMMIT DELETE ROWS, created on the connection's
 * first batch) and merged by ONE prepared statement: the insert, the UNIQUE
 * (device, release, status) de-duplication against earlier batches (so
 * retries are not double-counted: the merge is idempotent) and the
 * per-release counter update, all in the batch's transaction. The new
 * counter totals it returns feed the auto-halt check: a release whose
 * (failed + rolled_back) / (applied + failed) reaches the app's threshold
 * after at least the minimum number of installs is halted, its manifest
 * re-published, and an audit event records why.
 *
 * Only ticketed reports count toward the auto-halt (docs/security.md,
 * "Forged telemetry"): each event's edge ticket (common/ticket.h) is checked
 * against the configured ticket public keys for the event's own app, release
 * and device before staging; the merge keeps separate counters of the
 * ticketed rows (one per device and status, by the UNIQUE key), and the
 * halt rule reads only those. Unticketed events are stored and shown in the
 * statistics all the same. An app may opt in to counting them too
 * (apps.count_unticketed, `hotpatch app --count-unticketed on`, for fleets of
 * clients that can never carry a ticket): both ingest paths return the
 * app's setting with the new totals, and the halt rule then reads the
 * untrusted totals (still distinct devices) instead of the ticketed ones.
 *
 * Batches that arrive while another is being stored are stored together
 * (group commit, store_queued below): one COPY and one transaction for the
 * group, each batch stored alone again if the group cannot commit.
 */
#include "common/compat.h"

#include "common/log.h"
#include "common/ticket.h"
#include "pub.h"

#define I64(buf, v) snprintf((buf), sizeof(buf), "%lld", (long long)(v))

static int cmp_ev(const void *a, const void *b)
{
    const struct pub_install_ev *x = a, *y = b;
    int c = strcmp(x->device_id, y->device_id);
    if (!c)
        c = strcmp(x->release_id, y->release_id);
    if (!c)
        c = strcmp(x->status, y->status);
    return c;
}

static int cmp_dev(const void *a, const void *b)
{
    const struct pub_device_ev *x = a, *y = b;
    int c = strcmp(x->app, y->app);
    if (!c)
        c = strcmp(x->device_id, y->device_id);
    if (!c)
        c = x->order < y->order ? -1 : x->order > y->order;
    return c;
}

/* Build one text[] literal from a field of each element (NULL fields -> NULL). */
#define ARR_BEGIN(b) (cmn_buf_add(&(b), "{", 1))
#define ARR_END(b) (cmn_buf_add(&(b), "}", 1))

/*
 * The rows go to Postgres in COPY's binary format (PostgreSQL documentation,
 * "COPY", "Binary Format"): a signature, a flags word and a header-extension
 * length, then per row a 16-bit field count and per field a 32-bit length (-1:
 * NULL) followed by the type's binary (send) form, everything big-endian; a
 * 16-bit -1 ends the data. Binary spares the server the text parsing of the
 * integer, boolean and timestamp columns (bench_publisher.sh: about a tenth of
 * Postgres's CPU per row) and the publisher the escaping of every text field.
 * The server still checks each text value's encoding, as for text COPY.
 * Errors stick: the first failed append is reported by bin_end().
 */
struct bincopy {
    struct cmn_buf *b;
    enum cmn_err rc;
};

/* Seconds between the Unix epoch and Postgres's (2000-01-01 UTC), where binary timestamps count from. */
#define PG_EPOCH_UNIX 946684800LL

static void bin_raw(struct bincopy *w, const void *p, size_t n)
{
    if (!w->rc)
        w->rc = cmn_buf_add(w->b, p, n);
}

static void bin_be(struct bincopy *w, uint64_t v, int bytes)
{
    unsigned char o[8];
    for (int i = 0; i < bytes; i++)
        o[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    bin_raw(w, o, (size_t)bytes);
}

static void bin_begin(struct bincopy *w, struct cmn_buf *b)
{
    w->b = b;
    w->rc = CMN_OK;
    bin_raw(w, "PGCOPY\n\377\r\n", 11); /* with the literal's own NUL: the 11-byte signature */
    bin_be(w, 0, 4);                    /* flags: no OIDs */
    bin_be(w, 0, 4);                    /* no header extension */
}

static void bin_row(struct bincopy *w, int nfields)
{
    bin_be(w, (uint64_t)nfields, 2);
}

static void bin_null(struct bincopy *w)
{
    bin_be(w, 0xffffffffu, 4);
}

/* A text field, or NULL. jsonreq.c bounds every string far below the 32-bit length. */
static void bin_text(struct bincopy *w, const char *v)
{
    if (!v) {
        bin_null(w);
        return;
    }
    size_t n = strlen(v);
    bin_be(w, n, 4);
    bin_raw(w, v, n);
}

static void bin_int4(struct bincopy *w, int32_t v)
{
    bin_be(w, 4, 4);
    bin_be(w, (uint32_t)v, 4);
}

static void bin_int8(struct bincopy *w, int64_t v)
{
    bin_be(w, 8, 4);
    bin_be(w, (uint64_t)v, 8);
}

static void bin_bool(struct bincopy *w, int v)
{
    bin_be(w, 1, 4);
    bin_be(w, v ? 1 : 0, 1);
}

/* An event's download progress (jsonreq.c: 0..100), or NULL when it reported none (-1). */
static void bin_progress(struct bincopy *w, long long progress)
{
    if (progress >= 0)
        bin_int4(w, (int32_t)progress);
    else
        bin_null(w);
}

static enum cmn_err bin_end(struct bincopy *w)
{
    bin_be(w, 0xffffu, 2);
    return w->rc;
}

/*
 * COPY the encoded rows with `sql` (COPY ... FROM STDIN WITH (FORMAT binary)), in the
 * caller's tx. CMN_E_CONFLICT when the server refused a row on a UNIQUE key
 * (SQLSTATE 23505: the fast path met a retried row; `quiet` leaves that
 * unlogged), CMN_E_DB for anything else.
 */
static enum cmn_err copy_rows(struct pub_dbconn *c, const char *sql, const struct cmn_buf *rows, int quiet)
{
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COPY_IN) {
        if (PQstatus(c->pg) != CONNECTION_OK)
            c->broken = 1;
        return CMN_E_DB;
    }
    int ok = 1, done = 0, dup = 0;
    for (size_t off = 0; off < rows->len && ok;) {
        size_t n = rows->len - off > (1u << 20) ? (1u << 20) : rows->len - off;
        ok = PQputCopyData(c->pg, rows->ptr + off, (int)n) == 1;
        off += n;
    }
    ok = PQputCopyEnd(c->pg, ok ? NULL : "client failed to send the batch") == 1 && ok;
    while ((r = PQgetResult(c->pg)) != NULL) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            done = 1;
        } else if (pub_res_state(r, "23505")) {
            dup = 1;
            if (!quiet)
                cmn_warn("database: telemetry COPY met a duplicate row");
        } else {
            const char *m = PQresultErrorMessage(r);
            cmn_warn("database: telemetry COPY failed: %.*s", (int)strcspn(m, "\n"), m);
        }
        PQclear(r);
    }
    if (!ok || !done) {
        if (PQstatus(c->pg) != CONNECTION_OK)
            c->broken = 1;
        return dup && ok && PQstatus(c->pg) == CONNECTION_OK ? CMN_E_CONFLICT : CMN_E_DB;
    }
    return CMN_OK;
}

static void auto_halt(struct pub_srv *s, struct pub_dbconn *c, const char *ids_arr)
{
    char thr[24], min[24];
    I64(thr, s->cfg->halt_threshold_pct);
    I64(min, s->cfg->halt_min_installs);
    const char *p[] = {ids_arr, thr, min};
    PGresult *r = pub_q(c, Q_HALT_CANDIDATES, p);
    if (!pub_res_ok(r)) {
        PQclear(r);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = pub_cell(r, i, 0);
        long long applied = pub_cell_i64(r, i, 5), failed = pub_cell_i64(r, i, 6), rb = pub_cell_i64(r, i, 7);
        long long installs = applied + failed, bad = failed + rb;
        long long pct = pub_cell_i64(r, i, 8), minn = pub_cell_i64(r, i, 9);
        int all = pub_cell(r, i, 11)[0] == 't'; /* the app counts unticketed reports too */
        char reason[256];
        snprintf(reason, sizeof(reason),
                 "failure+rollback rate %lld%% (%lld of %lld %s installs) reached the threshold of %lld%% "
                 "(minimum %lld installs)",
                 installs ? bad * 100 / installs : 0, bad, installs, all ? "reported (ticketed or not)" : "ticketed",
                 pct, minn);
        json_t *extra = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "reason", reason, "installs", (json_int_t)installs,
                                  "failures", (json_int_t)failed, "rollbacks", (json_int_t)rb, "threshold_pct",
                                  (json_int_t)pct, "min_installs", (json_int_t)minn, "counted",
                                  all ? "all distinct devices (count_unticketed on)" : "ticketed distinct devices");
        struct cmn_errbuf eb = {0};
        enum cmn_err rc = pub_release_action(s, c, id, PUB_ACT_HALT, 0, "auto-halt", extra, NULL, NULL, &eb);
        json_decref(extra);
        if (rc == CMN_OK) {
            atomic_fetch_add(&s->m.auto_halts, 1);
            cmn_warn("auto-halt: release %s halted: %s", id, reason);
        } else if (rc != CMN_E_CONFLICT) {
            cmn_warn("auto-halt: cannot halt release %s: %s", id, cmn_errmsg(&eb, rc));
        }
    }
    PQclear(r);
}

/* The statuses an installation reports, in release_counters' column order. */
static const char *const k_status[4] = {"downloading", "applied", "failed", "rolled_back"};

static int status_idx(const char *st)
{
    for (int k = 0; k < 4; k++)
        if (!strcmp(st, k_status[k]))
            return k;
    return -1; /* jsonreq.c admits only the four */
}

/* One (app, release) pair of a batch; the fast path takes batches of at most MAX_PAIRS. */
#define MAX_PAIRS 32
struct relpair {
    const char *app, *rel;
    int found;        /* Q_INST_RELEASES resolved it: the events of an unresolved pair are dropped */
    long long app_id; /* its app's id, once found */
    long long n[7];   /* events per status, then ticketed events per counted status (applied, failed, rolled_back) */
};

/* The pairs of the events (pidx[i] = the pair of event i); 0 when there are more than MAX_PAIRS. */
static size_t batch_pairs(const struct pub_install_ev *ev, size_t m, struct relpair *pairs, unsigned char *pidx)
{
    size_t np = 0;
    for (size_t i = 0; i < m; i++) {
        size_t k = 0;
        while (k < np && (strcmp(pairs[k].rel, ev[i].release_id) || strcmp(pairs[k].app, ev[i].app)))
            k++;
        if (k == np) {
            if (np == MAX_PAIRS)
                return 0;
            memset(&pairs[np], 0, sizeof(pairs[np]));
            pairs[np].app = ev[i].app;
            pairs[np++].rel = ev[i].release_id;
        }
        pidx[i] = (unsigned char)k;
    }
    return np;
}

/*
 * The fast path: the batch's rows go straight into installations with one
 * COPY (as a bulk load would), then the counters take the batch's per-status
 * totals - exact, since every row was inserted. A row that already exists (a
 * retried batch, or one overlapping another in flight) fails the COPY on the
 * UNIQUE (device, release, status) key: CMN_E_CONFLICT, nothing stored, and
 * the caller merges the batch instead. On CMN_OK *q holds the counters' new
 * totals (NULL when no event named a known release). The transaction is
 * closed either way.
 */
static enum cmn_err ingest_direct(struct pub_dbconn *c, const struct pub_install_ev *ev, size_t m,
                                  struct relpair *pairs, size_t np, const unsigned char *pidx, size_t cap, PGresult **q)
{
    *q = NULL;
    struct cmn_buf a[8], rows;
    for (int k = 0; k < 8; k++)
        cmn_buf_init(&a[k], cap);
    cmn_buf_init(&rows, cap);
    enum cmn_err rc = ARR_BEGIN(a[0]) | ARR_BEGIN(a[1]);
    for (size_t k = 0; k < np && !rc; k++)
        rc = pub_pgarr_add(&a[0], pairs[k].app, k == 0) | pub_pgarr_add(&a[1], pairs[k].rel, k == 0);
    rc |= ARR_END(a[0]) | ARR_END(a[1]);
    if (rc) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    PGresult *r = NULL;
    const char *p2[] = {a[0].ptr, a[1].ptr};
    if (!pub_res_ok(r = pub_q_around(c, "BEGIN", Q_INST_RELEASES, p2, NULL))) {
        PQclear(r);
        pub_tx_rollback(c);
        rc = CMN_E_DB;
        goto out;
    }
    int64_t now = 0; /* the transaction's now(), microseconds since 2000: the time of events that carry none */
    for (int i = 0; i < PQntuples(r); i++) {
        long long k = pub_cell_i64(r, i, 0) - 1; /* WITH ORDINALITY counts from 1 */
        if (k >= 0 && (size_t)k < np) {
            pairs[k].found = 1;
            pairs[k].app_id = pub_cell_i64(r, i, 1);
        }
        now = pub_cell_i64(r, i, 2);
    }
    PQclear(r);
    size_t n = 0;
    struct bincopy w;
    bin_begin(&w, &rows);
    for (size_t i = 0; i < m; i++) {
        const struct pub_install_ev *e = &ev[i];
        struct relpair *pr = &pairs[pidx[i]];
        if (!pr->found)
            continue; /* no such release in that app: dropped, as the merge's join does */
        bin_row(&w, 10);
        bin_text(&w, e->device_id);
        bin_text(&w, e->release_id);
        bin_text(&w, e->status);
        bin_int8(&w, pr->app_id);
        bin_text(&w, e->channel ? e->channel : "");
        bin_text(&w, e->event_id);
        bin_progress(&w, e->progress);
        bin_text(&w, e->binary_version ? e->binary_version : "");
        bin_int8(&w, e->ts ? (e->ts - PG_EPOCH_UNIX) * 1000000 : now); /* timestamptz: microseconds since 2000 */
        bin_bool(&w, e->ticketed);
        int st = status_idx(e->status);
        if (st >= 0) {
            pr->n[st]++;
            if (e->ticketed && st > 0)
                pr->n[4 + st - 1]++; /* t_applied, t_failed, t_rolled_back */
        }
        n++;
    }
    if ((rc = bin_end(&w))) {
        rc = CMN_E_NOMEM;
        pub_tx_rollback(c);
        goto out;
    }
    if (n) {
        rc = copy_rows(c,
                       "COPY installations (device_id, release_id, status, app_id, channel, event_id, progress, "
                       "binary_version, ts, ticketed) FROM STDIN WITH (FORMAT binary)",
                       &rows, 1);
        if (rc) {
            pub_tx_rollback(c);
            goto out;
        }
        for (int k = 0; k < 8; k++) {
            a[k].len = 0;
            rc |= ARR_BEGIN(a[k]);
        }
        int first = 1;
        for (size_t k = 0; k < np && !rc; k++) {
            if (!pairs[k].found)
                continue;
            rc = pub_pgarr_add(&a[0], pairs[k].rel, first);
            for (int j = 0; j < 7 && !rc; j++) {
                char v[24];
                I64(v, pairs[k].n[j]);
                rc = pub_pgarr_add(&a[1 + j], v, first);
            }
            first = 0;
        }
        for (int k = 0; k < 8; k++)
            rc |= ARR_END(a[k]);
        if (rc) {
            rc = CMN_E_NOMEM;
            pub_tx_rollback(c);
            goto out;
        }
        /* the counters and the commit in one round trip */
        const char *p8[] = {a[0].ptr, a[1].ptr, a[2].ptr, a[3].ptr, a[4].ptr, a[5].ptr, a[6].ptr, a[7].ptr};
        *q = pub_q_around(c, NULL, Q_INST_COUNT, p8, "COMMIT");
        if (!pub_res_ok(*q)) {
            PQclear(*q);
            *q = NULL;
            pub_tx_rollback(c);
            rc = CMN_E_DB;
        }
    } else if (pub_tx_commit(c)) {
        pub_tx_rollback(c);
        rc = CMN_E_DB;
    }
out:
    for (int k = 0; k < 8; k++)
        cmn_buf_release(&a[k]);
    cmn_buf_release(&rows);
    return rc;
}

/*
 * The merge: COPY into the session's staging table, then ONE statement
 * inserts what is new, raises a download's progress, and adds only the rows
 * really inserted to the counters (Q_INST_INSERT). Idempotent under retries
 * and concurrent overlapping batches. *q as for ingest_direct.
 */
static enum cmn_err ingest_merge(struct pub_dbconn *c, const struct pub_install_ev *ev, size_t m, size_t cap,
                                 PGresult **q)
{
    *q = NULL;
    struct cmn_buf rows;
    cmn_buf_init(&rows, cap);
    struct bincopy w;
    bin_begin(&w, &rows);
    for (size_t i = 0; i < m; i++) {
        const struct pub_install_ev *e = &ev[i];
        bin_row(&w, 10); /* pg_temp.hp_inst_stage's columns, in order (db.c) */
        bin_text(&w, e->device_id);
        bin_text(&w, e->release_id);
        bin_text(&w, e->status);
        bin_text(&w, e->channel ? e->channel : "");
        bin_text(&w, e->event_id);
        bin_progress(&w, e->progress);
        bin_text(&w, e->binary_version ? e->binary_version : "");
        if (e->ts)
            bin_int8(&w, e->ts); /* seconds since the Unix epoch: the merge converts */
        else
            bin_null(&w);
        bin_text(&w, e->app);
        bin_bool(&w, e->ticketed);
    }
    if (bin_end(&w)) {
        cmn_buf_release(&rows);
        return CMN_E_NOMEM;
    }
    enum cmn_err rc = CMN_OK;
    if (pub_tx_begin(c) || copy_rows(c, "COPY pg_temp.hp_inst_stage FROM STDIN WITH (FORMAT binary)", &rows, 0) ||
        !pub_res_ok(*q = pub_q_around(c, NULL, Q_INST_INSERT, NULL, "COMMIT"))) {
        PQclear(*q);
        *q = NULL;
        pub_tx_rollback(c);
        rc = CMN_E_DB;
    }
    cmn_buf_release(&rows);
    return rc;
}

/*
 * The auto-halt candidates among the counters' new totals `q` (both paths
 * return release_id, downloading, applied, failed, rolled_back, t_failed,
 * t_rolled_back, count_unticketed): releases with counted failures or
 * rollbacks - the ticketed ones, or all of them where the app opted in to
 * counting unticketed reports (apps.count_unticketed).
 */
static void halt_check(struct pub_srv *s, struct pub_dbconn *c, PGresult *q, size_t cap)
{
    struct cmn_buf ids;
    cmn_buf_init(&ids, cap);
    int nids = 0;
    enum cmn_err irc = cmn_buf_add(&ids, "{", 1);
    for (int i = 0; q && i < PQntuples(q) && !irc; i++) {
        int all = pub_cell(q, i, 7)[0] == 't';
        if ((all ? pub_cell_i64(q, i, 3) + pub_cell_i64(q, i, 4) : pub_cell_i64(q, i, 5) + pub_cell_i64(q, i, 6)) == 0)
            continue;
        irc = pub_pgarr_add(&ids, pub_cell(q, i, 0), nids == 0);
        nids++;
    }
    if (!irc)
        irc = cmn_buf_add(&ids, "}", 1);
    if (!irc && nids)
        auto_halt(s, c, ids.ptr);
    cmn_buf_release(&ids);
}

/* Store one de-duplicated batch in its own transaction: the fast path, or the merge when it meets stored rows. */
static enum cmn_err store_alone(struct pub_srv *s, struct pub_install_ev *ev, size_t m, struct cmn_errbuf *eb)
{
    enum cmn_err rc = CMN_OK;
    size_t cap = s->cfg->max_telemetry * 2 + 4096; /* each encoding of the batch */
    unsigned char *pidx = malloc(m);
    struct relpair pairs[MAX_PAIRS];
    size_t np = pidx ? batch_pairs(ev, m, pairs, pidx) : 0;
    enum cmn_err why = CMN_E_DB;
    struct pub_dbconn *c = pub_db_get(s->db, &why);
    PGresult *q = NULL;
    if (!c) {
        rc = pub_db_errf(why, eb);
        goto out;
    }
    rc = np ? ingest_direct(c, ev, m, pairs, np, pidx, cap, &q) : CMN_E_CONFLICT;
    if (rc == CMN_E_CONFLICT) {
        atomic_fetch_add(&s->m.telemetry_merged, 1);
        rc = ingest_merge(c, ev, m, cap, &q);
    }
    if (rc) {
        rc = rc == CMN_E_NOMEM ? cmn_errf(eb, rc, "cannot encode the batch")
                               : cmn_errf(eb, CMN_E_DB, "cannot store the batch");
        goto out;
    }
    halt_check(s, c, q, cap);
    PQclear(q);
out:
    pub_db_put(s->db, c);
    free(pidx);
    return rc;
}

/*
 * Group commit. A batch arriving while another is being stored waits in
 * s->ig_queue; when the store in flight ends, the oldest waiting batch's
 * thread takes it and the batches queued behind it (up to IG_MAX_ROWS rows)
 * and stores them together: one fast-path COPY and one transaction instead
 * of one each (a COPY statement costs Postgres ~2 ms of setup, a third of
 * the CPU of 1000 rows). A batch arriving with nothing in flight and no
 * other request being decoded (pub_ingest_arriving) is stored at once, alone;
 * with requests being decoded, the store first waits for them to queue, up
 * to s->ig_gather_ns (2 ms), so that batches arriving together are stored
 * together. Every request is answered only
 * after the transaction holding its rows has committed. The group's
 * transaction is all or nothing; when it fails for any reason (a row already
 * stored - a retried batch -, two batches of the group naming the same row,
 * more than MAX_PAIRS releases, a database error) nothing of it is stored
 * and each batch is then stored alone by its own thread, exactly as without
 * grouping (the fast path or the idempotent merge): no request's rows are
 * lost or counted twice.
 */
#define IG_MAX_ROWS 8000
enum { IG_WAIT, IG_STORED, IG_ALONE };
struct pub_ig_member {
    struct pub_install_ev *ev;
    size_t m;
    int state;
    struct pub_ig_member *next;
};

/* The members' rows in one fast-path transaction; CMN_OK only when all of them are committed. */
static enum cmn_err store_group(struct pub_srv *s, struct pub_ig_member *g, size_t rows, size_t n)
{
    struct pub_install_ev *ev = malloc(rows * sizeof(*ev));
    unsigned char *pidx = malloc(rows);
    struct relpair pairs[MAX_PAIRS];
    enum cmn_err rc = CMN_E_NOMEM;
    struct pub_dbconn *c = NULL;
    PGresult *q = NULL;
    size_t cap = (s->cfg->max_telemetry * 2 + 4096) * n;
    if (!ev || !pidx)
        goto out;
    size_t k = 0;
    for (struct pub_ig_member *p = g; p; p = p->next) {
        memcpy(ev + k, p->ev, p->m * sizeof(*ev));
        k += p->m;
    }
    size_t np = batch_pairs(ev, rows, pairs, pidx);
    rc = CMN_E_CONFLICT;
    if (!np)
        goto out;
    rc = CMN_E_DB;
    if (!(c = pub_db_get(s->db, &rc)))
        goto out;
    if ((rc = ingest_direct(c, ev, rows, pairs, np, pidx, cap, &q)) == CMN_OK) {
        halt_check(s, c, q, cap);
        PQclear(q);
    }
out:
    pub_db_put(s->db, c);
    free(ev);
    free(pidx);
    return rc;
}

void pub_ingest_arriving(struct pub_srv *s, int delta)
{
    pthread_mutex_lock(&s->ig_mu);
    s->ig_arriving += delta;
    if (delta < 0)
        pthread_cond_broadcast(&s->ig_cv);
    pthread_mutex_unlock(&s->ig_mu);
}

void pub_ingest_hold(struct pub_srv *s, int on)
{
    pthread_mutex_lock(&s->ig_mu);
    s->ig_hold = on;
    pthread_cond_broadcast(&s->ig_cv);
    pthread_mutex_unlock(&s->ig_mu);
}

size_t pub_ingest_waiting(struct pub_srv *s)
{
    pthread_mutex_lock(&s->ig_mu);
    size_t n = s->ig_waiting;
    pthread_mutex_unlock(&s->ig_mu);
    return n;
}

/* Queue the batch and wait for it to be stored, leading a store when it is the oldest waiting. */
static enum cmn_err store_queued(struct pub_srv *s, struct pub_install_ev *ev, size_t m, int *arriving,
                                 struct cmn_errbuf *eb)
{
    struct pub_ig_member me = {ev, m, IG_WAIT, NULL};
    enum cmn_err rc = CMN_OK;
    int done = 0, gathered = 0;
    pthread_mutex_lock(&s->ig_mu);
    if (*arriving) {
        s->ig_arriving--;
        *arriving = 0;
        pthread_cond_broadcast(&s->ig_cv); /* a store gathering arrivals may start */
    }
    struct pub_ig_member **tail = &s->ig_queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = &me;
    s->ig_waiting++;
    while (me.state == IG_WAIT) {
        if (s->ig_busy || s->ig_hold || s->ig_queue != &me) {
            pthread_cond_wait(&s->ig_cv, &s->ig_mu);
            continue;
        }
        if (s->ig_arriving > 0 && !gathered) {
            /* batches are being decoded: give them a moment to join this store (bounded, once) */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += s->ig_gather_ns / 1000000000L;
            until.tv_nsec += s->ig_gather_ns % 1000000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (s->ig_arriving > 0 && pthread_cond_timedwait(&s->ig_cv, &s->ig_mu, &until) == 0)
                ;
            gathered = 1;
            continue;
        }
        struct pub_ig_member *last = &me;
        size_t rows = m, n = 1;
        while (last->next && rows + last->next->m <= IG_MAX_ROWS) {
            last = last->next;
            rows += last->m;
            n++;
        }
        s->ig_queue = last->next;
        last->next = NULL;
        s->ig_waiting -= n;
        s->ig_busy = 1;
        pthread_mutex_unlock(&s->ig_mu);
        int state = IG_ALONE;
        if (n == 1) {
            rc = store_alone(s, ev, m, eb);
            done = 1;
        } else if (store_group(s, &me, rows, n) == CMN_OK) {
            state = IG_STORED;
        }
        pthread_mutex_lock(&s->ig_mu);
        s->ig_busy = 0;
        for (struct pub_ig_member *p = &me, *next; p; p = next) {
            next = p->next; /* read first: a member's thread may return as soon as its state is set */
            p->state = state;
        }
        pthread_cond_broadcast(&s->ig_cv);
    }
    pthread_mutex_unlock(&s->ig_mu);
    if (done)
        return rc;
    if (me.state == IG_STORED) {
        atomic_fetch_add(&s->m.telemetry_grouped, 1);
        return CMN_OK;
    }
    return store_alone(s, ev, m, eb); /* the group failed, nothing of it stored */
}

enum cmn_err pub_ingest_installs(struct pub_srv *s, struct pub_batch *b, struct pub_ingest_result *res,
                                 struct cmn_errbuf *eb)
{
    memset(res, 0, sizeof(*res));
    res->rejected = b->rejected;
    /* de-duplicate (device, release, status), keeping the highest progress */
    qsort(b->ev, b->n, sizeof(*b->ev), cmp_ev);
    size_t m = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (m && !cmp_ev(&b->ev[m - 1], &b->ev[i])) {
            if (b->ev[i].progress > b->ev[m - 1].progress)
                b->ev[m - 1].progress = b->ev[i].progress;
            if (!b->ev[m - 1].ticket) {
                b->ev[m - 1].ticket = b->ev[i].ticket;
                b->ev[m - 1].ticket_len = b->ev[i].ticket_len;
            }
            continue;
        }
        b->ev[m++] = b->ev[i];
    }
    size_t accepted = m;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < m; i++) {
        /* 'downloading' never counts toward a halt: its ticket is not worth a signature check */
        struct pub_install_ev *e = &b->ev[i];
        struct cmn_ticket_claim cl = {e->app, e->release_id, e->device_id};
        e->ticketed = e->ticket && s->n_tkeys && strcmp(e->status, "downloading") != 0 &&
                      cmn_ticket_verify(e->ticket, e->ticket_len, s->tkeys, s->n_tkeys, &cl, now) == CMN_OK;
        res->ticketed += (size_t)e->ticketed;
    }
    if (m == 0)
        return CMN_OK; /* nothing to store, no database round trip */
    enum cmn_err rc = store_queued(s, b->ev, m, &b->arriving, eb);
    if (rc)
        return rc;
    atomic_fetch_add(&s->m.telemetry_events, (unsigned long)accepted);
    atomic_fetch_add(&s->m.telemetry_batches, 1);
    res->accepted = accepted;
    return CMN_OK;
}

enum cmn_err pub_ingest_devices(struct pub_srv *s, struct pub_batch *b, struct pub_ingest_result *res,
                                struct cmn_errbuf *eb)
{
    memset(res, 0, sizeof(*res));
    res->rejected = b->rejected;
    /* one row per (app, device): the last report in the batch wins */
    struct pub_device_ev *v = b->dev;
    qsort(v, b->n, sizeof(*v), cmp_dev); /* by app, device, then position in the request */
    size_t m = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (i + 1 < b->n && !strcmp(v[i].app, v[i + 1].app) && !strcmp(v[i].device_id, v[i + 1].device_id))
            continue; /* a later report of the same device follows */
        v[m++] = v[i];
    }
    enum cmn_err rc = CMN_OK;
    struct cmn_buf a[5];
    size_t cap = s->cfg->max_telemetry * 2 + 4096;
    for (int k = 0; k < 5; k++) {
        cmn_buf_init(&a[k], cap);
        rc |= ARR_BEGIN(a[k]);
    }
    for (size_t i = 0; i < m && !rc; i++) {
        int first = i == 0;
        rc |= pub_pgarr_add(&a[0], v[i].device_id, first);
        rc |= pub_pgarr_add(&a[1], v[i].app, first);
        rc |= pub_pgarr_add(&a[2], v[i].platform ? v[i].platform : "", first);
        rc |= pub_pgarr_add(&a[3], v[i].binary_version ? v[i].binary_version : "", first);
        rc |= pub_pgarr_add(&a[4], v[i].os ? v[i].os : "", first);
    }
    for (int k = 0; k < 5; k++)
        rc |= ARR_END(a[k]);
    struct pub_dbconn *c = NULL;
    if (rc) {
        rc = cmn_errf(eb, CMN_E_NOMEM, "cannot encode the batch");
        goto out;
    }
    long long stored = 0;
    if (m) {
        enum cmn_err why = CMN_E_DB;
        if (!(c = pub_db_get(s->db, &why))) {
            rc = pub_db_errf(why, eb);
            goto out;
        }
        const char *p[5] = {a[0].ptr, a[1].ptr, a[2].ptr, a[3].ptr, a[4].ptr};
        PGresult *q = pub_q(c, Q_DEV_UPSERT, p);
        if (!pub_res_ok(q)) {
            PQclear(q);
            rc = cmn_errf(eb, CMN_E_DB, "cannot store the batch");
            goto out;
        }
        stored = atoll(PQcmdTuples(q));
        PQclear(q);
        atomic_fetch_add(&s->m.devices_seen, (unsigned long)stored);
    }
    res->accepted = m;
    res->stored = stored;
out:
    pub_db_put(s->db, c);
    for (int k = 0; k < 5; k++)
        cmn_buf_release(&a[k]);
    return rc;
}
