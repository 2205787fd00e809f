# root.sh - issue 12 #9: rotate and revoke the manifest key without shipping a
# new app. The app embeds only its initial signed root (no manifest key); the
# device (hotpatch-agent over file:// storage) and a real hotpatch-edge on
# loopback both follow the root chain that `hotpatch root` writes to storage:
#   rotate  a new manifest key is accepted after root 2, the old one still;
#   revoke  after root 3 a manifest signed by the revoked key is refused by
#           both, with the key named, and the edge stops serving the one it had;
# and both refuse a root signed below threshold, a rolled-back root version, a
# root whose new keys do not meet their own threshold, and an expired root
# with no successor (while still walking forward from an expired root).
# Status: `hotpatch-agent status`, the edge's /healthz, /metrics and `sync`
# name the trusted root version and its expiry; every root the CLI wrote
# validates against manifests/root.schema.json.
. "$(dirname "$0")/common.bash"

keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
K=$T/keys
M1_PUB=$MANIFEST_PUB
pub() { jget "$K/$1.json" 'j["public_key"]'; }
kid() { jget "$K/$1.json" 'j["keyid"]'; }
for k in ra rb rc rd; do "$HP" --json keygen --out "$K/$k.key" >"$K/$k.json" || exit 1; done
"$HP" --json keygen --manifest --out "$K/m2.key" >"$K/m2.json" || exit 1
M1_ID=$(jget "$K/manifest.json" 'j["keyid"]')
M2_PUB=$(pub m2)
export HOTPATCH_SIGNING_KEY=$K/release.key
ST=$T/storage
mkdir -p "$ST" "$T/b" "$T/r"
S=(--storage "file://$ST")
A=(--app demo --platform android)
AGENT=$HP_BIN/hotpatch-agent
DEV=(--json --data-dir "$T/device" --app demo --platform android --channel production --binary-version 1.0.0
    --device-id dev-1 --root "$T/r/1.json" --release-key "$RELEASE_PUB" --manifest-base "file://$ST")
n=0
# release NAME KEYFILE [PREVIOUS-PUB]: a new release (version 1.0.$n) whose manifest is signed with KEYFILE;
# PREVIOUS-PUB: the key that signed the stored manifest, during a rotation (HOTPATCH_TRUSTED_KEYS)
release() {
    n=$((n + 1))
    echo "console.log('v$n');" >"$T/b/index.android.bundle"
    HOTPATCH_TRUSTED_KEYS=${3:-} HOTPATCH_MANIFEST_KEY=$2 "$HP" --quiet release "${A[@]}" --version "1.0.$n" \
        --target-binary '*' --bundle-dir "$T/b" "${S[@]}" >/dev/null 2>"$T/rel.err"
    is "$?" 0 "$1: release 1.0.$n lands"
    is "$(jget "$ST/manifests/demo/android/production.json" 'j["signatures"][0]["keyid"]')" \
        "$(jget "${2%.key}.json" 'j["keyid"]')" "$1: the stored manifest is signed by $(basename "$2")"
}
agent_check() { "$AGENT" "${DEV[@]}" check >"$T/c.json" 2>"$T/c.err"; }
offered() { jget "$T/c.json" 'j.get("version")'; }
cached_root() { jget "$T/device/root.json" 'json.loads(j["payload"])["version"]'; }
expires_of() { jget "$1" 'json.loads(j["payload"])["expires_at"]'; }
# iso_expiry FILE: its expires_at as people read it (UTC)
iso_expiry() { python3 -c 'import datetime,sys
print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' \
    "$(expires_of "$1")"; }
# agent_status VERSION FILE NAME: `status --json` names root VERSION and FILE's expiry; the human output too
agent_status() {
    "$AGENT" "${DEV[@]}" status >"$T/s.json" 2>"$T/s.err"
    is "$?:$(jget "$T/s.json" '(j["root"]["version"], j["root"]["expires_at"])')" "0:($1, $(expires_of "$2"))" \
        "$3: agent status --json names root $1 and its expiry"
    "$AGENT" "${DEV[@]:1}" status >"$T/s.txt" 2>"$T/s.err" # without --json
    ok "$3: ... and so does its human output" \
        grep -qxF "root of trust: version $1, expires $(iso_expiry "$2")${4:-}" "$T/s.txt"
}

# ---- version 1: three root keys, threshold 2, one manifest key
"$HP" --json root init --app demo --root-keys "$(pub ra),$(pub rb),$(pub rc)" --threshold 2 \
    --manifest-keys "$M1_PUB" --sign "$K/ra.key" --out "$T/r/1.json" >"$T/init.json"
is "$(jget "$T/init.json" '(j["complete"], j["signatures"]["own"])')" "(False, 1)" \
    "root init signed by one of three keys (threshold 2) is incomplete"
expect_exit 5 "publishing an incomplete root is refused" "$HP" root publish "$T/r/1.json" "${S[@]}"
ok "a second holder co-signs" "$HP" --quiet root sign "$T/r/1.json" --sign "$K/rb.key"
ok "root 1 publishes" "$HP" --quiet root publish "$T/r/1.json" "${S[@]}"
ok "roots/demo/1.json and root.json are in storage" test -s "$ST/roots/demo/1.json" -a -s "$ST/roots/demo/root.json"
expect_exit 4 "a published version is never replaced" "$HP" root publish "$T/r/1.json" "${S[@]}"

release "key 1" "$K/manifest.key"
agent_check
is "$?:$(offered)" "0:1.0.$n" "the device trusts manifest key 1 through root 1 (no --trusted-key given)"
agent_status 1 "$T/r/1.json" "root 1"
# a device configured with plain keys has no root to report
NOROOT=(--data-dir "$T/device0" --app demo --platform android --channel production --binary-version 1.0.0
    --device-id dev-0 --trusted-key "$M1_PUB" --release-key "$RELEASE_PUB" --manifest-base "file://$ST")
"$AGENT" --json "${NOROOT[@]}" status >"$T/s0.json"
is "$?:$(jget "$T/s0.json" 'j["root"]')" "0:None" "without --root agent status --json has root null"
"$AGENT" "${NOROOT[@]}" status >"$T/s0.txt"
is "$?:$(grep -c 'root of trust' "$T/s0.txt")" "0:0" "... and its human output no root line"

# ---- a real edge, following the same roots
hp_start_edge --source "file://$ST" --root "$T/r/1.json" \
    --data-dir "$T/edge" --poll-interval 0.2 --full-sync-interval 0
# until_ok NAME SECS CMD...: CMD succeeds within SECS (the edge syncs every 0.2 s)
until_ok() {
    local name=$1 secs=$2 i
    shift 2
    for i in $(seq 1 $((secs * 10))); do "$@" >/dev/null 2>&1 && break; sleep 0.1; done
    ok "$name" "$@"
}
edge_seq() { curl -sf "$EDGE/v1/manifests/demo/android/production.json" |
    python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["payload"])["sequence"])'; }
store_seq() { jget "$ST/manifests/demo/android/production.json" 'json.loads(j["payload"])["sequence"]'; }
edge_has_current() { [ "$(edge_seq)" = "$(store_seq)" ]; }
edge_lacks() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$EDGE/v1/manifests/demo/android/production.json")" = 404 ]; }
edge_log_has() { grep -q -- "$1" "$T/edge.log"; }
health_has() { curl -s "$EDGE/healthz" | grep -q -- "$1"; }
until_ok "the edge serves the manifest signed by key 1 (root 1, no --trusted-key)" 10 edge_has_current

# ---- rotate: root 2 adds manifest key 2
"$HP" --json root rotate --from "$T/r/1.json" --add-manifest-key "$M2_PUB" --sign "$K/ra.key,$K/rc.key" \
    --out "$T/r/2.json" >"$T/rot.json"
is "$(jget "$T/rot.json" '(j["complete"], j["version"])')" "(True, 2)" "root rotate: version 2, complete"
ok "root 2 publishes" "$HP" --quiet root publish "$T/r/2.json" "${S[@]}"
"$HP" root show "$T/r/2.json" --previous "$T/r/1.json" >"$T/show.txt"
is "$?:$(grep -xF "  expires: $(iso_expiry "$T/r/2.json")" "$T/show.txt")" "0:  expires: $(iso_expiry "$T/r/2.json")" \
    "root show prints the expiry (docs/security.md: publish a successor before it)"
release "rotation" "$K/m2.key" "$M1_PUB"
agent_check
is "$?:$(offered)" "0:1.0.$n" "after root 2 the device accepts a manifest signed by the new key"
is "$(cached_root)" 2 "the device cached root 2 in its data dir"
agent_status 2 "$T/r/2.json" "root 2"
until_ok "the edge accepts it too" 10 edge_has_current
until_ok "the edge's /healthz names root 2" 10 health_has "\"roots\":\[{\"app\":\"demo\",\"version\":2,\"expires_at\":$(expires_of "$T/r/2.json"),\"expired\":false}\]"
metrics_has() { curl -s "$EDGE/metrics" | grep -qx -- "$1"; }
ok "... and /metrics its version" metrics_has 'hotpatch_edge_root_version{app="demo"} 2'
ok "... and its expiry" metrics_has "hotpatch_edge_root_expires_at_seconds{app=\"demo\"} $(expires_of "$T/r/2.json")"
release "old key" "$K/manifest.key" "$M2_PUB"
agent_check
is "$?:$(offered)" "0:1.0.$n" "the old key is still trusted until revoked (device)"
until_ok "... and by the edge" 10 edge_has_current

# ---- revoke key 1 (compromised): root 3
"$HP" --json root revoke --from "$T/r/2.json" --key "$M1_ID" --sign "$K/rb.key,$K/rc.key" --out "$T/r/3.json" \
    >"$T/rev.json"
is "$(jget "$T/rev.json" '(j["revoked_keys"], j["manifest_keys"] == [j["manifest_keys"][0]])')" \
    "(['$M1_ID'], True)" "root revoke lists the key as revoked and drops it"
ok "root 3 publishes" "$HP" --quiet root publish "$T/r/3.json" "${S[@]}"
agent_check
is "$?" 4 "after root 3 the device refuses the manifest signed by the revoked key"
ok "... and names it" grep -q "signed by key $M1_ID, revoked by root version 3" "$T/c.err"
until_ok "the edge stops serving the manifest signed by the revoked key" 10 edge_lacks
until_ok "/metrics names root 3" 10 metrics_has 'hotpatch_edge_root_version{app="demo"} 3'
ok "... logging the key" edge_log_has "signed by key $M1_ID, which root version 3 of 'demo' revoked"
release "stolen key" "$K/manifest.key" # the attacker signs a fresh manifest with the stolen key
agent_check
is "$?" 4 "a new manifest signed by the revoked key is refused by the device"
refusals() { grep -c "refused 'manifests/demo/android/production.json' (unknown_key): manifest is signed by key $M1_ID, revoked by root version 3" "$T/edge.log"; }
until_ok "... and by the edge (a second refusal naming the key, for the new manifest)" 10 test "$(refusals)" -ge 2
ok "... shown on /healthz" health_has '"status":"degraded"'
ok "the edge still does not serve it" edge_lacks
release "recovery" "$K/m2.key" "$M1_PUB"
agent_check
is "$?:$(offered)" "0:1.0.$n" "a manifest signed by the remaining key is accepted by the device"
until_ok "... and served by the edge again" 10 edge_has_current

# ---- refused successors (placed in storage directly: `root publish` would refuse them)
bad_root() { # bad_root NAME FILE WANT-IN-AGENT-ERROR
    cp "$2" "$ST/roots/demo/4.json"
    agent_check
    is "$?" 4 "$1: refused by the device"
    ok "$1: ... with the reason" grep -q -- "$3" "$T/c.err"
    is "$(cached_root)" 3 "$1: the device keeps root 3"
    until_ok "$1: refused by the edge (/healthz)" 10 health_has "$3"
    rm -f "$ST/roots/demo/4.json"
}
"$HP" --quiet root rotate --from "$T/r/3.json" --sign "$K/rb.key" --out "$T/r/4-below.json" >/dev/null
bad_root "below threshold" "$T/r/4-below.json" "1 valid signature(s) by the keys of root version 3, below its threshold 2"
bad_root "rolled back" "$T/r/2.json" "rollback refused"
"$HP" --quiet root rotate --from "$T/r/3.json" --root-keys "$(pub rd)" --threshold 1 \
    --sign "$K/rb.key,$K/rc.key" --out "$T/r/4-own.json" >/dev/null
bad_root "new keys below their own threshold" "$T/r/4-own.json" "by its own root keys, below its threshold"
expect_exit 5 "root show names the own-threshold problem" "$HP" root show "$T/r/4-own.json" --previous "$T/r/3.json"
agent_check
is "$?" 0 "with the bad root gone the device is fine again"

# ---- expiry: an expired root with no successor is refused; walking on from it works
"$HP" --quiet root rotate --from "$T/r/3.json" --expires 1s --sign "$K/rb.key,$K/rc.key" --out "$T/r/4.json" >/dev/null
ok "root 4 (expires in 1 s) publishes" "$HP" --quiet root publish "$T/r/4.json" "${S[@]}"
sleep 2
agent_check
is "$?" 4 "an expired newest root is refused by the device (exit 4)"
ok "... saying so" grep -q "expired" "$T/c.err"
until_ok "... and by the edge (/healthz)" 10 health_has "expired"
agent_status 4 "$T/r/4.json" "expired root 4" " (expired)"
until_ok "the edge's /healthz names root 4 as expired" 10 health_has '"version":4,"expires_at":[0-9]*,"expired":true}'
"$HP" --quiet root rotate --from "$T/r/4.json" --sign "$K/rb.key,$K/rc.key" --out "$T/r/5.json" >/dev/null
ok "root 5 publishes" "$HP" --quiet root publish "$T/r/5.json" "${S[@]}"
release "after expiry" "$K/m2.key"
agent_check
is "$?:$(offered)" "0:1.0.$n" "the device walks from the expired root 4 to root 5"
is "$(cached_root)" 5 "and caches root 5"
until_ok "the edge walks on too and serves the new manifest" 10 edge_has_current

# ---- restarts resume from the cached roots
kill $EDGE_PID; wait $EDGE_PID 2>/dev/null
"$HP_BIN/hotpatch-edge" --json --source "file://$ST" --root "$T/r/1.json" --data-dir "$T/edge" sync \
    >"$T/sync.json" 2>"$T/sync.err"
is "$?" 0 "a restarted edge syncs from its cached root"
ok "... without walking from version 1 again" grep -q "root of trust for app 'demo': version 5" "$T/sync.err"
is "$(jget "$T/sync.json" '[(r["app"], r["version"], r["expires_at"], r["expired"]) for r in j["roots"]]')" \
    "[('demo', 5, $(expires_of "$T/r/5.json"), False)]" "edge sync --json names root 5 and its expiry"
"$HP_BIN/hotpatch-edge" --source "file://$ST" --root "$T/r/1.json" --data-dir "$T/edge" sync >"$T/sync.txt" 2>/dev/null
ok "... and so does its human output" grep -qxF "root of trust for app 'demo': version 5, expires $(iso_expiry "$T/r/5.json")" \
    "$T/sync.txt"

# ---- configuration errors are one line
"$AGENT" "${DEV[@]/$T\/r\/1.json/$T\/r\/4-below.json}" check >/dev/null 2>"$T/e.err"
is "$?" 2 "the agent refuses a damaged embedded root (exit 2)"
is "$(wc -l <"$T/e.err")" 1 "... with one line"
"$HP_BIN/hotpatch-edge" --source "file://$ST" --root "$T/r/4-below.json" --data-dir "$T/edge2" sync 2>"$T/e.err"
is "$?" 2 "the edge refuses a damaged --root (exit 2)"
is "$(wc -l <"$T/e.err")" 1 "... with one line"

# ---- every root `hotpatch root` wrote (drafts, refused successors, published ones) has the schema's shape
SCHEMA_CHECK=$HP_SRC_DIR/manifests/vectors/check_schema.py
python3 "$SCHEMA_CHECK" --root "$T"/r/*.json "$ST"/roots/demo/*.json >"$T/schema.tap" 2>&1
is "$?" 0 "every root written by the CLI validates against manifests/root.schema.json"
grep -v '^ok' "$T/schema.tap" | sed 's/^/# /'
is "$(grep -c '^ok' "$T/schema.tap")" "$(ls "$T"/r/*.json "$ST"/roots/demo/*.json | wc -l)" "... all of them checked"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); p=json.loads(e["payload"]); p["extra"]=1
e["payload"]=json.dumps(p); json.dump(e, open(sys.argv[2], "w"))' "$T/r/3.json" "$T/extra.json"
python3 "$SCHEMA_CHECK" --root "$T/extra.json" >/dev/null 2>&1
is "$?" 1 "... and the check fails on a root with an unknown member"
done_testing
