"""Values made from a form's own fields and validators (check-app --writes), tested directly."""

from __future__ import annotations

import datetime
import re
import sys
import textwrap
from pathlib import Path

import pytest
from flask_admin import form as admin_form
from PIL import Image
from wtforms import (  # type: ignore[import-untyped]
    BooleanField,
    DateField,
    DecimalField,
    Form,
    IntegerField,
    PasswordField,
    StringField,
    TimeField,
    validators,
)

from flask_admin_compat.checkapp import values
from flask_admin_compat.checkapp.forms import field_errors, fill, why_not_saved
from flask_admin_compat.checkapp.loading import imported_once, main_block_hint


class Signup(Form):  # type: ignore[misc]
    email = StringField(validators=[validators.DataRequired(), validators.Email()])
    nick = StringField(validators=[validators.Length(min=12, max=14)])
    short_mail = StringField(validators=[validators.Email(), validators.Length(max=20)])
    age = IntegerField(validators=[validators.NumberRange(min=18, max=120)])
    ratio = DecimalField(validators=[validators.NumberRange(min=0.5)])
    phone = StringField(validators=[validators.Regexp(r"^\+?[0-9]{7,15}$")])
    colour = StringField(validators=[validators.Regexp(r"^#[0-9a-fA-F]{6}$")])
    site = StringField(validators=[validators.URL()])
    plan = StringField(validators=[validators.AnyOf(["basic", "pro"])])
    user = StringField(validators=[validators.NoneOf(["check-app"])])
    born = DateField(format="%d/%m/%Y")
    at = admin_form.DateTimeField()  # WTForms' own warns: deprecated
    lunch = TimeField()
    agree = BooleanField(validators=[validators.InputRequired()])
    password = PasswordField("Password", [validators.InputRequired(), validators.EqualTo("again")])
    again = PasswordField()


SPECS = values.specs(Signup)


def accepted(name: str, value: str) -> bool:
    """Whether the field's own validators accept ``value``, checked by WTForms itself."""
    from werkzeug.datastructures import MultiDict

    filled = Signup(MultiDict({name: value}))
    field = filled[name]
    return bool(field.validate(filled))


@pytest.mark.parametrize(
    "name", ["email", "nick", "short_mail", "phone", "colour", "site", "plan", "user"]
)
def test_text_satisfies_every_validator_of_the_field(name: str) -> None:
    made = values.text(SPECS[name], "1a2b3c4d")
    assert accepted(name, made), made


def test_numbers_fall_inside_their_range() -> None:
    assert accepted("age", values.number(SPECS["age"]))
    assert accepted("ratio", values.number(SPECS["ratio"]))
    assert values.number(SPECS["age"]) == "69"


def test_dates_come_in_the_fields_own_format() -> None:
    assert values.temporal(SPECS["born"]) == "02/01/2000"
    assert datetime.datetime.strptime(values.temporal(SPECS["at"]) or "", "%Y-%m-%d %H:%M:%S")
    assert accepted("lunch", values.temporal(SPECS["lunch"]) or "")
    assert values.temporal(SPECS["email"]) is None


def test_a_regexp_sample_is_fresh_each_time_and_still_matches() -> None:
    pattern = re.compile(r"^[A-Z]{3}-[0-9]{4}$")
    first = values.text(
        values.FieldSpec("sku", ("StringField",), (validators.Regexp(pattern),), {}), "00000a1f"
    )
    second = values.text(
        values.FieldSpec("sku", ("StringField",), (validators.Regexp(pattern),), {}), "0000b2e7"
    )
    assert pattern.fullmatch(first)
    assert pattern.fullmatch(second)
    assert first != second
    assert values.sample(r"(a)\1") is None  # a back reference: no sample, no crash


def test_the_filled_form_repeats_a_password_and_ticks_a_required_box() -> None:
    page = (
        '<form method="post"><input name="password" type="password" required>'
        '<input name="again" type="password"><input name="agree" type="checkbox" value="y">'
        "</form>"
    )
    filled = fill(page, lookup=lambda url: "", change=False, specs=SPECS)
    assert filled.data["password"] == filled.data["again"] != ""
    assert filled.data["agree"] == "y"


def test_an_image_field_gets_a_picture_pillow_opens(tmp_path: Path) -> None:
    spec = values.specs(
        type("Pictures", (Form,), {"path": admin_form.ImageUploadField(base_path=str(tmp_path))})
    )["path"]
    stream, name = values.upload(spec, "1a2b3c4d")
    assert name.endswith(".png")
    with Image.open(stream) as image:
        assert image.size == (1, 1)


def test_a_form_that_came_back_names_the_field_and_its_message() -> None:
    page = (
        '<div class="alert alert-danger">Failed to create record.</div>'
        '<input class="form-control is-invalid" id="code" name="code" type="text" value="x">'
        '<div class="invalid-feedback"><ul class="form-text text-danger">'
        "<li>Not an issued voucher code</li></ul></div>"
    )
    assert field_errors(page) == {"code": ["Not an issued voucher code"]}
    filled = fill("<form method='post'></form>", lookup=lambda url: "", change=False)
    assert why_not_saved(page, filled) == "code: Not an issued voucher code"


MAIN_BLOCK = textwrap.dedent(
    """
    import flask
    app = flask.Flask(__name__)

    if __name__ == "__main__":
        app.config["X"] = 1
        app.run(debug=True)
    """
)


def test_the_main_block_hint_shows_the_factory_without_the_server(tmp_path: Path) -> None:
    module = tmp_path / "mainly.py"
    module.write_text(MAIN_BLOCK)
    fake = type(sys)("mainly")
    fake.__file__ = str(module)
    hint = main_block_hint(fake, "mainly:app")
    assert "mainly.py:5 builds part of the app under" in hint
    assert "    def create_app():\n        app.config['X'] = 1\n        return app" in hint
    assert "app.run" not in hint
    module.write_text("import flask\napp = flask.Flask(__name__)\n")
    assert main_block_hint(fake, "mainly:app") == ""


def test_a_module_reached_under_a_second_name_is_imported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "outer_pkg" / "inner_mod"
    package.mkdir(parents=True)
    (tmp_path / "outer_pkg" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("import inner_mod.part\nVALUE = object()\n")
    (package / "part.py").write_text("import inner_mod\nSEEN = inner_mod\n")
    monkeypatch.syspath_prepend(str(tmp_path / "outer_pkg"))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("outer_pkg", "outer_pkg.inner_mod", "inner_mod", "inner_mod.part"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with imported_once():
        import outer_pkg.inner_mod as first  # type: ignore[import-not-found]
    assert sys.modules["inner_mod"] is first
    assert sys.modules["inner_mod.part"].SEEN is first
    assert first.__name__ == "outer_pkg.inner_mod"
