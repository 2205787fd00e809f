/*
 * loop.c - the edge's HTTP/1.1 server: a hand-written epoll loop in the
 * spirit of redis's ae.c, one per worker thread.
 *
 * Each worker owns a listening socket bound with SO_REUSEPORT (the kernel
 * spreads new connections across them), an epoll set, its connections and
 * one request context (LMDB read transaction, view storage, response
 * scratch). Nothing is shared between workers but the LMDB environment and
 * the metrics registry, so there are no locks on the request path.
 *
 * Connections are registered once, edge-triggered (as nginx does), so idle
 * sockets are never re-polled and no epoll_ctl is needed per state change.
 * Readable: read into the worker's buffer, answer every complete request in
 * it (pipelining) into the worker's output buffer, write. Only leftovers
 * (half a request, output the socket refused) go to per-connection heap
 * buffers. When the socket cannot take everything, the connection stops
 * reading until the EPOLLOUT edge says it drained (back-pressure on a client
 * that pipelines faster than it reads). Heads are
 * capped at EDGE_HEAD_MAX (431 past it), bodies up to EDGE_REQ_BODY_MAX are
 * buffered and handed to the handler whole (telemetry POSTs), larger ones are
 * read and discarded up to EDGE_BODY_MAX (413 past it), malformed requests get a 400 with a JSON reason
 * and the connection closes after it. Connections sit on a list ordered by
 * last activity; once a second the loop closes those idle past the
 * keep-alive timeout.
 *
 * Slowloris: a request must be complete (head and body) within the header
 * timeout of its FIRST byte, however often more bytes trickle in. Connections
 * with a request in progress sit on a second list in the order their request
 * began (one timeout for all, so that is deadline order) and the sweep closes
 * the overdue ones from its head. Each client address may hold at most
 * --max-conns-per-ip connections across all workers (a table shared by the
 * workers, under a mutex taken once per accept and once per close), so one
 * host cannot take every slot.
 */
#include "common/compat.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "edge.h"

#define EDGE_IN_CAP 16384
#define EDGE_HEAD_MAX 8192
#define EDGE_BODY_MAX 65536
#define EDGE_MAX_HEADERS 64
#define EDGE_OUT_MAX ((size_t)16 << 20)
#define EDGE_OUT_HIGH_WATER ((size_t)1 << 20)
#define EDGE_EVENTS 256

/*
 * A connection owns no buffer while it is idle: reads land in the worker's
 * buffer and responses are built in the worker's output buffer. Only what is
 * left over (a request cut in the middle, a response the socket did not take)
 * is copied into per-connection heap buffers, freed once drained. This keeps
 * the working set of thousands of keep-alive connections small.
 */
struct conn {
    int fd;
    int close_after;          /* close once the output is flushed */
    int out_wait;             /* waiting for EPOLLOUT */
    struct conn *prev, *next; /* activity list, oldest first */
    int64_t last_ms;
    struct conn *rprev, *rnext; /* requests-in-progress list, oldest request first */
    int on_rlist;
    int req_done;         /* a request completed since the last req_track() */
    int64_t req_start_ms; /* first byte of the request in progress */
    uint32_t peer;        /* client IPv4 address (network order), for the per-address cap */
    char *in;             /* pending partial input, EDGE_IN_CAP bytes, or NULL */
    size_t in_len, last_len;
    size_t body_left; /* request body bytes still to discard */
    char *out;        /* output the socket did not take yet, or NULL */
    size_t out_off, out_len;
};

/* Open connections per client address, shared by the workers: linear probing, n == 0 is an empty slot. */
struct ipcap {
    pthread_mutex_t mu;
    size_t mask;
    uint32_t limit;
    struct ipslot {
        uint32_t addr;
        uint32_t n;
    } * t;
};

struct worker {
    int id;
    int lfd[EDGE_MAX_LISTEN]; /* one per --listen address, SO_REUSEPORT across workers */
    int nl;
    int epfd;
    struct ipcap *ipcap;
    struct conn *rhead, *rtail;
    const struct edge_config *cfg;
    struct edge_ctx ctx;
    struct edge_resp *rs;
    struct conn *head, *tail;
    size_t nconns;
    time_t date_t;
    char date[40];
    size_t date_len;
    int64_t now_ms;
    volatile int *stop;
    pthread_t th;
    char *wout; /* responses being built for the current connection */
    size_t wout_len, wout_alloc;
    char rbuf[EDGE_IN_CAP];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* RFC 9110 IMF-fixdate, refreshed once a second (gmtime_r: gmtime is banned). */
static void update_date(struct worker *w)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time(NULL);
    if (t == w->date_t)
        return;
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(w->date, sizeof(w->date), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    w->date_len = n > 0 ? (size_t)n : 0;
    w->date_t = t;
}

/* ---- activity list ---- */

static void list_unlink(struct worker *w, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        w->tail = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(struct worker *w, struct conn *c)
{
    c->prev = w->tail;
    c->next = NULL;
    if (w->tail)
        w->tail->next = c;
    else
        w->head = c;
    w->tail = c;
}

static void touch(struct worker *w, struct conn *c)
{
    c->last_ms = w->now_ms;
    if (w->tail != c) {
        list_unlink(w, c);
        list_append(w, c);
    }
}

/* ---- per-address cap ---- */

static size_t ip_slot(const struct ipcap *ip, uint32_t addr)
{
    uint32_t h = addr;
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h & ip->mask;
}

/* Count one more connection from addr; -1 (nothing counted) when it already has its share. */
static int ipcap_take(struct ipcap *ip, uint32_t addr)
{
    int rc = 0;
    pthread_mutex_lock(&ip->mu);
    size_t i = ip_slot(ip, addr);
    while (ip->t[i].n && ip->t[i].addr != addr)
        i = (i + 1) & ip->mask;
    if (ip->t[i].n >= ip->limit) {
        rc = -1;
    } else {
        ip->t[i].addr = addr;
        ip->t[i].n++;
    }
    pthread_mutex_unlock(&ip->mu);
    return rc;
}

/* One connection from addr closed. Emptied slots are filled by backward shifting (no tombstones). */
static void ipcap_put(struct ipcap *ip, uint32_t addr)
{
    pthread_mutex_lock(&ip->mu);
    size_t i = ip_slot(ip, addr);
    while (ip->t[i].n && ip->t[i].addr != addr)
        i = (i + 1) & ip->mask;
    if (ip->t[i].n && --ip->t[i].n == 0) {
        size_t j = i;
        for (;;) {
            j = (j + 1) & ip->mask;
            if (!ip->t[j].n)
                break;
            size_t k = ip_slot(ip, ip->t[j].addr);
            /* leave t[j] where it is when its home k lies cyclically in (i, j] */
            int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
            if (!stays) {
                ip->t[i] = ip->t[j];
                ip->t[j].n = 0;
                i = j;
            }
        }
    }
    pthread_mutex_unlock(&ip->mu);
}

/* ---- requests in progress (slowloris deadline) ---- */

static void rlist_unlink(struct worker *w, struct conn *c)
{
    if (!c->on_rlist)
        return;
    if (c->rprev)
        c->rprev->rnext = c->rnext;
    else
        w->rhead = c->rnext;
    if (c->rnext)
        c->rnext->rprev = c->rprev;
    else
        w->rtail = c->rprev;
    c->rprev = c->rnext = NULL;
    c->on_rlist = 0;
}

/* After input was handled: start, keep or end the deadline of the request in progress. */
static void req_track(struct worker *w, struct conn *c)
{
    int partial = c->in_len > 0 || c->body_left > 0;
    if (c->req_done)
        rlist_unlink(w, c); /* a request completed: whatever is left is a new one */
    c->req_done = 0;
    if (partial && !c->on_rlist) {
        c->req_start_ms = w->now_ms;
        c->rprev = w->rtail;
        c->rnext = NULL;
        if (w->rtail)
            w->rtail->rnext = c;
        else
            w->rhead = c;
        w->rtail = c;
        c->on_rlist = 1;
    } else if (!partial) {
        rlist_unlink(w, c);
    }
}

static void conn_close(struct worker *w, struct conn *c)
{
    list_unlink(w, c);
    rlist_unlink(w, c);
    ipcap_put(w->ipcap, c->peer);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
    w->nconns--;
}

/* ---- output (the worker's buffer) ---- */

static int out_reserve(struct worker *w, size_t n)
{
    if (n <= w->wout_alloc - w->wout_len)
        return 0;
    size_t need = w->wout_len + n;
    if (need > EDGE_OUT_MAX)
        return -1;
    size_t a = w->wout_alloc ? w->wout_alloc : 65536;
    while (a < need)
        a *= 2;
    char *p = realloc(w->wout, a);
    if (!p)
        return -1;
    w->wout = p;
    w->wout_alloc = a;
    return 0;
}

static void put(struct worker *w, const char *s, size_t n)
{
    memcpy(w->wout + w->wout_len, s, n);
    w->wout_len += n;
}

#define PUTL(w, lit) put((w), (lit), sizeof(lit) - 1)

static void put_u(struct worker *w, uint64_t v)
{
    char t[24];
    size_t i = sizeof(t);
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, t + i, sizeof(t) - i);
}

/* Serialise a response. Returns -1 when it cannot be buffered (the connection then closes). */
static int emit(struct worker *w, const struct edge_resp *rs, int keep_alive, int http10)
{
    size_t hl = 160 + w->date_len;
    for (int i = 0; i < rs->nh; i++)
        hl += strlen(rs->h[i].name) + rs->h[i].len + 4;
    int has_body = rs->status != 204 && rs->status != 304;
    size_t bl = has_body && !rs->head_only ? rs->body_len : 0;
    if (out_reserve(w, hl + bl))
        return -1;
    const char *reason = edge_status_text(rs->status);
    PUTL(w, "HTTP/1.1 ");
    put_u(w, (uint64_t)rs->status);
    put(w, " ", 1);
    put(w, reason, strlen(reason));
    PUTL(w, "\r\nServer: hotpatch-edge\r\nDate: ");
    put(w, w->date, w->date_len);
    if (has_body) {
        PUTL(w, "\r\nContent-Length: ");
        put_u(w, rs->body_len);
    }
    if (!keep_alive)
        PUTL(w, "\r\nConnection: close");
    else if (http10)
        PUTL(w, "\r\nConnection: keep-alive");
    for (int i = 0; i < rs->nh; i++) {
        PUTL(w, "\r\n");
        put(w, rs->h[i].name, strlen(rs->h[i].name));
        PUTL(w, ": ");
        put(w, rs->h[i].val, rs->h[i].len);
    }
    PUTL(w, "\r\n\r\n");
    if (bl)
        put(w, rs->body, bl);
    return 0;
}

/* A transport-level error: JSON reason, then close. */
static void http_error(struct worker *w, struct conn *c, int status, const char *msg)
{
    struct edge_resp *rs = w->rs;
    rs->status = status;
    rs->nh = 2;
    rs->h[0].name = "Content-Type";
    rs->h[0].val = "application/json";
    rs->h[0].len = strlen(rs->h[0].val);
    rs->h[1].name = "Cache-Control";
    rs->h[1].val = "no-store";
    rs->h[1].len = strlen(rs->h[1].val);
    int n = snprintf(rs->scratch, sizeof(rs->scratch), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                     status == 431   ? "header_too_large"
                     : status == 413 ? "body_too_large"
                                     : "bad_request",
                     msg);
    rs->body = rs->scratch;
    rs->body_len = (size_t)n;
    rs->head_only = 0;
    __atomic_fetch_add(&w->ctx.mx->bad_http, 1, __ATOMIC_RELAXED);
    emit(w, rs, 0, 0);
    c->close_after = 1;
    c->body_left = 0;
}

/*
 * Answer the complete requests at the start of buf[0..len), appending the
 * responses to the worker's output. Returns the bytes consumed; *again is set
 * when it stopped only because the output reached the high-water mark.
 */
static size_t process(struct worker *w, struct conn *c, const char *buf, size_t len, int *again)
{
    struct cmn_http1_header hdrs[EDGE_MAX_HEADERS];
    size_t off = 0;
    *again = 0;
    while (off < len && !c->close_after) {
        if (w->wout_len > EDGE_OUT_HIGH_WATER) {
            *again = 1; /* let the client read first */
            break;
        }
        if (c->body_left) {
            size_t k = len - off < c->body_left ? len - off : c->body_left;
            off += k;
            c->body_left -= k;
            if (!c->body_left)
                c->req_done = 1;
            continue;
        }
        struct cmn_http1_request req;
        int rc = cmn_http1_parse_request(buf + off, len - off, c->last_len, &req, hdrs, EDGE_MAX_HEADERS);
        if (rc == -2) {
            if (len - off >= EDGE_HEAD_MAX) {
                http_error(w, c, 431, "request head larger than 8 KiB");
                return len;
            }
            c->last_len = len - off;
            break;
        }
        c->last_len = 0;
        if (rc == -3) {
            http_error(w, c, 431, "more than 64 header fields");
            return len;
        }
        if (rc < 0) {
            http_error(w, c, 400, "malformed HTTP request");
            return len;
        }
        if ((size_t)rc > EDGE_HEAD_MAX) {
            http_error(w, c, 431, "request head larger than 8 KiB");
            return len;
        }
        uint64_t t0 = mono_ns();
        struct edge_reqin in;
        memset(&in, 0, sizeof(in));
        in.method = req.method;
        in.path = req.path;
        in.query = req.query;
        long long clen = 0;
        int te = 0, bad_cl = 0, n_cl = 0, n_host = 0;
        for (size_t i = 0; i < req.num_headers; i++) {
            struct cmn_slice nm = req.headers[i].name;
            if (nm.n == 13 && cmn_slice_ieq(nm, "authorization")) {
                in.authorization = req.headers[i].value;
            } else if (nm.n == 13 && cmn_slice_ieq(nm, "if-none-match")) {
                in.if_none_match = req.headers[i].value;
            } else if (nm.n == 14 && cmn_slice_ieq(nm, "content-length")) {
                n_cl++;
                clen = cmn_http1_content_length(req.headers[i].value);
                if (clen < 0)
                    bad_cl = 1;
            } else if (nm.n == 17 && cmn_slice_ieq(nm, "transfer-encoding")) {
                te = 1;
            } else if (nm.n == 4 && cmn_slice_ieq(nm, "host")) {
                n_host++;
                in.host = req.headers[i].value;
            } else if (nm.n == 12 && cmn_slice_ieq(nm, "content-type")) {
                in.ctype = req.headers[i].value;
            }
        }
        in.peer = c->peer;
        if (te) {
            http_error(w, c, 400, "transfer-encoding is not supported");
            return len;
        }
        if (bad_cl || n_cl > 1) {
            http_error(w, c, 400, "invalid content-length");
            return len;
        }
        if (clen > EDGE_BODY_MAX) {
            http_error(w, c, 413, "request body larger than 64 KiB");
            return len;
        }
        /* RFC 9112 3.2: 400 for an HTTP/1.1 request without Host and for any request with two. */
        if (n_host > 1) {
            http_error(w, c, 400, "more than one Host header");
            return len;
        }
        if (n_host == 0 && req.minor_version == 1) {
            http_error(w, c, 400, "HTTP/1.1 request without a Host header");
            return len;
        }
        if (clen > 0 && clen <= EDGE_REQ_BODY_MAX) {
            /* a small body is handed to the handler whole: wait until it is all here (the head is parsed again
             * then; both fit in EDGE_IN_CAP, and the header timeout bounds the wait) */
            if (len - off - (size_t)rc < (size_t)clen)
                break;
            in.body.p = buf + off + rc;
            in.body.n = (size_t)clen;
            off += (size_t)rc + (size_t)clen;
            c->body_left = 0;
        } else {
            off += (size_t)rc;
            c->body_left = (size_t)clen; /* larger bodies are read and discarded */
            in.body_too_large = clen > 0;
        }
        if (!c->body_left)
            c->req_done = 1;
        int ka = cmn_http1_keep_alive(&req);

        enum edge_endpoint ep = edge_handle(&w->ctx, &in, w->rs);
        int erc = emit(w, w->rs, ka, req.minor_version == 0);
        edge_ctx_end(&w->ctx);
        edge_metrics_observe(w->ctx.mx, ep, mono_ns() - t0);
        if (erc) {
            cmn_warn("response too large for the output buffer; closing");
            c->close_after = 1;
            return len;
        }
        if (!ka)
            c->close_after = 1;
    }
    return off;
}

/* write(2) as much of p[0..n) as the socket takes: bytes written, or -1 on a dead socket. */
static ssize_t write_some(int fd, const char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, p + done, n - done);
        if (k > 0) {
            done += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return -1;
    }
    return (ssize_t)done;
}

/* Called when a connection has nothing left to send. Returns -1 when it was closed. */
static int drained(struct worker *w, struct conn *c)
{
    if (c->close_after) {
        /* half-close so the client reads the last response before the FIN */
        shutdown(c->fd, SHUT_WR);
        conn_close(w, c);
        return -1;
    }
    c->out_wait = 0;
    return 0;
}

/* Send the worker's output for this connection; keep what the socket refuses. -1: closed. */
static int flush_worker(struct worker *w, struct conn *c)
{
    size_t n = w->wout_len;
    w->wout_len = 0;
    ssize_t k = n ? write_some(c->fd, w->wout, n) : 0;
    if (k < 0) {
        conn_close(w, c);
        return -1;
    }
    if ((size_t)k < n) {
        c->out = malloc(n - (size_t)k);
        if (!c->out) {
            conn_close(w, c);
            return -1;
        }
        memcpy(c->out, w->wout + k, n - (size_t)k);
        c->out_off = 0;
        c->out_len = n - (size_t)k;
        c->out_wait = 1; /* the EPOLLOUT edge comes when the socket has room again */
        return 0;
    }
    return drained(w, c);
}

/*
 * Answer what buf[0..len) holds (buf is the worker's read buffer or c->in),
 * then keep the rest. Returns -1 when the connection was closed.
 */
static int serve_buffer(struct worker *w, struct conn *c, char *buf, size_t len)
{
    size_t off = 0;
    int again;
    for (;;) {
        off += process(w, c, buf + off, len - off, &again);
        int closing = c->close_after;
        if (flush_worker(w, c) < 0)
            return -1;
        if (closing || !again || c->out_wait)
            break;
    }
    size_t left = len - off;
    if (left == 0 || c->close_after) {
        CMN_SAFEFREE(c->in);
        c->in_len = 0;
        c->last_len = 0;
        req_track(w, c);
        return 0;
    }
    if (buf != c->in) {
        if (!c->in && !(c->in = malloc(EDGE_IN_CAP))) {
            conn_close(w, c);
            return -1;
        }
        memcpy(c->in, buf + off, left);
    } else if (off) {
        memmove(c->in, c->in + off, left);
    }
    c->in_len = left;
    req_track(w, c);
    return 0;
}

/*
 * Edge-triggered reading: an EPOLLIN edge promises nothing about later data,
 * so read until the socket is known to be empty. A read shorter than the
 * room offered means it was (data arriving later raises a new edge); a full
 * read means there may be more. After the peer's FIN (EPOLLRDHUP) keep
 * reading until read(2) says 0, since no further edge will come. While
 * output is pending (back-pressure) nothing is read; on_writable resumes.
 */
static void on_readable(struct worker *w, struct conn *c, int rdhup)
{
    for (;;) {
        if (c->out_wait)
            return;
        char *buf = c->in_len ? c->in : w->rbuf;
        size_t len = c->in_len;
        if (len == EDGE_IN_CAP) {
            /* a full buffer of unparsed bytes cannot be a valid head within the cap */
            http_error(w, c, 431, "request head larger than 8 KiB");
            c->in_len = 0;
            flush_worker(w, c);
            return;
        }
        size_t room = EDGE_IN_CAP - len;
        ssize_t n = read(c->fd, buf + len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            conn_close(w, c);
            return;
        }
        if (n < 0)
            return;
        touch(w, c);
        if (serve_buffer(w, c, buf, len + (size_t)n) < 0)
            return;
        if ((size_t)n < room && !rdhup)
            return;
    }
}

static void on_writable(struct worker *w, struct conn *c)
{
    touch(w, c);
    ssize_t k = write_some(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (k < 0) {
        conn_close(w, c);
        return;
    }
    c->out_off += (size_t)k;
    if (c->out_off < c->out_len)
        return;
    CMN_SAFEFREE(c->out);
    c->out_off = c->out_len = 0;
    if (drained(w, c))
        return;
    /* pipelined requests held back by the high-water mark */
    if (c->in_len && serve_buffer(w, c, c->in, c->in_len) < 0)
        return;
    /* EPOLLIN edges were ignored while paused: look for unread data now */
    on_readable(w, c, 1);
}

/*
 * The per-address cap's key: the IPv4 address (also when mapped into IPv6),
 * else the IPv6 /64 folded to 32 bits (FNV-1a) - one client usually holds a
 * whole /64, so capping single IPv6 addresses would cap nothing.
 */
static uint32_t peer_key(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
    if (sa->ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            uint32_t v4;
            memcpy(&v4, &a6->s6_addr[12], sizeof(v4));
            return v4;
        }
        uint32_t h = 2166136261u;
        for (int i = 0; i < 8; i++)
            h = (h ^ a6->s6_addr[i]) * 16777619u;
        return h;
    }
    return 0;
}

static void accept_from(struct worker *w, int lfd)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        memset(&sa, 0, sizeof(sa));
        int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                cmn_warn("accept: %s", strerror(errno));
            return;
        }
        if (w->nconns >= (size_t)w->cfg->max_conns) {
            close(fd);
            continue;
        }
        uint32_t peer = peer_key(&sa);
        if (ipcap_take(w->ipcap, peer) != 0) {
            __atomic_fetch_add(&w->ctx.mx->conns_refused_per_ip, 1, __ATOMIC_RELAXED);
            close(fd);
            continue;
        }
        struct conn *c = malloc(sizeof(*c));
        if (!c) {
            ipcap_put(w->ipcap, peer);
            close(fd);
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->peer = peer;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /* edge-triggered, registered once: no epoll_ctl per state change, no re-polling of idle sockets */
        struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            ipcap_put(w->ipcap, peer);
            close(fd);
            free(c);
            continue;
        }
        w->nconns++;
        c->last_ms = w->now_ms;
        list_append(w, c);
        __atomic_fetch_add(&w->ctx.mx->conns_accepted, 1, __ATOMIC_RELAXED);
    }
}

/* A listening socket is readable (they share the NULL tag): drain every one of this worker's. */
static void accept_all(struct worker *w)
{
    for (int k = 0; k < w->nl; k++)
        accept_from(w, w->lfd[k]);
}

/*
 * Close connections idle past the keep-alive timeout, and those whose request
 * is not complete within the header timeout of its first byte (however many
 * bytes trickled in since: the activity list alone would let a slowloris
 * client renew its slot forever).
 */
static void sweep(struct worker *w)
{
    int64_t idle = (int64_t)w->cfg->idle_timeout_s * 1000, head = (int64_t)w->cfg->header_timeout_s * 1000;
    int64_t shortest = idle < head ? idle : head;
    struct conn *c = w->head;
    while (c && w->now_ms - c->last_ms >= shortest) {
        struct conn *next = c->next;
        int64_t age = w->now_ms - c->last_ms;
        int partial = c->in_len > 0 || c->body_left;
        if (age >= idle || (partial && age >= head) || (c->out_wait && age >= idle)) {
            __atomic_fetch_add(&w->ctx.mx->conns_timed_out, 1, __ATOMIC_RELAXED);
            conn_close(w, c);
        }
        c = next;
    }
    while (w->rhead && w->now_ms - w->rhead->req_start_ms >= head) {
        __atomic_fetch_add(&w->ctx.mx->conns_timed_out, 1, __ATOMIC_RELAXED);
        conn_close(w, w->rhead);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[EDGE_EVENTS];
    int64_t last_sweep = 0;
    while (!*w->stop) {
        int n = epoll_wait(w->epfd, evs, EDGE_EVENTS, 500);
        w->now_ms = mono_ms();
        update_date(w);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                accept_all(w);
                continue;
            }
            uint32_t ev = evs[i].events;
            if (ev & EPOLLERR) {
                conn_close(w, c);
                continue;
            }
            if (c->out_wait) {
                if (ev & (EPOLLOUT | EPOLLHUP))
                    on_writable(w, c); /* resumes reading when drained */
            } else if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) {
                on_readable(w, c, (ev & (EPOLLRDHUP | EPOLLHUP)) != 0);
            }
        }
        if (w->now_ms - last_sweep >= 1000) {
            sweep(w);
            last_sweep = w->now_ms;
        }
    }
    while (w->head)
        conn_close(w, w->head);
    return NULL;
}

/* host is an IPv4 or IPv6 literal; an IPv6 socket is IPv6-only, so "::" and "0.0.0.0" can both be listened on. */
static int listen_socket(const char *host, int port, int *bound_port, struct cmn_errbuf *eb)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int family;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        family = s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        family = s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        sl = sizeof(*s6);
    } else {
        cmn_errf(eb, CMN_E_INVAL, "invalid listen address '%s' (want an IPv4 or IPv6 address)", host);
        return -1;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cmn_errf(eb, CMN_E_IO, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if ((family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
        listen(fd, 4096) != 0) {
        cmn_errf(eb, CMN_E_IO, family == AF_INET6 ? "cannot listen on [%s]:%d: %s" : "cannot listen on %s:%d: %s", host,
                 port, strerror(errno));
        close(fd);
        return -1;
    }
    sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound_port = ntohs(family == AF_INET6 ? s6->sin6_port : s4->sin_port);
    return fd;
}

enum cmn_err edge_serve(const struct edge_config *cfg, struct edge_index *ix, struct edge_sync_state *ss,
                        uint64_t (*trigger)(void *), void *trigger_arg, volatile int *stop, struct cmn_errbuf *eb)
{
    int nw = cfg->threads;
    if (nw <= 0) {
        cpu_set_t set;
        nw = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    }
    if (nw > 64)
        nw = 64;
    struct worker *ws = calloc((size_t)nw, sizeof(*ws));
    if (!ws)
        return CMN_E_NOMEM;
    /* at least twice as many slots as connections can be open: probing always ends at an empty one */
    struct ipcap ipcap;
    size_t slots = 1024;
    while (slots < (size_t)cfg->max_conns * (size_t)nw * 2)
        slots *= 2;
    memset(&ipcap, 0, sizeof(ipcap));
    pthread_mutex_init(&ipcap.mu, NULL);
    ipcap.mask = slots - 1;
    ipcap.limit = cfg->max_conns_per_ip > 0 ? (uint32_t)cfg->max_conns_per_ip : 256;
    ipcap.t = calloc(slots, sizeof(*ipcap.t));
    if (!ipcap.t) {
        free(ws);
        return CMN_E_NOMEM;
    }
    enum cmn_err rc = CMN_OK;
    struct edge_listen one_listen, *ls = (struct edge_listen *)cfg->listens;
    int nls = cfg->n_listen, started = 0;
    int ports[EDGE_MAX_LISTEN];
    if (nls <= 0) { /* a caller that only set listen_host / port */
        snprintf(one_listen.host, sizeof(one_listen.host), "%s", cfg->listen_host ? cfg->listen_host : "127.0.0.1");
        one_listen.port = cfg->port;
        ls = &one_listen;
        nls = 1;
    }
    for (int k = 0; k < nls; k++)
        ports[k] = ls[k].port;
    for (int i = 0; i < nw; i++) {
        struct worker *w = &ws[i];
        w->id = i;
        w->ipcap = &ipcap;
        w->cfg = cfg;
        w->stop = stop;
        w->epfd = -1;
        for (int k = 0; k < EDGE_MAX_LISTEN; k++)
            w->lfd[k] = -1;
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd < 0) {
            rc = cmn_errf(eb, CMN_E_IO, "epoll: %s", strerror(errno));
            goto out;
        }
        for (int k = 0; k < nls; k++) {
            int bp = 0;
            w->lfd[k] = listen_socket(ls[k].host, ports[k], &bp, eb);
            if (w->lfd[k] < 0) {
                rc = CMN_E_IO;
                goto out;
            }
            w->nl = k + 1;
            ports[k] = bp; /* port 0: the others join the one the first got */
            struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
            if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd[k], &e) != 0) {
                rc = cmn_errf(eb, CMN_E_IO, "epoll: %s", strerror(errno));
                goto out;
            }
        }
        w->rs = malloc(sizeof(*w->rs));
        if (!w->rs || (rc = edge_ctx_init(&w->ctx, cfg, ix, ss)) != CMN_OK) {
            rc = CMN_E_NOMEM;
            goto out;
        }
        w->ctx.trigger = trigger;
        w->ctx.trigger_arg = trigger_arg;
        w->now_ms = mono_ms();
    }
    for (int k = 0; k < nls; k++)
        cmn_info(strchr(ls[k].host, ':') ? "listening on http://[%s]:%d with %d worker%s"
                                         : "listening on http://%s:%d with %d worker%s",
                 ls[k].host, ports[k], nw, nw == 1 ? "" : "s");
    for (int i = 0; i < nw; i++) {
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) {
            rc = cmn_errf(eb, CMN_E_NOMEM, "cannot start worker threads");
            *stop = 1;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(ws[i].th, NULL);
out:
    for (int i = 0; i < nw; i++) {
        for (int k = 0; k < ws[i].nl; k++)
            if (ws[i].lfd[k] >= 0)
                close(ws[i].lfd[k]);
        if (ws[i].epfd >= 0)
            close(ws[i].epfd);
        if (ws[i].rs) {
            edge_ctx_release(&ws[i].ctx);
            free(ws[i].rs);
        }
        free(ws[i].wout);
    }
    free(ws);
    free(ipcap.t);
    pthread_mutex_destroy(&ipcap.mu);
    return rc;
}
