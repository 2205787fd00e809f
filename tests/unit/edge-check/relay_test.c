/*
 * Unit tests for edge-check/relay.c: the bounded queue never blocks and counts
 * what it drops, a publisher that does not answer (a real listening socket
 * that never accepts) holds only the worker, a refused connection counts as a
 * failure, stop cancels an in-flight POST, and the per-address token bucket.
 * The relay against a real publisher is tested in
 * tests/integration/edge-check/edge_test.c (t_relay).
 */
#include "common/compat.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../edge-check/edge.h"
#include "../../lib/test.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A loopback socket that listens and never accepts: connects succeed (the kernel's backlog), answers never come. */
static int blackhole(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&a, &al))
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nothing listens on (bound then closed). */
static int closed_port(void)
{
    int p = 0, fd = blackhole(&p);
    close(fd);
    return p;
}

static struct edge_relay_stats stats(struct edge_relay *r)
{
    struct edge_relay_stats s;
    edge_relay_stats(r, &s);
    return s;
}

int main(void)
{
    struct cmn_errbuf eb = {{0}};
    struct edge_relay *r = NULL;
    char url[128];
    const char *ev = "{\"events\":[]}";

    struct edge_relay_opts bad = {.base_url = "ftp://x"};
    is_int(edge_relay_start(&r, &bad, &eb), CMN_E_INVAL, "a non-http publisher URL is refused");
    ok(strstr(eb.msg, "--publisher-url") != NULL, "the message names the option (%s)", eb.msg);
    is_int(edge_relay_enqueue(NULL, "/v1/installations", ev, strlen(ev)), EDGE_RELAY_INVAL, "no relay: INVAL");
    is_int(edge_relay_admit(NULL, 1), 0, "no relay: admit is a no-op");

    /* a publisher that never answers: the queue fills, enqueue never blocks, drops are counted */
    int port, hole = blackhole(&port);
    ok(hole >= 0, "blackhole listener on %d", port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    struct edge_relay_opts o = {.base_url = url, .queue_max = 2, .timeout_ms = 20000};
    is_int(edge_relay_start(&r, &o, &eb), CMN_OK, "relay starts");
    is_int(edge_relay_enqueue(r, "v1/installations", ev, strlen(ev)), EDGE_RELAY_INVAL, "a path without '/'");
    char *big = malloc(EDGE_RELAY_BODY_MAX + 1);
    memset(big, ' ', EDGE_RELAY_BODY_MAX + 1);
    is_int(edge_relay_enqueue(r, "/v1/installations", big, EDGE_RELAY_BODY_MAX + 1), EDGE_RELAY_INVAL,
           "a body over EDGE_RELAY_BODY_MAX");
    free(big);
    double t0 = now_s();
    int queued = 0, full = 0;
    for (int i = 0; i < 10; i++) {
        int q = edge_relay_enqueue(r, "/v1/installations", ev, strlen(ev));
        queued += q == EDGE_RELAY_QUEUED;
        full += q == EDGE_RELAY_FULL;
    }
    double took = now_s() - t0;
    ok(took < 1.0, "10 enqueues against a stuck publisher return at once (%.3f s)", took);
    ok(queued >= 2 && queued <= 3 && queued + full == 10, "queue of 2 (+1 in flight): %d queued, %d dropped", queued,
       full);
    struct edge_relay_stats s = stats(r);
    is_int((long long)s.dropped, full, "dropped counter");
    is_int((long long)s.enqueued, queued, "enqueued counter");
    is_int((long long)s.capacity, 2, "capacity");
    is_int((long long)s.sent, 0, "nothing sent");
    t0 = now_s();
    edge_relay_stop(r);
    took = now_s() - t0;
    ok(took < 5.0, "stop cancels the POST stuck for 20 s (%.2f s)", took);
    close(hole);

    /* a publisher that is down: each report fails, counted */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    struct edge_relay_opts o2 = {.base_url = url, .timeout_ms = 2000};
    is_int(edge_relay_start(&r, &o2, &eb), CMN_OK, "relay to a closed port starts");
    for (int i = 0; i < 3; i++)
        edge_relay_enqueue(r, "/v1/installations", ev, strlen(ev));
    for (int i = 0; i < 200 && stats(r).failed < 3; i++)
        usleep(50000);
    s = stats(r);
    is_int((long long)s.failed, 3, "3 failures counted");
    is_int((long long)s.queued, 0, "queue drained");
    edge_relay_stop(r);

    /* token bucket per client address */
    struct edge_relay_opts o3 = {.base_url = "http://127.0.0.1:1", .rate_per_s = 1, .burst = 2};
    is_int(edge_relay_start(&r, &o3, &eb), CMN_OK, "relay starts (rate 1/s, burst 2)");
    is_int(edge_relay_admit(r, 0x0100007f), 0, "1st report admitted");
    is_int(edge_relay_admit(r, 0x0100007f), 0, "2nd report admitted (burst)");
    ok(edge_relay_admit(r, 0x0100007f) > 0, "3rd report from the same address waits");
    is_int(edge_relay_admit(r, 0x0200007f), 0, "another address has its own bucket");
    is_int((long long)stats(r).rate_limited, 1, "rate_limited counter");
    usleep(1100000);
    is_int(edge_relay_admit(r, 0x0100007f), 0, "a token back after a second");
    edge_relay_stop(r);
    edge_relay_stop(NULL);
    return done_testing();
}
