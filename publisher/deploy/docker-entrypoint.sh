#!/bin/sh
# Container entrypoint of hotpatch-publisher. Orchestrators hand secrets over
# as environment variables, but the publisher reads its manifest key from a
# file (HOTPATCH_MANIFEST_KEY) and refuses group/world-readable key files:
# write HOTPATCH_MANIFEST_KEY_DATA (the key file's content) to a private
# file on a writable volume, drop it from the environment, then exec the
# publisher with the container's arguments. HOTPATCH_KEY_DIR and
# HOTPATCH_PUBLISHER_BIN override the key directory and the program (tests).
set -eu

if [ -n "${HOTPATCH_MANIFEST_KEY_DATA:-}" ]; then
    umask 077
    key=
    for dir in "${HOTPATCH_KEY_DIR:-/run/hotpatch}" "${HOTPATCH_TMPDIR:-/var/tmp/hotpatch}"; do
        if mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ]; then
            key=$dir/manifest.key
            break
        fi
    done
    if [ -z "$key" ]; then
        echo "hotpatch-publisher-entrypoint: no writable directory for the manifest key (mount a volume at ${HOTPATCH_KEY_DIR:-/run/hotpatch})" >&2
        exit 1
    fi
    printf '%s\n' "$HOTPATCH_MANIFEST_KEY_DATA" >"$key.tmp"
    mv -f "$key.tmp" "$key"
    HOTPATCH_MANIFEST_KEY=$key
    export HOTPATCH_MANIFEST_KEY
    unset HOTPATCH_MANIFEST_KEY_DATA
fi

if [ -n "${HOTPATCH_TMPDIR:-}" ]; then
    mkdir -p "$HOTPATCH_TMPDIR" 2>/dev/null || true
fi

exec "${HOTPATCH_PUBLISHER_BIN:-/usr/local/bin/hotpatch-publisher}" "$@"
