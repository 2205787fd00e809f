# patches.sh - differential updates end to end (issue 14): three releases of
# the real fixture app (Metro + hermesc, tests/bench/patch_variants.sh) by
# `hotpatch release` in serverless mode on file:// storage, served by the SDK
# tests' counting static server (httpd.py logs the bytes of every response).
#   - release 3 lists patches from releases 1 and 2, signed content digests
#   - a device on release 1 updates to 3 through a patch: the bytes it
#     downloads are counted and must be below the full zip; the result is
#     the verified bundle (files identical to what was released)
#   - a device whose installed bundle is damaged gets the full zip instead
#   - hostile cases, each falling back to the full bundle with the reason:
#     a patch object that does not match its listed SHA-256; a manifest-key
#     holder who re-signs the manifest to list a patch producing other content
#     (refused by the release key's content digest). Truncated, wrong-base,
#     expanding and path-escaping patches are refused in
#     tests/unit/common/patch_test.c (each also shown to write nothing outside
#     the output dir) and fuzzed by tests/fuzz/common_patch.c.
#   - kill -9 right after the patched bundle is staged, then a rerun
. "$(dirname "$0")/common.bash"
. "$HP_SRC_DIR/tests/bench/patch_variants.sh"
AGENT=$HP_BIN/hotpatch-agent

V=$(TMPDIR=$ORIG_TMPDIR patch_variants) || { echo "ok 1 # SKIP fixture variants unavailable (npm/bundler)"; echo "1..1"; exit 0; }
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key HOTPATCH_MANIFEST_KEY=$T/keys/manifest.key
S=$T/store
mkdir -p "$S"
A=(--app fx --platform android)
rel() { "$HP" --json release "${A[@]}" --version "$1" --target-binary '*' --bundle-dir "$2" --storage "file://$S" >"$T/rel-$1.json" 2>"$T/rel-$1.err"; }

hp_start_httpd "$S"
BASE=http://127.0.0.1:$HTTPD_PORT

agent() { # agent DEVICE ARGS...
    local d=$1
    shift
    "$AGENT" --json --data-dir "$T/dev-$d" "${A[@]}" --channel production --binary-version 1.0.0 --device-id "$d" \
        --trusted-key "$MANIFEST_PUB" --release-key "$RELEASE_PUB" --manifest-base "$BASE" "$@"
}
like() { # like GOT REGEX NAME
    _tap_n=$((_tap_n + 1))
    if printf '%s' "$1" | grep -Eq "$2"; then
        echo "ok $_tap_n - $3"
    else
        _tap_fail=$((_tap_fail + 1))
        echo "not ok $_tap_n - $3"
        printf '#        got: %s\n#   expected: /%s/\n' "$1" "$2"
    fi
}
bytes_since() { # bytes_since LINE PREFIX: bytes sent for paths starting with PREFIX after log line LINE
    tail -n +"$(($1 + 1))" "$S/.log" | awk -v p="GET $2" 'index($0, p) == 1 { sub(/.*sent=/, ""); s += $0 } END { print s + 0 }'
}
loglines() { wc -l <"$S/.log" 2>/dev/null || echo 0; }

ok "release 1 (fixture v0)" rel 1.0.0 "$V/v0"
for d in a b c k; do
    agent $d update >"$T/u-$d.json" 2>"$T/u-$d.err"
    is "$(jget "$T/u-$d.json" 'j["via"]')" full "device $d installs release 1 in full (it lists no patch)"
done
ok "release 2 (one JS line changed)" rel 1.0.1 "$V/v1"
ok "release 3 (+300 lines of JS)" rel 1.0.2 "$V/v2"
is "$(jget "$T/rel-1.0.2.json" 'len(j["release"]["patches"])')" 2 "release 3 lists patches from releases 1 and 2"
is "$(jget "$T/rel-1.0.1.json" 'len(j["release"]["patches"])')" 1 "release 2 lists a patch from release 1"
ZIP=$(jget "$T/rel-1.0.2.json" 'j["release"]["size"]')
ZIP_SHA=$(jget "$T/rel-1.0.2.json" 'j["release"]["sha256"]')

# Device a: release 1 -> 3 through a patch.
n0=$(loglines)
agent a update >"$T/u-a.json" 2>"$T/u-a.err"
is "$(jget "$T/u-a.json" 'j["via"]')" patch "device a updates to release 3 through a patch"
is "$(jget "$T/u-a.json" 'j["installed_version"]')" 1.0.2 "device a runs release 3"
wire=$(bytes_since "$n0" /patches/)
full=$(bytes_since "$n0" /bundles/)
ok "patch bytes on the wire ($wire) are below the full zip ($ZIP)" test "$wire" -gt 0 -a "$wire" -lt "$ZIP"
is "$full" 0 "device a fetched no bundle zip"
diag "one-line + 300-line change: $wire bytes on the wire instead of $ZIP ($((wire * 100 / ZIP))%)"
ok "device a's bundle is exactly release 3's files" diff -r "$V/v2" "$T/dev-a/current"

# Device b: a damaged base matches no patch: full zip.
printf 'x' >>"$T/dev-b/current/raw/keep.xml" 2>/dev/null || printf 'x' >>"$(find "$T/dev-b/current" -type f | head -1)"
n0=$(loglines)
agent b update >"$T/u-b.json" 2>"$T/u-b.err"
like "$(jget "$T/u-b.json" 'j["via"]')" '^full \(no patch: none for base' "device b (damaged base) falls back to the full bundle"
is "$(jget "$T/u-b.json" 'j["installed_version"]')" 1.0.2 "device b runs release 3"
ok "device b's bundle is exactly release 3's files" diff -r "$V/v2" "$T/dev-b/current"
ok "device b downloaded the full zip" test "$(bytes_since "$n0" "/bundles/fx/android/$ZIP_SHA.zip")" -ge "$ZIP"

# Device c: the patch object in storage is replaced: its SHA-256 no longer matches.
P3=$(jget "$T/rel-1.0.2.json" '[p["url"] for p in j["release"]["patches"]]' | tr -d "[]',")
for p in $P3; do # same size, one byte changed
    cp "$S/$p" "$S/$p.orig"
    python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 1; open(sys.argv[1], "wb").write(b)' "$S/$p"
done
agent c update >"$T/u-c.json" 2>"$T/u-c.err"
like "$(jget "$T/u-c.json" 'j["via"]')" '^full \(patch refused: patch does not match its signed SHA-256\)' \
    "a patch not matching its SHA-256 is refused, full bundle instead"
ok "device c's bundle is exactly release 3's files" diff -r "$V/v2" "$T/dev-c/current"
for p in $P3; do mv "$S/$p.orig" "$S/$p"; done

# A manifest-key holder lists a patch that builds other content (here: release 2's
# files), with a correct SHA-256 and size, and re-signs the manifest.
mkdir -p "$T/evil"
"$HP" patch create "$V/v0" "$V/v1" "$T/evil/p" >/dev/null
python3 - "$S/manifests/fx/android/production.json" "$T/keys/manifest.key" "$T/evil/p" "$S" "$HP_SRC_DIR" <<'PY'
import base64, hashlib, json, shutil, sys
sys.path.insert(0, sys.argv[5] + "/manifests/vectors")
import gen
env = json.load(open(sys.argv[1]))
p = json.loads(env["payload"])
key = json.load(open(sys.argv[2]))
seed = base64.b64decode(key["secret_key"])[:32]
data = open(sys.argv[3], "rb").read()
sha = hashlib.sha256(data).hexdigest()
shutil.copy(sys.argv[3], sys.argv[4] + "/patches/fx/android/%s.patch" % sha)
for pe in p["releases"][-1]["patches"]:
    pe.update(sha256=sha, size=len(data), url="patches/fx/android/%s.patch" % sha)
p["sequence"] += 1
payload = gen.canon(p)
env["payload"] = payload.decode()
env["signatures"] = [{"keyid": key["keyid"], "sig": gen.b64(gen.ed25519_sign(seed, gen.CTX_MANIFEST + payload))}]
open(sys.argv[1], "w").write(gen.canon(env).decode())
PY
# device k is on release 1: its patch now yields release 2's files.
agent k update >"$T/u-k.json" 2>"$T/u-k.err"
like "$(jget "$T/u-k.json" 'j["via"]')" 'full \(patch refused: patched bundle of .* does not match its signed content digest\)' \
    "a re-signed manifest listing a patch with other content is refused by the content digest"
ok "device k still ends up with exactly release 3's files" diff -r "$V/v2" "$T/dev-k/current"

# kill -9 right after the patched bundle is staged, then a rerun (a fresh app,
# so the doctored manifest above plays no part).
A=(--app fx2 --platform android)
rel 2.0.0 "$V/v0" >/dev/null
agent kk update >/dev/null 2>&1
rel 2.0.1 "$V/v1" >/dev/null
HOTPATCH_AGENT_FAULT=patch-staged agent kk update >/dev/null 2>&1
is "$?" 137 "agent killed (SIGKILL) right after staging the patched bundle"
agent kk status >"$T/s-kk.json" 2>/dev/null
is "$(jget "$T/s-kk.json" 'j["installed_version"]')" 2.0.0 "after the kill the device still runs release 1, intact"
ok "current/ is release 1's files" diff -r "$V/v0" "$T/dev-kk/current"
agent kk update >"$T/u-kk.json" 2>"$T/u-kk.err"
is "$(jget "$T/u-kk.json" 'j["via"]')" patch "the rerun installs release 2 through the patch"
ok "current/ is exactly release 2's files" diff -r "$V/v1" "$T/dev-kk/current"
done_testing
