"""``changes.xml``: an Atom feed (RFC 4287) of what each merge changed in the grid.

One entry per merge that changed something (regressions, fixes, other verdict changes, new and
gone cells), newest first; the entries of the feed being replaced are kept, up to
:data:`KEPT`, so that a reader polling now and then misses nothing. Built with ElementTree,
which escapes every text it is given: cell ids, verdicts and check names come from runs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from flask_admin_compat.grid.model import CellChange, Changes, Grid

FEED_FILE = "changes.xml"
ATOM = "http://www.w3.org/2005/Atom"
KEPT = 50
_FEED_ID = "urn:flask-admin-compat:grid-changes"


def _tag(name: str) -> str:
    return f"{{{ATOM}}}{name}"


def previous_entries(path: Path) -> tuple[ET.Element, ...]:
    """The entries of the feed about to be replaced; none where it is missing or unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return ()
    return tuple(root.findall(_tag("entry")))


def render_feed(grid: Grid, kept: Sequence[ET.Element] = ()) -> str:
    """The feed's text: this merge's entry (if anything changed) before the kept ones."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(_tag("feed"))
    _text(feed, "id", _FEED_ID)
    _text(feed, "title", "flask-admin-compat: changes of the compatibility grid")
    _text(feed, "updated", grid.generated_at)
    author = ET.SubElement(feed, _tag("author"))
    _text(author, "name", f"flask-admin-compat {grid.harness_version}")
    ET.SubElement(feed, _tag("link"), {"rel": "alternate", "href": "grid.html"})
    entries: list[ET.Element] = []
    if grid.changes is not None and not grid.changes.empty:
        entries.append(_entry(grid, grid.changes))
    new_ids = {e.findtext(_tag("id")) for e in entries}
    entries += [e for e in kept if e.findtext(_tag("id")) not in new_ids]
    feed.extend(entries[:KEPT])
    ET.indent(feed, space=" ")
    return ET.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    node = ET.SubElement(parent, _tag(name))
    node.text = xml_safe(text)
    return node


# Characters XML 1.0 has no way to write, escaped or not: ElementTree would write them as they
# are, and every parser would refuse the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML cannot hold (ElementTree escapes the rest)."""
    return _NOT_XML.sub("\ufffd", text)


def _entry(grid: Grid, changes: Changes) -> ET.Element:
    entry = ET.Element(_tag("entry"))
    _text(entry, "id", f"{_FEED_ID}:{grid.generated_at}")
    _text(entry, "title", headline(changes))
    _text(entry, "updated", grid.generated_at)
    ET.SubElement(entry, _tag("link"), {"rel": "alternate", "href": "grid.html"})
    _text(entry, "content", "\n".join(_lines(changes))).set("type", "text")
    return entry


def headline(changes: Changes) -> str:
    """``2 regressions, 1 fix since 2026-12-01T12:59:44+00:00``."""
    parts = [
        _count(len(changes.regressions), "regression"),
        _count(len(changes.fixes), "fix"),
        _count(len(changes.other), "other change"),
        _count(len(changes.new), "new cell"),
        _count(len(changes.gone), "cell gone", plural="cells gone"),
    ]
    shown = ", ".join(p for p in parts if p)
    return f"{shown} since {changes.previous_generated_at}"


def _count(n: int, word: str, *, plural: str | None = None) -> str:
    if not n:
        return ""
    many = plural or (word + ("es" if word.endswith("x") else "s"))
    return f"{n} {word if n == 1 else many}"


def _lines(changes: Changes) -> list[str]:
    groups: tuple[tuple[str, tuple[CellChange, ...]], ...] = (
        ("regression", changes.regressions),
        ("fix", changes.fixes),
        ("other", changes.other),
        ("new", changes.new),
        ("gone", changes.gone),
    )
    lines = []
    for kind, items in groups:
        for change in items:
            line = f"{kind}: {change.cell_id}: {change.before or 'new'} -> {change.after or 'gone'}"
            if change.checks:
                line += f" ({', '.join(change.checks)})"
            lines.append(line)
    return lines
