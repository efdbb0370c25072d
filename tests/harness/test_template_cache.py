"""The scoping suite's compiled-template cache: shared across environments, never wrong.

The module is the suite's own (tests/scoping/template_cache.py, imported here by path as a
cell's pytest imports it); each test plays two environments holding the same template
files at different paths, as two cells' environments do.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import pytest
from factories import PROJECT_ROOT

TEMPLATE = "{% macro shout(x) %}{{ x | upper }}!{% endmacro %}<p>{{ shout(word) }}</p>"
FAILING = "<p>{{ 1 // divisor }}</p>"


def _load() -> ModuleType:
    path = PROJECT_ROOT / "tests" / "scoping" / "template_cache.py"
    spec = importlib.util.spec_from_file_location("scoping_template_cache", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


template_cache = _load()


def _environment(
    folder: Path, cache: jinja2.BytecodeCache | None, source: str, **options: Any
) -> jinja2.Environment:
    """An environment whose ``page.html`` is ``source``, in a folder of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "page.html").write_text(source, encoding="utf-8")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), bytecode_cache=cache, **options
    )


def _never_compile(environment: jinja2.Environment) -> None:
    def compile_refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled a template the cache holds")

    environment.compile = compile_refused  # type: ignore[method-assign,assignment]


def test_a_new_environment_renders_with_what_another_compiled(tmp_path: Path) -> None:
    shared = tmp_path / "templates"
    first = _environment(tmp_path / "env-a", template_cache.CompiledTemplates(shared), TEMPLATE)
    assert first.get_template("page.html").render(word="hi") == "<p>HI!</p>"
    # A new process in another environment: an empty memory, the same folder.
    second = _environment(tmp_path / "env-b", template_cache.CompiledTemplates(shared), TEMPLATE)
    _never_compile(second)
    assert second.get_template("page.html").render(word="yo") == "<p>YO!</p>"


def test_a_template_compiled_elsewhere_names_this_environments_file(tmp_path: Path) -> None:
    shared = tmp_path / "templates"
    first = _environment(tmp_path / "env-a", template_cache.CompiledTemplates(shared), FAILING)
    with pytest.raises(ZeroDivisionError):
        first.get_template("page.html").render(divisor=0)
    second = _environment(tmp_path / "env-b", template_cache.CompiledTemplates(shared), FAILING)
    _never_compile(second)
    with pytest.raises(ZeroDivisionError) as caught:
        second.get_template("page.html").render(divisor=0)
    files = {frame.filename for frame in traceback.extract_tb(caught.value.__traceback__)}
    assert str(tmp_path / "env-b" / "page.html") in files
    assert not any("env-a" in name for name in files)


def test_two_releases_of_a_template_are_kept_side_by_side(tmp_path: Path) -> None:
    shared = tmp_path / "templates"
    old = _environment(tmp_path / "old", template_cache.CompiledTemplates(shared), "<p>old</p>")
    new = _environment(tmp_path / "new", template_cache.CompiledTemplates(shared), "<p>new</p>")
    assert old.get_template("page.html").render() == "<p>old</p>"
    assert new.get_template("page.html").render() == "<p>new</p>"
    assert len(list(shared.glob("*.jinja"))) == 2
    again = _environment(tmp_path / "old2", template_cache.CompiledTemplates(shared), "<p>old</p>")
    _never_compile(again)
    assert again.get_template("page.html").render() == "<p>old</p>"


def test_other_compile_settings_compile_their_own(tmp_path: Path) -> None:
    shared = tmp_path / "templates"
    source = "{% if true %}\n  x\n{% endif %}\n"
    plain = _environment(tmp_path / "a", template_cache.CompiledTemplates(shared), source)
    trimmed = _environment(
        tmp_path / "b",
        template_cache.CompiledTemplates(shared),
        source,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    assert plain.get_template("page.html").render() == "\n  x\n"
    assert trimmed.get_template("page.html").render() == "  x\n"


def test_a_damaged_file_is_compiled_again(tmp_path: Path) -> None:
    shared = tmp_path / "templates"
    first = _environment(tmp_path / "a", template_cache.CompiledTemplates(shared), TEMPLATE)
    first.get_template("page.html")
    for kept in shared.glob("*.jinja"):
        kept.write_bytes(b"not a compiled template")
    second = _environment(tmp_path / "b", template_cache.CompiledTemplates(shared), TEMPLATE)
    assert second.get_template("page.html").render(word="ok") == "<p>OK!</p>"


def test_no_folder_keeps_them_in_memory_only(tmp_path: Path) -> None:
    cache = template_cache.CompiledTemplates(None)
    first = _environment(tmp_path / "a", cache, TEMPLATE)
    first.get_template("page.html")
    second = _environment(tmp_path / "b", cache, TEMPLATE)
    _never_compile(second)
    assert second.get_template("page.html").render(word="m") == "<p>M!</p>"
    assert list(tmp_path.rglob("*.jinja")) == []


def test_the_folder_is_the_harness_s_when_it_names_one(tmp_path: Path) -> None:
    named = template_cache.cache_folder({template_cache.SHARED_FOLDER_ENV: str(tmp_path)})
    assert named is not None
    assert named.parent == tmp_path
    assert sys.implementation.cache_tag in named.name
    assert importlib.metadata.version("jinja2") in named.name
    by_hand = template_cache.cache_folder({})
    assert by_hand is not None
    assert by_hand.parent == Path(sys.prefix) / template_cache.LOCAL_FOLDER


def _compiles(environment: jinja2.Environment) -> list[str]:
    """The templates ``environment`` compiles from here on, by name."""
    compiled: list[str] = []
    real = environment.compile

    def counting(source: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(name))
        return real(source, name, *args, **kwargs)

    environment.compile = counting  # type: ignore[method-assign]
    return compiled


def test_a_damaged_compiled_template_is_dropped_and_compiled_again(tmp_path: Path) -> None:
    """The issue's three flipped bytes: a 500 in every cell that loaded the template."""
    shared = tmp_path / "templates"
    first = _environment(tmp_path / "env-a", template_cache.CompiledTemplates(shared), TEMPLATE)
    assert first.get_template("page.html").render(word="hi") == "<p>HI!</p>"
    (stored,) = shared.glob("*.jinja")
    data = stored.read_bytes()
    assert b"upper" in data
    stored.write_bytes(data.replace(b"upper", b"uPPEr"))  # three bytes each: the code loads
    second = _environment(tmp_path / "env-b", template_cache.CompiledTemplates(shared), TEMPLATE)
    compiled = _compiles(second)
    assert second.get_template("page.html").render(word="yo") == "<p>YO!</p>"
    assert compiled == ["page.html"]  # compiled again, never served the damaged code
    assert b"uPPEr" not in stored.read_bytes()  # and the file holds good code again
