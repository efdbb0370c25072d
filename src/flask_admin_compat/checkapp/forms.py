"""Fill a Flask-Admin create or edit form: the page says what to post, the form class what fits.

The page the view rendered gives the controls to post (names, the CSRF token, defaults, an
edited row's values, a select's options). The view's form class gives each field's kind and
validators (:mod:`.values`), read from its unbound fields without building a form, so that
nothing runs through the view's Session outside a probed request. A value is made for every
field the form or the table requires; the rest keep what the page holds.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal

from flask_admin_compat.checks.pages import (
    Field,
    form_fields,
    inline_rows,
    inline_templates,
    page_messages,
)

from . import values
from .values import FieldSpec

#: Flask-Admin's blank option of a QuerySelectField.
BLANK_OPTIONS = ("", "__None")
TEXT_TYPES = ("text", "search", "tel", "password", "")
#: Flask-Admin's date widgets are text inputs with a data-role and a fixed format.
DATE_ROLES = {
    "datepicker": "2000-01-01",
    "datetimepicker": "2000-01-01 00:00:00",
    "timepicker": "00:00:00",
}
NUMBER_KINDS = ("IntegerField", "DecimalField", "FloatField")

#: Asks the view's ajax lookup URL and returns the first id it offers ("" if none).
Lookup = Callable[[str], str]


def made_up(control: Field, token: str) -> str:
    """A value for a required control known only from the page (no form class to read)."""
    role = control.attrs.get("data-role", "")
    if role in DATE_ROLES:
        return DATE_ROLES[role]
    if control.kind == "number":
        return control.attrs.get("min") or "1"
    if control.kind == "email":
        text = f"{values.MARK}-{token}@example.com"
    elif control.kind == "url":
        text = f"https://example.com/{values.MARK}-{token}"
    else:
        text = f"{values.MARK}-{token}"
    limit = control.attrs.get("maxlength", "")
    return text[-int(limit) :] if limit.isdigit() and int(limit) > 0 else text


def made_for(spec: FieldSpec, control: Field, token: str, *, change: bool) -> str:
    """A value the field's own kind and validators accept."""
    when = values.temporal(spec)
    if when is not None:
        return when
    if spec.has(*NUMBER_KINDS):
        return values.number(spec)
    if spec.has("JSONField"):
        return json.dumps({values.MARK: token}) if change else "{}"
    return values.text(spec, token)


@dataclass
class Learned:
    """What one view's form refused, field by field, and the value to try there next.

    A validator of the app's own says only what it refused, in its message: the next value
    tried is an example the message gives, else the next of :data:`values.FALLBACKS`. Kept
    for the view's whole run, so a value found once serves every later create and edit.
    """

    tries: dict[str, int] = field(default_factory=dict)
    offered: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def value(self, name: str, token: str) -> str | None:
        """The value to send in ``name`` now, or None to make one as usual."""
        tried = self.tries.get(name)
        if tried is None:
            return None
        candidates = (*self.offered.get(name, ()), *(make(token) for make in values.FALLBACKS))
        return candidates[tried] if tried < len(candidates) else None

    def learn(self, page: str, filled: Filled) -> bool:
        """Move on, for each field the page says was refused; whether there is anything new
        to try (False: post nothing more)."""
        moved = False
        for name, said in field_errors(page).items():
            if name not in filled.data:
                continue
            message = " ".join(said)
            self.offered.setdefault(name, values.examples(message))
            tried = self.tries.get(name, -1) + 1
            if tried < len(self.offered[name]) + len(values.FALLBACKS):
                self.tries[name] = tried
                moved = True
        return moved


@dataclass(frozen=True)
class Filled:
    """Form data to post, the files to upload, and required controls nothing was found for."""

    data: dict[str, str]
    files: dict[str, tuple[io.BytesIO, str]] = field(default_factory=dict)
    #: Required selects with nothing to choose: the related table has no row yet.
    unfilled: tuple[str, ...] = ()

    def posted(self, **extra: str) -> dict[str, Any]:
        """What the test client posts: the data, then each file (multipart when any)."""
        return {**self.data, **extra, **self.files}

    def joined(self, other: Filled, *, prefix: str) -> Filled:
        """This form with ``other``'s fields added under ``prefix`` (a new inline row)."""
        return Filled(
            {**self.data, **{prefix + k: v for k, v in other.data.items()}},
            {**self.files, **{prefix + k: v for k, v in other.files.items()}},
            (*self.unfilled, *(prefix + name for name in other.unfilled)),
        )


#: What an edit or create does with the view's inline rows (``inline_models``): leave them as
#: the page has them, add one new row to each inline list, or delete every row shown.
Children = Literal["keep", "add", "drop"]


def fill(
    page: str,
    *,
    lookup: Lookup,
    change: bool,
    specs: Mapping[str, FieldSpec] | None = None,
    not_null: frozenset[str] = frozenset(),
    learned: Learned | None = None,
    children: Children = "keep",
) -> Filled:
    """Form data for the page's form: its own values, and made-up ones where it needs them.

    ``specs``: the form class's fields (none: the page alone says what is required).
    ``not_null``: fields whose column the table requires, though the form may not say so.
    ``change``: also replace required text values (an edit must change something).
    ``learned``: values to try where the view refused what was made before.
    ``children``: what to do with the inline rows (see :data:`Children`).
    """
    specs = specs or {}
    made = Making(lookup, change, learned or Learned(), uuid.uuid4().hex[:8])
    filled = made.fill(form_fields(page), specs, not_null)
    if children == "add":
        for template in inline_templates(page):
            inline = specs.get(template.relation)
            inline_specs = values.specs(inline.inline_form) if inline else {}
            # A new inline row carries its files: often what the row is for (an image), and
            # its hook may fill a NOT NULL column from the upload.
            new_row = made.fill(template.controls, inline_specs, frozenset(), every_file=True)
            filled = filled.joined(new_row, prefix=f"{template.prefix}-")
    elif children == "drop":
        for template in inline_templates(page):
            for shown in inline_rows(page, template.relation):
                filled.data[f"del-{shown.prefix}"] = "on"
    return filled


@dataclass(frozen=True)
class Making:
    """Values made for one form post: one token, so the fields of one row agree."""

    lookup: Lookup
    change: bool
    learned: Learned
    token: str

    def fill(
        self,
        controls: list[Field],
        specs: Mapping[str, FieldSpec],
        not_null: frozenset[str],
        *,
        every_file: bool = False,
    ) -> Filled:
        token, learned = self.token, self.learned
        data: dict[str, str] = {}
        files: dict[str, tuple[io.BytesIO, str]] = {}
        unfilled: list[str] = []
        for control in controls:
            spec = specs.get(control.name)
            needed = control.required or control.name in not_null or bool(spec and spec.required)
            value = control.value if control.value.strip() else ""
            if control.kind == "file":
                needed = needed or every_file
                if needed and spec is not None:
                    files[control.name] = values.upload(spec, token)
                elif needed:
                    files[control.name] = (io.BytesIO(b"check-app\n"), f"{values.MARK}.txt")
                continue
            if control.tag == "select" and not value:
                offered = [o for o in control.options if o not in BLANK_OPTIONS]
                refused = learned.tries.get(control.name)
                if refused is not None and offered:
                    # The option chosen before was refused: the next one, in page order.
                    first = offered.index(values.choice(spec, offered)) if spec else 0
                    value = offered[(first + refused + 1) % len(offered)]
                elif needed:
                    value = (
                        values.choice(spec, offered) if spec else (offered[0] if offered else "")
                    )
            elif control.attrs.get("data-role") == "select2-ajax":
                if not value and needed:
                    value = self.lookup(control.attrs.get("data-url", ""))
            elif (retried := learned.value(control.name, token)) is not None:
                value = values.fit(retried, spec, token) if spec else retried
            elif needed and (not value or (self.change and _is_text(control))):
                value = (
                    made_for(spec, control, token, change=self.change)
                    if spec
                    else made_up(control, token)
                )
            if value or control.kind == "hidden":
                data[control.name] = value
            if needed and not value:
                unfilled.append(control.name)
        for name, spec in specs.items():
            # An unchecked box is not on the page's list of controls; a required one must be.
            if spec.has("BooleanField") and spec.required and name not in data:
                data[name] = "y"
        for name, spec in specs.items():
            equal = spec.validator("EqualTo")
            if equal is not None and name in data:
                data[equal.fieldname] = data[name]
        return Filled(data, files, tuple(unfilled))


def _is_text(control: Field) -> bool:
    if control.attrs.get("data-role", "") in DATE_ROLES:
        return False
    return control.tag == "textarea" or control.kind in (*TEXT_TYPES, "email", "url")


def first_lookup_id(body: str) -> str:
    """The first id of an ajax lookup's answer, a JSON list of ``[id, label]`` pairs."""
    try:
        found = json.loads(body)
    except ValueError:
        return ""
    if isinstance(found, list) and found and isinstance(found[0], list) and found[0]:
        return str(found[0][0])
    return ""


#: The element Flask-Admin lists a field's errors in, right after the field's control:
#: Bootstrap 4's ``invalid-feedback`` block, Bootstrap 2's and 3's ``input-errors`` list.
ERROR_LISTS = ("invalid-feedback", "input-errors")
#: Elements with no end tag: they open nothing to close.
VOID = frozenset(
    {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class _FieldErrors(HTMLParser):
    """Each invalid control's name and the messages Flask-Admin renders under it.

    Every theme renders a field's errors right after its control (Bootstrap 4 also marks the
    control ``is-invalid``): the messages belong to the last control before them.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.errors: dict[str, list[str]] = {}
        self._last = ""
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        classes = named.get("class", "").split()
        if tag in ("input", "select", "textarea") and not self._depth:
            self._last = named.get("name", "") or named.get("id", "") or self._last
        if self._depth:
            self._depth += tag not in VOID
        elif self._last and any(kind in classes for kind in ERROR_LISTS):
            self._depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag not in VOID:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if self._depth and text:
            self.errors.setdefault(self._last, []).append(text)


def field_errors(page: str) -> dict[str, list[str]]:
    """``{field: [message, ...]}`` for every field the page shows an error under."""
    parser = _FieldErrors()
    parser.feed(page)
    parser.close()
    return parser.errors


def why_not_saved(page: str, filled: Filled) -> str:
    """What a form page that came back (not redirected) says is wrong, in one short line:
    each field with its validator's message, else the flashed message."""
    errors = field_errors(page)
    if errors:
        return "; ".join(f"{name}: {' '.join(said)}" for name, said in errors.items())
    said = "; ".join(page_messages(page))
    if filled.unfilled:
        # The likeliest reason: a required choice with nothing to choose from (an empty table).
        said = f"{said}; " if said else ""
        return f"{said}nothing to fill in for required {', '.join(filled.unfilled)}"
    sent = ", ".join(sorted(k for k in filled.data if k != "csrf_token"))
    return f"{said or 'the form came back'} (sent: {sent or 'no fields'})"
