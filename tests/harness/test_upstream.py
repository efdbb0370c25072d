"""Flask-Admin's own tests: reading their JUnit XML, the dependency data, and the result form."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from factories import RESOURCES
from packaging.version import Version
from test_results import make_result

from flask_admin_compat.jsonio import load_schema
from flask_admin_compat.matrix.matrix import BACKENDS, FLASK_SQLALCHEMY, FLASK_SQLALCHEMY_LITE
from flask_admin_compat.results.junit import (
    MESSAGE_CHARS,
    JUnitError,
    parse_upstream_junit,
    read_upstream_junit,
)
from flask_admin_compat.results.model import (
    SCHEMA_VERSION,
    ResultError,
    UpstreamCounts,
    UpstreamFailure,
    UpstreamReport,
    UpstreamResult,
    read_result,
    write_result,
)
from flask_admin_compat.results.verdict import MAX_FAILURES, judge_report, listed_failures
from flask_admin_compat.run.upstream_plan import (
    DEPS_SCHEMA,
    DepsError,
    NotApplicable,
    UpstreamPlan,
    added_packages,
    deps_text,
    load_deps,
    lock_versions,
    moved_pins,
    parse_deps,
    plan_upstream,
    pytest_ini,
    series_for,
)

JUNIT = RESOURCES / "upstream"


# --- JUnit XML -------------------------------------------------------------------------------


def test_a_clean_run_counts_every_outcome() -> None:
    # Flask-Admin 2.2.1 on Flask 3.1, SQLAlchemy 2.0, Flask-SQLAlchemy 3.1, lite cases left out.
    report = read_upstream_junit(JUNIT / "admin22-fsa31-ran.xml")
    assert report.counts == UpstreamCounts(passed=194, skipped=1, xfailed=6)
    assert report.counts.total == 201  # the testsuite's own tests="201"
    assert report.failures == ()
    assert judge_report(report) == ("ran", "194 passed, 1 skipped, 6 xfailed")


def test_upstreams_own_skips_are_counted_apart_from_expected_failures() -> None:
    # The lite cell: upstream skips its deprecated session-based cases for lite itself.
    report = read_upstream_junit(JUNIT / "admin22-lite02-ran.xml")
    assert report.counts == UpstreamCounts(passed=116, skipped=80, xfailed=5)
    assert judge_report(report) == ("ran", "116 passed, 80 skipped, 5 xfailed")


def test_failures_keep_node_ids_and_their_first_lines() -> None:
    # Flask-Admin 1.6.1 on Flask 2.3 with SQLAlchemy 2.0 and WTForms 3.3: real breakage.
    report = read_upstream_junit(JUNIT / "admin16-flask23-failures.xml")
    assert report.counts == UpstreamCounts(passed=42, failed=18, xfailed=4)
    assert len(report.failures) == 18
    first = report.failures[0]
    assert first == UpstreamFailure(
        "flask_admin/tests/sqla/test_basic.py::test_model",
        "failed",
        "AssertionError: assert None == ''\n +  where None = <Model1 1>.test3",
    )
    assert all(f.nodeid.startswith("flask_admin/tests/sqla/test_") for f in report.failures)
    assert all(0 < len(f.message) <= MESSAGE_CHARS for f in report.failures)
    assert judge_report(report) == ("ran", "42 passed, 18 failed, 4 xfailed")


def test_modules_that_do_not_import_make_the_suite_not_applicable() -> None:
    # Flask-Admin 1.6.1's tests import flask_babelex, which cannot import from Flask 3.
    report = read_upstream_junit(JUNIT / "admin16-flask31-uncollected.xml")
    assert report.uncollected == tuple(
        f"flask_admin/tests/sqla/{name}.py"
        for name in ("test_basic", "test_form_rules", "test_multi_pk", "test_translation")
    )
    # The reason names the modules and the cause, without this machine's paths.
    reason = (
        "could not collect test_basic.py, test_form_rules.py, test_multi_pk.py, "
        "test_translation.py: ImportError: cannot import name '_request_ctx_stack' from 'flask'"
    )
    assert judge_report(report) == ("n/a", reason)
    # What did run is still counted, and the modules that did not import are listed first.
    assert report.counts == UpstreamCounts(failed=5, errors=4)
    assert [f.outcome for f in listed_failures(report)[:4]] == ["error"] * 4


def test_edge_cases_of_the_report() -> None:
    report = read_upstream_junit(JUNIT / "handmade-edge-cases.xml")
    # A failure followed by a teardown error counts once, as failed.
    assert report.counts == UpstreamCounts(passed=1, failed=3, errors=2, skipped=1, xfailed=1)
    by_id = {f.nodeid: f for f in report.failures}
    # A test in a class: the class becomes a part of the node id, as pytest writes it.
    assert "flask_admin/tests/sqla/test_form.py::TestConverter::test_convert[SQLAProvider]" in by_id
    # Without the file (xunit2), the dotted class name stands in.
    xunit2 = "flask_admin.tests.sqla.test_translation::test_unique_validator[SQLAProvider-with_db]"
    assert by_id[xunit2].message == "AssertionError: 'Already exists.' != 'Existe déjà.'"
    setup = by_id["flask_admin/tests/sqla/test_basic.py::test_model[SQLALiteProvider-with_db]"]
    assert setup.outcome == "error"
    assert "No module named 'flask_sqlalchemy_lite'" in setup.message
    # No message: the traceback's E lines say it.
    no_message = by_id["flask_admin/tests/sqla/test_basic.py::test_no_message"]
    assert no_message.message == "RuntimeError: one\n(raised twice)"


def test_a_long_failure_is_cut_to_its_first_lines() -> None:
    message = "\n".join(f"line {i} " + "x" * 50 for i in range(20))
    xml = (
        '<testsuite><testcase classname="m" name="t">'
        f'<failure message="{message}">E   boom</failure></testcase></testsuite>'
    ).replace("\n", "&#10;")
    (failure,) = parse_upstream_junit(xml).failures
    assert failure.message.splitlines()[0].startswith("line 0 ")
    assert len(failure.message.splitlines()) == 5
    assert len(failure.message) <= MESSAGE_CHARS


def test_a_result_lists_at_most_so_many_failures_but_counts_them_all() -> None:
    cases = "".join(
        f'<testcase classname="m" name="t{i}"><failure message="no {i}"/></testcase>'
        for i in range(MAX_FAILURES + 20)
    )
    report = parse_upstream_junit(f"<testsuite>{cases}</testsuite>")
    assert report.counts.failed == MAX_FAILURES + 20
    assert len(listed_failures(report)) == MAX_FAILURES


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        ("<testsuite><testcase", "not well-formed"),
        ("<html><body>502</body></html>", "root element is <html>"),
    ],
)
def test_what_is_not_a_junit_report_is_refused(xml: str, problem: str) -> None:
    with pytest.raises(JUnitError, match=problem):
        parse_upstream_junit(xml)


def test_a_missing_report_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(JUnitError, match="cannot read"):
        read_upstream_junit(tmp_path / "junit.xml")


def test_no_tests_at_all_is_not_applicable() -> None:
    report = parse_upstream_junit('<testsuites><testsuite tests="0"/></testsuites>')
    assert judge_report(report) == ("n/a", "the suite collected no tests")


# --- the dependency data ---------------------------------------------------------------------


def test_the_packaged_data_loads_and_says_where_every_entry_came_from() -> None:
    deps = load_deps()
    assert deps.module == "flask_admin.tests.sqla"
    raw = tomllib.loads(deps_text())
    sources = list(_sources(raw))
    assert sources
    assert all(s.strip() for s in sources)
    for series in deps.series:
        assert series.source
        assert {name for name, _ in series.backends} <= set(BACKENDS)
        for dep in (*series.requirements, *series.postgres.requirements):
            assert dep.source, dep


def _sources(node: Any) -> Any:
    if isinstance(node, dict):
        if "requirement" in node:
            yield node["source"]
        for value in node.values():
            yield from _sources(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sources(value)


@pytest.mark.parametrize(
    ("version", "series"),
    [
        ("1.6.1", ">=1.6,<2"),
        ("2.0.2", ">=2.0,<2.1"),
        ("2.1.0", ">=2.1,<2.2"),
        ("2.2.1", ">=2.2"),
        ("2.3.0", ">=2.2"),  # a series nobody has looked at yet takes the newest entry
        ("1.5.8", None),
    ],
)
def test_the_series_is_chosen_by_the_installed_version(version: str, series: str | None) -> None:
    found = series_for(load_deps(), Version(version))
    assert (found.text if found else None) == series


def test_flask_admin_16_needs_what_its_tests_import() -> None:
    plan = plan_upstream(
        load_deps(), flask_admin="1.6.1", backend=FLASK_SQLALCHEMY, database_url=None
    )
    assert isinstance(plan, UpstreamPlan)
    assert plan.requirements == (
        "flask-babelex",
        "pytz",
        "sqlalchemy-utils",
        "arrow",
        "colour",
        "email-validator",
    )
    # 1.6 does not parametrize over backends: nothing to select, PostgreSQL left out.
    assert plan.pytest_args == (
        "--pyargs",
        "flask_admin.tests.sqla",
        "--ignore-glob",
        "*/flask_admin/tests/sqla/test_postgres.py",
    )


@pytest.mark.parametrize("version", ["1.6.1", "2.0.2"])
def test_a_series_whose_tests_know_no_lite_is_not_applicable_in_a_lite_cell(version: str) -> None:
    plan = plan_upstream(
        load_deps(), flask_admin=version, backend=FLASK_SQLALCHEMY_LITE, database_url=None
    )
    assert isinstance(plan, NotApplicable)
    assert plan.reason.startswith(
        f"Flask-Admin {version}'s own tests exercise flask-sqlalchemy only, not "
        "flask-sqlalchemy-lite ("
    )


@pytest.mark.parametrize(
    ("version", "backend", "keyword", "extra"),
    [
        ("2.1.0", FLASK_SQLALCHEMY, "not SQLALiteProvider", ()),
        ("2.1.0", FLASK_SQLALCHEMY_LITE, "not SQLAProvider", ()),
        ("2.2.1", FLASK_SQLALCHEMY, "not SQLALiteProvider", ()),
        # 2.2's conftest imports flask_sqlalchemy at module level, even for lite cases.
        ("2.2.1", FLASK_SQLALCHEMY_LITE, "not SQLAProvider", ("flask-sqlalchemy",)),
    ],
)
def test_each_backend_runs_its_own_cases(
    version: str, backend: str, keyword: str, extra: tuple[str, ...]
) -> None:
    plan = plan_upstream(load_deps(), flask_admin=version, backend=backend, database_url=None)
    assert isinstance(plan, UpstreamPlan)
    assert plan.pytest_args[2:4] == ("-k", keyword)
    assert plan.requirements[:5] == (
        "sqlalchemy-utils>=0.38.0",
        "arrow>=0.14.0",
        "colour>=0.1.5",
        "email-validator>=2",
        "flask-babel>=3.0.1",
    )
    assert plan.requirements[5:] == extra
    assert not any("flask-sqlalchemy-lite" in r for r in plan.requirements)  # never the other one


def test_postgresql_tests_run_only_where_a_server_is_named() -> None:
    deps = load_deps()
    without = plan_upstream(deps, flask_admin="2.2.1", backend=FLASK_SQLALCHEMY, database_url=None)
    url = "postgresql://u:secret@db.example/test"
    with_server = plan_upstream(
        deps, flask_admin="2.2.1", backend=FLASK_SQLALCHEMY, database_url=url
    )
    assert isinstance(without, UpstreamPlan)
    assert isinstance(with_server, UpstreamPlan)
    assert "--ignore-glob" in without.pytest_args
    assert "--ignore-glob" not in with_server.pytest_args
    # 2.x reads its server from SQLALCHEMY_DATABASE_URI; the URI is passed, never recorded.
    assert with_server.env == (("SQLALCHEMY_DATABASE_URI", url),)
    assert "secret" not in " ".join(with_server.selection)
    assert {"sqlalchemy-citext>=1.8.0", "psycopg2-binary"} <= set(with_server.requirements)
    assert "psycopg2-binary" not in without.requirements


def test_flask_admin_16_connects_only_to_its_hard_coded_server() -> None:
    deps = load_deps()
    fixed = "postgresql://postgres:postgres@localhost/flask_admin_test"
    other = plan_upstream(
        deps, flask_admin="1.6.1", backend=FLASK_SQLALCHEMY, database_url="postgresql://h/db"
    )
    same = plan_upstream(deps, flask_admin="1.6.1", backend=FLASK_SQLALCHEMY, database_url=fixed)
    assert isinstance(other, UpstreamPlan)
    assert isinstance(same, UpstreamPlan)
    assert "--ignore-glob" in other.pytest_args
    assert fixed in other.selection[0]
    assert "--ignore-glob" not in same.pytest_args
    assert same.env == ()  # nothing to pass: the URI is written into its tests


@pytest.mark.parametrize(
    ("flask_admin", "reason"),
    [
        (None, "Flask-Admin is not among the cell's resolved pins"),
        ("1.5.8", "no test dependencies are known for Flask-Admin 1.5.8"),
        ("nonsense", "is not a PEP 440 version"),
    ],
)
def test_a_flask_admin_without_data_is_not_applicable(flask_admin: str | None, reason: str) -> None:
    plan = plan_upstream(
        load_deps(), flask_admin=flask_admin, backend=FLASK_SQLALCHEMY, database_url=None
    )
    assert isinstance(plan, NotApplicable)
    assert reason in plan.reason


def test_the_suite_runs_under_its_own_config() -> None:
    ini = pytest_ini(load_deps())
    assert ini.startswith("[pytest]\njunit_family = xunit1\n")
    assert "    flask_babel: requires Flask-Babel to be installed\n" in ini
    assert "filterwarnings" not in ini


def _data(**series_changes: object) -> dict[str, Any]:
    series: dict[str, Any] = {
        "flask-admin": ">=2.2",
        "source": "METADATA",
        "requirements": [{"requirement": "arrow>=0.14", "source": "test_basic.py"}],
        "backends": {"flask-sqlalchemy": {"source": "conftest.py"}},
        "postgres": {"uri-env": "SQLALCHEMY_DATABASE_URI", "source": "conftest.py"},
    }
    series.update(series_changes)
    return {
        "suite": {"module": "flask_admin.tests.sqla"},
        "postgres": {"ignore-glob": "*/test_postgres.py"},
        "series": [series],
    }


def test_minimal_data_parses() -> None:
    assert parse_deps(_data()).series[0].requirements[0].requirement == "arrow>=0.14"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"flask-admin": "2.2"}, "series[0].flask-admin = '2.2': a PEP 440 specifier"),
        (
            {"requirements": [{"requirement": "arrow @ https://x/arrow.whl", "source": "s"}]},
            "series[0].requirements[0].requirement",
        ),
        (
            {"requirements": [{"requirement": "--index-url=http://x", "source": "s"}]},
            "a name and a PEP 440 specifier",
        ),
        ({"requirements": [{"requirement": "arrow"}]}, "every entry says where it came from"),
        ({"source": " "}, "series[0].source"),
        ({"backends": {"peewee": {"source": "s"}}}, "unknown backend"),
        ({"backends": {}}, "name the backends its tests exercise"),
        (
            {"backends": {"flask-sqlalchemy": {"source": "s", "keyword": "a-b"}}},
            "keyword = 'a-b'",
        ),
        (
            {"postgres": {"uri-env": "X", "fixed-uri": "postgresql://h/db", "source": "s"}},
            "exactly one of uri-env and fixed-uri",
        ),
    ],
)
def test_bad_data_is_refused_naming_the_key(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(DepsError, match=r"^upstream-deps\.toml: ") as caught:
        parse_deps(_data(**changes))
    assert fragment in str(caught.value)


# --- pins -------------------------------------------------------------------------------------

CELL_LOCK = "flask==3.1.3\nflask-admin==2.2.1\nSQLAlchemy==2.0.58\npytest==9.2.0\n"


def test_lock_lines_are_read_by_canonical_name() -> None:
    assert lock_versions(CELL_LOCK + "# a comment\n\n") == {
        "flask": "3.1.3",
        "flask-admin": "2.2.1",
        "sqlalchemy": "2.0.58",
        "pytest": "9.2.0",
    }


def test_the_test_dependencies_add_packages_and_move_none() -> None:
    upstream = CELL_LOCK + "arrow==1.4.0\nsqlalchemy-utils==0.43.0\n"
    assert moved_pins(CELL_LOCK, upstream) == []
    assert added_packages(CELL_LOCK, upstream) == {"arrow": "1.4.0", "sqlalchemy-utils": "0.43.0"}
    moved = upstream.replace("SQLAlchemy==2.0.58", "sqlalchemy==2.0.40").replace(
        "pytest==9.2.0", ""
    )
    assert moved_pins(CELL_LOCK, moved) == ["pytest 9.2.0 -> absent", "sqlalchemy 2.0.58 -> 2.0.40"]


# --- the result ------------------------------------------------------------------------------

UPSTREAM = UpstreamResult(
    status="ran",
    reason="42 passed, 18 failed, 4 xfailed",
    fingerprint="up1",
    counts=UpstreamCounts(passed=42, failed=18, xfailed=4),
    failures=(UpstreamFailure("flask_admin/tests/sqla/test_basic.py::test_model", "failed", "x"),),
    flask_admin="1.6.1",
    series=">=1.6,<2",
    added={"arrow": "1.4.0"},
    selection=("--ignore-glob */test_postgres.py: PostgreSQL only",),
    durations={"resolve": 0.5, "install": 2.0, "test": 11.1, "total": 13.6},
    log="upstream-log.txt",
    junit="upstream-junit.xml",
)


def test_a_result_with_the_upstream_suite_round_trips(tmp_path: Path) -> None:
    result = make_result(upstream=UPSTREAM)
    path = write_result(tmp_path, result)
    assert read_result(path) == result
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["upstream"]["counts"] == {
        "passed": 42,
        "failed": 18,
        "errors": 0,
        "skipped": 0,
        "xfailed": 4,
    }
    # It sits beside the verdict, never in it.
    assert data["verdict"] == "compatible"


def test_a_result_without_it_has_no_upstream_key(tmp_path: Path) -> None:
    path = write_result(tmp_path, make_result())
    assert "upstream" not in json.loads(path.read_text())


def test_a_result_written_before_1_1_still_reads(tmp_path: Path) -> None:
    path = write_result(tmp_path, make_result())
    data = json.loads(path.read_text())
    data["schema_version"] = "1.0"
    path.write_text(json.dumps(data))
    assert read_result(path).upstream is None


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"status": "skipped"}, "upstream/status"),
        ({"counts": {"passed": -1}}, "upstream/counts"),
        ({"failures": [{"nodeid": "x", "outcome": "xfailed", "message": ""}]}, "upstream/failures"),
        ({"surprise": 1}, "upstream"),
    ],
)
def test_the_schema_refuses_a_malformed_upstream(
    tmp_path: Path, change: dict[str, object], fragment: str
) -> None:
    path = write_result(tmp_path, make_result(upstream=UPSTREAM))
    data = json.loads(path.read_text())
    data["upstream"].update(change)
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match=fragment):
        read_result(path)


def test_a_not_applicable_suite_needs_no_counts(tmp_path: Path) -> None:
    result = make_result(
        upstream=UpstreamResult("n/a", "the cell's pins do not resolve: ...", "up2")
    )
    assert read_result(write_result(tmp_path, result)) == result
    assert UpstreamReport(UpstreamCounts(), (), ()).counts.summary() == "no tests"


def test_the_schema_knows_the_same_backends_as_the_matrix() -> None:
    schema = load_schema(DEPS_SCHEMA)
    backends = schema["properties"]["series"]["items"]["properties"]["backends"]
    assert tuple(backends["propertyNames"]["enum"]) == BACKENDS
