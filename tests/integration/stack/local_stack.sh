# local_stack.sh - the README's `make run` path: mk/stack.sh brings up
# Postgres + publisher + edge + nginx on free ports in a temp var dir, publishes
# the sample release through the CLI and updates one device; a second `up`
# reuses the data; `down --clean` stops everything and deletes the dir.
. "$HP_SRC_DIR/tests/lib/tap.sh"
V=$(mktemp -d /tmp/hp-stack.XXXXXX)
chmod 755 "$V"
export HP_VAR_DIR=$V/var HP_PG_PORT=$(free_port) HP_PUB_PORT=$(free_port) HP_EDGE_PORT=$(free_port) HP_CDN_PORT=$(free_port)
STACK="bash $HP_SRC_DIR/mk/stack.sh"
trap '$STACK down --clean >/dev/null 2>&1; rm -rf "$V"' EXIT

$STACK up >"$V/up1.log" 2>&1
is "$?" 0 "first 'up' starts the stack, releases and updates a device"
ok "sample release published through the CLI" grep -q "released 1.0.0 to demo/android" "$V/up1.log"
ok "device installed the sample release" grep -q "^installed: rel_" "$V/up1.log"
REL=$(sed -n 's/^installed: \(rel_[0-9a-f]*\) .*/\1/p' "$V/up1.log" | head -1)
ok "installed bundle is on disk" test -f "$HP_VAR_DIR/agent/current/index.android.bundle"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP_EDGE_PORT/v1/check?app=demo&platform=android&channel=production&binary_version=1.0.0&device=other-device")" \
    200 "edge offers the release to a new device"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP_EDGE_PORT/v1/check?app=demo&platform=android&channel=production&binary_version=1.0.0&device=other-device&release=$REL")" \
    204 "edge answers 204 to a device already on it"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP_EDGE_PORT/v1/check?app=demo&platform=android&channel=production&binary_version=3.0.0&device=other-device")" \
    204 "edge answers 204 outside the target binary range"
ok "CDN serves the signed manifest" bash -c "curl -sf http://127.0.0.1:$HP_CDN_PORT/manifests/demo/android/production.json | grep -q '\"signatures\"'"
ok "publisher healthy" curl -sf "http://127.0.0.1:$HP_PUB_PORT/healthz"
ok "'up' prints the dashboard URL and its sign-in" grep -q "dashboard *http://127.0.0.1:$HP_PUB_PORT/ *sign in as admin@localhost / hotpatch-local-admin" "$V/up1.log"
ok "the dashboard is served" bash -c "curl -sf http://127.0.0.1:$HP_PUB_PORT/ | grep -q '/ui/app.js'"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data '{"email":"admin@localhost","password":"hotpatch-local-admin"}' "http://127.0.0.1:$HP_PUB_PORT/v1/session")" \
    201 "the printed sign-in works"

$STACK up >"$V/up2.log" 2>&1
is "$?" 0 "second 'up' while running succeeds"
ok "second 'up' reuses the release" grep -q "already published" "$V/up2.log"
$STACK down >"$V/down.log" 2>&1
is "$?" 0 "down stops the stack"
nok "publisher port closed after down" curl -sf "http://127.0.0.1:$HP_PUB_PORT/healthz"
$STACK up >"$V/up3.log" 2>&1
is "$?" 0 "'up' after 'down' restarts on the same data"
ok "restart keeps the device on its release" grep -q "^installed: $REL" "$V/up3.log"
$STACK down --clean >/dev/null 2>&1
nok "down --clean deletes the data" test -d "$HP_VAR_DIR"
done_testing
