#!/usr/bin/env python3
"""Is upgrading to PACKAGE==VERSION safe for my stack? Answered from reports/grid.json.

Run by `nox -s advise -- flask==3.1.1 --pins requirements.txt`; `--help` lists the options.
"""

import sys
from pathlib import Path

# From a source checkout the harness need not be installed to answer.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flask_admin_compat.advise import main

if __name__ == "__main__":
    sys.exit(main())
