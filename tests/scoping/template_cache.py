"""Flask-Admin's compiled templates, kept as ``.pyc`` files are for modules.

Every pattern's app renders the same templates, and every environment with the same
Flask-Admin release holds the same template sources: compiling them cost 0.25 to 0.45 s of
CPU in the first run of a cell whose views render (of about 3 s). The cache is Jinja's own
bytecode-cache API. A compiled template is found by what decides its code (the template's
name, its source's checksum, the environment's compile settings) and not by where its file
is, so an environment made afresh takes what another compiled. The harness names the
folder, shared by every cell of the project, in ``FLASK_ADMIN_COMPAT_TEMPLATES``; run by
hand, the suite keeps them inside its environment (``.scoping-templates/``), and without a
writable folder the cache is the run's memory alone.

Each file on disk carries the sha256 of what it holds, checked when it is loaded: Jinja
checks only the source's checksum, so three flipped bytes in a compiled template rendered
``'EvalContext' object has no attribute 'autoe&cape'`` in every cell that loaded it. A file
that fails the check is removed and its template compiled again, never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import sys
import tempfile
import types
from collections.abc import Mapping
from pathlib import Path

import jinja2
import jinja2.bccache

#: Set by the harness (flask_admin_compat.run.scoping): the folder every cell shares.
SHARED_FOLDER_ENV = "FLASK_ADMIN_COMPAT_TEMPLATES"
#: The folder, inside the environment, used when the suite runs by hand.
LOCAL_FOLDER = ".scoping-templates"
#: What a file on disk starts with: this layout's mark, then the sha256 of the rest.
_MARK = b"scoping-templates-1\n"
_DIGEST = hashlib.sha256().digest_size


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates in memory for every app of the run, and on disk for the next run."""

    def __init__(self, directory: Path | None) -> None:
        self._code: dict[str, bytes] = {}
        self._directory = directory

    def get_bucket(
        self,
        environment: jinja2.Environment,
        name: str,
        filename: str | None,
        source: str,
    ) -> jinja2.bccache.Bucket:
        # Jinja keys a bucket by the template's file, which differs in every environment.
        checksum = self.get_source_checksum(source)
        key = hashlib.sha1(
            f"{name}\0{checksum}\0{compile_settings(environment)}".encode()
        ).hexdigest()
        bucket = jinja2.bccache.Bucket(environment, key, checksum)
        self.load_bytecode(bucket)
        if bucket.code is not None and filename is not None:
            # Compiled in another environment: its tracebacks must name this one's file.
            bucket.code = refiled(bucket.code, filename)
        return bucket

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is None and (path := self._path(bucket)) is not None:
            with contextlib.suppress(OSError):
                code = checked(path.read_bytes())
                if code is None:  # damaged (or of an older layout): gone, compiled again
                    path.unlink(missing_ok=True)
                else:
                    self._code[bucket.key] = code
        if code is None:
            return
        try:
            # Another Jinja or Python (bucket magic) or a damaged file resets the bucket.
            bucket.bytecode_from_string(code)
        except Exception:  # noqa: BLE001 - a damaged file is a miss, not a failed check
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code[bucket.key] = bucket.bytecode_to_string()
        path = self._path(bucket)
        if path is None:
            return
        with contextlib.suppress(OSError):
            store(path, _MARK + hashlib.sha256(code).digest() + code)

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path | None:
        return None if self._directory is None else self._directory / f"{bucket.key}.jinja"


def checked(stored: bytes) -> bytes | None:
    """What a file on disk holds, if it still has the checksum it was written with."""
    if not stored.startswith(_MARK):
        return None
    digest, code = stored[len(_MARK) : len(_MARK) + _DIGEST], stored[len(_MARK) + _DIGEST :]
    return code if hashlib.sha256(code).digest() == digest else None


def compile_settings(environment: jinja2.Environment) -> str:
    """What of a Jinja environment shapes a template's compiled code, as one string.

    Delimiters, whitespace handling, extensions and static autoescaping change the code;
    globals, filters and a callable autoescape are looked up when the template renders.
    """
    autoescape = environment.autoescape
    return repr(
        (
            environment.block_start_string,
            environment.block_end_string,
            environment.variable_start_string,
            environment.variable_end_string,
            environment.comment_start_string,
            environment.comment_end_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.newline_sequence,
            environment.keep_trailing_newline,
            environment.optimized,
            environment.is_async,
            None if callable(autoescape) else autoescape,
            sorted(environment.extensions),
        )
    )


def refiled(code: types.CodeType, filename: str) -> types.CodeType:
    """``code`` and the code nested in it (blocks, macros) as compiled from ``filename``."""
    if code.co_filename == filename:
        return code
    consts = tuple(
        refiled(const, filename) if isinstance(const, types.CodeType) else const
        for const in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=consts)


def store(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` and rename it into place: a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    staged = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)


def cache_folder(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where compiled templates are kept: by Jinja release and Python version.

    None when Jinja's release cannot be read (then the cache is the run's memory alone).
    """
    try:
        release = importlib.metadata.version("jinja2")
    except importlib.metadata.PackageNotFoundError:
        return None
    shared = environ.get(SHARED_FOLDER_ENV)
    root = Path(shared) if shared else Path(sys.prefix) / LOCAL_FOLDER
    return root / f"jinja2-{release}-{sys.implementation.cache_tag}"
