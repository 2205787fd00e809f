#!/usr/bin/env bash
# acquisition.sh - unmodified CodePush clients against HotPatch: the REAL
# `code-push` npm package (4.2.3, the acquisition SDK react-native-code-push 9
# ships) drives its AcquisitionManager through acquisition.js against a real
# hotpatch-edge synced from file:// storage that the real `hotpatch` CLI
# writes in serverless mode (deployment keys, releases with the CodePush
# package hash, rollout, rollback). Covers: unknown key, update, mandatory
# across skips, no update, rollout cohort (checked against an independent
# fnv1a32 bucket), binary-range mismatch (update_app_version), rollback to the
# previous release, rollback to the binary, key revocation, and bad input
# (missing / malformed / oversize parameters, wrong method).
. "$(dirname "$0")/common.bash"

export HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
ST=$T/storage
mkdir -p "$ST"
S=(--storage "file://$ST")
A=(--app demo --platform android)

# A CDN for the bundles: a static server over the storage dir.
hp_start_cdn "$ST"

# bundle DIR TEXT: a tiny RN-shaped bundle dir (the bundle and one asset).
bundle() {
    mkdir -p "$1/drawable-mdpi" && printf 'console.log(%s)\n' "$2" >"$1/index.android.bundle" &&
        printf 'png-%s' "$2" >"$1/drawable-mdpi/logo.png"
}
# release VERSION RANGE [flags]: prints the release id.
release() {
    local v=$1 r=$2
    shift 2
    bundle "$T/b-$v" "$v"
    "$HP" --json release "${A[@]}" --version "$v" --target-binary "$r" --bundle-dir "$T/b-$v" "${S[@]}" "$@" \
        >"$T/rel-$v.json" 2>"$T/rel-$v.err" || { cat "$T/rel-$v.err" >&2; return 1; }
    jget "$T/rel-$v.json" 'j["release"]["id"]'
}
# acq KEY CLIENT APPVERSION OP [JSON]: one AcquisitionManager call (one line of JSON).
acq() { node "$ACQ" "$CP" "$EDGE" "$1" "$2" "$3" "$4" "${5:-}"; }
# field JSON EXPR: python expression on the parsed line (as j).
field() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
# sync_edge: ask the edge for a pass and wait until it has run.
sync_edge() { hp_edge_sync "$SYNC_TOKEN"; }

# --- deployment keys (serverless) ---
"$HP" --json deployment-key add "${A[@]}" "${S[@]}" >"$T/key.json"
is "$?" 0 "deployment-key add starts the channel"
KEY=$(jget "$T/key.json" 'j["key"]')
ok "key names its channel" bash -c "[[ '$KEY' =~ ^demo~android~production~[0-9a-f]{32}$ ]]"
is "$(jget "$T/key.json" 'j["sha256"]')" "$(printf %s "$KEY" | sha256sum | cut -c1-64)" "key sha256 reported"
"$HP" --json deployment-key list "${A[@]}" "${S[@]}" >"$T/list.json"
is "$(jget "$T/list.json" '[k["sha256"] for k in j["keys"]]')" "['$(printf %s "$KEY" | sha256sum | cut -c1-64)']" \
    "list shows the key's hash (storage never holds the key)"
ok "storage does not hold the key" bash -c "! grep -rqF '$KEY' '$ST'"
"$HP" --json deployment-key add "${A[@]}" "${S[@]}" >"$T/key2.json"
KEY2=$(jget "$T/key2.json" 'j["key"]')

# --- releases: 1.0.1 mandatory, 1.0.2 plain, both for binary 1.0.x ---
R1=$(release 1.0.1 '1.0.x' --mandatory) || echo "# release 1.0.1 failed"
R2=$(release 1.0.2 '1.0.x' --notes 'fixes "quotes"') || echo "# release 1.0.2 failed"
ok "release carries the CodePush package hash" test -n "$(jget "$T/rel-1.0.2.json" 'j["release"]["codepush_hash"]')"

SYNC_TOKEN=sync-$$-$RANDOM
HOTPATCH_SYNC_TOKEN=$SYNC_TOKEN hp_start_edge --source "file://$ST" \
    --trusted-key "$MANIFEST_PUB" --data-dir "$T/edge" --poll-interval 60 \
    --public-base "http://127.0.0.1:$CDN_PORT/"
ok "edge up and synced" sync_edge

# --- unknown key: well-formed but never issued ---
FAKE=demo~android~production~0123456789abcdef0123456789abcdef
out=$(acq "$FAKE" dev-1 1.0 check)
is "$(field "$out" 'j["error"].split(":")[0]')" 404 "a key nobody issued: the SDK reports HTTP 404"
ok "... saying why" bash -c "[[ '$(field "$out" 'j["error"]')' == *'unknown deployment key'* ]]"
out=$(acq "demo~android~beta~0123456789abcdef0123456789abcdef" dev-1 1.0 check)
is "$(field "$out" 'j["error"].split(":")[0]')" 404 "a key for a channel that does not exist: 404"

# --- update, mandatory across the skipped 1.0.1 ---
out=$(acq "$KEY" dev-1 1.0 check)
is "$(field "$out" 'j["error"]')" None "update check from the binary (app version '1.0'): no error"
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "offered the newest release"
is "$(field "$out" 'j["result"]["isMandatory"]')" True "mandatory: 1.0.1 (skipped) was mandatory"
is "$(field "$out" 'j["result"]["appVersion"]')" 1.0.x "appVersion = the target binary range"
is "$(field "$out" 'j["result"]["description"]')" 'fixes "quotes"' "description = release notes"
is "$(field "$out" 'j["result"]["deploymentKey"]')" "$KEY" "deploymentKey echoed by the SDK"
URL2=$(field "$out" 'j["result"]["downloadUrl"]')
H2=$(field "$out" 'j["result"]["packageHash"]')
ok "download_url is absolute" bash -c "[[ '$URL2' == http://127.0.0.1:$CDN_PORT/bundles/demo/android/*.zip ]]"
ok "download_url downloads" curl -sf -o "$T/dl2.zip" "$URL2"
is "$(field "$out" 'j["result"]["packageSize"]')" "$(stat -c %s "$T/dl2.zip")" "packageSize = zip size"
mkdir -p "$T/unz2" && (cd "$T/unz2" && unzip -q "$T/dl2.zip")
is "$H2" "$(field "$(node "$ACQ" "$CP" x x x x hashdir "$T/unz2")" 'j["result"]')" \
    "packageHash = the client's own hash of the unzipped update (independent implementation)"
is "$H2" "$(jget "$T/rel-1.0.2.json" 'j["release"]["codepush_hash"]')" "... = the hash the CLI signed into the manifest"

# --- on 1.0.2 already: nothing ---
cur2="{\"appVersion\":\"1.0\",\"packageHash\":\"$H2\",\"label\":\"1.0.2\"}"
out=$(acq "$KEY" dev-1 1.0 check "$cur2")
is "$out" '{"error":null,"result":null}' "device on 1.0.2: no update"
H1=$(jget "$T/rel-1.0.1.json" 'j["release"]["codepush_hash"]')
out=$(acq "$KEY" dev-1 1.0 check "{\"appVersion\":\"1.0\",\"packageHash\":\"$H1\"}")
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "device on 1.0.1 (known by package hash alone): offered 1.0.2"
is "$(field "$out" 'j["result"]["isMandatory"]')" False "... not mandatory: nothing mandatory in between"
out=$(acq "$KEY2" dev-1 1.0 check)
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "the second key answers the same channel"

# --- rollout cohort: 1.0.3 at 50%, decided by fnv1a32(release_id:device) mod 10000 ---
R3=$(release 1.0.3 '1.0.x' --rollout 50)
sync_edge
got=() want=()
for i in $(seq 1 30); do
    out=$(acq "$KEY" "device-$i" 1.0 check "$cur2")
    [ "$(field "$out" '(j["result"] or {}).get("label")')" = 1.0.3 ] && got+=("device-$i")
done
want=($(python3 - "$R3" <<'PY'
import sys
def fnv(s):
    h = 0x811c9dc5
    for b in s.encode():
        h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h
print(" ".join("device-%d" % i for i in range(1, 31) if fnv(sys.argv[1] + ":device-%d" % i) % 10000 < 5000))
PY
))
is "${got[*]}" "${want[*]}" "50% rollout: exactly the cohort devices get 1.0.3 (${#got[@]} of 30)"
ok "... some but not all" test "${#got[@]}" -gt 0 -a "${#got[@]}" -lt 30
ok "rollout 1.0.3 to 100%" "$HP" --quiet rollout "${A[@]}" --version 1.0.3 --percent 100 "${S[@]}"
R4=$(release 2.0.0 '2.x')
sync_edge
H3=$(jget "$T/rel-1.0.3.json" 'j["release"]["codepush_hash"]')
cur3="{\"appVersion\":\"1.0\",\"packageHash\":\"$H3\",\"label\":\"1.0.3\"}"

# --- binary-range mismatch: 2.0.0 is for binary 2.x ---
out=$(acq "$KEY" dev-1 1.0 check "$cur3")
is "$(field "$out" 'j["result"]')" "{'updateAppVersion': True, 'appVersion': '2.x'}" \
    "device on 1.0.3 with binary 1.0: told to update the app (update_app_version, range 2.x)"
out=$(acq "$KEY" dev-1 2.0.1 check '{"appVersion":"2.0.1"}')
is "$(field "$out" 'j["result"]["label"]')" 2.0.0 "binary 2.0.1 gets 2.0.0"

# --- rollback: 1.0.3 withdrawn -> its devices go back to 1.0.2 ---
ok "rollback 1.0.3" "$HP" --quiet rollback "${A[@]}" --version 1.0.3 "${S[@]}"
sync_edge
out=$(acq "$KEY" dev-1 1.0 check "$cur3")
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "device on rolled-back 1.0.3: offered 1.0.2"
is "$(field "$out" 'j["result"]["packageHash"]')" "$H2" "... with 1.0.2's package hash"
ok "rollback 1.0.2 and 1.0.1" bash -c "'$HP' --quiet rollback ${A[*]} --version 1.0.2 ${S[*]} && '$HP' --quiet rollback ${A[*]} --version 1.0.1 ${S[*]}"
sync_edge
raw=$(curl -s "$EDGE/v0.1/public/codepush/update_check?deployment_key=$KEY&app_version=1.0&package_hash=$H2&label=1.0.2&client_unique_id=dev-1")
is "$(field "$raw" '(j["update_info"]["is_available"], j["update_info"]["should_run_binary_version"])')" \
    "(False, True)" "nothing older left: is_available false, should_run_binary_version true"
out=$(acq "$KEY" dev-1 1.0 check "$cur2")
is "$out" '{"error":null,"result":null}' "... which the stock SDK reads as 'no update'"

# --- the exact update_info shape ---
raw=$(curl -s "$EDGE/v0.1/public/codepush/update_check?deployment_key=$KEY&app_version=2.0.0&client_unique_id=dev-9&is_companion=false")
is "$(field "$raw" 'sorted(j["update_info"].keys())')" \
    "['description', 'download_url', 'is_available', 'is_disabled', 'is_mandatory', 'label', 'package_hash', 'package_size', 'should_run_binary_version', 'target_binary_range', 'update_app_version']" \
    "update_info has every field the App Center service sent"

# --- revocation ---
ok "revoke the second key" "$HP" --quiet deployment-key revoke "${A[@]}" --key "$KEY2" "${S[@]}"
sync_edge
out=$(acq "$KEY2" dev-1 2.0.0 check '{"appVersion":"2.0.0"}')
is "$(field "$out" 'j["error"].split(":")[0]')" 404 "revoked key: 404"
out=$(acq "$KEY" dev-1 2.0.0 check '{"appVersion":"2.0.0"}')
is "$(field "$out" 'j["result"]["label"]')" 2.0.0 "the other key still works"
expect_exit 7 "revoking it again: not listed" "$HP" --quiet deployment-key revoke "${A[@]}" --key "$KEY2" "${S[@]}"
expect_exit 2 "revoke with a key of another channel" "$HP" --quiet deployment-key revoke "${A[@]}" \
    --channel beta --key "$KEY" "${S[@]}"
expect_exit 2 "revoke needs --key or --sha256" "$HP" --quiet deployment-key revoke "${A[@]}" "${S[@]}"
expect_exit 2 "unknown verb" "$HP" --quiet deployment-key rotate "${A[@]}" "${S[@]}"

# --- bad input: clear JSON errors ---
# code URL: HTTP status of a GET
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
Q="app_version=1.0&client_unique_id=d1"
is "$(code "$EDGE/v0.1/public/codepush/update_check?$Q")" 400 "missing deployment_key: 400"
ok "... named" grep -q "missing parameter 'deployment_key'" "$T/body"
is "$(code "$EDGE/v0.1/public/codepush/update_check?deployment_key=not-a-key&$Q")" 400 "malformed key: 400"
ok "... says so" grep -q "not a HotPatch deployment key" "$T/body"
is "$(code "$EDGE/v0.1/public/codepush/update_check?deployment_key=$KEY&client_unique_id=d1")" 400 "missing app_version: 400"
ok "... named" grep -q "app_version" "$T/body"
is "$(code "$EDGE/v0.1/public/codepush/update_check?deployment_key=$KEY&app_version=1.0")" 400 "missing client_unique_id: 400"
is "$(code "$EDGE/v0.1/public/codepush/update_check?deployment_key=$KEY&app_version=banana&client_unique_id=d1")" 400 "app_version not a version: 400"
is "$(code "$EDGE/v0.1/public/codepush/update_check?deployment_key=$KEY&deployment_key=$KEY&$Q")" 400 "deployment_key twice: 400"
big=$(head -c 6000 /dev/zero | tr '\0' a)
c=$(code "$EDGE/v0.1/public/codepush/update_check?deployment_key=$big&$Q")
ok "oversize key: 4xx ($c)" test "$c" -ge 400 -a "$c" -lt 500
ok "... with a JSON error" python3 -c 'import json,sys; json.load(open(sys.argv[1]))["error"]["message"]' "$T/body"
is "$(code -X POST "$EDGE/v0.1/public/codepush/update_check?deployment_key=$KEY&$Q")" 405 "POST update_check: 405"
is "$(code "$EDGE/v0.1/public/codepush/nope")" 404 "unknown CodePush path: 404"
ok "edge still serving" curl -sf -o /dev/null "$EDGE/healthz"

done_testing
