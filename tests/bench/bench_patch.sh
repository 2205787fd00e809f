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
# with the ratio to the full zip, our create time, our apply time and apply
# peak RSS (GNU time), and as the reference the full install's core work in
# the same run: sha256sum + unzip of the full zip.
# Goal (issue 14): one-line change <= 10% of the full zip; apply time <= full.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
BIN=${HP_BIN:-$top/${HP_BUILD:-build}/bin}
for t in zip unzip bsdiff zstd python3 sha256sum /usr/bin/time; do
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
# per_file METHOD A B: bytes of per-file patches with a CLI tool.
per_file() {
    local m=$1 a=$2 b=$3 total=0 kind f n
    while read -r kind f; do
        [ -n "$kind" ] || continue
        if [ "$kind" = new ]; then
            n=$(zstd -q -19 -c "$b/$f" | wc -c)
        elif [ "$m" = bsdiff ]; then
            bsdiff "$a/$f" "$b/$f" "$tmp/bs" && n=$(stat -c %s "$tmp/bs")
        else
            n=$(zstd -q -19 --long=27 --patch-from="$a/$f" -c "$b/$f" 2>/dev/null | wc -c)
        fi
        total=$((total + n))
    done < <(changes "$a" "$b")
    echo $total
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
    if [ "$level" = 19 ]; then
        bs=$(per_file bsdiff "$a" "$b")
        zs=$(per_file zstd "$a" "$b")
    else
        bs=0 zs=0 # the CLI references at -19 on 16 MiB take minutes on a loaded machine
    fi
    python3 - "$name" "$full" "$ours" "$bs" "$zs" "$create" "$apply" "$rss" "$ref" <<'PY'
import sys
n, full, ours, bs, zs, create, apply, rss, ref = sys.argv[1:]
full, ours, bs, zs = int(full), int(ours), int(bs), int(zs)
pct = lambda x: "%.2f%%" % (100.0 * x / full)
print("%-22s full zip %9d | ours %8d (%7s) | bsdiff %8d (%7s) | zstd %8d (%7s) | create %6.2fs apply %5.2fs rss %5.1f MB | ref sha256sum+unzip %5.2fs"
      % (n, full, ours, pct(ours), bs, pct(bs), zs, pct(zs), float(create), float(apply), int(rss) / 1024.0, float(ref)))
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
