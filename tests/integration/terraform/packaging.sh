#!/usr/bin/env bash
# packaging.sh - the deployment artefacts other than Terraform:
#   * `make install` (PREFIX and DESTDIR): programs that exist, library,
#     header, systemd units with paths substituted, migrations, env examples;
#     the installed agent finds the installed libhotpatch.so; uninstall.
#   * systemd units: `systemd-analyze verify` is silent, the sandbox exposure
#     score stays low, and a broken unit is caught.
#   * Dockerfiles: multi-stage Debian 12, non-root; every shared library the
#     built binaries need is provided by a package the runtime stage installs.
#   * `make lambda-zip`: bootstrap + binary + libraries; every library the
#     binary needs resolves inside the zip (or is glibc); the packaged edge
#     answers a Function URL event from a fake Lambda Runtime API.
set -u
. "${HP_SRC_DIR:?}/tests/lib/tap.sh"
src=$HP_SRC_DIR
build=${HP_BUILD:-build}
case "$build" in /*) bdir=$build ;; *) bdir=$src/$build ;; esac
bin=$bdir/bin
work=$(mktemp -d /tmp/hp-pkg.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
mk() { make -s -C "$src" B="$build" "$@"; }

# ---------------------------------------------------------------- install
prefix=$work/prefix
ok "make install PREFIX=..." mk install PREFIX="$prefix"
for p in hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent; do
    if [ -x "$bin/$p" ]; then
        ok "installed $p" test -x "$prefix/bin/$p"
    else
        ok "$p is not built here # skip nothing to install" true
    fi
done
ok "installed hotpatch.h" cmp -s "$src/sdk/include/hotpatch.h" "$prefix/include/hotpatch.h"
if [ -f "$bdir/lib/libhotpatch.so" ]; then
    ok "installed libhotpatch.a and libhotpatch.so" test -f "$prefix/lib/libhotpatch.a" -a -f "$prefix/lib/libhotpatch.so"
fi
ok "installed the migrations" test -n "$(ls "$prefix/share/hotpatch/migrations/"*.sql 2>/dev/null)"
ok "installed the env examples" test -f "$prefix/share/hotpatch/examples/edge.env" -a -f "$prefix/share/hotpatch/examples/publisher.env"
units=$prefix/lib/systemd/system
ok "installed both systemd units" test -f "$units/hotpatch-edge.service" -a -f "$units/hotpatch-publisher.service"
nok "no @PLACEHOLDER@ left in installed files" grep -rl '@[A-Z]*@' "$units" "$prefix/share/hotpatch/examples"
ok "units start the installed binaries" grep -q "^ExecStart=$prefix/bin/hotpatch-edge " "$units/hotpatch-edge.service"
if [ -x "$prefix/bin/hotpatch-agent" ]; then
    lib_used=$(ldd "$prefix/bin/hotpatch-agent" | awk '$1 ~ /^libhotpatch\.so(\.[0-9]+)?$/ {print $3}')
    is "$(readlink -f "$lib_used")" "$(readlink -f "$prefix/lib/libhotpatch.so")" "installed agent loads the installed libhotpatch.so"
    ok "installed agent runs (--help)" "$prefix/bin/hotpatch-agent" --help
fi

dest=$work/dest
ok "make install DESTDIR=... PREFIX=/usr" mk install DESTDIR="$dest" PREFIX=/usr
ok "DESTDIR install lands under DESTDIR" test -f "$dest/usr/lib/systemd/system/hotpatch-edge.service" -a -f "$dest/usr/include/hotpatch.h"
ok "DESTDIR is not baked into the units" grep -q '^ExecStart=/usr/bin/hotpatch-edge ' "$dest/usr/lib/systemd/system/hotpatch-edge.service"
nok "DESTDIR path absent from installed text files" grep -rl "$dest" "$dest/usr/lib/systemd" "$dest/usr/share/hotpatch/examples"
ok "make uninstall" mk uninstall DESTDIR="$dest" PREFIX=/usr
is "$(find "$dest" -type f | wc -l)" "0" "uninstall removed every installed file"

# ---------------------------------------------------------------- systemd
if command -v systemd-analyze >/dev/null 2>&1; then
    # verify needs the executables and the EnvironmentFile/credential paths:
    # a private root with stubs where the programs are not built.
    root=$work/sd
    mk install PREFIX="$root/usr" SYSCONFDIR="$root/etc" >/dev/null
    mkdir -p "$root/etc/hotpatch"
    for p in hotpatch-edge hotpatch-publisher; do
        [ -x "$root/usr/bin/$p" ] || { printf '#!/bin/sh\nexit 0\n' >"$root/usr/bin/$p"; chmod +x "$root/usr/bin/$p"; }
    done
    touch "$root/etc/hotpatch/edge.env" "$root/etc/hotpatch/publisher.env" "$root/etc/hotpatch/manifest.key"
    for u in hotpatch-edge hotpatch-publisher; do
        f=$root/usr/lib/systemd/system/$u.service
        out=$(systemd-analyze verify "$f" 2>&1)
        rc=$?
        is "$rc:$out" "0:" "systemd-analyze verify $u.service is clean"
        for k in DynamicUser=yes ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes \
            'CapabilityBoundingSet=$' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
            SystemCallFilter=@system-service MemoryDenyWriteExecute=yes EnvironmentFile=; do
            ok "$u.service sets ${k%\$}" grep -q "^$k" "$f"
        done
        if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
            score=$(systemd-analyze security --offline=yes "$f" 2>/dev/null | sed -n 's/.*exposure level for .*: \([0-9.]*\).*/\1/p')
            ok "$u.service exposure score $score <= 2.0" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
        fi
    done
    ok "edge unit keeps its LMDB index in a StateDirectory" grep -q '^StateDirectory=hotpatch-edge' "$root/usr/lib/systemd/system/hotpatch-edge.service"
    ok "publisher unit passes the manifest key as a credential" grep -q '^LoadCredential=manifest.key:' "$root/usr/lib/systemd/system/hotpatch-publisher.service"
    # A unit with a typo and a missing binary must be reported.
    bad=$work/bad/hotpatch-edge.service
    mkdir -p "$work/bad"
    sed -e 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' -e "s|^ExecStart=[^ ]*|ExecStart=$work/missing/hotpatch-edge|" \
        "$root/usr/lib/systemd/system/hotpatch-edge.service" >"$bad"
    out=$(systemd-analyze verify "$bad" 2>&1)
    ok "verify reports a misspelt directive" grep -q "Unknown key 'NoNewPrivilege'" <<<"$out"
    ok "verify reports a missing executable" grep -q 'is not executable' <<<"$out"
else
    ok "systemd units # skip systemd-analyze is not installed" true
fi

# ---------------------------------------------------------------- Dockerfiles
runtime_stage() { # the last stage of a Dockerfile
    awk '/^FROM / {buf = ""} {buf = buf $0 "\n"} END {printf "%s", buf}' "$1"
}
for df in publisher/deploy/Dockerfile edge-check/deploy/Dockerfile; do
    f=$src/$df
    is "$(grep -c '^FROM debian:12' "$f")" "2" "$df: multi-stage, Debian 12 build and runtime"
    ok "$df: runs as a non-root user" grep -Eq '^USER [1-9][0-9]*' "$f"
    stage=$(runtime_stage "$f")
    ok "$df: runtime stage starts from debian:12-slim" grep -q '^FROM debian:12-slim$' <<<"$stage"
    nok "$df: runtime stage installs no compiler or -dev package" grep -Eq 'build-essential|gcc|-dev( |$)' <<<"$stage"
    ok "$df: runtime stage copies the binary from the build stage" grep -q '^COPY --from=build ' <<<"$stage"
done
# The publisher image's entrypoint turns HOTPATCH_MANIFEST_KEY_DATA into a
# private key file; the real publisher's check-config must accept it.
ep=$src/publisher/deploy/docker-entrypoint.sh
ok "entrypoint is a POSIX shell script" sh -n "$ep"
if [ -x "$bin/hotpatch-publisher" ]; then
    "$bin/hotpatch-publisher" keygen-manifest --out "$work/mkey.json" >/dev/null 2>&1
    mkdir -p "$work/pubstore"
    run_ep() { # run_ep KEYDATA KEYDIR: the entrypoint with a plausible config, check-config
        env -i PATH=/usr/bin:/bin HOTPATCH_PUBLISHER_BIN="$bin/hotpatch-publisher" HOTPATCH_KEY_DIR="$2" \
            HOTPATCH_TMPDIR="$2/spool" DATABASE_URL="postgresql://hotpatch@127.0.0.1:1/hotpatch" \
            JWT_SECRET="0123456789abcdef0123456789abcdef0123" HOTPATCH_STORAGE="file://$work/pubstore" \
            HOTPATCH_MANIFEST_KEY_DATA="$1" sh "$ep" check-config
    }
    out=$(run_ep "$(cat "$work/mkey.json")" "$work/run" 2>&1)
    is "$out" "configuration ok" "entrypoint: the publisher loads the key written from HOTPATCH_MANIFEST_KEY_DATA"
    is "$(stat -c %a "$work/run/manifest.key" 2>/dev/null)" "600" "entrypoint: the key file is private (0600)"
    ok "entrypoint: the file holds the key" grep -q '"hotpatch-ed25519-secret-key"' "$work/run/manifest.key"
    out=$(run_ep "not a key" "$work/run2" 2>&1)
    ok "entrypoint: a bad key is refused by the publisher with a clear line" grep -q 'manifest key' <<<"$out"
    mkdir -p "$work/ro" && chmod 0500 "$work/ro"
    if [ "$(id -u)" -ne 0 ]; then
        out=$(run_ep "$(cat "$work/mkey.json")" "$work/ro/x" 2>&1)
        ok "entrypoint: no writable key directory is a clear error" grep -q 'no writable directory' <<<"$out"
    fi
fi

# Each runtime library the built binary needs must come from a package the
# runtime stage installs.
check_runtime_pkgs() {
    local df=$1 exe=$2
    local runtime pkgs missing=""
    runtime=$(runtime_stage "$df")
    pkgs=$(tr ' \\' '\n\n' <<<"$runtime" | grep -E '^lib[a-z0-9.+-]+$|^ca-certificates$' | sort -u)
    while read -r path; do
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
        [ -n "$pkg" ] || continue
        # glibc, and sanitizer runtimes of a SANITIZE= build (images are built without)
        case "$pkg" in libc6 | libgcc-s1 | libasan* | libubsan* | liblsan* | libtsan*) continue ;; esac
        # direct dependencies only: libraries pulled in by those packages come with them
        if ! grep -qx "$pkg" <<<"$pkgs"; then missing="$missing $pkg"; fi
    done < <(readelf -d "$exe" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | while read -r so; do
        ldd "$exe" | awk -v s="$so" '$1 == s {print $3}'
    done)
    [ -z "$missing" ] || { echo "runtime stage lacks:$missing"; return 1; }
}
if command -v dpkg >/dev/null 2>&1; then
    for pair in "publisher/deploy/Dockerfile:hotpatch-publisher" "edge-check/deploy/Dockerfile:hotpatch-edge"; do
        df=${pair%%:*} exe=${pair#*:}
        if [ -x "$bin/$exe" ]; then
            ok "$df: runtime packages cover the libraries $exe links" check_runtime_pkgs "$src/$df" "$bin/$exe"
        else
            ok "$df: runtime libraries # skip $exe is not built" true
        fi
    done
fi

# ---------------------------------------------------------------- lambda zip
if [ ! -x "$bin/hotpatch-edge" ]; then
    ok "lambda zip # skip hotpatch-edge is not built" true
    done_testing
    exit $?
fi
zip=$bdir/lambda/hotpatch-edge-lambda.zip
rm -f "$zip"
ok "make lambda-zip" mk -o "$build/bin/hotpatch-edge" lambda-zip
ok "zip written" test -s "$zip"
lz=$work/lambda
mkdir -p "$lz"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$lz"
# zipfile does not restore modes: read them from the archive.
modes=$(python3 -c 'import sys, zipfile
for i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct((i.external_attr >> 16) & 0o777))' "$zip")
is "$(awk '$1 == "bootstrap" {print $2}' <<<"$modes")" "0o755" "bootstrap is executable in the zip"
is "$(awk '$1 == "bin/hotpatch-edge" {print $2}' <<<"$modes")" "0o755" "bin/hotpatch-edge is executable in the zip"
chmod 0755 "$lz/bootstrap" "$lz/bin/hotpatch-edge"
find "$lz/lib" -name 'ld-linux*' -exec chmod 0755 {} + 2>/dev/null
ok "bootstrap is a POSIX shell script" sh -n "$lz/bootstrap"
ok "bootstrap runs the edge in lambda mode" grep -q 'hotpatch-edge.* lambda$' "$lz/bootstrap"
# Every library needed by the binary or a bundled library resolves inside lib/.
unresolved=$(LD_LIBRARY_PATH=$lz/lib ldd "$lz/bin/hotpatch-edge" | awk -v L="$lz/lib/" '
    /=>/ && $1 !~ /^(libc|libm|libpthread|libdl|librt|libresolv|ld-linux)/ && index($3, L) != 1 {print $1 " -> " $3}')
is "$unresolved" "" "every non-glibc library resolves from the zip's lib/"
is "$(cd "$lz" && find . -type f | wc -l)" "$(python3 -c 'import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))' "$zip")" "zip has no directory tricks (file count matches)"
cp "$zip" "$work/first.zip"
rm -f "$zip"
mk -o "$build/bin/hotpatch-edge" lambda-zip >/dev/null 2>&1
ok "lambda-zip is reproducible (same bytes twice)" cmp -s "$zip" "$work/first.zip"

# Run the packaged edge under a fake Lambda Runtime API (the real one is an
# AWS service): one Function URL event for GET /healthz, then the fake goes
# away and the runtime loop must exit by itself.
cat >"$work/fake_runtime.py" <<'PY'
import http.server, json, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
event = {"version": "2.0", "rawPath": "/healthz", "rawQueryString": "", "headers": {"host": "x.lambda-url.eu-west-1.on.aws"},
         "requestContext": {"http": {"method": "GET", "path": "/healthz"}}, "isBase64Encoded": False}
served = []
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/2018-06-01/runtime/invocation/next" and not served:
            served.append(1)
            body = json.dumps(event).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", "9999999999999")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)
        else:
            self.send_response(410); self.send_header("Content-Length", "0"); self.end_headers()
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "body": data.decode("utf-8", "replace")}) + "\n")
        self.send_response(202); self.send_header("Content-Length", "0"); self.end_headers()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
threading.Timer(20, srv.shutdown).start()
srv.serve_forever()
PY
mkdir -p "$work/storage/manifests"

# run_package DIR LABEL: unpacked zip in DIR, one event through bootstrap.
run_package() {
    local dir=$1 label=$2 port posts rc resp status
    port=$(free_port)
    posts=$work/posts.$label.jsonl
    python3 "$work/fake_runtime.py" "$port" "$posts" &
    pids+=($!)
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    env -i PATH=/usr/bin:/bin LAMBDA_TASK_ROOT="$dir" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" \
        HOTPATCH_STORAGE="file://$work/storage" HOTPATCH_TRUSTED_KEYS="11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" \
        HOTPATCH_EDGE_OPTS="--data-dir $work/lmdb.$label" \
        timeout 30 "$dir/bootstrap" >"$work/bootstrap.$label.log" 2>&1
    rc=$?
    ok "$label: the runtime loop exits when the Runtime API goes away (rc $rc, not killed)" test "$rc" -ne 124 -a "$rc" -ne 137
    resp=$(grep '"/2018-06-01/runtime/invocation/req-1/response"' "$posts" 2>/dev/null | head -1)
    ok "$label: the packaged edge posted a response for the event" test -n "$resp"
    status=$(python3 -c 'import json, sys
r = json.loads(json.loads(sys.argv[1])["body"]); print(r.get("statusCode"))' "$resp" 2>/dev/null)
    is "$status" "200" "$label: GET /healthz through the Lambda package answers 200"
    [ "$status" = 200 ] || sed 's/^/#   /' "$work/bootstrap.$label.log" | tail -20
}
unpack() { # unpack ZIP DIR, restoring the modes stored in the archive
    python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    p = z.extract(i, sys.argv[2])
    os.chmod(p, (i.external_attr >> 16) & 0o777)
PY
}
run_package "$lz" "runtime-glibc"

# Pretend the runtime's glibc is older than ours: the C library and the
# loader are bundled and bootstrap goes through the bundled loader.
LAMBDA_GLIBC=2.17 bash "$src/edge-check/deploy/lambda-zip.sh" "$bin/hotpatch-edge" "$work/old-glibc.zip" >"$work/old-glibc.log" 2>&1
ok "lambda-zip for an older runtime glibc" grep -q 'bundled' "$work/old-glibc.log"
unpack "$work/old-glibc.zip" "$work/lz-old"
ok "the C library and the loader are in the zip" bash -c "ls '$work/lz-old/lib/' | grep -q '^libc.so' && ls '$work/lz-old/lib/' | grep -q '^ld-linux'"
ok "bootstrap execs through the bundled loader" grep -q '^    exec "$root/lib/ld-linux' "$work/lz-old/bootstrap"
run_package "$work/lz-old" "bundled-glibc"

done_testing
