#!/usr/bin/env bash
# publisher.sh - unmodified CodePush clients against a PUBLISHER-mode HotPatch:
# the REAL `code-push` npm package (4.2.3, AcquisitionManager driven by
# acquisition.js) against the real hotpatch-edge, which syncs from file://
# storage the manifests that the real hotpatch-publisher (real PostgreSQL)
# writes. Deployment keys are made, listed and revoked with the real
# `hotpatch` CLI in publisher mode; releases are uploaded by it with the
# CodePush package hash it computes. Covers: key shown once, kept as a hash
# only (database and storage checked); update offered with the package hash
# an independent implementation recomputes from the downloaded zip; a second
# key; an adopted (imported) key; revocation refused after the edge syncs;
# bad input on the new publisher routes (wrong role 403, malformed JSON 400,
# unknown app 404, duplicate 409) and CLI refusals with their exit codes.
. "$(dirname "$0")/common.bash"

hp_require_pg || exit 1
ST=$T/pst
mkdir -p "$ST"

# The publisher: a database of our own on the throwaway cluster, file:// storage, its own manifest key.
hp_publisher_db || { echo "not ok 1 - createdb"; echo "1..1"; exit 1; }
hp_start_publisher
# A CDN for the bundles: a static server over the storage dir.
hp_start_cdn "$ST"
ok "publisher is up" curl -sf -o /dev/null "$EP/healthz"

# code METHOD PATH TOKEN JSON: HTTP status, body in $T/body
code() { curl -s -o "$T/body" -w '%{http_code}' -X "$1" "$EP$2" -H "Authorization: Bearer $3" \
    -H 'Content-Type: application/json' --data "$4"; }
OWNER=$(hp_bootstrap_owner)
WRITE=$(hp_new_app "$OWNER" demo)
hp_add_release_key "$OWNER" demo "$RELEASE_PUB" >/dev/null
READ=$(hp_new_api_key "$OWNER" demo read)
ok "org, app, release key, write and read API keys" test -n "$WRITE" -a -n "$READ"

export HOTPATCH_ENDPOINT=$EP HOTPATCH_TOKEN=$WRITE
A=(--app demo --platform android)
sha() { printf %s "$1" | sha256sum | cut -c1-64; }
acq() { node "$ACQ" "$CP" "$EDGE" "$1" "$2" "$3" "$4" "${5:-}"; }
field() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
bundle() {
    mkdir -p "$1/drawable-mdpi" && printf 'console.log(%s)\n' "$2" >"$1/index.android.bundle" &&
        printf 'png-%s' "$2" >"$1/drawable-mdpi/logo.png"
}
release() { # release VERSION RANGE [flags]: JSON in $T/rel-VERSION.json
    local v=$1 r=$2
    shift 2
    bundle "$T/b-$v" "$v"
    "$HP" --json release "${A[@]}" --version "$v" --target-binary "$r" --bundle-dir "$T/b-$v" "$@" \
        >"$T/rel-$v.json" 2>"$T/rel-$v.err" || { cat "$T/rel-$v.err" >&2; return 1; }
}
sync_edge() { hp_edge_sync "$SYNC_TOKEN"; }

# --- a key through the CLI in publisher mode ---
"$HP" --json deployment-key add "${A[@]}" >"$T/key.json" 2>"$T/key.err"
is "$?" 0 "deployment-key add in publisher mode"
KEY=$(jget "$T/key.json" 'j["key"]')
ok "key names its channel" bash -c "[[ '$KEY' =~ ^demo~android~production~[0-9a-f]{32}$ ]]"
is "$(jget "$T/key.json" '(j["action"], j["app"], j["platform"], j["channel"], j["sha256"])')" \
    "('add', 'demo', 'android', 'production', '$(sha "$KEY")')" "--json as in serverless mode: action, channel, sha256"
ok "... and the manifest sequence" test "$(jget "$T/key.json" 'j["sequence"]')" -gt 0
"$HP" --json deployment-key list "${A[@]}" >"$T/list.json"
is "$(jget "$T/list.json" '[k["sha256"] for k in j["keys"]]')" "['$(sha "$KEY")']" "list shows the key's hash"
ok "... never the key" bash -c "! grep -qF '$KEY' '$T/list.json'"
ok "list with a read-only key" env HOTPATCH_TOKEN="$READ" "$HP" --quiet deployment-key list "${A[@]}"
ok "the database does not hold the key" bash -c \
    "[ \"\$(psql -tAq '$DBURL' -c \"SELECT count(*) FROM codepush_keys c WHERE strpos(row_to_json(c)::text, '${KEY##*~}') > 0\")\" = 0 ]"
ok "... nor its audit log" bash -c \
    "[ \"\$(psql -tAq '$DBURL' -c \"SELECT count(*) FROM audit_events a WHERE strpos(row_to_json(a)::text, '${KEY##*~}') > 0\")\" = 0 ]"
ok "storage does not hold the key" bash -c "! grep -rqF '$KEY' '$ST'"
expect_exit 3 "add with a read-only key: refused (403)" env HOTPATCH_TOKEN="$READ" "$HP" --quiet deployment-key add "${A[@]}"
expect_exit 2 "--ttl is for serverless mode" "$HP" --quiet deployment-key add "${A[@]}" --ttl 1d

# --- releases uploaded by the CLI carry the package hash it computed ---
release 1.0.1 '1.0.x' --mandatory || echo "# release 1.0.1 failed"
release 1.0.2 '1.0.x' --notes 'second' || echo "# release 1.0.2 failed"
H2=$(jget "$T/rel-1.0.2.json" 'j["release"]["codepush_hash"]')
ok "the publisher's release answer carries codepush_hash" bash -c "[[ '$H2' =~ ^[0-9a-f]{64}$ ]]"
ok "... the database stores it" bash -c \
    "[ \"\$(psql -tAq '$DBURL' -c \"SELECT count(*) FROM releases WHERE codepush_hash = '$H2'\")\" = 1 ]"
"$HP" --json manifest show "${A[@]}" --trusted-key "$MPUB" >"$T/show.json"
is "$(jget "$T/show.json" '(j["manifest"]["codepush_keys"], [r.get("codepush_hash") for r in j["manifest"]["releases"]][1])')" \
    "(['$(sha "$KEY")'], '$H2')" "the publisher's signed manifest lists the key hash and the release's codepush_hash"

SYNC_TOKEN=sync-$$-$RANDOM
HOTPATCH_SYNC_TOKEN=$SYNC_TOKEN hp_start_edge --source "file://$ST" \
    --trusted-key "$MPUB" --data-dir "$T/edge" --poll-interval 60 \
    --public-base "http://127.0.0.1:$CDN_PORT/"
ok "edge up and synced from the publisher's storage" sync_edge

# --- update offered, package hash = an independent recomputation ---
out=$(acq "$KEY" dev-1 1.0 check)
is "$(field "$out" 'j["error"]')" None "update check with the CLI-made key: no error"
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "offered the newest release"
is "$(field "$out" 'j["result"]["isMandatory"]')" True "... mandatory: the skipped 1.0.1 was"
is "$(field "$out" 'j["result"]["description"]')" second "... description = notes"
URL=$(field "$out" 'j["result"]["downloadUrl"]')
PH=$(field "$out" 'j["result"]["packageHash"]')
ok "download_url downloads the publisher-stored bundle" curl -sf -o "$T/dl.zip" "$URL"
is "$(field "$out" 'j["result"]["packageSize"]')" "$(stat -c %s "$T/dl.zip")" "packageSize = zip size"
mkdir -p "$T/unz" && (cd "$T/unz" && unzip -q "$T/dl.zip")
is "$PH" "$(field "$(node "$ACQ" "$CP" x x x x hashdir "$T/unz")" 'j["result"]')" \
    "packageHash = the client's own hash of the unzipped update (independent implementation)"
is "$PH" "$H2" "... = the hash the CLI sent with the upload"
out=$(acq "$KEY" dev-1 1.0 check "{\"appVersion\":\"1.0\",\"packageHash\":\"$H2\",\"label\":\"1.0.2\"}")
is "$out" '{"error":null,"result":null}' "device on 1.0.2: no update"

# --- a second key, and an adopted one (made elsewhere, e.g. in serverless mode) ---
"$HP" --json deployment-key add "${A[@]}" >"$T/key2.json"
KEY2=$(jget "$T/key2.json" 'j["key"]')
ADOPT=demo~android~production~$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$HP" --json deployment-key add "${A[@]}" --key "$ADOPT" >"$T/adopt.json"
is "$(jget "$T/adopt.json" '(j["key"], j["sha256"])')" "('$ADOPT', '$(sha "$ADOPT")')" "add --key adopts a key apps already ship"
expect_exit 4 "adopting it twice: conflict (409)" "$HP" --quiet deployment-key add "${A[@]}" --key "$ADOPT"
sync_edge
out=$(acq "$KEY2" dev-2 1.0 check)
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "the second key answers the channel"
out=$(acq "$ADOPT" dev-3 1.0 check)
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "the adopted key answers the channel"
"$HP" --json deployment-key list "${A[@]}" >"$T/list3.json"
is "$(jget "$T/list3.json" 'sorted(k["sha256"] for k in j["keys"])')" \
    "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$(sha "$KEY")" "$(sha "$KEY2")" "$(sha "$ADOPT")")" \
    "list shows the three hashes"

# --- revocation: refused once the edge has synced ---
ok "revoke the second key (--key)" "$HP" --quiet deployment-key revoke "${A[@]}" --key "$KEY2"
out=$(acq "$KEY2" dev-2 1.0 check)
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "before the edge syncs it still answers (the edge acts on signed manifests only)"
sync_edge
out=$(acq "$KEY2" dev-2 1.0 check)
is "$(field "$out" 'j["error"].split(":")[0]')" 404 "after the sync: revoked key refused (HTTP 404)"
ok "... saying why" bash -c "[[ '$(field "$out" 'j["error"]')' == *'unknown deployment key'* ]]"
"$HP" --json deployment-key revoke "${A[@]}" --sha256 "$(sha "$ADOPT")" >"$T/rev.json"
is "$(jget "$T/rev.json" '(j["action"], j["sha256"])')" "('revoke', '$(sha "$ADOPT")')" "revoke --sha256, --json as in serverless mode"
sync_edge
out=$(acq "$ADOPT" dev-3 1.0 check)
is "$(field "$out" 'j["error"].split(":")[0]')" 404 "the adopted key, revoked: 404"
out=$(acq "$KEY" dev-1 1.0 check)
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "the first key still works"
expect_exit 7 "revoking a revoked key: not found" "$HP" --quiet deployment-key revoke "${A[@]}" --key "$KEY2"
expect_exit 7 "revoking on the wrong channel: not found" "$HP" --quiet deployment-key revoke "${A[@]}" \
    --channel beta --sha256 "$(sha "$KEY")"
expect_exit 2 "revoke with a key of another channel" "$HP" --quiet deployment-key revoke "${A[@]}" \
    --channel beta --key "$KEY"
expect_exit 3 "revoke with a read-only key: refused (403)" env HOTPATCH_TOKEN="$READ" "$HP" --quiet \
    deployment-key revoke "${A[@]}" --key "$KEY"
is "$(hp_api GET '/v1/apps/demo/audit?limit=50' "$READ" '' | python3 -c 'import json,sys; print(sorted(e["action"] for e in json.load(sys.stdin)["events"] if e["action"].startswith("deployment_key.")))')" \
    "['deployment_key.create', 'deployment_key.create', 'deployment_key.import', 'deployment_key.revoke', 'deployment_key.revoke']" \
    "each change is in the audit log"

# --- bad input on the new routes: JSON errors, nothing changes ---
N0=$(psql -tAq "$DBURL" -c "SELECT count(*) FROM codepush_keys")
is "$(code POST /v1/apps/demo/deployment-keys "$READ" '{"platform":"android","channel":"production"}')" 403 "POST with the read role: 403"
ok "... JSON error" grep -q '"code":"forbidden"' "$T/body"
is "$(code POST /v1/apps/demo/deployment-keys "$WRITE" '{"platform":"android",')" 400 "malformed JSON: 400"
ok "... JSON error" grep -q '"code":"bad_json"' "$T/body"
is "$(code POST /v1/apps/nope/deployment-keys "$OWNER" '{"platform":"android","channel":"production"}')" 404 "unknown app: 404"
is "$(code POST /v1/apps/demo/deployment-keys "$WRITE" "{\"platform\":\"android\",\"channel\":\"production\",\"key\":\"$KEY\"}")" \
    409 "a key already there: 409"
is "$(code DELETE "/v1/apps/demo/deployment-keys/$(sha "$KEY")" "$READ" '')" 403 "DELETE with the read role: 403"
is "$(code GET /v1/apps/nope/deployment-keys "$OWNER" '')" 404 "GET for an unknown app: 404"
is "$(psql -tAq "$DBURL" -c "SELECT count(*) FROM codepush_keys")" "$N0" "the refusals stored nothing"
sync_edge
out=$(acq "$KEY" dev-1 1.0 check)
is "$(field "$out" 'j["result"]["label"]')" 1.0.2 "and the channel still answers its key"

# --- the human output, as in serverless mode ---
"$HP" deployment-key add "${A[@]}" >"$T/add.out" 2>"$T/add.err"
KEY4=$(cat "$T/add.out")
ok "add prints only the key on stdout" bash -c "[[ '$KEY4' =~ ^demo~android~production~[0-9a-f]{32}$ ]]"
ok "... and says on stderr that the publisher keeps only its hash" grep -q "the publisher keeps only its hash" "$T/add.err"
is "$("$HP" deployment-key revoke "${A[@]}" --key "$KEY4")" \
    "$(printf "revoked deployment key %s on demo/android channel 'production' (sequence %s)" "$(sha "$KEY4")" \
        "$(psql -tAq "$DBURL" -c "SELECT sequence FROM channels WHERE platform = 'android' AND channel = 'production'")")" \
    "revoke prints the hash and the published sequence"

done_testing
