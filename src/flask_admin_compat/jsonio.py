"""The one reader and writer of the harness's files: atomic writes, and reads that name the file.

A reader (or a crash) never sees half a file, and a file that cannot be read is one error
naming it, never a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class FileProblem(ValueError):
    """A file of the harness's that cannot be read or does not match its schema, in one line.

    Each file format has its own subclass (ResultError, GridError, DepsError), so a caller can
    catch one format or all of them.
    """


def read_json_file(path: Path, *, error: type[ValueError]) -> Any:
    """A JSON file's content; a file that cannot be read or parsed raises ``error`` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid JSON: {exc}") from None


def read_document(path: Path, parse: Callable[[Any], T], *, error: type[FileProblem]) -> T:
    """Read a JSON file and ``parse`` it; every failure is one ``error`` naming the file.

    ``parse`` validates (and raises ``error`` without the file's name, which this adds).
    """
    data = read_json_file(path, error=error)
    try:
        return parse(data)
    except error as exc:
        raise error(f"{path}: {exc}") from None


def read_json_cache(path: Path, schema: str) -> Any | None:
    """A cache file's content, or None when it is missing, unreadable or not of its schema.

    A cache is only ever a shortcut: whatever is wrong with the file, the caller makes the
    thing again, so this is the one place that turns a broken cache into a miss.
    """
    try:
        data = read_json_file(path, error=FileProblem)
    except FileProblem:
        return None
    return data if schema_problem(data, schema) is None else None


def write_text_atomic(path: Path, text: str | Iterator[str]) -> None:
    """Write through a temporary file in the same folder and rename it into place.

    A reader (or a crash) never sees half a file: either the old content or the new. The
    text may come in pieces (an iterator), written as they come.
    """
    staged = _stage(path, text)
    try:
        staged.replace(path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SchemaProblem:
    """The first place where data breaks one of the harness's JSON Schemas, in words."""

    path: tuple[str | int, ...]  # from the top of the document to the offending value
    message: str  # jsonschema's own words
    expected: str | None  # the failing part's description: what belongs there, for people
    missing: str | None = None  # a required key that is not there (``path`` is its table)

    @property
    def where(self) -> str:
        """``series[0].requirements[1].source``, or ``(top level)``."""
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        return text.removeprefix(".") or "(top level)"


def schema_problem(data: object, schema: str) -> SchemaProblem | None:
    """Check ``data`` against ``schema/<schema>.schema.json``; the best-matching error, or None."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(schema).iter_errors(data))
    if error is None:
        return None
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    missing = None
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((k for k in error.validator_value if k not in error.instance), None)
    return SchemaProblem(tuple(error.absolute_path), error.message, described, missing)


def value_at(data: object, path: tuple[str | int, ...]) -> object:
    """The value a schema problem points at, to show it beside its key (None: not there)."""
    for part in path:
        if isinstance(data, Mapping) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


@cache
def load_schema(schema: str) -> dict[str, Any]:
    """One of the JSON Schemas shipped in ``schema/``, read once."""
    text = resources.files("flask_admin_compat").joinpath(f"schema/{schema}.schema.json")
    loaded: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator(schema: str) -> Any:
    # jsonschema is imported here, not at the top: reading and writing files must not need
    # it (check-app runs in a user's environment). Built once per schema: building checks the
    # schema itself, which costs more than validating a grid of a few hundred cells.
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema(schema))


def copy_file_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a temporary file beside it, renamed into place."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)


def write_texts_atomic(texts: Mapping[Path, str | Iterator[str]]) -> None:
    """Write several files all or none: each atomically, and none replaced unless all can be.

    A text may come in pieces (an iterator), written as they come, so that a large file is
    never held whole in memory.

    Every new text is first written in full beside its file; only then is each renamed into
    place. A target that cannot take a file (a folder of that name) or a failing rename puts
    back the files already replaced, so that the set never disagrees with itself (grid.json
    new, grid.md old). The OSError then names the file that failed.
    """
    staged: dict[Path, Path] = {}
    saved: dict[Path, Path | None] = {}
    replaced: list[Path] = []
    try:
        for path, text in texts.items():
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "a folder stands where it goes", str(path))
            staged[path] = _stage(path, text)
        for path in staged:
            saved[path] = _keep_old(path)
        try:
            for path, tmp in staged.items():
                tmp.replace(path)
                replaced.append(path)
        except OSError:
            for path in replaced:
                old = saved[path]
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    old.replace(path)
            raise
    finally:
        for leftover in (*staged.values(), *(p for p in saved.values() if p is not None)):
            leftover.unlink(missing_ok=True)


def _stage(path: Path, text: str | Iterator[str]) -> Path:
    """The text in a temporary file beside ``path``, synced, readable by all: ready to rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); reports are for anyone who may read the folder.
        Path(tmp).chmod(0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _keep_old(path: Path) -> Path | None:
    """A second name for the file being replaced (a hard link: no copy), to put it back."""
    if not path.exists():
        return None
    backup = path.with_name(f".{path.name}.{os.getpid()}.old")
    backup.unlink(missing_ok=True)
    try:
        os.link(path, backup)
    except OSError:  # a file system without hard links
        shutil.copy2(path, backup)
    return backup
