#!/usr/bin/env bash
# terraform.sh - checks the Terraform modules offline: formatting, `init`
# against the local provider mirror, `validate`, and `terraform test` with
# mock providers (each run block becomes one TAP line). Also checks the
# module conventions (validated variables, described outputs, pinned aws
# provider, a README) and that a deliberately broken edge policy is caught.
# Works on a temporary copy so no .terraform dir or lock file lands in the
# repository. Skips, with the reason, where terraform or the mirror is absent.
set -u
. "${HP_SRC_DIR:?}/tests/lib/tap.sh"

export TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR

if ! command -v terraform >/dev/null 2>&1; then
    echo "ok 1 - terraform checks # skip terraform is not installed"
    echo "1..1"
    exit 0
fi
mirror_reg=$(find / -maxdepth 4 -type d -name registry.terraform.io 2>/dev/null | head -1)
if [ -z "$mirror_reg" ] || [ -z "$(find "$mirror_reg" -path '*hashicorp/aws*' -name 'terraform-provider-aws*' 2>/dev/null | head -1)" ]; then
    echo "ok 1 - terraform checks # skip no local provider mirror with hashicorp/aws (registry.terraform.io dir)"
    echo "1..1"
    exit 0
fi
plugin_dir=$(dirname "$mirror_reg")
diag "terraform $(terraform version | head -1 | awk '{print $2}'), provider mirror $plugin_dir"
src=$HP_SRC_DIR/terraform
work=$(mktemp -d /tmp/hp-tf.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The copy leaves out anything a local run may have produced.
tar -C "$src" --exclude=.terraform --exclude='.terraform.lock.hcl' --exclude='*.tfstate*' -cf - . | tar -C "$work" -xf -

ok "terraform fmt -check -recursive" terraform fmt -check -recursive -diff "$src"

dirs=()
for d in "$work"/modules/*/ "$work"/examples/*/; do
    [ -f "$d/versions.tf" ] || [ -f "$d/main.tf" ] || continue
    dirs+=("${d%/}")
done
ok "found the modules and examples (${#dirs[@]})" test "${#dirs[@]}" -ge 8

# Conventions every module keeps.
for d in "$work"/modules/*/; do
    m=$(basename "$d")
    ok "module $m: versions.tf pins hashicorp/aws ~> 5.0" grep -Eq 'version *= *"~> 5\.0"' "$d/versions.tf"
    ok "module $m: variables.tf has validation blocks" grep -q 'validation {' "$d/variables.tf"
    n_out=$(grep -c '^output "' "$d/outputs.tf" 2>/dev/null || echo 0)
    n_desc=$(grep -c '^  description *=' "$d/outputs.tf" 2>/dev/null || echo 0)
    is "$n_desc" "$n_out" "module $m: every output ($n_out) has a description"
    ok "module $m: README.md" test -s "$d/README.md"
done

# init + validate + test, two directories at a time (init is mostly I/O,
# the provider start-up is CPU); results are reported in order afterwards.
check_dir() {
    local d=$1 log=$2
    (
        cd "$d" || exit 1
        echo "== init" && terraform init -backend=false -plugin-dir="$plugin_dir" -no-color >"$log.init" 2>&1
        echo "init=$?"
        terraform validate -no-color >"$log.validate" 2>&1
        echo "validate=$?"
        if [ -d tests ]; then
            terraform test -no-color >"$log.test" 2>&1
            echo "test=$?"
        fi
    ) >"$log" 2>&1
}
pids=()
for i in "${!dirs[@]}"; do
    check_dir "${dirs[$i]}" "$work/log.$i" &
    pids+=($!)
    if [ $(((i + 1) % 2)) -eq 0 ]; then wait "${pids[@]}"; pids=(); fi
done
[ "${#pids[@]}" -gt 0 ] && wait "${pids[@]}"

for i in "${!dirs[@]}"; do
    d=${dirs[$i]}
    name=${d#"$work"/}
    log=$work/log.$i
    is "$(grep -o 'init=[0-9]*' "$log")" "init=0" "$name: terraform init -backend=false (provider mirror)"
    [ "$(grep -o 'init=[0-9]*' "$log")" = init=0 ] || sed 's/^/#   /' "$log.init" | tail -15
    is "$(grep -o 'validate=[0-9]*' "$log")" "validate=0" "$name: terraform validate"
    [ "$(grep -o 'validate=[0-9]*' "$log")" = validate=0 ] || sed 's/^/#   /' "$log.validate" | tail -15
    if [ ! -f "$log.test" ]; then
        nok "$name: has terraform tests (tests/*.tftest.hcl)" true
        continue
    fi
    runs=$(grep -cE '^  run "[^"]+"\.\.\. ' "$log.test")
    ok "$name: terraform test ran run blocks ($runs)" test "$runs" -gt 0
    while IFS= read -r line; do
        run=$(sed -E 's/^  run "([^"]+)"\.\.\. .*/\1/' <<<"$line")
        verdict=$(sed -E 's/^  run "[^"]+"\.\.\. (.*)$/\1/' <<<"$line")
        is "$verdict" "pass" "$name: test run $run"
    done < <(grep -E '^  run "[^"]+"\.\.\. ' "$log.test")
    is "$(grep -o 'test=[0-9]*' "$log")" "test=0" "$name: terraform test exit status"
    [ "$(grep -o 'test=[0-9]*' "$log")" = test=0 ] || grep -A6 -E '^Error' "$log.test" | head -40 | sed 's/^/#   /'
done

# The tests must be able to fail: grant the edge s3:PutObject and expect
# the least-privilege assertions to catch it.
mut=$work/mutant
mkdir -p "$mut/modules"
cp -r "$work/modules/iam" "$mut/modules/"
rm -rf "$mut/modules/iam/.terraform"
sed -i '0,/Action   = \["s3:GetObject"\]/s//Action   = ["s3:GetObject", "s3:PutObject"]/' "$mut/modules/iam/main.tf"
ok "mutant: the edge policy now grants s3:PutObject" grep -q '"s3:GetObject", "s3:PutObject"' "$mut/modules/iam/main.tf"
(cd "$mut/modules/iam" && terraform init -backend=false -plugin-dir="$plugin_dir" -no-color >/dev/null 2>&1 &&
    terraform test -no-color >"$mut/test.log" 2>&1)
echo "mutant_rc=$?" >>"$mut/test.log"
nok "mutant: terraform test passes with a writable edge" grep -q 'mutant_rc=0' "$mut/test.log"
ok "mutant: the failure names the write grant" grep -q 'must not grant any write or delete action' "$mut/test.log"

done_testing
