# bundle_rn.sh - `hotpatch release` runs the real React Native bundler on the
# fixture app (tests/fixtures/rn-app, installed once into a cache outside the
# repo by tests/harness/rn_fixture.sh) and publishes serverless to file://;
# the stored zip's SHA-256 and signature verify and the manifest verifies.
# Also: Hermes bytecode with the project's hermesc, and a broken entry file
# (bundler failure: one-line error naming the bundler's error, nothing written).
# The bundle built here is adopted as the cached build other tests reuse.
. "$(dirname "$0")/common.bash"

APP=$(rn_fixture_dir) || { echo "not ok 1 - fixture install: see above"; echo "1..1"; exit 1; }
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
ST=$T/storage
mkdir -p "$ST"
A=(--app fixture --platform android)

t0=$SECONDS
env TMPDIR="$ORIG_TMPDIR" "$HP" --json release "${A[@]}" --version 1.2.0 --target-binary '1.2.x' --project-dir "$APP" \
    --build-dir "$T/build" --storage "file://$ST" >"$T/rel.json" 2>"$T/rel.err"
rc=$?
is "$rc" 0 "release with the real bundler ($((SECONDS - t0))s)"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/rel.err" | tail -15
ok "bundler output kept in --build-dir" test -s "$T/build/index.android.bundle"
ok "bundle is minified JS (--dev false)" bash -c "head -c 200 '$T/build/index.android.bundle' | grep -q 'var __BUNDLE_START_TIME__'"
ok "asset copied by the bundler" test -f "$T/build/drawable-mdpi/assets_logo.png"
[ "$rc" -eq 0 ] && rn_fixture_store_bundle android "$T/build"

SHA=$(jget "$T/rel.json" 'j["release"]["sha256"]')
SIG=$(jget "$T/rel.json" 'j["release"]["bundle_sig"]')
ZIP=$ST/$(jget "$T/rel.json" 'j["release"]["bundle_url"]')
is "$(sha256sum <"$ZIP" | cut -c1-64)" "$SHA" "stored zip hashes to the released SHA-256"
ok "bundle signature verifies with the release public key" "$HP" verify "$ZIP" --sig "$SIG" --pubkey "$RELEASE_PUB" --sha256 "$SHA"
ok "zip holds the bundle and the asset with their paths" bash -c \
    "unzip -Z1 '$ZIP' | tr '\n' ' ' | grep -qx 'drawable-mdpi/assets_logo.png index.android.bundle raw/keep.xml '"
ok "zip content equals the bundler output" bash -c "unzip -p '$ZIP' index.android.bundle | cmp - '$T/build/index.android.bundle'"
"$HP" --json manifest show "${A[@]}" --storage "file://$ST" --trusted-key "$MANIFEST_PUB" >"$T/show.json"
is "$?" 0 "manifest verifies with the manifest public key"
is "$(jget "$T/show.json" '(j["manifest"]["sequence"] > 0, j["manifest"]["releases"][0]["sha256"], j["manifest"]["releases"][0]["bundle_sig"])')" \
    "(True, '$SHA', '$SIG')" "manifest lists the release with its hash and signature"

# Hermes: compile the cached bundle with the project's hermesc.
"$HP" --json release "${A[@]}" --version 1.2.1 --target-binary '1.2.x' --bundle-dir "$T/build" --project-dir "$APP" \
    --hermes --dry-run --zip-out "$T/hermes.zip" >"$T/hermes.json" 2>"$T/hermes.err"
is "$?" 0 "--hermes compiles with node_modules/hermes-compiler/hermesc"
is "$(unzip -p "$T/hermes.zip" index.android.bundle | head -c 8 | od -An -tx1 | tr -d ' \n')" "c61fbc03c103191f" \
    "zipped bundle is Hermes bytecode (magic)"
ok "bundler output dir left untouched by --hermes" bash -c "head -c 200 '$T/build/index.android.bundle' | grep -q __BUNDLE_START_TIME__"
expect_exit 2 "--hermes without hermesc" "$HP" --quiet release "${A[@]}" --version 1.2.1 --target-binary '*' \
    --bundle-dir "$T/build" --project-dir "$T" --hermes --dry-run

# Bundler failure: a syntax error in the entry file.
BEFORE=$(snapshot "$ST")
BROKEN=hp-broken-$$.js
printf 'import {AppRegistry} from "react-native";\nconst x = ;\n' >"$APP/$BROKEN"
expect_exit 1 "broken entry file: bundler failure" env TMPDIR="$ORIG_TMPDIR" "$HP" --quiet release "${A[@]}" --version 1.3.0 --target-binary '*' \
    --project-dir "$APP" --entry-file "$BROKEN" --storage "file://$ST"
rm -f "$APP/$BROKEN"
case "$LAST_ERR" in *"react-native bundle failed"*) r=ok ;; *) r=bad ;; esac
is "$r" ok "error names the failing step"
case "$LAST_ERR" in *rror*) r=ok ;; *) r=bad ;; esac
is "$r" ok "error carries the bundler's own error line"
expect_exit 2 "missing entry file" "$HP" --quiet release "${A[@]}" --version 1.3.0 --target-binary '*' \
    --project-dir "$APP" --entry-file nope.js --storage "file://$ST"
is "$(snapshot "$ST")" "$BEFORE" "nothing written to storage by the failed releases"
ok "no temp dirs left behind" bash -c "! ls -d '$T'/hotpatch-* 2>/dev/null"
done_testing
