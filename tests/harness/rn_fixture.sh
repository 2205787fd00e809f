# rn_fixture.sh - the fixture React Native app, installed once and cached
# OUTSIDE the repo, plus a cached bundle build of it.
#
# Source it, then:
#   dir=$(rn_fixture_dir)              # project dir with node_modules (npm install on first use, ~25 s)
#   out=$(rn_fixture_bundle android)   # dir with index.android.bundle + assets (bundler on first use, ~22 s)
# or run it: `bash tests/harness/rn_fixture.sh [dir|bundle PLATFORM]`.
#
# The project lives in ${HP_CACHE_DIR:-$HOME/.cache/hotpatch}/rn-app-<hash of package.json>;
# the source files (tests/fixtures/rn-app) and the JS of @hotpatch/react-native
# (sdk/react-native) are copied over it on every call, so editing App.js needs no reinstall. Bundle builds are cached in
# .../rn-bundle-<hash of all fixture sources>-<platform>, so a test run builds
# the bundle at most once. Concurrent callers serialise on a lock file.
# Needs node + npm and the npm registry (react-native 0.86.3).

_rn_src() { echo "${HP_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/fixtures/rn-app"; }
_rn_cache() { echo "${HP_CACHE_DIR:-$HOME/.cache/hotpatch}"; }

# _rn_hash FILES...: short SHA-256 over the named files (names and contents).
_rn_hash() {
    local f
    for f in "$@"; do printf '%s\n' "$f"; sha256sum <"$f"; done | sha256sum | cut -c1-16
}

# _rn_pkg: the @hotpatch/react-native package the fixture app imports (sdk/react-native).
_rn_pkg() { echo "$(_rn_src)/../../../sdk/react-native"; }

# _rn_src_hash: hash of every fixture source file and of the package's JS (what the bundle depends on).
_rn_src_hash() {
    local src pkg
    src=$(_rn_src)
    pkg=$(_rn_pkg)
    {
        (cd "$src" && _rn_hash $(find . -type f ! -path './node_modules/*' ! -path './out/*' | LC_ALL=C sort))
        (cd "$pkg" && _rn_hash package.json react-native.config.js $(find src -type f | LC_ALL=C sort))
    } | sha256sum | cut -c1-16
}

# rn_fixture_dir: print the installed project dir; install when missing.
rn_fixture_dir() {
    local src cache dir lock
    src=$(_rn_src)
    cache=$(_rn_cache)
    [ -f "$src/package.json" ] || { echo "rn_fixture: no fixture at '$src'" >&2; return 1; }
    command -v npm >/dev/null 2>&1 || { echo "rn_fixture: npm is not installed" >&2; return 1; }
    mkdir -p "$cache" || return 1
    dir="$cache/rn-app-$(cd "$src" && _rn_hash package.json)"
    lock="$cache/.rn-fixture.lock"
    (
        flock -w 600 9 || { echo "rn_fixture: timed out waiting for '$lock'" >&2; exit 1; }
        if [ ! -f "$dir/.installed" ]; then
            rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" || exit 1
            cp -R "$src/." "$dir.tmp/" || exit 1
            echo "rn_fixture: npm install into '$dir' (first use, ~25 s)" >&2
            if ! (cd "$dir.tmp" && npm install --no-audit --no-fund --loglevel=error >"$dir.tmp/.npm.log" 2>&1); then
                echo "rn_fixture: npm install failed; see '$dir.tmp/.npm.log'" >&2
                tail -5 "$dir.tmp/.npm.log" >&2
                exit 1
            fi
            touch "$dir.tmp/.installed"
            rm -rf "$dir" && mv "$dir.tmp" "$dir" || exit 1
        fi
        # Refresh the sources (not package.json: that names the install).
        cp -R "$src/." "$dir/" || exit 1
        # The app imports @hotpatch/react-native: refresh the package's JS side from the repo
        # (what Metro needs; `npm pack` of the whole package is tested in tests/integration/rn/npm_pack.sh).
        pkg=$(_rn_pkg)
        rm -rf "$dir/node_modules/@hotpatch/react-native" && mkdir -p "$dir/node_modules/@hotpatch/react-native" &&
            cp -R "$pkg/package.json" "$pkg/react-native.config.js" "$pkg/src" "$dir/node_modules/@hotpatch/react-native/" ||
            exit 1
    ) 9>"$lock" || return 1
    echo "$dir"
}

# rn_fixture_bundle PLATFORM: print a dir holding index.<platform>.bundle and
# its assets, built by the real bundler once per fixture-source hash.
rn_fixture_bundle() {
    local platform=${1:-android} dir cache out lock
    dir=$(rn_fixture_dir) || return 1
    cache=$(_rn_cache)
    out="$cache/rn-bundle-$(_rn_src_hash)-$platform"
    lock="$cache/.rn-bundle.lock"
    (
        flock -w 600 9 || { echo "rn_fixture: timed out waiting for '$lock'" >&2; exit 1; }
        if [ ! -f "$out/index.$platform.bundle" ]; then
            rm -rf "$out.tmp" && mkdir -p "$out.tmp" || exit 1
            echo "rn_fixture: bundling the fixture for $platform (~22 s)" >&2
            if ! (cd "$dir" && npx --no-install react-native bundle --platform "$platform" --dev false \
                --entry-file index.js --bundle-output "$out.tmp/index.$platform.bundle" \
                --assets-dest "$out.tmp" >"$cache/rn-bundle-$platform.log" 2>&1); then
                echo "rn_fixture: bundler failed; see '$cache/rn-bundle-$platform.log'" >&2
                tail -5 "$cache/rn-bundle-$platform.log" >&2
                exit 1
            fi
            rm -rf "$out" && mv "$out.tmp" "$out" || exit 1
        fi
    ) 9>"$lock" || return 1
    echo "$out"
}

# rn_fixture_store_bundle PLATFORM DIR: adopt a bundle dir built elsewhere
# (by `hotpatch release --build-dir`) as the cached build, when none exists.
rn_fixture_store_bundle() {
    local platform=$1 src=$2 cache out
    cache=$(_rn_cache)
    out="$cache/rn-bundle-$(_rn_src_hash)-$platform"
    [ -f "$src/index.$platform.bundle" ] || return 1
    (
        flock -w 600 9 || exit 1
        [ -f "$out/index.$platform.bundle" ] && exit 0
        rm -rf "$out.tmp" && cp -R "$src" "$out.tmp" && mv "$out.tmp" "$out"
    ) 9>"$cache/.rn-bundle.lock"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    case "${1:-dir}" in
    dir) rn_fixture_dir ;;
    bundle) rn_fixture_bundle "${2:-android}" ;;
    *) echo "usage: $0 [dir|bundle PLATFORM]" >&2; exit 2 ;;
    esac
fi
