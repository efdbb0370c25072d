"""What each check reports about the surfaces it judged, as JUnit properties.

The harness reads them back (``surfaces``, ``failed_surfaces``, ``surfaces_na``) into the
outcome's evidence, so that a grid cell can say ``per-request (ajax lookup)``. Recorded before
the check's assertion, so a failing check reports them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .surfaces import FAILED_SURFACES_PROPERTY, SURFACES_NA_PROPERTY, SURFACES_PROPERTY, in_order

EVIDENCE_PROPERTIES = (SURFACES_PROPERTY, FAILED_SURFACES_PROPERTY, SURFACES_NA_PROPERTY)


class Evidence:
    """Writes one test item's surface properties (replacing any an earlier attempt wrote)."""

    def __init__(self, node: Any) -> None:
        self._node = node

    def record(
        self,
        exercised: Iterable[str],
        failed: Iterable[str] = (),
        unavailable: Mapping[str, str] | None = None,
    ) -> None:
        properties: list[tuple[str, object]] = self._node.user_properties
        properties[:] = [p for p in properties if p[0] not in EVIDENCE_PROPERTIES]
        properties.append((SURFACES_PROPERTY, ",".join(in_order(exercised))))
        properties.append((FAILED_SURFACES_PROPERTY, ",".join(in_order(failed))))
        na = "; ".join(f"{name}: {why}" for name, why in (unavailable or {}).items())
        properties.append((SURFACES_NA_PROPERTY, na))
