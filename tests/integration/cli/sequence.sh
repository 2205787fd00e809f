# sequence.sh - issue 12 #1: a channel's sequence never goes backwards, whatever
# a serverless writer loses. The manifest is deleted from storage (an accident,
# a bucket migration, a lifecycle rule): `hotpatch release` must refuse to start
# the channel again from nothing while storage holds the app's bundles or other
# channels, and told `--new-channel` it must issue a sequence above every one it
# issued before, so a device that accepted the old manifests accepts the new
# one (the agent is that device here, reading the manifests from storage).
. "$(dirname "$0")/common.bash"

keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
ST=$T/storage
mkdir -p "$ST" "$T/b1" "$T/b2" "$T/b3"
S=(--storage "file://$ST")
A=(--app seqdemo --platform android)
MAN=$ST/manifests/seqdemo/android/production.json
for i in 1 2 3; do echo "console.log('v$i');" >"$T/b$i/index.android.bundle"; done
AGENT=$HP_BIN/hotpatch-agent
DEV=(--json --data-dir "$T/device" --app seqdemo --platform android --channel production --binary-version 1.0.0
    --device-id dev-1 --trusted-key "$MANIFEST_PUB" --release-key "$RELEASE_PUB"
    --manifest-base "file://$ST" --bundle-base "file://$ST")

T0_MS=$(date +%s%3N)
ok "release 1.0.0" "$HP" --quiet release "${A[@]}" --version 1.0.0 --target-binary '*' --bundle-dir "$T/b1" "${S[@]}"
ok "release 1.0.1" "$HP" --quiet release "${A[@]}" --version 1.0.1 --target-binary '*' --bundle-dir "$T/b2" "${S[@]}"
ok "rollout 1.0.1 to 50%" "$HP" --quiet rollout "${A[@]}" --version 1.0.1 --percent 50 "${S[@]}"
"$HP" --json history "${A[@]}" "${S[@]}" >"$T/h.json"
SEQ=$(jget "$T/h.json" 'j["sequence"]')
is "$((SEQ >= T0_MS))" 1 "sequences are floored by the issuer's clock in ms ($SEQ >= $T0_MS)"
"$AGENT" "${DEV[@]}" check >"$T/c1.json" 2>"$T/c1.err"
is "$?" 0 "the device accepts the channel's manifest (sequence $SEQ)"

# The manifest is lost.
rm -f "$MAN"
nb=$(find "$ST/bundles" -type f | wc -l)
expect_exit 4 "release onto a lost manifest is refused" "$HP" --quiet release "${A[@]}" --version 1.0.2 \
    --target-binary '*' --bundle-dir "$T/b3" "${S[@]}"
case "$LAST_ERR" in *--new-channel*) r=ok ;; *) r="$LAST_ERR" ;; esac
is "$r" ok "the error says how to go on (--new-channel)"
ok "refused before anything was written: no manifest" test ! -e "$MAN"
is "$(find "$ST/bundles" -type f | wc -l)" "$nb" "refused before anything was written: no new bundle"

# Told it is new, the writer restarts the channel above every sequence it issued.
"$HP" --json release "${A[@]}" --version 1.0.2 --target-binary '*' --bundle-dir "$T/b3" --new-channel "${S[@]}" \
    >"$T/rel.json"
is "$?" 0 "release --new-channel starts the channel again"
NEW=$(jget "$T/rel.json" 'j["manifest"]["sequence"]')
is "$((NEW > SEQ))" 1 "the new sequence is above the lost one ($SEQ -> $NEW)"
"$AGENT" "${DEV[@]}" check >"$T/c2.json" 2>"$T/c2.err"
rc=$?
is "$rc" 0 "the device accepts the restarted channel (no replay refusal)"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/c2.err" "$T/c2.json" | head -5

# Issue 12 #4: a channel is retired by a signed tombstone, never by deleting its manifest.
"$HP" --json manifest retire "${A[@]}" "${S[@]}" >"$T/ret.json"
is "$?" 0 "manifest retire writes a tombstone"
TS=$(jget "$T/ret.json" 'j["sequence"]')
is "$((TS > NEW))" 1 "the tombstone has a higher sequence ($NEW -> $TS)"
"$HP" --json manifest show "${A[@]}" "${S[@]}" --trusted-key "$MANIFEST_PUB" >"$T/show.json"
is "$(jget "$T/show.json" '(j["manifest"]["retired"], len(j["manifest"]["releases"]))')" "(True, 0)" \
    "the tombstone verifies with the manifest key: retired, no releases"
ok "the manifest object is still there (not deleted)" test -s "$MAN"
"$AGENT" "${DEV[@]}" check >"$T/c3.json" 2>"$T/c3.err"
is "$?" 3 "the device verifies the tombstone: nothing to install (exit 3)"
"$AGENT" "${DEV[@]}" status >"$T/st.json" 2>/dev/null
is "$(jget "$T/st.json" 'j["sequence"]')" "$TS" "the device accepted the tombstone's sequence (an older manifest cannot be replayed)"
expect_exit 4 "release onto a retired channel is refused" "$HP" --quiet release "${A[@]}" --version 1.0.9 \
    --target-binary '*' --bundle-dir "$T/b1" "${S[@]}"
case "$LAST_ERR" in *retired*) r=ok ;; *) r="$LAST_ERR" ;; esac
is "$r" ok "the error says the channel is retired"
ok "release --new-channel starts a retired channel again" "$HP" --quiet release "${A[@]}" --version 1.0.9 \
    --target-binary '*' --bundle-dir "$T/b1" --new-channel "${S[@]}"
"$HP" --json manifest show "${A[@]}" "${S[@]}" >"$T/show2.json"
is "$(jget "$T/show2.json" '(j["manifest"]["retired"], j["manifest"]["sequence"] > '"$TS"')')" "(False, True)" \
    "started again above the tombstone's sequence"

# A brand-new app in an empty bucket needs no flag; a second app is not "other channels".
ok "first release of another app needs no --new-channel" "$HP" --quiet release --app other --platform android \
    --version 1.0.0 --target-binary '*' --bundle-dir "$T/b1" "${S[@]}"
done_testing
