# sdk_fleet.sh - HotPatch end to end on loopback with the real parts (issue 6):
#   Postgres (harness) + Ceph radosgw (harness, S3 storage) + hotpatch-publisher
#   + hotpatch-edge (synced from S3) + nginx as a caching CDN in front of the bucket
#   + 2,000 simulated devices (hotpatch-agent, one data dir each).
#
# 1. `hotpatch release` of the fixture React Native app at 10% rollout: the devices
#    in the release's cohort (fnv1a32(release:device) mod 10000 < 1000, computed
#    here independently) update, every other device gets "no update" (edge 204).
# 2. `hotpatch rollout --percent 100`: every remaining device updates.
# 3. a release whose bundle "crashes" (devices run boot-begin but never boot-ok):
#    each device rolls back by itself to the previous release after the failed
#    launches, blocklists the release and reports `rolled_back`; the publisher
#    auto-halts the release. The devices' reports count toward the halt because
#    each carries the ticket the edge signed when it offered the release
#    (edge --ticket-key, publisher HOTPATCH_TICKET_KEYS with its public half).
# The publisher's per-IP rate limit is raised: 2,000 devices share 127.0.0.1 here.
. "$HP_SRC_DIR/tests/lib/tap.sh"
. "$HP_SRC_DIR/tests/harness/rn_fixture.sh"
set -u

N=${HP_E2E_DEVICES:-2000}
PAR=${HP_E2E_PARALLEL:-8}
BIN=${HP_BIN:-$HP_SRC_DIR/build/bin}
if [ -z "${HP_TEST_PG_URL:-}" ] || [ -z "${HP_TEST_S3_ENDPOINT:-}" ]; then
    echo "ok 1 # skip needs the harness servers (HP_TEST_PG_URL, HP_TEST_S3_ENDPOINT)"
    echo "1..1"
    exit 0
fi
for b in hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent; do
    [ -x "$BIN/$b" ] || { echo "not ok 1 - $BIN/$b is not built"; echo "1..1"; exit 1; }
done

T=$(mktemp -d /tmp/hp-e2e.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/run" "$T/logs" "$T/keys" "$T/dev" "$T/cfg" "$T/bin" "$T/lib"
# Private copies of the programs: a rebuild in the shared tree during the run must not break it.
for b in hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent; do cp "$BIN/$b" "$T/bin/"; done
cp -a "$BIN/../lib/"libhotpatch.so* "$T/lib/" # the SONAME link libhotpatch.so.0 too
BIN=$T/bin
PUB_PORT=$(free_port)
EDGE_PORT=$(free_port)
CDN_PORT=$(free_port)
PUB=http://127.0.0.1:$PUB_PORT
EDGE=http://127.0.0.1:$EDGE_PORT
CDN=http://127.0.0.1:$CDN_PORT
RID=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
DB=hp_e2e_$RID
BUCKET=hp-e2e-$RID
DBURL=${HP_TEST_PG_URL%/*}/$DB

cleanup() {
    for p in publisher edge; do
        [ -f "$T/run/$p.pid" ] && kill "$(cat "$T/run/$p.pid")" 2>/dev/null
    done
    [ -f "$T/run/nginx.pid" ] && kill "$(cat "$T/run/nginx.pid")" 2>/dev/null
    psql -q "$HP_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    [ -n "${HP_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

jq_py() { python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
s3() { curl -s --aws-sigv4 "aws:amz:$HP_TEST_S3_REGION:s3" --user "$HP_TEST_S3_ACCESS_KEY:$HP_TEST_S3_SECRET_KEY" \
    -H x-amz-content-sha256:UNSIGNED-PAYLOAD "$@"; }
wait_http() { local i; for i in $(seq 1 $(($2 * 10))); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
api() { curl -sS -X "$1" "$PUB$2" ${3:+-H "Authorization: Bearer $3"} -H 'Content-Type: application/json' ${4:+--data "$4"}; }

# ---- storage: a bucket of our own, readable anonymously (the CDN origin, like a public R2 bucket) ----
s3 -X PUT "$HP_TEST_S3_ENDPOINT/$BUCKET" -o /dev/null
s3 -X PUT "$HP_TEST_S3_ENDPOINT/$BUCKET?policy=" -H 'Content-Type: application/json' -o /dev/null --data \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\"]},\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::$BUCKET/*\"]}]}"
export HOTPATCH_S3_ENDPOINT=$HP_TEST_S3_ENDPOINT AWS_REGION=$HP_TEST_S3_REGION \
    AWS_ACCESS_KEY_ID=$HP_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HP_TEST_S3_SECRET_KEY
STORAGE=s3://$BUCKET/store
psql -q "$HP_TEST_PG_URL" -c "CREATE DATABASE $DB" >/dev/null
ok "database and bucket created" s3 -f -o /dev/null "$HP_TEST_S3_ENDPOINT/$BUCKET"

# ---- keys ----
export XDG_CONFIG_HOME=$T/cfg
"$BIN/hotpatch-publisher" keygen-manifest --out "$T/keys/manifest.key" >/dev/null
"$BIN/hotpatch" keygen --out "$T/keys/release.key" >/dev/null
"$BIN/hotpatch" keygen --out "$T/keys/ticket.key" >/dev/null
TICKET_PUB=$(jq_py 'j["public_key"]' <"$T/keys/ticket.key")
MANIFEST_PUB=$(jq_py 'j["public_key"]' <"$T/keys/manifest.key")
RELEASE_PUB=$(jq_py 'j["public_key"]' <"$T/keys/release.key")
SYNC_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')

# ---- publisher, edge, CDN ----
env DATABASE_URL="$DBURL" HOTPATCH_STORAGE="$STORAGE" JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    HOTPATCH_MANIFEST_KEY="$T/keys/manifest.key" HOTPATCH_LISTEN="127.0.0.1:$PUB_PORT" \
    HOTPATCH_EDGE_URLS="$EDGE" HOTPATCH_SYNC_TOKEN="$SYNC_TOKEN" HOTPATCH_TICKET_KEYS="$TICKET_PUB" \
    HOTPATCH_RATE_IP=1000000 HOTPATCH_RATE_IP_BURST=1000000 HOTPATCH_HALT_MIN_INSTALLS=50 HOTPATCH_HALT_THRESHOLD_PCT=20 \
    "$BIN/hotpatch-publisher" >"$T/logs/publisher.log" 2>&1 </dev/null &
echo $! >"$T/run/publisher.pid"
ok "publisher up" wait_http "$PUB/healthz" 30

env HOTPATCH_SYNC_TOKEN="$SYNC_TOKEN" "$BIN/hotpatch-edge" --listen "127.0.0.1:$EDGE_PORT" --source "$STORAGE" \
    --trusted-key "$MANIFEST_PUB" --data-dir "$T/edge" --poll-interval 1 --public-base "$CDN" \
    --ticket-key "$T/keys/ticket.key" \
    >"$T/logs/edge.log" 2>&1 </dev/null &
echo $! >"$T/run/edge.pid"
ok "edge up" wait_http "$EDGE/healthz" 30

user=""
[ "$(id -u)" -eq 0 ] && user="user root;"
RGW_HOSTPORT=${HP_TEST_S3_ENDPOINT#http://}
cat >"$T/nginx.conf" <<NGX
$user
worker_processes 1;
daemon on;
pid $T/run/nginx.pid;
error_log $T/logs/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log $T/logs/cdn-access.log;
    proxy_cache_path $T/cdn-cache levels=1:2 keys_zone=cdn:10m max_size=1g inactive=30m use_temp_path=off;
    server {
        listen 127.0.0.1:$CDN_PORT;
        location / {
            proxy_pass http://$RGW_HOSTPORT/$BUCKET/store/;
            proxy_http_version 1.1;
            proxy_cache cdn;
            proxy_cache_valid 200 30m;
            proxy_cache_lock on;
            add_header X-Cache \$upstream_cache_status;
        }
    }
}
NGX
nginx -c "$T/nginx.conf" -e "$T/logs/nginx-error.log" 2>>"$T/logs/nginx-error.log"
ok "nginx CDN up" test -f "$T/run/nginx.pid"

# ---- org, app, release key ----
OWNER=$(api POST /v1/bootstrap "" '{"org":"e2e","email":"admin@e2e.test","password":"e2e-password-123"}' | jq_py 'j["api_key"]')
WRITE=$(api POST /v1/apps "$OWNER" '{"name":"demo"}' | jq_py 'j["api_key"]')
api POST /v1/apps/demo/keys "$OWNER" "{\"public_key\":\"$RELEASE_PUB\",\"name\":\"ci\"}" >/dev/null
ok "org, app and release key registered" test -n "$WRITE"
export HOTPATCH_ENDPOINT=$PUB HOTPATCH_TOKEN=$WRITE HOTPATCH_SIGNING_KEY=$T/keys/release.key

# ---- the fixture app's bundle (real RN bundler, cached by the harness) ----
BUNDLE=$(rn_fixture_bundle android)
ok "fixture RN bundle built" test -s "$BUNDLE/index.android.bundle"
CRASH=$T/crash-bundle
cp -R "$BUNDLE" "$CRASH"
printf '\n;throw new Error("hotpatch e2e: this bundle crashes at start");\n' >>"$CRASH/index.android.bundle"

# ---- devices ----
AGENT_ARGS="--json --app demo --platform android --channel production --binary-version 1.0.5
    --trusted-key $MANIFEST_PUB --release-key $RELEASE_PUB --edge $EDGE --bundle-base $CDN --publisher $PUB
    --max-failed 1 --timeout-ms 20000"
# fleet CMD OUT: run `hotpatch-agent CMD` on every device (PAR in parallel); OUT gets "device exit-code" lines.
fleet() {
    seq 1 "$N" | xargs -P "$PAR" -I{} sh -c \
        '"$0" $1 --data-dir "$2/dev/d{}" --device-id "e2e-device-{}" "$3" >"$2/dev/o{}.json" 2>/dev/null; echo "{} $?"' \
        "$BIN/hotpatch-agent" "$AGENT_ARGS" "$T" "$1" | sort -n >"$2"
}
count() { awk -v c="$2" '$2 == c' "$1" | wc -l; }
# explain OUT: on unexpected exit codes, show the histogram and one failing device's error.
explain() {
    local bad
    bad=$(awk '$2 != 0 && $2 != 3 {print $1; exit}' "$1")
    [ -z "$bad" ] && return 0
    diag "exit codes: $(awk '{print $2}' "$1" | sort | uniq -c | tr '\n' ' ')"
    diag "device $bad: $(cat "$T/dev/o$bad.json")"
}
# cohort RELEASE BP: device numbers in the rollout (the published cohort rule, computed independently).
cohort() {
    python3 - "$1" "$2" "$N" <<'PY'
import sys
rel, bp, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def fnv(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h
for i in range(1, n + 1):
    if fnv("%s:e2e-device-%d" % (rel, i)) % 10000 < bp:
        print(i)
PY
}
# wait_edge SEQ: until the edge serves a manifest with at least this sequence.
wait_edge() {
    local i s
    for i in $(seq 1 100); do
        s=$(curl -s "$EDGE/v1/manifests/demo/android/production.json" | jq_py 'json.loads(j["payload"])["sequence"]' 2>/dev/null)
        [ -n "$s" ] && [ "$s" -ge "$1" ] && return 0
        sleep 0.2
    done
    return 1
}
stats() { api GET "/v1/releases/$1/stats" "$WRITE" | jq_py "j['stats']['$2']"; }
state() { api GET "/v1/releases/$1" "$WRITE" | jq_py "j['release']['state']"; }

t0=$SECONDS
# ---- 1. release at 10% ----
"$BIN/hotpatch" --json release --app demo --platform android --channel production --version 1.0.0 \
    --target-binary '>=1.0.0 <2.0.0' --rollout 10 --bundle-dir "$BUNDLE" >"$T/rel1.json" 2>"$T/rel1.err"
is "$?" 0 "hotpatch release 1.0.0 at 10%"
R1=$(jq_py 'j["release"]["id"]' <"$T/rel1.json")
SEQ1=$(jq_py 'j["manifest"]["sequence"]' <"$T/rel1.json" 2>/dev/null || echo 1)
ok "edge synced the 10% manifest" wait_edge "${SEQ1:-1}"
fleet update "$T/p1.txt"
explain "$T/p1.txt"
cohort "$R1" 1000 >"$T/cohort1.txt"
UPD1=$(count "$T/p1.txt" 0)
NONE1=$(count "$T/p1.txt" 3)
diag "10%: $UPD1 of $N devices updated, $NONE1 got no update ($((SECONDS - t0))s)"
is "$((UPD1 + NONE1))" "$N" "every device either updated (0) or got no update (3)"
ok "about 10% updated ($UPD1 of $N)" test "$UPD1" -ge $((N * 6 / 100)) -a "$UPD1" -le $((N * 14 / 100))
is "$(awk '$2 == 0 {print $1}' "$T/p1.txt" | tr '\n' ' ')" "$(tr '\n' ' ' <"$T/cohort1.txt")" \
    "exactly the devices of the release's cohort updated"
D=$(head -1 "$T/cohort1.txt")
ok "an updated device holds the fixture bundle byte for byte" \
    cmp "$T/dev/d$D/current/index.android.bundle" "$BUNDLE/index.android.bundle"
O=$(awk '$2 == 3 {print $1; exit}' "$T/p1.txt")
is "$(curl -s -o /dev/null -w '%{http_code}' "$EDGE/v1/check?app=demo&platform=android&channel=production&binary_version=1.0.5&device=e2e-device-$O")" \
    204 "the edge answers 204 to a device outside the cohort"
ok "the CDN served bundles from its cache" grep -q . "$T/logs/cdn-access.log"

# ---- 2. rollout to 100% ----
"$BIN/hotpatch" --json rollout --app demo --platform android --channel production --percent 100 --release "$R1" \
    >"$T/ro.json" 2>"$T/ro.err"
is "$?" 0 "hotpatch rollout --percent 100"
SEQ2=$(curl -s "$PUB/v1/manifests/demo/android/production" -H "Authorization: Bearer $WRITE" |
    jq_py 'json.loads(j["payload"])["sequence"]')
ok "edge synced the 100% manifest" wait_edge "$SEQ2"
fleet update "$T/p2.txt"
explain "$T/p2.txt"
UPD2=$(count "$T/p2.txt" 0)
NONE2=$(count "$T/p2.txt" 3)
diag "100%: $UPD2 more devices updated, $NONE2 already had it ($((SECONDS - t0))s)"
is "$UPD2" "$((N - UPD1))" "every device outside the first cohort updated now"
is "$NONE2" "$UPD1" "the first cohort had nothing new"
is "$(cat "$T"/dev/o*.json | grep -c "\"installed\":\"$R1\"")" "$N" "all $N devices run 1.0.0"

# ---- 3. a crashing release ----
"$BIN/hotpatch" --json release --app demo --platform android --channel production --version 1.1.0 \
    --target-binary '>=1.0.0 <2.0.0' --bundle-dir "$CRASH" >"$T/rel2.json" 2>"$T/rel2.err"
is "$?" 0 "hotpatch release 1.1.0 (crashes at start) at 100%"
R2=$(jq_py 'j["release"]["id"]' <"$T/rel2.json")
SEQ3=$(curl -s "$PUB/v1/manifests/demo/android/production" -H "Authorization: Bearer $WRITE" |
    jq_py 'json.loads(j["payload"])["sequence"]')
ok "edge synced the crashing release" wait_edge "$SEQ3"
fleet update "$T/p3.txt"
explain "$T/p3.txt"
UPD3=$(count "$T/p3.txt" 0)
diag "crashing release installed on $UPD3 devices ($((SECONDS - t0))s)"
# Each launch: boot-begin, then the bundle crashes before boot-ok. With --max-failed 1 the
# launch after the failed one rolls back (the SDK's default is 3; the protocol is the same).
fleet boot-begin "$T/b1.txt"
explain "$T/b1.txt"
is "$(cat "$T"/dev/o*.json | grep -c '"launches":1')" "$UPD3" "first launch of the new bundle counted before it ran"
fleet boot-begin "$T/b2.txt"
explain "$T/b2.txt"
is "$(count "$T/b2.txt" 0)" "$N" "every launch began (exit 0)"
RB=$(grep -l '"rolled_back":true' "$T"/dev/o*.json | wc -l)
diag "rolled back on the second launch: $RB devices ($((SECONDS - t0))s)"
is "$RB" "$UPD3" "every device that installed the crashing release rolled back by itself"
is "$(cat "$T"/dev/o*.json | grep -c "\"installed\":\"$R1\"")" "$N" "all devices are back on 1.0.0"
is "$(cat "$T"/dev/o*.json | grep -c "\"blocklist\":\[\"$R2\"\]")" "$UPD3" "and blocklist the crashing release"
is "$(cat "$T"/dev/o*.json | grep -c '"reports_queued":0')" "$N" "every device delivered its reports"
ok "rolled-back devices hold the 1.0.0 bundle byte for byte" \
    cmp "$T/dev/d$D/current/index.android.bundle" "$BUNDLE/index.android.bundle"

ST=""
for i in $(seq 1 50); do
    ST=$(state "$R2")
    [ "$ST" = halted ] && break
    sleep 0.2
done
is "$ST" halted "the publisher auto-halted the crashing release"
is "$(stats "$R2" rollbacks)" "$UPD3" "publisher counted one rollback per device"
is "$(api GET "/v1/releases/$R2/stats" "$WRITE" | jq_py "j['stats']['ticketed']['rollbacks']")" "$UPD3" \
    "every rollback carried the edge's ticket (the SDK kept it from the offer)"
is "$(stats "$R1" installs)" "$N" "publisher counted $N installs of 1.0.0"
fleet check "$T/p4.txt"
explain "$T/p4.txt"
is "$(count "$T/p4.txt" 3)" "$N" "after the halt no device is offered anything"
is "$(cat "$T"/dev/o*.json | grep -c "\"installed\":\"$R1\"")" "$N" "and every device stays on 1.0.0"
diag "end to end in $((SECONDS - t0))s for $N devices"
done_testing
