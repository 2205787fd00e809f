#!/usr/bin/env bash
# operations_doc.sh - docs/operations.md must not drift from the code: every
# metric it names exists in the edge or publisher sources, every metric the
# programs export is documented, the environment variables it tells
# operators to set are ones the programs (or the deploy scripts) read, and
# its links to the Terraform modules point at real directories.
set -u
. "${HP_SRC_DIR:?}/tests/lib/tap.sh"
src=$HP_SRC_DIR
doc=$src/docs/operations.md
ok "docs/operations.md exists" test -s "$doc"

code_metrics=$(cat "$src"/edge-check/*.c "$src"/publisher/*.c 2>/dev/null |
    grep -oE 'hotpatch_(edge|publisher)_[a-z_]+' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
doc_metrics=$(grep -oE 'hotpatch_(edge|publisher)_[a-z_]+' "$doc" | sort -u)
ok "the programs export metrics ($(wc -w <<<"$code_metrics"))" test -n "$code_metrics"
ok "the document names metrics ($(wc -w <<<"$doc_metrics"))" test -n "$doc_metrics"
is "$(comm -13 <(echo "$code_metrics") <(echo "$doc_metrics") | tr '\n' ' ')" "" "every metric in the document exists in the code"
is "$(comm -23 <(echo "$code_metrics") <(echo "$doc_metrics") | tr '\n' ' ')" "" "every exported metric is documented"

# HOTPATCH_* settings the document mentions must be read somewhere.
unknown=""
for v in $(grep -oE '\bHOTPATCH_[A-Z0-9_]+' "$doc" | sort -u); do
    grep -rqs -- "$v" "$src"/common "$src"/edge-check "$src"/publisher "$src"/cli "$src"/sdk "$src"/terraform ||
        unknown="$unknown $v"
done
is "$unknown" "" "every HOTPATCH_* variable in the document is used by the code or the deploy files"

# Relative links to files and folders.
missing=""
for l in $(grep -oE '\]\(\.\./[^)#]+' "$doc" | sed 's/^](//'); do
    [ -e "$src/docs/$l" ] || missing="$missing $l"
done
is "$missing" "" "relative links resolve"
for m in bucket cdn edge_lambda postgres publisher iam; do
    ok "module $m is described" grep -q "$m" "$doc"
done

done_testing
