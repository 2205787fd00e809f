#!/usr/bin/env bash
# bench_sdk.sh - the device side (hotpatch-agent on libhotpatch) against
# references measured in the same run, over loopback from one nginx serving a
# file:// storage root that `hotpatch release` (serverless) filled:
#   install   `hotpatch-agent update` on a fresh data dir: check + verify the
#             manifest, download (hash while streaming), verify the bundle
#             signature, extract with every guard, fsync, atomic swap
#   reference curl the manifest + curl the bundle + sha256sum + unzip (no
#             verification, no guards, no fsync)
#   check     `hotpatch-agent check` on an up-to-date device (manifest fetch,
#             signature verification, decision: a process per check)
#   reference `curl` of the same manifest (a process per fetch)
# Bundle: HP_BENCH_SDK_MB (default 24) MiB over 400 files, half compressible
# text, half random. Best of HP_BENCH_ROUNDS (default 5) runs each; prints
# seconds and the ratios.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
BIN=${HP_BIN:-$top/${HP_BUILD:-build}/bin}
ROUNDS=${HP_BENCH_ROUNDS:-5}
MB=${HP_BENCH_SDK_MB:-24}
for t in nginx curl unzip sha256sum python3 bc; do
    command -v $t >/dev/null || { echo "bench_sdk: '$t' not found"; exit 1; }
done
for b in hotpatch hotpatch-agent; do
    [ -x "$BIN/$b" ] || { echo "bench_sdk: build first ($BIN/$b missing)"; exit 1; }
done
tmp=$(mktemp -d /tmp/hp-bench-sdk.XXXXXX)
chmod 755 "$tmp"
cleanup() {
    [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${HP_BENCH_KEEP:-}" ] && trap - EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export XDG_CONFIG_HOME=$tmp/cfg

# A bundle dir: MB MiB in 400 files, half text (compressible), half random.
python3 - "$tmp/bundle" "$MB" <<'PY'
import os, sys
d, mb = sys.argv[1], int(sys.argv[2])
per = mb * 1024 * 1024 // 400
os.makedirs(d + "/assets", exist_ok=True)
import random
rnd = random.Random(42)
words = ["function", "return", "var", "const", "this", "props", "state", "render", "View", "Text",
         "useEffect", "null", "undefined", "require", "module", "exports", "__d", "=>", "{", "}", "(", ")"]
def js(n):
    # minified-JS-like text: keywords and random identifiers (deflates about 3-4:1, like a real bundle)
    out, size = [], 0
    while size < n:
        w = rnd.choice(words) if rnd.random() < 0.6 else "_%x" % rnd.getrandbits(24)
        out.append(w)
        size += len(w) + 1
    return (" ".join(out)).encode()[:n]
with open(d + "/index.android.bundle", "wb") as f:
    f.write(js(per * 40))
for i in range(199):
    with open("%s/assets/t%03d.js" % (d, i), "wb") as f:
        f.write(js(per))
for i in range(200):
    with open("%s/assets/r%03d.bin" % (d, i), "wb") as f:
        f.write(os.urandom(per))
PY
"$BIN/hotpatch" --json keygen --out "$tmp/release.key" >"$tmp/rk.json" || exit 1
"$BIN/hotpatch" --json keygen --manifest --out "$tmp/manifest.key" >"$tmp/mk.json" || exit 1
RPUB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$tmp/rk.json")
MPUB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$tmp/mk.json")
mkdir -p "$tmp/storage"
"$BIN/hotpatch" --json release --app bench --platform android --version 1.0.0 --target-binary '*' \
    --bundle-dir "$tmp/bundle" --storage "file://$tmp/storage" --signing-key "$tmp/release.key" \
    --manifest-key "$tmp/manifest.key" >"$tmp/rel.json" 2>"$tmp/rel.err" || { cat "$tmp/rel.err"; exit 1; }
ZIPREL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["release"]["bundle_url"])' "$tmp/rel.json")
ZIPSIZE=$(stat -c %s "$tmp/storage/$ZIPREL")

user=""
[ "$(id -u)" -eq 0 ] && user="user root;"
cat >"$tmp/nginx.conf" <<NGX
$user
worker_processes 1;
daemon on;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 256; }
http {
    access_log off;
    server { listen 127.0.0.1:$port; root $tmp/storage; }
}
NGX
nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" || { echo "bench_sdk: nginx did not start"; exit 1; }
BASE=http://127.0.0.1:$port
for i in $(seq 50); do curl -sf -o /dev/null "$BASE/manifests/bench/android/production.json" && break; sleep 0.1; done

AG=("$BIN/hotpatch-agent" --app bench --platform android --channel production --binary-version 1.0.0
    --device-id bench-1 --trusted-key "$MPUB" --release-key "$RPUB" --manifest-base "$BASE")
now() { date +%s.%N; }
best() { sort -g | head -1; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# Each timed install starts with no dirty page left by the previous one:
# without the `sync` (outside the timer) the agent's fsyncs would pay for the
# write-back of the tree the reference's unzip left in the page cache.
# Each prints "wall cpu" in seconds: cpu is user+sys of the install and its
# children (bash's `time`), the figure a loaded machine disturbs least.
TIMEFORMAT='%R %U %S'
timed() {
    local t
    t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || return 1
    echo "$t" | awk '{printf "%.4f %.4f\n", $1, $2 + $3}'
}
install_agent() {
    rm -rf "$tmp/dev"
    sync
    timed "${AG[@]}" --data-dir "$tmp/dev" update || { echo "bench_sdk: agent update failed" >&2; return 1; }
}
ref_steps() {
    curl -sf -o "$tmp/ref/m.json" "$BASE/manifests/bench/android/production.json" &&
        curl -sf -o "$tmp/ref/b.zip" "$BASE/$ZIPREL" && sha256sum "$tmp/ref/b.zip" >/dev/null &&
        unzip -q "$tmp/ref/b.zip" -d "$tmp/ref/out"
}
install_ref() {
    rm -rf "$tmp/ref" && mkdir -p "$tmp/ref"
    sync
    timed ref_steps
}
# The same plus what crash safety costs at least: every extracted file and
# directory fsynced (coreutils `sync FILE...`), as the agent does before its
# journal commit. Not the headline reference; it says how much of the gap is
# durability rather than our code.
ref_durable_steps() {
    ref_steps && find "$tmp/ref/out" -print0 | xargs -0 sync --
}
install_ref_durable() {
    rm -rf "$tmp/ref" && mkdir -p "$tmp/ref"
    sync
    timed ref_durable_steps
}

ia=() ir=() id=()
for r in $(seq "$ROUNDS"); do
    ia+=("$(install_agent)") || exit 1
    ir+=("$(install_ref)") || exit 1
    id+=("$(install_ref_durable)") || exit 1
done
col() { local k=$1; shift; printf '%s\n' "$@" | cut -d' ' -f"$k"; }
IA=$(col 1 "${ia[@]}" | best)
IR=$(col 1 "${ir[@]}" | best)
MA=$(col 1 "${ia[@]}" | median)
MR=$(col 1 "${ir[@]}" | median)
CPA=$(col 2 "${ia[@]}" | median)
CPR=$(col 2 "${ir[@]}" | median)
MD=$(col 1 "${id[@]}" | median)
# Same files extracted?
(cd "$tmp/ref/out" && find . -type f | LC_ALL=C sort | xargs sha256sum) >"$tmp/ref.sum"
(cd "$tmp/dev/current" && find . -type f | LC_ALL=C sort | xargs sha256sum) >"$tmp/dev.sum"
cmp -s "$tmp/ref.sum" "$tmp/dev.sum" || { echo "bench_sdk: agent and unzip extracted different trees"; exit 1; }

N=20
check_agent() {
    local t0 t1 rc
    t0=$(now)
    for i in $(seq $N); do
        rc=0
        "${AG[@]}" --data-dir "$tmp/dev" check >/dev/null || rc=$?
        [ "$rc" -eq 3 ] || { echo "bench_sdk: check exit $rc" >&2; return 1; }
    done
    t1=$(now)
    echo "($t1 - $t0) / $N" | bc -l
}
check_ref() {
    local t0 t1
    t0=$(now)
    for i in $(seq $N); do curl -sf -o /dev/null "$BASE/manifests/bench/android/production.json" || return 1; done
    t1=$(now)
    echo "($t1 - $t0) / $N" | bc -l
}
ca=() cr=()
for r in $(seq "$ROUNDS"); do
    ca+=("$(check_agent)") || exit 1
    cr+=("$(check_ref)") || exit 1
done
CA=$(printf '%s\n' "${ca[@]}" | best)
CR=$(printf '%s\n' "${cr[@]}" | best)

printf 'bundle: %d MiB in 400 files, zip %d bytes\n' "$MB" "$ZIPSIZE"
printf 'install   agent %.3f s   reference (curl+sha256sum+unzip) %.3f s   ratio %.2f\n' "$IA" "$IR" \
    "$(echo "$IA / $IR" | bc -l)"
printf 'install   median agent %.3f s   reference %.3f s   ratio %.2f   (%d rounds; load %s)\n' "$MA" "$MR" \
    "$(echo "$MA / $MR" | bc -l)" "$ROUNDS" "$(cut -d' ' -f1 /proc/loadavg)"
printf 'install   cpu (user+sys, median) agent %.3f s   reference %.3f s   ratio %.2f\n' "$CPA" "$CPR" \
    "$(echo "$CPA / $CPR" | bc -l)"
printf 'install   median reference + fsync of every extracted file %.3f s   agent/that %.2f\n' "$MD" \
    "$(echo "$MA / $MD" | bc -l)"
printf 'check     agent %.1f ms  reference (curl manifest)         %.1f ms  ratio %.2f\n' \
    "$(echo "$CA * 1000" | bc -l)" "$(echo "$CR * 1000" | bc -l)" "$(echo "$CA / $CR" | bc -l)"
