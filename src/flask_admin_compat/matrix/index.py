"""Release lists of the axis packages, asked of the index that pip and uv are set up to use.

One request per package (never one per cell), made concurrently, kept in an
:class:`IndexSnapshot` that is reused for ``index-max-age`` seconds. The snapshot's digest is
part of every cell's freshness fingerprint: a new upstream release makes ``latest`` and series
cells stale, and nothing else does. No index host is written here: the URL comes from uv's or
pip's configuration, and failing that from pip's own default.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from flask_admin_compat.jsonio import write_text_atomic
from flask_admin_compat.matrix.matrix import (
    PYTHON,
    BackendValue,
    EachMinor,
    EachPatch,
    InstallSet,
    Matrix,
    spec_of,
)
from flask_admin_compat.matrix.specs import VersionSpec

_JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
REQUEST_TIMEOUT_S = 30
SNAPSHOT_VERSION = 1


class IndexUnavailable(RuntimeError):
    """The index could not answer for a package; the message names the package and why."""


@dataclass(frozen=True)
class Release:
    version: Version
    uploaded: datetime | None  # None where the index does not say (PEP 700 is optional)


@dataclass(frozen=True)
class IndexSnapshot:
    """The releases of each axis package as the index listed them at ``fetched_at``."""

    index_url: str
    fetched_at: datetime
    releases: Mapping[str, tuple[Release, ...]] = field(default_factory=dict)
    #: Packages whose release list differs from the snapshot this one replaced (a release
    #: new, yanked or removed): uv's own cache may still list them as they were, so every
    #: resolution made under this snapshot asks the index again for them.
    changed: frozenset[str] = frozenset()
    # What each spec admits, kept per snapshot (see _admitted); never part of its identity.
    _admitted_memo: dict[tuple[str, VersionSpec, datetime | None], list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def versions(self, package: str, *, exclude_newer: datetime | None = None) -> list[Version]:
        """Final and pre-releases of ``package``, oldest first, as of ``exclude_newer``."""
        return sorted(
            r.version
            for r in self.releases.get(canonicalize_name(package), ())
            if exclude_newer is None or r.uploaded is None or r.uploaded <= exclude_newer
        )

    def digest(self, packages: Iterable[str], *, exclude_newer: datetime | None = None) -> str:
        """A short hash of the listed versions: equal digests mean nothing new upstream."""
        listing = {
            p: [str(v) for v in self.versions(p, exclude_newer=exclude_newer)]
            for p in sorted(packages)
        }
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]

    def admitted_digest(
        self, specs: Iterable[tuple[str, VersionSpec]], *, exclude_newer: datetime | None = None
    ) -> str:
        """A short hash of the listed versions each spec admits: what a resolver may pick.

        A new 3.1.3 changes it for ``3.1.*`` and ``latest``, never for ``3.0.*`` or ``3.0.3``,
        so that a new release makes exactly the cells it could change stale.
        """
        listing = {
            f"{name}{spec.requirement_suffix}": self._admitted(name, spec, exclude_newer)
            for name, spec in sorted(specs)
        }
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]

    def _admitted(self, name: str, spec: VersionSpec, exclude_newer: datetime | None) -> list[str]:
        """The versions of ``name`` that ``spec`` admits, worked out once per snapshot.

        Every cell of a run asks, and most share their specs: unkept, the default matrix's 389
        cells cost 380,000 specifier tests (38 s measured) for about 40 distinct answers.
        """
        key = (name, spec, exclude_newer)
        if key not in self._admitted_memo:
            self._admitted_memo[key] = [
                str(v) for v in self.versions(name, exclude_newer=exclude_newer) if spec.admits(v)
            ]
        return self._admitted_memo[key]

    def age_s(self, now: datetime) -> float:
        return (now - self.fetched_at).total_seconds()


def configured_index_url(env: Mapping[str, str] | None = None) -> str:
    """The simple-API URL that uv, then pip, are configured to use on this machine."""
    env = os.environ if env is None else env
    for variable in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if env.get(variable):
            return env[variable].rstrip("/")
    from_pip = _pip_config_index_url()
    if from_pip:
        return from_pip.rstrip("/")
    from pip._internal.models.index import PyPI  # pip's own default, not a host of ours

    return str(PyPI.simple_url).rstrip("/")


def _pip_config_index_url() -> str | None:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def fetch_snapshot(
    packages: Sequence[str], *, index_url: str, now: datetime | None = None
) -> IndexSnapshot:
    """Ask the index for every package's releases, concurrently, once each."""
    names = sorted({canonicalize_name(p) for p in packages})
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        listed = list(pool.map(lambda name: fetch_releases(name, index_url=index_url), names))
    return IndexSnapshot(index_url, now or datetime.now(UTC), dict(zip(names, listed, strict=True)))


def fetch_releases(package: str, *, index_url: str) -> tuple[Release, ...]:
    """The package's non-yanked releases, from the PEP 691 JSON or PEP 503 HTML page."""
    url = f"{index_url}/{canonicalize_name(package)}/"
    request = urllib.request.Request(url, headers={"Accept": _JSON_ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            content_type = response.headers.get("Content-Type", "")
            body = response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise IndexUnavailable(f"{package}: no such package on the index") from None
        raise IndexUnavailable(f"{package}: the index answered HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IndexUnavailable(f"{package}: the index could not be reached ({reason})") from None
    if "json" in content_type:
        return releases_from_json(json.loads(body))
    return releases_from_html(body)


def releases_from_json(page: Mapping[str, object]) -> tuple[Release, ...]:
    """Releases from a PEP 691 page: each version's earliest upload, yanked files left out."""
    earliest: dict[Version, datetime | None] = {}
    files = page.get("files", [])
    assert isinstance(files, list)
    for entry in files:
        if entry.get("yanked"):
            continue
        version = version_of_file(entry.get("filename", ""))
        if version is None:
            continue
        uploaded = _parse_time(entry.get("upload-time"))
        if version not in earliest:
            earliest[version] = uploaded
        elif uploaded is not None:
            current = earliest[version]
            earliest[version] = uploaded if current is None else min(current, uploaded)
    return tuple(Release(v, t) for v, t in sorted(earliest.items()))


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, bool]] = []
        self._yanked = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._yanked = any(name == "data-yanked" for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.files.append((data.strip(), self._yanked))


def releases_from_html(body: str) -> tuple[Release, ...]:
    """Releases from a PEP 503 page, which gives no upload times."""
    parser = _Anchors()
    parser.feed(body)
    versions = {version_of_file(name) for name, yanked in parser.files if not yanked}
    return tuple(Release(v, None) for v in sorted(v for v in versions if v is not None))


def version_of_file(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- the snapshot on disk ---------------------------------------------------------------------


def snapshot_to_json(snapshot: IndexSnapshot) -> str:
    return json.dumps(
        {
            "version": SNAPSHOT_VERSION,
            "index_url": snapshot.index_url,
            "fetched_at": snapshot.fetched_at.isoformat(),
            "changed": sorted(snapshot.changed),
            "releases": {
                name: [
                    [str(r.version), r.uploaded.isoformat() if r.uploaded else None] for r in rels
                ]
                for name, rels in snapshot.releases.items()
            },
        },
        indent=1,
    )


def snapshot_from_json(text: str) -> IndexSnapshot | None:
    """The stored snapshot, or None when the file is not one (then it is simply fetched again)."""
    try:
        data = json.loads(text)
        if data.get("version") != SNAPSHOT_VERSION:
            return None
        return IndexSnapshot(
            data["index_url"],
            datetime.fromisoformat(data["fetched_at"]),
            {
                name: tuple(Release(Version(v), _parse_time(t)) for v, t in rels)
                for name, rels in data["releases"].items()
            },
            frozenset(data.get("changed", ())),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def load_or_fetch_snapshot(
    path: Path,
    packages: Sequence[str],
    *,
    max_age_s: float,
    index_url: str | None = None,
    refresh: bool = False,
    now: datetime | None = None,
) -> tuple[IndexSnapshot, bool]:
    """The stored snapshot while it is young enough and covers ``packages``, else a new one.

    Returns the snapshot and whether it was fetched now.
    """
    now = now or datetime.now(UTC)
    wanted = {canonicalize_name(p) for p in packages}
    url = index_url or configured_index_url()
    stored = snapshot_from_json(path.read_text(encoding="utf-8")) if path.is_file() else None
    if (
        not refresh
        and stored is not None
        and stored.index_url == url
        and wanted <= set(stored.releases)
        and stored.age_s(now) <= max_age_s
    ):
        return stored, False
    fresh = fetch_snapshot(sorted(wanted), index_url=url, now=now)
    if stored is not None and stored.index_url == url:
        fresh = replace(fresh, changed=changed_packages(stored, fresh))
    write_text_atomic(path, snapshot_to_json(fresh))
    return fresh, True


def changed_packages(before: IndexSnapshot, after: IndexSnapshot) -> frozenset[str]:
    """Packages listed in both whose releases differ: one new, yanked or removed since."""
    return frozenset(
        name
        for name, releases in after.releases.items()
        if name in before.releases
        and {r.version for r in before.releases[name]} != {r.version for r in releases}
    )


def check_against_index(
    matrix: Matrix, snapshot: IndexSnapshot, *, exclude_newer: datetime | None
) -> list[str]:
    """Specs that name no release on the index, one line each naming file, key and value."""
    problems: list[str] = []
    for table in matrix.tables:
        backends_key = f"{table.key}.backends" if table.own_backends else "backends"
        for name, values in (*table.axes, *table.backends):
            if name == PYTHON:
                continue
            # Every key as the file spells it: axes.flask, matrix[1].flask, backends.X.
            key = (
                f"{backends_key}.{name}" if name in dict(table.backends) else f"{table.key}.{name}"
            )
            versions = snapshot.versions(name, exclude_newer=exclude_newer)
            if not versions and any(spec_of(v) != _build_only(v) for v in values):
                problems.append(f"{matrix.path}: {key}: no release of {name} on the index")
                continue
            for i, value in enumerate(values):
                problems += _value_problems(
                    matrix, f"{key}[{i}]", value, versions, snapshot, exclude_newer
                )
    for include in matrix.includes:
        for name, spec in (*include.values, *include.beside):
            versions = snapshot.versions(name, exclude_newer=exclude_newer)
            if name != PYTHON and spec.build is None and not any(spec.admits(v) for v in versions):
                problems.append(
                    f"{matrix.path}: include[{include.index}].{name} = {spec.text!r}: "
                    "no such release on the index"
                )
    return list(dict.fromkeys(problems))


def _build_only(value: BackendValue) -> object:
    """The value itself when it is an unreleased build (which needs no index), else None."""
    spec = spec_of(value)
    return spec if isinstance(spec, VersionSpec) and spec.build is not None else None


def _value_problems(
    matrix: Matrix,
    key: str,
    value: BackendValue,
    versions: list[Version],
    snapshot: IndexSnapshot,
    exclude_newer: datetime | None,
) -> list[str]:
    spec = spec_of(value)
    problems = []
    if isinstance(spec, VersionSpec) and spec.build is not None:
        pass  # an unreleased build is no release: its run pins it (matrix/build_pins)
    elif isinstance(spec, VersionSpec) and not any(spec.admits(v) for v in versions):
        problems.append(f"{matrix.path}: {key} = {spec.text!r}: no such release on the index")
    elif isinstance(spec, EachMinor | EachPatch) and not any(v >= spec.floor for v in versions):
        problems.append(f"{matrix.path}: {key}: no release since {spec.floor}")
    if isinstance(value, InstallSet):
        for package, beside in value.beside:
            listed = snapshot.versions(package, exclude_newer=exclude_newer)
            if not any(beside.admits(v) for v in listed):
                problems.append(
                    f"{matrix.path}: {key}.with.{package} = {beside.text!r}: "
                    "no such release on the index"
                )
    return problems
