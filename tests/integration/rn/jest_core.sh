# jest_core.sh - @hotpatch/react-native against the real C core and real servers:
#   1. tsc --strict over the package (typescript from the cached fixture app);
#   2. @react-native/codegen from the fixture's node_modules on NativeHotPatch.ts
#      (the TurboModule spec must generate Java and ObjC++ for the module);
#   3. Jest (react-native preset) with the hp_node Node-API addon (built here over
#      build/lib/libhotpatch.a) as the 'HotPatch' native module, against
#      hotpatch-edge synced from file:// storage written by `hotpatch release`,
#      a static CDN on loopback (tests/integration/sdk/httpd.py) that also takes
#      the installation reports. Each Jest test is one TAP line.
. "$HP_SRC_DIR/tests/lib/tap.sh"
. "$HP_SRC_DIR/tests/harness/rn_fixture.sh"
. "$HP_SRC_DIR/tests/integration/rn/servers.bash"
set -u

BIN=${HP_BIN:-$HP_SRC_DIR/build/bin}
LIB=$BIN/../lib
PKG=$HP_SRC_DIR/sdk/react-native
APP=$(rn_fixture_dir) || { echo "not ok 1 - fixture app: see above"; echo "1..1"; exit 1; }
NM=$APP/node_modules
hp_tempdir hp-rn || exit 1 # removed on exit, after the servers rn_servers_up starts

# A scratch copy of the package with the fixture's node_modules beside it.
mkdir -p "$T/pkg" && cp -R "$PKG/." "$T/pkg/" && ln -s "$NM" "$T/pkg/node_modules"

# ---- 1. types ----
ok "tsc --strict: the package type-checks" "$NM/.bin/tsc" -p "$T/pkg/tsconfig.json"

# ---- 2. codegen ----
ok "codegen: NativeHotPatch.ts generates the module's Java and C++ spec" \
    node "$NM/@react-native/codegen/lib/cli/combine/combine-js-to-schema-cli.js" "$T/schema.json" "$T/pkg/src/NativeHotPatch.ts"
ok "codegen schema names the HotPatch module and its methods" python3 -c '
import json,sys
s=json.load(open(sys.argv[1]))
m=[mod for f in s["modules"].values() for mod in [f]]
spec=s["modules"]["NativeHotPatch"]
names={p["name"] for p in spec["spec"]["methods"]}
need={"checkForUpdate","download","install","notifyAppReady","reload","getCurrentRelease","getPendingRelease","getRootStatus","clearUpdates","setChannel","flushReports","addListener","removeListeners"}
assert spec["moduleName"]=="HotPatch", spec["moduleName"]
assert need<=names, need-names
' "$T/schema.json"
ok "codegen: generate-specs-cli writes the Android spec" \
    node "$NM/@react-native/codegen/lib/cli/generators/generate-all.js" "$T/schema.json" RNHotPatchSpec "$T/gen" dev.hotpatch.rn
J=$T/gen/java/dev/hotpatch/rn/NativeHotPatchSpec.java
ok "generated Java spec: package dev.hotpatch.rn, the methods HotPatchModule implements" \
    bash -c "grep -q '^package dev.hotpatch.rn;' '$J' && grep -q 'abstract void checkForUpdate(Promise promise)' '$J' &&
             grep -q 'abstract void download(String releaseId, Promise promise)' '$J' && grep -q 'abstract void reload()' '$J'"
# Every abstract method of the generated spec is implemented by HotPatchModule.java (same name).
ok "HotPatchModule implements every method of the generated spec" python3 -c '
import re,sys
spec=open(sys.argv[1]).read(); mod=open(sys.argv[2]).read()
need=set(re.findall(r"public abstract \w+ (\w+)\(", spec))
have=set(re.findall(r"public \w+ (\w+)\(", mod))
assert need and need<=have, sorted(need-have)
' "$J" "$PKG/android/src/main/java/dev/hotpatch/rn/HotPatchModule.java"

# ---- 3. Jest over the real core ----
ok "addon: hp_node.node builds over libhotpatch.a with plain cc" \
    cc -std=c11 -O2 -Wall -Wextra -Wno-unused-parameter -Werror -fPIC -shared -I"$HP_SRC_DIR/common/include" \
    -I"$HP_SRC_DIR/sdk/include" -I/usr/include/node -DNODE_GYP_MODULE_NAME=hp_node -o "$T/hp_node.node" \
    "$PKG/node/hp_node.c" "$LIB/libhotpatch.a" -ljansson -lsodium -lcurl -lzip -lzstd -lpthread -lm

ok "edge, CDN and report receiver up" rn_servers_up "$T"
mkdir -p "$T/bundles" "$T/devices"

python3 - "$T/env.json" <<PY
import json, sys
json.dump({"addon": "$T/hp_node.node", "bin": "$BIN", "storage": "$RN_STORAGE",
           "edge": "$RN_EDGE", "cdn": "$RN_CDN", "publisher": "$RN_PUBLISHER", "tmp": "$T", "bundles": "$T/bundles",
           "manifestPub": "$RN_MPUB", "releasePub": "$RN_RPUB",
           "signingKey": "$RN_SIGNING_KEY", "manifestKey": "$RN_MANIFEST_KEY"}, open(sys.argv[1], "w"))
PY
(cd "$T/pkg" && HP_RN_ENV=$(cat "$T/env.json") HP_RN_NODE_MODULES=$NM \
    "$NM/.bin/jest" --ci --runInBand --json --outputFile="$T/jest.json" >"$T/jest.log" 2>&1)
python3 - "$T/jest.json" "$T/jest.log" "$_tap_n" <<'PY'
import json, sys
n = int(sys.argv[3])
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print("not ok %d - jest produced no results" % (n + 1))
    for line in open(sys.argv[2]).read().splitlines()[-40:]:
        print("#   " + line)
    sys.exit(0)
for f in r["testResults"]:
    if not f["assertionResults"]:
        n += 1
        print("not ok %d - %s: %s" % (n, f["name"], f.get("message", "")[:2000].replace("\n", "\n#   ")))
    for a in f["assertionResults"]:
        n += 1
        if a["status"] == "passed":
            print("ok %d - jest: %s" % (n, a["title"]))
        else:
            print("not ok %d - jest: %s" % (n, a["title"]))
            for m in a["failureMessages"]:
                for line in m.splitlines()[:25]:
                    print("#   " + line)
PY
echo "1..$(( _tap_n + $(python3 -c 'import json,sys
try: print(sum(max(1,len(f["assertionResults"])) for f in json.load(open(sys.argv[1]))["testResults"]))
except Exception: print(1)' "$T/jest.json") ))"
grep -q '"numFailedTests":0' "$T/jest.json" 2>/dev/null && grep -q '"success":true' "$T/jest.json" && [ "$_tap_fail" -eq 0 ]
