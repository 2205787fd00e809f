# embedded.sh - patches from the bundle embedded in the native binary (issue
# 14 item 1): a fresh install is the most common base. Real fixture app
# (Metro + hermesc, tests/bench/patch_variants.sh), `hotpatch embedded` and
# `hotpatch release` in serverless mode on file:// storage, served by the SDK
# tests' counting static server (httpd.py logs the bytes of every response),
# and the real agent.
#   - `embedded add` stores the deterministic zip content-addressed and the
#     registry entry; re-adding is a no-op, other content replaces (and says
#     so), bad input is one line and a documented exit code
#   - a release whose --target-binary admits the registered version lists a
#     patch whose base is the embedded bundle's content digest; one that does
#     not admit it lists none
#   - a FRESH device (nothing installed, --embedded-dir = the bundle the app
#     shipped) updates through that patch: bytes on the wire counted and
#     asserted below the full zip, no zip fetched, result = the released files
#   - a device whose embedded dir is damaged falls back to the full bundle
#   - hostile registries (malformed JSON, wrong types, a zip that is not the
#     content the registry names, a missing zip): `embedded list` refuses with
#     one line, the release still succeeds, without patches from them
#   - publisher mode: the same commands through the real publisher and
#     Postgres write the same storage layout, and its releases' background
#     patch jobs can read it (cmn_embedded_list)
. "$(dirname "$0")/common.bash"
. "$HP_SRC_DIR/tests/bench/patch_variants.sh"
AGENT=$HP_BIN/hotpatch-agent

V=$(TMPDIR=$ORIG_TMPDIR patch_variants) || { echo "ok 1 # SKIP fixture variants unavailable (npm/bundler)"; echo "1..1"; exit 0; }
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
S=$T/store
mkdir -p "$S"
A=(--app fx --platform android)
ST=(--storage "file://$S")
rel() { # rel VERSION DIR RANGE [ARGS...]
    local v=$1 d=$2 r=$3
    shift 3
    "$HP" --json release "${A[@]}" --version "$v" --target-binary "$r" --bundle-dir "$d" "${ST[@]}" "$@" \
        >"$T/rel-$v.json" 2>"$T/rel-$v.err"
}
like() { # like GOT REGEX NAME
    _tap_n=$((_tap_n + 1))
    if printf '%s' "$1" | grep -Eq "$2"; then
        echo "ok $_tap_n - $3"
    else
        _tap_fail=$((_tap_fail + 1))
        echo "not ok $_tap_n - $3"
        printf '#        got: %s\n#   expected: /%s/\n' "$1" "$2"
    fi
}
patch_bases() { jget "$1" '" ".join(sorted(p["base"] for p in j["release"].get("patches", [])))'; }
notes() { jget "$1" '"\n".join(n["level"] + ": " + n["text"] for n in j.get("patch_notes", []))'; }

hp_start_httpd "$S"
BASE=http://127.0.0.1:$HTTPD_PORT

agent() { # agent DEVICE BINARY_VERSION ARGS...
    local d=$1 b=$2
    shift 2
    "$AGENT" --json --data-dir "$T/dev-$d" "${A[@]}" --channel production --binary-version "$b" --device-id "$d" \
        --trusted-key "$MANIFEST_PUB" --release-key "$RELEASE_PUB" --manifest-base "$BASE" "$@"
}
bytes_since() { # bytes_since LINE PREFIX: bytes sent for paths starting with PREFIX after log line LINE
    tail -n +"$(($1 + 1))" "$S/.log" | awk -v p="GET $2" 'index($0, p) == 1 { sub(/.*sent=/, ""); s += $0 } END { print s + 0 }'
}
loglines() { wc -l 2>/dev/null <"$S/.log" || echo 0; }

V0_SHA=$("$HP" patch digest "$V/v0")
V1_SHA=$("$HP" patch digest "$V/v1")

# ---- registering ----
"$HP" --json embedded add "${A[@]}" --binary-version 1.0.0 --bundle-dir "$V/v0" "${ST[@]}" >"$T/add.json" 2>"$T/add.err"
is "$?" 0 "embedded add (serverless)"
is "$(jget "$T/add.json" '(j["base"]["content_sha256"], j["changed"], j["replaced"])')" "('$V0_SHA', True, False)" \
    "the registered digest is the bundle dir's content digest"
KEY=embedded/fx/android/$V0_SHA.zip
is "$(jget "$T/add.json" 'j["base"]["key"]')" "$KEY" "the zip is content-addressed under embedded/<app>/<platform>/"
ok "the zip is in storage" test -s "$S/$KEY"
is "$(jget "$T/add.json" 'j["base"]["size"]')" "$(stat -c %s "$S/$KEY")" "the registry records the zip's size"
mkdir -p "$T/unz" && (cd "$T/unz" && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall()' "$S/$KEY")
ok "the stored zip holds exactly the embedded bundle's files" diff -r "$V/v0" "$T/unz"
is "$(jget "$S/embedded/fx/android/index.json" '[(b["binary_version"], b["content_sha256"]) for b in j["bases"]]')" \
    "[('1.0.0', '$V0_SHA')]" "the registry object lists the base"
cp "$S/embedded/fx/android/index.json" "$T/index.before"
"$HP" --json embedded add "${A[@]}" --binary-version 1.0.0 --bundle-dir "$V/v0" "${ST[@]}" >"$T/add2.json" 2>/dev/null
is "$(jget "$T/add2.json" 'j["changed"]')" False "re-adding the same content changes nothing"
ok "... the registry object is untouched" cmp "$T/index.before" "$S/embedded/fx/android/index.json"
expect_exit 2 "a bad binary version is refused" "$HP" embedded add "${A[@]}" --binary-version 'v1 beta' \
    --bundle-dir "$V/v0" "${ST[@]}"
expect_exit 7 "a missing bundle dir is refused" "$HP" embedded add "${A[@]}" --binary-version 1.0.0 \
    --bundle-dir "$T/nope" "${ST[@]}"
expect_exit 2 "add without --bundle-dir is refused" "$HP" embedded add "${A[@]}" --binary-version 1.0.0 "${ST[@]}"
expect_exit 7 "removing a version that is not registered" "$HP" embedded remove "${A[@]}" --binary-version 9.9.9 "${ST[@]}"
ok "the refusals wrote nothing" cmp "$T/index.before" "$S/embedded/fx/android/index.json"
"$HP" embedded list "${A[@]}" "${ST[@]}" >"$T/list.txt"
like "$(cat "$T/list.txt")" "1\.0\.0 +$V0_SHA" "embedded list shows the base"

# ---- a release that targets 1.0.x lists a patch from the embedded bundle ----
ok "release 1.0.1 (one JS line changed) for binaries 1.0.x" rel 1.0.1 "$V/v1" '1.0.x'
is "$(patch_bases "$T/rel-1.0.1.json")" "$V0_SHA" "its only patch starts from the embedded bundle (first release: no release base)"
like "$(notes "$T/rel-1.0.1.json")" "^note: patch from the embedded bundle of binary 1\.0\.0: [0-9]+ bytes" "the release says so (patch_notes)"
ZIP=$(jget "$T/rel-1.0.1.json" 'j["release"]["size"]')
ZIP_SHA=$(jget "$T/rel-1.0.1.json" 'j["release"]["sha256"]')

# Device f: a fresh install. Nothing installed; its embedded dir is the bundle the app shipped.
cp -r "$V/v0" "$T/emb-f"
n0=$(loglines)
agent f 1.0.0 --embedded-dir "$T/emb-f" update >"$T/u-f.json" 2>"$T/u-f.err"
is "$(jget "$T/u-f.json" 'j["via"]')" patch "a fresh device updates through the patch from its embedded bundle"
is "$(jget "$T/u-f.json" 'j["installed_version"]')" 1.0.1 "... and runs release 1.0.1"
wire=$(bytes_since "$n0" /patches/)
ok "patch bytes on the wire ($wire) are below the full zip ($ZIP)" test "$wire" -gt 0 -a "$wire" -lt "$ZIP"
is "$(bytes_since "$n0" /bundles/)" 0 "the fresh device fetched no bundle zip"
is "$(bytes_since "$n0" /embedded/)" 0 "... and never the embedded zip (devices have it)"
diag "fresh install, one-line change: $wire bytes on the wire instead of $ZIP ($(awk -v w="$wire" -v z="$ZIP" 'BEGIN { printf "%.2f", 100 * w / z }')%)"
ok "the fresh device's bundle is exactly release 1.0.1's files" diff -r "$V/v1" "$T/dev-f/current"
ok "its embedded dir is untouched" diff -r "$V/v0" "$T/emb-f"

# Device g: its embedded dir is damaged (one byte appended): no patch matches, full zip.
cp -r "$V/v0" "$T/emb-g"
printf 'x' >>"$T/emb-g/index.android.bundle"
n0=$(loglines)
agent g 1.0.0 --embedded-dir "$T/emb-g" update >"$T/u-g.json" 2>"$T/u-g.err"
like "$(jget "$T/u-g.json" 'j["via"]')" '^full \(no patch: none for base' "a damaged embedded dir falls back to the full bundle"
is "$(jget "$T/u-g.json" 'j["installed_version"]')" 1.0.1 "... and runs release 1.0.1"
ok "device g downloaded the full zip" test "$(bytes_since "$n0" "/bundles/fx/android/$ZIP_SHA.zip")" -ge "$ZIP"
is "$(bytes_since "$n0" /patches/)" 0 "... and no patch"
ok "device g's bundle is exactly release 1.0.1's files" diff -r "$V/v1" "$T/dev-g/current"

# ---- the target range decides ----
"$HP" --json embedded add "${A[@]}" --binary-version 2.0.0 --bundle-dir "$V/v1" "${ST[@]}" >/dev/null 2>&1
is "$?" 0 "embedded bundle of binary 2.0.0 registered (release 1.0.1's files)"
ok "release 2.0.1 (+300 lines) for binaries >=2.0.0, no release bases" rel 2.0.1 "$V/v2" '>=2.0.0' --patch-bases 0
is "$(patch_bases "$T/rel-2.0.1.json")" "$V1_SHA" "only the 2.0.0 embedded bundle is a base (1.0.0 is not targeted)"
like "$(notes "$T/rel-2.0.1.json")" "no patch from the embedded bundle of binary 1\.0\.0: --target-binary does not admit it" \
    "the release says why 1.0.0 gave none"
ok "release 2.0.2 with --no-embedded-patches" rel 2.0.2 "$V/v3" '*' --patch-bases 0 --no-embedded-patches
is "$(patch_bases "$T/rel-2.0.2.json")" "" "... lists no patch"

# ---- replacing, removing ----
"$HP" --json embedded add "${A[@]}" --binary-version 2.0.0 --bundle-dir "$V/v2" "${ST[@]}" >"$T/rep.json" 2>/dev/null
is "$(jget "$T/rep.json" '(j["changed"], j["replaced"], j["old_content_sha256"])')" "(True, True, '$V1_SHA')" \
    "re-adding 2.0.0 with other content replaces it and names the old digest"
"$HP" embedded add "${A[@]}" --binary-version 2.0.0 --bundle-dir "$V/v1" "${ST[@]}" >"$T/rep.txt" 2>/dev/null
like "$(cat "$T/rep.txt")" "replaces the one registered before for 2\.0\.0" "the text output says so too"
"$HP" --json embedded remove "${A[@]}" --binary-version 2.0.0 "${ST[@]}" >"$T/rm.json" 2>/dev/null
is "$(jget "$T/rm.json" '(j["changed"], j["old_content_sha256"])')" "(True, '$V1_SHA')" "remove"
is "$(jget "$S/embedded/fx/android/index.json" '[b["binary_version"] for b in j["bases"]]')" "['1.0.0']" \
    "the registry keeps the other version"

# ---- hostile registries: refused with a clear error; releases go on without them ----
IDX=$S/embedded/fx/android/index.json
cp "$IDX" "$T/index.good"
n=0
for doc in '{"bases":[' '{"bases":[{"binary_version":1,"content_sha256":"x","key":"k","size":"big","added":0}]}' \
    '{"bases":{}}' '{"bases":[],"sig":"trust me"}'; do
    n=$((n + 1))
    printf '%s' "$doc" >"$IDX"
    expect_exit 1 "hostile registry $n: embedded list refuses it" "$HP" embedded list "${A[@]}" "${ST[@]}"
    like "$LAST_ERR" "embedded registry 'embedded/fx/android/index\.json' is unusable" "... naming the object"
    ok "hostile registry $n: the release still succeeds" rel "3.0.$n" "$V/v$((n % 4))" '*' --patch-bases 0
    like "$(notes "$T/rel-3.0.$n.json")" "warning: no patches from embedded bundles: embedded registry" "... with a warning"
    is "$(patch_bases "$T/rel-3.0.$n.json")" "" "... and no patch from the registry"
    expect_exit 1 "hostile registry $n: embedded add does not overwrite it" "$HP" --quiet embedded add "${A[@]}" \
        --binary-version 4.0.0 --bundle-dir "$V/v0" "${ST[@]}"
    is "$(cat "$IDX")" "$doc" "... the object is left as it was"
done
# A well-formed registry whose zip is not the content it names (another release's zip under the name).
cp "$IDX" "$T/hostile.json" 2>/dev/null
cp "$T/index.good" "$IDX"
cp "$S/$KEY" "$T/key.orig"
cp "$S/bundles/fx/android/$ZIP_SHA.zip" "$S/$KEY"
python3 - "$IDX" "$(stat -c %s "$S/$KEY")" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["bases"][0]["size"] = int(sys.argv[2])
open(sys.argv[1], "w").write(json.dumps(j, separators=(",", ":")))
PY
ok "a release over a base whose zip is other content succeeds" rel 3.1.0 "$V/v2" '*' --patch-bases 0
like "$(notes "$T/rel-3.1.0.json")" "no patch from the embedded bundle of binary 1\.0\.0: its zip extracts to content" \
    "... refusing that base by its content digest"
is "$(patch_bases "$T/rel-3.1.0.json")" "" "... no patch listed"
rm -f "$S/$KEY"
ok "a release over a base whose zip is missing succeeds" rel 3.2.0 "$V/v1" '*' --patch-bases 0
like "$(notes "$T/rel-3.2.0.json")" "no patch from the embedded bundle of binary 1\.0\.0: .*not" "... saying the zip is missing"
is "$(patch_bases "$T/rel-3.2.0.json")" "" "... no patch listed"
cp "$T/key.orig" "$S/$KEY"
cp "$T/index.good" "$IDX"

# ---- S3 (radosgw): concurrent writers lose nothing through the real conditional PUT ----
if [ -n "${HP_TEST_S3_ENDPOINT:-}" ]; then
    S3=(--storage "s3://$HP_TEST_S3_BUCKET/emb-$$-$RANDOM" --s3-endpoint "$HP_TEST_S3_ENDPOINT" --region "$HP_TEST_S3_REGION")
    pids=()
    for i in 1 2 3 4 5 6; do
        mkdir -p "$T/s3b$i" && printf 'bundle %d\n' "$i" >"$T/s3b$i/index.android.bundle"
        AWS_ACCESS_KEY_ID=$HP_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HP_TEST_S3_SECRET_KEY \
            "$HP" --quiet embedded add "${A[@]}" --binary-version "5.$i.0" --bundle-dir "$T/s3b$i" "${S3[@]}" \
            >"$T/s3-$i.out" 2>"$T/s3-$i.err" &
        pids+=($!)
    done
    fails=0
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
    is "$fails" 0 "six concurrent 'embedded add' to radosgw all succeed"
    AWS_ACCESS_KEY_ID=$HP_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HP_TEST_S3_SECRET_KEY \
        "$HP" --json embedded list "${A[@]}" "${S3[@]}" >"$T/s3list.json" 2>"$T/s3list.err"
    is "$(jget "$T/s3list.json" '[b["binary_version"] for b in j["bases"]]')" \
        "['5.1.0', '5.2.0', '5.3.0', '5.4.0', '5.5.0', '5.6.0']" "... and the registry on S3 lists all six"
else
    echo "ok $((_tap_n + 1)) # SKIP S3: HP_TEST_S3_ENDPOINT not set (run through 'make test')"
    _tap_n=$((_tap_n + 1))
fi

# ---- publisher mode ----
PUB=$HP_BIN/hotpatch-publisher
if [ -z "${HP_TEST_PG_URL:-}" ] || [ ! -x "$PUB" ]; then
    echo "ok $((_tap_n + 1)) # SKIP publisher mode: HP_TEST_PG_URL not set (run through 'make test')"
    _tap_n=$((_tap_n + 1))
    done_testing
    exit
fi
hp_publisher_db || { echo "not ok - createdb"; done_testing; exit 1; }
hp_start_publisher
ok "publisher is up" curl -sf "$EP/healthz"
OWNER=$(hp_bootstrap_owner)
WRITE=$(hp_new_app "$OWNER" fx)
READ=$(hp_new_api_key "$OWNER" fx read)
ok "app fx with a write key and a read key" test -n "$WRITE" -a -n "$READ"
PE=(--endpoint "$EP" --token "$WRITE")
"$HP" --json embedded add "${A[@]}" --binary-version 1.0.0 --bundle-dir "$V/v0" "${PE[@]}" >"$T/padd.json" 2>"$T/padd.err"
is "$?" 0 "embedded add through the publisher"
is "$(jget "$T/padd.json" '(j["base"]["content_sha256"], j["base"]["key"], j["changed"])')" "('$V0_SHA', '$KEY', True)" \
    "... the same digest and key as serverless"
ok "... the publisher stored the same zip bytes" cmp "$S/$KEY" "$T/pst/$KEY"
is "$(jget "$T/pst/embedded/fx/android/index.json" '[(b["binary_version"], b["content_sha256"]) for b in j["bases"]]')" \
    "[('1.0.0', '$V0_SHA')]" "... and the same registry layout"
"$HP" --json embedded add "${A[@]}" --binary-version 1.0.0 --bundle-dir "$V/v0" "${PE[@]}" >"$T/padd2.json" 2>/dev/null
is "$(jget "$T/padd2.json" 'j["changed"]')" False "re-adding through the publisher changes nothing"
"$HP" --json embedded list "${A[@]}" "${PE[@]}" >"$T/plist.json" 2>/dev/null
is "$(jget "$T/plist.json" '[b["binary_version"] for b in j["bases"]]')" "['1.0.0']" "embedded list through the publisher"
"$HP" --json embedded list "${A[@]}" --endpoint "$EP" --token "$READ" >"$T/plist2.json" 2>/dev/null
is "$(jget "$T/plist2.json" 'len(j["bases"])')" 1 "a read key may list"
expect_exit 3 "a read key may not add" "$HP" --quiet embedded add "${A[@]}" --binary-version 1.1.0 --bundle-dir "$V/v1" \
    --endpoint "$EP" --token "$READ"
expect_exit 3 "a read key may not remove" "$HP" embedded remove "${A[@]}" --binary-version 1.0.0 --endpoint "$EP" --token "$READ"
# a client that lies about the content digest: refused before anything is stored
Z=$T/lie.zip
(cd "$V/v1" && python3 -c '
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1], "w")
for d, _, fs in os.walk("."):
    for f in sorted(fs): z.write(os.path.join(d, f))' "$Z")
code=$(curl -s -o "$T/lie.out" -w '%{http_code}' -X POST "$EP/v1/apps/fx/platforms/android/embedded" \
    -H "Authorization: Bearer $WRITE" \
    -F "metadata={\"binary_version\":\"1.1.0\",\"content_sha256\":\"$V0_SHA\",\"sha256\":\"$(sha256sum "$Z" | cut -c1-64)\",\"size\":$(stat -c %s "$Z")};type=application/json" \
    -F "bundle=@$Z;type=application/zip")
is "$code" 400 "a zip whose content is not the declared digest is refused (400)"
like "$(cat "$T/lie.out")" '"code": ?"content_mismatch"' "... saying why (content_mismatch)"
code=$(curl -s -o "$T/bad.out" -w '%{http_code}' -X POST "$EP/v1/apps/fx/platforms/android/embedded" \
    -H "Authorization: Bearer $WRITE" -F "metadata={\"binary_version\":1};type=application/json" -F "bundle=@$Z;type=application/zip")
is "$code" 400 "metadata of the wrong type is refused (400)"
like "$(cat "$T/bad.out")" '"code": ?"bad_metadata"' "... as bad_metadata"
# a zip with an entry escaping its directory, declared honestly (size, SHA-256): refused before storage
python3 -c '
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1], "w")
z.writestr("../evil.js", "x")
z.writestr("index.android.bundle", "y")' "$T/evil.zip"
code=$(curl -s -o "$T/evil.out" -w '%{http_code}' -X POST "$EP/v1/apps/fx/platforms/android/embedded" \
    -H "Authorization: Bearer $WRITE" \
    -F "metadata={\"binary_version\":\"1.2.0\",\"content_sha256\":\"$V0_SHA\",\"sha256\":\"$(sha256sum "$T/evil.zip" | cut -c1-64)\",\"size\":$(stat -c %s "$T/evil.zip")};type=application/json" \
    -F "bundle=@$T/evil.zip;type=application/zip")
is "$code" 400 "a zip with a path-escaping entry is refused (400)"
like "$(cat "$T/evil.out")" 'unsafe name' "... saying why"
is "$(jget "$T/pst/embedded/fx/android/index.json" '[b["binary_version"] for b in j["bases"]]')" "['1.0.0']" \
    "the refused uploads registered nothing"
"$HP" --json embedded remove "${A[@]}" --binary-version 1.0.0 "${PE[@]}" >"$T/prm.json" 2>/dev/null
is "$(jget "$T/prm.json" '(j["changed"], j["old_content_sha256"])')" "(True, '$V0_SHA')" "remove through the publisher"
is "$(jget "$T/pst/embedded/fx/android/index.json" 'len(j["bases"])')" 0 "the registry is empty again"
hp_api GET /v1/apps/fx/audit "$OWNER" "" >"$T/audit.json"
is "$(jget "$T/audit.json" 'sorted(set(e["action"] for e in j["events"] if e["action"].startswith("embedded.")))')" \
    "['embedded.add', 'embedded.remove']" "the audit log records embedded.add and embedded.remove"
done_testing
