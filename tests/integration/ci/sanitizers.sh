#!/usr/bin/env bash
# sanitizers.sh - issue 12 #10: CI runs the unit tests and fuzz-corpus replays
# under ASan + UBSan too, so a memory error cannot land green. Checks that
# .ci/run (a) stops on the first failure, (b) runs `make ... test` and then
# `make ... SANITIZE=address,undefined ... check`; that the sanitizer build
# really compiles and links with both sanitizers into build-san/ (a dry run of
# make); and that the flags it uses turn an out-of-bounds write into a failing
# exit, which is what makes the CI step red.
set -u
. "${HP_SRC_DIR:?}/tests/lib/tap.sh"
cd "$HP_SRC_DIR" || exit 1
ci=.ci/run
ok "CI script stops on the first failing command" grep -q '^set -euo pipefail' "$ci"
test_line=$(grep -n 'make .*[[:space:]]test\b' "$ci" | head -1 | cut -d: -f1)
san_line=$(grep -n 'make .*SANITIZE=address,undefined.* check' "$ci" | head -1 | cut -d: -f1)
ok "CI runs the full test suite" test -n "$test_line"
ok "CI runs the unit tests + fuzz replays under ASan+UBSan" test -n "$san_line"
ok "... after the normal suite" test -n "$test_line" -a -n "$san_line" -a "${san_line:-0}" -gt "${test_line:-0}"
# the dry run goes to a file: as one argument it outgrew the kernel's 128 KiB limit for a single argument
dry=$(mktemp /tmp/hp-san-dry.XXXXXX)
make -n -B SANITIZE=address,undefined check >"$dry" 2>/dev/null
ok "the sanitizer build compiles with -fsanitize=address,undefined" \
    grep -q -- "-fsanitize=address,undefined -fno-sanitize-recover=all" "$dry"
ok "... into build-san/, apart from the normal build" bash -c 'grep -q "build-san/" "$1" && ! grep -q " -o build/" "$1"' _ "$dry"
ok "... and replays the fuzz corpora there" grep -q "HP_BUILD=build-san bash tests/run.sh unit" "$dry"
rm -f "$dry"
# The same flags make a heap overflow fail the process (what turns CI red).
work=$(mktemp -d /tmp/hp-san.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/oob.c" <<'C'
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) { char *p = malloc(8); memset(p, 'x', 8 + (size_t)argc); free(p); (void)argv; return 0; }
C
if cc -fsanitize=address,undefined -fno-sanitize-recover=all -o "$work/oob" "$work/oob.c" 2>"$work/cc.err"; then
    "$work/oob" >/dev/null 2>"$work/run.err"
    rc=$?
    is "$((rc != 0))" 1 "an out-of-bounds write under these flags fails the process (exit $rc)"
    ok "... with an AddressSanitizer report" grep -q 'heap-buffer-overflow' "$work/run.err"
else
    ok "cc builds with ASan+UBSan" false
fi
done_testing
