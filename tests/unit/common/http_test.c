/*
 * Unit tests for the request options of common/http.c that the clients
 * outside storage rely on (storage_http_test.c covers retries and bodies):
 * Range start and Content-Range parsing, redirects, user agent, captured
 * response headers, the `begin` hook, multipart/form-data from memory and
 * file, file:// URLs, Retry-After reporting, "Expect:" suppression, and
 * percent-encoding of paths. A scripted python3 HTTP server on loopback.
 */
#include "common/compat.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/pyserver.h"
#include "../../lib/test.h"
#include "common/buf.h"
#include "common/http.h"

static const char server_py[] =
    "import http.server, socketserver, sys\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def log_message(self, *a): pass\n"
    "    def send(self, code, body=b'', headers=()):\n"
    "        self.send_response(code)\n"
    "        for k, v in headers: self.send_header(k, v)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        if self.command != 'HEAD': self.wfile.write(body)\n"
    "    def handle_any(self):\n"
    "        p = self.path\n"
    "        n = int(self.headers.get('Content-Length') or 0)\n"
    "        data = self.rfile.read(n) if n else b''\n"
    "        if p.startswith('/range'):\n"
    "            r = self.headers.get('Range') or ''\n"
    "            if r.startswith('bytes=') and r.endswith('-'):\n"
    "                s = int(r[6:-1]); body = b'0123456789'[s:]\n"
    "                return self.send(206, body, [('Content-Range', 'bytes %d-9/10' % s)])\n"
    "            return self.send(200, b'0123456789')\n"
    "        if p.startswith('/norange'):\n"
    "            return self.send(200, b'0123456789')\n"
    "        if p.startswith('/redirect'):\n"
    "            return self.send(302, b'moved', [('Location', '/hdrs')])\n"
    "        if p.startswith('/hdrs'):\n"
    "            out = ('ua=%s expect=%s' % (self.headers.get('User-Agent'), self.headers.get('Expect'))).encode()\n"
    "            return self.send(200, out, [('X-HotPatch-Release', ' r-42 '), ('X-Other', 'v')])\n"
    "        if p.startswith('/echo'):\n"
    "            out = ('%s %s ct=%s expect=%s|' % (self.command, len(data), self.headers.get('Content-Type'),\n"
    "                   self.headers.get('Expect'))).encode() + data\n"
    "            return self.send(200, out)\n"
    "        if p.startswith('/busy'):\n"
    "            return self.send(429, b'{\"error\":\"slow down\"}', [('Retry-After', '7')])\n"
    "        if p.startswith('/path/'):\n"
    "            return self.send(200, p.encode())\n"
    "        return self.send(404, b'nope')\n"
    "    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any\n"
    "class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
    "    daemon_threads = True\n"
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

static char urlbuf[512];
static const char *u(const char *path)
{
    snprintf(urlbuf, sizeof(urlbuf), "%s%s", base, path);
    return urlbuf;
}

struct hdr_seen {
    char release[64];
    int count;
};

static void on_hdr(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct hdr_seen *s = ctx;
    s->count++;
    if (nlen == 18 && strncasecmp(name, "x-hotpatch-release", 18) == 0 && vlen < sizeof(s->release)) {
        memcpy(s->release, value, vlen);
        s->release[vlen] = '\0';
    }
}

struct begin_seen {
    long status;
    int64_t range_start;
    int calls;
    int refuse;
};

static int on_begin(void *ctx, const struct cmn_http_resp *resp)
{
    struct begin_seen *b = ctx;
    b->calls++;
    b->status = resp->status;
    b->range_start = resp->range_start;
    return b->refuse;
}

int main(void)
{
    struct cmn_http *h = NULL;
    struct cmn_errbuf eb = {{0}};
    struct cmn_http_resp rs;
    struct cmn_buf body;
    enum cmn_err rc;

    if (start_server() != 0) {
        ok(0, "python3 test server started");
        return done_testing();
    }
    if (!ok(cmn_http_new(&h, &eb) == CMN_OK, "client created"))
        return done_testing();
    cmn_buf_init(&body, 1 << 16);

    test_diag("range start: 206 with the asked start, seen by begin before the body");
    {
        struct begin_seen bs = {0};
        /* begin gets write_ctx; the body goes to body_out */
        struct cmn_http_req rq = {.url = u("/range"), .has_range = 1, .range_start = 4, .body_out = &body};
        rq.begin = on_begin;
        rq.write_ctx = &bs;
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_OK, "range request performed");
        is_int(rs.status, 206, "206 partial content");
        is_int(rs.range_start, 4, "Content-Range start parsed");
        is_int((long long)rs.range_total, 10, "Content-Range total parsed");
        is_str(body.ptr, "456789", "only the bytes from the start");
        is_int(bs.calls, 1, "begin called once");
        is_int(bs.status, 206, "begin saw the status");
        is_int(bs.range_start, 4, "begin saw the range start");
        cmn_http_resp_release(&rs);
    }

    test_diag("range ignored: a 200 answer has range_start -1");
    {
        struct cmn_http_req rq = {.url = u("/norange"), .has_range = 1, .range_start = 4, .body_out = &body};
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_OK, "performed");
        is_int(rs.status, 200, "server ignored the range");
        is_int(rs.range_start, -1, "no Content-Range");
        is_str(body.ptr, "0123456789", "whole body");
        cmn_http_resp_release(&rs);
    }

    test_diag("begin refusing aborts before any body byte");
    {
        struct begin_seen bs = {.refuse = 1};
        struct cmn_http_req rq = {.url = u("/norange"), .body_out = &body, .begin = on_begin, .write_ctx = &bs};
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_E_CANCELLED, "refused by begin");
        is_int((long long)body.len, 0, "nothing appended");
        cmn_http_resp_release(&rs);
    }

    test_diag("redirects, user agent and captured headers");
    {
        struct hdr_seen hs;
        memset(&hs, 0, sizeof(hs));
        struct cmn_http_req rq = {.url = u("/redirect"), .body_out = &body, .user_agent = "hp-test/1"};
        rq.on_header = on_hdr;
        rq.header_ctx = &hs;
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_OK, "no redirects: performed");
        is_int(rs.status, 302, "no redirect followed by default");
        is_int((long long)body.len, 0, "a 3xx body does not reach the sink");
        cmn_http_resp_release(&rs);
        rq.max_redirects = 3;
        memset(&hs, 0, sizeof(hs));
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_OK, "redirect followed");
        is_int(rs.status, 200, "final status");
        is_str(body.ptr, "ua=hp-test/1 expect=None", "user agent sent");
        is_str(hs.release, "r-42", "header value captured and trimmed");
        ok(hs.count >= 2, "every header reported (%d)", hs.count);
        cmn_http_resp_release(&rs);
    }

    test_diag("memory body: exact length, no Expect, custom method, empty body");
    {
        static const char big[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                                  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        char payload[2100];
        size_t n = 0;
        while (n + sizeof(big) - 1 < sizeof(payload)) {
            memcpy(payload + n, big, sizeof(big) - 1);
            n += sizeof(big) - 1;
        }
        struct cmn_http_req rq = {.method = "POST", .url = u("/echo"), .body = payload, .body_len = n};
        rq.body_out = &body;
        (void)!cmn_http_req_header(&rq, "Content-Type: application/json");
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_OK, "posted");
        char want[128];
        snprintf(want, sizeof(want), "POST %zu ct=application/json expect=None|", n);
        ok(body.len > strlen(want) && memcmp(body.ptr, want, strlen(want)) == 0, "length, type, no Expect: %.60s",
           body.ptr ? body.ptr : "");
        cmn_http_resp_release(&rs);
        struct cmn_http_req rd = {.method = "DELETE", .url = u("/echo"), .body = "", .body_len = 0, .body_out = &body};
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rd, &rs, &eb);
        is_int(rc, CMN_OK, "deleted");
        is_str(body.ptr, "DELETE 0 ct=None expect=None|", "empty body, no Content-Type");
        cmn_http_resp_release(&rs);
    }

    test_diag("multipart/form-data from memory and from a file");
    {
        char path[600];
        snprintf(path, sizeof(path), "%s/part.bin", test_tmpdir());
        FILE *f = fopen(path, "wb");
        fputs("ZIPDATA-0123456789", f);
        fclose(f);
        struct cmn_http_req rq = {.method = "POST", .url = u("/echo"), .body_out = &body};
        rq.parts[0] =
            (struct cmn_http_part){.name = "metadata", .data = "{\"a\":1}", .len = 7, .type = "application/json"};
        rq.parts[1] =
            (struct cmn_http_part){.name = "bundle", .path = path, .filename = "bundle.zip", .type = "application/zip"};
        rq.nparts = 2;
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_OK, "form posted");
        ok(body.ptr && strstr(body.ptr, "ct=multipart/form-data; boundary=") != NULL, "multipart content type");
        ok(body.ptr && strstr(body.ptr, "expect=None|") != NULL, "no Expect");
        ok(body.ptr && strstr(body.ptr, "name=\"metadata\"") && strstr(body.ptr, "{\"a\":1}"), "memory part sent");
        ok(body.ptr && strstr(body.ptr, "filename=\"bundle.zip\"") && strstr(body.ptr, "ZIPDATA-0123456789"),
           "file part streamed with its file name");
        cmn_http_resp_release(&rs);
        snprintf(path, sizeof(path), "%s/missing.bin", test_tmpdir());
        rq.parts[1].path = path;
        eb.msg[0] = '\0';
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_E_IO, "missing file part: clear error");
        ok(strstr(cmn_errmsg(&eb, rc), "missing.bin") != NULL, "error names the file: %s", cmn_errmsg(&eb, rc));
        cmn_http_resp_release(&rs);
    }

    test_diag("Retry-After reported; the error body kept apart");
    {
        struct cmn_http_req rq = {.url = u("/busy"), .body_out = &body};
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_OK, "an answer arrived");
        is_int(rs.status, 429, "429");
        is_int(rs.retry_after_s, 7, "Retry-After seconds");
        is_int((long long)body.len, 0, "error body not in the sink");
        is_str(rs.err_body.ptr, "{\"error\":\"slow down\"}", "error body kept");
        cmn_http_resp_release(&rs);
    }

    test_diag("file:// only when allowed; its body counts as success");
    {
        char path[600], url[700];
        snprintf(path, sizeof(path), "%s/local.txt", test_tmpdir());
        FILE *f = fopen(path, "w");
        fputs("local bytes", f);
        fclose(f);
        snprintf(url, sizeof(url), "file://%s", path);
        struct cmn_http_req rq = {.url = url, .body_out = &body};
        cmn_buf_reset(&body);
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_E_NET, "file:// refused by default");
        cmn_http_resp_release(&rs);
        rq.protocols = "http,https,file";
        rc = cmn_http_perform(h, &rq, &rs, &eb);
        is_int(rc, CMN_OK, "file:// allowed");
        is_int(rs.status, 0, "no status for file://");
        is_str(body.ptr, "local bytes", "file body in the sink");
        cmn_http_resp_release(&rs);
    }

    cmn_buf_release(&body);
    cmn_http_free(h);
    pyserver_stop(server_pid);
    return done_testing();
}
