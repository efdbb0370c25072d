"""shields.io endpoint badges: one JSON file per Flask-Admin series and backend install set.

A README elsewhere can show ``Flask-Admin 2.2 + flask-sqlalchemy-lite 0.2.*: workaround``
through shields.io's endpoint badge, pointing it at a file the merge writes; the answer is the
same :func:`~flask_admin_compat.report.choices.what_to_use` the grid opens with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask_admin_compat.grid.model import Grid
from flask_admin_compat.report.choices import Choice, what_to_use

BADGE_DIR = "badges"
#: shields.io's named colours for each verdict (a workaround Flask-Admin deprecates: orange).
COLORS: Mapping[str, str] = {
    "compatible": "brightgreen",
    "workaround": "yellow",
    "incompatible": "red",
    "uninstallable": "lightgrey",
    "error": "lightgrey",
}
DEPRECATED_COLOR = "orange"


def badge(choice: Choice) -> dict[str, Any]:
    """The endpoint JSON of one choice: ``schemaVersion`` 1, label, message and colour."""
    message = choice.verdict
    if choice.verdict == "workaround" and choice.pattern:
        message = f"workaround: {choice.pattern}"
    if choice.deprecation:
        message += " (deprecated)"
    return {
        "schemaVersion": 1,
        "label": f"Flask-Admin {choice.series} + {choice.install_set}",
        "message": message,
        "color": DEPRECATED_COLOR
        if choice.deprecation
        else COLORS.get(choice.verdict, "lightgrey"),
        "isError": choice.verdict == "error",
    }


def badge_name(choice: Choice) -> str:
    """``flask-admin-2.2-flask-sqlalchemy-lite-0.2-with-flask-sqlalchemy-3.1-beside.json``."""
    words = f"flask-admin {choice.series} {choice.install_set}".lower().replace(".*", "")
    return re.sub(r"[^a-z0-9.]+", "-", words).strip("-") + ".json"


def badge_texts(grid: Grid, out_dir: Path) -> dict[Path, str]:
    """Every badge's JSON text by the path it is written to."""
    return {
        out_dir / BADGE_DIR / badge_name(choice): json.dumps(badge(choice), indent=1) + "\n"
        for choice in what_to_use(grid)
    }
