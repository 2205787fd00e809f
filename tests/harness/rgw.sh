# rgw.sh - a throwaway single-node Ceph with radosgw on 127.0.0.1: the real
# S3 peer of the integration tests (real SigV4, conditional PUT, multipart,
# ranges, ListObjectsV2). Sourced by servers.sh (and usable alone):
#   . tests/harness/rgw.sh; rgw_start; ...; rgw_stop
# rgw_start builds one mon, one memstore OSD (objects live in RAM, nothing on
# disk but small mon files) and radosgw with beast on a free port, all under a
# fresh /tmp dir with cephx off; creates an S3 user and a bucket; exports
#   HP_TEST_S3_ENDPOINT HP_TEST_S3_REGION HP_TEST_S3_ACCESS_KEY
#   HP_TEST_S3_SECRET_KEY HP_TEST_S3_BUCKET
# and returns 0 once an S3 request succeeds (about 10-20 s). On failure it
# prints the relevant log tails, stops what it started and returns 1.
# rgw_stop kills the three daemons (by the pids they recorded in that dir) and
# removes the dir. Both may be called repeatedly; all of it is `set -u` clean.
# RGW_START_TIMEOUT (seconds, default 90) bounds the wait for readiness.

if ! declare -F _hp_free_port >/dev/null; then
    _hp_free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
            2>/dev/null || echo $((20000 + RANDOM % 20000))
    }
fi

_hp_rgw_fail() {
    local dir=$1 msg=$2 f
    echo "rgw: $msg" >&2
    for f in "$dir"/log/*.log "$dir"/*.out; do
        [ -s "$f" ] || continue
        echo "--- tail of $f" >&2
        tail -15 "$f" >&2
    done
    rgw_stop
    return 1
}

# _hp_rgw_ceph ARGS...: the ceph CLI against our cluster, bounded in time.
_hp_rgw_ceph() {
    timeout 20 ceph -c "$_HP_RGW_DIR/ceph.conf" --connect-timeout 15 "$@"
}

rgw_start() {
    if [ -n "${_HP_RGW_DIR:-}" ] && [ -d "${_HP_RGW_DIR}" ]; then
        echo "# rgw: already running in $_HP_RGW_DIR" >&2
        return 0
    fi
    local b
    for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph; do
        if ! command -v "$b" >/dev/null 2>&1; then
            echo "rgw: '$b' not found (make deps installs radosgw ceph-mon ceph-osd ceph-common)" >&2
            return 1
        fi
    done
    local dir t0=$SECONDS limit=${RGW_START_TIMEOUT:-90}
    dir=$(mktemp -d /tmp/hp-rgw.XXXXXX) || return 1
    _HP_RGW_DIR=$dir
    mkdir -p "$dir/mon" "$dir/osd" "$dir/run" "$dir/log" "$dir/rgw"
    local fsid monport port access secret bucket=hp-test region=us-east-1
    fsid=$(cat /proc/sys/kernel/random/uuid)
    monport=$(_hp_free_port)
    port=$(_hp_free_port)
    while [ "$port" = "$monport" ]; do port=$(_hp_free_port); done
    access=HPTEST$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F | head -c 14)
    secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40)
    cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$monport]
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
# With cephx off, msgr2 still needs the connection modes spelled out or
# radosgw's mon client finds no usable mode (get_initial_auth_request -13).
ms mon client mode = crc secure
ms client mode = crc secure
ms mon cluster mode = crc secure
ms cluster mode = crc secure
ms mon service mode = crc secure
ms service mode = crc secure
ms bind ipv6 = false
ms bind msgr1 = false
public addr = 127.0.0.1
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
keyring = $dir/keyring
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
# Everything is throwaway: tolerate a nearly full disk, one replica, no fsync.
mon data avail crit = 1
mon data avail warn = 2
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 4294967296
osd max object name len = 256
osd max object namespace len = 64
debug ms = 0
debug mon = 0
debug osd = 0
debug rgw = 1
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
rgw enable usage log = false
rgw dns name = localhost
EOF
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >"$dir/setup.out" 2>&1 ||
        { _hp_rgw_fail "$dir" "ceph-authtool failed"; return 1; }
    monmaptool --create --addv a "[v2:127.0.0.1:$monport]" --fsid "$fsid" "$dir/monmap" >>"$dir/setup.out" 2>&1 ||
        { _hp_rgw_fail "$dir" "monmaptool failed"; return 1; }
    ceph-mon -c "$dir/ceph.conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" >>"$dir/setup.out" 2>&1 ||
        { _hp_rgw_fail "$dir" "ceph-mon --mkfs failed"; return 1; }
    timeout 30 ceph-mon -c "$dir/ceph.conf" -i a >>"$dir/setup.out" 2>&1 ||
        { _hp_rgw_fail "$dir" "ceph-mon did not start"; return 1; }
    local osdid
    osdid=$(_hp_rgw_ceph osd create 2>>"$dir/setup.out") ||
        { _hp_rgw_fail "$dir" "'ceph osd create' failed"; return 1; }
    if [ "$osdid" != 0 ]; then
        _hp_rgw_fail "$dir" "unexpected osd id '$osdid'"
        return 1
    fi
    mkdir -p "$dir/osd/ceph-0"
    ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$(cat /proc/sys/kernel/random/uuid)" \
        >>"$dir/setup.out" 2>&1 || { _hp_rgw_fail "$dir" "ceph-osd --mkfs failed"; return 1; }
    timeout 30 ceph-osd -c "$dir/ceph.conf" -i 0 >>"$dir/setup.out" 2>&1 ||
        { _hp_rgw_fail "$dir" "ceph-osd did not start"; return 1; }
    # In the foreground of its own session: when daemonising, radosgw only
    # returns once it reaches the mon, which could block for minutes.
    # Started from a subshell so the caller's shell has no job to report on;
    # its pid is recorded for the liveness check below (-f writes no pid file).
    (setsid radosgw -c "$dir/ceph.conf" -n client.rgw -f >"$dir/rgw.out" 2>&1 </dev/null &
        echo $! >"$dir/run/client.rgw.pid")
    # Ready when radosgw answers an anonymous ListBuckets (it needs the OSD up
    # and its pools created first).
    local code
    while :; do
        code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null)
        [ "$code" = 200 ] && break
        if [ $((SECONDS - t0)) -ge "$limit" ]; then
            _hp_rgw_fail "$dir" "radosgw not ready after ${limit}s (last http status '$code')"
            return 1
        fi
        local p
        for p in mon.a osd.0 client.rgw; do
            if [ -f "$dir/run/$p.pid" ] && ! _hp_rgw_alive "$(cat "$dir/run/$p.pid")"; then
                _hp_rgw_fail "$dir" "$p exited during start-up"
                return 1
            fi
        done
        sleep 0.3
    done
    timeout 30 radosgw-admin -c "$dir/ceph.conf" -n client.rgw user create --uid=hptest --display-name=hptest \
        --access-key="$access" --secret-key="$secret" >"$dir/user.out" 2>&1 ||
        { _hp_rgw_fail "$dir" "radosgw-admin user create failed"; return 1; }
    # Create the bucket with a signed request (also proves the keys work).
    local empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    code=$(curl -s -o "$dir/bucket.out" -m 10 -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$region:s3" \
        --user "$access:$secret" -H "x-amz-content-sha256: $empty" "http://127.0.0.1:$port/$bucket")
    if [ "$code" != 200 ]; then
        _hp_rgw_fail "$dir" "bucket creation failed (http status '$code': $(head -c 300 "$dir/bucket.out"))"
        return 1
    fi
    export HP_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    export HP_TEST_S3_REGION=$region
    export HP_TEST_S3_ACCESS_KEY=$access
    export HP_TEST_S3_SECRET_KEY=$secret
    export HP_TEST_S3_BUCKET=$bucket
    echo "# rgw: ready on port $port in $((SECONDS - t0))s" >&2
    return 0
}

# _hp_rgw_alive PID: running (a zombie waiting for its reaper counts as gone).
_hp_rgw_alive() {
    local st
    st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ]
}

rgw_stop() {
    local dir=${_HP_RGW_DIR:-}
    [ -n "$dir" ] || return 0
    local pid pids=() c comm
    # Every daemon of ours has this unique dir's ceph.conf on its command
    # line: signal exactly those.
    for c in /proc/[0-9]*/cmdline; do
        pid=${c#/proc/}
        pid=${pid%/cmdline}
        [ "$pid" = "$$" ] && continue
        # Cheap filter first (a builtin read, no fork), then the full check.
        comm=
        read -r comm 2>/dev/null <"/proc/$pid/comm" || continue
        case "$comm" in ceph-mon | ceph-osd | radosgw*) ;; *) continue ;; esac
        if tr '\0' ' ' 2>/dev/null <"$c" | grep -q -- "-c $dir/ceph.conf"; then
            pids+=("$pid")
        fi
    done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    local i
    for i in $(seq 1 15); do
        local alive=0
        for pid in "${pids[@]}"; do _hp_rgw_alive "$pid" && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    rm -rf "$dir"
    _HP_RGW_DIR=
    unset HP_TEST_S3_ENDPOINT HP_TEST_S3_REGION HP_TEST_S3_ACCESS_KEY HP_TEST_S3_SECRET_KEY HP_TEST_S3_BUCKET
    return 0
}
