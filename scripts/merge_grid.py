#!/usr/bin/env python3
"""Merge reports/cells/*/result.json into reports/grid.json, grid.md and grid.html.

Run by `nox -s report` and at the end of `nox -s matrix`; `--help` lists the options.
"""

import sys
from pathlib import Path

# From a source checkout the harness need not be installed to merge.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flask_admin_compat.report.outputs import main

if __name__ == "__main__":
    sys.exit(main())
