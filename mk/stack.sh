#!/usr/bin/env bash
# stack.sh up|down [--clean] - the one-machine HotPatch stack (`make run` / `make stop`).
#
# up: starts, on the embedded defaults,
#   - a PostgreSQL 15 cluster of its own (data under var/pg)
#   - hotpatch-publisher on 127.0.0.1:8080 (records in Postgres, file:// storage under var/storage)
#   - hotpatch-edge on 127.0.0.1:8081 (LMDB index under var/edge, synced from var/storage)
#   - nginx on 127.0.0.1:8082 serving var/storage as a local CDN (bundles + manifests)
# then, through the real programs: creates the keys (var/keys), bootstraps an org, an app "demo" and its
# release key, publishes a sample release with `hotpatch release`, and lets one device
# (`hotpatch-agent`, data in var/agent) check, download, verify, install and boot it.
# The org's owner, admin@localhost, signs in to the dashboard at the publisher's / (printed at the end).
# A second `up` reuses everything in var/. `down` stops the processes; `down --clean` also deletes var/.
# Ports: HP_PG_PORT, HP_PUB_PORT, HP_EDGE_PORT, HP_CDN_PORT override 5433, 8080, 8081, 8082.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BIN=$top/${HP_BUILD:-build}/bin
VAR=${HP_VAR_DIR:-$top/var}
PG_PORT=${HP_PG_PORT:-5433}
PUB_PORT=${HP_PUB_PORT:-8080}
EDGE_PORT=${HP_EDGE_PORT:-8081}
CDN_PORT=${HP_CDN_PORT:-8082}
PGBIN=/usr/lib/postgresql/15/bin

say() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
wait_http() { # URL SECONDS
    local i
    for i in $(seq 1 $(($2 * 10))); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    return 1
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin)'"$1"')'; }

# The PostgreSQL data dir must be reachable by the postgres user; a checkout under /root is not.
pg_dir() {
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$VAR" 2>/dev/null; then
        echo /var/lib/hotpatch-local/pg
    else
        echo "$VAR/pg"
    fi
}

pg_up() {
    local d; d=$(pg_dir)
    mkdir -p "$d"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$d"
    if [ ! -f "$d/data/PG_VERSION" ]; then
        as_pg "$PGBIN/initdb" -D "$d/data" -U postgres -A trust -E UTF8 --no-locale >"$VAR/logs/initdb.log" 2>&1 ||
            die "initdb failed (see $VAR/logs/initdb.log)"
    fi
    if ! as_pg "$PGBIN/pg_ctl" -D "$d/data" status >/dev/null 2>&1; then
        port_busy "$PG_PORT" && die "port $PG_PORT is in use; set HP_PG_PORT"
        as_pg "$PGBIN/pg_ctl" -D "$d/data" -l "$d/pg.log" -w -t 30 -o "-h 127.0.0.1 -p $PG_PORT -k $d" start \
            >/dev/null || die "postgres did not start (see $d/pg.log)"
    fi
    psql -qAt "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -c "SELECT 1 FROM pg_database WHERE datname='hotpatch'" |
        grep -q 1 || psql -q "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -c "CREATE DATABASE hotpatch" >/dev/null
}

secrets() {
    local f=$VAR/secrets.env
    if [ ! -f "$f" ]; then
        umask 077
        {
            echo "JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
            echo "HOTPATCH_SYNC_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        } >"$f"
        umask 022
    fi
    # shellcheck disable=SC1090
    . "$f"
    [ -f "$VAR/keys/manifest.key" ] || "$BIN/hotpatch-publisher" keygen-manifest --out "$VAR/keys/manifest.key" >/dev/null
    [ -f "$VAR/keys/release.key" ] || "$BIN/hotpatch" keygen --out "$VAR/keys/release.key" >/dev/null
    # the edge signs telemetry tickets; the publisher trusts only their public half (docs/security.md)
    [ -f "$VAR/keys/ticket.key" ] || "$BIN/hotpatch" keygen --out "$VAR/keys/ticket.key" >/dev/null
    TICKET_PUB=$(json_get '["public_key"]' <"$VAR/keys/ticket.key")
    MANIFEST_PUB=$(json_get '["public_key"]' <"$VAR/keys/manifest.key")
    RELEASE_PUB=$(json_get '["public_key"]' <"$VAR/keys/release.key")
}

publisher_up() {
    alive "$VAR/run/publisher.pid" && return 0
    port_busy "$PUB_PORT" && die "port $PUB_PORT is in use; set HP_PUB_PORT"
    env DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/hotpatch" HOTPATCH_STORAGE="file://$VAR/storage" \
        JWT_SECRET="$JWT_SECRET" HOTPATCH_MANIFEST_KEY="$VAR/keys/manifest.key" HOTPATCH_LISTEN="127.0.0.1:$PUB_PORT" \
        HOTPATCH_EDGE_URLS="http://127.0.0.1:$EDGE_PORT" HOTPATCH_SYNC_TOKEN="$HOTPATCH_SYNC_TOKEN" \
        HOTPATCH_TICKET_KEYS="$TICKET_PUB" setsid "$BIN/hotpatch-publisher" >>"$VAR/logs/publisher.log" 2>&1 </dev/null &
    echo $! >"$VAR/run/publisher.pid"
    wait_http "http://127.0.0.1:$PUB_PORT/healthz" 30 || die "publisher did not come up (see $VAR/logs/publisher.log)"
}

edge_up() {
    alive "$VAR/run/edge.pid" && return 0
    port_busy "$EDGE_PORT" && die "port $EDGE_PORT is in use; set HP_EDGE_PORT"
    env HOTPATCH_SYNC_TOKEN="$HOTPATCH_SYNC_TOKEN" setsid "$BIN/hotpatch-edge" --listen "127.0.0.1:$EDGE_PORT" \
        --source "file://$VAR/storage" --trusted-key "$MANIFEST_PUB" --data-dir "$VAR/edge" --poll-interval 2 \
        --public-base "http://127.0.0.1:$CDN_PORT" --ticket-key "$VAR/keys/ticket.key" \
        >>"$VAR/logs/edge.log" 2>&1 </dev/null &
    echo $! >"$VAR/run/edge.pid"
    wait_http "http://127.0.0.1:$EDGE_PORT/healthz" 30 || die "edge did not come up (see $VAR/logs/edge.log)"
}

cdn_up() {
    alive "$VAR/run/nginx.pid" && return 0
    port_busy "$CDN_PORT" && die "port $CDN_PORT is in use; set HP_CDN_PORT"
    local user=""
    [ "$(id -u)" -eq 0 ] && user="user root;"
    cat >"$VAR/nginx.conf" <<NGX
$user
worker_processes 1;
pid $VAR/run/nginx.pid;
error_log $VAR/logs/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    types { application/json json; application/zip zip; text/plain txt; }
    server {
        listen 127.0.0.1:$CDN_PORT;
        root $VAR/storage;
        location /bundles/   { add_header Cache-Control "public, max-age=31536000, immutable"; }
        location /manifests/ { add_header Cache-Control "public, max-age=30"; etag on; }
        location / { return 404; }
    }
}
NGX
    nginx -c "$VAR/nginx.conf" -e "$VAR/logs/nginx-error.log" 2>>"$VAR/logs/nginx-error.log" ||
        die "nginx did not start (see $VAR/logs/nginx-error.log)"
}

api() { # METHOD PATH TOKEN JSON
    curl -sS -X "$1" "http://127.0.0.1:$PUB_PORT$2" ${3:+-H "Authorization: Bearer $3"} \
        -H 'Content-Type: application/json' --data "$4"
}

bootstrap() {
    [ -f "$VAR/keys/api.env" ] && { . "$VAR/keys/api.env"; return 0; }
    local owner write
    owner=$(api POST /v1/bootstrap "" '{"org":"local","email":"admin@localhost","password":"hotpatch-local-admin"}' |
        json_get '["api_key"]') || die "bootstrap of the publisher failed"
    write=$(api POST /v1/apps "$owner" '{"name":"demo"}' | json_get '["api_key"]') || die "creating app 'demo' failed"
    api POST /v1/apps/demo/keys "$owner" "{\"public_key\":\"$RELEASE_PUB\",\"name\":\"local\"}" >/dev/null ||
        die "registering the release key failed"
    umask 077
    printf 'OWNER_KEY=%s\nHOTPATCH_TOKEN=%s\n' "$owner" "$write" >"$VAR/keys/api.env"
    umask 022
    . "$VAR/keys/api.env"
}

sample_release() {
    local dir=$VAR/sample/bundle
    mkdir -p "$dir/assets"
    if [ ! -f "$dir/index.android.bundle" ]; then
        printf '// HotPatch local sample bundle\nconsole.log("hello from HotPatch");\n' >"$dir/index.android.bundle"
        printf 'sample asset\n' >"$dir/assets/readme.txt"
    fi
    export HOTPATCH_ENDPOINT="http://127.0.0.1:$PUB_PORT" HOTPATCH_TOKEN HOTPATCH_SIGNING_KEY="$VAR/keys/release.key"
    export XDG_CONFIG_HOME=$VAR/cli-config
    if "$BIN/hotpatch" --json history --app demo --platform android --channel production 2>/dev/null |
        grep -q '"version":"1.0.0"'; then
        say "  sample release 1.0.0 already published (reusing var/)"
    else
        "$BIN/hotpatch" release --app demo --platform android --channel production --version 1.0.0 \
            --target-binary '>=1.0.0 <2.0.0' --bundle-dir "$dir" --notes "local sample" ||
            die "hotpatch release failed"
    fi
}

device_update() {
    local A=(--data-dir "$VAR/agent" --app demo --platform android --channel production --binary-version 1.0.0
        --device-id local-device-1 --trusted-key "$MANIFEST_PUB" --release-key "$RELEASE_PUB"
        --edge "http://127.0.0.1:$EDGE_PORT" --bundle-base "http://127.0.0.1:$CDN_PORT"
        --publisher "http://127.0.0.1:$PUB_PORT")
    local rc i
    # The publisher asks the edge to resync at once; give the edge a moment anyway.
    for i in $(seq 1 50); do
        rc=0; "$BIN/hotpatch-agent" "${A[@]}" check >/dev/null 2>&1 || rc=$?
        [ "$rc" -ne 3 ] && break
        "$BIN/hotpatch-agent" "${A[@]}" status 2>/dev/null | grep -q 'rel_' && break
        sleep 0.2
    done
    rc=0; "$BIN/hotpatch-agent" "${A[@]}" update || rc=$?
    case $rc in
        0) ;;
        3) say "  device is already up to date" ;;
        *) die "hotpatch-agent update failed (exit $rc)" ;;
    esac
    "$BIN/hotpatch-agent" "${A[@]}" boot-begin >/dev/null || die "hotpatch-agent boot-begin failed"
    "$BIN/hotpatch-agent" "${A[@]}" boot-ok >/dev/null || die "hotpatch-agent boot-ok failed"
    "$BIN/hotpatch-agent" "${A[@]}" status
}

up() {
    for b in hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent; do
        [ -x "$BIN/$b" ] || die "$BIN/$b is not built: run 'make'"
    done
    mkdir -p "$VAR"/{storage,keys,edge,agent,logs,run,sample}
    chmod 700 "$VAR/keys"
    say "starting HotPatch (data in $VAR)"
    pg_up;        say "  postgres    127.0.0.1:$PG_PORT  database hotpatch  (data $(pg_dir)/data)"
    secrets
    publisher_up; say "  publisher   http://127.0.0.1:$PUB_PORT   log $VAR/logs/publisher.log"
    edge_up;      say "  edge        http://127.0.0.1:$EDGE_PORT   log $VAR/logs/edge.log"
    cdn_up;       say "  cdn (nginx) http://127.0.0.1:$CDN_PORT   serving $VAR/storage"
    bootstrap
    say "publishing the sample release with 'hotpatch release'"
    sample_release
    say "updating one device with 'hotpatch-agent'"
    device_update
    cat <<TXT

HotPatch is running:
  dashboard      http://127.0.0.1:$PUB_PORT/   sign in as admin@localhost / hotpatch-local-admin (owner of org 'local')
  publisher API  http://127.0.0.1:$PUB_PORT   (owner API key and app write key in $VAR/keys/api.env)
  edge checks    http://127.0.0.1:$EDGE_PORT/v1/check?app=demo&platform=android&channel=production&binary_version=1.0.0&device=d1
  local CDN      http://127.0.0.1:$CDN_PORT/manifests/demo/android/production.json
  keys           $VAR/keys (manifest.key: publisher; release.key: CLI)   device data: $VAR/agent
Publish another release:
  HOTPATCH_ENDPOINT=http://127.0.0.1:$PUB_PORT HOTPATCH_TOKEN=\$(sed -n 's/^HOTPATCH_TOKEN=//p' $VAR/keys/api.env) \\
  HOTPATCH_SIGNING_KEY=$VAR/keys/release.key $BIN/hotpatch release --app demo --platform android \\
      --version 1.0.1 --target-binary '>=1.0.0 <2.0.0' --bundle-dir DIR
Stop it with 'make stop' (data stays in $VAR; 'make stop CLEAN=1' deletes it).
TXT
}

down() {
    local f
    for f in publisher edge; do
        if alive "$VAR/run/$f.pid"; then kill "$(cat "$VAR/run/$f.pid")" 2>/dev/null || true; fi
        rm -f "$VAR/run/$f.pid"
    done
    if alive "$VAR/run/nginx.pid"; then nginx -c "$VAR/nginx.conf" -s quit 2>/dev/null || kill "$(cat "$VAR/run/nginx.pid")"; fi
    local d; d=$(pg_dir)
    if [ -f "$d/data/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    say "HotPatch stopped"
    if [ "${1:-}" = "--clean" ]; then
        rm -rf "$VAR" "$d"
        say "deleted $VAR"
    fi
}

case "${1:-}" in
    up) up ;;
    down) shift; down "${1:-}" ;;
    *) echo "usage: stack.sh up | down [--clean]" >&2; exit 2 ;;
esac
