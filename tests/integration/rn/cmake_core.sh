# cmake_core.sh - the mobile C build is self-contained: sdk/react-native's
# pinned third-party sources (third-party.lock, Debian bookworm source
# packages) are fetched and verified by scripts/third-party.sh into the cache
# (~/.cache/hotpatch, outside the repository; a later run needs no network),
# a tampered download or cache is refused, and android/CMakeLists.txt - the
# file Gradle's externalNativeBuild runs - builds the JNI library from the core
# (copy-core.sh) and those sources on this machine's compiler. Checked: only
# Java_* symbols are exported, every LOAD segment is 16 KB aligned, no
# third-party library is needed at run time but libc and zlib, and the JVM
# loads the library and runs the boot protocol through it.
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
    -DHOTPATCH_THIRD_PARTY_DIR="$TP" -DHOTPATCH_JNI_INCLUDE="$JDK/include"
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
# ---- aarch64 (Debian's cross gcc: a stand-in for the NDK's arm64 target) ----
# Not yet green: the cross build of the pinned sources stops in libzip/zstd for this sysroot (docs/react-native.md,
# "not verified here"). Run it on purpose with HP_CMAKE_AARCH64=1 while fixing it.
if [ "${HP_CMAKE_AARCH64:-0}" = 1 ] && command -v aarch64-linux-gnu-gcc >/dev/null; then
    # The cross sysroot has no zlib (Android's NDK does): the pinned zlib, built here as a static PIC archive.
    ZL=$TP/zlib-1.2.13
    mkdir -p "$T/zarm"
    ok "pinned zlib cross-compiles for aarch64 (only for this sysroot)" bash -c "
        for f in adler32 compress crc32 deflate infback inffast inflate inftrees trees uncompr zutil; do
            aarch64-linux-gnu-gcc -O2 -fPIC -fvisibility=hidden -c \"$ZL/\$f.c\" -o \"$T/zarm/\$f.o\" || exit 1
        done && aarch64-linux-gnu-ar rcs '$T/zarm/libz.a' '$T'/zarm/*.o"
    printf '%s\n' 'set(CMAKE_SYSTEM_NAME Linux)' 'set(CMAKE_SYSTEM_PROCESSOR aarch64)' \
        'set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)' >"$T/aarch64.cmake"
    ok "cmake configures the aarch64 cross build" \
        cmake -S "$PKG/android" -B "$T/arm" -DCMAKE_TOOLCHAIN_FILE="$T/aarch64.cmake" -DCMAKE_BUILD_TYPE=Release \
        -DHOTPATCH_CORE_DIR="$T/core" -DHOTPATCH_THIRD_PARTY_DIR="$TP" -DHOTPATCH_JNI_INCLUDE="$JDK/include" \
        -DZLIB_INCLUDE_DIR="$ZL" -DZLIB_LIBRARY="$T/zarm/libz.a"
    ok "cmake builds the aarch64 libhotpatch.so" cmake --build "$T/arm" -j2 --target hotpatch
    A=$T/arm/libhotpatch.so
    ok "aarch64: an AArch64 ELF shared object" bash -c "readelf -hW '$A' | grep -q 'Machine:.*AArch64'"
    ok "aarch64: only Java_* symbols are exported" \
        bash -c "nm -D --defined-only '$A' | awk '{print \$3}' | grep -v '^Java_' | grep . && exit 1; nm -D --defined-only '$A' | grep -q ' T Java_'"
    ok "aarch64: every LOAD segment is 16 KB aligned" \
        bash -c "readelf -lW '$A' | awk '\$1==\"LOAD\"{n++; if (\$NF != \"0x4000\") bad++} END{exit !(n>0 && !bad)}'"
    if [ -f "$A" ]; then
        aarch64-linux-gnu-strip --strip-unneeded -o "$T/arm-stripped.so" "$A"
        diag "aarch64 libhotpatch.so from pinned sources (zlib static here; the NDK's libz on Android), stripped: $(( ($(stat -c %s "$T/arm-stripped.so") + 512) / 1024 )) KB"
    fi
else
    diag "aarch64 cross build skipped (HP_CMAKE_AARCH64=1 runs it; needs gcc-aarch64-linux-gnu from mk/deps.sh)"
fi
done_testing
