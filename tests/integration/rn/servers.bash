# servers.bash - the real servers the React Native package's suites run against
# (sourced by jest_core.sh and jvm_core.sh; not a test itself):
#   keys from `hotpatch keygen` / `hotpatch-publisher keygen-manifest`,
#   file:// storage that `hotpatch release` (serverless mode) writes,
#   a static CDN over that storage and a report receiver (tests/integration/sdk/httpd.py,
#   which supports Range, cuts and throttling through <root>/.ctl),
#   hotpatch-edge synced from the storage.
# rn_servers_up DIR sets: RN_MPUB RN_RPUB RN_CDN RN_EDGE RN_PUBLISHER RN_STORAGE.
# The servers are started with the hp_* helpers of tests/harness/servers.sh:
# the test's EXIT trap (hp_tempdir) stops them.
. "$HP_SRC_DIR/tests/harness/servers.sh"

rn_servers_up() {
    local T=$1 bin=${HP_BIN:-$HP_SRC_DIR/build/bin}
    mkdir -p "$T/keys" "$T/storage" "$T/publisher" "$T/edge"
    "$bin/hotpatch-publisher" keygen-manifest --out "$T/keys/manifest.key" >/dev/null || return 1
    "$bin/hotpatch" keygen --out "$T/keys/release.key" >/dev/null || return 1
    RN_MPUB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$T/keys/manifest.key")
    RN_RPUB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$T/keys/release.key")
    RN_STORAGE=$T/storage
    RN_SIGNING_KEY=$T/keys/release.key
    RN_MANIFEST_KEY=$T/keys/manifest.key
    hp_start_httpd "$T/storage" || return 1
    RN_CDN=http://127.0.0.1:$HTTPD_PORT
    hp_start_httpd "$T/publisher" || return 1
    RN_PUBLISHER=http://127.0.0.1:$HTTPD_PORT
    hp_start_edge --source "file://$T/storage" --trusted-key "$RN_MPUB" --data-dir "$T/edge" --poll-interval 0.2 ||
        { echo "edge did not start; see $T/edge.log" >&2; return 1; }
    RN_EDGE=$EDGE
}
