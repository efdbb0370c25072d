"""The one reader and writer of the harness's files: atomic writes, and reads that name the file.

A reader (or a crash) never sees half a file, and a file that cannot be read is one error
naming it, never a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    text may come in pieces (an iterator), written as they come. A device or a pipe
    (``--json /dev/null``, ``/dev/stdout``, a FIFO) is written to as it is: a file renamed
    over it would replace the device itself.
    """
    if _special(path):
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
        return
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
    """Write several files of one folder all or none, a crash or ``kill -9`` included.

    A text may come in pieces (an iterator), written as they come, so that a large file is
    never held whole in memory.

    Every new text is first written in full beside its file. Then a journal naming each
    staged file is put in place in one rename: from that moment the set is committed, and
    :func:`recover_set` (run before any later write of the set) finishes the renames a
    killed writer left undone. Killed before it, the old files stand and the staged ones are
    leftovers that recovery removes. A target that cannot take a file (a folder of that name)
    is found before anything is committed; a rename that fails all the same puts back the
    files already replaced, so that the set never disagrees with itself (grid.json new,
    grid.md old). The OSError then names the file that failed.
    """
    paths = list(texts)
    recover_set(paths)
    folder = _root(paths)
    staged: dict[Path, Path] = {}
    saved: dict[Path, Path | None] = {}
    journal = _journal(paths)
    try:
        for path, text in texts.items():
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "a folder stands where it goes", str(path))
            staged[path] = _stage(path, text)
        for path in staged:
            saved[path] = _keep_old(path)
        # A staged file sits beside its target (mkstemp may name it absolutely, the target not).
        renames = {_under(p, folder): _under(p.parent / s.name, folder) for p, s in staged.items()}
        write_text_atomic(journal, json.dumps({"replace": renames}))
        _sync_folder(folder)
        replaced: list[Path] = []
        try:
            for path, tmp in staged.items():
                tmp.replace(path)
                replaced.append(path)
        except OSError:
            # Undone in an order a kill cannot mix: the journal says "restore" first.
            restore = {
                _under(p, folder): (_under(o, folder) if (o := saved[p]) else None)
                for p in replaced
            }
            write_text_atomic(journal, json.dumps({"restore": restore}))
            _finish(folder, {"restore": restore})
            raise
        for changed in {path.parent for path in staged}:
            _sync_folder(changed)
    finally:
        journal.unlink(missing_ok=True)
        for leftover in (*staged.values(), *(p for p in saved.values() if p is not None)):
            leftover.unlink(missing_ok=True)


def recover_set(paths: Sequence[Path], *, folders: Sequence[Path] = ()) -> tuple[str, ...]:
    """Finish or undo a write of this set that a killed writer left, and remove its leftovers.

    A journal in place means the set was committed: each staged file it names that is still
    there is renamed into place (or, for an undo, each saved file put back). Then every
    staged (``.<name>.*.tmp``) and saved (``.<name>.*.old``) file of the set goes, and every
    such file in ``folders`` (folders of the set's own, whose names vary from write to
    write). Returns what was done, in words, for the caller to say.
    """
    if not paths:
        return ()
    folder = _root(paths)
    done: list[str] = []
    journal = _journal(paths)
    plan = read_json_cache(journal, "write-journal") if journal.exists() else None
    if plan is not None:
        finished = _finish(folder, plan)
        done.append(f"finished an interrupted write of {', '.join(finished) or 'nothing'}")
    journal.unlink(missing_ok=True)
    leftovers = [
        found
        for path in paths
        for pattern in (f".{path.name}.*.tmp", f".{path.name}.*.old")
        for found in path.parent.glob(pattern)
    ]
    leftovers += [
        found
        for owned in folders
        for pattern in (".*.tmp", ".*.old")
        for found in owned.glob(pattern)
    ]
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    if leftovers:
        done.append(f"removed {len(leftovers)} leftover files of an interrupted write")
    return tuple(done)


def _finish(folder: Path, plan: Mapping[str, Mapping[str, str | None]]) -> list[str]:
    """Carry out a journal: rename staged files into place, or put saved ones back."""
    finished = []
    for target, source in (plan.get("replace") or plan.get("restore") or {}).items():
        if source is None:  # nothing stood there before: undoing means removing it
            (folder / target).unlink(missing_ok=True)
        elif (folder / source).exists():
            (folder / source).replace(folder / target)
        else:  # renamed already, before the kill
            continue
        finished.append(target)
    for changed in {(folder / name).parent for name in finished}:
        _sync_folder(changed)
    return finished


def _journal(paths: Sequence[Path]) -> Path:
    """The one journal of a set of files, named after its first."""
    return paths[0].with_name(f".{paths[0].name}.set-journal")


def _root(paths: Sequence[Path]) -> Path:
    """The folder of the set's first file, which holds every other (or a folder below it)."""
    root = paths[0].parent
    for path in paths:
        if not path.is_relative_to(root):
            raise ValueError(f"{path}: a set written all or none lives under {root}")
    return root


def _under(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable: a power cut keeps the set as committed."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # a file system that cannot sync a folder
        pass
    finally:
        os.close(fd)


def _special(path: Path) -> bool:
    """``path`` is there and is neither a regular file nor a folder (links followed)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


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
