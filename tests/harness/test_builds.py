"""Unreleased builds as axis values: parsing, ids, bad input, pinning, freshness, flags."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import make_snapshot

from flask_admin_compat.matrix.build_pins import commit_of, file_digest, pin_builds, resolve_ref
from flask_admin_compat.matrix.builds import (
    BuildError,
    GitBuild,
    PathBuild,
    parse_build_argument,
)
from flask_admin_compat.matrix.cells import Cell, expand
from flask_admin_compat.matrix.freshness import fingerprints
from flask_admin_compat.matrix.index import IndexSnapshot, check_against_index
from flask_admin_compat.matrix.matrix import MatrixError, load_matrix
from flask_admin_compat.results.release_flags import builds_installed, release_flags

HEAD = """
[axes]
python = ["3.12"]
flask = ["3.1.*"]
sqlalchemy = ["2.0.*"]
[backends]
flask-sqlalchemy = ["3.1.*"]
"""


def _matrix_with_admin(values: str) -> str:
    return HEAD.replace("[axes]\n", f"[axes]\nflask-admin = [{values}]\n")


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-C",
            str(folder),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit on ``main`` and a tag, reached by a file: URL."""
    folder = tmp_path / "repo"
    folder.mkdir()
    _git(folder, "init", "--quiet", "--initial-branch", "main")
    (folder / "README").write_text("one\n", encoding="utf-8")
    _git(folder, "add", "README")
    _git(folder, "commit", "--quiet", "-m", "one")
    _git(folder, "tag", "-a", "v1", "-m", "v1")
    return folder


def test_two_builds_of_one_version_are_two_cells_named_by_label(
    write_matrix: Callable[[str], Path],
) -> None:
    path = write_matrix(
        _matrix_with_admin(
            '"2.2.1", { path = "a/flask_admin-2.2.1-py3-none-any.whl", label = "fix2835" }, '
            '{ path = "b/flask_admin-2.2.1-py3-none-any.whl", label = "main" }'
        )
    )
    for folder in ("a", "b"):
        (path.parent / folder).mkdir()
        (path.parent / folder / "flask_admin-2.2.1-py3-none-any.whl").write_bytes(folder.encode())
    cells = expand(load_matrix(path))
    assert [c.id for c in cells] == [
        "py312-flask31-admin221-sqla20-fsa31",
        "py312-flask31-adminfix2835-sqla20-fsa31",
        "py312-flask31-adminmain-sqla20-fsa31",
    ]
    build = cells[1]
    assert build.requested["flask-admin"] == "fix2835"
    assert "admin-fix2835" in build.tags
    assert "fix2835: wheel a/flask_admin-2.2.1-py3-none-any.whl" in build.description
    # Relative to the matrix file, whatever the working folder.
    assert build.requirements[1] == (
        "flask-admin @ " + (path.parent / "a" / "flask_admin-2.2.1-py3-none-any.whl").as_uri()
    )
    assert cells[0].builds == ()


@pytest.mark.parametrize(
    ("value", "key", "words"),
    [
        ('{ path = "x.whl", label = "Fix-1" }', "flask-admin[0].label", "[a-z0-9]+"),
        ('{ path = "missing.whl", label = "fix" }', "flask-admin[0].path", "no such file"),
        (
            '{ git = "http://example.invalid/r", ref = "main", label = "m" }',
            "flask-admin[0].git",
            "https: or file:",
        ),
        (
            '{ git = "ssh://git@example.invalid/r", ref = "main", label = "m" }',
            "flask-admin[0].git",
            "https: or file:",
        ),
        (
            '{ git = "https://example.invalid/r", ref = "--upload-pack=x", label = "m" }',
            "flask-admin[0].ref",
            "not a git ref",
        ),
        (
            '{ git = "https://example.invalid/r", ref = "a b", label = "m" }',
            "flask-admin[0].ref",
            "not a git ref",
        ),
        ('{ git = "https://example.invalid/r", label = "m" }', "flask-admin[0].ref", "missing"),
        (
            '{ path = "x.whl", label = "fix", ref = "main" }',
            "flask-admin[0].ref",
            "unknown key: a path build is { path, label }",
        ),
    ],
)
def test_bad_build_values_get_one_line_naming_file_key_and_value(
    write_matrix: Callable[[str], Path], value: str, key: str, words: str
) -> None:
    path = write_matrix(_matrix_with_admin(value))
    (path.parent / "x.whl").write_bytes(b"x")
    with pytest.raises(MatrixError) as caught:
        load_matrix(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: axes.{key} = ")
    assert words in message


def test_two_builds_with_one_label_are_refused(write_matrix: Callable[[str], Path]) -> None:
    path = write_matrix(
        _matrix_with_admin(
            '{ path = "x.whl", label = "fix" }, '
            '{ git = "https://example.invalid/r", ref = "main", label = "fix" }'
        )
    )
    (path.parent / "x.whl").write_bytes(b"x")
    with pytest.raises(MatrixError, match=r"axes\.flask-admin\[1\] .*same id"):
        load_matrix(path)


def test_a_ref_resolves_to_its_commit(repo: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    url = repo.as_uri()
    assert resolve_ref(url, "main") == head
    assert resolve_ref(url, "v1") == head  # the annotated tag's peeled commit
    assert resolve_ref(url, "0" * 40) == "0" * 40  # a commit id is taken as it is
    with pytest.raises(BuildError, match="no such branch or tag") as caught:
        resolve_ref(url, "nope")
    assert caught.value.key == "ref"


def test_commit_of_prefers_exact_then_branch_then_peeled_tag() -> None:
    listing = "\n".join(
        [f"{'a' * 40}\trefs/heads/x", f"{'b' * 40}\trefs/tags/x", f"{'c' * 40}\trefs/tags/x^{{}}"]
    )
    assert commit_of("x", listing) == "a" * 40
    assert commit_of("refs/tags/x", listing) == "c" * 40
    assert commit_of("y", listing) is None


def test_a_new_commit_on_the_ref_makes_its_cells_stale(
    repo: Path, write_matrix: Callable[[str], Path], tmp_path: Path
) -> None:
    path = write_matrix(
        _matrix_with_admin(f'"2.2.*", {{ git = "{repo.as_uri()}", ref = "main", label = "main" }}')
    )
    matrix = load_matrix(path)
    snapshot = make_snapshot(flask=["3.1.0"], flask_admin=["2.2.1"], sqlalchemy=["2.0.0"])
    store = tmp_path / "store"
    suite = tmp_path / "suite"
    suite.mkdir()

    def keys(snap: IndexSnapshot) -> dict[str, str]:
        cells = pin_builds(expand(matrix), store=store, matrix=matrix)
        return fingerprints(
            cells,
            snapshot=snap,
            suite="scoping",
            suite_dir=suite,
            exclude_newer=None,
            pytest_args=(),
        )

    first = keys(snapshot)
    assert keys(snapshot) == first
    pinned = pin_builds(expand(matrix), store=store, matrix=matrix)[1]
    head = _git(repo, "rev-parse", "HEAD")
    assert pinned.requirements[1] == f"flask-admin @ git+{repo.as_uri()}@{head}"
    assert builds_installed(pinned) == {
        "flask-admin": {"label": "main", "git": repo.as_uri(), "ref": "main", "commit": head}
    }
    (repo / "README").write_text("two\n", encoding="utf-8")
    _git(repo, "commit", "--quiet", "-am", "two")
    second = keys(snapshot)
    assert (
        second["py312-flask31-adminmain-sqla20-fsa31"]
        != first["py312-flask31-adminmain-sqla20-fsa31"]
    )
    assert (
        second["py312-flask31-admin22-sqla20-fsa31"] == first["py312-flask31-admin22-sqla20-fsa31"]
    )
    # A new Flask-Admin release changes the release's cell, never the build's.
    newer = make_snapshot(flask=["3.1.0"], flask_admin=["2.2.1", "2.2.2"], sqlalchemy=["2.0.0"])
    third = keys(newer)
    assert (
        third["py312-flask31-adminmain-sqla20-fsa31"]
        == second["py312-flask31-adminmain-sqla20-fsa31"]
    )
    assert (
        third["py312-flask31-admin22-sqla20-fsa31"] != second["py312-flask31-admin22-sqla20-fsa31"]
    )


def test_an_unknown_ref_is_named_with_its_key(
    repo: Path, write_matrix: Callable[[str], Path], tmp_path: Path
) -> None:
    path = write_matrix(
        _matrix_with_admin(f'{{ git = "{repo.as_uri()}", ref = "fix-2835", label = "fix" }}')
    )
    matrix = load_matrix(path)
    with pytest.raises(MatrixError) as caught:
        pin_builds(expand(matrix), store=tmp_path / "store", matrix=matrix)
    assert str(caught.value) == (
        f"{path}: axes.flask-admin[0].ref = 'fix-2835': no such branch or tag in {repo.as_uri()}"
    )


def test_a_path_build_is_installed_from_a_copy_named_by_its_bytes(
    write_matrix: Callable[[str], Path], tmp_path: Path
) -> None:
    path = write_matrix(
        _matrix_with_admin('{ path = "dist/flask_admin-2.2.1-py3-none-any.whl", label = "fix" }')
    )
    wheel = path.parent / "dist" / "flask_admin-2.2.1-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"first")
    matrix = load_matrix(path)
    store = tmp_path / "store"
    (cell,) = pin_builds(expand(matrix), store=store, matrix=matrix)
    digest = file_digest(wheel)
    copy = store / digest[:32] / wheel.name
    assert copy.read_bytes() == b"first"
    assert cell.requirements[1] == f"flask-admin @ {copy.as_uri()}"
    assert builds_installed(cell)["flask-admin"] == {
        "label": "fix",
        "path": "dist/flask_admin-2.2.1-py3-none-any.whl",
        "kind": "wheel",
        "sha256": digest,
    }
    wheel.write_bytes(b"second")  # rebuilt with the same name and version
    (again,) = pin_builds(expand(matrix), store=store, matrix=matrix)
    assert again.requirements != cell.requirements
    assert copy.read_bytes() == b"first"  # what the earlier cells installed stays as it was


def test_a_source_tree_is_hashed_without_what_builds_leave(tmp_path: Path) -> None:
    tree = tmp_path / "flask-admin"
    (tree / "flask_admin").mkdir(parents=True)
    (tree / "flask_admin" / "__init__.py").write_text("x = 1\n", encoding="utf-8")
    build = PathBuild("src", "flask-admin", tree)
    cell = _cell_with(build)
    (first,) = pin_builds([cell], store=tmp_path / "store")
    (tree / "flask_admin" / "__pycache__").mkdir()
    (tree / "flask_admin" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (second,) = pin_builds([cell], store=tmp_path / "store")
    assert first == second
    copied = Path(first.builds[0][1].path)  # type: ignore[union-attr]
    assert (copied / "flask_admin" / "__init__.py").is_file()
    assert not (copied / "flask_admin" / "__pycache__").exists()
    assert builds_installed(first)["flask-admin"]["kind"] == "source tree"


def _cell_with(build: PathBuild | GitBuild) -> Cell:
    from flask_admin_compat.matrix.specs import build_spec, parse_spec

    return Cell(
        parse_spec("3.12"),
        (
            ("flask", parse_spec("3.1.*")),
            ("flask-admin", build_spec(build)),
            ("flask-sqlalchemy", parse_spec("3.1.*")),
        ),
        "flask-sqlalchemy",
    )


def test_the_index_check_leaves_builds_alone(
    write_matrix: Callable[[str], Path],
) -> None:
    path = write_matrix(_matrix_with_admin('{ path = "x.whl", label = "fix" }'))
    (path.parent / "x.whl").write_bytes(b"x")
    snapshot = make_snapshot(
        flask=["3.1.0"], flask_admin=["2.2.1"], sqlalchemy=["2.0.0"], flask_sqlalchemy=["3.1.1"]
    )
    assert check_against_index(load_matrix(path), snapshot, exclude_newer=None) == []


def test_release_flags_mark_builds_and_pre_releases() -> None:
    build = _cell_with(GitBuild("main", "https://example.invalid/r", "main", "a" * 40))
    assert release_flags(build, {"flask": "3.1.0"}) == ("unreleased",)
    from flask_admin_compat.matrix.specs import parse_spec

    release = Cell(
        parse_spec("3.12"),
        (("flask", parse_spec("3.1.*")), ("flask-admin", parse_spec("2.3.0rc1"))),
        "flask-sqlalchemy",
    )
    assert release_flags(release, {}) == ("pre-release",)  # asked for, never installed
    assert release_flags(release, {"flask": "3.1.0", "flask-admin": "2.3.0rc1"}) == ("pre-release",)
    series = Cell(parse_spec("3.12"), (("flask", parse_spec("3.1.*")),), "flask-sqlalchemy")
    assert release_flags(series, {"flask": "3.1.0"}) == ()
    assert release_flags(series, {"flask": "3.2.0b1"}) == ("pre-release",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flask-admin=dist/x.whl", ("flask-admin", "path")),
        (
            "flask-admin=git+https://example.invalid/owner/flask-admin@fix-2835",
            ("flask-admin", "git"),
        ),
    ],
)
def test_compare_takes_a_path_or_a_git_ref(
    tmp_path: Path, text: str, expected: tuple[str, str]
) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "x.whl").write_bytes(b"x")
    package, build = parse_build_argument(text, base=tmp_path)
    assert (package, "git" if isinstance(build, GitBuild) else "path") == expected
    if isinstance(build, GitBuild):
        assert (build.url, build.ref) == ("https://example.invalid/owner/flask-admin", "fix-2835")


@pytest.mark.parametrize(
    "text",
    [
        "flask-admin",
        "flask-admin=missing.whl",
        "flask-admin=git+http://example.invalid/r@main",
        "flask-admin=git+https://example.invalid/r",
        "flask-admin=git+https://example.invalid/r@-x",
    ],
)
def test_compare_refuses_bad_builds(tmp_path: Path, text: str) -> None:
    with pytest.raises(BuildError):
        parse_build_argument(text, base=tmp_path)


def test_a_backend_value_may_be_a_build_too(write_matrix: Callable[[str], Path]) -> None:
    text = _matrix_with_admin('"2.2.*"').replace(
        'flask-sqlalchemy = ["3.1.*"]',
        'flask-sqlalchemy = ["3.1.*", { path = "fsa", label = "fix" }]',
    )
    path = write_matrix(text)
    (path.parent / "fsa").mkdir()
    ids = [c.id for c in expand(load_matrix(path))]
    assert ids == ["py312-flask31-admin22-sqla20-fsa31", "py312-flask31-admin22-sqla20-fsafix"]


def test_a_build_that_will_not_build_is_uninstallable_in_the_builders_words() -> None:
    from flask_admin_compat.run.env import build_refusal

    build = _cell_with(GitBuild("main", "https://example.invalid/r", "main", "a" * 40))
    said = (
        "installing the pins failed: error: Failed to build `flask-admin @ git+https://...`\n"
        "  cause: The build backend returned an error\n"
        "         boom: broken on purpose\n"
        "hint: Build failures usually indicate a problem with the package\n"
    )
    refusal = build_refusal(build, said)
    assert refusal is not None
    assert refusal.startswith("Failed to build `flask-admin @ git+https://...`")
    assert "boom: broken on purpose" in refusal
    assert "hint:" not in refusal
    # A release cell, or another problem, stays the harness's error: so does a clone that
    # could not fetch, which is the machine's doing, not the build's.
    assert build_refusal(build, "installing the pins failed: timed out") is None
    offline = (
        "error: Failed to download and build `flask-admin @ git+https://...`\n"
        "  cause: Git operation failed\n  cause: error sending request for url\n"
    )
    assert build_refusal(build, offline) is None
    from flask_admin_compat.matrix.specs import parse_spec

    release = Cell(parse_spec("3.12"), (("flask-admin", parse_spec("2.2.1")),), "flask-sqlalchemy")
    assert build_refusal(release, said) is None
