#!/usr/bin/env python3
"""map_sizes.py - what a linked libhotpatch.so is made of, from GNU ld's -Map.

    map_sizes.py MAP [TOP]

Sums the input sections the linker KEPT (after --gc-sections) by component
(the core, the JNI bridge, jansson, libzip, zstd, libsodium, zlib, the C
runtime) and by output section kind (code, read-only data, unwind tables,
data), then lists the TOP biggest objects. Prints lines for TAP diag and
exits 1 when the map holds no kept input section (a broken map must fail).
"""
import re
import sys

COMPONENTS = [  # (label, pattern on the input file) - first match wins
    ("jni", re.compile(r"hotpatch\.dir/.*hp_jni\.c\.o$")),
    ("core", re.compile(r"hotpatch\.dir/")),
    ("jansson", re.compile(r"libjansson\.a\(")),
    ("libzip", re.compile(r"libzip\.a\(")),
    ("zstd", re.compile(r"libhp_zstd\.a\(")),
    ("libsodium", re.compile(r"libhp_sodium\.a\(")),
    ("zlib", re.compile(r"libz\.a\(")),
]
KINDS = [("code", (".text",)), ("rodata", (".rodata",)), ("unwind", (".eh_frame",)),
         ("data", (".data", ".init_array", ".fini_array"))]
# An input-section line: " .text.name  0xADDR  0xSIZE  file" (the name may sit alone on the line before).
ENTRY = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
NAMED = re.compile(r"^ (\.[^\s]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
NAME_ONLY = re.compile(r"^ (\.[^\s]+)\s*$")


def component(path):
    for label, pat in COMPONENTS:
        if pat.search(path):
            return label
    return "runtime"


def kind(section):
    for label, prefixes in KINDS:
        if any(section == p or section.startswith(p + ".") or section.startswith(p) for p in prefixes):
            return label
    return None


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    try:
        start = lines.index("Linker script and memory map")
    except ValueError:
        print("map_sizes: no memory map in %s" % path, file=sys.stderr)
        return 1
    by_comp, by_kind, by_obj = {}, {}, {}
    pending = None
    for line in lines[start + 1:]:
        m = NAMED.match(line)
        if m:
            sec, size, src = m.group(1), int(m.group(3), 16), m.group(4)
        else:
            n = NAME_ONLY.match(line)
            if n:
                pending = n.group(1)
                continue
            m = ENTRY.match(line)
            if not (m and pending):
                pending = None
                continue
            sec, size, src = pending, int(m.group(2), 16), m.group(3)
        pending = None
        k = kind(sec)
        if k is None or size == 0 or src.startswith("*"):
            continue
        c = component(src)
        by_comp.setdefault(c, {}).setdefault(k, 0)
        by_comp[c][k] += size
        by_kind[k] = by_kind.get(k, 0) + size
        obj = re.sub(r".*/", "", src)
        by_obj[(c, obj)] = by_obj.get((c, obj), 0) + size
    total = sum(by_kind.values())
    if total == 0:
        print("map_sizes: no kept input section in %s" % path, file=sys.stderr)
        return 1
    kb = lambda n: "%.1f KB" % (n / 1024.0)
    print("kept sections: %s (%s)" % (kb(total), ", ".join("%s %s" % (k, kb(v)) for k, v in
                                                           sorted(by_kind.items(), key=lambda x: -x[1]))))
    for c, ks in sorted(by_comp.items(), key=lambda x: -sum(x[1].values())):
        s = sum(ks.values())
        print("  %-9s %8s %3d%%  (%s)" % (c, kb(s), round(100.0 * s / total),
                                        ", ".join("%s %s" % (k, kb(v)) for k, v in sorted(ks.items(), key=lambda x: -x[1]))))
    print("biggest objects:")
    for (c, obj), s in sorted(by_obj.items(), key=lambda x: -x[1])[:top]:
        print("  %-9s %8s  %s" % (c, kb(s), obj))
    return 0


if __name__ == "__main__":
    sys.exit(main())
