"""Version specs as matrix.toml writes them, and what each one means to an installer.

A spec is one of: an exact release (``"3.0.3"``), a series (``"3.0.*"``), ``"latest"``, or
the tables ``{ each = "minor", from = "2.2" }`` (every minor series since a floor, expanded
into series specs before cells are made) and ``{ each = "patch", from = "2.1" }`` (every
release since a floor, expanded into exact specs). Parsing is the only gate
between the file and an install command: whatever :func:`parse_spec` accepts is plain PEP 440
text, so a value such as ``"1.0; rm -rf /"`` or ``"--index-url=x"`` never gets further.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from flask_admin_compat.matrix.builds import Build, GitBuild

SpecKind = Literal["exact", "series", "latest", "build"]

# A release segment only: no epoch, no local part, no wildcard in the middle.
_RELEASE = r"[0-9]+(?:\.[0-9]+)*"
_EXACT_RE = re.compile(rf"^{_RELEASE}(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?$")
_SERIES_RE = re.compile(rf"^({_RELEASE})\.\*$")


class SpecError(ValueError):
    """A spec that is not an exact PEP 440 release, a series or ``latest``."""


@dataclass(frozen=True, order=True)
class VersionSpec:
    """One requested version of one package: exact, a series, the newest release, or a build.

    A build (``kind == "build"``) is an unreleased wheel, sdist, source tree or git ref; its
    ``text`` is its label, and ``build`` says what it is.
    """

    kind: SpecKind
    text: str
    build: Build | None = None

    @property
    def requirement_suffix(self) -> str:
        """What follows the name for an installer: a PEP 440 specifier, or a direct reference.

        A build's reference names its commit or its content-addressed copy once a run has
        pinned it (:mod:`.build_pins`), so that a new commit or new bytes is a new requirement.
        """
        if self.build is not None:
            return f" @ {build_url(self.build)}"
        return "" if self.kind == "latest" else f"=={self.text}"

    @property
    def id_fragment(self) -> str:
        """The spec as it appears in a cell id: digits without dots (``3.0.*`` -> ``30``).

        A build shows its label (``admin`` + ``fix2835``).
        """
        if self.kind in ("latest", "build"):
            return self.text
        return self.text.removesuffix(".*").replace(".", "")

    @property
    def tag_fragment(self) -> str:
        """The spec as it appears in a nox tag, dots kept (``3.0.*`` -> ``3.0``)."""
        return self.text.removesuffix(".*")

    @property
    def floor(self) -> Version | None:
        """The lowest version the spec can mean, for matching exclude rules offline."""
        if self.kind in ("latest", "build"):
            return None
        return Version(self.text.removesuffix(".*"))

    def admits(self, version: Version) -> bool:
        """Whether an actual release belongs to this spec (never, for a build: it is none)."""
        if self.kind == "build":
            return False
        if self.kind == "latest":
            return True
        return version in _specifier(self.requirement_suffix)


@functools.cache
def _specifier(text: str) -> SpecifierSet:
    """``==3.1.*`` parsed once: freshness asks it of every release of every cell's packages."""
    return SpecifierSet(text)


def build_spec(build: Build) -> VersionSpec:
    """The spec of an unreleased build: its label stands where a version would."""
    return VersionSpec("build", build.label, build)


def build_url(build: Build) -> str:
    """The direct reference an installer gets: ``git+URL@COMMIT`` or the file's URL."""
    if isinstance(build, GitBuild):
        return f"git+{build.url}@{build.commit or build.ref}"
    return build.path.as_uri()


def parse_spec(text: object) -> VersionSpec:
    """Parse one spec string, refusing anything that is not plain PEP 440 text."""
    if not isinstance(text, str):
        raise SpecError(f"{text!r} is not a string")
    if text == "latest":
        return VersionSpec("latest", text)
    if _SERIES_RE.match(text):
        return VersionSpec("series", text)
    if _EXACT_RE.match(text):
        try:
            Version(text)
        except InvalidVersion:  # pragma: no cover - the regex admits only valid versions
            raise SpecError(f"{text!r} is not a PEP 440 version") from None
        return VersionSpec("exact", text)
    raise SpecError(
        f"{text!r} is not a PEP 440 release, a series or latest "
        '(write e.g. "3.0.3", "3.0.*" or "latest")'
    )


def parse_specifier(text: object) -> SpecifierSet:
    """Parse an exclude rule's PEP 440 specifier set, such as ``">=2.0,<2.2"``."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"{text!r} is not a PEP 440 specifier such as '>=2.0'")
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise SpecError(f"{text!r} is not a PEP 440 specifier such as '>=2.0'") from None


def minor_series(versions: list[Version], *, floor: Version) -> list[VersionSpec]:
    """Every ``X.Y.*`` series with a final release at or above ``floor``, oldest first."""
    series = sorted({(v.major, v.minor) for v in versions if not v.is_prerelease and v >= floor})
    return [VersionSpec("series", f"{major}.{minor}.*") for major, minor in series]


def patch_releases(
    versions: list[Version], *, floor: Version, pre: bool = False
) -> list[VersionSpec]:
    """Every release at or above ``floor``, oldest first, each as an exact spec.

    Pre-releases only when ``pre`` is asked for (then ``2.3.0rc1`` counts as above a floor of
    ``2.3``). Yanked releases are not in ``versions``: the index leaves them out.
    """
    kept = sorted(
        {
            v
            for v in versions
            if (v >= floor and not v.is_prerelease) or (pre and Version(v.base_version) >= floor)
        }
    )
    return [VersionSpec("exact", str(v)) for v in kept]
