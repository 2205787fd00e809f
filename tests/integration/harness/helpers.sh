#!/usr/bin/env bash
# helpers.sh - the per-test process helpers of tests/harness/servers.sh, which
# the integration scripts start their servers with: a real hotpatch-publisher
# on its own database (environment overrides, restart on the same port,
# refusal to start reported at once), the bootstrap and app helpers, the two
# static servers and a real hotpatch-edge synced on demand; and the exit
# registry: a script that exits (normally or early) leaves no process, no
# database and no temp dir behind, the publisher being stopped before its
# database is dropped.
. "$(dirname "$0")/../cli/common.bash"

hp_require_pg || exit 1
out=$(env -u HP_TEST_PG_URL bash -c '. "$1"; hp_require_pg' _ "$HP_SRC_DIR/tests/harness/servers.sh")
is "$?:$out" "1:not ok 1 - HP_TEST_PG_URL not set: run through 'make test' (tests/harness/servers.sh)
1..1" "hp_require_pg without a cluster: a TAP failure and status 1"
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }

# --- the publisher and the API helpers ---
ok "hp_publisher_db creates a database" hp_publisher_db
is "$(psql -tAq "$DBURL" -c 'SELECT current_database()')" "$DB" "... reachable at DBURL"
ok "hp_start_publisher: up once /healthz answers" hp_start_publisher
ok "... EP answers /healthz" curl -sf "$EP/healthz"
is "$MPUB" "$(jget "$T/pub-manifest.key" 'j["public_key"]')" "... MPUB is its manifest key's public key"
OWNER=$(hp_bootstrap_owner)
ok "hp_bootstrap_owner: an owner API key" test -n "$OWNER"
WRITE=$(hp_new_app "$OWNER" demo)
ok "hp_new_app: the app's write key" test -n "$WRITE"
READ=$(hp_new_api_key "$OWNER" demo read)
ok "hp_new_api_key: a read key" test -n "$READ" -a "$READ" != "$WRITE"
hp_add_release_key "$OWNER" demo "$RELEASE_PUB" >"$T/rkey.json"
is "$(jget "$T/rkey.json" '(j["key"]["public_key"], j["key"]["name"])')" "('$RELEASE_PUB', 'ci')" \
    "hp_add_release_key registers the release key"
is "$(hp_api GET /v1/apps/demo "$READ" '' | python3 -c 'import json,sys; print(json.load(sys.stdin)["app"]["name"])')" demo \
    "hp_api: a read with the read key"
echo "$WRITE" | "$HP" login --endpoint "$EP" --token-stdin >/dev/null
mkdir -p "$T/b" && echo 'console.log(1)' >"$T/b/index.android.bundle"
ok "a release through it lands in \$T/pst" "$HP" --quiet release --app demo --platform android --version 1.0.0 \
    --target-binary '*' --bundle-dir "$T/b" --signing-key "$T/keys/release.key"
ok "... its manifest signed by the manifest key MPUB" "$HP" --quiet manifest show --app demo --platform android \
    --storage "file://$T/pst" --trusted-key "$MPUB"

# restart with overrides: same port, the overrides win over the defaults
OLD=$PUBPID
hp_stop_publisher
ok "hp_stop_publisher: the publisher is gone" bash -c "! kill -0 $OLD 2>/dev/null && ! curl -sf '$EP/healthz'"
is "${PUBPID:-}" "" "... and PUBPID is cleared"
t0=$SECONDS
hp_start_publisher JWT_SECRET=short-secret
is "$?" 1 "a refused start (JWT_SECRET override too short) returns 1"
ok "... at once, not after the 10 s wait" test $((SECONDS - t0)) -lt 5
ok "... the log says why" grep -q 'too short' "$T/publisher.log"
ok "restart with HOTPATCH_RATE_KEY=1 on the same EP" hp_start_publisher HOTPATCH_RATE_KEY=1 HOTPATCH_RATE_KEY_BURST=1
codes=$(for i in 1 2 3; do curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $READ" "$EP/v1/apps/demo"; done)
ok "... the override is in force: back-to-back reads meet 429 ($codes)" grep -q 429 <<<"$codes"

# --- the static servers and the edge ---
mkdir -p "$T/www" && echo hello >"$T/www/f.txt"
hp_start_cdn "$T/www"
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$CDN_PORT/f.txt" && break; sleep 0.1; done
is "$(curl -sf "http://127.0.0.1:$CDN_PORT/f.txt")" hello "hp_start_cdn serves DIR on CDN_PORT"
ok "hp_start_httpd: up (DIR/.ready written)" hp_start_httpd "$T/www2"
echo counted >"$T/www2/g.txt"
is "$(curl -sf "http://127.0.0.1:$HTTPD_PORT/g.txt")" counted "... serves DIR on HTTPD_PORT"
ok "... and logs what it sent" grep -q '^GET /g.txt' "$T/www2/.log"
SYNC_TOKEN=tok-$$-$RANDOM
HOTPATCH_SYNC_TOKEN=$SYNC_TOKEN hp_start_edge --source "file://$T/pst" --trusted-key "$MPUB" --data-dir "$T/edge" \
    --poll-interval 60
is "$?" 0 "hp_start_edge: up once /healthz answers"
ok "... on EDGE" curl -sf "$EDGE/healthz"
ok "hp_edge_sync: a pass ran" hp_edge_sync "$SYNC_TOKEN"
ok "... the edge serves the publisher's manifest" curl -sf "$EDGE/v1/manifests/demo/android/production.json"
nok "hp_edge_sync with a wrong token fails" hp_edge_sync wrong-token
nok "hp_start_edge reports an edge that cannot start" hp_start_edge --source "file://$T/pst" --data-dir "$T/edge1"

# --- the exit registry: a script that started everything, then exits early ---
cat >"$T/child.sh" <<'CHILD'
. "$HP_SRC_DIR/tests/integration/cli/common.bash"
hp_publisher_db && hp_start_publisher || exit 3
hp_start_cdn "$T/w"
hp_start_httpd "$T/w2"
hp_start_edge --source "file://$T/pst" --trusted-key "$MPUB" --data-dir "$T/edge"
echo "$T $DB $PUBPID $CDN_PID $HTTPD $EDGE_PID" >"$1"
exit 7
CHILD
bash "$T/child.sh" "$T/child.out" >"$T/child.log" 2>&1
is "$?" 7 "a script exits early with its own status"
read -r CT CDB CPIDS <"$T/child.out"
ok "... every process it started is stopped" bash -c "for p in $CPIDS; do ! kill -0 \$p 2>/dev/null || exit 1; done"
is "$(psql -tAq "$HP_TEST_PG_URL" -c "SELECT count(*) FROM pg_database WHERE datname = '$CDB'")" 0 \
    "... its database is dropped (so the publisher was stopped first)"
ok "... its temp dir is removed" test ! -e "$CT"
HP_KEEP_TMP=1 bash "$T/child.sh" "$T/child2.out" >"$T/child2.log" 2>&1
read -r CT CDB CPIDS <"$T/child2.out"
ok "with HP_KEEP_TMP set the temp dir stays" test -d "$CT/pst"
ok "... and the processes are still stopped" bash -c "for p in $CPIDS; do ! kill -0 \$p 2>/dev/null || exit 1; done"
rm -rf "$CT"
done_testing
