/*
 * http.c - the publisher's HTTP front: libmicrohttpd with one thread per
 * connection (poll(2) inside each, never epoll: MHD 0.9.75's epoll mode stalls
 * at multiples of 128 connections). Handlers run in the connection's thread
 * and may block on Postgres or storage.
 *
 * MHD calls the access handler once with the headers, then once per body
 * chunk, then once more with no data. Everything that can be refused without
 * the body is refused on the first call (route, rate limit, authentication,
 * Content-Type, Content-Length over the cap), so a bad upload is answered
 * before its bytes are read. JSON bodies are buffered up to their cap; release
 * uploads stream through the router's stream ops (h_upload.c) into a temp file.
 *
 * Credentials: a Bearer API key or token, or (the dashboard) a session
 * cookie. A cookie-authenticated request that changes state (any method but
 * GET/HEAD) must also come from this server's own origin (Origin, or
 * Sec-Fetch-Site: same-origin when a browser sends no Origin) and carry the
 * session's CSRF token in X-CSRF-Token; both are checked here, before the
 * body is read, so no handler can forget them.
 *
 * Every reply carries the security headers the dashboard needs (a CSP with
 * no inline script, frame-ancestors 'none', nosniff, no referrer): they cost
 * nothing on JSON replies and mean no route can be served without them.
 *
 * Routing: the route table is handed in by main.c (struct pub_router, from
 * routes.c); this file matches method + path against it and calls the line's
 * handler, so adding a route never touches the transport.
 */
#include "common/compat.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/log.h"
#include "pub.h"
#include "pub_http.h"
#include "pub_session.h"

/* No inline script or style, nothing from another origin, never framed. */
#define PUB_CSP                                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "              \
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct pub_http {
    struct MHD_Daemon *d;
    struct pub_srv *s;
    const struct pub_router *rt;
    int port;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Does `pattern` ("/v1/apps/:app") match the request's path segments? */
static int pattern_match(const char *pattern, const struct pub_req *r)
{
    const char *p = pattern;
    int i = 0;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        if (i >= r->nsegs)
            return 0;
        if (p[0] != ':' && (strlen(r->segs[i]) != len || memcmp(p, r->segs[i], len) != 0))
            return 0;
        i++;
        p += len;
    }
    return i == r->nsegs;
}

int pub_route_find(const struct pub_router *rt, const struct pub_req *r, const struct pub_route **out)
{
    int path_known = 0;
    const char *m = !strcmp(r->method, "HEAD") ? "GET" : r->method;
    if (r->nsegs > PUB_MAX_SEGS)
        return 404;
    for (size_t i = 0; i < rt->n; i++) {
        const struct pub_route *e = &rt->routes[i];
        if (!pattern_match(e->pattern, r))
            continue;
        if (!strcmp(e->method, m)) {
            *out = e;
            return 0;
        }
        path_known = 1;
    }
    return path_known ? 405 : 404;
}

/* Run the matched route's handler, with a pooled connection when the route asks for one. */
static void dispatch(struct pub_srv *s, struct pub_req *r, struct pub_resp *out)
{
    const struct pub_route *e = r->route;
    if (!(e->flags & PUB_RF_DB)) {
        e->handler(s, NULL, r, out);
        return;
    }
    struct pub_dbconn *c = pub_reply_db(s, out);
    if (!c)
        return;
    e->handler(s, c, r, out);
    pub_db_put(s->db, c);
}

static void resp_clear(struct pub_resp *o)
{
    json_decref(o->json);
    free(o->raw);
    memset(o, 0, sizeof(*o));
}

static enum MHD_Result send_resp(struct pub_srv *s, struct pub_req *r, struct pub_resp *o)
{
    char *body = NULL;
    size_t len = 0;
    const char *ctype = "application/json";
    if (o->raw) {
        body = o->raw;
        len = o->raw_len;
        o->raw = NULL;
        if (o->ctype)
            ctype = o->ctype;
    } else if (o->json) {
        body = json_dumps(o->json, JSON_COMPACT);
        if (body) {
            len = strlen(body);
            /* a trailing newline keeps curl output readable */
            char *nb = realloc(body, len + 2);
            if (nb) {
                body = nb;
                body[len++] = '\n';
                body[len] = '\0';
            }
        }
    }
    if (!o->status)
        o->status = 500;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body ? body : (void *)"",
                                                                body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (len || o->json)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (o->retry_after > 0) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%ld", o->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (o->etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, o->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, o->cache_control ? o->cache_control : "no-store");
    if (o->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (o->set_cookie[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, o->set_cookie);
    MHD_add_response_header(resp, "Content-Security-Policy", PUB_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)o->status, resp);
    MHD_destroy_response(resp);
    int cls = o->status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add(&s->m.status[cls], 1);
    if (o->status == 429)
        atomic_fetch_add(&s->m.rate_limited, 1);
    double ms = (now_s() - r->t0) * 1000.0;
    if (o->status >= 500)
        cmn_warn("%s %s %d %.1fms %s", r->method, r->url, o->status, ms, r->ip);
    else
        cmn_debug("%s %s %d %.1fms %s", r->method, r->url, o->status, ms, r->ip);
    resp_clear(o);
    return ret;
}

static void split_path(struct pub_req *r)
{
    char *p = r->path;
    r->nsegs = 0;
    while (*p) {
        while (*p == '/')
            *p++ = '\0';
        if (!*p)
            break;
        if (r->nsegs == PUB_MAX_SEGS) {
            r->nsegs = PUB_MAX_SEGS + 1; /* too deep: no route matches */
            return;
        }
        r->segs[r->nsegs++] = p;
        while (*p && *p != '/')
            p++;
    }
}

static void client_ip(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, cap, "unknown");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)cap);
}

static int content_type_is_json(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    static const char j[] = "application/json";
    if (strncasecmp(ct, j, sizeof(j) - 1) != 0)
        return 0;
    char c = ct[sizeof(j) - 1];
    return c == '\0' || c == ';' || c == ' ';
}

int pub_req_same_origin(struct pub_srv *s, struct pub_req *r)
{
    const char *origin = pub_req_header(r, "Origin");
    if (origin)
        return pub_origin_ok(origin, pub_req_header(r, MHD_HTTP_HEADER_HOST), s->cfg->public_url);
    /* no Origin: only a browser's own same-origin navigation/fetch says so (Fetch Metadata) */
    const char *site = pub_req_header(r, "Sec-Fetch-Site");
    return site && !strcmp(site, "same-origin");
}

/* A cookie-authenticated state change from another origin: 403 (1 when refused). */
static int check_same_origin(struct pub_srv *s, struct pub_req *r, struct pub_resp *o)
{
    if (pub_req_same_origin(s, r))
        return 0;
    cmn_info("refused a cross-origin %s %s from %s (Origin: %s)", r->method, r->url, r->ip,
             pub_req_header(r, "Origin") ? pub_req_header(r, "Origin") : "none");
    return !pub_err(o, 403, "cross_origin", "this request did not come from the dashboard's own origin");
}

/* A cookie-authenticated state change must echo the session's CSRF token (1 when refused). */
static int check_csrf(struct pub_req *r, const char *want, struct pub_resp *o)
{
    if (pub_csrf_equal(want, pub_req_header(r, "X-CSRF-Token")))
        return 0;
    return !pub_err(o, 403, "csrf", "missing or wrong X-CSRF-Token (reload the dashboard)");
}

/* Everything decided from the headers alone. Returns 1 when an early reply is set. */
static int first_call(struct pub_http *h, struct pub_req *r)
{
    struct pub_srv *s = h->s;
    struct pub_resp *o = &r->early;
    long wait = pub_rl_take(s->rl_ip, r->ip, now_s());
    if (wait > 0) {
        o->retry_after = wait;
        return !pub_err(o, 429, "rate_limited", "too many requests from %s", r->ip);
    }
    const struct pub_route *route = NULL;
    int rc = pub_route_find(h->rt, r, &route);
    if (rc == 404)
        return !pub_err(o, 404, "not_found", "no such endpoint: %s %s", r->method, r->url);
    if (rc == 405)
        return !pub_err(o, 405, "method_not_allowed", "method %s not allowed here", r->method);
    r->route = route;
    r->body_kind = route->body;
    if (route->role > PUB_ROLE_NONE) {
        const char *authz = pub_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
        /* seed 002's admin clients send the API key as X-API-Key (docs/compatibility.md) */
        const char *xkey = authz ? NULL : pub_req_header(r, "X-API-Key");
        const char *cookie = authz || xkey ? NULL : pub_req_cookie(r, PUB_SESSION_COOKIE);
        if (!authz && !xkey && !cookie)
            return !pub_err(o, 401, "unauthorized", "missing Authorization: Bearer <api key or token> (or X-API-Key)");
        struct pub_dbconn *c = pub_reply_db(s, o);
        if (!c)
            return 1;
        struct cmn_errbuf eb = {0};
        char csrf[PUB_CSRF_MAX] = "";
        enum cmn_err e = authz  ? pub_auth_bearer(s, c, authz, &r->who, &eb)
                         : xkey ? pub_auth_apikey(c, xkey, &r->who)
                                : pub_auth_session(c, cookie, &r->who, csrf, &eb);
        if (xkey && e && e != CMN_E_DB)
            e = cmn_errf(&eb, CMN_E_DENIED, "invalid or revoked X-API-Key");
        pub_db_put(s->db, c);
        if (e == CMN_E_DB)
            return !pub_err(o, 503, "database_unavailable", "database unavailable");
        if (e)
            return !pub_err(o, 401, "unauthorized", "%s", cmn_errmsg(&eb, e));
        if (r->who.via_session && strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
            int refused = check_same_origin(s, r, o) || check_csrf(r, csrf, o);
            cmn_wipe(csrf, sizeof(csrf));
            if (refused)
                return 1;
        }
        cmn_wipe(csrf, sizeof(csrf));
        r->authed = 1;
        wait = pub_rl_take(s->rl_key, r->who.rl_key, now_s());
        if (wait > 0) {
            o->retry_after = wait;
            return !pub_err(o, 429, "rate_limited", "too many requests for this key");
        }
    }
    const char *cl = pub_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long clen = cl ? strtoull(cl, NULL, 10) : 0;
    const char *ct = pub_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    switch (r->body_kind) {
    case PUB_BODY_UPLOAD:
        /* the multipart framing adds a little to the bundle */
        if (clen > s->cfg->max_upload + (64u << 10))
            return !pub_err(o, 413, "too_large", "upload of %llu bytes exceeds the limit of %llu bytes", clen,
                            (unsigned long long)s->cfg->max_upload);
        if (!h->rt->upload)
            return !pub_err(o, 500, "internal", "no upload handler");
        return h->rt->upload->begin(s, r, o);
    case PUB_BODY_JSON:
    case PUB_BODY_NONE:
        cmn_buf_init(&r->body, s->cfg->max_json);
        if (clen > s->cfg->max_json)
            return !pub_err(o, 413, "too_large", "request body of %llu bytes exceeds the limit of %llu bytes", clen,
                            (unsigned long long)s->cfg->max_json);
        break;
    case PUB_BODY_TELEMETRY:
        cmn_buf_init(&r->body, s->cfg->max_telemetry);
        if (clen > s->cfg->max_telemetry)
            return !pub_err(o, 413, "too_large", "batch of %llu bytes exceeds the limit of %llu bytes", clen,
                            (unsigned long long)s->cfg->max_telemetry);
        break;
    }
    /* a JSON body must say so (an empty body may carry any Content-Type: curl sends a form type) */
    const char *te = pub_req_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    int has_body = clen > 0 || (te && *te);
    if ((r->body_kind == PUB_BODY_JSON || r->body_kind == PUB_BODY_TELEMETRY) && has_body && !content_type_is_json(ct))
        return !pub_err(o, 415, "unsupported_media_type", "Content-Type must be application/json");
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct pub_http *h = cls;
    struct pub_srv *s = h->s;
    struct pub_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->t0 = now_s();
        r->conn = conn;
        snprintf(r->method, sizeof(r->method), "%s", method);
        r->url = strdup(url);
        r->path = strdup(url);
        if (!r->url || !r->path)
            return MHD_NO;
        client_ip(conn, r->ip, sizeof(r->ip));
        atomic_fetch_add(&s->m.requests, 1);
        split_path(r); /* segments point into r->path; r->url stays whole for logs */
        r->have_early = first_call(h, r);
        if (r->have_early && r->early.status) {
            /* Refused from the headers: answer now, the body is never read. */
            r->early_queued = 1;
            return send_resp(s, r, &r->early);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->received += n;
        if (r->early_queued)
            return MHD_YES;
        if (r->have_early) {
            /* already failed: drain (bounded) so the client can read the reply */
            if (r->received > s->cfg->max_upload + (1u << 20))
                return MHD_NO;
            return MHD_YES;
        }
        if (r->body_kind == PUB_BODY_UPLOAD) {
            if (h->rt->upload->feed(s, r, upload_data, n, &r->early))
                r->have_early = 1;
        } else {
            if (cmn_buf_add(&r->body, upload_data, n)) {
                r->have_early = 1;
                pub_err(&r->early, 413, "too_large", "request body exceeds the limit of %zu bytes", r->body.cap);
            }
        }
        return MHD_YES;
    }
    if (r->early_queued)
        return MHD_YES;
    struct pub_resp out = {0};
    if (r->have_early) {
        out = r->early;
        memset(&r->early, 0, sizeof(r->early));
    } else {
        dispatch(s, r, &out);
    }
    r->early_queued = 1;
    return send_resp(s, r, &out);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct pub_http *h = cls;
    struct pub_req *r = *con_cls;
    if (!r)
        return;
    if (r->stream && h->rt->upload)
        h->rt->upload->release(r);
    resp_clear(&r->early);
    cmn_buf_release(&r->body);
    free(r->path);
    free(r->url);
    free(r);
    *con_cls = NULL;
}

enum cmn_err pub_http_start(struct pub_srv *s, const struct pub_router *rt, struct pub_http **out,
                            struct cmn_errbuf *eb)
{
    const char *listen = s->cfg->listen;
    const char *colon = strrchr(listen, ':');
    char host[256];
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof(host))
        return cmn_errf(eb, CMN_E_INVAL, "listen address too long");
    memcpy(host, listen, hl);
    host[hl] = '\0';
    int port = atoi(colon + 1);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return cmn_errf(eb, CMN_E_INVAL, "bad listen address '%s'", listen);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (!host[0] || !strcmp(host, "*"))
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (!strcmp(host, "localhost"))
            s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return cmn_errf(eb, CMN_E_INVAL, "bad listen address '%s' (want an IPv4 address, [IPv6] or localhost)",
                            listen);
    }
    struct pub_http *h = calloc(1, sizeof(*h));
    if (!h)
        return CMN_E_NOMEM;
    h->s = s;
    h->rt = rt;
    h->d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, h, MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!h->d) {
        free(h);
        return cmn_errf(eb, CMN_E_IO, "cannot listen on '%s': %s", listen, strerror(errno ? errno : EADDRINUSE));
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : port;
    *out = h;
    return CMN_OK;
}

void pub_http_stop(struct pub_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}

int pub_http_port(const struct pub_http *h)
{
    return h->port;
}
