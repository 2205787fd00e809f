# servers.bash - the real servers the React Native package's suites run against
# (sourced by jest_core.sh and jvm_core.sh; not a test itself):
#   keys from `hotpatch keygen` / `hotpatch-publisher keygen-manifest`,
#   file:// storage that `hotpatch release` (serverless mode) writes,
#   a static CDN over that storage and a report receiver (tests/integration/sdk/httpd.py,
#   which supports Range, cuts and throttling through <root>/.ctl),
#   hotpatch-edge synced from the storage.
# rn_servers_up DIR sets: RN_MPUB RN_RPUB RN_CDN RN_EDGE RN_PUBLISHER RN_STORAGE; RN_PIDS to kill.
RN_PIDS=()
rn_servers_down() {
    local p
    for p in "${RN_PIDS[@]}"; do kill "$p" 2>/dev/null; done
}

_rn_serve() { # _rn_serve ROOT -> prints the port
    python3 "$HP_SRC_DIR/tests/integration/sdk/httpd.py" "$1" 0 >/dev/null 2>&1 &
    RN_PIDS+=($!)
    local i
    for i in $(seq 1 100); do [ -s "$1/.ready" ] && { cat "$1/.ready"; return 0; }; sleep 0.05; done
    return 1
}

rn_servers_up() {
    local T=$1 bin=${HP_BIN:-$HP_SRC_DIR/build/bin} port cdn pubp i
    mkdir -p "$T/keys" "$T/storage" "$T/publisher" "$T/edge"
    "$bin/hotpatch-publisher" keygen-manifest --out "$T/keys/manifest.key" >/dev/null || return 1
    "$bin/hotpatch" keygen --out "$T/keys/release.key" >/dev/null || return 1
    RN_MPUB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$T/keys/manifest.key")
    RN_RPUB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$T/keys/release.key")
    RN_STORAGE=$T/storage
    RN_SIGNING_KEY=$T/keys/release.key
    RN_MANIFEST_KEY=$T/keys/manifest.key
    _rn_serve "$T/storage" >"$T/.cdn-port" || return 1
    _rn_serve "$T/publisher" >"$T/.pub-port" || return 1
    RN_CDN=http://127.0.0.1:$(cat "$T/.cdn-port")
    RN_PUBLISHER=http://127.0.0.1:$(cat "$T/.pub-port")
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$bin/hotpatch-edge" --listen "127.0.0.1:$port" --source "file://$T/storage" --trusted-key "$RN_MPUB" \
        --data-dir "$T/edge" --poll-interval 0.2 >"$T/edge.log" 2>&1 </dev/null &
    RN_PIDS+=($!)
    RN_EDGE=http://127.0.0.1:$port
    for i in $(seq 1 100); do curl -sf -o /dev/null "$RN_EDGE/healthz" && return 0; sleep 0.1; done
    echo "edge did not start; see $T/edge.log" >&2
    return 1
}
