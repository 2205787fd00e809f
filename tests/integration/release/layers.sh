#!/usr/bin/env bash
# layers.sh - mk/layers.sh, the layering check of `make lint`, on small
# objects built here: it passes a tree whose references point down, and
# reports (exit 1, offending symbol and both objects) a lower layer calling
# an upper one, one program calling another, a library calling its main.o,
# including when the callee sits in a static archive. `make lint` runs it on
# the real tree.
set -u
. "${HP_SRC_DIR:?}/tests/lib/tap.sh"
check=$HP_SRC_DIR/mk/layers.sh
w=$(mktemp -d /tmp/hp-layers.XXXXXX)
trap 'rm -rf "$w"' EXIT
cd "$w" || exit 1
obj() { # obj NAME 'C source'
    printf '%s\n' "$2" >"$1.c" && cc -c -o "$1.o" "$1.c"
}
obj base 'int cmn_base(void) { return 1; }'
obj sdk 'int cmn_base(void); int hp_top(void) { return cmn_base(); }'
obj lib 'int cmn_base(void); int cli_lib(void) { return cmn_base(); }'
obj main 'int cli_lib(void); int hp_top(void); int main(void) { return cli_lib() + hp_top(); }'
obj other 'int cmn_base(void); int edge_lib(void) { return cmn_base(); }'
ar rcs libbase.a base.o
good=(common:-:0:libbase.a sdk:-:1:sdk.o cli:cli:2:lib.o cli-main:cli:3:main.o edge:edge:2:other.o)
out=$(bash "$check" "${good[@]}" 2>&1)
is "$?:$out" "0:" "references that point down pass, silently"

obj base_up 'int hp_top(void); int cmn_base(void) { return hp_top(); }'
ar rcs libbase_up.a base_up.o
out=$(bash "$check" common:-:0:libbase_up.a sdk:-:1:sdk.o 2>&1)
rc=$?
is "$rc" "1" "common -> sdk: exit 1"
ok "common -> sdk: names the symbol and both objects" grep -qx 'layering: libbase_up.a\[base_up.o\] (common) -> sdk.o (sdk): hp_top' <<<"$out"

obj lib_main 'int cmn_base(void); int cli_main_helper(void); int cli_lib(void) { return cmn_base() + cli_main_helper(); }'
obj main2 'int cli_lib(void); int cli_main_helper(void) { return 2; } int main(void) { return cli_lib(); }'
out=$(bash "$check" common:-:0:libbase.a cli:cli:2:lib_main.o cli-main:cli:3:main2.o 2>&1)
is "$?" "1" "library -> its main.o: exit 1"
ok "library -> main.o: reported" grep -qx 'layering: lib_main.o (cli) -> main2.o (cli-main): cli_main_helper' <<<"$out"

obj cross 'int edge_lib(void); int cli_lib(void) { return edge_lib(); }'
out=$(bash "$check" cli:cli:2:cross.o edge:edge:2:other.o common:-:0:libbase.a 2>&1)
is "$?" "1" "one program calling another: exit 1"
ok "program -> program: reported" grep -qx 'layering: cross.o (cli) -> other.o (edge): edge_lib' <<<"$out"

obj sdk_prog 'int cli_lib(void); int hp_top(void) { return cli_lib(); }'
out=$(bash "$check" sdk:-:1:sdk_prog.o cli:cli:2:lib.o common:-:0:libbase.a 2>&1)
is "$?" "1" "sdk -> a program: exit 1"
ok "sdk -> program: reported" grep -q 'sdk_prog.o (sdk) -> lib.o (cli): cli_lib' <<<"$out"

out=$(bash "$check" common:-:0:missing.a 2>&1)
is "$?" "2" "a missing input is an error, not a pass"
out=$(bash "$check" 2>&1)
is "$?" "2" "no units: usage error"

done_testing
