#!/usr/bin/env bash
# layers.sh UNIT... - the layering check of `make lint` (mk/lint.mk).
#
# The tree is layered: common/ at the bottom, the SDK on it, each program's
# library above them, and each program's main.o on top of its library. A
# reference may only point down (or stay inside its own unit): common/ may not
# call the SDK or a program, the SDK may not call a program, no program calls
# another, and no library object calls into its program's main.o. Cycles
# between the layers cannot come back, because the lower layer would have to
# reference the upper one.
#
# Each UNIT is NAME:GROUP:RANK:FILE[,FILE...], FILE an object or a static
# archive. A reference from unit U to a symbol defined in unit V (V != U) is
# allowed when V.RANK < U.RANK and V's group is U's group or "-" (shared by
# every group). Everything else is reported, one line per reference:
#   layering: OBJECT (unit U) -> OBJECT (unit V): SYMBOL
# and the exit status is 1. Symbols come from `nm`: defined = any global
# (upper-case type, weak included), referenced = "U".
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: layers.sh NAME:GROUP:RANK:FILE[,FILE...]..." >&2; exit 2; }
NM=${NM:-nm}
tab=$(mktemp)
trap 'rm -f "$tab"' EXIT
for spec in "$@"; do
    IFS=: read -r name group rank files <<<"$spec"
    case "$rank" in '' | *[!0-9]*) echo "layers.sh: bad rank in '$spec'" >&2; exit 2 ;; esac
    IFS=, read -ra list <<<"$files"
    for f in "${list[@]}"; do
        [ -n "$f" ] || continue
        [ -f "$f" ] || { echo "layers.sh: '$f' (unit $name) does not exist: build it first" >&2; exit 2; }
        # nm -A: "file:SYM" or "archive:member:SYM" prefixes; -P: "NAME TYPE ...".
        "$NM" -A -P "$f" 2>/dev/null | awk -v unit="$name" -v group="$group" -v rank="$rank" -v file="$f" '
            {
                # the object is everything before ": " ("lib.a[member.o]" or "file.o")
                i = index($0, ": "); obj = substr($0, 1, i - 1); rest = substr($0, i + 2)
                split(rest, w, " "); sym = w[1]; type = w[2]
                if (type == "U") print "U", unit, group, rank, obj, sym
                else if (type ~ /^[A-TV-Z]$/) print "D", unit, group, rank, obj, sym
            }' >>"$tab"
    done
done
awk '
    $1 == "D" { if (!($6 in dunit)) { dunit[$6] = $2; dgroup[$6] = $3; drank[$6] = $4; dobj[$6] = $5 } next }
    $1 == "U" { n++; uu[n] = $2; ug[n] = $3; ur[n] = $4; uo[n] = $5; us[n] = $6 }
    END {
        bad = 0
        for (i = 1; i <= n; i++) {
            s = us[i]
            if (!(s in dunit) || dunit[s] == uu[i]) continue
            if (drank[s] + 0 < ur[i] + 0 && (dgroup[s] == ug[i] || dgroup[s] == "-")) continue
            key = uo[i] SUBSEP dobj[s] SUBSEP s
            if (key in seen) continue
            seen[key] = 1
            printf "layering: %s (%s) -> %s (%s): %s\n", uo[i], uu[i], dobj[s], dunit[s], s
            bad++
        }
        if (bad) { printf "layering: %d upward reference(s); see mk/layers.sh for the rule\n", bad; exit 1 }
    }' "$tab"
