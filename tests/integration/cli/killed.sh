# killed.sh - `hotpatch release` killed (SIGKILL) at random points of a large
# upload, on file:// and on radosgw (multipart): the channel manifest is never
# left partial: after every kill it still verifies, and it either is exactly
# the previous one or holds the complete new release. A rerun then finishes
# the job (or reports the version as already released, exit 4).
. "$(dirname "$0")/common.bash"

keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
A=(--app big --platform android)
mkdir -p "$T/big/raw"
echo 'var big = 1;' >"$T/big/index.android.bundle"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$T/big/raw/blob.bin" # incompressible: the zip stays > 16 MiB (S3 multipart)

kill_rounds() {
    local label=$1 url=$2 d seq0 seq1 rc n=0 t0 ms
    t0=$(date +%s%N)
    "$HP" --quiet release "${A[@]}" --version 0.0.1 --target-binary '*' --bundle-dir "$T/big" --storage "$url" >/dev/null
    ms=$((($(date +%s%N) - t0) / 1000000))
    diag "$label: a full release of the 20 MiB bundle takes ${ms} ms; killing at 50-95% of that"
    # Kill points spread over the run, most of them late: hashing/zipping comes
    # first, the bundle upload and the manifest write come last.
    for d in $(python3 -c "print(' '.join('%.3f' % ($ms * f / 1000) for f in (0.5, 0.8, 0.95)))"); do
        n=$((n + 1))
        seq0=$("$HP" --json history "${A[@]}" --storage "$url" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sequence"])')
        # a distinct bundle per round, so each upload really transfers
        echo "round $n" >"$T/big/index.android.bundle"
        "$HP" --quiet release "${A[@]}" --version "1.0.$n" --target-binary '*' --bundle-dir "$T/big" --storage "$url" \
            >/dev/null 2>&1 &
        local pid=$!
        sleep "$d"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        "$HP" --json history "${A[@]}" --storage "$url" >"$T/h.json" 2>"$T/h.err"
        rc=$?
        is "$rc" 0 "$label: killed after ${d}s: manifest still verifies"
        seq1=$(jget "$T/h.json" 'j["sequence"]' 2>/dev/null)
        if [ "$seq1" = "$seq0" ]; then
            is "$(jget "$T/h.json" '"1.0.'$n'" in [r["version"] for r in j["releases"]]')" False \
                "$label: killed after ${d}s: manifest unchanged (sequence $seq0)"
        else
            is "$((seq1 > seq0))/$(jget "$T/h.json" '"1.0.'$n'" in [r["version"] for r in j["releases"]]')" "1/True" \
                "$label: killed after ${d}s: the release completed before the kill (sequence $seq1)"
        fi
        "$HP" --quiet release "${A[@]}" --version "1.0.$n" --target-binary '*' --bundle-dir "$T/big" --storage "$url" \
            >/dev/null 2>"$T/rerun.err"
        rc=$?
        ok "$label: rerun after the kill finishes (exit $rc)" test "$rc" -eq 0 -o "$rc" -eq 4
    done
    "$HP" --json history "${A[@]}" --storage "$url" >"$T/h.json"
    is "$(jget "$T/h.json" 'sorted(r["version"] for r in j["releases"])')" "['0.0.1', '1.0.1', '1.0.2', '1.0.3']" \
        "$label: every version released exactly once"
}

mkdir -p "$T/st"
kill_rounds file "file://$T/st"
if [ -n "${HP_TEST_S3_ENDPOINT:-}" ]; then
    export HOTPATCH_S3_ENDPOINT=$HP_TEST_S3_ENDPOINT AWS_REGION=$HP_TEST_S3_REGION
    export AWS_ACCESS_KEY_ID=$HP_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HP_TEST_S3_SECRET_KEY
    kill_rounds s3 "s3://$HP_TEST_S3_BUCKET/cli-kill-$$-$RANDOM"
else
    echo "not ok $((_tap_n += 1)) - HP_TEST_S3_* not set: the S3 rounds did not run"
    _tap_fail=$((_tap_fail + 1))
fi
ok "no temp dirs left by the reruns" bash -c "[ \$(ls -d '$T'/hotpatch-* 2>/dev/null | wc -l) -le 8 ]"
done_testing
