"""The core install stays free of the runner: check-app and the plugin import without nox,
uv, jsonschema or pip (the e2e test installs it for real; this one guards every commit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from factories import RESOURCES

# Runs in a fresh interpreter whose imports of the runner's packages fail, as they would in
# an app's environment that installed this project without the `runner` extra.
BLOCKED = textwrap.dedent(
    """
    import importlib, io, sys
    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("nox", "uv", "jsonschema", "pip"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, Blocker())
    for module in ("cli", "checkapp.command", "checkapp.writes", "checkapp.pytest_plugin"):
        importlib.import_module("flask_admin_compat." + module)
    from flask_admin_compat import cli
    out = io.StringIO()
    status = cli.main(["check-app", "--app", sys.argv[1]], out=out)
    print(status, "databases:" in out.getvalue())
    print(cli.main(["merge", "--cells", "nowhere"]))
    print(cli.main(["list", "--matrix", sys.argv[2], "-k", "admin22"], out=io.StringIO()))
    """
)


def test_check_app_runs_without_the_runners_dependencies() -> None:
    app = f"{RESOURCES / 'apps' / 'scoping_style.py'}:create_app('sqlite://')"
    matrix = RESOURCES / "small-matrix.toml"
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED, app, str(matrix)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # check-app ran; the runner's commands end in a line, never a traceback, and one that
    # needs a missing package says what to install.
    assert done.stdout.split("\n")[:3] == ["0 True", "2", "2"], done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    # matrix.toml is read through its JSON Schema first, before nox is needed for -k.
    assert "list -k needs the runner's dependencies (jsonschema is missing)" in done.stderr
    assert "pip install 'flask-admin-compat[runner]'" in done.stderr
