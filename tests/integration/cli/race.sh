# race.sh - two `hotpatch release` processes racing on one channel (different
# versions), several rounds, on file:// and on radosgw: both releases end up
# in the manifest, the sequence rises by at least 2 per round (two writes, each
# above the last; sequences are floored by the clock in ms), and the
# manifest verifies after every round (no lost update, no partial write).
. "$(dirname "$0")/common.bash"

BUNDLE=$(rn_fixture_bundle android) || { echo "not ok 1 - fixture bundle"; echo "1..1"; exit 1; }
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
ROUNDS=${HP_RACE_ROUNDS:-4}
A=(--app race --platform android)

race() {
    local label=$1 url=$2 seq=0 i rc1 rc2 p1 p2 now
    for i in $(seq 1 "$ROUNDS"); do
        "$HP" --json release "${A[@]}" --version "$i.0.0" --target-binary '*' --bundle-dir "$BUNDLE" --storage "$url" \
            >"$T/$label-$i-a.json" 2>"$T/$label-$i-a.err" &
        p1=$!
        "$HP" --json release "${A[@]}" --version "$i.0.1" --target-binary '*' --bundle-dir "$BUNDLE" --storage "$url" \
            >"$T/$label-$i-b.json" 2>"$T/$label-$i-b.err" &
        p2=$!
        wait "$p1"; rc1=$?
        wait "$p2"; rc2=$?
        is "$rc1/$rc2" "0/0" "$label round $i: both racing releases succeed"
        [ "$rc1/$rc2" = "0/0" ] || cat "$T/$label-$i-a.json" "$T/$label-$i-b.json" | sed 's/^/#   /'
        "$HP" --json history "${A[@]}" --storage "$url" --trusted-key "$MANIFEST_PUB" >"$T/$label-$i-h.json"
        is "$(jget "$T/$label-$i-h.json" 'sorted(r["version"] for r in j["releases"] if r["version"].startswith("'"$i"'."))')" \
            "['$i.0.0', '$i.0.1']" "$label round $i: both versions in the manifest"
        now=$(jget "$T/$label-$i-h.json" 'j["sequence"]')
        is "$((now >= seq + 2))" 1 "$label round $i: two writes, each above the last ($seq -> $now)"
        is "$(jget "$T/$label-$i-h.json" 'len(j["releases"])')" "$((2 * i))" "$label round $i: no release lost"
        seq=$now
    done
    diag "$label: attempts per release: $(cat "$T/$label"-*-[ab].json | python3 -c 'import json,sys; print(sorted(json.loads(l)["manifest"]["attempts"] for l in sys.stdin if l.strip().startswith("{\"mode")))')"
}

mkdir -p "$T/st"
race file "file://$T/st"
if [ -n "${HP_TEST_S3_ENDPOINT:-}" ]; then
    export HOTPATCH_S3_ENDPOINT=$HP_TEST_S3_ENDPOINT AWS_REGION=$HP_TEST_S3_REGION
    export AWS_ACCESS_KEY_ID=$HP_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HP_TEST_S3_SECRET_KEY
    race s3 "s3://$HP_TEST_S3_BUCKET/cli-race-$$-$RANDOM"
else
    echo "not ok $((_tap_n += 1)) - HP_TEST_S3_* not set: the S3 race did not run"
    _tap_fail=$((_tap_fail + 1))
fi
done_testing
