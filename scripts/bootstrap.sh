#!/bin/sh
# Set up a fresh machine for the harness: uv (which brings the right Python packages itself),
# Debian's Chromium for the test that looks at grid.html in a real browser, and a PostgreSQL
# server for the cells and tests that run against a real database.
# Safe to run again: it installs only what is missing.
set -eu

if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet uv
fi

missing=""
# The browser test drives the system Chromium (never a downloaded browser build).
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
# Debian keeps the server binaries in /usr/lib/postgresql/<major>/bin, off PATH.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        # shellcheck disable=SC2086 # one word per package, on purpose
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "bootstrap: not installed:$missing (needs root on Debian);" \
             "the tests that need them will be skipped" >&2
    fi
fi
