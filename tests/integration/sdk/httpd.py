#!/usr/bin/env python3
"""httpd.py ROOT PORT - test-only static HTTP server for the SDK tests.

PORT 0 binds a free port; the port in use is written to ROOT/.ready.

Serves files under ROOT (GET/HEAD) with single-range support ("Range:
bytes=N-" / "bytes=N-M" -> 206 + Content-Range), like a CDN or nginx would.
Test hooks, all driven by files in ROOT so a test can change them between
agent runs:

  ROOT/.ctl          optional JSON: {"cut_after": K, "cut_prefix": "/bundles/",
                     "ignore_range": false, "throttle_ms": 0, "status": 0}.
                     cut_after drops the connection after K body bytes of
                     any path starting with cut_prefix (a network fault in
                     the middle of a download); ignore_range answers 200 with
                     the whole file; throttle_ms sleeps that long after each
                     16 KiB of such a body (a slow link); status answers
                     POST /v1/installations with that HTTP status.
  ROOT/.log          one line per request, written before the body is sent:
                     "METHOD PATH range=<Range or -> status=S sent=N" (N = bytes it sends)
  GET /v1/check?...  edge emulation: 200 + ROOT/.edge-answer when that file
                     exists, else 204 (the query is logged); the content of
                     ROOT/.edge-release, when present, is sent as the
                     X-HotPatch-Release header.
  POST /v1/installations  body appended as one line to ROOT/.reports; 200.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(sys.argv[1])
PORT = int(sys.argv[2])


def ctl():
    try:
        with open(os.path.join(ROOT, ".ctl")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def log(line):
    with open(os.path.join(ROOT, ".log"), "a") as f:
        f.write(line + "\n")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, status, body, headers=(), cut=None):
        # Log before the body goes out: a client that has read the whole answer
        # must find the line already there (logging afterwards raced the tests).
        planned = 0 if self.command == "HEAD" else (cut if cut is not None and cut < len(body) else len(body))
        log("%s %s range=%s status=%d sent=%d" % (self.command, self.path, self.headers.get("Range", "-"),
                                                  status, planned))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            if cut is not None and cut < len(body):
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                try:
                    import socket
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            else:
                delay = ctl().get("throttle_ms", 0) if self.path.startswith(ctl().get("cut_prefix", "/bundles/")) else 0
                if delay:
                    import time
                    for i in range(0, len(body), 16384):
                        self.wfile.write(body[i:i + 16384])
                        self.wfile.flush()
                        time.sleep(delay / 1000.0)
                else:
                    self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.path == "/v1/installations":
            status = int(ctl().get("status", 0) or 200)
            if status == 200:
                with open(os.path.join(ROOT, ".reports"), "ab") as f:
                    f.write(body.replace(b"\n", b" ") + b"\n")
            self._send(status, b'{"accepted":true}', [("Content-Type", "application/json")])
        else:
            self._send(404, b"{}")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/v1/check":
            ans = os.path.join(ROOT, ".edge-answer")
            if os.path.exists(ans):
                hdrs = [("X-HotPatch-Decision", "update")]
                named = os.path.join(ROOT, ".edge-release")
                if os.path.exists(named):
                    with open(named) as f:
                        hdrs.append(("X-HotPatch-Release", f.read().strip()))
                with open(ans, "rb") as f:
                    self._send(200, f.read(), hdrs)
            else:
                self._send(204, b"")
            return
        rel = os.path.normpath(path.lstrip("/"))
        if rel.startswith("..") or rel.startswith("/") or rel.startswith("."):
            self._send(404, b"not found")
            return
        fp = os.path.join(ROOT, rel)
        if not os.path.isfile(fp):
            self._send(404, b"not found")
            return
        with open(fp, "rb") as f:
            data = f.read()
        c = ctl()
        cut = None
        if c.get("cut_after") is not None and path.startswith(c.get("cut_prefix", "/bundles/")):
            cut = int(c["cut_after"])
        rng = self.headers.get("Range")
        if rng and not c.get("ignore_range") and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a)
            end = int(b) if b else len(data) - 1
            if start >= len(data):
                self._send(416, b"", [("Content-Range", "bytes */%d" % len(data))])
                return
            end = min(end, len(data) - 1)
            self._send(206, data[start:end + 1],
                       [("Content-Range", "bytes %d-%d/%d" % (start, end, len(data))),
                        ("Accept-Ranges", "bytes")], cut)
            return
        self._send(200, data, [("Accept-Ranges", "bytes")], cut)


ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer(("127.0.0.1", PORT), H)
tmp = os.path.join(ROOT, ".ready.tmp")
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, os.path.join(ROOT, ".ready"))
srv.serve_forever()
