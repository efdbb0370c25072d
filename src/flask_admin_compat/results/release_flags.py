"""The flags that say a cell tested something no user installs from the index as it stands.

``unreleased``: the cell installed a build (a wheel, an sdist, a source tree or a git ref, see
:mod:`flask_admin_compat.matrix.builds`). ``pre-release``: an axis package it installed is a
pre-release (``pre = true`` in an ``each`` spec, or a pinned ``2.3.0rc1``). Both sit beside
the verdict like ``flaky``; the grid shows them, and advice never offers such a cell as the
stack to use.
"""

from __future__ import annotations

from collections.abc import Mapping

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from flask_admin_compat.matrix.builds import build_record
from flask_admin_compat.matrix.cells import Cell

PRE_RELEASE = "pre-release"
UNRELEASED = "unreleased"
RELEASE_FLAGS: tuple[str, ...] = (PRE_RELEASE, UNRELEASED)


def release_flags(cell: Cell, installed: Mapping[str, str]) -> tuple[str, ...]:
    """``unreleased`` for a cell with a build, ``pre-release`` for a pre-release axis package.

    Read from what was installed where it is known (a series may resolve to a beta), else
    from the spec (a cell that never installed still asked for ``2.3.0rc1``).
    """
    flags: list[str] = []
    pre = False
    for name, spec in cell.packages:
        if spec.build is not None:
            continue
        version = installed.get(canonicalize_name(name))
        if version is None and spec.kind == "exact":
            version = spec.text
        pre = pre or _is_pre(version)
    if pre:
        flags.append(PRE_RELEASE)
    if cell.builds:
        flags.append(UNRELEASED)
    return tuple(flags)


def builds_installed(cell: Cell) -> dict[str, dict[str, str]]:
    """Package to what the cell's build of it was: the file's sha256, or the URL and commit."""
    return {name: build_record(build) for name, build in cell.builds}


def _is_pre(version: str | None) -> bool:
    if version is None:
        return False
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False
