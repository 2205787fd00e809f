/*
 * pub_http.h - the publisher's transport layer: one HTTP request as the
 * handlers see it (http.c fills it in from libmicrohttpd), the reply, the
 * reply helpers (reply.c), and the route table format http.c dispatches on.
 * The table itself belongs to the handlers (routes.c); main.c hands it to
 * pub_http_start, so the transport never names a handler. Layers: pub_core.h.
 */
#ifndef PUB_HTTP_H
#define PUB_HTTP_H

#include <jansson.h>
#include <microhttpd.h>

#include "common/buf.h"
#include "common/storage.h"
#include "pub_core.h"

#define PUB_MAX_SEGS 8

/* ---- replies (reply.c) ---- */

struct pub_resp {
    int status;
    json_t *json; /* body as JSON (stolen), or */
    char *raw;    /* raw body (malloc'd) */
    size_t raw_len;
    const char *ctype; /* for raw */
    char etag[CMN_ETAG_MAX + 2];
    long retry_after; /* > 0: Retry-After header */
    const char *cache_control;
    char set_cookie[256]; /* a Set-Cookie header value (dashboard sign-in / sign-out), "" for none */
};

/* An error body {"error":{"code","message"}} with a status. Returns 0 for chaining. */
int pub_err(struct pub_resp *out, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pub_json_reply(struct pub_resp *out, int status, json_t *body);
/* Map a cmn_err to an HTTP error reply (CMN_E_BUSY: 503 database_busy with Retry-After). */
int pub_err_from(struct pub_resp *out, enum cmn_err rc, const struct cmn_errbuf *eb);
/*
 * Borrow a pooled connection (pub_db_get) for a request, or NULL with the
 * 503 in `out`: database_busy when every connection stayed in use for
 * HOTPATCH_DB_WAIT, database_unavailable when the database is down. Give it
 * back with pub_db_put before anything else takes one (docs/publisher.md,
 * "Database connections").
 */
struct pub_dbconn *pub_reply_db(struct pub_srv *s, struct pub_resp *out);

/* ---- requests ---- */

enum pub_body_kind {
    PUB_BODY_NONE = 0,  /* no body expected (a body is read and ignored up to the JSON cap) */
    PUB_BODY_JSON,      /* admin JSON, capped by max_json */
    PUB_BODY_TELEMETRY, /* device JSON batches, capped by max_telemetry */
    PUB_BODY_UPLOAD,    /* multipart release upload, streamed through the router's stream ops */
};

struct pub_route;

struct pub_req {
    struct MHD_Connection *conn;
    char method[12];
    char *path; /* split in place into segs */
    char *url;  /* the request target as received, for logs */
    char ip[64];
    char *segs[PUB_MAX_SEGS]; /* path split on '/', e.g. {"v1","releases","r1","rollout"} */
    int nsegs;
    const struct pub_route *route; /* the table line that matched */
    enum pub_body_kind body_kind;
    struct cmn_buf body;
    int body_error;        /* 413 / 415 decided while reading the body */
    struct pub_resp early; /* a reply decided before the body ended */
    int have_early;
    int early_queued;
    uint64_t received;
    struct pub_principal who;
    int authed;
    void *stream; /* state of a streamed body (PUB_BODY_UPLOAD), freed by the stream ops */
    double t0;
};

/* Header / query argument, NULL when absent (borrowed from MHD, valid during the request). */
const char *pub_req_header(struct pub_req *r, const char *name);
const char *pub_req_query(struct pub_req *r, const char *name);
/* A cookie's value (MHD parses the Cookie header), NULL when absent; borrowed like the above. */
const char *pub_req_cookie(struct pub_req *r, const char *name);
/*
 * Did a browser send this request from the server's own origin? Origin must
 * match (HOTPATCH_PUBLIC_URL, else the Host header); without an Origin
 * header, Sec-Fetch-Site must be same-origin. 1 when it did (http.c).
 */
int pub_req_same_origin(struct pub_srv *s, struct pub_req *r);

/* ---- the route table ---- */

/* A handler: `c` is a pooled connection for PUB_RF_DB routes (returned by the dispatcher), else NULL. */
typedef void (*pub_handler_fn)(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out);

/*
 * Take a pooled connection before the handler runs (503 when none). Such a
 * handler must not call anything that takes another one (the telemetry
 * ingest, pub_release_new, pub_reply_db...): pub_db_get refuses a thread
 * that already holds one. A handler that needs the database only around such
 * a call takes no flag and borrows its own connection for the rest
 * (h_seed.c's POST /installations). docs/publisher.md, "Database connections".
 */
#define PUB_RF_DB 1u

struct pub_route {
    const char *method;  /* "GET" (also answers HEAD), "POST", "PATCH", "DELETE" */
    const char *pattern; /* "/v1/apps/:app/keys": literal segments, ":name" matches any one segment */
    pub_handler_fn handler;
    /*
     * PUB_ROLE_NONE: public, no credentials. Otherwise a Bearer API key or
     * token is required before the body is read, and the handler asks for
     * this role on the resource it acts on (the app or release of the path,
     * the org for org-wide routes) through the h_common.c helpers.
     */
    int role;
    enum pub_body_kind body;
    unsigned flags; /* PUB_RF_* */
};

/* How a streamed body (PUB_BODY_UPLOAD) is consumed. */
struct pub_stream_ops {
    /* At header time; non-zero when `out` holds a refusal. Sets r->stream. */
    int (*begin)(struct pub_srv *s, struct pub_req *r, struct pub_resp *out);
    /* Each chunk; non-zero when the upload has failed (out holds the reply). */
    int (*feed)(struct pub_srv *s, struct pub_req *r, const char *p, size_t n, struct pub_resp *out);
    /* Free r->stream (also after a handler ran, or when the client went away). */
    void (*release)(struct pub_req *r);
};

struct pub_router {
    const struct pub_route *routes;
    size_t n;
    const struct pub_stream_ops *upload;
};

/*
 * Match r's method and path segments against the table: 0 and *out set; 404
 * when no pattern matches the path; 405 when one does but not for this method.
 */
int pub_route_find(const struct pub_router *rt, const struct pub_req *r, const struct pub_route **out);

/* ---- the server (http.c) ---- */

struct pub_http;
/* Listen on s->cfg->listen and serve `rt` (borrowed: must outlive the server). */
enum cmn_err pub_http_start(struct pub_srv *s, const struct pub_router *rt, struct pub_http **out,
                            struct cmn_errbuf *eb) __attribute__((warn_unused_result));
void pub_http_stop(struct pub_http *h);
/* The port actually bound (useful with port 0). */
int pub_http_port(const struct pub_http *h);

#endif
