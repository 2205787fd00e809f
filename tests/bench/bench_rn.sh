# bench_rn.sh - the React Native package's native side (issue 11):
# 1. native library size: the mobile build's recipe (JNI bridge + libhotpatch-core +
#    libsodium + jansson (+ libzip), -Os, hidden symbols, --gc-sections, only Java_*
#    exported, 16 KB pages, stripped) on host x86_64, and our own code for aarch64 with
#    Debian's cross compiler (no aarch64 third-party archives here); target <= 600 KB.
# 2. the cold getJSBundleFile path (open + boot_begin with its fsync), median/p99 over
#    1,000 launches, beside a plain open+read of a small file (rn_boot_bench.c).
set -u
B=${HP_BUILD:-build}
T=$(mktemp -d /tmp/hp-bench-rn.XXXXXX)
trap 'rm -rf "$T"' EXIT
JDK=$(dirname "$(dirname "$(readlink -f "$(command -v javac 2>/dev/null || echo /usr/bin/javac)")")")
CORE_SDK=$(ls sdk/*.c | grep -v -e agent.c -e transport_curl.c)
CORE_COMMON=$(for m in buf cjson cohort crypto decide err file ident manifest patch semver str; do echo common/$m.c; done)
JNI=sdk/react-native/android/src/main/cpp/hp_jni.c
FLAGS="-std=c11 -Os -fPIC -fvisibility=hidden -ffunction-sections -fdata-sections -Icommon/include -Isdk/include -Isdk"
echo '{ global: Java_*; local: *; };' >"$T/jni.map"
LD="-shared -Wl,--gc-sections -Wl,--exclude-libs,ALL -Wl,--version-script,$T/jni.map -Wl,-z,max-page-size=16384"

kb() { echo "$(( ($(stat -c %s "$1") + 512) / 1024 )) KB"; }

if [ -d "$JDK/include" ]; then
    # shellcheck disable=SC2086
    if cc $FLAGS -I"$JDK/include" -I"$JDK/include/linux" $LD -o "$T/libhotpatch.so" $JNI $CORE_SDK $CORE_COMMON \
        /usr/lib/x86_64-linux-gnu/libsodium.a -ljansson -lzip -lzstd -lz 2>"$T/cc.log"; then
        strip --strip-unneeded "$T/libhotpatch.so"
        # shellcheck disable=SC2086
        cc $FLAGS -I"$JDK/include" -I"$JDK/include/linux" $LD -o "$T/core-only.so" $JNI $CORE_SDK $CORE_COMMON \
            -lsodium -ljansson -lzip -lzstd -lz && strip --strip-unneeded "$T/core-only.so"
        for l in zip jansson; do
            cp "$(readlink -f /usr/lib/x86_64-linux-gnu/lib$l.so)" "$T/lib$l.so" && strip --strip-unneeded "$T/lib$l.so"
        done
        total=$(( $(stat -c %s "$T/libhotpatch.so") + $(stat -c %s "$T/libzip.so") + $(stat -c %s "$T/libjansson.so") ))
        echo "x86_64 libhotpatch.so (JNI + core + libsodium static, -Os, gc-sections, stripped): $(kb "$T/libhotpatch.so")"
        echo "  of which HotPatch's own code (JNI + core, third party linked dynamically): $(kb "$T/core-only.so")"
        echo "  + jansson and libzip (Debian ships no PIC static archives; their whole stripped .so): $(kb "$T/libjansson.so") + $(kb "$T/libzip.so")"
        echo "  total $(( (total + 512) / 1024 )) KB vs target 600 KB: $([ $total -le 614400 ] && echo within || echo OVER)"
        echo "  exported symbols: $(nm -D --defined-only "$T/libhotpatch.so" | awk '$2=="T"' | wc -l) (all Java_*: $(nm -D --defined-only "$T/libhotpatch.so" | awk '$2=="T"{print $3}' | grep -vc '^Java_') others)"
        cc $FLAGS -I"$JDK/include" -I"$JDK/include/linux" $LD -Wl,-Map,"$T/map" -o "$T/m.so" $JNI $CORE_SDK $CORE_COMMON \
            /usr/lib/x86_64-linux-gnu/libsodium.a -ljansson -lzip -lzstd -lz 2>/dev/null
        python3 - "$T/map" <<'PY'
import re, sys
# GNU ld map: an input section line names its archive member; size may sit on the next line.
text = open(sys.argv[1]).read()
total = 0
for m in re.finditer(r"^ \.(?:text|rodata|data)\S*\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)", text, re.M):
    if "libsodium.a" in m.group(2):
        total += int(m.group(1), 16)
print("  what dominates: libsodium's kept code and tables, %d KB of it (the rest is HotPatch's own code above)" % ((total + 512) // 1024))
PY
    else
        echo "x86_64 size: build failed"; tail -5 "$T/cc.log"
    fi
fi

if command -v aarch64-linux-gnu-gcc >/dev/null; then
    # Our own code only: the cross toolchain has no aarch64 libsodium/jansson/libzip here.
    mkdir -p "$T/inc" && for h in jansson.h jansson_config.h sodium.h sodium zip.h; do ln -s /usr/include/$h "$T/inc/$h"; done
    ln -s /usr/include/x86_64-linux-gnu/zipconf.h "$T/inc/zipconf.h"
    # shellcheck disable=SC2086
    if aarch64-linux-gnu-gcc $FLAGS -I"$T/inc" -I"$JDK/include" -I"$JDK/include/linux" $LD \
        -Wl,--unresolved-symbols=ignore-all -o "$T/arm64.so" $JNI $CORE_SDK $CORE_COMMON 2>"$T/arm.log"; then
        aarch64-linux-gnu-strip --strip-unneeded "$T/arm64.so"
        echo "aarch64 HotPatch's own code (JNI + core; third party not included): $(kb "$T/arm64.so")"
    else
        echo "aarch64 size: cross build failed"; tail -3 "$T/arm.log"
    fi
else
    echo "aarch64 size: gcc-aarch64-linux-gnu not installed (tests/harness/deps.sh)"
fi

# The mobile build itself: android/CMakeLists.txt over the pinned third-party sources (sdk/react-native/
# third-party.lock), x86_64 and aarch64, as tests/integration/rn/cmake_core.sh builds and checks it.
if HP_SRC_DIR=$PWD bash tests/integration/rn/cmake_core.sh >"$T/cmake.log" 2>&1; then
    grep -E '^# (x86_64|aarch64) ' "$T/cmake.log" | sed 's/^# /CMake, /'
else
    echo "CMake build from the pinned sources failed:"; grep -E '^not ok' "$T/cmake.log" | head -5
fi

cc -std=c11 -O2 -Icommon/include -Isdk/include -o "$T/rn_boot_bench" tests/bench/rn_boot_bench.c "$B/lib/libhotpatch.a" \
    -ljansson -lsodium -lcurl -lzip -lzstd -lpthread -lm || { echo "rn_boot_bench: build failed"; exit 1; }
"$T/rn_boot_bench" "$T" "${HP_BENCH_LAUNCHES:-1000}"
