#!/bin/sh
# third-party.sh - fetch, verify and lay out the third-party C sources the
# mobile builds compile (libsodium, jansson, zstd, libzip; zlib is the
# system's), as pinned in ../third-party.lock: Debian bookworm source packages
# (upstream .orig tarball + Debian's patches). They are not vendored in the
# repository (the workplace forbids committing code copied from public
# repositories); this script makes them reproducible instead.
#
#   sh scripts/third-party.sh [--out DIR] [--cache DIR] [--mirror URL] [--offline]
#
# Downloads go to the cache (default ~/.cache/hotpatch/third-party/downloads;
# $HOTPATCH_CACHE overrides ~/.cache/hotpatch) and are checked against the
# lock's SHA-256 before anything is unpacked: a mismatch deletes the download
# and fails with a one-line error. The layout (default: the package's
# third_party/ folder, which android/CMakeLists.txt and HotPatch.podspec
# reference) gets one folder per library, patched, with a .hotpatch-pin stamp;
# a second run with the same lock does nothing and needs no network, and
# --offline refuses to download at all. The app build itself never fetches.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
lock=$here/third-party.lock
cache=${HOTPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotpatch}/third-party/downloads
out=$here/third_party
mirror=${HOTPATCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
offline=0

die() {
    echo "third-party: $*" >&2
    exit 1
}
while [ $# -gt 0 ]; do
    case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --cache) cache=${2:?--cache needs a folder}; shift 2 ;;
    --mirror) mirror=${2:?--mirror needs a URL}; shift 2 ;;
    --offline) offline=1; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[ -f "$lock" ] || die "no lock file '$lock'"
mkdir -p "$cache" "$out" || die "cannot create '$cache' or '$out'"

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1 # macOS
    fi
}

# fetch POOL_PATH SHA256: the verified file in the cache (path on stdout).
fetch() {
    f=$cache/$(basename "$1")
    if [ -f "$f" ]; then
        [ "$(sha256 "$f")" = "$2" ] && { echo "$f"; return 0; }
        echo "third-party: cached '$f' does not match the lock: fetching it again" >&2
        rm -f "$f"
    fi
    [ "$offline" = 0 ] || die "'$(basename "$1")' is not in the cache '$cache' and --offline was given"
    url=$mirror/pool/main/$(printf '%s' "$1" | sed 's/+/%2B/g')
    tmp=$f.part.$$
    curl -fsSL --retry 2 --max-time 300 -o "$tmp" "$url" || { rm -f "$tmp"; die "cannot fetch '$url'"; }
    got=$(sha256 "$tmp")
    if [ "$got" != "$2" ]; then
        rm -f "$tmp"
        die "sha256 mismatch for '$(basename "$1")' from '$url': expected $2, got $got (not used)"
    fi
    mv "$tmp" "$f"
    echo "$f"
}

# Every lock line: name version folder pool-path sha256.
lines=$(grep -v '^[[:space:]]*#' "$lock" | grep -v '^[[:space:]]*$') || die "'$lock' lists nothing"
echo "$lines" | while read -r name version folder path sum; do
    [ -n "$sum" ] && [ ${#sum} -eq 64 ] || die "bad lock line for '$name' in '$lock'"
    fetch "$path" "$sum" >/dev/null
done

# The headers a configure step would write, with the values every mobile
# target (clang/gcc, LP64 or ILP32, C11) has, so CMake and CocoaPods need no
# configure step: libsodium's version.h. (jansson's jansson_config.h comes from
# its own CMake build; a second copy in src/ would shadow it.)
configure() {
    case "$1" in
    libsodium-*)
        sed -e 's/@VERSION@/1.0.18/' -e 's/@SODIUM_LIBRARY_VERSION_MAJOR@/10/' \
            -e 's/@SODIUM_LIBRARY_VERSION_MINOR@/3/' -e 's/@SODIUM_LIBRARY_MINIMAL_DEF@//' \
            "$2/src/libsodium/include/sodium/version.h.in" >"$2/src/libsodium/include/sodium/version.h" ;;
    esac
}

# Lay out each folder: the .orig tarball, then Debian's patches in series order.
for folder in $(echo "$lines" | awk '{print $3}' | uniq); do
    stamp="layout 3
$(echo "$lines" | awk -v d="$folder" '$3 == d {print $2, $4, $5}')"
    [ -f "$out/$folder/.hotpatch-pin" ] && [ "$(cat "$out/$folder/.hotpatch-pin")" = "$stamp" ] && continue
    tmp=$out/.$folder.tmp
    rm -rf "$tmp" && mkdir -p "$tmp"
    orig=$(echo "$lines" | awk -v d="$folder" '$3 == d && $4 ~ /\.orig\.tar\./ {print $4}')
    deb=$(echo "$lines" | awk -v d="$folder" '$3 == d && $4 ~ /\.debian\.tar\./ {print $4}')
    [ -n "$orig" ] || die "no .orig tarball for '$folder' in the lock"
    tar -xf "$cache/$(basename "$orig")" -C "$tmp" --strip-components=1 || die "cannot unpack '$orig'"
    if [ -n "$deb" ]; then
        tar -xf "$cache/$(basename "$deb")" -C "$tmp" || die "cannot unpack '$deb'"
        if [ -f "$tmp/debian/patches/series" ]; then
            grep -v '^[[:space:]]*#' "$tmp/debian/patches/series" | while read -r p opt; do
                [ -n "$p" ] || continue
                patch -s -d "$tmp" ${opt:--p1} <"$tmp/debian/patches/$p" || die "Debian patch '$p' does not apply to '$folder'"
            done
        fi
    fi
    configure "$folder" "$tmp"
    echo "$stamp" >"$tmp/.hotpatch-pin"
    rm -rf "${out:?}/$folder" && mv "$tmp" "$out/$folder"
done
echo "$lines" | awk '{print $1, $2, $3}' | uniq >"$out/VERSIONS"
echo "$out"
