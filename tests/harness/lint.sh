#!/usr/bin/env bash
# lint.sh - formatting, banned functions and the SDK's exported symbols.
set -u
cd "$(dirname "$0")/../.."
rc=0
files=$(git ls-files '*.c' '*.h')
if command -v clang-format >/dev/null; then
    clang-format --dry-run -Werror $files || rc=1
fi
# Every .c includes common/compat.h first (which brings in banned.h).
for f in $(git ls-files 'common/*.c' 'sdk/*.c' 'cli/*.c' 'publisher/*.c' 'edge-check/*.c'); do
    first=$(grep -m1 '^#include' "$f")
    case "$first" in *'"common/compat.h"'*) ;; *) echo "$f: first include must be common/compat.h"; rc=1 ;; esac
done
# The SDK exports exactly the symbols listed in sdk/hotpatch.sym.
so=${HP_BUILD:-build}/lib/libhotpatch.so
if [ -f "$so" ] && [ -f sdk/hotpatch.sym ]; then
    if ! diff -u sdk/hotpatch.sym <(nm -D --defined-only "$so" | awk '$2=="T"{print $3}' | sort); then
        echo "exported symbols differ from sdk/hotpatch.sym"; rc=1
    fi
fi
[ $rc -eq 0 ] && echo "lint: ok"
exit $rc
