"""What an admin page says, and the form it holds: read from the HTML the view rendered.

Read from pages, not from the views' form classes, so that nothing runs through a view's
Session outside a probed request. Flask-Admin's bootstrap 2, 3 and 4 templates are all read
by the same patterns.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: How much of one message to keep.
EXCERPT = 300
MESSAGE_ELEMENT = re.compile(
    r'<(?P<tag>div|span|p)[^>]*class="[^"]*'
    r'(?:alert-(?:error|danger|warning)|help-block|help-inline|invalid-feedback)[^"]*"[^>]*>'
    r"(?P<text>.*?)</(?P=tag)>",
    re.DOTALL,
)
TAG = re.compile(r"<[^>]+>")
#: The dismiss button inside a flashed message, whose "x" is not part of what it says.
CLOSE_BUTTON = re.compile(r'<(?P<tag>a|button)[^>]*class="close"[^>]*>.*?</(?P=tag)>', re.DOTALL)
#: Submit controls are not data: Flask-Admin's named ones (_add_another) change the redirect.
BUTTONS = ("submit", "button", "image", "reset")


def page_messages(body: str) -> list[str]:
    """Flashed messages and form-field errors on an admin page, as plain text.

    A form POST answered 200 means the admin showed its form again; these say why.
    """
    found = []
    for match in MESSAGE_ELEMENT.finditer(body):
        inner = CLOSE_BUTTON.sub(" ", match.group("text"))
        text = " ".join(html.unescape(TAG.sub(" ", inner)).split())
        if text:
            found.append(text[:EXCERPT])
    return found


@dataclass
class Field:
    """One control of a form as the page rendered it."""

    name: str
    tag: str
    attrs: dict[str, str]
    value: str = ""
    options: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.attrs.get("type", "").lower() if self.tag == "input" else self.tag

    @property
    def required(self) -> bool:
        if self.attrs.get("data-role") == "select2-ajax":
            return "data-allow-blank" not in self.attrs
        return "required" in self.attrs


class _FormParser(HTMLParser):
    """Collects the controls of the page's POST forms, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[Field] = []
        self._in_form = False
        self._current: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_form = named.get("method", "").lower() == "post"
        elif not self._in_form:
            return
        elif tag == "input" and named.get("name"):
            kind = named.get("type", "").lower()
            if kind in BUTTONS or (kind in ("checkbox", "radio") and "checked" not in named):
                return
            self.fields.append(Field(named["name"], tag, named, named.get("value", "")))
        elif tag in ("select", "textarea") and named.get("name"):
            self._current = Field(named["name"], tag, named)
            self.fields.append(self._current)
        elif tag == "option" and self._current is not None and self._current.tag == "select":
            value = named.get("value", "")
            self._current.options.append(value)
            if "selected" in named:
                self._current.value = value

    def handle_data(self, data: str) -> None:
        if self._current is not None and self._current.tag == "textarea":
            self._current.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag in ("select", "textarea"):
            self._current = None


def form_fields(page: str) -> list[Field]:
    """The controls of the page's POST forms, in page order."""
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.fields


INLINE_FIELD = re.compile(r"^(?P<prefix>(?P<relation>\w+)-\d+)-(?P<name>\w+)$")


@dataclass(frozen=True)
class InlineRow:
    """One inline model's row in an edit form, as Flask-Admin prefixed its fields."""

    prefix: str
    values: dict[str, str]


def inline_rows(page: str, relation: str) -> list[InlineRow]:
    """The rows of the inline form list ``relation`` (``posts-0-title`` ...), by prefix.

    Read as rendered, so the rows' ids and prefixes are whatever the installed release made;
    the template Flask-Admin keeps for a new row is escaped text and never read as a row.
    """
    rows: dict[str, dict[str, str]] = {}
    for control in form_fields(page):
        match = INLINE_FIELD.match(control.name)
        if match and match.group("relation") == relation:
            rows.setdefault(match.group("prefix"), {})[match.group("name")] = control.value
    return [InlineRow(prefix, values) for prefix, values in sorted(rows.items())]


#: An inline form list and the template it keeps for a new row: escaped HTML, which
#: Flask-Admin's script copies under the next free prefix (``contacts-1-name``).
INLINE_TEMPLATE = re.compile(
    r'<div class="inline-field" id="(?P<relation>[\w-]+)">'
    r'.*?<div class="inline-field-template[^"]*">(?P<template>.*?)</div>',
    re.DOTALL,
)


@dataclass(frozen=True)
class InlineTemplate:
    """What a new row of one inline form list posts: its controls, and its prefix."""

    relation: str
    prefix: str
    controls: list[Field]


def inline_templates(page: str) -> list[InlineTemplate]:
    """Each inline form list's new-row controls, named as Flask-Admin's script names them."""
    found = []
    for match in INLINE_TEMPLATE.finditer(page):
        relation = match.group("relation")
        taken = [int(row.prefix.rsplit("-", 1)[1]) for row in inline_rows(page, relation)]
        prefix = f"{relation}-{max(taken, default=-1) + 1}"
        template = html.unescape(match.group("template"))
        controls = form_fields(f'<form method="post">{template}</form>')
        found.append(InlineTemplate(relation, prefix, controls))
    return found
