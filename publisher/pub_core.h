/*
 * pub_core.h - the publisher's core: the server context every other layer
 * is handed (configuration, database pool, storage, manifest keys, metrics,
 * the fault hook and the edge-notify hook), roles and principals, and the
 * rate limiter.
 *
 * Layering (each layer calls only the ones below it; `make lint` checks it
 * with nm: mk/layers.sh, the layers listed in mk/lint.mk):
 *
 *   main.c        wires the layers: reads settings, builds the context,
 *                 installs the notify hook, hands the route table to http.c.
 *   handlers      routes.c (the one route table) and h_*.c, one file per
 *                 resource, with shared helpers in h_common.c (pub_handlers.h).
 *   transport     http.c (libmicrohttpd, matching a request against the table
 *                 it is given) and reply.c (error/JSON replies, request
 *                 accessors) (pub_http.h).
 *   domain        publish.c (signed manifests), release.c (new releases and
 *                 the release lifecycle), telemetry.c (batch ingest, auto-halt),
 *                 auth.c, session.c (dashboard sessions), jobs.c (maintenance
 *                 loop, edge notifier), jsonreq.c,
 *                 multipart.c (pub.h, pub_multipart.h).
 *   core          core.c (this header), config.c, db.c, ratelimit.c.
 *
 * Nothing below main.c calls into main.c: what library code needs from the
 * program comes through struct pub_srv. Everything but main.o is in libpub.a,
 * so the domain layer is unit-tested against a real Postgres
 * (tests/unit/publisher/domain_test.c).
 */
#ifndef PUB_CORE_H
#define PUB_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "common/crypto.h"
#include "common/err.h"
#include "common/storage.h"
#include "pub_config.h"
#include "pub_db.h"

/* ---- roles and principals ---- */

enum pub_role {
    PUB_ROLE_NONE = 0,
    PUB_ROLE_READ,
    PUB_ROLE_WRITE,
    PUB_ROLE_ADMIN,
    PUB_ROLE_OWNER,
};
const char *pub_role_name(int role);
/* -1 when unknown. */
int pub_role_parse(const char *s);

enum pub_principal_kind {
    PUB_PRINC_NONE = 0, /* anonymous */
    PUB_PRINC_USER,     /* a user (JWT from email + password) */
    PUB_PRINC_KEY,      /* an API key (directly or through a JWT) */
};

struct pub_principal {
    enum pub_principal_kind kind;
    int64_t id;     /* users.id or api_keys.id */
    int64_t org_id; /* keys: their org; users: their first org */
    int64_t app_id; /* keys scoped to one app; 0 = the whole org */
    int role;       /* keys: their role; users: resolved per request */
    int via_jwt;
    int via_session; /* a dashboard session cookie: state changes need the CSRF token and Origin */
    char actor[48];  /* "user:12" / "key:7", for audit events */
    char rl_key[48]; /* rate-limit bucket name */
};

/* ---- the server context ---- */

struct pub_metrics {
    atomic_ulong requests;
    atomic_ulong status[6]; /* by class: 1xx..5xx, index 1..5 */
    atomic_ulong rate_limited;
    atomic_ulong releases_created;
    atomic_ulong manifests_published;
    atomic_ulong manifest_publish_errors;
    atomic_ulong telemetry_events;
    atomic_ulong telemetry_batches;
    atomic_ulong telemetry_merged;  /* batches that met existing rows and went through the merge */
    atomic_ulong telemetry_grouped; /* batches committed in one transaction with others (group commit) */
    atomic_ulong devices_seen;
    atomic_ulong auto_halts;
    atomic_ulong edge_notifies;
    atomic_ulong edge_notify_errors;
    atomic_ulong upload_bytes;
    atomic_ulong patches_built;    /* patches listed by finished patch jobs */
    atomic_ulong patch_job_errors; /* patch job attempts that failed (retried or given up) */
};

struct pub_rl;
struct pub_srv;

/* Called after a manifest was written (from the writer's thread; must not block). */
typedef void (*pub_notify_fn)(struct pub_srv *s, void *arg);

#define PUB_MAX_TICKET_KEYS 8

/* How long a telemetry store about to start waits for batches still being decoded (telemetry.c). */
#define PUB_IG_GATHER_NS 2000000L /* 2 ms */

struct pub_srv {
    struct pub_config *cfg;  /* borrowed: outlives the context */
    struct pub_db *db;       /* owned once set: pub_srv_release frees it */
    struct cmn_key mkeys[2]; /* manifest signing keys: [0] HOTPATCH_MANIFEST_KEY, [1] HOTPATCH_MANIFEST_KEY_NEXT */
    size_t n_mkeys;          /* 1, or 2 while a key rotation co-signs */
    struct cmn_key tkeys[PUB_MAX_TICKET_KEYS]; /* edge ticket public keys (HOTPATCH_TICKET_KEYS) */
    size_t n_tkeys;
    struct pub_rl *rl_ip;
    struct pub_rl *rl_key;
    struct pub_metrics m;
    const char *fault; /* HOTPATCH_FAULT test hook, NULL normally */
    time_t started;

    /* injected by the wirer (main.c: jobs.c's pub_notify_edges); NULL: nobody is told */
    pub_notify_fn notify;
    void *notify_arg;

    /* background: re-sign/reconcile loop and the edge notifier (jobs.c) */
    pthread_t job_thread, notify_thread;
    int threads_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int notify_pending;

    /* the patch worker (jobs.c runs patchjob.c's jobs): woken by pub_patch_kick */
    pthread_t patch_thread;
    int patch_started;
    int patch_pending;

    /*
     * telemetry group commit (telemetry.c): installation batches that arrive
     * while one is being stored queue here and are then stored together, in
     * one COPY and one transaction
     */
    pthread_mutex_t ig_mu;
    pthread_cond_t ig_cv;
    struct pub_ig_member *ig_queue; /* waiting batches, oldest first */
    size_t ig_waiting;              /* batches in ig_queue */
    int ig_busy;                    /* a batch or group is being stored */
    int ig_hold;                    /* tests (pub_ingest_hold): no batch starts while set */
    int ig_arriving;                /* installation requests being decoded, not queued yet */
    long ig_gather_ns;              /* how long a store waits for them: PUB_IG_GATHER_NS (tests change it) */
};

/*
 * Initialise a context over `cfg` (borrowed): the clock, the lock and
 * condition the background jobs use, the fault hook (`fault`, borrowed; NULL
 * or "" for none). Nothing else is opened.
 */
void pub_srv_init(struct pub_srv *s, struct pub_config *cfg, const char *fault);
/*
 * Load cfg->manifest_key (and manifest_key_next when set) and parse
 * cfg->ticket_keys (public keys only). Messages name the key file or key.
 */
enum cmn_err pub_srv_load_keys(struct pub_srv *s, struct cmn_errbuf *eb) __attribute__((warn_unused_result));
/* Wipe the keys, free the pool and the rate limiters, destroy the lock. Not the config. */
void pub_srv_release(struct pub_srv *s);

/* Open a storage handle for one operation (cheap; handles are not shared between threads). */
enum cmn_err pub_storage_open(struct pub_srv *s, struct cmn_storage **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/*
 * HOTPATCH_FAULT test hook: _exit(99) when the named fault point is reached;
 * with "<point>:hang" the calling thread blocks there for good instead (the
 * test then kills the process with SIGKILL at that point).
 */
void pub_fault(struct pub_srv *s, const char *point);

/* Install the hook pub_notify calls (NULL removes it). */
void pub_srv_set_notify(struct pub_srv *s, pub_notify_fn fn, void *arg);
/* Tell whoever was installed that a manifest changed. */
void pub_notify(struct pub_srv *s);

/* ---- rate limiting (ratelimit.c) ---- */

/* Token buckets by name: `rate` tokens per second, at most `burst`. */
struct pub_rl *pub_rl_new(double rate, double burst, size_t max_entries);
void pub_rl_free(struct pub_rl *rl);
/* 0 when allowed; else the seconds to wait (>= 1) for the Retry-After header. */
long pub_rl_take(struct pub_rl *rl, const char *name, double now);

#endif
