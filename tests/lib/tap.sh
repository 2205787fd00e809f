# tap.sh - TAP helpers for shell integration tests. Source it:
#   . "$HP_SRC_DIR/tests/lib/tap.sh"
#   ok "release lands" test -f "$dir/x"       # runs the command; pass = exit 0
#   is "$(cat f)" "want" "file content"
#   done_testing
# Exit status of done_testing is non-zero when anything failed or nothing ran.
_tap_n=0
_tap_fail=0
ok() {
    local name=$1; shift
    _tap_n=$((_tap_n + 1))
    if "$@" >/tmp/tap.$$.out 2>&1; then
        echo "ok $_tap_n - $name"
    else
        _tap_fail=$((_tap_fail + 1))
        echo "not ok $_tap_n - $name"
        echo "#   command: $*"
        sed 's/^/#   /' /tmp/tap.$$.out | head -20
    fi
    rm -f /tmp/tap.$$.out
}
# nok NAME CMD...: passes when CMD fails (exit non-zero).
nok() {
    local name=$1; shift
    _tap_n=$((_tap_n + 1))
    if "$@" >/tmp/tap.$$.out 2>&1; then
        _tap_fail=$((_tap_fail + 1))
        echo "not ok $_tap_n - $name (command unexpectedly succeeded)"
        echo "#   command: $*"
    else
        echo "ok $_tap_n - $name"
    fi
    rm -f /tmp/tap.$$.out
}
is() {
    _tap_n=$((_tap_n + 1))
    if [ "$1" = "$2" ]; then
        echo "ok $_tap_n - $3"
    else
        _tap_fail=$((_tap_fail + 1))
        echo "not ok $_tap_n - $3"
        printf '#        got: %s\n#   expected: %s\n' "$1" "$2"
    fi
}
diag() { echo "# $*"; }
done_testing() {
    echo "1..$_tap_n"
    [ "$_tap_fail" -eq 0 ] && [ "$_tap_n" -gt 0 ]
}
# free_port: an unused TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}
