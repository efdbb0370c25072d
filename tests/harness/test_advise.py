"""Upgrade advice: reading pins, matching cells, newly failing checks, the nearest fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import make_grid_cell

from flask_admin_compat import exitcodes
from flask_admin_compat.advise import (
    AdviceError,
    Stack,
    admits,
    advise,
    include_snippet,
    matching_cells,
    nearest_compatible,
    parse_pins,
    parse_upgrades,
    read_installed,
    render_advice,
)
from flask_admin_compat.checks.ids import Outcome
from flask_admin_compat.cli import main as cli_main
from flask_admin_compat.grid.model import FailedCheck, Grid, GridCell, axis_order, write_grid
from flask_admin_compat.results.model import CheckOutcome, Verdict

ROOT = Path(__file__).parents[2]
PASS: Outcome = "passed"
FAIL: Outcome = "failed"


def main(argv: list[str]) -> int:
    """The ``advise`` command, as ``flask-admin-compat advise ARGS`` runs it."""
    return cli_main(["advise", *argv])


def checks(**outcomes: Outcome) -> tuple[CheckOutcome, ...]:
    """per_request=FAIL -> the per-request check failed under session-at-setup."""
    every = {"per_request": PASS, "teardown": PASS, **outcomes}
    return tuple(
        CheckOutcome(
            "session-at-setup",
            name.replace("_", "-"),
            result,
            "AssertionError: one session for two requests" if result == FAIL else "",
            0.1,
            (result,),
        )
        for name, result in every.items()
    )


def cell(
    flask: str,
    admin: str,
    verdict: Verdict = "compatible",
    *,
    python: str = "3.12",
    backend: tuple[str, str] = ("flask-sqlalchemy", "3.1.*"),
    outcomes: dict[str, Outcome] | None = None,
    **kwargs: Any,
) -> GridCell:
    requested = {
        "python": python,
        "flask": flask,
        "flask-admin": admin,
        "sqlalchemy": "2.0.*",
        backend[0]: backend[1],
    }
    cell_id = "-".join(f"{k[:5]}{v}" for k, v in requested.items())
    installed = {
        "flask": flask.replace("*", "4"),
        "flask-admin": admin.replace("*", "1"),
        "sqlalchemy": "2.0.36",
        backend[0]: backend[1].replace("*", "1"),
    }
    return make_grid_cell(
        cell_id,
        requested,
        verdict,
        reason=kwargs.pop("reason", ""),
        result_path="r",
        installed=installed,
        python_version=f"{python}.7",
        checks=checks(**(outcomes or {})),
        **kwargs,
    )


def grid(*cells: GridCell) -> Grid:
    return Grid("2025-06-01T12:00:00+00:00", "0.1.0", cells)


MINE = Stack(
    {
        "flask": "3.0.3",
        "flask-admin": "2.1.1",
        "sqlalchemy": "2.0.36",
        "flask-sqlalchemy": "3.1.1",
        "requests": "2.32.0",
    },
    python="3.12.4",
    source="requirements.txt",
)


@pytest.fixture
def the_grid() -> Grid:
    return grid(
        cell("3.0.*", "2.1.*"),
        cell("3.1.*", "2.1.*", "incompatible", outcomes={"per_request": FAIL}),
        cell("3.1.*", "2.2.*"),
        cell("3.1.*", "2.0.*"),
        cell("3.0.*", "2.2.*", "workaround", recommended_pattern="lazy-proxy"),
        cell("3.1.*", "2.1.*", backend=("flask-sqlalchemy-lite", "0.2.*")),
    )


# -- reading -----------------------------------------------------------------------------------


def test_parse_pins_takes_exact_pins_and_names_the_rest() -> None:
    text = (
        "# my app\n"
        "Flask==3.0.3\n"
        "flask_admin==2.1.1 --hash=sha256:abc \\\n"
        "    --hash=sha256:def\n"
        "SQLAlchemy==2.0.36 ; python_version >= '3.8'  # pinned\n"
        "requests>=2\n"
        "-r other.txt\n"
        "-e .\n"
        "mylib @ file:///src/mylib\n"
        "\n"
    )
    pins, skipped = parse_pins(text)
    assert pins == {"flask": "3.0.3", "flask-admin": "2.1.1", "sqlalchemy": "2.0.36"}
    assert skipped == ["requests>=2", "mylib @ file:///src/mylib"]


@pytest.mark.parametrize(
    "bad", ["flask", "flask>=3", "flask==3.*", "flask==3.0,<4", "==1", "x==y!"]
)
def test_parse_upgrades_wants_one_release(bad: str) -> None:
    with pytest.raises(AdviceError):
        parse_upgrades([bad])


def test_parse_upgrades_normalises_names() -> None:
    assert parse_upgrades(["Flask_Admin==2.2.0", "python==3.13"]) == {
        "flask-admin": "2.2.0",
        "python": "3.13",
    }


@pytest.mark.parametrize(
    ("axis", "spec", "version", "tested", "expected"),
    [
        ("flask", "3.0.*", "3.0.3", None, True),
        ("flask", "3.0.*", "3.1.0", None, False),
        ("flask", "3.0.3", "3.0.3", None, True),
        ("flask", "3.0.2", "3.0.3", None, False),
        ("flask", "latest", "3.1.1", "3.1.1", True),
        ("flask", "latest", "3.1.0", "3.1.1", False),
        ("python", "3.12", "3.12.4", None, True),
        ("python", "3.12", "3.13.0", None, False),
        ("flask", ">=3,<3.1", "3.0.9", None, True),
        ("flask", "nonsense", "3.0.0", None, False),
        ("flask", "3.0.*", "not-a-version", None, False),
    ],
)
def test_admits(axis: str, spec: str, version: str, tested: str | None, expected: bool) -> None:
    assert admits(axis, spec, version, tested=tested) is expected


# -- matching and advice (pure) ----------------------------------------------------------------


def test_a_series_cell_matches_an_installed_release(the_grid: Grid) -> None:
    (match,) = matching_cells(the_grid, MINE)
    assert match.requested["flask"] == "3.0.*"
    assert match.requested["flask-admin"] == "2.1.*"


def test_a_backend_the_user_lacks_does_not_match(the_grid: Grid) -> None:
    target = Stack({**MINE.packages, "flask": "3.1.1"}, python="3.12.4")
    cells = matching_cells(the_grid, target)
    assert [c.requested.get("flask-sqlalchemy-lite") for c in cells] == [None]


def test_upgrade_that_breaks_names_the_checks_and_the_nearest_fix(the_grid: Grid) -> None:
    advice = advise(the_grid, MINE, {"flask": "3.1.1"})
    assert [c.verdict for c in advice.now] == ["compatible"]
    (pairing,) = advice.after
    assert pairing.after.verdict == "incompatible"
    assert pairing.newly_failing == (
        FailedCheck(
            "per-request", ("session-at-setup",), "AssertionError: one session for two requests"
        ),
    )
    assert advice.nearest is not None
    # One axis to move; of Flask-Admin 2.0 and 2.2, both compatible with Flask 3.1, the newer.
    assert [(c.axis, c.spec, c.current) for c in advice.nearest.changes] == [
        ("flask-admin", "2.2.*", "2.1.1")
    ]
    text = render_advice(advice, grid_axes=axis_order(the_grid.cells))
    assert "Your stack (requirements.txt): Python 3.12.4 · Flask 3.0.3 · Flask-Admin 2.1.1" in text
    assert "The upgrade: Flask 3.0.3 → 3.1.1" in text
    assert "Now: compatible" in text
    assert "After the upgrade: incompatible" in text
    assert "per-request (session-at-setup): AssertionError: one session for two requests" in text
    assert "Nearest compatible combination (1 axis changed)" in text
    assert "Flask-Admin 2.1.1 → 2.2.* (tested with 2.2.1)" in text


def test_safe_upgrade_says_nothing_else_to_change(the_grid: Grid) -> None:
    stack = Stack({**MINE.packages, "flask-admin": "2.2.0"}, python="3.12.1", source="pins")
    advice = advise(the_grid, stack, {"flask": "3.1.0"})
    assert advice.settled
    assert advice.nearest is None
    text = render_advice(advice, grid_axes=axis_order(the_grid.cells))
    assert "Now: workaround — works only if you register ModelViews with the lazy-proxy" in text
    assert "After the upgrade: compatible" in text
    assert "Nothing else to change" in text


def test_missing_cell_says_so_and_shows_the_matrix_include(the_grid: Grid) -> None:
    advice = advise(the_grid, MINE, {"sqlalchemy": "2.1.0"})
    assert advice.after == ()
    assert (
        advice.include_after
        == '[[include]]\npython = "3.12"\nflask = "3.0.3"\nflask-admin = "2.1.1"\nsqlalchemy = "2.1.0"\nflask-sqlalchemy = "3.1.1"'
    )
    text = render_advice(advice, grid_axes=axis_order(the_grid.cells))
    assert "the grid has no cell for this stack" in text
    assert "add this to matrix.toml" in text
    assert '    sqlalchemy = "2.1.0"' in text


def test_unknown_python_shows_every_python_of_the_grid() -> None:
    the_grid = grid(
        cell("3.0.*", "2.1.*", python="3.11"),
        cell("3.1.*", "2.1.*", python="3.11"),
        cell("3.0.*", "2.1.*", python="3.12"),
        cell("3.1.*", "2.1.*", "incompatible", python="3.12", outcomes={"teardown": FAIL}),
    )
    stack = Stack(dict(MINE.packages), python=None, source="pins")
    advice = advise(the_grid, stack, {"flask": "3.1.2"})
    assert advice.unconstrained == ("python",)
    assert len(advice.now) == 2
    after = {p.after.requested["python"]: p for p in advice.after}
    assert after["3.11"].after.verdict == "compatible"
    assert after["3.12"].newly_failing[0].check == "teardown"
    text = render_advice(advice, grid_axes=axis_order(the_grid.cells))
    assert "give --python-version" in text
    assert "[Python 3.12, cell" in text


def test_nearest_prefers_fewest_axes_then_newest() -> None:
    the_grid = grid(
        cell("2.3.*", "1.6.*"),  # three moves away from the target
        cell("3.1.*", "2.0.*"),  # one move
        cell("3.1.*", "2.2.*"),  # one move, newer
        cell("3.1.*", "2.1.*", "incompatible"),
        cell("3.1.*", "2.1.*", "compatible", flags=("flaky",)),  # flaky is not compatible
    )
    target = Stack({**MINE.packages, "flask": "3.1.1"}, python="3.12.4")
    suggestion = nearest_compatible(the_grid, target)
    assert suggestion is not None
    assert suggestion.cell.requested["flask-admin"] == "2.2.*"
    assert nearest_compatible(grid(cell("3.1.*", "2.1.*", "incompatible")), target) is None


def test_include_snippet_fills_unknown_values_with_valid_ones_to_change() -> None:
    the_grid = grid(cell("3.0.*", "2.1.*", python="3.11"), cell("3.0.*", "2.1.*", python="3.12"))
    snippet = include_snippet(the_grid, Stack({"flask": "3.1.0"}, python=None))
    # A "?" would be refused by matrix.toml; the grid's newest is valid, and marked to change.
    assert (
        'python = "3.12"  # not known from your stack: write yours (the grid has 3.11, 3.12)'
        in snippet
    )
    assert 'flask = "3.1.0"' in snippet
    assert '"?"' not in snippet


# -- the interpreter and the command line ------------------------------------------------------


def test_read_installed_refuses_the_environment_it_runs_in() -> None:
    with pytest.raises(AdviceError, match="environment this command runs in"):
        read_installed(sys.executable)


def test_read_installed_asks_another_interpreter(tmp_path: Path) -> None:
    venv = tmp_path / "app-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    dist = site / "flask-3.0.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.3\n")
    stack = read_installed(str(venv / "bin" / "python"))
    assert stack.packages["flask"] == "3.0.3"
    assert stack.python == ".".join(map(str, sys.version_info[:3]))


def test_read_installed_of_something_that_is_not_python(tmp_path: Path) -> None:
    with pytest.raises(AdviceError, match="cannot run it"):
        read_installed(str(tmp_path / "no-python"))


def test_main_with_pins(the_grid: Grid, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid_path = tmp_path / "grid.json"
    write_grid(grid_path, the_grid)
    pins = tmp_path / "requirements.txt"
    pins.write_text(
        "flask==3.0.3\nflask-admin==2.1.1\nsqlalchemy==2.0.36\n"
        "flask-sqlalchemy==3.1.1\nrequests>=2\n"
    )
    code = main(
        ["flask==3.1.1", "--pins", str(pins), "--python-version", "3.12", "--grid", str(grid_path)]
    )
    assert code == exitcodes.OK
    out = capsys.readouterr()
    assert "After the upgrade: incompatible" in out.out
    assert "not an exact pin, ignored: requests>=2" in out.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["flask>=3", "--pins", "x"], "PACKAGE==VERSION"),
        (["flask==3.1.1", "--pins", "/no/such/file"], "cannot read the pins"),
        (["flask==3.1.1", "--pins", "EMPTY"], "no exact pins"),
        (["flask==3.1.1", "--pins", "PINS", "--grid", "/no/grid.json"], "cannot read"),
    ],
)
def test_main_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "EMPTY").write_text("# nothing\n")
    (tmp_path / "PINS").write_text("flask==3.0.3\n")
    argv = [str(tmp_path / a) if a in ("EMPTY", "PINS") else a for a in argv]
    assert main(argv) == exitcodes.USAGE
    assert message in capsys.readouterr().err


def test_main_needs_pins_or_an_interpreter(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["flask==3.1.1"])
    assert exc.value.code == exitcodes.USAGE
    assert "--pins" in capsys.readouterr().err


def test_command_runs_as_a_program(the_grid: Grid, tmp_path: Path) -> None:
    grid_path = tmp_path / "grid.json"
    write_grid(grid_path, the_grid)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask_admin_compat.cli",
            "advise",
            "flask==3.1.1",
            "--pins",
            "-",
            "--grid",
            str(grid_path),
        ],
        input="flask==3.0.3\nflask-admin==2.1.1\nsqlalchemy==2.0.36\nflask-sqlalchemy==3.1.1\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == exitcodes.OK, done.stderr
    assert "Your stack (standard input)" in done.stdout
    assert "After the upgrade: incompatible" in done.stdout


def test_nearest_never_offers_a_pre_release_or_an_unreleased_build() -> None:
    target = Stack({**MINE.packages, "flask": "3.1.1"}, python="3.12.4")
    offered = grid(
        cell("3.1.*", "2.0.*"),  # one move, the only release
        cell("3.1.*", "2.2.*", "compatible", flags=("pre-release",)),
        cell("3.1.*", "2.1.*", "compatible", flags=("unreleased",)),
    )
    suggestion = nearest_compatible(offered, target)
    assert suggestion is not None
    assert suggestion.cell.requested["flask-admin"] == "2.0.*"
    only_builds = grid(cell("3.1.*", "2.2.*", "compatible", flags=("unreleased",)))
    assert nearest_compatible(only_builds, target) is None
