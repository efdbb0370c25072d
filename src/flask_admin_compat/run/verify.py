"""Trust before a red verdict: is a cell's environment still what its lock installed?

A file deleted from an environment, or a damaged ``.pyc``, makes a sound stack look broken
(the issue's ``ModuleNotFoundError`` and ``EOFError: marshal data too short``). Before the
harness records a stack that does not start, or a result that differs from the cell's last
one, it checks the environment against its lock: every pin installed at its version, every
file of every installed distribution present with the hash its ``RECORD`` gives, and every
``.pyc`` readable. A damaged environment is rebuilt and the cell run again; the damage is
written in the log.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import marshal
from pathlib import Path

from packaging.utils import canonicalize_name

from flask_admin_compat.results.compare import signature
from flask_admin_compat.results.model import STARTUP_CHECK, CellResult
from flask_admin_compat.run.bytecode import BytecodeStore
from flask_admin_compat.run.upstream_plan import lock_versions

#: Problems named one by one in the log before the rest are counted.
SHOWN = 5
#: importlib's header before the marshalled code of a ``.pyc``.
_PYC_HEADER = 16


def distrusted(result: CellResult, recorded: CellResult | None) -> bool:
    """Whether a result must not be recorded before its environment is verified.

    A stack that does not start, a suite that crashed, or a result that differs from the
    cell's last one: each may be the machine's doing. A cell that installed nothing has no
    environment to doubt, and one that ran out of time is not run a second time.
    """
    if not result.installed or result.reason.startswith("timed out"):
        return False
    did_not_start = any(c.check == STARTUP_CHECK and c.outcome != "passed" for c in result.checks)
    changed = (
        recorded is not None
        and recorded.verdict not in ("error", "excluded")
        and signature(recorded) != signature(result)
    )
    return did_not_start or result.verdict == "error" or changed


def damage(site_packages: Path, lock: str, *, bytecode: BytecodeStore | None) -> tuple[str, ...]:
    """Everything wrong with a cell's environment and the store entries linked into it.

    Damaged store entries are dropped here, so that rebuilding the environment cannot link
    them in again.
    """
    dropped = bytecode.drop_damaged(site_packages) if bytecode is not None else ()
    found = verify_environment(site_packages, lock)
    return (
        *(
            f"{pyc}: damaged (or without a checksum) in the bytecode store, dropped"
            for pyc in dropped
        ),
        *found,
    )


def verify_environment(site_packages: Path, lock: str) -> tuple[str, ...]:
    """What is wrong with an environment that should hold exactly ``lock`` (empty: nothing).

    Pins come from the distributions' own metadata; files from their ``RECORD`` (the
    wheel's list of every file with its sha256, which uv writes as pip does).
    """
    problems: list[str] = []
    installed: dict[str, str] = {}
    for dist in importlib.metadata.distributions(path=[str(site_packages)]):
        try:
            name: str = canonicalize_name(dist.metadata["Name"])
            version = dist.version
        except (OSError, TypeError, ValueError, KeyError):
            problems.append("a distribution without readable METADATA")
            continue
        installed[name] = version
        problems += [f"{name} {version}: {p}" for p in _record_problems(dist)]
    for name, version in lock_versions(lock).items():
        if installed.get(name) != version:
            problems.append(f"{name}: the lock pins {version}, installed {installed.get(name)}")
    problems += _unreadable_bytecode(site_packages)
    return tuple(problems)


def summary(problems: tuple[str, ...]) -> str:
    """The problems in one line: the first few named, the rest counted."""
    shown = "; ".join(problems[:SHOWN])
    more = len(problems) - SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def _record_problems(dist: importlib.metadata.Distribution) -> list[str]:
    problems: list[str] = []
    for file in dist.files or ():
        if file.hash is None:  # RECORD itself, and files written after the install
            continue
        path = Path(str(file.locate()))
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"{file} {'is missing' if not path.exists() else exc.strerror}")
            continue
        if file.hash.mode != "sha256":
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        if digest != file.hash.value:
            problems.append(f"{file} does not match its RECORD hash")
    return problems


def _unreadable_bytecode(site_packages: Path) -> list[str]:
    """``.pyc`` files Python would load (header current) that do not unmarshal: truncated."""
    problems = []
    for pyc in site_packages.rglob("__pycache__/*.pyc"):
        try:
            data = pyc.read_bytes()
            marshal.loads(data[_PYC_HEADER:])
        except OSError as exc:
            problems.append(f"{pyc.relative_to(site_packages)}: {exc.strerror}")
        except (EOFError, ValueError, TypeError) as exc:
            problems.append(f"{pyc.relative_to(site_packages)}: {exc}")
    return problems
