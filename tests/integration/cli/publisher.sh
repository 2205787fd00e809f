# publisher.sh - `hotpatch` in publisher mode against the real
# hotpatch-publisher (real PostgreSQL, file:// storage, HTTP on loopback):
# login, release (multipart upload, progress bar on a TTY), duplicate (409
# -> exit 4), manifest show verified with the publisher's manifest key,
# rollout / rollback / promote / archive / history through the API, and the
# refusals: unregistered release key (exit 5), bad token (exit 3), read-only
# key (exit 3), rate limit (429: reads wait and retry), publisher down (exit 6).
. "$(dirname "$0")/common.bash"

PUB=$HP_BIN/hotpatch-publisher
if [ ! -x "$PUB" ]; then
    echo "ok 1 # skip $PUB is not built"
    echo "1..1"
    exit 0
fi
hp_require_pg || exit 1
BUNDLE=$(rn_fixture_bundle android) || { echo "not ok 1 - fixture bundle"; echo "1..1"; exit 1; }
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key

# A database of our own on the throwaway cluster.
hp_publisher_db || { echo "not ok 1 - createdb"; echo "1..1"; exit 1; }
hp_start_publisher
ok "publisher is up" curl -sf "$EP/healthz"

OWNER=$(hp_bootstrap_owner)
ok "bootstrap gave an owner key" test -n "$OWNER"
WRITE=$(hp_new_app "$OWNER" demo)
ok "app created with a write key" test -n "$WRITE"
hp_add_release_key "$OWNER" demo "$RELEASE_PUB" >"$T/key.json"
ok "release key registered" grep -q '"keyid"' "$T/key.json"
READ=$(hp_new_api_key "$OWNER" demo read)

expect_exit 3 "login with a bad token refused by the publisher" "$HP" login --endpoint "$EP" --token hp_bogus_key
ok "no config written by the refused login" test ! -e "$XDG_CONFIG_HOME/hotpatch/config"
echo "$WRITE" | "$HP" login --endpoint "$EP" --token-stdin >/dev/null
is "$?" 0 "login with the app's write key (checked with the publisher)"
ok "login stored the endpoint" grep -q "^endpoint = $EP\$" "$XDG_CONFIG_HOME/hotpatch/config"
A=(--app demo --platform android)

"$HP" --json release "${A[@]}" --version 1.0.0 --target-binary '1.0.x' --bundle-dir "$BUNDLE" --rollout 50 \
    >"$T/rel.json" 2>"$T/rel.err"
rc=$?
is "$rc" 0 "release through the publisher"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/rel.json" "$T/rel.err" | tail -5
T0_MS=$(date +%s%3N)
is "$(jget "$T/rel.json" '(j["mode"], j["manifest"]["sequence"] > '"$((T0_MS - 600000))"')')" "('publisher', True)" \
    "publisher answered with the first sequence (floored by the clock in ms)"
SHA=$(jget "$T/rel.json" 'j["release"]["sha256"]' 2>/dev/null)
"$HP" --json manifest show "${A[@]}" --trusted-key "$MPUB" >"$T/show.json"
is "$?" 0 "manifest fetched from the publisher verifies with its manifest key"
is "$(jget "$T/show.json" '[(r["version"], r["rollout_bp"], r["state"]) for r in j["manifest"]["releases"]]')" \
    "[('1.0.0', 5000, 'active')]" "manifest lists the release at 50%"
URL=$(jget "$T/show.json" 'j["manifest"]["releases"][0]["bundle_url"]')
SIG=$(jget "$T/show.json" 'j["manifest"]["releases"][0]["bundle_sig"]')
ok "bundle stored by the publisher verifies (hash + our signature)" "$HP" verify "$T/pst/$URL" --sig "$SIG" \
    --pubkey "$RELEASE_PUB" --sha256 "$SHA"
expect_exit 5 "manifest show with the wrong trusted key" "$HP" manifest show "${A[@]}" --trusted-key "$RELEASE_PUB"
expect_exit 4 "duplicate version: 409 -> exit 4" "$HP" --quiet release "${A[@]}" --version 1.0.0 --target-binary '1.0.x' \
    --bundle-dir "$BUNDLE"

if command -v script >/dev/null 2>&1; then
    script -qefc "'$HP' release ${A[*]} --version 1.0.1 --target-binary 1.0.x --bundle-dir '$BUNDLE'" /dev/null \
        >"$T/tty.out" 2>&1
    is "$?" 0 "release on a TTY"
    ok "progress bar drawn on a TTY" grep -q 'uploading \[#' "$T/tty.out"
    script -qefc "'$HP' --json release ${A[*]} --version 1.0.2 --target-binary 1.0.x --bundle-dir '$BUNDLE'" /dev/null \
        >"$T/tty-json.out" 2>&1
    ok "no progress bar with --json" bash -c "! grep -q 'uploading \\[' '$T/tty-json.out'"
else
    echo "ok $((_tap_n += 1)) # skip no script(1) to fake a TTY"
fi
ok "no progress bar when stderr is not a TTY" bash -c "! grep -q 'uploading \\[' '$T/rel.err'"

# Telemetry as devices report it, then `hotpatch stats`.
RID=$(jget "$T/rel.json" 'j["release"]["id"]')
curl -s -X POST "$EP/v1/installations" -H 'Content-Type: application/json' --data "{\"events\":[
  {\"event_id\":\"e1\",\"device_id\":\"d1\",\"app\":\"demo\",\"platform\":\"android\",\"channel\":\"production\",\"release_id\":\"$RID\",\"status\":\"applied\",\"binary_version\":\"1.0.3\"},
  {\"event_id\":\"e2\",\"device_id\":\"d2\",\"app\":\"demo\",\"platform\":\"android\",\"channel\":\"production\",\"release_id\":\"$RID\",\"status\":\"applied\",\"binary_version\":\"1.0.3\"},
  {\"event_id\":\"e3\",\"device_id\":\"d3\",\"app\":\"demo\",\"platform\":\"android\",\"channel\":\"production\",\"release_id\":\"$RID\",\"status\":\"failed\",\"binary_version\":\"1.0.4\"}]}" >/dev/null
"$HP" --json stats "${A[@]}" --version 1.0.0 >"$T/stats.json"
is "$?" 0 "stats --json"
is "$(jget "$T/stats.json" '(j["release"]["id"], j["stats"]["installs"], j["stats"]["failures"])')" "('$RID', 2, 1)" \
    "stats count the reported installs and failures"
ok "stats table" bash -c "'$HP' stats ${A[*]} --version 1.0.0 | grep -q '^installs *2$'"
ok "stats table says the unticketed reports are not what the auto-halt counts" \
    bash -c "'$HP' stats ${A[*]} --version 1.0.0 | grep -q '^auto-halt sees 0 installs, 0 failures'"
expect_exit 2 "stats in serverless mode: usage error" "$HP" stats "${A[@]}" --storage "file://$T/pst"
ok "rollout 1.0.0 to 75%" "$HP" rollout "${A[@]}" --version 1.0.0 --percent 75
ok "halt 1.0.0" "$HP" halt "${A[@]}" --version 1.0.0
"$HP" --json manifest show "${A[@]}" --trusted-key "$MPUB" >"$T/halted.json"
is "$(jget "$T/halted.json" '[r["state"] for r in j["manifest"]["releases"] if r["version"] == "1.0.0"]')" "['halted']" \
    "halt re-published the manifest"
ok "resume 1.0.0" "$HP" resume "${A[@]}" --version 1.0.0
ok "rollback (newest active)" "$HP" rollback "${A[@]}"
"$HP" --json history "${A[@]}" >"$T/h.json"
is "$?" 0 "history --json"
is "$(jget "$T/h.json" 'sorted((r["version"], r.get("state")) for r in j["releases"])')" \
    "[('1.0.0', 'active'), ('1.0.1', 'active'), ('1.0.2', 'rolled_back')]" "history: states"
"$HP" --json manifest show "${A[@]}" --trusted-key "$MPUB" >"$T/show2.json"
is "$(jget "$T/show2.json" '[r["rollout_bp"] for r in j["manifest"]["releases"] if r["version"] == "1.0.0"]')" "[7500]" \
    "manifest re-published with the new rollout"
ok "promote 1.0.0 to beta" "$HP" promote "${A[@]}" --from production --to beta --version 1.0.0
"$HP" --json manifest show "${A[@]}" --channel beta --trusted-key "$MPUB" >"$T/beta.json"
is "$(jget "$T/beta.json" '[r["version"] for r in j["manifest"]["releases"]]')" "['1.0.0']" "beta manifest has 1.0.0"
ok "archive 1.0.1" "$HP" archive "${A[@]}" --version 1.0.1
"$HP" --json manifest show "${A[@]}" --trusted-key "$MPUB" >"$T/show3.json"
is "$(jget "$T/show3.json" 'sorted(r["version"] for r in j["manifest"]["releases"])')" "['1.0.0', '1.0.2']" \
    "archived release left the manifest"
ok "history table" bash -c "'$HP' history ${A[*]} | grep -q '1.0.0'"

# Seed 000/001 legacy signature (docs/compatibility.md): `hotpatch app` opts in, release --legacy-signature.
"$HP" app --app demo >"$T/app.txt"
is "$?" 0 "hotpatch app shows the settings"
ok "legacy signature off by default" grep -q '^legacy signature  off$' "$T/app.txt"
expect_exit 3 "a write key cannot opt the app in" "$HP" app --app demo --legacy-signature on
expect_exit 2 "--legacy-signature takes on|off" "$HP" app --app demo --legacy-signature yes --token "$OWNER"
"$HP" --json app --app demo --legacy-signature on --token "$OWNER" >"$T/app.json"
is "$(jget "$T/app.json" 'j["legacy_signature"]')" True "the owner opted demo in"
ok "opted in: a release without --legacy-signature is refused" bash -c "! '$HP' --quiet release ${A[*]} \
    --channel legacy --version 2.0.0 --target-binary '*' --bundle-dir '$BUNDLE' 2>'$T/leg.err'"
ok "... saying what to do" grep -q -- '--legacy-signature' "$T/leg.err"
ok "release --legacy-signature" "$HP" --quiet release "${A[@]}" --channel legacy --version 2.0.0 --target-binary '*' \
    --bundle-dir "$BUNDLE" --legacy-signature
"$HP" --json manifest show "${A[@]}" --channel legacy --trusted-key "$MPUB" >"$T/leg.json"
is "$(jget "$T/leg.json" 'len(j["manifest"]["releases"][0]["legacy_signature"])')" 88 \
    "the signed manifest carries the legacy signature"
ok "it is not the domain-separated bundle_sig" test "$(jget "$T/leg.json" 'j["manifest"]["releases"][0]["legacy_signature"] != j["manifest"]["releases"][0]["bundle_sig"]')" = True
"$HP" --json app --app demo --legacy-signature off --token "$OWNER" >/dev/null
is "$?" 0 "opt out again"

# Issue 12 #4: the publisher retires a channel with a signed tombstone, never by deleting its manifest.
BSEQ=$(jget "$T/beta.json" 'j["manifest"]["sequence"]')
expect_exit 3 "a read-only key cannot retire a channel" "$HP" --quiet manifest retire "${A[@]}" --channel beta \
    --token "$READ"
ok "manifest retire --channel beta (publisher)" "$HP" --quiet manifest retire "${A[@]}" --channel beta
"$HP" --json manifest show "${A[@]}" --channel beta --trusted-key "$MPUB" >"$T/beta2.json"
is "$(jget "$T/beta2.json" '(j["manifest"]["retired"], j["manifest"]["releases"], j["manifest"]["sequence"] > '"$BSEQ"')')" \
    "(True, [], True)" "the publisher's tombstone verifies: retired, no releases, higher sequence"
ok "a release into the retired beta" "$HP" --quiet release "${A[@]}" --channel beta --version 2.0.0 --target-binary '*' \
    --bundle-dir "$BUNDLE"
"$HP" --json manifest show "${A[@]}" --channel beta --trusted-key "$MPUB" >"$T/beta3.json"
is "$(jget "$T/beta3.json" '(j["manifest"]["retired"], [r["version"] for r in j["manifest"]["releases"]])')" \
    "(False, ['2.0.0'])" "a release starts the retired channel again with only the new release"

# Refusals.
"$HP" keygen --out "$T/stranger.key" >/dev/null
expect_exit 5 "bundle signed by an unregistered key refused" "$HP" --quiet release "${A[@]}" --version 9.0.0 \
    --target-binary '*' --bundle-dir "$BUNDLE" --signing-key "$T/stranger.key"
expect_exit 3 "bad token refused" "$HP" --quiet release "${A[@]}" --version 9.0.1 --target-binary '*' \
    --bundle-dir "$BUNDLE" --token hp_not_a_real_key
expect_exit 3 "read-only key cannot release" "$HP" --quiet release "${A[@]}" --version 9.0.2 --target-binary '*' \
    --bundle-dir "$BUNDLE" --token "$READ"
ok "read-only key can read history" "$HP" history "${A[@]}" --token "$READ"
expect_exit 7 "rollback of an unknown version" "$HP" rollback "${A[@]}" --version 7.7.7
"$HP" --json manifest show "${A[@]}" --trusted-key "$MPUB" >"$T/show4.json"
is "$(jget "$T/show4.json" 'sorted(r["version"] for r in j["manifest"]["releases"])')" "['1.0.0', '1.0.2']" \
    "refused releases left the manifest alone"

# Rate limit: the same publisher restarted with 1 request/s per key; reads
# that get 429 are retried after Retry-After, so back-to-back reads succeed.
hp_stop_publisher
hp_start_publisher HOTPATCH_RATE_KEY=1 HOTPATCH_RATE_KEY_BURST=1
rc=0
for i in 1 2 3; do
    HOTPATCH_DEBUG=1 "$HP" --json history "${A[@]}" >"$T/rl$i.json" 2>>"$T/rl.err" || rc=$?
done
is "$rc" 0 "three back-to-back reads at 1 request/s all succeed"
ok "a 429 was met and waited out" grep -q 'answered 429 to GET' "$T/rl.err"
hp_stop_publisher
diag "publisher temp entries left after the run: $(ls -A "$T/pubtmp" | wc -l) (its own temp files live under the test dir)"
expect_exit 6 "publisher down: exit 6" "$HP" --quiet release "${A[@]}" --version 9.0.3 --target-binary '*' \
    --bundle-dir "$BUNDLE"
done_testing
