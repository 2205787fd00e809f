#!/usr/bin/env bash
# assets.sh - rules for the dashboard's static files (publisher/dashboard/):
# at most 250 KB gzipped in total; nothing loaded from another origin; no
# inline script or style in the HTML (the CSP forbids them, so they would
# break, not run); no HTML parsing of strings in the scripts (innerHTML and
# friends), so user text can only ever be text. Prints TAP.
set -u
: "${HP_SRC_DIR:=$(cd "$(dirname "$0")/../../.." && pwd)}"
. "$HP_SRC_DIR/tests/lib/tap.sh"
cd "$HP_SRC_DIR/publisher/dashboard" || exit 1

total=$(cat ./*.html ./*.js ./*.css ./*.svg | gzip -9 | wc -c)
ok "the dashboard is $total bytes gzipped (limit 250 KB)" test "$total" -le 256000
# every http(s) URL in the files: only the SVG namespace, never a script, style or font from elsewhere
ext=$(grep -ohE "https?://[^\"' )]+" ./*.html ./*.js ./*.css ./*.svg | grep -v '^http://www.w3.org/2000/svg$' | sort -u)
is "$ext" "" "nothing is loaded from another origin"
nok "index.html has no inline script" grep -qiE '<script[^>]*>[^<]' index.html
nok "index.html has no inline style or event handler" grep -qiE '<style|style=|onload=|onclick=' index.html
nok "the scripts never parse strings as HTML or code" \
    grep -nE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|srcdoc' ./*.js
is "$(grep -c 'type="module"' index.html)" "1" "one ES module entry point, no build step"
done_testing
