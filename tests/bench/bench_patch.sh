#!/usr/bin/env bash
# bench_patch.sh - differential updates on the real fixture app (Metro bundle
# compiled by hermesc, tests/bench/patch_variants.sh) for three scripted
# changes: one JS line (v0->v1), +300 lines of JS (v1->v2), one image asset
# replaced (v2->v3); plus v0->v3 and a synthetic 20 MiB bundle for memory.
# For each: the full zip a device downloads today, and the bytes a device on
# the old version downloads with
#   ours     `hotpatch patch create` (HPPATCH1: unchanged files reused,
#            zstd --patch-from per changed file, zstd in full for new files)
#   bsdiff   bsdiff per changed file (+ zstd -19 of new files)
#   zstd     the zstd CLI --patch-from -19 per changed file (+ zstd -19 of new files)
# each with the ratio to the full zip, create time, apply time and apply peak
# RSS (GNU time), and as the reference the full install's core work in the
# same run: sha256sum + unzip of the full zip. Every method's rebuilt bundle is
# checked against the new bundle's content digest.
# Goal (issue 14): one-line change <= 10% of the full zip; apply time <= full.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
BIN=${HP_BIN:-$top/${HP_BUILD:-build}/bin}
for t in zip unzip bsdiff bspatch zstd python3 sha256sum /usr/bin/time; do
    command -v $t >/dev/null || { echo "bench_patch: '$t' not found (tests/harness/deps.sh)"; exit 1; }
done
[ -x "$BIN/hotpatch" ] || { echo "bench_patch: build first ($BIN/hotpatch missing)"; exit 1; }
. tests/bench/patch_variants.sh
V=$(patch_variants) || { echo "bench_patch: cannot build the fixture variants"; exit 1; }
tmp=$(mktemp -d /tmp/hp-bench-patch.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
# files_of A B KIND: list "changed PATH" / "new PATH" between bundle dirs A and B.
changes() {
    (cd "$2" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) | while read -r f; do
        if [ ! -f "$1/$f" ]; then echo "new $f"
        elif ! cmp -s "$1/$f" "$2/$f"; then echo "changed $f"; fi
    done
}
# per_file METHOD A B: per-file patches with a CLI tool into $tmp/m-METHOD/
# (bsdiff or zstd --patch-from -19 --long=27 per changed file, zstd -19 of new
# files, unchanged files reused), timed as one create step; prints
# "bytes create_s". apply_per_file METHOD A prints "apply_s peak_rss_kb" for
# rebuilding the new bundle dir from A and those files (bspatch / zstd -d
# --patch-from / zstd -d, cp of unchanged files): GNU time's %M of the script
# is the largest RSS of any tool it ran.
per_file() {
    local m=$1 a=$2 b=$3 d=$tmp/m-$1 t0 t1
    rm -rf "$d" && mkdir -p "$d/p"
    changes "$a" "$b" >"$d/list"
    (cd "$b" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$d/all"
    t0=$(now)
    local i=0 kind f
    while read -r kind f; do
        i=$((i + 1))
        if [ "$kind" = new ]; then
            zstd -q -19 -c "$b/$f" >"$d/p/$i"
        elif [ "$m" = bsdiff ]; then
            bsdiff "$a/$f" "$b/$f" "$d/p/$i"
        else
            zstd -q -19 --long=27 --patch-from="$a/$f" -c "$b/$f" >"$d/p/$i" 2>/dev/null
        fi
    done <"$d/list"
    t1=$(now)
    echo "$(cat "$d"/p/* 2>/dev/null | wc -c) $(python3 -c "print('%.3f' % ($t1 - $t0))")"
}
apply_per_file() {
    local m=$1 a=$2 d=$tmp/m-$1
    rm -rf "$d/out" && mkdir -p "$d/out"
    cat >"$d/apply.sh" <<EOS
set -e
cd "$d/out"
i=0
while read -r kind f; do
    i=\$((i + 1)); mkdir -p "\$(dirname "\$f")"
    if [ "\$kind" = new ]; then zstd -q -d -c "$d/p/\$i" >"\$f"
    elif [ "$m" = bsdiff ]; then bspatch "$a/\$f" "\$f" "$d/p/\$i"
    else zstd -q -d --long=27 --patch-from="$a/\$f" -c "$d/p/\$i" >"\$f"; fi
done <"$d/list"
while read -r f; do [ -e "\$f" ] || { mkdir -p "\$(dirname "\$f")"; cp "$a/\$f" "\$f"; }; done <"$d/all"
sync -f .
EOS
    /usr/bin/time -f "%e %M" -o "$d/time" bash "$d/apply.sh" || { echo "0 0"; return; }
    cat "$d/time"
}

row() {
    local name=$1 a=$2 b=$3 level=${4:-19} full t0 t1 ours create apply rss ref bs zs
    rm -rf "$tmp/out" "$tmp/ref" && mkdir -p "$tmp/out" "$tmp/ref"
    (cd "$b" && zip -q -X -9 -r "$tmp/full.zip" .) && full=$(stat -c %s "$tmp/full.zip")
    t0=$(now)
    "$BIN/hotpatch" patch create --level "$level" "$a" "$b" "$tmp/p" >/dev/null || { echo "bench_patch: create failed"; return 1; }
    t1=$(now)
    create=$(python3 -c "print('%.3f' % ($t1 - $t0))")
    ours=$(stat -c %s "$tmp/p")
    want=$("$BIN/hotpatch" patch digest "$b")
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$BIN/hotpatch" patch apply "$tmp/p" "$a" "$tmp/out" \
        --content-sha256 "$want" >/dev/null || { echo "bench_patch: apply failed"; return 1; }
    read -r apply rss <"$tmp/time"
    t0=$(now)
    sha256sum "$tmp/full.zip" >/dev/null && unzip -q "$tmp/full.zip" -d "$tmp/ref" && sync -f "$tmp/ref"
    t1=$(now)
    ref=$(python3 -c "print('%.3f' % ($t1 - $t0))")
    local bsm="- - - -" zsm="- - - -"
    if [ "$level" = 19 ]; then
        bsm="$(per_file bsdiff "$a" "$b") $(apply_per_file bsdiff "$a")"
        zsm="$(per_file zstd "$a" "$b") $(apply_per_file zstd "$a")"
        # The references must rebuild the same bundle, or their figures mean nothing.
        for m in bsdiff zstd; do
            [ "$("$BIN/hotpatch" patch digest "$tmp/m-$m/out")" = "$want" ] || echo "bench_patch: $m rebuilt another bundle"
        done
    fi # else: the CLI references at -19 on 16 MiB take minutes on a loaded machine
    python3 - "$name" "$full" "$ours $create $apply $rss" "$bsm" "$zsm" "$ref" <<'PY'
import sys
name, full, ours, bsm, zsm, ref = sys.argv[1:]
full = int(full)
print("%s  (full zip %d bytes; reference sha256sum+unzip of the full zip %.2fs)" % (name, full, float(ref)))
for label, cols in (("ours", ours), ("bsdiff", bsm), ("zstd --patch-from", zsm)):
    c = cols.split()
    if c[0] == "-":
        print("    %-18s not run (level 9 row)" % label)
        continue
    n, create, apply, rss = int(c[0]), float(c[1]), float(c[2]), int(c[3])
    print("    %-18s %9d bytes %7.2f%% of full | create %6.2fs | apply %5.2fs | apply peak RSS %6.1f MB"
          % (label, n, 100.0 * n / full, create, apply, rss / 1024.0))
PY
}

echo "fixture: $(stat -c %s "$V/v0/index.android.bundle") bytes of Hermes bytecode + assets"
row "one JS line" "$V/v0" "$V/v1"
row "+300 lines JS" "$V/v1" "$V/v2"
row "image replaced" "$V/v2" "$V/v3"
row "v0 -> v3" "$V/v0" "$V/v3"

# A 20 MiB bundle (16 MiB main file + 200 assets) with ~1% of the main file
# changed in scattered places: apply peak RSS against the 32 MB budget
# (created at zstd level 9 to keep the bench short; bsdiff/zstd columns 0 = not run).
python3 - "$tmp/big0" "$tmp/big1" <<'PY'
import os, random, sys
r = random.Random(7)
words = [("w%05d" % i).encode() for i in range(40000)]
main = bytearray(b" ".join(r.choice(words) for _ in range(16 * 1024 * 1024 // 7)))[:16 << 20]
for d in sys.argv[1:3]:
    os.makedirs(d + "/drawable-mdpi")
    for i in range(200):
        open("%s/drawable-mdpi/a%03d.png" % (d, i), "wb").write(r.randbytes(20000) if d == sys.argv[1] else open("%s/drawable-mdpi/a%03d.png" % (sys.argv[1], i), "rb").read())
    if d == sys.argv[2]:
        for _ in range(160):
            p = r.randrange(len(main) - 1024)
            main[p:p + 1024] = r.randbytes(1024)
    open(d + "/index.android.bundle", "wb").write(main)
PY
row "20 MiB bundle, 1%" "$tmp/big0" "$tmp/big1" 9
