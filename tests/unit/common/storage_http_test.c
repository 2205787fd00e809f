/*
 * Unit tests for common/http.c, the transport under the s3:// backend, against
 * a small scripted HTTP server (python3 stdlib, embedded below) on a free
 * loopback port: retries on 503/429/resets/timeouts with backoff, no retry on
 * 4xx, bodies from memory, file slices and callbacks (replayed on retry),
 * capped response bodies, error bodies kept apart from the sink, header
 * capture, progress cancellation.
 */
#include "common/compat.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/pyserver.h"
#include "../../lib/test.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "common/http.h"

static const char server_py[] =
    "import hashlib, http.server, socketserver, sys, time, threading\n"
    "hits = {}; lock = threading.Lock()\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def log_message(self, *a): pass\n"
    "    def hit(self):\n"
    "        with lock:\n"
    "            hits[self.path] = hits.get(self.path, 0) + 1\n"
    "            return hits[self.path]\n"
    "    def send(self, code, body=b'', headers=()):\n"
    "        self.send_response(code)\n"
    "        for k, v in headers: self.send_header(k, v)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        if self.command != 'HEAD': self.wfile.write(body)\n"
    "    def body(self):\n"
    "        n = int(self.headers.get('Content-Length') or 0)\n"
    "        return self.rfile.read(n) if n else b''\n"
    "    def handle_any(self):\n"
    "        n = self.hit(); p = self.path; data = self.body()\n"
    "        err = b'<Error><Code>SlowDown</Code><Message>m</Message></Error>'\n"
    "        if p.startswith('/ok'):\n"
    "            return self.send(200, b'hello', [('ETag', '\"abc\"')])\n"
    "        if p.startswith('/flaky'):\n"
    "            if n <= 2: return self.send(503, err, [('Retry-After', '0')])\n"
    "            return self.send(200, b'finally')\n"
    "        if p.startswith('/always503'):\n"
    "            return self.send(503, err)\n"
    "        if p.startswith('/429'):\n"
    "            if n == 1: return self.send(429, err)\n"
    "            return self.send(200, b'ok')\n"
    "        if p.startswith('/404'):\n"
    "            return self.send(404, b'<Error><Code>NoSuchKey</Code></Error>')\n"
    "        if p.startswith('/reset'):\n"
    "            if n <= 2:\n"
    "                self.close_connection = True; self.connection.shutdown(2); return\n"
    "            return self.send(200, b'after reset')\n"
    "        if p.startswith('/slow'):\n"
    "            time.sleep(1.5); return self.send(200, b'slow')\n"
    "        if p.startswith('/short'):\n"
    "            self.send_response(200); self.send_header('Content-Length', '100'); self.end_headers()\n"
    "            self.wfile.write(b'0123456789'); self.wfile.flush()\n"
    "            self.close_connection = True; self.connection.shutdown(2); return\n"
    "        if p.startswith('/big'):\n"
    "            return self.send(200, b'x' * 100000)\n"
    "        if p.startswith('/range'):\n"
    "            return self.send(206, b'ab', [('Content-Range', 'bytes 0-1/10'), ('ETag', 'W/\"weak\"')])\n"
    "        if p.startswith('/echo'):\n"
    "            if p.startswith('/echoflaky') and n == 1: return self.send(503, err)\n"
    "            out = (self.command + ' ' + hashlib.sha256(data).hexdigest() + ' ' + str(len(data)) + ' ' +\n"
    "                   (self.headers.get('X-Test') or '')).encode()\n"
    "            return self.send(200, out)\n"
    "        return self.send(400, b'unknown')\n"
    "    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any\n"
    "class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
    "    daemon_threads = True\n"
    "    def handle_error(self, request, client_address): pass\n"
    "s = S(('127.0.0.1', 0), H)\n"
    "open(sys.argv[1] + '.tmp', 'w').write(str(s.server_address[1]))\n"
    "import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "s.serve_forever()\n";

static pid_t server_pid = -1;
static char base[64];

static int start_server(void)
{
    server_pid = pyserver_start(server_py, base, sizeof(base));
    return server_pid > 0 ? 0 : -1;
}

static char urlbuf[256];
static const char *u(const char *path)
{
    snprintf(urlbuf, sizeof(urlbuf), "%s%s", base, path);
    return urlbuf;
}

struct cursor {
    const char *data;
    size_t len, pos;
    int rewinds;
};

static size_t cur_read(void *ctx, char *p, size_t n)
{
    struct cursor *c = ctx;
    size_t k = c->len - c->pos < n ? c->len - c->pos : n;
    memcpy(p, c->data + c->pos, k);
    c->pos += k;
    return k;
}

static int cur_rewind(void *ctx)
{
    struct cursor *c = ctx;
    c->pos = 0;
    c->rewinds++;
    return 0;
}

static int cancel_progress(void *ctx, uint64_t dl, uint64_t dlt, uint64_t ul, uint64_t ult)
{
    return 1;
}

static int sink_calls;
static int sink(void *ctx, const void *p, size_t n)
{
    sink_calls++;
    return cmn_buf_add(ctx, p, n) != CMN_OK;
}

static void expect_echo(struct cmn_buf *b, const char *method, const void *data, size_t n, const char *what)
{
    uint8_t d[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX], want[200];
    cmn_sha256(data, n, d);
    cmn_hex_encode(d, sizeof(d), hex);
    snprintf(want, sizeof(want), "%s %s %zu ", method, hex, n);
    ok(b->ptr && strncmp(b->ptr, want, strlen(want)) == 0, "%s: server got the exact body (%s)", what,
       b->ptr ? b->ptr : "");
}

int main(void)
{
    struct cmn_http *h = NULL;
    struct cmn_http_req rq;
    struct cmn_http_resp rs;
    struct cmn_buf b;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc;

    if (cmn_crypto_init() != CMN_OK || start_server() != 0) {
        ok(0, "test server started");
        return done_testing();
    }
    ok(cmn_http_new(&h, NULL) == CMN_OK, "client created");
    cmn_buf_init(&b, 1 << 20);

#define REQ(m, path)                                                                                                   \
    do {                                                                                                               \
        memset(&rq, 0, sizeof(rq));                                                                                    \
        rq.method = (m);                                                                                               \
        rq.url = u(path);                                                                                              \
        rq.body_out = &b;                                                                                              \
        rq.retry_base_ms = 20;                                                                                         \
        cmn_buf_reset(&b);                                                                                             \
        memset(&eb, 0, sizeof(eb));                                                                                    \
    } while (0)

    REQ("GET", "/ok");
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 200 && b.len == 5 && memcmp(b.ptr, "hello", 5) == 0, "plain GET");
    is_str(rs.etag, "abc", "ETag captured without quotes");
    ok(rs.has_length && rs.content_length == 5, "Content-Length captured");
    cmn_http_resp_release(&rs);

    REQ("GET", "/flaky/1");
    rq.max_retries = 3;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 200, "503, 503, then 200 with retries");
    is_int(rs.attempts, 3, "three attempts");
    is_str(b.ptr ? b.ptr : "", "finally", "only the successful body reaches the caller");
    cmn_http_resp_release(&rs);

    REQ("GET", "/flaky/2");
    rq.max_retries = 1;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 503 && rs.attempts == 2, "retries exhausted: the 503 is returned");
    ok(b.len == 0, "the error body did not reach body_out");
    ok(rs.err_body.len > 0 && strstr(rs.err_body.ptr, "SlowDown"), "it is in err_body");
    cmn_http_resp_release(&rs);

    REQ("GET", "/429/1");
    rq.max_retries = 2;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 200 && rs.attempts == 2, "429 is retried");
    cmn_http_resp_release(&rs);

    REQ("GET", "/404/1");
    rq.max_retries = 3;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 404 && rs.attempts == 1, "404 is not retried");
    cmn_http_resp_release(&rs);

    REQ("GET", "/reset/1");
    rq.max_retries = 2;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    /* Twice: curl itself retries once on a reused connection; the fresh one fails too. */
    ok(rc == CMN_OK && rs.status == 200 && rs.attempts >= 2,
       "a connection closed without a reply is retried (%s, %d attempts)", eb.msg, rs.attempts);
    cmn_http_resp_release(&rs);

    REQ("GET", "/slow/1");
    rq.max_retries = 1;
    rq.timeout_ms = 300;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_E_NET && rs.attempts == 2, "a timeout is retried, then reported as a network error");
    ok(strstr(eb.msg, "after 2 attempts") != NULL, "detail: %s", eb.msg);
    cmn_http_resp_release(&rs);

    REQ("GET", "/always503/1");
    rq.max_retries = 2;
    rq.retry_base_ms = 200;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ok(rc == CMN_OK && rs.status == 503 && rs.attempts == 3, "persistent 503: three attempts");
    ok(ms >= 20 + 40, "with a backoff between attempts (%ld ms)", ms);
    cmn_http_resp_release(&rs);

    REQ("GET", "/short");
    rq.max_retries = 1;
    (void)!cmn_buf_addstr(&b, "keep");
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_E_NET && rs.attempts == 2, "a body cut short is retried, then a network error (%s)", eb.msg);
    is_str(b.ptr ? b.ptr : "", "keep", "the failed request appended nothing to body_out");
    cmn_http_resp_release(&rs);

    REQ("GET", "/big");
    struct cmn_buf small;
    cmn_buf_init(&small, 1000);
    rq.body_out = &small;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    is_int(rc, CMN_E_TOOBIG, "a body over the cap is refused");
    cmn_http_resp_release(&rs);
    cmn_buf_release(&small);

    REQ("GET", "/range");
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 206 && rs.range_total == 10, "Content-Range total captured");
    is_str(rs.etag, "weak", "weak ETag marker stripped");
    cmn_http_resp_release(&rs);

    REQ("GET", "/ok");
    rq.body_out = NULL;
    rq.write = sink;
    rq.write_ctx = &b;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && sink_calls > 0 && b.len == 5, "write callback receives the body");
    cmn_http_resp_release(&rs);

    /* Request bodies. */
    static const char payload[] = "the quick brown fox jumps over the lazy dog";
    REQ("PUT", "/echo");
    rq.body = payload;
    rq.body_len = strlen(payload);
    static const char hdr[] = "X-Test: yes";
    is_int(cmn_http_req_header(&rq, hdr), CMN_OK, "add a header");
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 200, "PUT from memory");
    expect_echo(&b, "PUT", payload, strlen(payload), "memory body");
    ok(b.ptr && strstr(b.ptr, " yes"), "extra header sent");
    cmn_http_resp_release(&rs);

    char path[600];
    snprintf(path, sizeof(path), "%s/slice.bin", test_tmpdir());
    FILE *f = fopen(path, "wb");
    fputs("0123456789abcdefghij", f);
    fclose(f);
    REQ("POST", "/echoflaky/file");
    rq.max_retries = 2;
    rq.upload_path = path;
    rq.upload_offset = 5;
    rq.upload_len = 10;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 200 && rs.attempts == 2, "POST of a file slice, retried after a 503");
    expect_echo(&b, "POST", "56789abcde", 10, "file slice replayed");
    cmn_http_resp_release(&rs);

    struct cursor cur = {payload, strlen(payload), 0, 0};
    REQ("PUT", "/echoflaky/cb");
    rq.max_retries = 2;
    rq.read = cur_read;
    rq.rewind = cur_rewind;
    rq.read_ctx = &cur;
    rq.read_len = cur.len;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 200 && cur.rewinds == 1, "callback body rewound for the retry");
    expect_echo(&b, "PUT", payload, strlen(payload), "callback body");
    cmn_http_resp_release(&rs);

    struct cursor cur2 = {payload, strlen(payload), 0, 0};
    REQ("PUT", "/echoflaky/norewind");
    rq.max_retries = 2;
    rq.read = cur_read;
    rq.read_ctx = &cur2;
    rq.read_len = cur2.len;
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    is_int(rc, CMN_E_NET, "a callback body without rewind is not replayed (%s)", eb.msg);
    cmn_http_resp_release(&rs);

    REQ("PUT", "/echo");
    rq.upload_path = "/nonexistent/file";
    rq.upload_len = 1;
    is_int(cmn_http_perform(h, &rq, &rs, &eb), CMN_E_IO, "unreadable upload file");
    cmn_http_resp_release(&rs);
    REQ("PUT", "/echo");
    rq.body = "x";
    rq.body_len = 1;
    rq.upload_path = path;
    is_int(cmn_http_perform(h, &rq, &rs, &eb), CMN_E_INVAL, "two bodies at once are refused");
    cmn_http_resp_release(&rs);

    REQ("GET", "/ok");
    rq.progress = cancel_progress;
    is_int(cmn_http_perform(h, &rq, &rs, &eb), CMN_E_CANCELLED, "progress callback cancels");
    cmn_http_resp_release(&rs);

    REQ("DELETE", "/echo");
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && b.ptr && strncmp(b.ptr, "DELETE ", 7) == 0, "DELETE method");
    cmn_http_resp_release(&rs);
    REQ("HEAD", "/ok");
    rc = cmn_http_perform(h, &rq, &rs, &eb);
    ok(rc == CMN_OK && rs.status == 200 && b.len == 0 && rs.content_length == 5, "HEAD: length, no body");
    cmn_http_resp_release(&rs);

    REQ("GET", "/ok");
    for (int i = 0; i < CMN_HTTP_MAX_HEADERS; i++)
        (void)!cmn_http_req_header(&rq, hdr);
    is_int(cmn_http_req_header(&rq, hdr), CMN_E_TOOBIG, "header count is capped");

    cmn_buf_release(&b);
    cmn_http_free(h);
    pyserver_stop(server_pid);
    return done_testing();
}
