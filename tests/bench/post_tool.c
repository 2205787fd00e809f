/*
 * post_tool.c - the load generator of tests/bench/bench_publisher.sh.
 *
 *   post_tool HOST PORT CONNS PATH LIST
 *
 * POSTs every file named in LIST (one path a line) as an application/json
 * body to http://HOST:PORT/PATH, over CONNS keep-alive connections, each
 * connection sending its next file as soon as the previous answer is in
 * (closed loop; the files are taken in order from one shared counter). Every
 * request is built in memory and every connection opened before the clock
 * starts, so what is timed is the server, not file reads, connects or a
 * client's HTTP machinery: curl --parallel spent ~1.2 ms of CPU per 1000
 * events on the same two cores as the server; this costs a write and a read.
 *
 * Prints one line: "<seconds> <answers 200> <requests>" and exits 0 when
 * every request was answered (whatever the status), 1 otherwise.
 */
#include "common/compat.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct req {
    char *buf;
    size_t len;
};

static struct req *reqs;
static size_t nreqs;
static atomic_size_t next_req;
static atomic_size_t ok200, answered;
static struct sockaddr_in addr;
static pthread_barrier_t ready;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one response; its status code, or -1. *closing: the server will close the connection. */
static int read_response(int fd, char *buf, size_t cap, int *closing)
{
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == cap - 1)
            return -1;
        ssize_t r = read(fd, buf + have, cap - 1 - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t body = 0;
    for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n")) {
        if (!strncasecmp(h + 2, "Content-Length:", 15))
            body = (size_t)strtoull(h + 17, NULL, 10);
        else if (!strncasecmp(h + 2, "Connection: close", 17))
            *closing = 1;
    }
    size_t got = have - (size_t)(end + 4 - buf);
    while (got < body) {
        ssize_t r = read(fd, buf, cap - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return status;
}

static void *worker(void *arg)
{
    (void)arg;
    char buf[65536];
    int fd = dial();
    pthread_barrier_wait(&ready);
    for (;;) {
        size_t i = atomic_fetch_add(&next_req, 1);
        if (i >= nreqs)
            break;
        int closing = 0, st = -1;
        for (int attempt = 0; attempt < 2 && st < 0; attempt++) {
            if (fd < 0 && (fd = dial()) < 0)
                break;
            if (send_all(fd, reqs[i].buf, reqs[i].len) == 0)
                st = read_response(fd, buf, sizeof(buf), &closing);
            if (st < 0 || closing) {
                close(fd);
                fd = -1;
            }
        }
        if (st < 0) {
            fprintf(stderr, "post_tool: request %zu got no answer\n", i);
            continue;
        }
        atomic_fetch_add(&answered, 1);
        if (st == 200)
            atomic_fetch_add(&ok200, 1);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long sz;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (p = malloc((size_t)sz + 1)) && fread(p, 1, (size_t)sz, f) == (size_t)sz) {
        *n = (size_t)sz;
    } else {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: post_tool HOST PORT CONNS PATH LIST\n");
        return 2;
    }
    int conns = atoi(argv[3]);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (conns < 1 || conns > 256 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "post_tool: bad host or connection count\n");
        return 2;
    }
    FILE *list = fopen(argv[5], "r");
    char line[4096];
    size_t cap = 0;
    if (!list) {
        fprintf(stderr, "post_tool: cannot open '%s'\n", argv[5]);
        return 2;
    }
    while (fgets(line, sizeof(line), list)) {
        line[strcspn(line, "\n")] = '\0';
        size_t blen = 0;
        char *body = slurp(line, &blen);
        if (!body) {
            fprintf(stderr, "post_tool: cannot read '%s'\n", line);
            return 2;
        }
        if (nreqs == cap) {
            cap = cap ? cap * 2 : 256;
            reqs = realloc(reqs, cap * sizeof(*reqs));
            if (!reqs)
                return 2;
        }
        char head[512];
        int hl = snprintf(head, sizeof(head),
                          "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          argv[4], argv[1], argv[2], blen);
        struct req *r = &reqs[nreqs++];
        r->len = (size_t)hl + blen;
        if (!(r->buf = malloc(r->len)))
            return 2;
        memcpy(r->buf, head, (size_t)hl);
        memcpy(r->buf + hl, body, blen);
        free(body);
    }
    fclose(list);
    pthread_t *th = calloc((size_t)conns, sizeof(*th));
    if (!th || pthread_barrier_init(&ready, NULL, (unsigned)conns + 1))
        return 2;
    for (int i = 0; i < conns; i++)
        if (pthread_create(&th[i], NULL, worker, NULL))
            return 2;
    pthread_barrier_wait(&ready); /* every connection open: the clock starts */
    double t0 = now_s();
    for (int i = 0; i < conns; i++)
        pthread_join(th[i], NULL);
    double t = now_s() - t0;
    printf("%.3f %zu %zu\n", t, atomic_load(&ok200), nreqs);
    for (size_t i = 0; i < nreqs; i++)
        free(reqs[i].buf);
    free(reqs);
    free(th);
    return atomic_load(&answered) == nreqs ? 0 : 1;
}
