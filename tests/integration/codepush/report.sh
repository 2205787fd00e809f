#!/usr/bin/env bash
# report.sh - the CodePush acquisition SDK's two reports, report_status/deploy
# and report_status/download, sent by the REAL `code-push` 4.2.3
# AcquisitionManager (reportStatusDeploy / reportStatusDownload, driven by
# acquisition.js) to a real hotpatch-edge, relayed (edge-check/relay.c) to a
# real hotpatch-publisher on a real PostgreSQL, and read back with the real
# CLI (`hotpatch stats --json`). Covers: deploy succeeded / failed and a
# download land on the right release (label -> release id) as applied /
# failed / downloading; the binary's own deploy report records nothing; an
# unknown key, an unknown label and bad bodies get clear JSON errors; the
# auto-halt ignores CodePush reports (unticketed) by default, however many
# fail, and halts the release once the operator opts the app in with
# `hotpatch app --count-unticketed on`.
#
# The deployment key is made by the publisher (`hotpatch deployment-key add`
# in publisher mode), so it survives the manifest re-publish an auto-halt does.
. "$(dirname "$0")/common.bash"

hp_require_pg || exit 1

# --- the publisher: a database of our own on the throwaway cluster ---
hp_publisher_db || { echo "not ok 1 - createdb"; echo "1..1"; exit 1; }
ST=$T/pst
hp_start_publisher
ok "publisher is up" curl -sf "$EP/healthz"

OWNER=$(hp_bootstrap_owner)
hp_api POST /v1/apps "$OWNER" '{"name":"demo"}' >"$T/app.json"
ok "app created" grep -q '"api_key"' "$T/app.json"
hp_add_release_key "$OWNER" demo "$RELEASE_PUB" >"$T/rkey.json"
ok "release key registered" grep -q '"keyid"' "$T/rkey.json"
# the auto-halt: 50% failures after 3 installs (the server's defaults are 20% of 50)
hp_api PATCH /v1/apps/demo "$OWNER" '{"halt_threshold_pct":50,"halt_min_installs":3}' >"$T/halt.json"
is "$(jget "$T/halt.json" '(j["app"]["halt_threshold_pct"], j["app"]["halt_min_installs"])')" "(50, 3)" \
    "auto-halt at 50% after 3 installs"
echo "$OWNER" | "$HP" login --endpoint "$EP" --token-stdin >/dev/null
is "$?" 0 "CLI logged in (owner key)"

# --- the default: unticketed reports are not counted ---
"$HP" app --app demo >"$T/app.txt"
ok "hotpatch app shows the opt-in, off by default" grep -qx 'count unticketed  off' "$T/app.txt"
"$HP" --json app --app demo >"$T/app0.json"
is "$(jget "$T/app0.json" 'j["count_unticketed"]')" False "... and in --json"

# --- releases through the publisher: 1.0.1 and 1.0.2 for binary 1.0.x ---
release() { # release VERSION: prints the release id
    mkdir -p "$T/b-$1/drawable-mdpi" && printf 'console.log(%s)\n' "$1" >"$T/b-$1/index.android.bundle" &&
        printf 'png-%s' "$1" >"$T/b-$1/drawable-mdpi/logo.png"
    "$HP" --json release --app demo --platform android --version "$1" --target-binary '1.0.x' \
        --bundle-dir "$T/b-$1" >"$T/rel-$1.json" 2>"$T/rel-$1.err" || { cat "$T/rel-$1.err" >&2; return 1; }
    jget "$T/rel-$1.json" 'j["release"]["id"]'
}
R1=$(release 1.0.1)
R2=$(release 1.0.2)
ok "two releases through the publisher ($R1, $R2)" test -n "$R1" -a -n "$R2"

# --- the channel's deployment key, made by the publisher and listed in its manifest ---
"$HP" --json deployment-key add --app demo --platform android >"$T/key.json"
is "$?" 0 "deployment key added through the publisher"
KEY=$(jget "$T/key.json" 'j["key"]')

# --- the edge: synced from the publisher's storage, relaying reports to it ---
SYNC_TOKEN=sync-$$-$RANDOM
HOTPATCH_SYNC_TOKEN=$SYNC_TOKEN hp_start_edge --source "file://$ST" \
    --trusted-key "$MPUB" --data-dir "$T/edge" --poll-interval 60 --publisher-url "$EP" --relay-rate 1000
sync_edge() { hp_edge_sync "$SYNC_TOKEN"; }
ok "edge up and synced" sync_edge

acq() { node "$ACQ" "$CP" "$EDGE" "$1" "$2" "$3" "$4" "${5:-}"; } # acq KEY CLIENT APPVERSION OP [JSON]
field() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
deploy() { # deploy CLIENT LABEL succeeded|failed: the SDK's report; prints its error (None when accepted)
    field "$(acq "$KEY" "$1" 1.0 deploy "{\"package\":{\"label\":\"$2\",\"appVersion\":\"1.0\"},\"status\":\"$3\"}")" 'j["error"]'
}
stats() { # stats RELEASE_ID EXPR: python on `hotpatch stats --json` (as j)
    "$HP" --json stats --app demo --platform android --release "$1" >"$T/stats.json" 2>"$T/stats.err" &&
        python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["stats"]; print(eval(sys.argv[2]))' "$T/stats.json" "$2"
}
wait_stats() { # wait_stats RELEASE_ID EXPR WANT: poll until the relayed reports are in
    local got=
    for _ in $(seq 1 100); do
        got=$(stats "$1" "$2") && [ "$got" = "$3" ] && { echo "$got"; return 0; }
        sleep 0.1
    done
    sed 's/^/# stats: /' "$T/stats.err" >&2
    echo "$got"
}

relay_drained() { # every queued report posted and answered 2xx by the publisher
    local m q sn
    for _ in $(seq 1 100); do
        m=$(curl -sf "$EDGE/metrics")
        q=$(echo "$m" | sed -n 's/^hotpatch_edge_relay_reports_total{result="queued"} //p')
        sn=$(echo "$m" | sed -n 's/^hotpatch_edge_relay_reports_total{result="sent"} //p')
        [ -n "$q" ] && [ "$q" = "$sn" ] && return 0
        sleep 0.1
    done
    echo "# relay: queued $q, sent $sn" >&2
    return 1
}

# --- the SDK's reports land on the right release ---
is "$(deploy dev-ok 1.0.2 succeeded)" None "reportStatusDeploy(DeploymentSucceeded): accepted"
out=$(acq "$KEY" dev-dl 1.0 download '{"label":"1.0.2"}')
is "$(field "$out" 'j["error"]')" None "reportStatusDownload: accepted"
is "$(deploy dev-bad 1.0.1 failed)" None "reportStatusDeploy(DeploymentFailed) about 1.0.1: accepted"
is "$(wait_stats "$R2" '(j["installs"], j["downloading"], j["failures"])' '(1, 1, 0)')" "(1, 1, 0)" \
    "hotpatch stats: 1.0.2 has the applied deploy and the finished download"
is "$(stats "$R2" 'sorted(v["binary_version"] for v in j["version_distribution"])')" "['', '1.0']" \
    "... the deploy with the app_version the SDK sent as the native version (a download report has none)"
is "$(wait_stats "$R1" '(j["installs"], j["failures"])' '(0, 1)')" "(0, 1)" "1.0.1 has the failed deploy"
is "$(stats "$R1" '(j["unticketed"]["failures"], j["ticketed"]["failures"], j["auto_halt_counts"])')" \
    "(1, 0, 'ticketed')" "... stored as unticketed: CodePush clients carry no edge ticket"
"$HP" stats --app demo --platform android --release "$R1" >"$T/stats.txt"
ok "the text form says unticketed reports never halt" grep -q 'unticketed reports never halt' "$T/stats.txt"
raw=$(curl -s -X POST "$EDGE/v0.1/public/codepush/report_status/deploy" -H 'Content-Type: application/json' \
    --data "{\"app_version\":\"1.0\",\"deployment_key\":\"$KEY\",\"client_unique_id\":\"dev-bin\"}")
is "$raw" '{"status":"ok","recorded":false}' "the binary's deploy report (no package): answered, nothing recorded"
out=$(acq "$KEY" dev-bin 1.0 deploy '{"package":null}')
is "$(field "$out" 'j["error"]')" None "... and the SDK's own reportStatusDeploy(null) is accepted"

# --- refusals, as the SDK sees them and on the wire ---
FAKE=demo~android~production~0123456789abcdef0123456789abcdef
out=$(acq "$FAKE" dev-1 1.0 deploy '{"package":{"label":"1.0.2","appVersion":"1.0"},"status":"succeeded"}')
is "$(field "$out" 'j["error"].split(":")[0]')" 404 "a key nobody issued: the SDK reports HTTP 404"
ok "... saying why" bash -c "[[ '$(field "$out" 'j["error"]')' == *'unknown deployment key'* ]]"
out=$(acq "$KEY" dev-1 1.0 download '{"label":"7.7.7"}')
is "$(field "$out" 'j["error"].split(":")[0]')" 404 "a label the deployment never had: 404"
is "$(field "$out" '"no release labelled '"'"'7.7.7'"'"'" in j["error"]')" True "... named"
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
U=$EDGE/v0.1/public/codepush/report_status
is "$(code -X POST "$U/deploy" -H 'Content-Type: application/json' --data '{"deployment_key":"nope","client_unique_id":"d"}')" \
    400 "a malformed key: 400"
ok "... a JSON error naming it" python3 -c 'import json,sys; assert "deployment key" in json.load(open(sys.argv[1]))["error"]["message"]' "$T/body"
is "$(code -X POST "$U/deploy" -H 'Content-Type: application/json' \
    --data "{\"deployment_key\":\"$KEY\",\"client_unique_id\":\"d\",\"label\":\"1.0.2\",\"status\":\"Installed\"}")" \
    400 "an unknown status: 400"
is "$(code -X POST "$U/download" -H 'Content-Type: application/json' --data "{\"deployment_key\":\"$KEY\",\"label\":\"1.0.2\"}")" \
    400 "a download without client_unique_id: 400"
is "$(code -X POST "$U/deploy" -H 'Content-Type: application/json' --data 'not json')" 400 "not JSON: 400"
big=$(head -c 6000 /dev/zero | tr '\0' a)
is "$(code -X POST "$U/deploy" -H 'Content-Type: application/json' --data "{\"label\":\"$big\"}")" 413 "a 6 KB body: 413"
ok "... with a JSON error" python3 -c 'import json,sys; json.load(open(sys.argv[1]))["error"]["message"]' "$T/body"
is "$(code -X POST "$U/deploy" -H 'Content-Type: text/plain' --data '{}')" 415 "text/plain: 415"
is "$(code "$U/deploy")" 405 "GET: 405"
is "$(stats "$R2" '(j["installs"], j["downloading"], j["failures"])')" "(1, 1, 0)" "refused reports recorded nothing"

# --- opt-in OFF: failures from many distinct devices never halt ---
for i in 1 2 3 4; do deploy "fail-$i" 1.0.2 failed >/dev/null; done
is "$(wait_stats "$R2" '(j["installs"], j["failures"])' '(1, 4)')" "(1, 4)" \
    "4 failed deploys of 5 reports on 1.0.2 stored (80% >= 50%, 5 >= 3 installs)"
ok "the relay has delivered every report (the publisher answered after its halt check)" relay_drained
is "$(stats "$R2" 'j["state"]')" active "opt-in off: CodePush reports never halt a release"

# --- opt-in ON: the same kind of reports halt it ---
expect_exit 2 "--count-unticketed takes on or off" "$HP" --quiet app --app demo --count-unticketed maybe
WRITE=$(jget "$T/app.json" 'j["api_key"]')
is "$(hp_api PATCH /v1/apps/demo "$WRITE" '{"count_unticketed":true}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])')" \
    forbidden "a write key cannot opt the app in (app admin only)"
is "$(hp_api PATCH /v1/apps/demo "$OWNER" '{"count_unticketed":"yes"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["message"])')" \
    "field 'count_unticketed' must be true or false" "count_unticketed must be true or false (400)"
"$HP" app --app demo --count-unticketed on >"$T/app.txt"
is "$?" 0 "hotpatch app --count-unticketed on"
ok "... shown" grep -qx 'count unticketed  on' "$T/app.txt"
is "$(stats "$R2" 'j["auto_halt_counts"]')" all "stats say the auto-halt now counts every report"
"$HP" stats --app demo --platform android --release "$R2" >"$T/stats.txt"
ok "... and so does the text form" grep -q 'this app counts unticketed reports too' "$T/stats.txt"
# the halt rule runs when a report comes in: one more failure
is "$(deploy fail-5 1.0.2 failed)" None "a fifth failed deploy, from another device"
is "$(wait_stats "$R2" 'j["state"]' halted)" halted "opt-in on: 5 of 6 failed: 1.0.2 halted automatically"
hp_api GET "/v1/apps/demo/audit?release=$R2" "$OWNER" '' >"$T/audit.json"
is "$(jget "$T/audit.json" '[e["detail"]["counted"] for e in j["events"] if e["action"] == "release.halt"]')" \
    "['all distinct devices (count_unticketed on)']" "the audit event says unticketed reports were counted"
"$HP" --json app --app demo --count-unticketed off >"$T/app1.json"
is "$(jget "$T/app1.json" 'j["count_unticketed"]')" False "and off again"

done_testing
