# codepush_client.sh - the real `code-push` npm package (the acquisition SDK
# that react-native-code-push 9 ships with), installed once from the npm
# registry and cached OUTSIDE the repo, like the RN fixture (rn_fixture.sh).
#
# Source it, then:
#   dir=$(codepush_client_dir)    # a dir whose node_modules/code-push is code-push@$CODEPUSH_VERSION
# or run it: `bash tests/harness/codepush_client.sh`.
# Lives in ${HP_CACHE_DIR:-$HOME/.cache/hotpatch}/code-push-<version>; concurrent
# callers serialise on a lock file. Needs node + npm and the npm registry.

CODEPUSH_VERSION=4.2.3 # pinned: react-native-code-push 9.0.1 depends on exactly this version

codepush_client_dir() {
    local cache dir lock
    cache=${HP_CACHE_DIR:-$HOME/.cache/hotpatch}
    command -v npm >/dev/null 2>&1 || { echo "codepush_client: npm is not installed" >&2; return 1; }
    mkdir -p "$cache" || return 1
    dir="$cache/code-push-$CODEPUSH_VERSION"
    lock="$cache/.code-push.lock"
    (
        flock -w 600 9 || { echo "codepush_client: timed out waiting for '$lock'" >&2; exit 1; }
        if [ ! -f "$dir/.installed" ]; then
            rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" || exit 1
            echo '{"name":"hp-codepush-client","version":"0.0.0","private":true}' >"$dir.tmp/package.json"
            echo "codepush_client: npm install code-push@$CODEPUSH_VERSION into '$dir' (first use)" >&2
            if ! (cd "$dir.tmp" && npm install --no-audit --no-fund --loglevel=error --save-exact \
                "code-push@$CODEPUSH_VERSION" >"$dir.tmp/.npm.log" 2>&1); then
                echo "codepush_client: npm install failed; see '$dir.tmp/.npm.log'" >&2
                tail -5 "$dir.tmp/.npm.log" >&2
                exit 1
            fi
            v=$(node -p 'require(process.argv[1] + "/node_modules/code-push/package.json").version' "$dir.tmp")
            [ "$v" = "$CODEPUSH_VERSION" ] || { echo "codepush_client: got code-push $v, wanted $CODEPUSH_VERSION" >&2; exit 1; }
            touch "$dir.tmp/.installed"
            rm -rf "$dir" && mv "$dir.tmp" "$dir" || exit 1
        fi
    ) 9>"$lock" || return 1
    echo "$dir"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    codepush_client_dir
fi
