#!/bin/sh
# Set up a fresh machine for the harness: uv (which brings the right Python packages itself)
# and, for the test that looks at grid.html in a real browser, Debian's Chromium.
# Safe to run again: it installs only what is missing.
set -eu

if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet uv
fi

# The browser test drives the system Chromium (never a downloaded browser build).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "bootstrap: chromium is not installed and this is not a root Debian shell;" \
             "the browser test will be skipped" >&2
    fi
fi
