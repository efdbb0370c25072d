"""Fill a Flask-Admin create or edit form from its HTML, with values made up for the check.

Read from the page the view rendered (not from the view's form class), so that nothing runs
through the view's Session outside a probed request. Only what the form requires is made up;
what the page already holds (a CSRF token, defaults, an edited row's values) is kept.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask_admin_compat.checks.pages import Field, form_fields, page_messages

#: Flask-Admin's blank option of a QuerySelectField.
BLANK_OPTIONS = ("", "__None")
TEXT_TYPES = ("text", "search", "tel", "password", "")
#: Flask-Admin's date widgets are text inputs with a data-role and a fixed format.
DATE_ROLES = {
    "datepicker": "2000-01-01",
    "datetimepicker": "2000-01-01 00:00:00",
    "timepicker": "00:00:00",
}
MARK = "check-app"


#: Asks the view's ajax lookup URL and returns the first id it offers ("" if none).
Lookup = Callable[[str], str]


def made_up(control: Field, token: str) -> str:
    """A value for a required control that its validators should accept."""
    role = control.attrs.get("data-role", "")
    if role in DATE_ROLES:
        return DATE_ROLES[role]
    if control.kind == "number":
        return control.attrs.get("min") or "1"
    if control.kind == "email":
        text = f"{MARK}-{token}@example.com"
    elif control.kind == "url":
        text = f"https://example.com/{MARK}-{token}"
    else:
        text = f"{MARK}-{token}"
    limit = control.attrs.get("maxlength", "")
    return text[-int(limit) :] if limit.isdigit() and int(limit) > 0 else text


@dataclass(frozen=True)
class Filled:
    """Form data to post, and the required controls nothing could be found for."""

    data: dict[str, str]
    unfilled: tuple[str, ...] = ()


def fill(page: str, *, lookup: Lookup, change: bool) -> Filled:
    """Form data for the page's form: its own values, and made-up ones where it requires them.

    ``change``: also replace required text values (an edit must change something).
    """
    token = uuid.uuid4().hex[:8]
    data: dict[str, str] = {}
    unfilled: list[str] = []
    for control in form_fields(page):
        value = control.value
        if control.tag == "select" and not value:
            offered = [o for o in control.options if o not in BLANK_OPTIONS]
            value = offered[0] if offered and control.required else ""
        elif control.attrs.get("data-role") == "select2-ajax":
            if not value and control.required:
                value = lookup(control.attrs.get("data-url", ""))
        elif control.required and (not value or (change and _is_text(control))):
            value = made_up(control, token)
        if value or control.kind == "hidden":
            data[control.name] = value
        if control.required and not value:
            unfilled.append(control.name)
    return Filled(data, tuple(unfilled))


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


def flashed_errors(page: str, filled: Filled) -> str:
    """What a form page that came back (not redirected) says is wrong, in one short line."""
    said = "; ".join(page_messages(page))
    if filled.unfilled:
        # The likeliest reason: a required choice with nothing to choose from (an empty table).
        said = f"{said}; " if said else ""
        return f"{said}nothing to fill in for required {', '.join(filled.unfilled)}"
    sent = ", ".join(sorted(k for k in filled.data if k != "csrf_token"))
    return f"{said or 'the form came back'} (sent: {sent or 'no fields'})"
