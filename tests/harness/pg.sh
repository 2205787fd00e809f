# pg.sh - a throwaway PostgreSQL 15 cluster on 127.0.0.1 for the tests.
# Sourced by servers.sh (and usable alone):
#   . tests/harness/pg.sh; pg_start; ...; pg_stop
# pg_start creates a cluster under a fresh /tmp dir owned by the postgres user
# (postgres refuses to run as root), starts it on a free port with fsync=off
# and exports HP_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT/postgres.
# pg_stop stops it with `-m immediate` and removes the dir. Both are safe to
# call twice; every function is `set -u` clean because tests/run.sh uses it.

# _hp_free_port: an unused TCP port on 127.0.0.1 (shared with rgw.sh).
_hp_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

# _hp_as_postgres CMD...: run as the postgres user when we are root.
_hp_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_start() {
    if [ -n "${_HP_PG_DIR:-}" ] && [ -d "${_HP_PG_DIR}" ]; then
        echo "# pg: already running in $_HP_PG_DIR" >&2
        return 0
    fi
    local bindir
    bindir=$(pg_config --bindir 2>/dev/null)
    # pg_config may belong to another major (libpq-dev); prefer 15's server.
    [ -x /usr/lib/postgresql/15/bin/initdb ] && bindir=/usr/lib/postgresql/15/bin
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        echo "pg: initdb not found (make deps installs postgresql-15)" >&2
        return 1
    fi
    local dir port try
    dir=$(mktemp -d /tmp/hp-pg.XXXXXX) || return 1
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    if ! _hp_as_postgres "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1; then
        echo "pg: initdb failed:" >&2
        tail -20 "$dir/initdb.log" >&2
        rm -rf "$dir"
        return 1
    fi
    # A free port can be taken between probing and binding: try a few.
    for try in 1 2 3; do
        port=$(_hp_free_port)
        if _hp_as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 \
            -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >"$dir/pg_ctl.log" 2>&1; then
            _HP_PG_DIR=$dir
            _HP_PG_BIN=$bindir
            export HP_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
            return 0
        fi
        grep -q 'could not bind\|Address already in use' "$dir/pg.log" 2>/dev/null || break
    done
    echo "pg: cluster did not start; log tail:" >&2
    tail -20 "$dir/pg.log" "$dir/pg_ctl.log" >&2 2>/dev/null
    _hp_as_postgres "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$dir"
    return 1
}

pg_stop() {
    local dir=${_HP_PG_DIR:-}
    [ -n "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        _hp_as_postgres "${_HP_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl" -D "$dir/data" -m immediate -w -t 20 \
            stop >/dev/null 2>&1
        # pg_ctl should have done it; make sure nothing survives.
        local pid
        pid=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null
        fi
    fi
    rm -rf "$dir"
    _HP_PG_DIR=
    unset HP_TEST_PG_URL
    return 0
}
