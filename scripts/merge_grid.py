#!/usr/bin/env python3
"""Merge reports/cells/*/result.json into reports/grid.json, grid.md and grid.html.

The thin entry CI's merge job runs (`uv run python scripts/merge_grid.py ...`): the same code
as `flask-admin-compat merge` and `nox -s report`; `--help` lists the options.
"""

import sys

from flask_admin_compat.cli import main

if __name__ == "__main__":
    sys.exit(main(["merge", *sys.argv[1:]]))
