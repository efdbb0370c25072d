"""Flask-Admin's own tests, read back from their JUnit XML report: counts and failures.

The scoping suite's outcomes are read from its records instead (:mod:`.records`), which
survive a killed run; JUnit is what upstream's suite, run as it is, can give.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from flask_admin_compat.results.model import (
    FailureOutcome,
    UpstreamCounts,
    UpstreamFailure,
    UpstreamReport,
)

MESSAGE_LIMIT = 2000


class JUnitError(ValueError):
    """The JUnit report is missing, unreadable or not the suite's."""


#: A failure keeps its first lines only: enough to recognise it, small enough for a grid cell.
MESSAGE_LINES = 5


MESSAGE_CHARS = 600


# pytest's own message on a module that could not be imported; the traceback says why.
_COLLECTION_FAILURE = "collection failure"


_TRAILING_PATH = re.compile(r"\s+\(/[^()]*\)$")


def parse_upstream_junit(xml_text: str) -> UpstreamReport:
    """Count every test case of the JUnit XML and keep the first lines of each failure."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise JUnitError(f"JUnit XML is not well-formed: {exc}") from exc
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitError(f"not a JUnit report: the root element is <{root.tag}>")
    tally = dict.fromkeys(("passed", "failed", "errors", "skipped", "xfailed"), 0)
    failures: list[UpstreamFailure] = []
    uncollected: list[str] = []
    for case in root.iter("testcase"):
        kind, node = _case_kind(case)
        tally[kind] += 1
        if kind in ("failed", "errors") and node is not None:
            nodeid = _nodeid(case)
            if node.get("message") == _COLLECTION_FAILURE:
                uncollected.append(nodeid)
            outcome: FailureOutcome = "failed" if kind == "failed" else "error"
            failures.append(UpstreamFailure(nodeid, outcome, first_lines(node)))
    return UpstreamReport(UpstreamCounts(**tally), tuple(failures), tuple(uncollected))


def read_upstream_junit(path: Path) -> UpstreamReport:
    """Like :func:`parse_upstream_junit`, from a file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JUnitError(f"{path}: cannot read the JUnit report: {exc.strerror}") from exc
    return parse_upstream_junit(text)


def _case_kind(case: ET.Element) -> tuple[str, ET.Element | None]:
    # A test that fails and then errors in teardown has both elements: it counts as failed.
    for tag, kind in (("failure", "failed"), ("error", "errors")):
        node = case.find(tag)
        if node is not None:
            return kind, node
    skipped = case.find("skipped")
    if skipped is not None:
        return ("xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"), skipped
    return "passed", None


def _nodeid(case: ET.Element) -> str:
    """pytest's node id where the report names the file (xunit1), else classname::name."""
    file, classname, name = case.get("file"), case.get("classname") or "", case.get("name") or ""
    if not classname:  # a module that failed to collect: its name is the dotted module
        return file or name
    if file and file.endswith(".py"):
        module = file.removesuffix(".py").replace("/", ".")
        inner = classname.removeprefix(module).strip(".")
        return "::".join([file, *filter(None, inner.split(".")), name])
    return f"{classname}::{name}"


def first_lines(node: ET.Element) -> str:
    """The failure in a few lines: pytest's message, or the ``E`` lines of its traceback."""
    message = (node.get("message") or "").strip()
    if message and message != _COLLECTION_FAILURE:
        lines = message.splitlines()
    else:
        text = (node.text or "").splitlines()
        lines = [ln[1:].strip() for ln in text if ln.startswith("E ")]
        lines = lines or [ln for ln in text if ln.strip()][-MESSAGE_LINES:]
    kept = "\n".join(ln.rstrip() for ln in lines[:MESSAGE_LINES] if ln.strip())
    return kept if len(kept) <= MESSAGE_CHARS else kept[: MESSAGE_CHARS - 1] + "…"
