"""Unreleased builds as axis values: a wheel, an sdist or a source tree, or a git ref.

``{ path = "dist/flask_admin-2.3.0.dev0-py3-none-any.whl", label = "fix2835" }`` and
``{ git = "https://github.com/pallets-eco/flask-admin", ref = "main", label = "main" }`` stand
where a release would. Parsing here is pure: a path is only made absolute (relative to the
matrix file), a ref only checked for shape. What the build *is* (the file's sha256, the ref's
commit) is found when a run pins it (:mod:`flask_admin_compat.matrix.build_pins`), so that
listing stays offline and a new commit on ``main`` reaches the next run by itself.

No value here ever reaches a shell: a URL is ``https:`` or ``file:`` and goes to ``git`` and
uv as one argument of a list, after ``--``; a ref that could read as an option is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

#: A label is what a cell id shows for the build: ``admin`` + ``fix2835``.
LABEL_RE = re.compile(r"^[a-z0-9]+$")
URL_SCHEMES = ("https", "file")
# A git ref name, as `git check-ref-format` allows it in spirit: no option-like start, no
# whitespace, no `..`, none of ~^:?*[\ and no control characters.
_REF_RE = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[^\s~^:?*\[\\\x00-\x1f\x7f]+(?<![/.])$")
_PATH_KEYS = frozenset({"path", "label"})
_GIT_KEYS = frozenset({"git", "ref", "label"})
PATH_EXAMPLE = '{ path = "dist/flask_admin-2.2.1-py3-none-any.whl", label = "fix2835" }'
GIT_EXAMPLE = '{ git = "https://github.com/OWNER/flask-admin", ref = "main", label = "main" }'


class BuildError(ValueError):
    """A build value that cannot be used: ``key`` (under the value's own key) and the problem."""

    def __init__(self, key: str, value: object, problem: str) -> None:
        super().__init__(problem)
        self.key, self.value, self.problem = key, value, problem


@dataclass(frozen=True, order=True)
class PathBuild:
    """A wheel, an sdist or a source tree on this machine.

    ``written`` is the path as matrix.toml gives it (for messages); ``path`` is absolute.
    ``digest`` is filled when a run pins the build: the sha256 of the file, or of the tree.
    """

    label: str
    written: str
    path: Path
    digest: str | None = None

    @property
    def kind(self) -> str:
        if self.path.is_dir():
            return "source tree"
        return "wheel" if self.path.suffix == ".whl" else "sdist"


@dataclass(frozen=True, order=True)
class GitBuild:
    """A ref of a git repository; ``commit`` is what the ref named when the run pinned it."""

    label: str
    url: str
    ref: str
    commit: str | None = None


Build = PathBuild | GitBuild


def is_build_value(value: object) -> bool:
    """Whether a TOML value is written as a build (a table with ``path`` or ``git``)."""
    return isinstance(value, dict) and ("path" in value or "git" in value)


def parse_build(value: dict[str, object], *, base: Path) -> Build:
    """A build table as matrix.toml writes it; paths are relative to ``base`` (its folder).

    Raises :class:`BuildError` naming the sub-key at fault (``label``, ``git``, ``ref``,
    ``path``), or ``""`` for the table as a whole.
    """
    keys = _GIT_KEYS if "git" in value else _PATH_KEYS
    example = GIT_EXAMPLE if "git" in value else PATH_EXAMPLE
    if set(value) != keys:
        raise BuildError("", value, f"an unreleased build is written {example}")
    label = value["label"]
    if not isinstance(label, str) or not LABEL_RE.match(label):
        raise BuildError("label", label, "a label is lowercase letters and digits, [a-z0-9]+")
    if "git" in value:
        return GitBuild(label, _git_url(value["git"]), _git_ref(value["ref"]))
    written = value["path"]
    if not isinstance(written, str) or not written.strip():
        raise BuildError("path", written, "give the path of a wheel, an sdist or a source tree")
    return _existing(PathBuild(label, written, (base / written).resolve()), key="path")


def _existing(build: PathBuild, *, key: str) -> PathBuild:
    """The build, when its path is there: a missing one is named now, not at install time."""
    if not build.path.exists():
        raise BuildError(key, build.written, f"no such file or folder ({build.path})")
    return build


def _git_url(url: object) -> str:
    if not isinstance(url, str) or not url:
        raise BuildError("git", url, "give the repository's https: or file: URL")
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES or any(c.isspace() or c in "@#?" for c in url[5:]):
        raise BuildError(
            "git", url, "a repository URL is https: or file:, without @, # or ? (give ref apart)"
        )
    if parts.scheme == "https" and not parts.netloc:
        raise BuildError("git", url, "an https: URL names a host")
    return url


def _git_ref(ref: object) -> str:
    if not isinstance(ref, str) or not _REF_RE.match(ref):
        raise BuildError("ref", ref, "not a git ref name (a branch, a tag or a commit)")
    return ref


def parse_build_argument(text: str, *, base: Path) -> tuple[str, Build]:
    """``flask-admin=PATH`` or ``flask-admin=git+URL@REF`` (compare's ``--with``).

    The label is ``build``, or for git the ref's last part made lowercase ``[a-z0-9]``.
    """
    name, sep, where = text.partition("=")
    package = canonicalize_name(name)
    if not sep or not package or not where:
        raise BuildError("--with", text, "write PACKAGE=PATH or PACKAGE=git+URL@REF")
    if where.startswith("git+"):
        url, at, ref = where.removeprefix("git+").rpartition("@")
        if not at or not url:
            raise BuildError("--with", text, "a git build is git+URL@REF, e.g. ...@main")
        return package, GitBuild("build", _git_url(url), _git_ref(ref))
    return package, _existing(PathBuild("build", where, (base / where).resolve()), key="--with")


def describe(build: Build) -> str:
    """One line for `nox -l` and messages: what the build is and where it comes from."""
    if isinstance(build, GitBuild):
        at = f" ({build.commit[:12]})" if build.commit else ""
        return f"{build.label}: git {build.url} @ {build.ref}{at}"
    return f"{build.label}: {build.kind} {build.written}"


def build_record(build: Build) -> dict[str, str]:
    """What a result keeps of the build it installed: the file's sha256, or the URL + commit."""
    if isinstance(build, GitBuild):
        record = {"label": build.label, "git": build.url, "ref": build.ref}
        return record | ({"commit": build.commit} if build.commit else {})
    record = {"label": build.label, "path": build.written, "kind": build.kind}
    return record | ({"sha256": build.digest} if build.digest else {})
