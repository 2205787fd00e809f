#!/usr/bin/env bash
# tests/run.sh unit|all - run the test suite and print one closing line:
#   "N passed, M failed"
# unit: unit tests + fuzz-corpus replays (no servers).
# all:  starts a throwaway PostgreSQL cluster and a Ceph radosgw on loopback
#       (tests/harness/), runs the above (unit tests that need Postgres use
#       it) and the integration tests against them, and stops them on exit.
# Each test program / script prints TAP; a crash or a non-zero exit with no
# "not ok" line is counted as one failure. HP_TEST_FILTER=substr limits the run.
set -u
mode=${1:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export HP_SRC_DIR=$top
export HP_BUILD=${HP_BUILD:-build}
export HP_BIN=$top/$HP_BUILD/bin
export HP_LOG_DIR=${HP_LOG_DIR:-$top/$HP_BUILD/test-logs}
mkdir -p "$HP_LOG_DIR"
filter=${HP_TEST_FILTER:-}
per_test_timeout=${HP_TEST_TIMEOUT:-900}

passed=0
failed=0
failed_names=()

# run_tap NAME CMD...: run one TAP producer, tally its results.
run_tap() {
    local name=$1; shift
    if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then return; fi
    local log="$HP_LOG_DIR/$(echo "$name" | tr '/ ' '__').log"
    local t0=$SECONDS
    timeout -k 10 "$per_test_timeout" "$@" >"$log" 2>&1 </dev/null
    local rc=$?
    local p f
    p=$(grep -cE '^ok [0-9]+' "$log")
    f=$(grep -cE '^not ok [0-9]+' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited with status $rc" >>"$log"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failed_names+=("$name")
        echo "FAIL $name ($p passed, $f failed, $((SECONDS - t0))s) log: $log"
        grep -E -A4 '^not ok' "$log" | head -40 | sed 's/^/    /'
        tail -5 "$log" | sed 's/^/    | /'
    else
        echo "ok   $name ($p passed, $((SECONDS - t0))s)"
    fi
}

# `all` starts the servers first: unit tests that need a real Postgres (the
# publisher's domain tests, tests/unit/publisher/pub_fixture.h) run against
# it; without HP_TEST_PG_URL (`make check`) they print a TAP skip.
servers_up=0
if [ "$mode" = all ]; then
    # Servers for the integration tests; the harness exports their addresses.
    . tests/harness/servers.sh
    if ! servers_start; then
        echo "not ok - could not start the test servers (see $HP_LOG_DIR)"
        failed=$((failed + 1))
    else
        servers_up=1
        trap servers_stop EXIT
    fi
fi

# Unit tests.
while IFS= read -r t; do
    run_tap "${t#"$HP_BUILD"/tests/}" "$t"
done < <(find "$HP_BUILD/tests/unit" -type f -name '*_test' -perm -u+x 2>/dev/null | sort)

# Fuzz corpus replays: one check per target.
for f in $(find "$HP_BUILD/fuzz" -maxdepth 1 -type f -perm -u+x 2>/dev/null | sort); do
    name=$(basename "$f")
    corpus=tests/fuzz/corpus/$name
    run_tap "fuzz/$name" bash -c '
        if [ ! -d "$2" ] || [ -z "$(ls -A "$2")" ]; then echo "not ok 1 - corpus $2 is missing or empty"; exit 1; fi
        if out=$("$1" "$2" 2>&1); then echo "ok 1 - replay $3: $out"; else echo "$out"; echo "not ok 1 - replay $3"; exit 1; fi
    ' _ "$f" "$corpus" "$name"
done

if [ "$servers_up" = 1 ]; then
    while IFS= read -r t; do
        run_tap "${t#"$HP_BUILD"/tests/}" "$t"
    done < <(find "$HP_BUILD/tests/integration" -type f -name '*_test' -perm -u+x 2>/dev/null | sort)
    while IFS= read -r t; do
        run_tap "${t#tests/}" bash "$t"
    done < <(find tests/integration -type f -name '*.sh' 2>/dev/null | sort)
fi

if [ "${#failed_names[@]}" -gt 0 ]; then
    echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
