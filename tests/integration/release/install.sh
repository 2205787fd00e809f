#!/usr/bin/env bash
# install.sh - what `make install` hands to a packager and to a developer
# who links libhotpatch:
#   * the files: programs, libhotpatch.a, libhotpatch.so.X.Y.Z with its .so.X
#     and .so links, hotpatch.h (+ hotpatch_version.h), hotpatch.pc, systemd
#     units, man pages in their sections, bash completion;
#   * one version everywhere: VERSION = every program's --version = the
#     library file name = hotpatch.pc = HP_VERSION_STRING = hp_version();
#   * the SONAME (readelf -d) is libhotpatch.so.MAJOR, and programs linked
#     against it record that name;
#   * pkg-config --cflags --libs hotpatch against the DESTDIR tree
#     (PKG_CONFIG_SYSROOT_DIR) compiles, links and runs a small C program
#     (and a static link through Requires.private); the header is C++-clean;
#   * the man pages render without a groff warning;
#   * the completion file sources in bash and completes commands and options.
# tests/integration/terraform/packaging.sh covers units, uninstall, Docker
# and the Lambda zip.
set -u
. "${HP_SRC_DIR:?}/tests/lib/tap.sh"
src=$HP_SRC_DIR
build=${HP_BUILD:-build}
case "$build" in /*) bdir=$build ;; *) bdir=$src/$build ;; esac
work=$(mktemp -d /tmp/hp-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
version=$(cat "$src/VERSION")
major=${version%%.*}
dest=$work/dest
prefix=/usr/local
root=$dest$prefix

ok "make install PREFIX=$prefix DESTDIR=..." make -s -C "$src" B="$build" install PREFIX="$prefix" DESTDIR="$dest"

# ---------------------------------------------------------------- files
for p in hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent; do
    ok "bin/$p installed and executable" test -x "$root/bin/$p" -a -f "$root/bin/$p"
done
ok "lib/libhotpatch.a" test -f "$root/lib/libhotpatch.a"
ok "lib/libhotpatch.so.$version is the library file" test -f "$root/lib/libhotpatch.so.$version" -a ! -L "$root/lib/libhotpatch.so.$version"
is "$(readlink "$root/lib/libhotpatch.so.$major")" "libhotpatch.so.$version" "libhotpatch.so.$major -> libhotpatch.so.$version"
is "$(readlink "$root/lib/libhotpatch.so")" "libhotpatch.so.$major" "libhotpatch.so -> libhotpatch.so.$major (relative links)"
ok "include/hotpatch.h is the source header" cmp -s "$src/sdk/include/hotpatch.h" "$root/include/hotpatch.h"
ok "include/hotpatch_version.h" test -f "$root/include/hotpatch_version.h"
ok "lib/pkgconfig/hotpatch.pc" test -f "$root/lib/pkgconfig/hotpatch.pc"
for u in hotpatch-publisher hotpatch-edge; do
    ok "systemd unit $u.service" test -f "$root/lib/systemd/system/$u.service"
done
for m in man1/hotpatch.1 man1/hotpatch-agent.1 man8/hotpatch-publisher.8 man8/hotpatch-edge.8; do
    ok "man page share/man/$m" test -s "$root/share/man/$m"
done
ok "bash completion share/bash-completion/completions/hotpatch" test -f "$root/share/bash-completion/completions/hotpatch"
nok "no DESTDIR in the installed text files" grep -rl "$dest" "$root/lib/pkgconfig" "$root/lib/systemd" "$root/share"
nok "no @PLACEHOLDER@ left in hotpatch.pc" grep -q '@[A-Z]*@' "$root/lib/pkgconfig/hotpatch.pc"

# ---------------------------------------------------------------- one version
for p in hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent; do
    out=$("$root/bin/$p" --version 2>&1)
    rc=$?
    is "$rc:$(awk '{print $1 " " $2; exit}' <<<"$out")" "0:$p $version" "$p --version prints the VERSION file's $version"
done
ok "hotpatch-agent --version names the library version too" grep -q "(libhotpatch $version)" <(LD_LIBRARY_PATH= "$root/bin/hotpatch-agent" --version)
ok "hotpatch_version.h defines HP_VERSION_STRING from VERSION" grep -q "^#define HP_VERSION_STRING \"$version\"$" "$root/include/hotpatch_version.h"
is "$(grep -rhoE '"[0-9]+\.[0-9]+\.[0-9]+"' "$src/cli/main.c" "$src/publisher/main.c" "$src/edge-check/main.c" "$src/sdk/agent.c" "$src/sdk/include/hotpatch.h" "$src/sdk/client.c" | head -1)" "" \
    "no version literal left in the sources (VERSION is the only one)"

# ---------------------------------------------------------------- SONAME
so=$root/lib/libhotpatch.so.$version
is "$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" "libhotpatch.so.$major" "readelf -d: SONAME libhotpatch.so.$major"
is "$(readelf -d "$root/bin/hotpatch-agent" | sed -n 's/.*(NEEDED).*\[\(libhotpatch[^]]*\)\]/\1/p')" "libhotpatch.so.$major" \
    "hotpatch-agent needs libhotpatch.so.$major (the SONAME), not the unversioned link"
is "$(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | grep -vc '^hp_')" "0" "the library exports hp_* functions only"

# ---------------------------------------------------------------- pkg-config
export PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$root/lib/pkgconfig
is "$(pkg-config --modversion hotpatch 2>&1)" "$version" "pkg-config --modversion hotpatch"
cflags=$(pkg-config --cflags hotpatch 2>&1)
libs=$(pkg-config --libs hotpatch 2>&1 | xargs)
ok "pkg-config --cflags points into the installed tree ($cflags)" grep -q -- "-I$root/include" <<<"$cflags"
is "$libs" "-L$root/lib -lhotpatch" "pkg-config --libs hotpatch"
cat >"$work/t.c" <<'C'
#include <hotpatch.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    /* The header's version is the library's, and a typed offer kind. */
    hp_offer_type k = hp_offer_kind(NULL);
    if (strcmp(hp_version(), HP_VERSION_STRING) != 0 || k != HP_OFFER_NONE)
        return 1;
    printf("%s|%s|%d.%d.%d\n", hp_version(), hp_strerror(HP_E_VERIFY), HP_VERSION_MAJOR, HP_VERSION_MINOR,
           HP_VERSION_PATCH);
    return 0;
}
C
# shellcheck disable=SC2086
ok "a program compiles and links with \$(pkg-config --cflags --libs hotpatch)" \
    cc -std=c11 -Wall -Werror -o "$work/t" "$work/t.c" $(pkg-config --cflags --libs hotpatch)
is "$(readelf -d "$work/t" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(libhotpatch[^]]*\)\]/\1/p')" "libhotpatch.so.$major" "the program records libhotpatch.so.$major"
loaded=$(LD_LIBRARY_PATH=$root/lib ldd "$work/t" 2>/dev/null | awk '$1 == "libhotpatch.so.'"$major"'" {print $3}')
is "$(readlink -f "$loaded")" "$(readlink -f "$so")" "the program loads the installed library"
out=$(LD_LIBRARY_PATH=$root/lib "$work/t" 2>&1)
rc=$?
ok "it runs: hp_version() = HP_VERSION_STRING = VERSION, hp_strerror() gives text ($rc: $out)" \
    grep -Eqx -e "0:$version[|][a-z][a-z ,/-]+[|]$version" <<<"$rc:$out"
# Static: libhotpatch.a needs exactly what hotpatch.pc lists as private
# (a missing entry is an undefined reference here). The dependencies are
# the system's own, so they are resolved without the sysroot.
private=$(pkg-config --print-requires-private hotpatch | xargs)
is "$private" "jansson libsodium libcurl libzip libzstd" "hotpatch.pc: Requires.private"
# shellcheck disable=SC2086
ok "static link: libhotpatch.a + the Requires.private libraries" \
    cc -std=c11 -o "$work/ts" "$work/t.c" $(pkg-config --cflags hotpatch) "$root/lib/libhotpatch.a" \
    $(env -u PKG_CONFIG_SYSROOT_DIR pkg-config --libs $private) -lpthread -lm
ok "the statically linked program runs" bash -c "'$work/ts' | grep -q '^$version|'"
nok "the static program does not need libhotpatch.so" bash -c "readelf -d '$work/ts' | grep -q 'libhotpatch'"
if command -v c++ >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    ok "hotpatch.h compiles as C++ (extern \"C\")" c++ -fsyntax-only -Wall -Werror -x c++ $(pkg-config --cflags hotpatch) - <<<'#include <hotpatch.h>
int main() { return hp_version() == nullptr; }'
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH

# ---------------------------------------------------------------- man pages
for m in man1/hotpatch.1 man1/hotpatch-agent.1 man8/hotpatch-publisher.8 man8/hotpatch-edge.8; do
    f=$root/share/man/$m
    n=$(basename "$m")
    is "$(sed -n 's/^\.TH \([^ ]*\) \([0-9]\) .*/\1 \2/p' "$f")" "$(tr 'a-z' 'A-Z' <<<"${n%.*}") ${n##*.}" "$n: .TH names the page and its section"
    ok "$n: the page carries version $version" grep -Eq "^\.TH .*\"${n%.*} $version[ \"]" "$f"
    if command -v groff >/dev/null 2>&1; then
        is "$(groff -man -Tutf8 -ww -z "$f" 2>&1)" "" "$n: groff renders it without a warning"
        txt=$(groff -man -Tutf8 "$f" 2>/dev/null | sed 's/.\x08//g')
        ok "$n: rendered page has NAME, SYNOPSIS, DESCRIPTION" bash -c 'grep -q "^NAME" <<<"$1" && grep -q "^SYNOPSIS" <<<"$1" && grep -q "^DESCRIPTION" <<<"$1"' _ "$txt"
        ok "$n: options are rendered with ASCII hyphens (copyable)" grep -q -- ' --help' <<<"$txt"
    fi
done
if command -v man >/dev/null 2>&1; then
    ok "man -l renders hotpatch(1) with every command's section" bash -c \
        "MANWIDTH=100 man -l '$root/share/man/man1/hotpatch.1' 2>/dev/null | col -b | grep -q '^   manifest resign'"
fi
# The pages follow the programs: every command of `hotpatch --help` has a section.
missing=""
for c in $("$root/bin/hotpatch" --help | awk '/^commands:/ {f = 1; next} f && /^$/ {exit} f {print $1}'); do
    grep -q "^\.SS $c\$" "$root/share/man/man1/hotpatch.1" || missing="$missing $c"
done
is "$missing" "" "hotpatch(1) has a section for every command of hotpatch --help"

# ---------------------------------------------------------------- completion
comp=$root/share/bash-completion/completions/hotpatch
ok "the completion file is valid bash" bash -n "$comp"
is "$(bash -c '. "$1" && complete -p hotpatch' _ "$comp" 2>&1)" "complete -F _hotpatch hotpatch" "sourcing it registers _hotpatch for hotpatch"
# complete WORDS...: what _hotpatch offers for the last word (the installed program).
complete_words() {
    bash -c '. "$1"; shift; prog=$1; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _hotpatch "$prog" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"; [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
        _ "$comp" "$root/bin/hotpatch" "$@"
}
is "$(complete_words hotpatch rel)" "release " "hotpatch rel<TAB> -> release"
is "$(complete_words hotpatch --json rol)" "rollback rollout " "global flags are skipped: hotpatch --json rol<TAB>"
want=$("$root/bin/hotpatch" --help | awk '/^commands:/ {f = 1; next} f && /^$/ {exit} f {print $1}' | { cat; echo help; } | sort | tr '\n' ' ')
is "$(complete_words hotpatch '')" "$want" "hotpatch <TAB> offers every command of hotpatch --help"
is "$(complete_words hotpatch release --targ)" "--target-binary " "hotpatch release --targ<TAB> -> --target-binary"
is "$(complete_words hotpatch manifest '')" "resign retire show " "hotpatch manifest <TAB> -> resign retire show"
is "$(complete_words hotpatch root '')" "init publish revoke rotate show sign " "hotpatch root <TAB> -> its verbs"
is "$(complete_words hotpatch config '')" "get list set unset " "hotpatch config <TAB> -> its verbs"
is "$(complete_words hotpatch release --platform '')" "android ios " "--platform <TAB> -> android ios"
is "$(complete_words hotpatch frobnicate --x)" "" "an unknown command completes nothing"

done_testing
