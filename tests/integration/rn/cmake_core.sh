# cmake_core.sh - the mobile C build is self-contained: sdk/react-native's
# pinned third-party sources (third-party.lock, Debian bookworm source
# packages) are fetched and verified by scripts/third-party.sh into the cache
# (~/.cache/hotpatch, outside the repository; a later run needs no network),
# a tampered download or cache is refused, and android/CMakeLists.txt - the
# file Gradle's externalNativeBuild runs - builds the JNI library from the core
# (copy-core.sh) and those sources on this machine's compiler. Checked: only
# Java_* symbols are exported, every LOAD segment is 16 KB aligned, no
# third-party library is needed at run time but libc and zlib, and the JVM
# loads the library and runs the boot protocol through it. core_smoke.c, linked
# from the same objects, exercises every third-party library through the core.
# The same CMake project is then cross-built for aarch64 with Debian's cross
# gcc (aarch64-linux-gnu.cmake; a TAP skip when it is not installed), checked
# the same way, its size broken down from the link map (map_sizes.py), and
# core_smoke runs under qemu-aarch64 with output identical to x86_64's.
# (No NDK here: the Android toolchain itself is not exercised; see docs/react-native.md.)
. "$HP_SRC_DIR/tests/lib/tap.sh"
set -u

PKG=$HP_SRC_DIR/sdk/react-native
CACHE=${HOTPATCH_CACHE:-$HOME/.cache/hotpatch}
TP=$CACHE/third-party/src
for c in cmake javac curl patch; do
    command -v "$c" >/dev/null || { echo "not ok 1 - needs $c (mk/deps.sh)"; echo "1..1"; exit 1; }
done
JDK=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
T=$(mktemp -d /tmp/hp-cmake.XXXXXX)
trap '[ -n "${HP_KEEP_TMP:-}" ] || rm -rf "$T"' EXIT

# ---- pinning ----
ok "third-party.sh fetches (or reuses) and verifies the pinned sources into the cache" \
    sh "$PKG/scripts/third-party.sh" --out "$TP"
ok "a second run works offline (cache only, layout unchanged)" sh "$PKG/scripts/third-party.sh" --offline --out "$TP"
for d in libsodium-1.0.18 jansson-2.14 zstd-1.5.4 libzip-1.7.3 zlib-1.2.13; do
    ok "$d laid out with its pin stamp and license" \
        bash -c "test -s '$TP/$d/.hotpatch-pin' && ls '$TP/$d' | grep -qi -e '^LICENSE' -e '^COPYING'"
done
ok "Debian's patches are applied (libsodium CVE-2025-69277 fix present)" \
    bash -c "test -f '$TP/libsodium-1.0.18/debian/patches/CVE-2025-69277.patch' &&
             ! patch -s --dry-run -N -p1 -d '$TP/libsodium-1.0.18' <'$TP/libsodium-1.0.18/debian/patches/CVE-2025-69277.patch'"

# A mirror serving a different jansson tarball: refused, nothing kept, nothing laid out.
mkdir -p "$T/cache" "$T/mirror/pool/main/j/jansson"
cp "$CACHE"/third-party/downloads/* "$T/cache/"
rm -f "$T/cache/jansson_2.14.orig.tar.gz"
echo "not jansson" >"$T/mirror/pool/main/j/jansson/jansson_2.14.orig.tar.gz"
out=$(sh "$PKG/scripts/third-party.sh" --cache "$T/cache" --mirror "file://$T/mirror" --out "$T/tp" 2>&1)
is "$?" 1 "a download with another SHA-256 fails"
ok "... with a one-line reason naming the file and both digests" \
    bash -c "printf '%s' \"\$1\" | grep -q \"sha256 mismatch for 'jansson_2.14.orig.tar.gz'.*expected c739578b.*got \"" _ "$out"
ok "... and the bad download is not kept" test ! -e "$T/cache/jansson_2.14.orig.tar.gz"
ok "... and nothing is laid out from it" test ! -e "$T/tp/jansson-2.14"
# A corrupted cache entry with --offline: refused (the cache is checked too).
cp "$CACHE/third-party/downloads/jansson_2.14.orig.tar.gz" "$T/cache/"
printf 'x' >>"$T/cache/jansson_2.14.orig.tar.gz"
nok "a corrupted cache entry is not used offline" \
    sh "$PKG/scripts/third-party.sh" --offline --cache "$T/cache" --out "$T/tp2"

# ---- the CMake build (host compiler) ----
ok "copy-core.sh copies the core (files.mk's module list)" sh "$PKG/scripts/copy-core.sh" "$T/core"
ok "copy-core: no libcurl transport, no agent" bash -c "! ls '$T/core/sdk' | grep -q -e transport_curl -e agent"
ok "cmake configures android/CMakeLists.txt with the pinned sources (no network)" \
    cmake -S "$PKG/android" -B "$T/host" -DCMAKE_BUILD_TYPE=Release -DHOTPATCH_CORE_DIR="$T/core" \
    -DHOTPATCH_THIRD_PARTY_DIR="$TP" -DHOTPATCH_JNI_INCLUDE="$JDK/include" -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-Map=$T/host.map"
ok "cmake builds libhotpatch.so (JNI + core + libsodium subset + jansson + zstd + libzip)" \
    cmake --build "$T/host" -j2 --target hotpatch
SO=$T/host/libhotpatch.so
ok "only Java_* symbols are exported" \
    bash -c "nm -D --defined-only '$SO' | awk '{print \$3}' | grep -v '^Java_' | grep . && exit 1; nm -D --defined-only '$SO' | grep -q ' T Java_dev_hotpatch_core_NativeCore_bootBegin'"
ok "no hp_/cmn_/sodium_/json_/ZSTD_/zip_ symbol in the dynamic table" \
    bash -c "test -f '$SO' && ! nm -D '$SO' | grep -E ' [A-Za-z] (hp_|cmn_|sodium_|json_|ZSTD_|zip_)'"
ok "every LOAD segment is 16 KB aligned (-z max-page-size=16384)" \
    bash -c "readelf -lW '$SO' | awk '\$1==\"LOAD\"{n++; if (\$NF != \"0x4000\") bad++} END{exit !(n>0 && !bad)}'"
ok "needs only libc and zlib at run time" \
    bash -c "test -f '$SO' && ! readelf -dW '$SO' | grep NEEDED | grep -v -e 'libc\.so' -e 'libz\.so' | grep ."
strip --strip-unneeded -o "$T/stripped.so" "$SO"
diag "x86_64 libhotpatch.so from pinned sources, stripped: $(( ($(stat -c %s "$T/stripped.so") + 512) / 1024 )) KB"
python3 "$HP_SRC_DIR/tests/integration/rn/map_sizes.py" "$T/host.map" 5 | sed 's/^/# x86_64 /'

# ---- the JVM loads it and the core runs ----
mkdir -p "$T/classes" "$T/smoke/dev/hotpatch/core"
cat >"$T/smoke/dev/hotpatch/core/CMakeSmoke.java" <<'EOF'
package dev.hotpatch.core;

/** Loads the CMake-built library (-Dhotpatch.lib) and runs hp_open + hp_boot_begin on an empty data dir. */
public class CMakeSmoke {
    public static void main(String[] a) throws Exception {
        HotPatchConfig c = new HotPatchConfig();
        c.dataDir = a[0];
        c.app = "demo";
        c.channel = "production";
        c.binaryVersion = "1.0.0";
        c.deviceId = "cmake-smoke";
        c.edgeUrl = "http://127.0.0.1:1";
        c.bundleBaseUrl = "http://127.0.0.1:1/";
        c.manifestKeys = "WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY="; /* the Ed25519 base point: a valid key no one signs with here */
        c.releaseKeys = c.manifestKeys;
        try (HotPatchClient h = HotPatchClient.open(c, new UrlConnectionTransport())) {
            if (h.bootBegin() || h.lastBoot().reason != BootResult.Reason.NONE) throw new AssertionError("boot");
            if (!h.state().embedded()) throw new AssertionError("state");
            System.out.println("core " + NativeCore.version() + " ok");
        }
        HotPatchConfig bad = new HotPatchConfig();
        bad.dataDir = a[0];
        bad.app = "demo";
        bad.binaryVersion = "not-a-version";
        try {
            HotPatchClient.open(bad, new UrlConnectionTransport()).close();
            throw new AssertionError("bad config accepted");
        } catch (HotPatchException e) {
            if (!"HP_E_INVAL".equals(e.code)) throw e;
        }
    }
}
EOF
ok "javac: the core package + a smoke class" \
    javac -d "$T/classes" $(find "$PKG/android/src/main/java/dev/hotpatch/core" "$T/smoke" -name '*.java')
mkdir -p "$T/dev"
ok "the JVM loads the CMake-built library; open + boot + state + a refused config run through it" \
    bash -c "java -Dhotpatch.lib='$SO' -cp '$T/classes' dev.hotpatch.core.CMakeSmoke '$T/dev/d' | grep -q '^core .* ok$'"
# ---- the core's third-party libraries at work (core_smoke.c over the same objects) ----
# skip NAME REASON: a TAP skip (the check cannot run on this machine; the reason says why).
skip() {
    _tap_n=$((_tap_n + 1))
    echo "ok $_tap_n - $1 # SKIP $2"
}
# Inputs for core_smoke: a bundle zip, a zip with a ../ entry, a changed copy of the bundle.
mkdir -p "$T/zin/assets" "$T/smoke-in"
printf 'console.log("hello from the bundle");\n' >"$T/zin/index.android.bundle"
head -c 6000 "$HP_SRC_DIR/README.md" >"$T/zin/assets/readme.txt"
(cd "$T/zin" && zip -qr "$T/smoke-in/ok.zip" .)
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.writestr("../evil.txt", "x"); z.close()' \
    "$T/smoke-in/evil.zip"
cp -r "$T/zin" "$T/smoke-in/new"
printf 'console.log("hello from the bundle, v2");\n' >"$T/smoke-in/new/index.android.bundle"
# The content digest (manifests/SPEC.md section 14) of the zip's files, computed here with coreutils: the core
# on either architecture must print the same.
want_zip_digest=$(cd "$T/zin" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
    echo "$(sha256sum <"$f" | cut -c1-64) $(stat -c %s "$f") $f"; done | sha256sum | cut -c1-64)
# smoke_build CC BUILD_DIR OUT [LIBZ] [LDFLAGS...]: core_smoke linked from BUILD_DIR's objects and archives.
smoke_build() {
    local cc=$1 b=$2 out=$3 libz=$4
    shift 4
    "$cc" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$T/core/common/include" -I"$T/core/sdk/include" \
        -I"$T/core/sdk" -I"$b/jansson/include" -I"$TP/libsodium-1.0.18/src/libsodium/include" \
        -o "$out" "$HP_SRC_DIR/tests/integration/rn/core_smoke.c" \
        $(find "$b/CMakeFiles/hotpatch.dir" -name '*.o' ! -name 'hp_jni.c.o' | sort) \
        "$b/jansson/lib/libjansson.a" "$b/libzip/lib/libzip.a" "$b/libhp_zstd.a" "$b/libhp_sodium.a" "$libz" \
        -Wl,--gc-sections "$@"
}
# smoke_run NAME OUTFILE CMD...: core_smoke in a fresh folder; its stdout kept in OUTFILE.
smoke_run() {
    local name=$1 out=$2
    shift 2
    rm -rf "$T/sd" && mkdir -p "$T/sd"
    ok "$name" bash -c '"$@" >"$0"' "$out" "$@" "$T/sd" "$T/smoke-in/ok.zip" "$T/smoke-in/evil.zip" "$T/smoke-in/new"
}
ok "host: core_smoke links from the CMake build's objects (no JNI)" smoke_build cc "$T/host" "$T/smoke-host" -lz
smoke_run "host: Ed25519, SHA-256, jansson, libzip+zlib extraction (../ refused), zstd patch, boot" \
    "$T/smoke-host.out" "$T/smoke-host"
is "$(sed -n 's/^zip_content //p' "$T/smoke-host.out")" "$want_zip_digest" \
    "host: the extracted bundle's content digest is the one coreutils computes"

# ---- aarch64 (Debian's cross gcc: a stand-in for the NDK's arm64-v8a target) ----
# Runs whenever aarch64-linux-gnu-gcc is installed (mk/deps.sh installs it); skipped, and said so, otherwise.
# The toolchain file confines CMake's searches to the cross sysroot; zlib, which that sysroot lacks (the NDK
# has libz), is the pinned zlib built here as a static PIC archive and passed explicitly.
if command -v aarch64-linux-gnu-gcc >/dev/null && [ -e /usr/aarch64-linux-gnu/lib/libc.so ]; then
    ZL=$TP/zlib-1.2.13
    mkdir -p "$T/zarm"
    ok "pinned zlib cross-compiles for aarch64 (only for this sysroot)" bash -c "
        for f in adler32 compress crc32 deflate infback inffast inflate inftrees trees uncompr zutil; do
            aarch64-linux-gnu-gcc -Os -fPIC -fvisibility=hidden -ffunction-sections -fdata-sections \
                -c \"$ZL/\$f.c\" -o \"$T/zarm/\$f.o\" || exit 1
        done && aarch64-linux-gnu-ar rcs '$T/zarm/libz.a' '$T'/zarm/*.o"
    ok "cmake configures the aarch64 cross build (tests/integration/rn/aarch64-linux-gnu.cmake)" \
        cmake -S "$PKG/android" -B "$T/arm" -DCMAKE_TOOLCHAIN_FILE="$HP_SRC_DIR/tests/integration/rn/aarch64-linux-gnu.cmake" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DHOTPATCH_CORE_DIR="$T/core" \
        -DHOTPATCH_THIRD_PARTY_DIR="$TP" -DHOTPATCH_JNI_INCLUDE="$JDK/include" \
        -DZLIB_INCLUDE_DIR="$ZL" -DZLIB_LIBRARY="$T/zarm/libz.a" -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-Map=$T/arm.map"
    # Nothing of the host's /usr may reach the cross build: every -I/-isystem is the core, the pinned sources,
    # the build tree or jni.h (the JDK's, architecture-independent: the NDK ships its own), and the configure
    # checks ran the cross compiler.
    ok "aarch64: no host include path or library in the build (compile commands, link line, cache)" bash -c "
        grep -oE -- '(-I|-isystem )[^ \"]+' '$T/arm/compile_commands.json' | sed -E 's/^(-I|-isystem )//' | sort -u |
            grep -v -e '^$T/' -e '^$TP/' -e '^$JDK/include' | grep . && exit 1
        grep -E '/usr/(lib|include)/x86_64-linux-gnu|-I/usr/include' '$T/arm/compile_commands.json' '$T/arm/CMakeFiles/hotpatch.dir/link.txt' && exit 1
        grep -E '^(ZLIB_[A-Z_]+|CMAKE_C_COMPILER)[:A-Z]*=' '$T/arm/CMakeCache.txt' | grep -E '/usr/lib/x86_64|/usr/include' && exit 1
        grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*aarch64-linux-gnu-gcc$' '$T/arm/CMakeCache.txt' &&
            grep -q 'aarch64-linux-gnu-gcc' '$T/arm/compile_commands.json'"
    ok "aarch64: libzip's and jansson's configure checks answered for the target (HAVE_* from the cross libc)" \
        bash -c "grep -q '^#define HAVE_FTS_H' '$T/arm/libzip/config.h' && grep -q 'ZIP_UINT64_MAX' '$T/arm/libzip/zipconf.h' &&
                 grep -q '^#define json_int_t long long' '$T/arm/jansson/include/jansson_config.h'"
    ok "cmake builds the aarch64 libhotpatch.so" cmake --build "$T/arm" -j2 --target hotpatch
    A=$T/arm/libhotpatch.so
    ok "aarch64: an AArch64 ELF shared object" bash -c "readelf -hW '$A' | grep -q 'Machine:.*AArch64'"
    ok "aarch64: only Java_* symbols are exported" \
        bash -c "nm -D --defined-only '$A' | awk '{print \$3}' | grep -v '^Java_' | grep . && exit 1; nm -D --defined-only '$A' | grep -q ' T Java_dev_hotpatch_core_NativeCore_bootBegin'"
    ok "aarch64: every LOAD segment is 16 KB aligned" \
        bash -c "readelf -lW '$A' | awk '\$1==\"LOAD\"{n++; if (\$NF != \"0x4000\") bad++} END{exit !(n>0 && !bad)}'"
    ok "aarch64: NEEDED only system libraries (libc, libz, libm, libdl, liblog)" \
        bash -c "test -f '$A' && readelf -dW '$A' | grep -q NEEDED && ! readelf -dW '$A' | grep NEEDED | grep -vE '\[(libc|libz|libm|libdl|liblog)\.so(\.[0-9]+)?\]' | grep ."
    ok "aarch64: the third-party archives hold no default-visibility definition (CMP0063 honoured)" bash -c "
        for a in '$T/arm/jansson/lib/libjansson.a' '$T/arm/libzip/lib/libzip.a' '$T/arm/libhp_zstd.a' '$T/arm/libhp_sodium.a'; do
            readelf -sW \"\$a\" | awk '\$5==\"GLOBAL\" && \$6==\"DEFAULT\" && \$7!=\"UND\" {print; bad=1} END{exit bad}' || exit 1
        done"
    if [ -f "$A" ]; then
        aarch64-linux-gnu-strip --strip-unneeded -o "$T/arm-stripped.so" "$A"
        kb=$(( ($(stat -c %s "$T/arm-stripped.so") + 512) / 1024 ))
        diag "aarch64 libhotpatch.so from pinned sources (zlib static here; the NDK's libz on Android), stripped: $kb KB"
        ok "aarch64: stripped size within the 600 KB target ($kb KB)" test "$kb" -le 600
        aarch64-linux-gnu-size -A "$T/arm-stripped.so" | awk '$1 ~ /^\./ && $2 > 4096 {printf "# aarch64 section %-14s %6.1f KB\n", $1, $2/1024}'
        python3 "$HP_SRC_DIR/tests/integration/rn/map_sizes.py" "$T/arm.map" 8 | sed 's/^/# aarch64 /'
    fi
    # The same objects, linked statically into core_smoke and run under qemu-user when it is installed.
    ok "aarch64: core_smoke links (static) from the cross build's objects" \
        smoke_build aarch64-linux-gnu-gcc "$T/arm" "$T/smoke-arm" "$T/zarm/libz.a" -static
    if command -v qemu-aarch64 >/dev/null; then
        smoke_run "aarch64 (qemu-aarch64): Ed25519, SHA-256, jansson, libzip+zlib, zstd patch, boot" \
            "$T/smoke-arm.out" qemu-aarch64 "$T/smoke-arm"
        ok "aarch64 prints exactly what x86_64 prints (key, signature, JSON, digests, patch)" \
            diff "$T/smoke-host.out" "$T/smoke-arm.out"
        is "$(sed -n 's/^zip_content //p' "$T/smoke-arm.out")" "$want_zip_digest" \
            "aarch64: the extracted bundle's content digest is the one coreutils computes"
    else
        skip "aarch64 core_smoke under qemu" "qemu-aarch64 not installed (Debian qemu-user, mk/deps.sh)"
    fi
else
    skip "aarch64 cross build of android/CMakeLists.txt" \
        "no aarch64-linux-gnu-gcc / libc6-dev-arm64-cross (Debian packages, mk/deps.sh installs them)"
fi
done_testing
