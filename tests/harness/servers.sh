# servers.sh - start/stop the real servers the integration tests use (the
# shared Postgres cluster and radosgw), and the per-test processes each
# integration script starts on top of them (hp_* below).
# Sourced by tests/run.sh; also usable by hand:
#   . tests/harness/servers.sh; servers_start; ...; servers_stop
# Exports on success:
#   HP_TEST_PG_URL        postgres://postgres@127.0.0.1:PORT/postgres (throwaway cluster)
#   HP_TEST_S3_ENDPOINT   http://127.0.0.1:PORT (Ceph radosgw, real SigV4)
#   HP_TEST_S3_REGION HP_TEST_S3_ACCESS_KEY HP_TEST_S3_SECRET_KEY HP_TEST_S3_BUCKET
_hp_harness_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_hp_harness_dir/pg.sh"
. "$_hp_harness_dir/rgw.sh"

servers_start() {
    local t0=$SECONDS
    pg_start || return 1
    rgw_start || { pg_stop; return 1; }
    echo "# servers up in $((SECONDS - t0))s: pg=$HP_TEST_PG_URL s3=$HP_TEST_S3_ENDPOINT"
}

servers_stop() {
    rgw_stop
    pg_stop
}

# ---------------------------------------------------------------------------
# Per-test processes. An integration script (tests/integration/cli/common.bash
# sources this file and calls hp_tempdir) starts what it needs with the hp_*
# functions below; each registers how to stop what it started, and the
# script's EXIT trap (hp_cleanup, set by hp_tempdir) stops them all, last
# started first, and removes the temp dir last. Call the hp_start_* functions in the script's own shell
# (not in $(...)): their variables and registry entries must outlive the call.
# Every function is `set -u` clean.
#   hp_tempdir NAME               T=/tmp/NAME.XXXXXX (removed on exit unless HP_KEEP_TMP
#                                 is set); sets `trap hp_cleanup EXIT`
#   hp_require_pg                 TAP bail-out lines unless HP_TEST_PG_URL is set
#   hp_publisher_db               a database of our own: DB, DBURL (dropped on exit)
#   hp_start_publisher [N=V...]   hotpatch-publisher on file://$T/pst: EP, PUBPID, MPUB
#   hp_stop_publisher             stop it (hp_start_publisher may start it again)
#   hp_bootstrap_owner            print the owner API key of a fresh org "acme"
#   hp_api METHOD PATH TOKEN JSON the publisher's answer body on stdout
#   hp_new_app TOKEN NAME         print the new app's write API key
#   hp_new_api_key TOKEN APP ROLE print a new API key of ROLE for APP
#   hp_add_release_key TOKEN APP PUB  register release key PUB (named "ci"): the answer
#   hp_start_cdn DIR              a static HTTP server over DIR: CDN_PORT, CDN_PID
#   hp_start_httpd DIR            tests/integration/sdk/httpd.py over DIR: HTTPD_PORT, HTTPD
#   hp_start_edge ARGS...         hotpatch-edge on a free port: EDGE_PORT, EDGE, EDGE_PID (log $T/edge.log)
#   hp_edge_sync TOKEN            ask the edge for a sync pass and wait until it ran
#   hp_on_exit CMD                run CMD (a string for eval) in hp_cleanup
#   hp_cleanup                    run what hp_on_exit registered, last first, once

_HP_ON_EXIT=()
_HP_PUB_PORT=
hp_on_exit() { _HP_ON_EXIT+=("$1"); }

hp_cleanup() {
    local i
    for ((i = ${#_HP_ON_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${_HP_ON_EXIT[$i]}"
    done
    _HP_ON_EXIT=()
}

hp_tempdir() {
    T=$(mktemp -d "/tmp/$1.XXXXXX") || return 1
    chmod 755 "$T"
    hp_on_exit "[ -n \"\${HP_KEEP_TMP:-}\" ] || rm -rf '$T'"
    trap hp_cleanup EXIT
}

# _hp_reap PID: stop a child we started and collect it (quietly if it is gone).
_hp_reap() {
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
    return 0
}

# _hp_wait_http URL [PID]: until URL answers 2xx (10 s); fails early when PID exits.
_hp_wait_http() {
    local i
    for i in $(seq 1 100); do
        curl -sf -o /dev/null "$1" 2>/dev/null && return 0
        [ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# _hp_json EXPR: a python expression on the JSON document on stdin (as j).
_hp_json() { python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

hp_require_pg() {
    [ -n "${HP_TEST_PG_URL:-}" ] && return 0
    echo "not ok 1 - HP_TEST_PG_URL not set: run through 'make test' (tests/harness/servers.sh)"
    echo "1..1"
    return 1
}

hp_publisher_db() {
    DB=hp_it_$$_$RANDOM
    psql -q "$HP_TEST_PG_URL" -c "CREATE DATABASE $DB" >/dev/null 2>&1 || return 1
    DBURL=${HP_TEST_PG_URL%/*}/$DB
    hp_on_exit "psql -q \"\$HP_TEST_PG_URL\" -c 'DROP DATABASE IF EXISTS $DB' >/dev/null 2>&1"
}

# hp_start_publisher [NAME=VALUE...]: the publisher on $DBURL (hp_publisher_db)
# with file://$T/pst storage, $T/pub-manifest.key (MPUB: its public key), temp
# files in $T/pubtmp and its log appended to $T/publisher.log; NAME=VALUE
# pairs add to or override its environment. The first call picks the port
# (EP=http://127.0.0.1:PORT) and keeps it for later calls. Returns 0 once
# /healthz answers, 1 when the publisher exits or is not up in 10 s.
hp_start_publisher() {
    if [ -z "${_HP_PUB_PORT:-}" ]; then
        mkdir -p "$T/pst" "$T/pubtmp"
        "$HP_BIN/hotpatch-publisher" keygen-manifest --out "$T/pub-manifest.key" >/dev/null 2>&1
        MPUB=$(_hp_json 'j["public_key"]' <"$T/pub-manifest.key")
        _HP_PUB_PORT=$(_hp_free_port)
        EP=http://127.0.0.1:$_HP_PUB_PORT
        PUBPID=
        hp_on_exit hp_stop_publisher
    fi
    env DATABASE_URL="$DBURL" HOTPATCH_STORAGE="file://$T/pst" JWT_SECRET=hp-integration-test-secret-longer-than-32-bytes \
        HOTPATCH_MANIFEST_KEY="$T/pub-manifest.key" HOTPATCH_LISTEN="127.0.0.1:$_HP_PUB_PORT" TMPDIR="$T/pubtmp" \
        "$@" "$HP_BIN/hotpatch-publisher" >>"$T/publisher.log" 2>&1 </dev/null &
    PUBPID=$!
    _hp_wait_http "$EP/healthz" "$PUBPID"
}

hp_stop_publisher() {
    _hp_reap "${PUBPID:-}"
    PUBPID=
}

hp_api() {
    curl -s -X "$1" "$EP$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' --data "$4"
}

hp_bootstrap_owner() {
    curl -s -X POST "$EP/v1/bootstrap" -H 'Content-Type: application/json' \
        --data '{"org":"acme","email":"dev@example.com","password":"correct horse battery staple"}' |
        _hp_json 'j["api_key"]'
}

hp_new_app() { hp_api POST /v1/apps "$1" "{\"name\":\"$2\"}" | _hp_json 'j["api_key"]'; }

hp_new_api_key() { hp_api POST "/v1/apps/$2/api-keys" "$1" "{\"role\":\"$3\"}" | _hp_json 'j["api_key"]'; }

hp_add_release_key() { hp_api POST "/v1/apps/$2/keys" "$1" "{\"public_key\":\"$3\",\"name\":\"ci\"}"; }

# hp_start_cdn DIR: python's static server over DIR (log $T/cdn.log). Does not wait.
hp_start_cdn() {
    CDN_PORT=$(_hp_free_port)
    mkdir -p "$1"
    python3 -m http.server "$CDN_PORT" --bind 127.0.0.1 --directory "$1" >"$T/cdn.log" 2>&1 </dev/null &
    CDN_PID=$!
    hp_on_exit "_hp_reap $CDN_PID"
}

# hp_start_httpd DIR: the SDK tests' counting server over DIR (it logs every
# response's bytes to DIR/.log; its own output goes to $T/httpd.<DIR's name>.out);
# returns once it wrote its port to DIR/.ready.
hp_start_httpd() {
    mkdir -p "$1"
    python3 "$HP_SRC_DIR/tests/integration/sdk/httpd.py" "$1" 0 >"$T/httpd.${1##*/}.out" 2>&1 </dev/null &
    HTTPD=$!
    hp_on_exit "_hp_reap $HTTPD"
    local i
    for i in $(seq 100); do [ -s "$1/.ready" ] && break; sleep 0.1; done
    HTTPD_PORT=$(cat "$1/.ready" 2>/dev/null)
    [ -n "$HTTPD_PORT" ]
}

# hp_start_edge ARGS...: hotpatch-edge --listen on a free port plus ARGS (log
# $T/edge.log; HOTPATCH_* settings come from the caller's environment).
# Returns 0 once /healthz answers, 1 when the edge exits or is not up in 10 s.
hp_start_edge() {
    EDGE_PORT=$(_hp_free_port)
    EDGE=http://127.0.0.1:$EDGE_PORT
    "$HP_BIN/hotpatch-edge" --listen "127.0.0.1:$EDGE_PORT" "$@" >"$T/edge.log" 2>&1 </dev/null &
    EDGE_PID=$!
    hp_on_exit "_hp_reap $EDGE_PID"
    _hp_wait_http "$EDGE/healthz" "$EDGE_PID"
}

hp_edge_sync() {
    local want i
    want=$(curl -sf -X POST -H "Authorization: Bearer $1" "$EDGE/v1/sync" | _hp_json 'j["pass"]') || return 1
    for i in $(seq 1 100); do
        [ "$(curl -sf "$EDGE/healthz" | _hp_json 'j["last_sync"]["passes"]')" -ge "$want" ] 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
