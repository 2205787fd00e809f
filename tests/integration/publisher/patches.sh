# patches.sh - differential patches built by the publisher (issue 14 #4)
# end to end: the real `hotpatch` CLI uploads one bundle per release (with the
# content digest its release key signed) to the real hotpatch-publisher (real
# PostgreSQL, file:// storage, HTTP on loopback); the publisher builds the
# patches in the background and re-signs the manifest; a real device
# (hotpatch-agent) updates through them from the storage, served by the SDK
# tests' counting static server (tests/integration/sdk/httpd.py).
#   - a release is served at once with its full bundle and no patch; a patch
#     job that cannot store its patches is retried with a clear error
#   - kill -9 of the publisher while the job is pending; kill -9 of a
#     restarted publisher in the middle of the job, right after it stored the
#     patch (HOTPATCH_FAULT=patch_job_stored:hang holds the worker there); a
#     third start resumes the job: the patch appears in a higher, valid
#     manifest sequence, nothing duplicated, stale scratch directories gone
#   - a device on release 1 updates to release 3 through a patch (bytes on
#     the wire counted, below the full zip) and runs exactly release 3's files
#   - an embedded bundle registered through the publisher: the next release
#     also patches from it, and a fresh install updates through that patch
#   - uploads refused with a clear error and nothing stored: a content_sig
#     that does not verify, a content digest that is not the zip's
. "$(dirname "$0")/../cli/common.bash"

PUB=$HP_BIN/hotpatch-publisher
AGENT=$HP_BIN/hotpatch-agent
if [ ! -x "$PUB" ] || [ ! -x "$AGENT" ]; then
    echo "ok 1 # skip $PUB or $AGENT is not built"
    echo "1..1"
    exit 0
fi
hp_require_pg || exit 1
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key

# Three bundles of a React Native shape: ~200 KB of JS, an asset; v1 changes
# one line, v2 adds 300 lines.
python3 - "$T/b" <<'PY'
import os, sys
root = sys.argv[1]
for v in range(5):  # v3: v2 + one more line; v4: the app's embedded bundle (v0 with another label)
    d = os.path.join(root, "v%d" % v)
    os.makedirs(os.path.join(d, "assets"), exist_ok=True)
    x = 12345
    lines = []
    for i in range(4000):
        x = (x * 1103515245 + 12345) % 2**32
        label = "label 1.2.1" if (i == 2000 and v in (1, 2, 3)) else "label 1.1.9" if (i == 1000 and v == 4) else "label 1.2.0"
        lines.append('function f%d(a){return a*%d+"%s".length;}' % (i, (x >> 8) % 9973, label))
    if v in (2, 3):
        lines += ["export function extra%d(x){return x*%d;}" % (i, i + 7) for i in range(300)]
    if v == 3:
        lines.append("export const FOUR = 4;")
    open(os.path.join(d, "index.android.bundle"), "w").write("\n".join(lines) + "\n")
    open(os.path.join(d, "assets", "logo.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
PY

hp_publisher_db || { echo "not ok 1 - createdb"; echo "1..1"; exit 1; }
S=$T/pst
start_pub() { # start_pub [NAME=VALUE...]: the publisher, patch retries after 1 s (doubling)
    hp_start_publisher HOTPATCH_PATCH_RETRY_DELAY=1 HOTPATCH_PATCH_RETRIES=100 HOTPATCH_RESIGN_INTERVAL=1 \
        HOTPATCH_LOG_LEVEL=debug "$@"
}
hp_start_httpd "$S"
BASE=http://127.0.0.1:$HTTPD_PORT

ok "publisher is up" start_pub
sql() { psql -qtAX "$DBURL" -c "$1" 2>/dev/null; }
joblocks() { sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 4739178 AND
    database = (SELECT oid FROM pg_database WHERE datname = current_database())"; }
OWNER=$(hp_bootstrap_owner)
WRITE=$(hp_new_app "$OWNER" demo)
hp_add_release_key "$OWNER" demo "$RELEASE_PUB" >"$T/key.json"
ok "app and release key registered" grep -q '"keyid"' "$T/key.json"
echo "$WRITE" | "$HP" login --endpoint "$EP" --token-stdin >/dev/null
A=(--app demo --platform android)
rel() { "$HP" --json release "${A[@]}" --version "$1" --target-binary '1.0.x' --bundle-dir "$2" >"$T/rel-$1.json" 2>"$T/rel-$1.err"; }
# the manifest as stored (what devices fetch), verified with the publisher's manifest key
show() { "$HP" --json manifest show "${A[@]}" --storage "file://$S" --trusted-key "$MPUB" >"$T/show.json" 2>"$T/show.err"; }
# patches of release $1 in the manifest the publisher serves (verified with its manifest key): "N SEQUENCE"
listed() {
    show && jget "$T/show.json" '"%d %d" % (next((len(r.get("patches", [])) for r in j["manifest"]["releases"]
        if r["id"] == "'"$1"'"), -1), j["manifest"]["sequence"])'
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
wait_listed() { # wait_listed ID N: until the manifest lists N patches for release ID (30 s)
    local i got
    for i in $(seq 150); do
        got=$(listed "$1")
        [ "${got%% *}" = "$2" ] && { echo "$got"; return 0; }
        sleep 0.2
    done
    echo "$got"
    return 1
}
agent() { # agent DEVICE ARGS...
    local d=$1
    shift
    "$AGENT" --json --data-dir "$T/dev-$d" "${A[@]}" --channel production --binary-version 1.0.0 --device-id "$d" \
        --trusted-key "$MPUB" --release-key "$RELEASE_PUB" --manifest-base "$BASE" "$@"
}
bytes_since() { # bytes_since LINE PREFIX: bytes served for paths starting with PREFIX after log line LINE
    tail -n +"$(($1 + 1))" "$S/.log" | awk -v p="GET $2" 'index($0, p) == 1 { sub(/.*sent=/, ""); s += $0 } END { print s + 0 }'
}
nobj() { find "$S/patches" -type f -name '*.patch' 2>/dev/null | wc -l; }

# Release 1: nothing to patch from; a device installs it in full.
ok "release 1 through the publisher" rel 1.0.0 "$T/b/v0"
R1=$(jget "$T/rel-1.0.0.json" 'j["release"]["id"]')
is "$(jget "$T/rel-1.0.0.json" 'len(j["release"]["content_sha256"])')" 64 "the publisher stored release 1's signed content digest"
for d in a b; do
    agent $d update >"$T/u-$d.json" 2>"$T/u-$d.err"
    is "$(jget "$T/u-$d.json" 'j["via"]')" full "device $d installs release 1 in full"
done

# Release 2 while patch storage fails (a file where the patches/ tree goes): served at once, no patch.
: >"$S/patches"
ok "release 2 (one JS line changed)" rel 1.0.1 "$T/b/v1"
R2=$(jget "$T/rel-1.0.1.json" 'j["release"]["id"]')
SEQ2=$(jget "$T/rel-1.0.1.json" 'j["manifest"]["published_sequence"]')
got=$(listed "$R2")
is "${got%% *}" 0 "the manifest serves release 2 at once, with its full bundle and no patch"
is "$(jget "$T/show.json" '[r["content_sha256"] for r in j["manifest"]["releases"] if r["id"] == "'"$R2"'"][0]')" \
    "$(jget "$T/rel-1.0.1.json" 'j["release"]["content_sha256"]')" "with the content digest the release key signed"
for _ in $(seq 100); do [ "$(sql "SELECT attempts FROM patch_jobs WHERE release_id = '$R2'")" -ge 2 ] 2>/dev/null && break; sleep 0.1; done
is "$(sql "SELECT state || ' ' || (attempts >= 2) FROM patch_jobs WHERE release_id = '$R2'")" "pending true" \
    "the patch job failed and is being retried"
like "$(sql "SELECT last_error FROM patch_jobs WHERE release_id = '$R2'")" \
    "^cannot store patch 'patches/demo/android/[0-9a-f]{64}\.patch': cannot create directory '.*/patches': a file is in the way$" \
    "with a clear error kept on the job"
ok "the publisher log says it will retry" grep -q "patch job $R2: attempt .* failed: .*(will retry)" "$T/publisher.log"
curl -s "$EP/v1/releases/$R2" -H "Authorization: Bearer $WRITE" >"$T/r2.json"
is "$(jget "$T/r2.json" '(j["release"]["patch_job"]["state"], "a file is in the way" in j["release"]["patch_job"]["last_error"])')" \
    "('pending', True)" "GET /v1/releases/:id shows the pending job and its error"

# kill -9 while the job is pending; storage repaired; the restarted publisher is killed -9 in the middle
# of the job: its patch is stored, nothing recorded yet (HOTPATCH_FAULT=patch_job_stored:hang stops the
# worker thread right there, the HTTP side keeps serving).
kill -9 "$PUBPID"
wait "$PUBPID" 2>/dev/null
is "$?" 137 "publisher killed with SIGKILL while the job was pending"
rm -f "$S/patches"
# the retry delay doubled with every failed attempt: make the job due now rather than wait it out
sql "UPDATE patch_jobs SET run_after = now() WHERE release_id = '$R2'" >/dev/null
ok "publisher restarted (to be killed mid-job)" start_pub HOTPATCH_FAULT=patch_job_stored:hang
for _ in $(seq 300); do grep -q "HOTPATCH_FAULT: hanging at 'patch_job_stored'" "$T/publisher.log" && break; sleep 0.1; done
ok "the worker reached the point where the patch is stored, nothing recorded" \
    grep -q "HOTPATCH_FAULT: hanging at 'patch_job_stored'" "$T/publisher.log"
is "$(joblocks)" 1 \
    "its job lock is held while it works"
ok "a scratch directory is in use" bash -c "ls '$T/pubtmp' | grep -q '^hotpatch-patchjob-'"
kill -9 "$PUBPID"
wait "$PUBPID" 2>/dev/null
is "$?" 137 "publisher killed with SIGKILL in the middle of the job"
PUBPID=
STORED=$(nobj)
is "$STORED" 1 "the patch object is in storage"
is "$(sql "SELECT count(*) FROM release_patches WHERE release_id = '$R2'")" 0 "and nothing is recorded"
is "$(sql "SELECT state FROM patch_jobs WHERE release_id = '$R2'")" pending "the job is still pending"
for _ in $(seq 50); do [ "$(joblocks)" = 0 ] && break; sleep 0.1; done
is "$(joblocks)" 0 \
    "its lock went with the killed publisher's connection"
got=$(listed "$R2")
is "${got%% *}" 0 "the manifest still serves release 2 with its full bundle only"

# A third start resumes the job: the patch appears in a higher, verified sequence; nothing duplicated.
ok "publisher restarted" start_pub
got=$(wait_listed "$R2" 1)
is "${got%% *}" 1 "the manifest lists release 2's patch after the restart"
ok "in a higher sequence ($SEQ2 -> ${got#* })" test "${got#* }" -gt "$SEQ2"
is "$(nobj)" "$STORED" "no duplicate object: the re-run wrote the same content-addressed patch"
is "$(sql "SELECT count(*) || ' ' || min(state) || ' ' || min(patches) FROM patch_jobs WHERE release_id = '$R2'")" \
    "1 done 1" "one job row, done, one patch"
curl -s "$EP/v1/releases/$R2" -H "Authorization: Bearer $WRITE" >"$T/r2.json"
is "$(jget "$T/r2.json" '(j["release"]["patch_job"]["state"], j["release"]["patch_job"]["patches"], "last_error" in j["release"]["patch_job"])')" \
    "('done', 1, False)" "GET /v1/releases/:id shows the job done with one patch"
ok "stale scratch directories of the killed publishers were removed" \
    bash -c "! ls '$T/pubtmp' | grep -q '^hotpatch-patchjob-'"

# Release 3: patches from releases 1 and 2, then a device on release 1 updates through one.
ok "release 3 (+300 lines of JS)" rel 1.0.2 "$T/b/v2"
R3=$(jget "$T/rel-1.0.2.json" 'j["release"]["id"]')
got=$(wait_listed "$R3" 2)
is "${got%% *}" 2 "release 3 gains patches from releases 1 and 2"
ZIP=$(jget "$T/rel-1.0.2.json" 'j["release"]["size"]')
n0=$(wc -l <"$S/.log")
agent a update >"$T/u-a.json" 2>"$T/u-a.err"
is "$(jget "$T/u-a.json" 'j["via"]')" patch "device a (on release 1) updates to release 3 through a patch"
is "$(jget "$T/u-a.json" 'j["installed_version"]')" 1.0.2 "device a runs release 3"
wire=$(bytes_since "$n0" /patches/)
is "$(bytes_since "$n0" /bundles/)" 0 "device a fetched no bundle zip"
ok "patch bytes on the wire ($wire) are below the full zip ($ZIP)" test "$wire" -gt 0 -a "$wire" -lt "$ZIP"
diag "release 1 -> 3: $wire bytes on the wire instead of $ZIP ($((wire * 100 / ZIP))%)"
ok "device a's bundle is exactly release 3's files" diff -r "$T/b/v2" "$T/dev-a/current"
printf 'x' >>"$T/dev-b/current/index.android.bundle"
agent b update >"$T/u-b.json" 2>"$T/u-b.err"
like "$(jget "$T/u-b.json" 'j["via"]')" '^full' "device b (damaged base) falls back to the full bundle"
ok "device b's bundle is exactly release 3's files" diff -r "$T/b/v2" "$T/dev-b/current"

# An embedded bundle registered through the publisher: the next release also patches from it, and a
# fresh install of that binary (no release installed yet) updates through that patch.
"$HP" --json embedded add "${A[@]}" --binary-version 1.0.0 --bundle-dir "$T/b/v4" >"$T/emb.json" 2>"$T/emb.err"
is "$?" 0 "the embedded bundle of binary 1.0.0 registered through the publisher"
ok "release 4 (one more line)" rel 1.0.3 "$T/b/v3"
R4=$(jget "$T/rel-1.0.3.json" 'j["release"]["id"]')
got=$(wait_listed "$R4" 4)
is "${got%% *}" 4 "release 4 gains patches from releases 3, 2, 1 and the embedded bundle"
is "$(sql "SELECT count(*) FROM release_patches WHERE release_id = '$R4' AND base_label = 'embedded bundle of binary 1.0.0'")" 1 \
    "one of them from the embedded bundle of binary 1.0.0"
n0=$(wc -l <"$S/.log")
agent f update --embedded-dir "$T/b/v4" >"$T/u-f.json" 2>"$T/u-f.err"
is "$(jget "$T/u-f.json" '(j["via"], j["installed_version"])')" "('patch', '1.0.3')" \
    "a fresh install (embedded bundle only) updates to release 4 through the embedded patch"
ZIP4=$(jget "$T/rel-1.0.3.json" 'j["release"]["size"]')
wire=$(bytes_since "$n0" /patches/)
ok "its patch bytes ($wire) are below the full zip ($ZIP4)" test "$wire" -gt 0 -a "$wire" -lt "$ZIP4"
is "$(bytes_since "$n0" /bundles/)" 0 "no bundle zip fetched"
ok "the fresh device's bundle is exactly release 4's files" diff -r "$T/b/v3" "$T/dev-f/current"

# Uploads that must be refused: a content_sig that does not verify, a content digest that is not the zip's.
cp -r "$T/b/v2" "$T/b/v9" && echo 'one more file' >"$T/b/v9/assets/notes.txt"
"$HP" --json release "${A[@]}" --version 9.9.9 --target-binary '1.0.x' --bundle-dir "$T/b/v9" --dry-run \
    --zip-out "$T/bad.zip" >"$T/dry.json" 2>/dev/null
upload() { # upload CASE: multipart POST /v1/releases of bad.zip with doctored content members -> "STATUS CODE"
    python3 - "$1" "$T/dry.json" "$T/bad.zip" "$T/keys/release.key" "$T/b/v0" "$HP_SRC_DIR" >"$T/meta-$1.json" <<'PY'
import base64, hashlib, io, json, os, sys, zipfile
case, dry, zpath, keyf, other, src = sys.argv[1:7]
sys.path.insert(0, src + "/manifests/vectors")
import gen
d = json.load(open(dry))
def digest_zip(p):
    z = zipfile.ZipFile(p)
    lines = sorted((i.filename, z.read(i)) for i in z.infolist() if not i.filename.endswith("/"))
    return hashlib.sha256(b"".join(b"%s %d %s\n" % (hashlib.sha256(b).hexdigest().encode(), len(b), n.encode()) for n, b in lines)).digest()
def digest_dir(p):
    out = []
    for r, _, fs in os.walk(p):
        for f in fs:
            full = os.path.join(r, f)
            out.append((os.path.relpath(full, p), open(full, "rb").read()))
    out.sort()
    return hashlib.sha256(b"".join(b"%s %d %s\n" % (hashlib.sha256(b).hexdigest().encode(), len(b), n.encode()) for n, b in out)).digest()
seed = base64.b64decode(json.load(open(keyf))["secret_key"])[:32]
sign = lambda dg: gen.b64(gen.ed25519_sign(seed, b"hotpatch-content-v1\n" + dg))
real, wrong = digest_zip(zpath), digest_dir(other)
meta = {"app": "demo", "platform": "android", "channel": "production", "version": "9.9.9", "target_binary": "1.0.x",
        "sha256": d["sha256"], "size": d["size"], "bundle_sig": d["bundle_sig"], "bundle_keyid": d["bundle_keyid"]}
if case == "badsig":    # the zip's real digest, signed over another digest
    meta.update(content_sha256=real.hex(), content_sig=sign(wrong))
elif case == "mismatch":  # another bundle's digest, validly signed: not what the zip holds
    meta.update(content_sha256=wrong.hex(), content_sig=sign(wrong))
elif case == "good":
    meta.update(content_sha256=real.hex(), content_sig=sign(real))
print(json.dumps(meta))
PY
    curl -s -o "$T/up-$1.json" -w '%{http_code}' -X POST "$EP/v1/releases" -H "Authorization: Bearer $WRITE" \
        -F "metadata=<$T/meta-$1.json;type=application/json" -F "bundle=@$T/bad.zip;type=application/zip"
    printf ' %s' "$(jget "$T/up-$1.json" 'j["error"]["code"] if "error" in j else "-"')"
}
nrel=$(sql "SELECT count(*) FROM releases")
is "$(upload badsig)" "400 bad_content_signature" "a content_sig that does not verify with the release key is refused"
diag "$(jget "$T/up-badsig.json" 'j["error"]["message"]')"
is "$(upload mismatch)" "400 content_mismatch" "a content digest that is not the zip's is refused (the field is never trusted)"
diag "$(jget "$T/up-mismatch.json" 'j["error"]["message"]')"
is "$(sql "SELECT count(*) FROM releases")" "$nrel" "nothing recorded for the refused uploads"
ok "and their bundle was not stored" test ! -e "$S/bundles/demo/android/$(jget "$T/dry.json" 'j["sha256"]').zip"
is "$(upload good)" "201 -" "the same upload with a true, signed content digest is accepted"
done_testing
