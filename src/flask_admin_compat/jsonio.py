"""The one reader and writer of the harness's files: atomic writes, and reads that name the file.

A reader (or a crash) never sees half a file, and a file that cannot be read is one error
naming it, never a traceback.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def read_json_file(path: Path, *, error: type[ValueError]) -> Any:
    """A JSON file's content; a file that cannot be read or parsed raises ``error`` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid JSON: {exc}") from None


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename it into place.

    A reader (or a crash) never sees half a file: either the old content or the new.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); reports are for anyone who may read the folder.
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
