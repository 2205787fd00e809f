# podspec.sh - HotPatch.podspec describes a buildable pod, checked without
# Xcode: the podspec is evaluated by Ruby (a fake of CocoaPods' DSL, named so
# in podspec_eval.rb) on a copy of the package as npm installs it; it lays
# the pinned sources out by itself when they are missing (React Native
# installs the pod with :path, where CocoaPods never runs prepare_command);
# every source glob matches files; its C files are exactly the ones
# android/CMakeLists.txt compiles (modulo the JNI bridge and where libzip's
# error table is generated); and that C set, compiled on the host with clang
# and the podspec's own header paths, defines and visibility (a proxy for
# Apple clang), links with no undefined symbol and no dead-code stripping,
# runs core_smoke (crypto, jansson, libzip+zlib, zstd, boot), and, prelinked
# into one object as GENERATE_MASTER_OBJECT_FILE does, exports exactly the
# core's hp_* API (sdk/hotpatch.sym): no third-party symbol can clash.
# What stays unverified (Apple's SDK headers, ObjC++, Xcode itself): docs/react-native.md.
. "$HP_SRC_DIR/tests/lib/tap.sh"
set -u

PKG=$HP_SRC_DIR/sdk/react-native
RN=$HP_SRC_DIR/tests/integration/rn
CACHE=${HOTPATCH_CACHE:-$HOME/.cache/hotpatch}
for c in ruby clang cmake javac python3 objcopy; do
    command -v "$c" >/dev/null || { echo "not ok 1 - needs $c (mk/deps.sh)"; echo "1..1"; exit 1; }
done
JDK=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
T=$(mktemp -d /tmp/hp-podspec.XXXXXX)
trap '[ -n "${HP_KEEP_TMP:-}" ] || rm -rf "$T"' EXIT

# The package as `npm pack` ships it (package.json's "files") plus the core copied by its prepack script.
ok "the pinned sources are in the cache (third-party.sh, as cmake_core.sh)" \
    sh "$PKG/scripts/third-party.sh" --out "$T/tp-warm"
ok "package copy: package.json's files + copy-core.sh" bash -c "
    cd '$PKG' && python3 -c 'import json; print(\"\\n\".join(json.load(open(\"package.json\"))[\"files\"]))' |
        while read -r g; do for f in \$g; do [ -e \"\$f\" ] || continue; mkdir -p \"$T/pkg/\$(dirname \"\$f\")\"; cp -r \"\$f\" \"$T/pkg/\$f\"; done; done
    cp package.json '$T/pkg/' && sh scripts/copy-core.sh '$T/pkg/cpp/core'"
ok "the copy has no third_party/ yet" test ! -e "$T/pkg/third_party"

# ---- evaluating the podspec (what `pod install` does first) ----
ok "evaluating the podspec lays out third_party/ by itself (the :path install; from the cache)" \
    bash -c "ruby '$RN/podspec_eval.rb' '$T/pkg/HotPatch.podspec' >'$T/pod.json' && test -f '$T/pkg/third_party/libzip-1.7.3/hotpatch-gen/zip_err_str.c'"
# A package copy with no layout, an empty cache and an unreachable mirror: `pod install` stops with the reason.
mkdir -p "$T/pkg2" && cp -r "$T/pkg/HotPatch.podspec" "$T/pkg/package.json" "$T/pkg/scripts" "$T/pkg/third-party.lock" "$T/pkg/cpp" "$T/pkg2/"
out=$(HOTPATCH_CACHE="$T/empty-cache" HOTPATCH_DEBIAN_MIRROR="file://$T/no-mirror" ruby "$RN/podspec_eval.rb" "$T/pkg2/HotPatch.podspec" 2>&1)
is "$?" 1 "no layout and nothing to fetch it from: the podspec fails"
ok "... naming third-party.sh and the folder" \
    bash -c "printf '%s' \"\$1\" | grep -q 'third-party.sh could not lay out the pinned C sources in $T/pkg2/third_party'" _ "$out"
ok "the evaluated pod: install_modules_dependencies, prepare_command, hidden symbols + single-object prelink" \
    python3 -c "
import json, sys
d = json.load(open('$T/pod.json')); a = d['attrs']; x = a['pod_target_xcconfig']
assert d['install_modules_dependencies'], 'install_modules_dependencies not called'
assert a['prepare_command'] == 'sh scripts/third-party.sh', a['prepare_command']
assert x['GCC_SYMBOLS_PRIVATE_EXTERN'] == 'YES' and x['GENERATE_MASTER_OBJECT_FILE'] == 'YES'
assert a['libraries'] == 'z'
"
ok "every source_files glob matches files" python3 "$RN/pod_tool.py" "$T/pod.json" "$T/pkg" empty-globs
ok "no two pod headers share a basename (header map)" python3 "$RN/pod_tool.py" "$T/pod.json" "$T/pkg" dup-headers
ok "the public header and the ObjC++ sources are in the pod" \
    bash -c "grep -q '\"ios/HotPatch.h\"' '$T/pod.json' && grep -q '\"ios/HotPatchModule.mm\"' '$T/pod.json' && test -f '$T/pkg/ios/HotPatch.h'"
# The check can fail: a podspec whose jansson glob names another version.
sed 's|jansson-2.14/src/\*\.c|jansson-2.15/src/*.c|' "$T/pkg/HotPatch.podspec" >"$T/pkg/HotPatch-bad.podspec"
ruby "$RN/podspec_eval.rb" "$T/pkg/HotPatch-bad.podspec" >"$T/pod-bad.json" 2>/dev/null
nok "a glob that matches nothing is reported" python3 "$RN/pod_tool.py" "$T/pod-bad.json" "$T/pkg" empty-globs

# ---- the same C files as android/CMakeLists.txt ----
ok "cmake configures android/CMakeLists.txt over the same package copy (compile commands)" \
    cmake -S "$T/pkg/android" -B "$T/cm" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DHOTPATCH_JNI_INCLUDE="$JDK/include"
ok "the pod compiles exactly the CMake build's C files (minus hp_jni.c; zip_err_str.c from hotpatch-gen/)" \
    python3 "$RN/pod_tool.py" "$T/pod.json" "$T/pkg" compare "$T/cm/compile_commands.json"
nok "... and the comparison can fail (the bad podspec has no jansson)" \
    python3 "$RN/pod_tool.py" "$T/pod-bad.json" "$T/pkg" compare "$T/cm/compile_commands.json"
ok "third-party.sh's zip_err_str.c holds the tables libzip's CMake generates (33 messages, 33 types)" bash -c "
    a=\$(grep -E '^ +(\"|[NSZ],)' '$T/pkg/third_party/libzip-1.7.3/hotpatch-gen/zip_err_str.c') &&
    b=\$(grep -E '^ +(\"|[NSZ],)' '$T/cm/zip_err_str.c') &&
    [ \"\$(printf '%s\\n' \"\$a\" | wc -l)\" -eq 66 ] && [ \"\$a\" = \"\$b\" ]"
diag "$(python3 "$RN/pod_tool.py" "$T/pod.json" "$T/pkg" compare "$T/cm/compile_commands.json" 2>&1 | tail -1)"

# ---- the pod's C set on the host compiler, with the podspec's flags ----
mapfile -t CF < <(python3 "$RN/pod_tool.py" "$T/pod.json" "$T/pkg" cflags)
python3 "$RN/pod_tool.py" "$T/pod.json" "$T/pkg" c-files >"$T/c-files"
diag "pod flags: ${CF[*]}"
mkdir -p "$T/obj"
# -Werror=implicit-function-declaration: a function the config headers fail to declare would be a link
# error (or worse) on iOS too. -Wno-nullability-completeness: libzip's headers, clang's noise.
printf '%s\n' "${CF[@]}" >"$T/pod.rsp"
ok "clang compiles all $(wc -l <"$T/c-files") C files of the pod with its header paths and defines" bash -c "
    n=0
    while read -r f; do n=\$((n + 1)); printf '%s\\0%s\\0' \"\$f\" '$T/obj/'\$n.o; done <'$T/c-files' |
        xargs -0 -n2 -P2 sh -c 'clang @$T/pod.rsp -Os -fPIC -ffunction-sections -fdata-sections \\
            -Werror=implicit-function-declaration -Werror=int-conversion -Wno-nullability-completeness \\
            -c \"\$0\" -o \"\$1\" 2>\"\$1.err\" || { cat \"\$1.err\"; exit 255; }'"
# Inputs for core_smoke (as cmake_core.sh): a bundle zip, a ../ zip, a changed copy.
mkdir -p "$T/zin/assets" "$T/smoke-in"
printf 'console.log("hello from the bundle");\n' >"$T/zin/index.ios.bundle"
head -c 6000 "$HP_SRC_DIR/README.md" >"$T/zin/assets/readme.txt"
(cd "$T/zin" && zip -qr "$T/smoke-in/ok.zip" .)
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.writestr("../evil.txt", "x"); z.close()' \
    "$T/smoke-in/evil.zip"
cp -r "$T/zin" "$T/smoke-in/new"
printf 'console.log("hello from the bundle, v2");\n' >"$T/smoke-in/new/index.ios.bundle"
want=$(cd "$T/zin" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
    echo "$(sha256sum <"$f" | cut -c1-64) $(stat -c %s "$f") $f"; done | sha256sum | cut -c1-64)
ok "core_smoke links against the pod's objects with no dead-code stripping (no undefined symbol)" \
    clang "${CF[@]}" -fvisibility=default -O2 -o "$T/smoke-pod" "$RN/core_smoke.c" "$T"/obj/*.o -lz
mkdir -p "$T/sd"
ok "core_smoke over the pod's C set: Ed25519, SHA-256, jansson, libzip+zlib (../ refused), zstd patch, boot" \
    bash -c "'$T/smoke-pod' '$T/sd' '$T/smoke-in/ok.zip' '$T/smoke-in/evil.zip' '$T/smoke-in/new' >'$T/smoke.out'"
is "$(sed -n 's/^zip_content //p' "$T/smoke.out" 2>/dev/null)" "$want" "the extracted bundle's content digest is the one coreutils computes"
# GENERATE_MASTER_OBJECT_FILE: `ld -r` of every object; ld64 then turns hidden (private extern) symbols into
# local ones by default (-keep_private_externs is off); GNU ld needs objcopy --localize-hidden for the same.
ok "prelinked into one object, only the core's hp_* API stays global (exactly sdk/hotpatch.sym)" bash -c "
    ld -r -o '$T/master.o' '$T'/obj/*.o && objcopy --localize-hidden '$T/master.o' '$T/master-local.o' &&
    diff <(nm -g --defined-only '$T/master-local.o' | awk '{print \$3}' | sort) <(sort '$HP_SRC_DIR/sdk/hotpatch.sym')"
ok "... while before the prelink the objects define sodium_/json_/zip_/ZSTD_ symbols (hidden, not yet local)" \
    bash -c "nm -g --defined-only '$T/master.o' | grep -q ' sodium_init\$' && nm -g --defined-only '$T/master.o' | grep -q ' json_loads\$' &&
             nm -g --defined-only '$T/master.o' | grep -q ' zip_open\$' && nm -g --defined-only '$T/master.o' | grep -q ' ZSTD_decompress\$'"
done_testing
