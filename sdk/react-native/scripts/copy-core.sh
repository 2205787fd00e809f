#!/bin/sh
# copy-core.sh - `npm pack` / `npm publish` hook (prepack): copy the C core's own
# sources (sdk/ and the common/ modules it uses; HotPatch's code, not third-party)
# into cpp/core/ so that the app's CMake/CocoaPods build compiles the same sources
# the agent and the tests build. cpp/core is generated, never committed.
#
#   sh scripts/copy-core.sh [DEST]     (default: the package's cpp/core)
#
# The common/ modules are files.mk's HP_CORE_COMMON: one list for the host
# build of libhotpatch-core, the npm package, CMake and CocoaPods.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/../.." && pwd)
dest=${1:-$here/cpp/core}
[ -f "$top/sdk/include/hotpatch.h" ] || { echo "copy-core: not inside the HotPatch repository" >&2; exit 1; }
[ -f "$top/sdk/include/hotpatch_version.h" ] || { echo "copy-core: run make first (sdk/include/hotpatch_version.h is generated)" >&2; exit 1; }
mods=$(sed -n 's/^HP_CORE_COMMON *:= *//p' "$here/files.mk")
[ -n "$mods" ] || { echo "copy-core: no HP_CORE_COMMON in $here/files.mk" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest/sdk/include" "$dest/common/include/common"
for f in "$top"/sdk/*.c "$top"/sdk/*.h; do
    case "$(basename "$f")" in agent.c|transport_curl.c) ;; *) cp "$f" "$dest/sdk/" ;; esac
done
cp "$top/sdk/include/hotpatch.h" "$top/sdk/include/hotpatch_version.h" "$dest/sdk/include/"
cp "$top/sdk/hotpatch.sym" "$dest/sdk/"
for m in $mods; do cp "$top/common/$m.c" "$dest/common/"; done
cp "$top"/common/include/common/*.h "$dest/common/include/common/"
