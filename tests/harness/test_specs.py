from __future__ import annotations

import pytest
from packaging.version import Version

from flask_admin_compat.matrix.specs import SpecError, minor_series, parse_spec, parse_specifier


@pytest.mark.parametrize(
    ("text", "kind", "requirement", "fragment"),
    [
        ("3.0.3", "exact", "==3.0.3", "303"),
        ("3.0.*", "series", "==3.0.*", "30"),
        ("2.*", "series", "==2.*", "2"),
        ("latest", "latest", "", "latest"),
        ("2.0.0rc1", "exact", "==2.0.0rc1", "200rc1"),
    ],
)
def test_parse_spec_kinds(text: str, kind: str, requirement: str, fragment: str) -> None:
    spec = parse_spec(text)
    assert (spec.kind, spec.requirement_suffix, spec.id_fragment) == (kind, requirement, fragment)
    assert "." not in spec.id_fragment


@pytest.mark.parametrize(
    "hostile",
    [
        "1.0; rm -rf /",
        "--index-url=http://x",
        "-e .",
        "3.0 ",
        ">=3.0",
        "3.x",
        "1!2.0",
        "2.0+local",
        "3.0.*.*",
        "",
        "latest\n",
        "$(touch /tmp/pwned)",
        3.0,
        None,
    ],
)
def test_parse_spec_refuses_anything_but_plain_pep440(hostile: object) -> None:
    with pytest.raises(SpecError):
        parse_spec(hostile)


def test_series_admits_its_patches_only() -> None:
    spec = parse_spec("3.0.*")
    assert spec.admits(Version("3.0.3"))
    assert not spec.admits(Version("3.1.0"))
    assert parse_spec("latest").admits(Version("99"))


def test_specifier_parsing() -> None:
    assert Version("2.1") in parse_specifier(">=2.0,<2.2")
    for bad in ("", "2.0 or 3.0", "~~2", 5):
        with pytest.raises(SpecError):
            parse_specifier(bad)


def test_minor_series_since_a_floor() -> None:
    versions = [Version(v) for v in ("2.1.0", "2.2.0", "2.2.5", "2.3.0", "3.0.0", "3.1.0rc1")]
    assert [s.text for s in minor_series(versions, floor=Version("2.2"))] == [
        "2.2.*",
        "2.3.*",
        "3.0.*",
    ]
