# common.bash - shared setup for the hotpatch CLI integration tests (sourced;
# not a test itself). Gives each test a private temp dir and config dir, a
# release key and a manifest key, and helpers that check the documented exit
# code AND that the error is one line ("hotpatch: error: ...").
set -u
# Never read the runner's stdin (tests/run.sh feeds its list of tests through
# it; script(1) below would swallow the rest of that list).
exec </dev/null
: "${HP_SRC_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
: "${HP_BIN:=$HP_SRC_DIR/build/bin}"
. "$HP_SRC_DIR/tests/lib/tap.sh"
. "$HP_SRC_DIR/tests/harness/rn_fixture.sh"
. "$HP_SRC_DIR/tests/harness/servers.sh"

HP=$HP_BIN/hotpatch
# What a test starts with the hp_* functions (tests/harness/servers.sh) is
# stopped on exit, last started first; the temp dir $T goes last.
hp_tempdir hp-cli-test || { echo "not ok 1 - mktemp"; echo "1..1"; exit 1; }

# A clean environment: nothing from the caller's config or env leaks in.
unset HOTPATCH_TOKEN HOTPATCH_ENDPOINT HOTPATCH_STORAGE HOTPATCH_SIGNING_KEY HOTPATCH_MANIFEST_KEY \
    HOTPATCH_TRUSTED_KEYS HOTPATCH_S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_SESSION_TOKEN
export XDG_CONFIG_HOME=$T/cfg
# hotpatch's work dirs go under $T (so tests can check they are cleaned up);
# the bundler keeps its Metro cache under the original TMPDIR (warm across runs).
ORIG_TMPDIR=${TMPDIR:-/tmp}
export TMPDIR=$T

[ -x "$HP" ] || { echo "not ok 1 - $HP is not built"; echo "1..1"; exit 1; }

# jget FILE EXPR: evaluate a python expression on the JSON in FILE (as `j`).
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# keys DIR: release.key + manifest.key in DIR, public keys in RELEASE_PUB / MANIFEST_PUB.
keys() {
    local d=$1
    mkdir -p "$d"
    "$HP" --json keygen --out "$d/release.key" >"$d/release.json" || return 1
    "$HP" --json keygen --manifest --out "$d/manifest.key" >"$d/manifest.json" || return 1
    RELEASE_PUB=$(jget "$d/release.json" 'j["public_key"]')
    MANIFEST_PUB=$(jget "$d/manifest.json" 'j["public_key"]')
}

# expect_exit CODE NAME CMD...: CMD exits with CODE and prints exactly one
# stderr line starting "hotpatch: error: " (run with --quiet by the caller
# when the command would print notes). The line is kept in $LAST_ERR.
expect_exit() {
    local want=$1 name=$2 rc
    shift 2
    "$@" >"$T/.out" 2>"$T/.err"
    rc=$?
    LAST_ERR=$(cat "$T/.err")
    _tap_n=$((_tap_n + 1))
    if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$T/.err")" -eq 1 ] && grep -q '^hotpatch: error: ' "$T/.err"; then
        echo "ok $_tap_n - $name (exit $rc: ${LAST_ERR#hotpatch: error: })"
    else
        _tap_fail=$((_tap_fail + 1))
        echo "not ok $_tap_n - $name"
        echo "#   command: $*"
        echo "#   exit $rc, wanted $want; stderr:"
        sed 's/^/#     /' "$T/.err" | head -10
    fi
}

# snapshot DIR: a listing of every file under DIR with its SHA-256 (lock files excluded).
snapshot() { (cd "$1" && find . -type f ! -path './.locks/*' ! -name '*.lock' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum); }
