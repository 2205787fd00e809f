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
 * statistics all the same.
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

/* One COPY text-format field (NULL -> \\N), escaping backslash, tab, newline and CR; then a tab or newline. */
static enum cmn_err copy_field(struct cmn_buf *b, const char *v, int last)
{
    enum cmn_err rc = CMN_OK;
    if (!v) {
        rc = cmn_buf_add(b, "\\N", 2);
    } else {
        const char *run = v;
        for (const char *p = v; *p && !rc; p++) {
            const char *esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : NULL;
            if (!esc)
                continue;
            rc = cmn_buf_add(b, run, (size_t)(p - run));
            if (!rc)
                rc = cmn_buf_add(b, esc, 2);
            run = p + 1;
        }
        if (!rc)
            rc = cmn_buf_addstr(b, run);
    }
    if (!rc)
        rc = cmn_buf_add(b, last ? "\n" : "\t", 1);
    return rc;
}

/* COPY the encoded rows into the session's staging table (db.c creates it per connection), in the caller's tx. */
static enum cmn_err copy_rows(struct pub_dbconn *c, const struct cmn_buf *rows)
{
    PGresult *r = PQexec(c->pg, "COPY pg_temp.hp_inst_stage FROM STDIN");
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COPY_IN) {
        if (PQstatus(c->pg) != CONNECTION_OK)
            c->broken = 1;
        return CMN_E_DB;
    }
    int ok = 1, done = 0;
    for (size_t off = 0; off < rows->len && ok;) {
        size_t n = rows->len - off > (1u << 20) ? (1u << 20) : rows->len - off;
        ok = PQputCopyData(c->pg, rows->ptr + off, (int)n) == 1;
        off += n;
    }
    ok = PQputCopyEnd(c->pg, ok ? NULL : "client failed to send the batch") == 1 && ok;
    while ((r = PQgetResult(c->pg)) != NULL) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            done = 1;
        } else {
            const char *m = PQresultErrorMessage(r);
            cmn_warn("database: telemetry COPY failed: %.*s", (int)strcspn(m, "\n"), m);
        }
        PQclear(r);
    }
    if (!ok || !done) {
        if (PQstatus(c->pg) != CONNECTION_OK)
            c->broken = 1;
        return CMN_E_DB;
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
        char reason[256];
        snprintf(reason, sizeof(reason),
                 "failure+rollback rate %lld%% (%lld of %lld ticketed installs) reached the threshold of %lld%% "
                 "(minimum %lld installs)",
                 installs ? bad * 100 / installs : 0, bad, installs, pct, minn);
        json_t *extra =
            json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "reason", reason, "installs", (json_int_t)installs, "failures",
                      (json_int_t)failed, "rollbacks", (json_int_t)rb, "threshold_pct", (json_int_t)pct, "min_installs",
                      (json_int_t)minn, "counted", "ticketed distinct devices");
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
    enum cmn_err rc = CMN_OK;
    struct cmn_buf rows;
    size_t cap = s->cfg->max_telemetry * 2 + 4096;
    cmn_buf_init(&rows, cap);
    for (size_t i = 0; i < m && !rc; i++) {
        const struct pub_install_ev *e = &b->ev[i];
        char prog[24], ts[24];
        I64(prog, e->progress);
        I64(ts, e->ts);
        const char *f[10] = {e->device_id,
                             e->release_id,
                             e->status,
                             e->channel ? e->channel : "",
                             e->event_id,
                             e->progress >= 0 ? prog : NULL,
                             e->binary_version ? e->binary_version : "",
                             e->ts ? ts : NULL,
                             e->app,
                             e->ticketed ? "t" : "f"};
        for (int k = 0; k < 10 && !rc; k++)
            rc = copy_field(&rows, f[k], k == 9);
    }
    struct cmn_buf ids;
    cmn_buf_init(&ids, cap);
    struct pub_dbconn *c = NULL;
    if (rc) {
        rc = cmn_errf(eb, CMN_E_NOMEM, "cannot encode the batch");
        goto out;
    }
    if (m == 0)
        goto out;
    c = pub_db_get(s->db);
    if (!c) {
        rc = cmn_errf(eb, CMN_E_DB, "database unavailable");
        goto out;
    }
    PGresult *q = NULL;
    if (pub_tx_begin(c) || copy_rows(c, &rows) || !pub_res_ok(q = pub_q(c, Q_INST_INSERT, NULL)) || pub_tx_commit(c)) {
        PQclear(q);
        pub_tx_rollback(c);
        rc = cmn_errf(eb, CMN_E_DB, "cannot store the batch");
        goto out;
    }
    /* releases with ticketed failures or rollbacks in their totals are auto-halt candidates */
    int nids = 0;
    enum cmn_err irc = cmn_buf_add(&ids, "{", 1);
    for (int i = 0; i < PQntuples(q) && !irc; i++) {
        if (pub_cell_i64(q, i, 5) + pub_cell_i64(q, i, 6) == 0)
            continue;
        irc = pub_pgarr_add(&ids, pub_cell(q, i, 0), nids == 0);
        nids++;
    }
    if (!irc)
        irc = cmn_buf_add(&ids, "}", 1);
    PQclear(q);
    atomic_fetch_add(&s->m.telemetry_events, (unsigned long)accepted);
    atomic_fetch_add(&s->m.telemetry_batches, 1);
    if (!irc && nids)
        auto_halt(s, c, ids.ptr);
    res->accepted = accepted;
out:
    pub_db_put(s->db, c);
    cmn_buf_release(&rows);
    cmn_buf_release(&ids);
    return rc;
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
        c = pub_db_get(s->db);
        if (!c) {
            rc = cmn_errf(eb, CMN_E_DB, "database unavailable");
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
