# patch_variants.sh - four builds of the real fixture app for the patch
# measurements: Metro bundle compiled to Hermes bytecode by the project's
# hermesc, plus its assets, exactly what a release zips.
#   v0  the fixture as committed
#   v1  v0 with one JavaScript line changed (the label string)
#   v2  v1 plus a 300-line JavaScript module imported by App.js
#   v3  v2 with the image asset replaced by another PNG
# Source it, then `dir=$(patch_variants)`: prints a dir holding v0..v3/, cached
# in ${HP_CACHE_DIR:-$HOME/.cache/hotpatch}/patch-variants-<fixture hash>.
# Each variant is built in a hard-linked copy of the installed fixture project
# (node_modules shared, sources replaced file by file, never written through a
# link), so the shared fixture cache is never modified.

. "$(dirname "${BASH_SOURCE[0]}")/../harness/rn_fixture.sh"

# _pv_edit VARIANT SRC_DIR: apply the scripted change of VARIANT (cumulative).
_pv_edit() {
    local v=$1 d=$2
    [ "$v" -ge 1 ] && {
        sed 's/hotpatch fixture 1.2.0/hotpatch fixture 1.2.1/' "$d/App.js" >"$d/App.js.new" &&
            rm -f "$d/App.js" && mv "$d/App.js.new" "$d/App.js"
    }
    [ "$v" -ge 2 ] && {
        python3 - "$d/extra.js" <<'PY'
import sys
lines = ["/* 300 lines of scripted JavaScript for the patch benchmark. */"]
for i in range(99):
    lines.append(f"export function extra{i}(x) {{")
    lines.append(f"  return x * {i + 7} + '{'k' * (i % 13)}'.length + {i * 31 % 97};")
    lines.append("}")
lines.append("export const EXTRA_COUNT = 99;")
lines.append("export default extra0;")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
        sed "s|^const BUNDLE_LABEL = \(.*\);|import {extra3, EXTRA_COUNT} from './extra';\nconst BUNDLE_LABEL = \1 + extra3(EXTRA_COUNT);|" \
            "$d/App.js" >"$d/App.js.new" && rm -f "$d/App.js" && mv "$d/App.js.new" "$d/App.js"
    }
    [ "$v" -ge 3 ] && {
        # Another valid 16x16 PNG (different pixels) in place of logo.png.
        python3 - "$d/assets/logo.png.new" <<'PY'
import struct, sys, zlib
w = h = 16
raw = b"".join(b"\x00" + bytes(c for x in range(w) for c in (x * 16, y * 16, (x ^ y) * 16)) for y in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
        rm -f "$d/assets/logo.png" && mv "$d/assets/logo.png.new" "$d/assets/logo.png"
    }
    return 0
}

patch_variants() {
    local proj cache out v work hermesc
    proj=$(rn_fixture_dir) || return 1
    cache=$(_rn_cache)
    out="$cache/patch-variants-$(_rn_src_hash)"
    if [ -f "$out/.done" ]; then echo "$out"; return 0; fi
    hermesc="$proj/node_modules/hermes-compiler/hermesc/linux64-bin/hermesc"
    [ -x "$hermesc" ] || hermesc="$proj/node_modules/react-native/sdks/hermesc/linux64-bin/hermesc"
    [ -x "$hermesc" ] || { echo "patch_variants: no hermesc under '$proj'" >&2; return 1; }
    (
        flock -w 900 9 || exit 1
        [ -f "$out/.done" ] && exit 0
        rm -rf "$out.tmp" && mkdir -p "$out.tmp" || exit 1
        for v in 0 1 2 3; do
            work="$out.tmp/proj$v"
            cp -al "$proj" "$work" || exit 1
            # Sources are replaced (new inodes), never edited through a hard link.
            _pv_edit $v "$work" || exit 1
            mkdir -p "$out.tmp/v$v" || exit 1
            echo "patch_variants: bundling v$v (~30 s)" >&2
            (cd "$work" && npx --no-install react-native bundle --platform android --dev false \
                --entry-file index.js --bundle-output "$out.tmp/v$v.js" \
                --assets-dest "$out.tmp/v$v" >"$out.tmp/v$v.log" 2>&1) ||
                { echo "patch_variants: bundler failed for v$v, see '$out.tmp/v$v.log'" >&2; exit 1; }
            "$hermesc" -emit-binary -O -w -out "$out.tmp/v$v/index.android.bundle" "$out.tmp/v$v.js" ||
                { echo "patch_variants: hermesc failed for v$v" >&2; exit 1; }
            rm -rf "$work"
        done
        touch "$out.tmp/.done" && rm -rf "$out" && mv "$out.tmp" "$out"
    ) 9>"$cache/.patch-variants.lock" || return 1
    echo "$out"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then patch_variants; fi
