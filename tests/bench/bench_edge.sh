#!/usr/bin/env bash
# bench_edge.sh - hotpatch-edge throughput against two references measured in
# the same run, on loopback, server pinned to CPU 0 and wrk to CPU 1:
#   edge    GET /v1/check (mix: 80% 204 up to date, 20% 200 + signed manifest)
#   nginx   the same manifest file as a static file (access_log off,
#           keepalive_requests 1000000, worker_processes 1, nginx defaults
#           otherwise), and nginx-tuned (plus open_file_cache, sendfile off)
#   pg      tests/bench/edge_pgserver: same /v1/check answers, but the channel
#           and its releases come from PostgreSQL per check (libpq, prepared
#           statement, one connection per thread; Postgres also pinned to CPU 0)
# at 64 and 256 connections: `taskset -c 1 wrk -t1 -cN -dD --latency`.
# Prints rps, p50, p99 and the ratios edge/nginx and edge/pg.
# HP_BENCH_DURATION (seconds, default 10), HP_BENCH_SKIP_PG=1 to skip the pg variant.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
B=${HP_BUILD:-build}
BIN=${HP_BIN:-$top/$B/bin}
DUR=${HP_BENCH_DURATION:-10}
for t in wrk nginx taskset cc; do
    command -v $t >/dev/null || { echo "bench_edge: '$t' not found (make deps)"; exit 1; }
done
[ -x "$BIN/hotpatch-edge" ] || { echo "bench_edge: build first ($BIN/hotpatch-edge missing)"; exit 1; }

tmp=$(mktemp -d /tmp/hp-bench-edge.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
    wait 2>/dev/null
    if [ -n "${_HP_PG_DIR:-}" ]; then pg_stop; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL
    for _ in $(seq 1 200); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.05
    done
    echo "bench_edge: $1 did not come up"; return 1
}

LIBS="$B/lib/libcommon.a -ljansson -lsodium -lcurl -lpthread -lm"
cc -std=c11 -O2 -Icommon/include -o "$tmp/edge_bench_tool" tests/bench/edge_bench_tool.c $LIBS || exit 1
"$tmp/edge_bench_tool" "$tmp" || exit 1
key=$(cat "$tmp/trusted.pub")

# CPU time (clock ticks, user + system) used so far by the server-side processes
# named by the function in $SERVER_PIDS (it prints pids); this machine is shared,
# so CPU microseconds per request is a steadier measure of cost than rps alone.
cpu_ticks() {
    local t=0 p v
    for p in $($SERVER_PIDS); do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + v))
    done
    echo $t
}
HZ=$(getconf CLK_TCK)

# wrk N MODE URL -> "rps p50 p99 cpu_us_per_request" (latencies as wrk prints them)
run_wrk() {
    local out c0 c1
    c0=$(cpu_ticks)
    out=$(taskset -c 1 wrk -t1 -c"$1" -d"${DUR}s" --latency -s tests/bench/edge_wrk.lua "$3" -- "$2" 2>&1)
    c1=$(cpu_ticks)
    echo "$out" >>"$tmp/wrk.log"
    local rps p50 p99 errs reqs cpu
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="${reqs:-0}" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "?" }')
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    [ -n "$errs" ] && echo "  note: $errs" >&2
    echo "${rps:-0} ${p50:-?} ${p99:-?} $cpu"
}

declare -A R
# ---- hotpatch-edge
eport=$(free_port)
taskset -c 0 "$BIN/hotpatch-edge" serve --listen "127.0.0.1:$eport" --data-dir "$tmp/index" \
    --source "file://$tmp/store" --trusted-key "$key" --log-level warn >"$tmp/edge.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$eport/healthz" || exit 1
for _ in $(seq 1 100); do
    curl -s "http://127.0.0.1:$eport/healthz" | grep -q '"manifests":1' && break
    sleep 0.05
done
u="http://127.0.0.1:$eport/v1/check?app=demo&platform=android&channel=production&binary_version=2.1.0&device=device-000005&release=r1"
edge_status=$(curl -s -o "$tmp/edge.body" -w '%{http_code}' "$u")
[ "$edge_status" = 200 ] || { echo "bench_edge: edge answered $edge_status"; cat "$tmp/edge.log"; exit 1; }
taskset -c 1 wrk -t1 -c64 -d2s -s tests/bench/edge_wrk.lua "http://127.0.0.1:$eport" >/dev/null 2>&1 # warm-up
edge_pid=${pids[0]}
edge_pids() { echo "$edge_pid"; }
SERVER_PIDS=edge_pids
for c in 64 256; do R[edge$c]=$(run_wrk $c check "http://127.0.0.1:$eport"); done
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null

# ---- nginx, static manifest: the configuration the issue names (nginx defaults
# otherwise), then nginx's best for a small file on this machine (open_file_cache,
# sendfile off: measured faster than sendfile + tcp_nopush for 2.6 KB).
run_nginx() { # NAME EXTRA-DIRECTIVES
    local name=$1 extra=$2 nport
    nport=$(free_port)
    rm -f "$tmp/nginx.pid"
    cat >"$tmp/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    default_type application/json;
    $extra
    server {
        listen 127.0.0.1:$nport;
        root $tmp/static;
    }
}
NGINX
    taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" >"$tmp/nginx.out" 2>&1 &
    local npid=$!
    wait_http "http://127.0.0.1:$nport/production.json" || { cat "$tmp/nginx.err" "$tmp/nginx.out"; exit 1; }
    cmp -s "$tmp/edge.body" <(curl -s "http://127.0.0.1:$nport/production.json") ||
        { echo "bench_edge: nginx and the edge serve different manifest bytes"; exit 1; }
    taskset -c 1 wrk -t1 -c64 -d2s -s tests/bench/edge_wrk.lua "http://127.0.0.1:$nport" -- static >/dev/null 2>&1
    SERVER_PIDS=nginx_pids
    for c in 64 256; do R[$name$c]=$(run_wrk $c static "http://127.0.0.1:$nport"); done
    kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
    wait "$npid" 2>/dev/null
}
nginx_pids() { local m; m=$(cat "$tmp/nginx.pid"); echo "$m $(pgrep -P "$m")"; }
run_nginx nginx ""
run_nginx nginx-tuned "open_file_cache max=64 inactive=60s; sendfile off; tcp_nodelay on;"

# ---- Postgres per check
have_pg=0
if [ "${HP_BENCH_SKIP_PG:-0}" != 1 ]; then
    . tests/harness/pg.sh
    if cc -std=c11 -O2 -Icommon/include -I"$(pg_config --includedir)" -o "$tmp/edge_pgserver" \
        tests/bench/edge_pgserver.c $LIBS -lpq && pg_start; then
        # Postgres runs on the server's CPU too: it is part of the server side.
        for p in $(pgrep -f "$_HP_PG_DIR"); do taskset -a -c -p 0 "$p" >/dev/null 2>&1; done
        psql -q "$HP_TEST_PG_URL" -f "$tmp/pg.sql" >/dev/null || exit 1
        pport=$(free_port)
        taskset -c 0 "$tmp/edge_pgserver" "$pport" 4 "$HP_TEST_PG_URL" >"$tmp/pg-variant.log" 2>&1 &
        pids+=($!)
        pu="http://127.0.0.1:$pport/v1/check?app=demo&platform=android&channel=production&binary_version=2.1.0&device=device-000005&release=r1"
        wait_http "$pu" || exit 1
        cmp -s "$tmp/edge.body" <(curl -s "$pu") ||
            { echo "bench_edge: the pg variant answers differently from the edge"; exit 1; }
        taskset -c 1 wrk -t1 -c64 -d2s -s tests/bench/edge_wrk.lua "http://127.0.0.1:$pport" >/dev/null 2>&1
        pg_variant_pid=${pids[-1]}
        pg_pids() {
            local pm
            pm=$(head -1 "$_HP_PG_DIR/data/postmaster.pid")
            echo "$pg_variant_pid $pm $(pgrep -P "$pm")"
        }
        SERVER_PIDS=pg_pids
        for c in 64 256; do R[pg$c]=$(run_wrk $c check "http://127.0.0.1:$pport"); done
        have_pg=1
    else
        echo "bench_edge: Postgres variant skipped (no cluster)"
    fi
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "hotpatch-edge bench: $(nproc) CPUs, server on CPU 0, wrk on CPU 1, ${DUR}s per run, $(wc -c <"$tmp/static/production.json") byte manifest"
printf '%-16s %12s %10s %10s %16s\n' "target" "rps" "p50" "p99" "server CPU us/req"
for c in 64 256; do
    for s in edge nginx nginx-tuned pg; do
        [ "$s" = pg ] && [ $have_pg = 0 ] && continue
        set -- ${R[$s$c]}
        printf '%-16s %12s %10s %10s %16s\n' "$s c$c" "$1" "$2" "$3" "$4"
    done
done
for c in 64 256; do
    e=$(echo ${R[edge$c]} | cut -d' ' -f1)
    n=$(echo ${R[nginx$c]} | cut -d' ' -f1)
    ec=$(echo ${R[edge$c]} | cut -d' ' -f4)
    nc=$(echo ${R[nginx$c]} | cut -d' ' -f4)
    t=$(echo ${R[nginx-tuned$c]} | cut -d' ' -f1)
    tc=$(echo ${R[nginx-tuned$c]} | cut -d' ' -f4)
    line="c$c: edge/nginx-static = $(ratio "$e" "$n")x rps (target >= 2.0), $(ratio "$nc" "$ec")x less CPU per request"
    line="$line; edge/nginx-tuned = $(ratio "$e" "$t")x rps, $(ratio "$tc" "$ec")x less CPU"
    if [ $have_pg = 1 ]; then
        p=$(echo ${R[pg$c]} | cut -d' ' -f1)
        pc=$(echo ${R[pg$c]} | cut -d' ' -f4)
        line="$line; edge/postgres-per-check = $(ratio "$e" "$p")x rps (target >= 5), $(ratio "$pc" "$ec")x less CPU"
    fi
    echo "$line"
done
