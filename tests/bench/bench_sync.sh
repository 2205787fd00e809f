#!/usr/bin/env bash
# bench_sync.sh - edge sync at 10,000 channel manifests + a 1,000,000-id list,
# against Ceph radosgw (tests/harness/rgw.sh) and a file:// tree, in the same run:
#   listing  hotpatch-edge --full-sync-interval 0: every pass lists manifests/
#            (the behaviour before the change feed; the reference)
#   feed     hotpatch-edge defaults: cold start from feed/snapshot, then one
#            conditional GET of feed/index.json (+ the lists/ listing) per pass
# Per mode: cold start (fresh index) to the first channel answering and to all
# 10,000 answering; idle at --poll-interval 1 for IDLE seconds: storage requests
# per pass (from /metrics) and CPU per pass as % of a core (utime+stime of the
# edge, /proc); RSS after the idle period; feed mode also: one changed manifest
# (written + recorded in the feed by tests/bench/sync_bench_tool.c) until the
# edge serves it. Goals (issue 16): <= 2 requests and <= 1% of a core per idle
# poll, cold start <= 3 s, a change visible <= 2 s, RSS <= 64 MB.
# Figures go to stdout and to $HP_BUILD/bench/sync.json (read by capacity.py).
# HP_BENCH_SYNC_N (default 10000), HP_BENCH_SYNC_IDLE (seconds, default 10),
# HP_BENCH_SYNC_STORES (default "s3 file").
set -u
cd "$(dirname "$0")/../.."
top=$PWD
B=${HP_BUILD:-build}
BIN=${HP_BIN:-$top/$B/bin}
N=${HP_BENCH_SYNC_N:-10000}
IDLE=${HP_BENCH_SYNC_IDLE:-10}
STORES=${HP_BENCH_SYNC_STORES:-s3 file}
[ -x "$BIN/hotpatch-edge" ] || { echo "bench_sync: build first"; exit 1; }
tmp=$(mktemp -d /tmp/hp-bench-sync.XXXXXX)
edge_pid=
cleanup() {
    [ -n "$edge_pid" ] && kill "$edge_pid" 2>/dev/null && wait "$edge_pid" 2>/dev/null
    declare -F rgw_stop >/dev/null && rgw_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
LIBS="$B/lib/libcommon.a -ljansson -lsodium -lcurl -lpthread -lm"
cc -std=c11 -O2 -Icommon/include -o "$tmp/tool" tests/bench/sync_bench_tool.c $LIBS || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1==m {print $2}'; }
wait_seq() { # I SEQ TIMEOUT_S -> seconds taken (one keep-alive client polling every 10 ms)
    "$tmp/tool" wait "http://127.0.0.1:$port/v1/manifests/bench/android/c$1.json" "$2" "$3"
}
load1() { cut -d' ' -f1 /proc/loadavg; }
json="$tmp/sync.json"
echo "{" > "$json"
first=1
hz=$(getconf CLK_TCK)

for store in $STORES; do
    if [ "$store" = s3 ]; then
        . tests/harness/rgw.sh
        rgw_start || { echo "bench_sync: cannot start radosgw"; exit 1; }
        export HOTPATCH_S3_ENDPOINT=$HP_TEST_S3_ENDPOINT AWS_REGION=$HP_TEST_S3_REGION
        export AWS_ACCESS_KEY_ID=$HP_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HP_TEST_S3_SECRET_KEY
        url="s3://$HP_TEST_S3_BUCKET/bench-sync"
    else
        mkdir -p "$tmp/store"
        url="file://$tmp/store"
    fi
    t0=$(now)
    rm -f "$tmp/m.key" "$tmp/m.key.pub"
    "$tmp/tool" gen "$url" "$N" "$tmp/m.key" || exit 1
    echo "$store: wrote $N manifests + feed + snapshot + 1M-id list in $(python3 -c "print('%.1f' % ($(now) - $t0))") s"
    key=$(cat "$tmp/m.key.pub")
    for mode in listing feed; do
        port=$(free_port)
        full=600
        [ "$mode" = listing ] && full=0
        rm -rf "$tmp/idx"
        "$BIN/hotpatch-edge" serve --listen "127.0.0.1:$port" --data-dir "$tmp/idx" --source "$url" \
            --trusted-key "$key" --poll-interval 1 --full-sync-interval $full --threads 1 --log-level warn \
            >"$tmp/edge-$store-$mode.log" 2>&1 &
        edge_pid=$!
        first_s=$(wait_seq 0 1 120) || { echo "bench_sync: $store $mode: c0 never served"; exit 1; }
        all_s=$(wait_seq $((N - 1)) 1 120) || { echo "bench_sync: $store $mode: c$((N - 1)) never served"; exit 1; }
        all_s=$(python3 -c "print('%.3f' % ($first_s + $all_s))")
        cold_cpu=$(python3 -c "print('%.2f' % ($(ticks $edge_pid) / $hz))")
        sleep 3 # the list and the rest of the first passes
        r0=$(metric hotpatch_edge_storage_requests_total)
        p0=$(metric hotpatch_edge_sync_passes_total)
        c0=$(ticks $edge_pid)
        sleep "$IDLE"
        c1=$(ticks $edge_pid)
        r1=$(metric hotpatch_edge_storage_requests_total)
        p1=$(metric hotpatch_edge_sync_passes_total)
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$edge_pid/status")
        vis=null
        if [ "$mode" = feed ]; then
            nseq=$("$tmp/tool" change "$url" $((N / 2)) "$tmp/m.key") || exit 1
            vis=$(wait_seq $((N / 2)) "$nseq" 30) || vis=null
        fi
        read -r rpp cpu <<<"$(python3 -c "
p = max($p1 - $p0, 1)
print('%.2f %.3f' % (($r1 - $r0) / p, 100.0 * ($c1 - $c0) / $hz / $IDLE))")"
        load=$(load1)
        echo "$store $mode: cold start first answer ${first_s}s, all $N ${all_s}s (edge CPU ${cold_cpu}s); idle: $((p1 - p0)) passes," \
            "$rpp requests/pass, CPU ${cpu}% of a core at 1 s polls; RSS $((rss / 1024)) MB; change visible: ${vis}s;" \
            "load average $load (2 cores, shared)"
        [ $first -eq 1 ] || echo "," >>"$json"
        first=0
        printf '"%s_%s": {"manifests": %d, "cold_first_s": %s, "cold_all_s": %s, "cold_cpu_s": %s, "requests_per_poll": %s, "cpu_pct_per_1s_poll": %s, "rss_mb": %d, "change_visible_s": %s, "load1": %s}\n' \
            "$store" "$mode" "$N" "$first_s" "$all_s" "$cold_cpu" "$rpp" "$cpu" $((rss / 1024)) "$vis" "$load" >>"$json"
        kill $edge_pid
        wait $edge_pid 2>/dev/null
        edge_pid=
    done
    if [ "$store" = s3 ]; then rgw_stop; fi
done
echo "}" >>"$json"
mkdir -p "$B/bench"
cp "$json" "$B/bench/sync.json"
python3 - "$json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in d.items():
    if k.endswith("_feed"):
        ref = d.get(k[:-5] + "_listing", {})
        goals = [("requests/poll <= 2", v["requests_per_poll"] <= 2),
                 ("CPU/poll <= 1%", v["cpu_pct_per_1s_poll"] <= 1),
                 ("cold start (all) <= 3 s", v["cold_all_s"] <= 3),
                 ("change visible <= 2 s", v["change_visible_s"] is not None and v["change_visible_s"] <= 2),
                 ("RSS <= 64 MB", v["rss_mb"] <= 64)]
        print("%s: vs listing: requests/poll %.2f vs %.2f, CPU %.3f%% vs %.3f%%; goals: %s" % (
            k, v["requests_per_poll"], ref.get("requests_per_poll", 0), v["cpu_pct_per_1s_poll"],
            ref.get("cpu_pct_per_1s_poll", 0), ", ".join("%s %s" % (g, "met" if ok else "NOT met") for g, ok in goals)))
PY
