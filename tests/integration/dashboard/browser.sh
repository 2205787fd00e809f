#!/usr/bin/env bash
# browser.sh - run the dashboard's real-browser test (browser_test.py) with
# Debian's python3 (python3-selenium), chromium and chromedriver; all three
# come from mk/deps.sh (make deps). Prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
missing=
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/bin/chromedriver ] || missing="$missing chromium-driver"
/usr/bin/python3 -c 'import selenium' 2>/dev/null || missing="$missing python3-selenium"
if [ -n "$missing" ]; then
    echo "not ok 1 - the browser test needs:$missing (make deps installs them)"
    echo "1..1"
    exit 1
fi
exec /usr/bin/python3 "$here/browser_test.py"
