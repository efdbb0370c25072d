"""``flask-admin-compat check-app``: load the app, check every view, print and exit.

The edge of the package: errors become one line and an exit status here, and only here.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import IO

import flask
from flask.cli import load_dotenv
from flask.helpers import get_load_dotenv

from flask_admin_compat.exitcodes import CHECK_FAILED, OK, USAGE
from flask_admin_compat.jsonio import write_text_atomic

from .loading import UsageProblem
from .report import AppReport, databases_text, render_views, summary_text, to_json
from .target import check_views, installed_versions, load_target, release


def run_check_app(args: argparse.Namespace, out: IO[str]) -> int:
    """The ``check-app`` subcommand: 0 all pass, 1 a check failed, 2 usage (nothing checked)."""
    # As `flask` does first: .flaskenv and .env set defaults (FLASK_APP among them) when
    # python-dotenv is installed, unless FLASK_SKIP_DOTENV says not to.
    if get_load_dotenv():
        load_dotenv()
    spec = args.app or os.environ.get("FLASK_APP")
    if not spec:
        print("error: --app MODULE:FACTORY is required (or set FLASK_APP)", file=sys.stderr)
        return USAGE
    # As `flask` does for the app: modules named by --login are found from here too.
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    text_out = sys.stderr if args.json == "-" else out
    try:
        target = load_target(spec, args.login)
    except UsageProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    # Before anything runs: which database(s) this is about to send requests to.
    print(databases_text(target.databases), file=text_out, flush=True)
    writes = None
    if args.writes:
        from .writes import plan

        try:
            writes = plan(target, confirmed=args.yes)
        except UsageProblem as exc:
            release(target)
            print(f"error: {exc}", file=sys.stderr)
            return USAGE
    versions = installed_versions()
    print("versions: " + ", ".join(f"{n} {v}" for n, v in versions), file=text_out)
    if flask.has_app_context():
        print(
            "note: building the app left an app context pushed; the checks send their "
            "requests from a thread of their own, as a server's threads would",
            file=text_out,
        )
    print(file=text_out, flush=True)
    try:
        views = check_views(target, writes=writes)
    except UsageProblem as exc:  # the user's --login hook failed
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    report = AppReport(
        app=spec,
        databases=target.databases,
        versions=versions,
        writes=bool(args.writes),
        views=views,
    )
    print(render_views(report), end="", file=text_out)
    print(summary_text(report), file=text_out)
    if args.json == "-":
        out.write(to_json(report))
    elif args.json:
        try:
            write_text_atomic(Path(args.json), to_json(report))
        except OSError as exc:
            print(f"error: --json {args.json}: cannot write: {exc.strerror}", file=sys.stderr)
            return USAGE
    if report.failed:
        return CHECK_FAILED
    if not report.checked:
        print(
            "error: no view could be checked (every check was skipped); see the reasons above",
            file=sys.stderr,
        )
        return USAGE
    return OK
