/*
 * pub_http.h - one HTTP request as the handlers see it (http.c fills it in
 * from libmicrohttpd): method, path segments, query, headers, the client
 * address, the authenticated principal and the buffered JSON body or the
 * streaming upload state.
 */
#ifndef PUB_HTTP_H
#define PUB_HTTP_H

#include <microhttpd.h>

#include "pub.h"

#define PUB_MAX_SEGS 8

enum pub_body_kind {
    PUB_BODY_NONE = 0,  /* no body expected (a body is read and ignored up to the JSON cap) */
    PUB_BODY_JSON,      /* admin JSON, capped by max_json */
    PUB_BODY_TELEMETRY, /* device JSON batches, capped by max_telemetry */
    PUB_BODY_UPLOAD,    /* multipart release upload, streamed */
};

struct pub_upload;

struct pub_req {
    struct MHD_Connection *conn;
    char method[12];
    char *path; /* split in place into segs */
    char *url;  /* the request target as received, for logs */
    char ip[64];
    char *segs[PUB_MAX_SEGS]; /* path split on '/', e.g. {"v1","releases","r1","rollout"} */
    int nsegs;
    int route;
    enum pub_body_kind body_kind;
    struct cmn_buf body;
    int body_error;        /* 413 / 415 decided while reading the body */
    struct pub_resp early; /* a reply decided before the body ended */
    int have_early;
    int early_queued;
    uint64_t received;
    struct pub_principal who;
    int authed;
    struct pub_upload *up;
    double t0;
};

/* Header / query argument, NULL when absent (borrowed from MHD, valid during the request). */
const char *pub_req_header(struct pub_req *r, const char *name);
const char *pub_req_query(struct pub_req *r, const char *name);

/* Releases upload (release.c): called by http.c as the body streams in. */
int pub_upload_begin(struct pub_srv *s, struct pub_req *r, struct pub_resp *out);
/* Returns 0 to go on; non-zero when the upload has failed (out holds the reply). */
int pub_upload_feed(struct pub_srv *s, struct pub_req *r, const char *p, size_t n, struct pub_resp *out);
void pub_upload_free(struct pub_upload *up);
void pub_release_create(struct pub_srv *s, struct pub_req *r, struct pub_resp *out);

/* Telemetry (telemetry.c). */
void pub_h_devices(struct pub_srv *s, struct pub_req *r, struct pub_resp *out);
void pub_h_installations(struct pub_srv *s, struct pub_req *r, struct pub_resp *out);
void pub_h_stats(struct pub_srv *s, struct pub_req *r, struct pub_resp *out);

/*
 * Load a release (Q_REL_BY_ID row) and check the caller's role on its app.
 * NULL after setting the error reply (404 / 403 / 503); *org_id gets the app's org.
 */
PGresult *pub_release_authz(struct pub_dbconn *c, struct pub_req *r, const char *id, int min_role, int64_t *org_id,
                            struct pub_resp *out);

/* Routing (api.c): decide the route and what the body is, at header time. */
struct pub_route_info {
    int route;
    int auth; /* 1: a Bearer principal is required */
    enum pub_body_kind body;
};
/* 0 ok; 404 / 405 when no route matches. */
int pub_api_route(struct pub_req *r, struct pub_route_info *ri);

#endif
