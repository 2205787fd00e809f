# common.bash - shared start of the CodePush integration tests (sourced; not a
# test itself): everything tests/integration/cli/common.bash gives, plus CP
# (a dir with the real `code-push` client, tests/harness/codepush_client.sh),
# ACQ (acquisition.js, which drives it), release and manifest keys in $T/keys
# (RELEASE_PUB, MANIFEST_PUB) and HOTPATCH_SIGNING_KEY set to the release key.
. "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"
. "$HP_SRC_DIR/tests/harness/codepush_client.sh"

CP=$(codepush_client_dir) || { echo "not ok 1 - install code-push@$CODEPUSH_VERSION from npm: see above"; echo "1..1"; exit 1; }
keys "$T/keys" || { echo "not ok 1 - keygen"; echo "1..1"; exit 1; }
export HOTPATCH_SIGNING_KEY=$T/keys/release.key
ACQ=$HP_SRC_DIR/tests/integration/codepush/acquisition.js
