# npm_pack.sh - @hotpatch/react-native packs with everything a fresh app needs,
# and an app installs the tarball offline and bundles it:
#   npm pack (prepack copies the C core's own sources into cpp/core) -> the
#   tarball holds the TS API, the TurboModule spec, the Android (Java, JNI,
#   CMake, Gradle) and iOS (ObjC++, podspec) parts and the core sources, and
#   no tests; a copy of the fixture app installs it with `npm install --offline`
#   (npm cache only), Metro bundles the app (which calls withHotPatch), and
#   Hermes compiles the bundle.
. "$HP_SRC_DIR/tests/lib/tap.sh"
. "$HP_SRC_DIR/tests/harness/rn_fixture.sh"
set -u
APP=$(rn_fixture_dir) || { echo "not ok 1 - fixture app: see above"; echo "1..1"; exit 1; }
PKG=$HP_SRC_DIR/sdk/react-native
T=$(mktemp -d /tmp/hp-pack.XXXXXX)
trap '[ -n "${HP_KEEP_TMP:-}" ] || rm -rf "$T"' EXIT

ok "npm pack" bash -c "cd '$PKG' && npm pack --silent --pack-destination '$T' >'$T/pack.out' 2>'$T/pack.err'"
TGZ=$T/$(tail -n 1 "$T/pack.out")
tar -tzf "$TGZ" 2>/dev/null | sed 's|^package/||' | LC_ALL=C sort >"$T/files"
for f in package.json src/index.ts src/api.ts src/react.tsx src/errors.ts src/NativeHotPatch.ts react-native.config.js \
    HotPatch.podspec android/build.gradle android/CMakeLists.txt android/src/main/AndroidManifest.xml \
    android/src/main/cpp/hp_jni.c android/src/main/java/dev/hotpatch/core/HotPatchClient.java \
    android/src/main/java/dev/hotpatch/core/UrlConnectionTransport.java \
    android/src/main/java/dev/hotpatch/rn/HotPatchModule.java android/src/main/java/dev/hotpatch/rn/HotPatch.java \
    ios/HotPatchModule.mm ios/HotPatch.mm ios/HotPatchCore.mm ios/third-party-config/jansson_config.h \
    ios/third-party-config/jansson_private_config.h ios/third-party-config/config.h ios/third-party-config/zipconf.h \
    cpp/core/sdk/client.c cpp/core/sdk/net.c cpp/core/sdk/transport_none.c cpp/core/sdk/include/hotpatch.h \
    cpp/core/common/manifest.c cpp/core/common/crypto.c cpp/core/common/include/common/compat.h \
    cpp/core/common/patch.c third-party.lock scripts/third-party.sh android/src/main/cpp/hp_sodium_subset.c; do
    ok "tarball has $f" grep -qx "$f" "$T/files"
done
nok "tarball carries no tests, no addon, no libcurl transport, no third-party code (pinned, fetched by the app)" \
    grep -Eq '^(__tests__|node/|jest.config|cpp/core/sdk/transport_curl.c|cpp/core/sdk/agent.c|third_party/)' "$T/files"

# A copy of the fixture app (its node_modules copied, not linked: npm writes into it).
mkdir -p "$T/app"
(cd "$APP" && tar --exclude=./out -cf - .) | (cd "$T/app" && tar -xf -)
rm -rf "$T/app/node_modules/@hotpatch"
ok "npm install --offline of the tarball into a copy of the fixture app" \
    bash -c "cd '$T/app' && npm install --offline --no-audit --no-fund --loglevel=error '$TGZ' >'$T/install.log' 2>&1"
ok "installed package is the packed one (core sources included)" \
    test -f "$T/app/node_modules/@hotpatch/react-native/cpp/core/sdk/client.c"
ok "Metro bundles the app that calls withHotPatch" bash -c "cd '$T/app' && npx --no-install react-native bundle \
    --platform android --dev false --entry-file index.js --bundle-output '$T/out/index.android.bundle' \
    --assets-dest '$T/out' >'$T/bundle.log' 2>&1 || { tail -20 '$T/bundle.log'; exit 1; }"
ok "the bundle carries the package (its native event and module names)" \
    bash -c "grep -q HotPatchDownloadProgress '$T/out/index.android.bundle' && grep -q \"getEnforcing('HotPatch')\" '$T/out/index.android.bundle'"
ok "Hermes compiles the bundle" "$T/app/node_modules/hermes-compiler/hermesc/linux64-bin/hermesc" -emit-binary -O \
    -out "$T/out/index.android.hbc" "$T/out/index.android.bundle"
done_testing
