#!/usr/bin/env bash
# make bench: runs every tests/bench/bench_*.sh in turn. Each prints its own
# figures and the ratio against a reference measured in the same run.
set -u
cd "$(dirname "$0")/../.."
export HP_SRC_DIR=$PWD HP_BUILD=${HP_BUILD:-build}
export HP_BIN=$PWD/$HP_BUILD/bin
rc=0
for b in tests/bench/bench_*.sh; do
    [ -f "$b" ] || continue
    echo "== $(basename "$b" .sh)"
    bash "$b" || { echo "bench $(basename "$b") failed"; rc=1; }
done
exit $rc
