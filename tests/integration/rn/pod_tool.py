#!/usr/bin/env python3
"""pod_tool.py - questions about HotPatch.podspec's evaluated attributes (podspec_eval.rb's JSON), for
tests/integration/rn/podspec.sh. Each prints its answer; a check prints what is wrong and exits 1.

    pod_tool.py POD_JSON POD_ROOT cflags        compiler flags from pod_target_xcconfig, one per line
    pod_tool.py POD_JSON POD_ROOT c-files       the pod's .c files (absolute), one per line
    pod_tool.py POD_JSON POD_ROOT empty-globs   check: every source_files pattern matches a file
    pod_tool.py POD_JSON POD_ROOT dup-headers   check: no two headers of the pod share a basename (CocoaPods'
                                                header map would resolve a quoted include to either)
    pod_tool.py POD_JSON POD_ROOT compare COMPILE_COMMANDS_JSON
                                                check: the pod's C files are the CMake build's, modulo the
                                                platform files (JNI bridge; libzip's generated error table)

The xcconfig keys understood are the ones the podspec sets; any other key makes this fail, so a flag added to
the podspec cannot silently escape the host compile (tests/integration/rn/podspec.sh).
"""
import json
import shlex
import sys

HANDLED = {"HEADER_SEARCH_PATHS", "GCC_PREPROCESSOR_DEFINITIONS", "GCC_SYMBOLS_PRIVATE_EXTERN",
           "GCC_C_LANGUAGE_STANDARD", "GENERATE_MASTER_OBJECT_FILE", "OTHER_CFLAGS"}


def cflags(attrs, root):
    x = attrs.get("pod_target_xcconfig") or {}
    unknown = sorted(set(x) - HANDLED)
    if unknown:
        raise SystemExit("pod_tool: xcconfig keys not handled by the host compile: %s" % ", ".join(unknown))
    out = []
    std = x.get("GCC_C_LANGUAGE_STANDARD")
    if std:
        out.append("-std=" + std)
    if x.get("GCC_SYMBOLS_PRIVATE_EXTERN") == "YES":
        out.append("-fvisibility=hidden")
    for p in shlex.split(x.get("HEADER_SEARCH_PATHS", "")):
        if p == "$(inherited)":
            continue
        out.append("-I" + p.replace("$(PODS_TARGET_SRCROOT)", root))
    for d in x.get("GCC_PREPROCESSOR_DEFINITIONS", "").split():
        if d != "$(inherited)":
            out.append("-D" + d)
    out += shlex.split(x.get("OTHER_CFLAGS", "").replace("$(inherited)", ""))
    return out


# Files only one build has, by design: the JNI bridge (Android) and the place libzip's error table is written
# (the CMake build's binary dir; the pod's hotpatch-gen/, derived by scripts/third-party.sh).
CMAKE_ONLY = ("android/src/main/cpp/hp_jni.c",)
POD_ONLY = ("third_party/libzip-1.7.3/hotpatch-gen/zip_err_str.c",)


def compare(pod, root, cc_path):
    import os
    cmake = set()
    for e in json.load(open(cc_path)):
        f = os.path.realpath(os.path.join(e.get("directory", ""), e["file"]))
        if os.path.basename(f) == "zip_err_str.c" and not f.startswith(os.path.realpath(root) + "/"):
            continue  # generated into CMake's binary dir
        rel = os.path.relpath(f, os.path.realpath(root))
        if rel.startswith(".."):
            raise SystemExit("pod_tool: CMake compiles %s, outside the package" % f)
        cmake.add(rel)
    podc = {f for f in pod["files"] if f.endswith(".c")}
    only_cmake = sorted(cmake - podc - set(CMAKE_ONLY))
    only_pod = sorted(podc - cmake - set(POD_ONLY))
    for f in only_cmake:
        print("only in the CMake build: " + f)
    for f in only_pod:
        print("only in the podspec: " + f)
    if only_cmake or only_pod:
        return 1
    print("same %d C files (CMake %d, pod %d)" % (len(cmake & podc), len(cmake), len(podc)))
    return 0


def main():
    pod = json.load(open(sys.argv[1]))
    root = sys.argv[2].rstrip("/")
    what = sys.argv[3]
    if what == "cflags":
        print("\n".join(cflags(pod["attrs"], root)))
    elif what == "c-files":
        print("\n".join(root + "/" + f for f in pod["files"] if f.endswith(".c")))
    elif what == "empty-globs":
        src = pod["attrs"].get("source_files") or []
        empty = [p for p in ([src] if isinstance(src, str) else src) if not pod["globs"].get(p)]
        for p in empty:
            print("source_files pattern matches nothing: " + p)
        return 1 if empty or not pod["files"] else 0
    elif what == "dup-headers":
        seen = {}
        for f in pod["files"]:
            if f.endswith(".h"):
                seen.setdefault(f.rsplit("/", 1)[-1], []).append(f)
        dups = {k: v for k, v in seen.items() if len(v) > 1}
        for k, v in sorted(dups.items()):
            print("header %s appears %d times: %s" % (k, len(v), ", ".join(v)))
        return 1 if dups else 0
    elif what == "compare":
        return compare(pod, root, sys.argv[4])
    else:
        raise SystemExit("pod_tool: unknown request '%s'" % what)
    return 0


if __name__ == "__main__":
    sys.exit(main())
