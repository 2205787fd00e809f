#!/usr/bin/env bash
# bench_edge.sh - hotpatch-edge throughput against references measured in the
# same run, on loopback, servers pinned to CPU 0 and wrk to CPU 1:
#   edge         GET /v1/check (mix: 80% 204 up to date, 20% 200 + signed manifest)
#   nginx        the same manifest file as a static file: worker_processes 1,
#                access_log off, keepalive_requests 1000000, nginx defaults otherwise
#   nginx-tuned  the same plus open_file_cache and sendfile off (nginx's best for a
#                2.6 KB file here; sendfile + tcp_nopush measured slower)
#   floor        tests/bench/edge_floor.c: one fixed 204 per request head, nothing else
#                (what any epoll server costs here; the edge's ceiling)
#   pg           tests/bench/edge_pgserver: byte-identical /v1/check answers, but the
#                channel and its releases come from PostgreSQL per check (libpq,
#                prepared statement, one connection per thread; Postgres on CPU 0 too)
# at 64 and 256 connections: `taskset -c 1 wrk -t1 -cN -dD --latency`, requests
# built in the Lua init() with 1000 device ids (tests/bench/edge_wrk.lua).
# All servers run at once (idle ones cost nothing) and the runs are interleaved
# for HP_BENCH_ROUNDS rounds (default 2), keeping each target's best run, so a
# burst of load from elsewhere on the machine does not land on one target only.
# Prints rps, p50, p99, the server-side CPU time per request (user + system of
# the server processes, from /proc: the steadier figure on a shared machine) and
# the ratios. HP_BENCH_DURATION (seconds, default 10), HP_BENCH_SKIP_PG=1.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
B=${HP_BUILD:-build}
BIN=${HP_BIN:-$top/$B/bin}
DUR=${HP_BENCH_DURATION:-10}
ROUNDS=${HP_BENCH_ROUNDS:-2}
for t in wrk nginx taskset cc curl python3; do
    command -v $t >/dev/null || { echo "bench_edge: '$t' not found (make deps)"; exit 1; }
done
[ -x "$BIN/hotpatch-edge" ] || { echo "bench_edge: build first ($BIN/hotpatch-edge missing)"; exit 1; }

tmp=$(mktemp -d /tmp/hp-bench-edge.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for f in "$tmp"/nginx-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
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
    echo "bench_edge: $1 did not come up"
    return 1
}

LIBS="$B/lib/libcommon.a -ljansson -lsodium -lcurl -lpthread -lm"
cc -std=c11 -O2 -Icommon/include -o "$tmp/edge_bench_tool" tests/bench/edge_bench_tool.c $LIBS || exit 1
"$tmp/edge_bench_tool" "$tmp" >/dev/null || exit 1
key=$(cat "$tmp/trusted.pub")
CHECK="/v1/check?app=demo&platform=android&channel=production&binary_version=2.1.0&device=device-000005&release=r1"

# CPU time (clock ticks, user + system) used so far by the pids a function prints.
cpu_ticks() { # FUNCTION
    local t=0 p v
    for p in $($1); do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + v))
    done
    echo $t
}
HZ=$(getconf CLK_TCK)

# run_wrk CONNS MODE URL PIDFUNC -> "rps p50 p99 cpu_us_per_request"
run_wrk() {
    local out c0 c1 rps p50 p99 reqs cpu
    c0=$(cpu_ticks "$4")
    out=$(taskset -c 1 wrk -t1 -c"$1" -d"${DUR}s" --latency -s tests/bench/edge_wrk.lua "$3" -- "$2" 2>&1)
    c1=$(cpu_ticks "$4")
    echo "$out" >>"$tmp/wrk.log"
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="${reqs:-0}" \
        'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "?" }')
    echo "$out" | grep -q 'Socket errors' && echo "  note ($3, c$1): $(echo "$out" | grep 'Socket errors')" >&2
    echo "${rps:-0} ${p50:-?} ${p99:-?} $cpu"
}

declare -A URL MODE PIDF
targets=()

# ---- hotpatch-edge
eport=$(free_port)
taskset -c 0 "$BIN/hotpatch-edge" serve --listen "127.0.0.1:$eport" --data-dir "$tmp/index" \
    --source "file://$tmp/store" --trusted-key "$key" --log-level warn >"$tmp/edge.log" 2>&1 &
edge_pid=$!
pids+=($edge_pid)
wait_http "http://127.0.0.1:$eport/healthz" || exit 1
for _ in $(seq 1 100); do
    curl -s "http://127.0.0.1:$eport/healthz" | grep -q '"manifests":1' && break
    sleep 0.05
done
st=$(curl -s -o "$tmp/edge.body" -w '%{http_code}' "http://127.0.0.1:$eport$CHECK")
[ "$st" = 200 ] || { echo "bench_edge: edge answered $st"; cat "$tmp/edge.log"; exit 1; }
edge_pids() { echo "$edge_pid"; }
targets+=(edge)
URL[edge]="http://127.0.0.1:$eport"
MODE[edge]=check
PIDF[edge]=edge_pids

# ---- nginx
start_nginx() { # NAME EXTRA-DIRECTIVES
    local name=$1 extra=$2 nport
    nport=$(free_port)
    cat >"$tmp/$name.conf" <<NGINX
worker_processes 1;
daemon off;
pid $tmp/$name.pid;
error_log $tmp/$name.err warn;
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
    taskset -c 0 nginx -c "$tmp/$name.conf" -p "$tmp" >"$tmp/$name.out" 2>&1 &
    wait_http "http://127.0.0.1:$nport/production.json" || { cat "$tmp/$name.err" "$tmp/$name.out"; exit 1; }
    cmp -s "$tmp/edge.body" <(curl -s "http://127.0.0.1:$nport/production.json") ||
        { echo "bench_edge: nginx and the edge serve different manifest bytes"; exit 1; }
    targets+=("$name")
    URL[$name]="http://127.0.0.1:$nport"
    MODE[$name]=static
    PIDF[$name]=${name//-/_}_pids
    eval "${name//-/_}_pids() { local m; m=\$(cat '$tmp/$name.pid'); echo \"\$m \$(pgrep -P \"\$m\")\"; }"
}
start_nginx nginx-default ""
start_nginx nginx-tuned "open_file_cache max=64 inactive=60s; sendfile off; tcp_nodelay on;"

# ---- floor: the least an epoll keep-alive server can do per request (a fixed 204)
cc -std=c11 -O2 -Icommon/include -o "$tmp/edge_floor" tests/bench/edge_floor.c || exit 1
fport=$(free_port)
taskset -c 0 "$tmp/edge_floor" "$fport" >"$tmp/floor.log" 2>&1 &
floor_pid=$!
pids+=($floor_pid)
wait_http "http://127.0.0.1:$fport/" || exit 1
floor_pids() { echo "$floor_pid"; }
targets+=(floor)
URL[floor]="http://127.0.0.1:$fport"
MODE[floor]=check
PIDF[floor]=floor_pids

# ---- Postgres per check
if [ "${HP_BENCH_SKIP_PG:-0}" != 1 ]; then
    . tests/harness/pg.sh
    if cc -std=c11 -O2 -Icommon/include -I"$(pg_config --includedir)" -o "$tmp/edge_pgserver" \
        tests/bench/edge_pgserver.c $LIBS -lpq && pg_start; then
        # Postgres works for the server side: it runs on the server's CPU too.
        for p in $(pgrep -f "$_HP_PG_DIR"); do taskset -a -c -p 0 "$p" >/dev/null 2>&1; done
        psql -q "$HP_TEST_PG_URL" -f "$tmp/pg.sql" >/dev/null || exit 1
        pport=$(free_port)
        taskset -c 0 "$tmp/edge_pgserver" "$pport" 4 "$HP_TEST_PG_URL" >"$tmp/pg-variant.log" 2>&1 &
        pg_variant_pid=$!
        pids+=($pg_variant_pid)
        wait_http "http://127.0.0.1:$pport$CHECK" || exit 1
        cmp -s "$tmp/edge.body" <(curl -s "http://127.0.0.1:$pport$CHECK") ||
            { echo "bench_edge: the pg variant answers differently from the edge"; exit 1; }
        pg_pids() {
            local pm
            pm=$(head -1 "$_HP_PG_DIR/data/postmaster.pid")
            echo "$pg_variant_pid $pm $(pgrep -P "$pm")"
        }
        targets+=(pg)
        URL[pg]="http://127.0.0.1:$pport"
        MODE[pg]=check
        PIDF[pg]=pg_pids
    else
        echo "bench_edge: Postgres variant skipped (no cluster)"
    fi
fi

# warm-up, then interleaved rounds; keep each target's best rps
for t in "${targets[@]}"; do
    taskset -c 1 wrk -t1 -c64 -d2s -s tests/bench/edge_wrk.lua "${URL[$t]}" -- "${MODE[$t]}" >/dev/null 2>&1
done
declare -A R
for round in $(seq 1 "$ROUNDS"); do
    for c in 64 256; do
        for t in "${targets[@]}"; do
            res=$(run_wrk $c "${MODE[$t]}" "${URL[$t]}" "${PIDF[$t]}")
            best=${R[$t$c]:-0}
            if awk -v a="${res%% *}" -v b="${best%% *}" 'BEGIN { exit !(a > b) }'; then R[$t$c]=$res; fi
        done
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
field() { echo "${R[$1]:-0 ? ? ?}" | cut -d' ' -f"$2"; }
echo "hotpatch-edge bench: $(nproc) CPUs, servers on CPU 0, wrk on CPU 1, ${DUR}s runs, best of $ROUNDS," \
    "$(wc -c <"$tmp/static/production.json")-byte manifest, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-18s %12s %10s %10s %18s\n' "target" "rps" "p50" "p99" "server CPU us/req"
for c in 64 256; do
    for t in "${targets[@]}"; do
        printf '%-18s %12s %10s %10s %18s\n' "$t c$c" "$(field $t$c 1)" "$(field $t$c 2)" "$(field $t$c 3)" \
            "$(field $t$c 4)"
    done
done
for c in 64 256; do
    e=$(field edge$c 1)
    ec=$(field edge$c 4)
    line="c$c: edge/nginx = $(ratio "$e" "$(field nginx-default$c 1)")x rps (target >= 2.0)"
    line="$line, $(ratio "$(field nginx-default$c 4)" "$ec")x less CPU/req"
    line="$line; edge/nginx-tuned = $(ratio "$e" "$(field nginx-tuned$c 1)")x rps"
    line="$line, $(ratio "$(field nginx-tuned$c 4)" "$ec")x less CPU/req"
    line="$line; edge/floor = $(ratio "$e" "$(field floor$c 1)")x rps (floor/nginx = $(ratio "$(field floor$c 1)" "$(field nginx-default$c 1)")x)"
    if [ -n "${URL[pg]:-}" ]; then
        line="$line; edge/postgres-per-check = $(ratio "$e" "$(field pg$c 1)")x rps (target >= 5)"
        line="$line, $(ratio "$(field pg$c 4)" "$ec")x less CPU/req"
    fi
    echo "$line"
done
# for tests/bench/capacity.py
mkdir -p "${HP_BUILD:-build}/bench"
printf '{"rps_c64": %s, "cpu_us_per_req_c64": %s, "rps_c256": %s, "cpu_us_per_req_c256": %s}\n' \
    "$(field edge64 1)" "$(field edge64 4)" "$(field edge256 1)" "$(field edge256 4)" >"${HP_BUILD:-build}/bench/edge.json"
