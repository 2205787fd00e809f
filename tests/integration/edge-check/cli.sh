#!/usr/bin/env bash
# cli.sh - hotpatch-edge's command line: --help, usage errors (exit 2, one
# line), the one-shot `sync` subcommand with --json (applied / refused counts,
# exit 6 on unreachable storage), `load-list` errors, and a server that cannot
# bind its port. The HTTP behaviour is covered by edge_test.c beside it.
set -u
. "$HP_SRC_DIR/tests/lib/tap.sh"
edge=$HP_BIN/hotpatch-edge
tmp=$(mktemp -d /tmp/hp-edge-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ok "--help exits 0" "$edge" --help
"$edge" --help >"$tmp/help" 2>&1
ok "--help lists the subcommands" grep -q "load-list NAME FILE" "$tmp/help"

"$edge" --no-such-flag >/dev/null 2>&1
is "$?" 2 "unknown flag: exit 2"
"$edge" frobnicate 2>"$tmp/err"
is "$?" 2 "unknown command: exit 2"
is "$(wc -l <"$tmp/err")" 1 "one-line error for an unknown command"
"$edge" --data-dir "$tmp/d" --source "file://$tmp/store" serve 2>"$tmp/err" </dev/null
is "$?" 2 "source without trusted keys: exit 2"
ok "... says why" grep -q "trusted" "$tmp/err"
"$edge" --trusted-key not-base64 --data-dir "$tmp/d" sync 2>"$tmp/err"
is "$?" 2 "invalid trusted key: exit 2"
"$edge" --listen nonsense sync 2>/dev/null
is "$?" 2 "bad --listen: exit 2"

# load-list errors
"$edge" --data-dir "$tmp/d" load-list "bad name" /dev/null 2>"$tmp/err"
is "$?" 2 "load-list with an invalid list name: exit 2"
"$edge" --data-dir "$tmp/d" load-list good "$tmp/missing.txt" 2>"$tmp/err"
is "$?" 1 "load-list of a missing file: exit 1"
ok "... names the file" grep -q "missing.txt" "$tmp/err"
printf 'ok-1\nbad\x01id\n' >"$tmp/bad.txt"
"$edge" --data-dir "$tmp/d" load-list good "$tmp/bad.txt" 2>"$tmp/err"
is "$?" 1 "load-list of a malformed file: exit 1"
ok "... names the line" grep -q "line 2" "$tmp/err"
printf 'a\nb\nb\n# c\n' >"$tmp/ok.txt"
out=$("$edge" --json --data-dir "$tmp/d" load-list good "$tmp/ok.txt")
is "$?" 0 "load-list of a good file"
ok "--json output" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["ok"] and d["ids"] == 3' "$out"

# one-shot sync with --json: an empty storage, then garbage in it
mkdir -p "$tmp/store/manifests/demo/android"
key=$(tr -d ' \n' <"$HP_SRC_DIR/manifests/vectors/keys/manifest.pub") # any valid public key
out=$("$edge" --json --data-dir "$tmp/d" --source "file://$tmp/store" --trusted-key "$key" sync)
is "$?" 0 "sync of an empty storage"
ok "sync --json is JSON with counts" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["ok"] and d["updated"] == 0' "$out"
echo '{"payload":"x"}' >"$tmp/store/manifests/demo/android/production.json"
out=$("$edge" --json --data-dir "$tmp/d" --source "file://$tmp/store" --trusted-key "$key" sync 2>"$tmp/err")
is "$?" 0 "a refused manifest does not fail the pass"
ok "... it is counted" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["rejected"] == 1 and d["updated"] == 0' "$out"
ok "... and logged" grep -q "refused 'manifests/demo/android/production.json'" "$tmp/err"
port=$(free_port)
HOTPATCH_S3_ENDPOINT=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y \
    "$edge" --data-dir "$tmp/d" --source "s3://bucket/p" --trusted-key "$key" sync 2>"$tmp/err" >/dev/null
rc=$?
ok "unreachable S3: non-zero exit ($rc)" test "$rc" -ne 0
ok "... with a one-line reason" test "$(wc -l <"$tmp/err")" -ge 1

# a port already in use (held by a socket without SO_REUSEPORT)
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(8)' "$tmp/port" &
holder=$!
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
timeout 5 "$edge" --listen "127.0.0.1:$port" --data-dir "$tmp/d" serve 2>"$tmp/err"
rc=$?
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
ok "busy port: exit 1 ($rc)" test "$rc" -eq 1
ok "... cannot listen" grep -q "cannot listen" "$tmp/err"

done_testing
