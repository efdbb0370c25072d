"""Pin each unreleased build a run is about to use: a git ref to its commit, a path to its bytes.

A run asks once per build, before freshness keys are made, so that the key (which hashes the
cell's requirements) changes with a new commit on the ref or new bytes at the path:

- a git ref is resolved with ``git ls-remote`` (an argument list, the URL after ``--``); the
  cell then installs ``git+URL@COMMIT``, and its result names the commit;
- a wheel, an sdist or a source tree is copied into ``.cache/builds/<sha256>/``, a folder named
  by its content, and installed from there: the same path always holds the same bytes, so uv's
  cache, the cell's environment and its lock can never mix up two builds that call themselves
  by one version number.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from flask_admin_compat.matrix.builds import Build, BuildError, GitBuild
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import Matrix, MatrixError, spec_of
from flask_admin_compat.matrix.specs import VersionSpec, build_spec

GIT_TIMEOUT_S = 60
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
# Left out of a source tree's hash and copy: what builds and tools leave beside the sources.
_TREE_SKIPPED = frozenset(
    {".git", "__pycache__", ".venv", ".nox", ".tox", ".pytest_cache", ".mypy_cache", "build"}
)


def pin_builds(cells: Sequence[Cell], *, store: Path, matrix: Matrix | None = None) -> list[Cell]:
    """The cells with every build pinned, each distinct build once however many cells use it.

    A ref or path that is not there is a :class:`MatrixError` naming the matrix's key for the
    build (``matrix[0].flask-admin[2].ref``), or ``--with`` when no matrix names it.
    """
    pinned: dict[Build, Build] = {}
    for cell in cells:
        for _, build in cell.builds:
            if build in pinned:
                continue
            try:
                pinned[build] = pin(build, store=store)
            except BuildError as exc:
                file, key = locate(matrix, build)
                where = f"{key}.{exc.key}" if key != "--with" else key
                raise MatrixError(file, where, exc.value, exc.problem) from None
    if not pinned:
        return list(cells)
    return [_with_pins(cell, pinned) for cell in cells]


def locate(matrix: Matrix | None, build: Build) -> tuple[str, str]:
    """The file and key that give ``build``, for a message; ``--with`` when none does."""
    if matrix is not None:
        for table in matrix.tables:
            backends_key = f"{table.key}.backends" if table.own_backends else "backends"
            for name, values in table.axes:
                for i, value in enumerate(values):
                    if isinstance(value, VersionSpec) and value.build == build:
                        return str(matrix.path), f"{table.key}.{name}[{i}]"
            for name, backend_values in table.backends:
                for i, backend_value in enumerate(backend_values):
                    if spec_of(backend_value) == build_spec(build):
                        return str(matrix.path), f"{backends_key}.{name}[{i}]"
        for include in matrix.includes:
            for name, spec in include.values:
                if spec.build == build:
                    return str(matrix.path), f"include[{include.index}].{name}"
    return "compare", "--with"


def pin(build: Build, *, store: Path) -> Build:
    """One build, pinned: the commit its ref names now, or its bytes' content-addressed copy."""
    if isinstance(build, GitBuild):
        return replace(build, commit=resolve_ref(build.url, build.ref))
    if not build.path.exists():
        raise BuildError("path", build.written, f"no such file or folder ({build.path})")
    digest = tree_digest(build.path) if build.path.is_dir() else file_digest(build.path)
    copy = store / digest[:32] / build.path.name
    if not copy.exists():
        _copy_atomic(build.path, copy)
    return replace(build, path=copy, digest=digest)


def _with_pins(cell: Cell, pinned: dict[Build, Build]) -> Cell:
    def spec(value: VersionSpec) -> VersionSpec:
        return build_spec(pinned[value.build]) if value.build is not None else value

    return replace(cell, packages=tuple((name, spec(s)) for name, s in cell.packages))


def resolve_ref(url: str, ref: str) -> str:
    """The commit ``ref`` names in the repository at ``url``, asked with ``git ls-remote``.

    A full commit id is taken as it is (ls-remote lists refs, not commits). A branch or tag
    that the repository does not have is a :class:`BuildError` naming it.
    """
    if _SHA_RE.match(ref):
        return ref
    try:
        done = subprocess.run(
            # The second pattern lists an annotated tag's commit (its peeled line) too.
            ["git", "ls-remote", "--", url, ref, f"{ref}^{{}}"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError("git", url, f"could not ask the repository for {ref!r}: {exc}") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[:300] or f"git exited {done.returncode}"
        raise BuildError("git", url, f"could not ask the repository for {ref!r}: {said}")
    commit = commit_of(ref, done.stdout)
    if commit is None:
        raise BuildError("ref", ref, f"no such branch or tag in {url}")
    return commit


def commit_of(ref: str, listing: str) -> str | None:
    """The commit of ``ref`` in ``git ls-remote`` output: exact name, then branch, then tag.

    An annotated tag is listed twice; its peeled line (``^{}``) names the commit.
    """
    refs: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, name = line.partition("\t")
        if _SHA_RE.match(sha):
            refs[name] = sha
    for name in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        peeled = refs.get(f"{name}^{{}}")
        if peeled or name in refs:
            return peeled or refs[name]
    return None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(root: Path) -> str:
    """The sha256 of a source tree's file names and bytes, what builds leave aside."""
    digest = hashlib.sha256()
    for path in _tree_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file_digest(path).encode() + b"\0")
    return digest.hexdigest()


def _tree_files(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not _TREE_SKIPPED.intersection(parts) and path.suffix != ".pyc":
            yield path


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy a file or tree beside its place, then rename it there: never a half copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    if source.is_dir():
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(
            source, partial, ignore=lambda _, names: [n for n in names if n in _TREE_SKIPPED]
        )
    else:
        shutil.copyfile(source, partial)
    try:
        partial.rename(target)
    except OSError:
        if not target.exists():  # not another run that copied the same bytes first
            raise
        shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink()
