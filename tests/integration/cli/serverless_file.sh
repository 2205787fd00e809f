# serverless_file.sh - `hotpatch` in serverless mode against file:// storage,
# with the fixture app's real bundle: release, verify the stored zip (SHA-256
# + signature) and the manifest, duplicate refusal, rollout / rollback /
# halt / resume / promote / archive / history / manifest resign, the
# deterministic zip, settings precedence, and bad input (each a one-line
# error with its documented exit code, and storage left exactly as it was).
. "$(dirname "$0")/common.bash"

BUNDLE=$(rn_fixture_bundle android) || { echo "not ok 1 - fixture bundle: see above"; echo "1..1"; exit 1; }
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
ST=$T/storage
mkdir -p "$ST"
export HOTPATCH_SIGNING_KEY=$T/keys/release.key HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
S=(--storage "file://$ST")
A=(--app demo --platform android)
MAN=$ST/manifests/demo/android/production.json
# Sequences are floored by the writer's clock in ms (SPEC.md section 7): each is
# checked against this start time and against the one before it.
T0_MS=$(date +%s%3N)

# --- keygen ---
is "$(stat -c %a "$T/keys/release.key")" 600 "release key file is 0600"
is "${#RELEASE_PUB}" 44 "public key printed as 44 base64 chars"
ok "secret key not printed" bash -c "! grep -q secret_key '$T/keys/release.json' || ! grep -q '\"secret_key\":\"' '$T/keys/release.json'"
expect_exit 4 "keygen refuses to overwrite" "$HP" keygen --out "$T/keys/release.key"

# --- release ---
ok "release 1.2.0" "$HP" --json release "${A[@]}" --version 1.2.0 --target-binary '>=1.2.0 <1.3.0' \
    --bundle-dir "$BUNDLE" "${S[@]}"
"$HP" --json release "${A[@]}" --version 1.2.0 --target-binary '>=1.2.0 <1.3.0' --bundle-dir "$BUNDLE" "${S[@]}" \
    >"$T/rel-dup.json" 2>/dev/null
is "$?" 4 "re-releasing 1.2.0 exits 4"
is "$(jget "$T/rel-dup.json" 'j["error"]["message"].split(" (")[0]')" \
    "version '1.2.0' is already released on channel 'production'" "duplicate: JSON error message"
is "$(jget "$T/rel-dup.json" 'j["error"]["code"]')" conflict "duplicate: JSON error code"

"$HP" --json manifest show "${A[@]}" "${S[@]}" --trusted-key "$MANIFEST_PUB" >"$T/show.json"
is "$?" 0 "manifest show verifies with the manifest PUBLIC key only"
S1=$(jget "$T/show.json" 'j["manifest"]["sequence"]')
is "$((S1 >= T0_MS))" 1 "first sequence is floored by the clock ($S1 >= $T0_MS)"
is "$(jget "$T/show.json" 'len(j["manifest"]["releases"])')" 1 "one release"
SHA=$(jget "$T/show.json" 'j["manifest"]["releases"][0]["sha256"]')
SIG=$(jget "$T/show.json" 'j["manifest"]["releases"][0]["bundle_sig"]')
URL=$(jget "$T/show.json" 'j["manifest"]["releases"][0]["bundle_url"]')
is "$URL" "bundles/demo/android/$SHA.zip" "bundle_url is the content-addressed key"
is "$(sha256sum <"$ST/$URL" | cut -c1-64)" "$SHA" "stored zip's SHA-256 matches the manifest"
ok "hotpatch verify: zip + signature + release key" "$HP" verify "$ST/$URL" --sig "$SIG" --pubkey "$RELEASE_PUB" --sha256 "$SHA"
expect_exit 5 "verify with the wrong public key" "$HP" verify "$ST/$URL" --sig "$SIG" --pubkey "$MANIFEST_PUB"
cp "$ST/$URL" "$T/tampered.zip" && printf 'X' | dd of="$T/tampered.zip" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_exit 5 "verify a modified zip" "$HP" verify "$T/tampered.zip" --sig "$SIG" --pubkey "$RELEASE_PUB"
ok "stored zip has the bundle and its asset" bash -c "unzip -l '$ST/$URL' | grep -q ' index.android.bundle$' && unzip -l '$ST/$URL' | grep -q 'drawable-mdpi/assets_logo.png'"
is "$(jget "$T/show.json" 'j["manifest"]["releases"][0]["target_binary"]')" ">=1.2.0 <1.3.0" "target range recorded"

# --- deterministic zip ---
cp -R "$BUNDLE" "$T/copy" && find "$T/copy" -type f -exec touch -d '2001-02-03 04:05' {} + && chmod 600 "$T/copy/index.android.bundle"
"$HP" --json release "${A[@]}" --version x --target-binary '*' --bundle-dir "$T/copy" --dry-run --zip-out "$T/z1.zip" >"$T/dry1.json"
"$HP" --json release "${A[@]}" --version x --target-binary '*' --bundle-dir "$BUNDLE" --dry-run --zip-out "$T/z2.zip" >"$T/dry2.json"
is "$(jget "$T/dry1.json" 'j["sha256"]')" "$SHA" "copy with other mtimes/modes: same SHA-256 as released"
is "$(jget "$T/dry2.json" 'j["sha256"]')" "$SHA" "same dir zipped again: same SHA-256"
ok "zip files byte-identical" cmp "$T/z1.zip" "$T/z2.zip"

# --- legacy signature (docs/compatibility.md): the release key over the bare SHA-256, in the signed manifest ---
ok "release --legacy-signature (serverless)" "$HP" --quiet release "${A[@]}" --channel legacy --new-channel \
    --version 3.0.0 --target-binary '*' --bundle-dir "$BUNDLE" --legacy-signature "${S[@]}"
"$HP" --json manifest show "${A[@]}" --channel legacy "${S[@]}" --trusted-key "$MANIFEST_PUB" >"$T/leg.json"
is "$?" 0 "legacy channel manifest verifies"
# Ed25519 is deterministic: the vectors' independent Python Ed25519 re-signs the stored zip's raw digest.
is "$(python3 -c '
import base64, hashlib, json, sys
sys.path.insert(0, sys.argv[1] + "/manifests/vectors")
import gen
r = json.load(open(sys.argv[2]))["manifest"]["releases"][0]
sk = base64.b64decode(json.load(open(sys.argv[3]))["secret_key"])[:32]
d = hashlib.sha256(open(sys.argv[4] + "/" + r["bundle_url"], "rb").read()).digest()
print(base64.b64encode(gen.ed25519_sign(sk, d)).decode() == r["legacy_signature"] != r["bundle_sig"])
' "$HP_SRC_DIR" "$T/leg.json" "$T/keys/release.key" "$ST")" True \
    "legacy_signature = Ed25519(release key, raw SHA-256 of the zip), recomputed in Python"
is "$(jget "$T/show.json" '"legacy_signature" in j["manifest"]["releases"][0]')" False \
    "absent from releases made without --legacy-signature"

# --- lifecycle ---
ok "release 1.2.1 at 10%, mandatory" "$HP" --quiet release "${A[@]}" --version 1.2.1 --target-binary '1.2.x' \
    --bundle-dir "$BUNDLE" --rollout 10 --mandatory --notes "fix crash" "${S[@]}"
ok "history --json" bash -c "'$HP' --json history ${A[*]} --storage 'file://$ST' >'$T/h.json'"
is "$(jget "$T/h.json" '[r["version"] for r in j["releases"]]')" "['1.2.1', '1.2.0']" "history newest first"
is "$(jget "$T/h.json" 'j["releases"][0]["rollout_bp"]')" 1000 "rollout 10% = 1000 bp"
S2=$(jget "$T/h.json" 'j["sequence"]')
is "$((S2 > S1))" 1 "second release: sequence went up ($S1 -> $S2)"
ok "history table" bash -c "'$HP' history ${A[*]} --storage 'file://$ST' | grep -q '^rel_.*1.2.1 .*active .*10.00%'"
ok "rollout to 50%" "$HP" rollout "${A[@]}" --percent 50 "${S[@]}"
ok "halt" "$HP" halt "${A[@]}" --version 1.2.1 "${S[@]}"
ok "resume" "$HP" resume "${A[@]}" --version 1.2.1 "${S[@]}"
ok "rollback (newest active = 1.2.1)" "$HP" rollback "${A[@]}" "${S[@]}"
"$HP" --json history "${A[@]}" "${S[@]}" >"$T/h.json"
is "$(jget "$T/h.json" '[(r["version"], r["state"], r["rollout_bp"]) for r in j["releases"]]')" \
    "[('1.2.1', 'rolled_back', 5000), ('1.2.0', 'active', 10000)]" "states after rollout/halt/resume/rollback"
S6=$(jget "$T/h.json" 'j["sequence"]')
is "$((S6 >= S2 + 4))" 1 "each of the four changes bumped the sequence ($S2 -> $S6)"
expect_exit 4 "resume of a rolled-back release refused" "$HP" resume "${A[@]}" --version 1.2.1 "${S[@]}"
expect_exit 7 "rollout of an unknown version" "$HP" rollout "${A[@]}" --version 9.9.9 --percent 5 "${S[@]}"
expect_exit 4 "promote to a channel with no manifest needs --new-channel" "$HP" promote "${A[@]}" --from production \
    --to beta --version 1.2.0 "${S[@]}"
ok "promote 1.2.0 production -> beta (--new-channel)" "$HP" promote "${A[@]}" --from production --to beta --version 1.2.0 \
    --new-channel "${S[@]}"
"$HP" --json manifest show "${A[@]}" --channel beta "${S[@]}" >"$T/beta.json"
is "$(jget "$T/beta.json" '(j["manifest"]["sequence"] >= '"$T0_MS"', j["manifest"]["releases"][0]["version"], j["manifest"]["releases"][0]["sha256"])')" \
    "(True, '1.2.0', '$SHA')" "beta channel has 1.2.0 with the same bundle"
ok "promoted entry has its own id" test "$(jget "$T/beta.json" 'j["manifest"]["releases"][0]["id"]')" != \
    "$(jget "$T/h.json" 'j["releases"][1]["id"]')"
expect_exit 4 "promote the same version again" "$HP" promote "${A[@]}" --from production --to beta --version 1.2.0 "${S[@]}"
ok "archive 1.2.1" "$HP" archive "${A[@]}" --version 1.2.1 "${S[@]}"
"$HP" --json history "${A[@]}" "${S[@]}" >"$T/h.json"
S7=$(jget "$T/h.json" 'j["sequence"]')
is "$(jget "$T/h.json" '([r["version"] for r in j["releases"]], j["sequence"] > '"$S6"')')" "(['1.2.0'], True)" \
    "archived release gone, sequence went up ($S6 -> $S7)"
ok "bundle object kept after archive" test -f "$ST/$URL"
"$HP" --json manifest resign "${A[@]}" --ttl 2h "${S[@]}" >"$T/resign.json"
is "$(jget "$T/resign.json" 'j["sequence"] > '"$S7")" True "resign bumps the sequence"
is "$(jget "$T/resign.json" 'j["expires_at"] - __import__("time").time() < 7300')" True "resign sets the new expiry"

# --- expiry: devices refuse an expired manifest; writers re-sign it ---
ok "release with a 1 s manifest TTL" "$HP" --quiet release "${A[@]}" --channel short --version 1.0.0 --target-binary '*' \
    --bundle-dir "$BUNDLE" --ttl 1s --new-channel "${S[@]}"
sleep 2
expect_exit 5 "expired manifest refused by manifest show" "$HP" manifest show "${A[@]}" --channel short "${S[@]}"
case "$LAST_ERR" in *expired*resign*) r=ok ;; *) r=bad ;; esac
is "$r" ok "expiry error says to re-sign"
"$HP" --json manifest show "${A[@]}" --channel short --allow-expired "${S[@]}" >"$T/exp.json"
SS1=$(jget "$T/exp.json" 'j["manifest"]["sequence"]')
is "$?/$(jget "$T/exp.json" 'j["manifest"]["expired"]')" "0/True" "--allow-expired shows it, marked expired"
ok "release on top of an expired manifest re-signs it" "$HP" --quiet release "${A[@]}" --channel short --version 1.0.1 \
    --target-binary '*' --bundle-dir "$BUNDLE" "${S[@]}"
"$HP" --json manifest show "${A[@]}" --channel short "${S[@]}" >"$T/exp2.json"
is "$?/$(jget "$T/exp2.json" '(j["manifest"]["sequence"] > '"$SS1"', j["manifest"]["expired"], len(j["manifest"]["releases"]))')" \
    "0/(True, False, 2)" "fresh manifest: higher sequence, not expired, both releases"
expect_exit 2 "bad --ttl" "$HP" manifest resign "${A[@]}" --ttl 0s "${S[@]}"

# --- progress bar only on a terminal ---
if command -v script >/dev/null 2>&1; then
    mkdir -p "$T/st-tty"
    script -qefc "'$HP' release ${A[*]} --version 1.0.0 --target-binary '*' --bundle-dir '$BUNDLE' --storage 'file://$T/st-tty'" \
        /dev/null >"$T/tty.out" 2>&1
    ok "serverless upload draws a progress bar on a TTY" grep -q 'uploading \[#*\] 100%' "$T/tty.out"
else
    echo "ok $((_tap_n += 1)) # skip no script(1) to fake a TTY"
fi
mkdir -p "$T/st-notty"
"$HP" release "${A[@]}" --version 1.0.0 --target-binary '*' --bundle-dir "$BUNDLE" --storage "file://$T/st-notty" \
    >/dev/null 2>"$T/notty.err"
ok "no progress bar when stderr is not a TTY" bash -c "! grep -q 'uploading \[' '$T/notty.err'"

# --- bad input: one-line errors, documented exit codes, storage untouched ---
BEFORE=$(snapshot "$ST")
expect_exit 2 "missing signing key" env -u HOTPATCH_SIGNING_KEY "$HP" --quiet release "${A[@]}" --version 2.0.0 \
    --target-binary '*' --bundle-dir "$BUNDLE" "${S[@]}"
case "$LAST_ERR" in *"hotpatch keygen"*HOTPATCH_SIGNING_KEY*) r=ok ;; *) r=bad ;; esac
is "$r" ok "missing signing key: the error says what to do"
expect_exit 2 "signing key file missing" "$HP" --quiet release "${A[@]}" --version 2.0.0 --target-binary '*' \
    --bundle-dir "$BUNDLE" --signing-key "$T/nope.key" "${S[@]}"
expect_exit 2 "missing manifest key" env -u HOTPATCH_MANIFEST_KEY "$HP" --quiet release "${A[@]}" --version 2.0.0 \
    --target-binary '*' --bundle-dir "$BUNDLE" "${S[@]}"
"$HP" keygen --manifest --out "$T/other-manifest.key" >/dev/null
expect_exit 5 "manifest signed by another key than ours: refused" "$HP" --quiet release "${A[@]}" --version 2.0.0 \
    --target-binary '*' --bundle-dir "$BUNDLE" --manifest-key "$T/other-manifest.key" "${S[@]}"
expect_exit 5 "rollback with the wrong manifest key: refused" "$HP" rollback "${A[@]}" \
    --manifest-key "$T/other-manifest.key" "${S[@]}"
expect_exit 5 "manifest show with a wrong trusted key" "$HP" manifest show "${A[@]}" "${S[@]}" \
    --trusted-key "$RELEASE_PUB"
chmod 644 "$T/keys/release.key"
expect_exit 3 "group-readable signing key refused" "$HP" --quiet release "${A[@]}" --version 2.0.0 --target-binary '*' \
    --bundle-dir "$BUNDLE" "${S[@]}"
chmod 600 "$T/keys/release.key"
expect_exit 7 "bundle dir does not exist" "$HP" --quiet release "${A[@]}" --version 2.0.0 --target-binary '*' \
    --bundle-dir "$T/no-such-dir" "${S[@]}"
mkdir -p "$T/nobundle/raw" && echo x >"$T/nobundle/raw/a.txt"
expect_exit 2 "bundle dir without index.android.bundle" "$HP" --quiet release "${A[@]}" --version 2.0.0 \
    --target-binary '*' --bundle-dir "$T/nobundle" "${S[@]}"
cp -R "$BUNDLE" "$T/withlink" && ln -s /etc/passwd "$T/withlink/passwd"
expect_exit 1 "symlink in the bundle dir refused" "$HP" --quiet release "${A[@]}" --version 2.0.0 --target-binary '*' \
    --bundle-dir "$T/withlink" "${S[@]}"
if command -v runuser >/dev/null && runuser -u nobody -- test -x "$HP" 2>/dev/null; then
    cp -R "$BUNDLE" "$T/locked" && chmod 000 "$T/locked/raw"
    cp "$T/keys/release.key" "$T/nobody.key" && chown nobody "$T/nobody.key" && chmod 600 "$T/nobody.key"
    expect_exit 3 "unreadable directory inside the bundle dir (as nobody)" runuser -u nobody -- env \
        XDG_CONFIG_HOME="$T/cfg-nobody" TMPDIR=/tmp "$HP" --quiet release "${A[@]}" --version 2.0.0 --target-binary '*' \
        --bundle-dir "$T/locked" --signing-key "$T/nobody.key" --dry-run
else
    echo "ok $((_tap_n += 1)) # skip runuser/nobody cannot run $HP here"
fi
expect_exit 2 "bad target range" "$HP" --quiet release "${A[@]}" --version 2.0.0 --target-binary '>=banana' \
    --bundle-dir "$BUNDLE" "${S[@]}"
expect_exit 2 "rollout over 100%" "$HP" rollout "${A[@]}" --percent 101 "${S[@]}"
expect_exit 2 "unknown option" "$HP" release --frobnicate "${S[@]}"
expect_exit 2 "unknown command" "$HP" frobnicate
expect_exit 2 "no storage and no endpoint" "$HP" --quiet release "${A[@]}" --version 2.0.0 --target-binary '*' \
    --bundle-dir "$BUNDLE"
expect_exit 2 "storage url with an unknown scheme" "$HP" --quiet release "${A[@]}" --version 2.0.0 --target-binary '*' \
    --bundle-dir "$BUNDLE" --storage "ftp://x"
expect_exit 7 "manifest show of a channel never released" "$HP" manifest show "${A[@]}" --channel nope "${S[@]}"
is "$(snapshot "$ST")" "$BEFORE" "storage unchanged by all the refused commands"

# tampered manifest: flip one byte inside the signed payload
cp "$MAN" "$T/man.bak"
python3 - "$MAN" <<'PY'
import json, sys
p = sys.argv[1]; env = json.load(open(p))
env["payload"] = env["payload"].replace('"rollout_bp":10000', '"rollout_bp":10001', 1)
open(p, "w").write(json.dumps(env, separators=(",", ":")))
PY
expect_exit 5 "tampered manifest: manifest show refuses" "$HP" manifest show "${A[@]}" "${S[@]}"
TAMPERED=$(sha256sum <"$MAN")
expect_exit 5 "tampered manifest: release refuses to build on it" "$HP" --quiet release "${A[@]}" --version 2.0.0 \
    --target-binary '*' --bundle-dir "$BUNDLE" "${S[@]}"
is "$(sha256sum <"$MAN")" "$TAMPERED" "tampered manifest not overwritten"
cp "$T/man.bak" "$MAN"
echo '{"payload":' >"$MAN.trunc" && mv "$MAN.trunc" "$MAN"
expect_exit 1 "truncated manifest: clear error" "$HP" manifest show "${A[@]}" "${S[@]}"
cp "$T/man.bak" "$MAN"
ok "restored manifest verifies again" "$HP" manifest show "${A[@]}" "${S[@]}"

# --- --json errors ---
"$HP" --json rollout "${A[@]}" --percent 200 "${S[@]}" >"$T/err.json" 2>"$T/err.stderr"
is "$?" 2 "--json usage error exits 2"
is "$(jget "$T/err.json" 'sorted(j["error"].keys())')" "['code', 'exit_code', 'message']" "--json error object"
is "$(wc -l <"$T/err.json")" 1 "--json: exactly one line on stdout"
is "$(wc -c <"$T/err.stderr")" 0 "--json: nothing on stderr"

# --- settings: flags > env > config; login/logout ---
mkdir -p "$T/stA" "$T/stB" "$T/stC"
"$HP" config set storage "file://$T/stA"
"$HP" config set app demo
"$HP" config set platform android
is "$(stat -c %a "$XDG_CONFIG_HOME/hotpatch/config")" 600 "config file is 0600"
ok "config storage used" "$HP" --quiet release --version 3.0.0 --target-binary '*' --bundle-dir "$BUNDLE"
ok "env overrides config" env HOTPATCH_STORAGE="file://$T/stB" "$HP" --quiet release --version 3.0.0 --target-binary '*' --bundle-dir "$BUNDLE"
ok "flag overrides env" env HOTPATCH_STORAGE="file://$T/stB" "$HP" --quiet release --version 3.0.0 --target-binary '*' \
    --bundle-dir "$BUNDLE" --storage "file://$T/stC"
is "$(ls "$T"/stA/manifests/demo/android "$T"/stB/manifests/demo/android "$T"/stC/manifests/demo/android | grep -c production.json)" 3 \
    "each layer wrote to its own storage"
expect_exit 6 "login checks the token: publisher unreachable" "$HP" login --endpoint http://127.0.0.1:9 \
    --token hp_test_token_123
ok "nothing stored by the failed login" bash -c "! grep -q hp_test_token_123 '$XDG_CONFIG_HOME/hotpatch/config'"
echo "hp_test_token_123" | "$HP" login --endpoint http://127.0.0.1:9 --token-stdin --no-verify >/dev/null
is "$(grep -c '^token = hp_test_token_123$' "$XDG_CONFIG_HOME/hotpatch/config")" 1 "login stored the token"
ok "login dropped the storage (one mode per layer)" bash -c "! grep -q '^storage' '$XDG_CONFIG_HOME/hotpatch/config'"
ok "whoami: publisher mode, token masked" bash -c "'$HP' whoami | grep -q 'mode:     publisher' && ! '$HP' whoami | grep -q hp_test_token_123"
expect_exit 6 "publisher unreachable: network error" "$HP" --quiet history
ok "logout" "$HP" logout
ok "token gone" bash -c "! grep -q '^token' '$XDG_CONFIG_HOME/hotpatch/config'"
printf 'app = demo\nbogus = 1\n' >"$XDG_CONFIG_HOME/hotpatch/config"
expect_exit 2 "bad config file: line number in the error" "$HP" whoami
case "$LAST_ERR" in *"line 2"*bogus*) r=ok ;; *) r=bad ;; esac
is "$r" ok "config error names line 2 and the key"
ok "--help lists env vars and exit codes" bash -c "'$HP' --help | grep -q HOTPATCH_SIGNING_KEY && '$HP' --help | grep -q '5 verification failed'"
ok "release --help lists its flags" bash -c "'$HP' release --help | grep -q -- '--target-binary'"
done_testing
