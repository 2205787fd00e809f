#!/bin/sh
# copy-core.sh - `npm pack` / `npm publish` hook (prepack): copy the C core's own
# sources (sdk/ and the common/ modules it uses; HotPatch's code, not third-party)
# into cpp/core/ so that the app's CMake/CocoaPods build compiles the same sources
# the agent and the tests build. cpp/core is generated, never committed.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/../.." && pwd)
[ -f "$top/sdk/include/hotpatch.h" ] || { echo "copy-core: not inside the HotPatch repository" >&2; exit 1; }
rm -rf "$here/cpp/core"
mkdir -p "$here/cpp/core/sdk/include" "$here/cpp/core/common/include/common"
for f in "$top"/sdk/*.c "$top"/sdk/*.h; do
    case "$(basename "$f")" in agent.c|transport_curl.c) ;; *) cp "$f" "$here/cpp/core/sdk/" ;; esac
done
cp "$top/sdk/include/hotpatch.h" "$top/sdk/include/hotpatch_version.h" "$here/cpp/core/sdk/include/"
cp "$top/sdk/hotpatch.sym" "$here/cpp/core/sdk/"
for m in buf cjson cohort crypto decide err file ident manifest patch semver str; do cp "$top/common/$m.c" "$here/cpp/core/common/"; done
cp "$top"/common/include/common/*.h "$here/cpp/core/common/include/common/"
