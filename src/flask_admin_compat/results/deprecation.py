"""Flask-Admin's DeprecationWarnings per pattern, as the scoping suite reports them.

The suite (``tests/scoping/deprecations.py``) notes every warning Flask-Admin's own code gives
while a pattern's app is built or serves requests, and puts each DeprecationWarning on that
pattern's tests as the JUnit property ``deprecation`` (``Category: message``). The property
name is all the two sides share.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

DEPRECATION_PROPERTY = "deprecation"


def parse_deprecations(xml_text: str) -> dict[str, tuple[str, ...]]:
    """Pattern to the DeprecationWarnings noted for it, first seen first; unreadable: none."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return {}  # the outcomes' own reader reports a broken file
    found: dict[str, dict[str, None]] = {}
    for case in root.iter("testcase"):
        props = [(p.get("name"), p.get("value", "")) for p in case.iter("property")]
        pattern = dict(props).get("pattern")
        for name, value in props:
            if name == DEPRECATION_PROPERTY and pattern and value:
                found.setdefault(pattern, {})[value] = None
    return {pattern: tuple(texts) for pattern, texts in found.items()}


def read_deprecations(path: Path) -> dict[str, tuple[str, ...]]:
    try:
        return parse_deprecations(path.read_text(encoding="utf-8"))
    except OSError:
        return {}
