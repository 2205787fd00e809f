#!/usr/bin/env python3
"""fake_lambda_runtime.py - a FAKE of the AWS Lambda Runtime API, for tests.

This is a fake, not an emulator: the real Runtime Interface Emulator is a Go
binary from GitHub that is not packaged for Debian and cannot be installed on
the offline test machines.
It implements the documented endpoints that a custom runtime uses
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

  GET  /2018-06-01/runtime/invocation/next          next event, with the
       Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn and
       -Trace-Id headers
  POST /2018-06-01/runtime/invocation/<id>/response
  POST /2018-06-01/runtime/invocation/<id>/error
  POST /2018-06-01/runtime/init/error

usage: fake_lambda_runtime.py PORT EVENTS.json RESULTS.json
EVENTS.json is a JSON array of events (each sent verbatim as the body; a
string element is sent as raw text, to test malformed events). An element
{"__wait_file": PATH} is not an event: the fake holds the next poll until
PATH exists (so a test can change storage between two invocations). Request
ids are "req-<n>" counting real events only. After every answer RESULTS.json
is rewritten with {"responses": {id: body}, "errors": {id: body},
"init_error": body|null, "error_types": {id: header}}; when every event has
been answered (or an init error arrives) the fake exits, so the runtime's
next poll fails and it stops.

It also stands in for the publisher's report ingest: POST /v1/installations
(where `hotpatch-edge --publisher-url http://<this fake>` relays device
reports) is answered 200 and its JSON body appended to "relayed" in
RESULTS.json.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
SCRIPT = json.load(open(sys.argv[2]))
EVENTS = [e for e in SCRIPT if not (isinstance(e, dict) and "__wait_file" in e)]
RESULTS = sys.argv[3]
PREFIX = "/2018-06-01/runtime"

lock = threading.Lock()
state = {"next": 0, "responses": {}, "errors": {}, "init_error": None, "error_types": {}, "relayed": []}
done = threading.Event()


def dump():
    import os

    with open(RESULTS + ".tmp", "w") as f:
        json.dump({k: state[k] for k in ("responses", "errors", "init_error", "error_types", "relayed")}, f)
    os.replace(RESULTS + ".tmp", RESULTS)


def finish():
    dump()
    done.set()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != PREFIX + "/invocation/next":
            return self.reply(404, b'{"errorMessage":"not found"}')
        import os

        with lock:
            pos = state["next"]
            state["next"] += 1
        # wait directives before this event
        while pos < len(SCRIPT) and isinstance(SCRIPT[pos], dict) and "__wait_file" in SCRIPT[pos]:
            deadline = time.time() + 30
            while not os.path.exists(SCRIPT[pos]["__wait_file"]) and time.time() < deadline:
                time.sleep(0.02)
            with lock:
                pos = state["next"]
                state["next"] += 1
        i = sum(1 for e in SCRIPT[:pos] if not (isinstance(e, dict) and "__wait_file" in e))
        if pos >= len(SCRIPT):
            # nothing left: hold the long poll until the fake shuts down
            done.wait(30)
            return self.reply(500, b'{"errorMessage":"fake runtime finished"}')
        ev = SCRIPT[pos]
        body = ev.encode() if isinstance(ev, str) else json.dumps(ev).encode()
        self.reply(
            200,
            body,
            {
                "Lambda-Runtime-Aws-Request-Id": "req-%d" % i,
                "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30000),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:fake",
                "Lambda-Runtime-Trace-Id": "Root=1-fake",
                "Content-Type": "application/json",
            },
        )

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode("utf-8", "replace")}
        if self.path == "/v1/installations":
            with lock:
                state["relayed"].append(body)
                dump()
            return self.reply(200, b'{"accepted":1}')
        parts = self.path[len(PREFIX) :].strip("/").split("/")
        if parts == ["init", "error"]:
            with lock:
                state["init_error"] = body
                state["error_types"]["init"] = self.headers.get("Lambda-Runtime-Function-Error-Type")
            self.reply(202, b'{"status":"OK"}')
            finish()
            return
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            with lock:
                state["responses" if parts[2] == "response" else "errors"][parts[1]] = body
                if parts[2] == "error":
                    state["error_types"][parts[1]] = self.headers.get("Lambda-Runtime-Function-Error-Type")
                answered = len(state["responses"]) + len(state["errors"])
                dump()
            self.reply(202, b'{"status":"OK"}')
            if answered >= len(EVENTS):
                finish()
            return
        self.reply(404, b'{"errorMessage":"not found"}')


srv = ThreadingHTTPServer(("127.0.0.1", PORT), H)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
done.wait(120)
time.sleep(0.2)
srv.shutdown()
srv.server_close()
