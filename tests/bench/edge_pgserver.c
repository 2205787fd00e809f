/*
 * edge_pgserver.c - the "database on the hot path" reference for
 * tests/bench/bench_edge.sh: answers GET /v1/check with the same status,
 * headers and body as hotpatch-edge, but looks the channel and its releases
 * up in PostgreSQL (libpq, one prepared query per check) the way a
 * conventional API server would, instead of an LMDB index.
 *
 *   edge_pgserver PORT THREADS CONNINFO
 *
 * Each thread has its own SO_REUSEPORT listening socket, epoll set and
 * database connection (a pool of THREADS), so the comparison is about the
 * data path, not about the HTTP layer. Benchmark helper only.
 */
#include "common/compat.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cohort.h"
#include "common/http1.h"
#include "common/semver.h"

static int g_port;
static const char *g_conninfo;

struct conn {
    int fd;
    size_t in_len;
    char in[16384];
    char *out;
    size_t out_len, out_cap;
};

static const char *Q = "SELECT c.sequence, c.etag, c.envelope, r.id, r.target_binary, r.rollout_bp, r.state, "
                       "r.mandatory FROM channels c JOIN releases r USING (app, platform, channel) "
                       "WHERE app = $1 AND platform = $2 AND channel = $3 ORDER BY r.pos";

static void out_add(struct conn *c, const char *s, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 8192;
        while (cap < c->out_len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p)
            abort();
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

static void respond(struct conn *c, int status, const char *extra, const char *body, size_t blen)
{
    char h[1024];
    int n = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nServer: pg-variant\r\n%s%s", status,
                     status == 200   ? "OK"
                     : status == 204 ? "No Content"
                     : status == 404 ? "Not Found"
                                     : "Bad Request",
                     extra, "");
    out_add(c, h, (size_t)n);
    if (status != 204) {
        n = snprintf(h, sizeof(h), "Content-Length: %zu\r\n", blen);
        out_add(c, h, (size_t)n);
    }
    out_add(c, "\r\n", 2);
    if (status != 204)
        out_add(c, body, blen);
}

static void handle(PGconn *pg, struct conn *c, const struct cmn_http1_request *req)
{
    char app[80] = "", plat[80] = "", chan[80] = "", bin[80] = "", dev[256] = "", cur[80] = "";
    struct cmn_slice rest = req->query, k, v;
    while (cmn_query_next(&rest, &k, &v)) {
        char *dst = cmn_slice_eq(k, "app")              ? app
                    : cmn_slice_eq(k, "platform")       ? plat
                    : cmn_slice_eq(k, "channel")        ? chan
                    : cmn_slice_eq(k, "binary_version") ? bin
                    : cmn_slice_eq(k, "device")         ? dev
                    : cmn_slice_eq(k, "release")        ? cur
                                                        : NULL;
        if (dst && cmn_pct_decode(v, dst, dst == dev ? sizeof(dev) : 80, 1) < 0)
            dst[0] = '\0';
    }
    struct cmn_semver sv;
    if (!cmn_slice_eq(req->path, "/v1/check") || !app[0] || !dev[0] || cmn_semver_parse(bin, &sv)) {
        static const char e[] = "{\"error\":{\"code\":\"bad_request\",\"message\":\"bad parameters\"}}";
        respond(c, 400, "Content-Type: application/json\r\n", e, sizeof(e) - 1);
        return;
    }
    const char *params[3] = {app, plat, chan};
    PGresult *r = PQexecPrepared(pg, "check", 3, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
        static const char e[] = "{\"error\":{\"code\":\"not_found\",\"message\":\"unknown channel\"}}";
        respond(c, 404, "Content-Type: application/json\r\n", e, sizeof(e) - 1);
        PQclear(r);
        return;
    }
    int n = PQntuples(r), curi = -1, cand = -1, mand = 0;
    for (int i = 0; i < n; i++)
        if (cur[0] && strcmp(PQgetvalue(r, i, 3), cur) == 0)
            curi = i;
    for (int i = n - 1; i >= 0 && cand < 0; i--) {
        struct cmn_semver_range range;
        if (strcmp(PQgetvalue(r, i, 6), "active") != 0 || cmn_semver_range_parse(PQgetvalue(r, i, 4), &range) ||
            !cmn_semver_range_match(&range, &sv) ||
            !cmn_cohort_in(PQgetvalue(r, i, 3), dev, (uint32_t)atoi(PQgetvalue(r, i, 5))))
            continue;
        cand = i;
    }
    char extra[512];
    if (cand < 0 || cand <= curi) {
        snprintf(extra, sizeof(extra), "Cache-Control: private, no-store\r\nX-HotPatch-Sequence: %s\r\n",
                 PQgetvalue(r, 0, 0));
        respond(c, 204, extra, NULL, 0);
    } else {
        for (int i = curi + 1; i <= cand; i++)
            mand |= PQgetvalue(r, i, 7)[0] == 't';
        snprintf(extra, sizeof(extra),
                 "Cache-Control: private, no-store\r\nX-HotPatch-Sequence: %s\r\nContent-Type: application/json\r\n"
                 "ETag: %s\r\nX-HotPatch-Decision: update\r\nX-HotPatch-Release: %s\r\nX-HotPatch-Mandatory: %d\r\n",
                 PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, cand, 3), mand);
        respond(c, 200, extra, PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2));
    }
    PQclear(r);
}

static void *worker(void *arg)
{
    (void)arg;
    PGconn *pg = PQconnectdb(g_conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "edge_pgserver: %s", PQerrorMessage(pg));
        exit(1);
    }
    PGresult *pr = PQprepare(pg, "check", Q, 3, NULL);
    if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
        fprintf(stderr, "edge_pgserver: prepare: %s", PQerrorMessage(pg));
        exit(1);
    }
    PQclear(pr);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096)) {
        perror("edge_pgserver: bind");
        exit(1);
    }
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL}, evs[128];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    for (;;) {
        int n = epoll_wait(ep, evs, 128, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof(*c));
                    c->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            ssize_t got = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
            if (got <= 0) {
                close(c->fd);
                free(c->out);
                free(c);
                continue;
            }
            c->in_len += (size_t)got;
            size_t off = 0;
            for (;;) {
                struct cmn_http1_header hdrs[32];
                struct cmn_http1_request req;
                int rc = cmn_http1_parse_request(c->in + off, c->in_len - off, 0, &req, hdrs, 32);
                if (rc <= 0)
                    break;
                handle(pg, c, &req);
                off += (size_t)rc;
            }
            memmove(c->in, c->in + off, c->in_len - off);
            c->in_len -= off;
            size_t w = 0;
            while (w < c->out_len) { /* small answers: a blocking-ish write loop is fine for a bench */
                ssize_t k = write(c->fd, c->out + w, c->out_len - w);
                if (k <= 0)
                    break;
                w += (size_t)k;
            }
            c->out_len = 0;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: edge_pgserver PORT THREADS CONNINFO\n");
        return 2;
    }
    g_port = atoi(argv[1]);
    g_conninfo = argv[3];
    int n = atoi(argv[2]);
    pthread_t th[64];
    for (int i = 0; i < n && i < 64; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < n && i < 64; i++)
        pthread_join(th[i], NULL);
    return 0;
}
