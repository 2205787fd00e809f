# serverless_s3.sh - `hotpatch` serverless against a real S3 peer (Ceph
# radosgw from tests/harness/rgw.sh, real SigV4 and conditional PUTs):
# release, the stored object downloaded with a signed request hashes and
# verifies, the manifest verifies, duplicate refusal, a lifecycle change, and
# a wrong secret key (403): exit 3, one-line error, nothing written.
. "$(dirname "$0")/common.bash"

if [ -z "${HP_TEST_S3_ENDPOINT:-}" ]; then
    echo "not ok 1 - HP_TEST_S3_* not set: run through 'make test' (tests/harness/servers.sh)"
    echo "1..1"
    exit 1
fi
BUNDLE=$(rn_fixture_bundle android) || { echo "not ok 1 - fixture bundle"; echo "1..1"; exit 1; }
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
export HOTPATCH_S3_ENDPOINT=$HP_TEST_S3_ENDPOINT AWS_REGION=$HP_TEST_S3_REGION
export AWS_ACCESS_KEY_ID=$HP_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HP_TEST_S3_SECRET_KEY
PREFIX=cli-s3-$$-$RANDOM
S=(--storage "s3://$HP_TEST_S3_BUCKET/$PREFIX")
A=(--app demo --platform android)

# s3get KEY OUT: signed GET of an object under the test prefix; prints the HTTP status.
s3get() {
    curl -s -o "$2" -w '%{http_code}' --aws-sigv4 "aws:amz:$HP_TEST_S3_REGION:s3" \
        --user "$HP_TEST_S3_ACCESS_KEY:$HP_TEST_S3_SECRET_KEY" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "$HP_TEST_S3_ENDPOINT/$HP_TEST_S3_BUCKET/$PREFIX/$1"
}

"$HP" --json release "${A[@]}" --version 1.0.0 --target-binary '1.0.x' --bundle-dir "$BUNDLE" "${S[@]}" \
    >"$T/rel.json" 2>"$T/rel.err"
rc=$?
is "$rc" 0 "release to radosgw"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/rel.err" "$T/rel.json" | tail -5
SHA=$(jget "$T/rel.json" 'j["release"]["sha256"]')
SIG=$(jget "$T/rel.json" 'j["release"]["bundle_sig"]')
KEY=$(jget "$T/rel.json" 'j["release"]["bundle_url"]')
is "$(s3get "$KEY" "$T/dl.zip")" 200 "bundle object is in the bucket under the prefix"
is "$(sha256sum <"$T/dl.zip" | cut -c1-64)" "$SHA" "downloaded object hashes to the released SHA-256"
ok "downloaded object's signature verifies" "$HP" verify "$T/dl.zip" --sig "$SIG" --pubkey "$RELEASE_PUB"
is "$(s3get manifests/demo/android/production.json "$T/man.json")" 200 "manifest object written"
"$HP" --json manifest show "${A[@]}" "${S[@]}" --trusted-key "$MANIFEST_PUB" >"$T/show.json"
is "$?" 0 "manifest from S3 verifies"
S1=$(jget "$T/show.json" 'j["manifest"]["sequence"]')
is "$(jget "$T/show.json" '(j["manifest"]["sequence"] > 0, j["manifest"]["releases"][0]["sha256"])')" "(True, '$SHA')" \
    "manifest: a sequence, the release's hash"
"$HP" --json release "${A[@]}" --version 1.0.1 --target-binary '1.0.x' --bundle-dir "$BUNDLE" "${S[@]}" >"$T/rel2.json"
S2=$(jget "$T/rel2.json" 'j["manifest"]["sequence"]')
is "$(jget "$T/rel2.json" '(j["manifest"]["sequence"] > '"$S1"', j["bundle"]["uploaded"])')" "(True, False)" \
    "second release: higher sequence, same bundle not uploaded again"
expect_exit 4 "duplicate version on S3" "$HP" --quiet release "${A[@]}" --version 1.0.1 --target-binary '1.0.x' \
    --bundle-dir "$BUNDLE" "${S[@]}"
ok "rollout on S3" "$HP" rollout "${A[@]}" --version 1.0.1 --percent 25 "${S[@]}"
"$HP" --json history "${A[@]}" "${S[@]}" >"$T/h.json"
S3=$(jget "$T/h.json" 'j["sequence"]')
is "$(jget "$T/h.json" '(j["sequence"] > '"$S2"', [(r["version"], r["rollout_bp"]) for r in j["releases"]])')" \
    "(True, [('1.0.1', 2500), ('1.0.0', 10000)])" "history from S3 after the rollout"

# Wrong secret: radosgw answers 403 SignatureDoesNotMatch.
s3get manifests/demo/android/production.json "$T/before.json" >/dev/null
expect_exit 3 "wrong S3 secret: release refused (403)" env AWS_SECRET_ACCESS_KEY=wrong-secret "$HP" --quiet release \
    "${A[@]}" --version 2.0.0 --target-binary '*' --bundle-dir "$BUNDLE" "${S[@]}"
expect_exit 3 "wrong S3 secret: rollback refused (403)" env AWS_SECRET_ACCESS_KEY=wrong-secret "$HP" rollback \
    "${A[@]}" "${S[@]}"
expect_exit 3 "wrong S3 secret: manifest show refused (403)" env AWS_SECRET_ACCESS_KEY=wrong-secret "$HP" manifest show \
    "${A[@]}" "${S[@]}"
s3get manifests/demo/android/production.json "$T/after.json" >/dev/null
ok "manifest unchanged after the refused writes" cmp "$T/before.json" "$T/after.json"
is "$(jget "$T/after.json" 'json.loads(j["payload"])["sequence"]' 2>/dev/null || python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["payload"])["sequence"])' "$T/after.json")" "$S3" \
    "stored manifest still at the rollout's sequence"

# Unreachable endpoint: network error, exit 6.
PORT=$(free_port)
expect_exit 6 "S3 endpoint down: exit 6" env HOTPATCH_S3_ENDPOINT="http://127.0.0.1:$PORT" "$HP" manifest show "${A[@]}" "${S[@]}"
done_testing
