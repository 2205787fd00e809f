#!/usr/bin/env bash
# config.sh - hotpatch-publisher refuses to start, with one line naming the
# problem, when a required setting is missing or weak; accepts a config file;
# keygen-manifest writes a private key file; migrate is idempotent.
. "$HP_SRC_DIR/tests/lib/tap.sh"
PUB="$HP_BIN/hotpatch-publisher"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset DATABASE_URL HOTPATCH_STORAGE JWT_SECRET HOTPATCH_MANIFEST_KEY HOTPATCH_LISTEN

# refuse NAME EXPECTED-SUBSTRING ENV... : the publisher exits non-zero with exactly one line mentioning EXPECTED
refuse() {
    local name=$1 want=$2; shift 2
    local out rc
    out=$(env "$@" timeout 10 "$PUB" 2>&1 </dev/null); rc=$?
    if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && [[ "$out" == *"$want"* ]]; then
        ok "$name" true
    else
        ok "$name (rc=$rc: $out)" false
    fi
}

ok "--help exits 0 and names the required settings" bash -c "'$PUB' --help | grep -q JWT_SECRET"
ok "keygen-manifest writes a key" "$PUB" keygen-manifest --out "$tmp/m.key"
is "$(stat -c %a "$tmp/m.key")" "600" "the manifest key file is private (0600)"
nok "keygen-manifest does not overwrite" "$PUB" keygen-manifest --out "$tmp/m.key"
ok "keygen-manifest --json" bash -c "'$PUB' keygen-manifest --json --force --out '$tmp/m2.key' | grep -q '\"keyid\"'"

good=(DATABASE_URL=postgres://127.0.0.1:1/nodb HOTPATCH_STORAGE="file://$tmp/st"
      JWT_SECRET=0123456789abcdef0123456789abcdef HOTPATCH_MANIFEST_KEY="$tmp/m.key")
refuse "no DATABASE_URL" "DATABASE_URL" "${good[@]:1}"
refuse "no HOTPATCH_STORAGE" "HOTPATCH_STORAGE" "${good[0]}" "${good[@]:2}"
refuse "no JWT_SECRET" "JWT_SECRET" "${good[@]:0:2}" "${good[3]}"
refuse "JWT_SECRET under 32 bytes" "too short" "${good[@]:0:2}" JWT_SECRET=short-secret "${good[3]}"
refuse "no HOTPATCH_MANIFEST_KEY" "HOTPATCH_MANIFEST_KEY" "${good[@]:0:3}"
refuse "unreadable manifest key" "manifest key" "${good[@]:0:3}" HOTPATCH_MANIFEST_KEY="$tmp/missing.key"
refuse "bad storage scheme" "HOTPATCH_STORAGE" "${good[0]}" HOTPATCH_STORAGE=ftp://x "${good[@]:2}"
refuse "bad listen address" "HOTPATCH_LISTEN" "${good[@]}" HOTPATCH_LISTEN=nonsense
refuse "bad number" "max_upload" "${good[@]}" HOTPATCH_MAX_UPLOAD=lots
refuse "database down" "cannot connect to the database" "${good[@]}"

printf 'database_url = postgres://127.0.0.1:1/nodb\nthis line is wrong\n' >"$tmp/bad.conf"
out=$("$PUB" --config "$tmp/bad.conf" 2>&1); rc=$?
ok "a bad config file line is refused with its line number" test "$rc" -ne 0 -a -n "$(echo "$out" | grep 'line 2')"
printf 'colour = red\n' >"$tmp/unknown.conf"
out=$("$PUB" --config "$tmp/unknown.conf" 2>&1)
ok "an unknown config key is named" bash -c "echo '$out' | grep -q colour"
cat >"$tmp/good.conf" <<CONF
# publisher settings
database_url = postgres://127.0.0.1:1/nodb
storage = "file://$tmp/st"
jwt_secret = "0123456789abcdef0123456789abcdef-from-file"
manifest_key = $tmp/m.key   # trailing comment
max_upload = 64M
CONF
ok "check-config accepts a complete config file" "$PUB" --config "$tmp/good.conf" check-config
out=$(JWT_SECRET=tiny "$PUB" --config "$tmp/good.conf" check-config 2>&1)
ok "the environment overrides the file (and is then refused)" bash -c "echo '$out' | grep -q 'too short'"

if [ -n "${HP_TEST_PG_URL:-}" ]; then
    db="hp_pub_cfg_$$"
    psql -q "$HP_TEST_PG_URL" -c "CREATE DATABASE $db" >/dev/null 2>&1
    url="${HP_TEST_PG_URL%/*}/$db"
    nmig=$(ls "$HP_SRC_DIR"/publisher/migrations/*.sql | wc -l)
    ok "migrate applies the schema ($nmig migrations)" bash -c "DATABASE_URL='$url' '$PUB' migrate --json | grep -q '\"applied\":$nmig'"
    ok "migrate again applies nothing" bash -c "DATABASE_URL='$url' '$PUB' migrate --json | grep -q '\"applied\":0'"
    is "$(psql -tAq "$url" -c 'SELECT count(*) FROM schema_migrations')" "$nmig" "schema_migrations records each version"
    # two publishers migrating at once: the advisory lock serialises them
    db2="hp_pub_cfg2_$$"
    psql -q "$HP_TEST_PG_URL" -c "CREATE DATABASE $db2" >/dev/null 2>&1
    url2="${HP_TEST_PG_URL%/*}/$db2"
    DATABASE_URL=$url2 "$PUB" migrate >"$tmp/m1.out" 2>&1 &
    p1=$!
    DATABASE_URL=$url2 "$PUB" migrate >"$tmp/m2.out" 2>&1 &
    p2=$!
    wait $p1; r1=$?
    wait $p2; r2=$?
    is "$r1:$r2" "0:0" "two concurrent migrations both succeed"
    is "$(psql -tAq "$url2" -c 'SELECT count(*) FROM schema_migrations')" "$nmig" "and apply the schema once"
    psql -q "$HP_TEST_PG_URL" -c "DROP DATABASE $db" -c "DROP DATABASE $db2" >/dev/null 2>&1
fi
done_testing
