"""``flask-admin-compat check-app``: load the app, check every view, print and exit.

The edge of the package: errors become one line and an exit status here, and only here.
The app's own output goes to stderr (:mod:`.streams`) so that stdout is check-app's alone
(``--json -``), and a thread the app left running never keeps the process alive after its
report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import IO

from flask.cli import load_dotenv
from flask.helpers import get_load_dotenv

from flask_admin_compat.checks import ids
from flask_admin_compat.exitcodes import CHECK_FAILED, OK, USAGE
from flask_admin_compat.jsonio import write_text_atomic

from .loading import UsageProblem
from .report import (
    REPORT_VERSION,
    AppReport,
    databases_text,
    render_views,
    summary_text,
    to_json,
)
from .streams import app_output_to_stderr
from .target import check_views, installed_versions, load_target, release


def run_check_app(args: argparse.Namespace, out: IO[str]) -> int:
    """The ``check-app`` subcommand: 0 every check that ran passed, 1 a scoping failure
    (or, with --strict, a skipped check), 2 nothing could be checked or a usage error."""
    before = set(threading.enumerate())
    with app_output_to_stderr(out) as own:
        status = _check_app(args, own)
        own.flush()
    leave_if_threads_linger(status, before)
    return status


def _check_app(args: argparse.Namespace, out: IO[str]) -> int:
    # As `flask` does first: .flaskenv and .env set defaults (FLASK_APP among them) when
    # python-dotenv is installed, unless FLASK_SKIP_DOTENV says not to.
    if get_load_dotenv():
        load_dotenv()
    spec = args.app or os.environ.get("FLASK_APP")
    if not spec:
        return _usage("--app MODULE:FACTORY is required (or set FLASK_APP)", args, out, "")
    # As `python -m flask` has it: modules named by --login are found from here too (a
    # module reachable from here and from its package is still imported once: loading.py).
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    text_out = sys.stderr if args.json == "-" else out
    try:
        target = load_target(spec, args.login, load_timeout_s=args.load_timeout)
    except UsageProblem as exc:
        return _usage(str(exc), args, out, spec)
    # Before anything runs: which database(s) this is about to send requests to.
    print(databases_text(target.databases), file=text_out, flush=True)
    writes = None
    if args.writes:
        from .writes import plan

        try:
            writes = plan(target, confirmed=args.yes)
        except UsageProblem as exc:
            release(target)
            return _usage(str(exc), args, out, spec)
    versions = installed_versions()
    print("versions: " + ", ".join(f"{n} {v}" for n, v in versions), file=text_out)
    if target.left_context:
        print(
            "note: building the app left an app context pushed; the checks send their "
            "requests from a thread of their own, as a server's threads would",
            file=text_out,
        )
    print(file=text_out, flush=True)
    try:
        views = check_views(target, writes=writes)
    except UsageProblem as exc:  # the user's --login hook failed
        return _usage(str(exc), args, out, spec)
    report = AppReport(
        app=spec,
        databases=target.databases,
        versions=versions,
        writes=bool(args.writes),
        views=views,
    )
    print(render_views(report, verbose=args.verbose), end="", file=text_out)
    print(summary_text(report), file=text_out)
    if not _write_json(args, out, to_json(report)):
        return USAGE
    return exit_status(report, strict=args.strict)


def exit_status(report: AppReport, *, strict: bool) -> int:
    """0 every check that ran passed; 1 a scoping failure; 2 nothing could be checked.

    ``strict``: a skipped check is a failure too (CI that wants every view checked).
    """
    if report.failed:
        return CHECK_FAILED
    if not report.checked:
        print(
            "error: no view could be checked (every check was skipped); see the reasons above",
            file=sys.stderr,
        )
        return USAGE
    skipped = any(r.outcome == ids.SKIPPED for view in report.views for r in view.checks)
    if strict and skipped:
        print("error: --strict: some checks were skipped; see the reasons above", file=sys.stderr)
        return CHECK_FAILED
    return OK


def _usage(said: str, args: argparse.Namespace, out: IO[str], spec: str) -> int:
    """One line on stderr (a hint may follow it), and the same as JSON when --json asks."""
    print(f"error: {said}", file=sys.stderr)
    error = {
        "version": REPORT_VERSION,
        "app": spec,
        "error": said.splitlines()[0],
        "databases": [],
        "versions": {},
        "writes": bool(args.writes),
        "failed": False,
        "views": [],
    }
    _write_json(args, out, json.dumps(error, indent=2, ensure_ascii=False) + "\n")
    return USAGE


def _write_json(args: argparse.Namespace, out: IO[str], text: str) -> bool:
    if args.json == "-":
        out.write(text)
    elif args.json:
        try:
            write_text_atomic(Path(args.json), text)
        except OSError as exc:
            print(f"error: --json {args.json}: cannot write: {exc.strerror}", file=sys.stderr)
            return False
    return True


def lingering(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads the app started that would keep the process alive (non-daemon ones).

    Threads started while the app loaded are daemons already (made in the loader thread,
    they inherit its flag), and a load given up after --load-timeout is a daemon too: what
    is left is a thread the app started while serving the checks' requests.
    """
    return [
        thread
        for thread in threading.enumerate()
        if thread not in before and thread.is_alive() and not thread.daemon
    ]


def leave_if_threads_linger(status: int, before: set[threading.Thread]) -> None:
    """The report is out: end the process now if the app's threads would keep it alive.

    A worker the app starts on its first request would hold Python's exit until killed.
    ``os._exit`` skips that wait (and atexit hooks, which are the app's, not check-app's),
    once everything written is flushed.
    """
    left = lingering(before)
    if not left:
        return
    names = ", ".join(sorted({thread.name for thread in left}))
    print(f"note: exiting without waiting for the app's thread(s): {names}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
