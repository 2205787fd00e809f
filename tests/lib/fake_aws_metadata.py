#!/usr/bin/env python3
"""fake_aws_metadata.py PORTFILE ACCESS SECRET [EXPIRATION]

A FAKE of the AWS credential endpoints, for tests only: the real ECS container
credentials endpoint (169.254.170.2) and EC2 instance metadata service
(169.254.169.254, IMDSv2) exist only inside AWS, so nothing real can run here.
Behaviour follows AWS's documentation:
  GET /creds                      container endpoint; needs "Authorization: test-auth-token"
  PUT /latest/api/token           IMDSv2 session token; needs X-aws-ec2-metadata-token-ttl-seconds
  GET /latest/meta-data/iam/security-credentials/        role name (token required)
  GET /latest/meta-data/iam/security-credentials/<role>  credentials (token required)
Credentials documents carry ACCESS / SECRET, Token "fake-session-token" and
Expiration (default one hour ahead). Writes the bound port to PORTFILE and one
line per request to PORTFILE.log.
"""
import datetime
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, ACCESS, SECRET = sys.argv[1], sys.argv[2], sys.argv[3]
EXP = sys.argv[4] if len(sys.argv) > 4 else (
    datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
SESSION = "imds-session-token-123"
ROLE = "hotpatch-publisher-role"


def creds():
    return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": ACCESS, "SecretAccessKey": SECRET,
                       "Token": "fake-session-token", "Expiration": EXP}).encode()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body=b""):
        with open(PORTFILE + ".log", "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.send(200, SESSION.encode())
        else:
            self.send(400)

    def do_GET(self):
        if self.path == "/creds":
            if self.headers.get("Authorization") != "test-auth-token":
                self.send(401, b'{"message":"unauthorized"}')
            else:
                self.send(200, creds())
            return
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path.startswith(base):
            if self.headers.get("X-aws-ec2-metadata-token") != SESSION:
                self.send(401)
            elif self.path == base:
                self.send(200, ROLE.encode())
            elif self.path == base + ROLE:
                self.send(200, creds())
            else:
                self.send(404)
            return
        self.send(404)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
