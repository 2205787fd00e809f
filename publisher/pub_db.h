/*
 * pub_db.h - the publisher's Postgres access: a small connection pool,
 * statements prepared once per connection (PQprepare / PQexecPrepared),
 * transactions, migrations under an advisory lock, and the text[] literal
 * encoder that lets one prepared INSERT ... SELECT FROM unnest(...) write a
 * whole telemetry batch in a single round trip.
 */
#ifndef PUB_DB_H
#define PUB_DB_H

#include <libpq-fe.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* Every statement the publisher runs, prepared on each pooled connection. */
enum pub_stmt {
    Q_ORG_COUNT,
    Q_ORG_INSERT,
    Q_ORG_BY_NAME,
    Q_USER_INSERT,
    Q_USER_BY_EMAIL,
    Q_MEMBER_INSERT,
    Q_USER_ROLE,
    Q_USER_DEFAULT_ORG,
    Q_APIKEY_INSERT,
    Q_APIKEY_BY_LOOKUP,
    Q_APIKEY_BY_ID,
    Q_APP_INSERT,
    Q_APP_BY_NAME,
    Q_APP_BY_ID,
    Q_APP_LIST,
    Q_APP_SET_HALT,
    Q_RKEY_INSERT,
    Q_RKEY_BY_KEYID,
    Q_RKEY_LIST,
    Q_REL_INSERT,
    Q_REL_BY_ID,
    Q_REL_LIST,
    Q_REL_SET_STATE,
    Q_REL_SET_ROLLOUT,
    Q_REL_FOR_MANIFEST,
    Q_CHAN_ENSURE,
    Q_CHAN_LOCK,
    Q_CHAN_BUMP,
    Q_CHAN_RETIRE,
    Q_CHAN_RETIRED,
    Q_REL_ARCHIVE_CHANNEL,
    Q_CHAN_PUBLISHED,
    Q_CHAN_ALL,
    Q_CHAN_EXPIRING,
    Q_CHAN_DIRTY_ALL,
    Q_AUDIT_INSERT,
    Q_AUDIT_LIST,
    Q_DEV_UPSERT,
    Q_INST_INSERT,
    Q_INST_RELEASES,
    Q_INST_COUNT,
    Q_HALT_CANDIDATES,
    Q_STATS_COUNTERS,
    Q_STATS_ACTIVE,
    Q_STATS_VERSIONS,
    Q_RKEY_REVOKE,
    Q_APIKEY_SCOPE,
    Q_APIKEY_REVOKE,
    Q_CHAN_LIST,
    /* dashboard: sessions, the signed-in user, time series, device lookup, key lists */
    Q_SESS_INSERT,
    Q_SESS_BY_HASH,
    Q_SESS_DELETE,
    Q_SESS_PURGE,
    Q_USER_BY_ID,
    Q_USER_MEMBERSHIPS,
    Q_SERIES_RELEASE,
    Q_SERIES_VERSIONS,
    Q_APP_ADOPTION,
    Q_DEV_GET,
    Q_DEV_HISTORY,
    Q_APIKEY_LIST,
    /* seed compatibility (issue 13): legacy signature opt-in, ESP device models (h_seed.c, h_esp.c) */
    Q_APP_SET_COMPAT,
    Q_APP_BY_MODEL,
    Q_RKEY_PUBLIC_ALL,
    Q_REL_SET_TARGET,
    Q_ESP_DEVICES,
    Q_ESP_STATUS,
    Q_ESP_METRICS,
    /* CodePush deployment keys (issue 13, h_codepush.c) */
    Q_CPKEY_INSERT,
    Q_CPKEY_LIST,
    Q_CPKEY_CHANNEL,
    Q_CPKEY_FIND,
    Q_CPKEY_REVOKE,
    Q_CHAN_TOUCH,
    /* publisher-built patches (issue 14 #4): patch jobs and their patches (patchjob.c, publish.c) */
    Q_PJOB_INSERT,
    Q_PJOB_DUE,
    Q_PJOB_LOCK,
    Q_PJOB_UNLOCK,
    Q_PJOB_START,
    Q_PJOB_RETRY,
    Q_PJOB_DONE,
    Q_PJOB_GET,
    Q_PATCH_INSERT,
    Q_PATCH_BASES,
    Q_PATCH_FOR_CHANNEL,
    Q__COUNT
};

struct pub_db;

struct pub_dbconn {
    PGconn *pg;
    int broken;        /* the connection failed: the pool reconnects before reuse */
    struct pub_db *db; /* owner (for reconnecting) */
};

struct pub_db;

/*
 * Connect `n` connections and prepare every statement on each. pub_db_get
 * waits at most `wait_ms` for one of them to come free.
 */
enum cmn_err pub_db_open(const char *url, int n, long wait_ms, struct pub_db **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void pub_db_free(struct pub_db *db);

/*
 * Borrow a connection; give it back with pub_db_put on the same thread.
 * Waits while all are in use, at most the pool's wait (pub_db_open), and
 * reconnects a broken one. NULL when there is none, and *why (nullable) says
 * why: CMN_E_BUSY when every connection stayed in use for the whole wait
 * (logged, counted by pub_db_timeouts) or when this thread already holds one
 * (refused at once and logged as an error: a holder waiting for a second
 * connection can wait for itself; pass it the one it holds instead),
 * CMN_E_DB when the database is down. *why is written only on failure.
 */
struct pub_dbconn *pub_db_get(struct pub_db *db, enum cmn_err *why);
void pub_db_put(struct pub_db *db, struct pub_dbconn *c);
/* The detail of pub_db_get's failure `why` into eb (a request's error message); returns the code. */
enum cmn_err pub_db_errf(enum cmn_err why, struct cmn_errbuf *eb);
/* How many pub_db_get calls found no connection free for the whole wait (for /metrics). */
unsigned long pub_db_timeouts(struct pub_db *db);

/*
 * Run a prepared statement. Returns the result (never NULL; PQclear it). A
 * connection-level failure marks the connection broken.
 */
PGresult *pub_q(struct pub_dbconn *c, enum pub_stmt s, const char *const *params);
/*
 * Prepared statement `s` with a simple command before it and/or after it
 * (NULL: none), e.g. "BEGIN" + a read, or a write + "COMMIT", in ONE round
 * trip (libpq pipeline mode) instead of two or three. Returns s's result
 * (never NULL; PQclear it; check with pub_res_ok / pub_res_state). When
 * `before` fails, s does not run; when s fails, `after` does not run; when
 * `after` fails, s's result is replaced by a failed one: so pub_res_ok says
 * whether all of them succeeded. Inside a transaction the caller rolls back
 * on failure, as after pub_q.
 */
PGresult *pub_q_around(struct pub_dbconn *c, const char *before, enum pub_stmt s, const char *const *params,
                       const char *after);
/* 1 when a result is COMMAND_OK or TUPLES_OK. */
int pub_res_ok(const PGresult *r);
/* 1 when the result failed with this SQLSTATE (e.g. "23505" unique violation). */
int pub_res_state(const PGresult *r, const char *sqlstate);
/* Run simple SQL without parameters; CMN_E_DB on failure. */
enum cmn_err pub_exec_simple(struct pub_dbconn *c, const char *sql);
enum cmn_err pub_tx_begin(struct pub_dbconn *c) __attribute__((warn_unused_result));
enum cmn_err pub_tx_commit(struct pub_dbconn *c) __attribute__((warn_unused_result));
void pub_tx_rollback(struct pub_dbconn *c);

/* Apply pending migrations (schema_migrations, pg_advisory_lock). `applied` (nullable) gets how many. */
enum cmn_err pub_db_migrate(PGconn *pg, int *applied, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Append a Postgres array literal element (quoted, escaped) or NULL; call with first=1 for the first. */
enum cmn_err pub_pgarr_add(struct cmn_buf *b, const char *s, int first) __attribute__((warn_unused_result));

/* A cell as text ("" for NULL) / as int64 (0 for NULL). */
const char *pub_cell(const PGresult *r, int row, int col);
int64_t pub_cell_i64(const PGresult *r, int row, int col);

#endif
