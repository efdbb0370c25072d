"""Values a form's own validators accept, made from its field classes and validator objects.

Read from the view's form class (its unbound fields: the class and the validators each was
declared with), never from an instance: building a form instance can run the view's queries
(a relationship's choices) outside a probed request. The page the view rendered still says
what is there to post (names, CSRF token, options); this says what to put in it.
"""

from __future__ import annotations

import datetime
import decimal
import io
import re
import struct
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: A moment every date, datetime and time format can show.
MOMENT = datetime.datetime(2000, 1, 2, 12, 30, 0)
MARK = "check-app"


@dataclass(frozen=True)
class FieldSpec:
    """One declared field: its class's names (most derived first) and its validators."""

    name: str
    kinds: tuple[str, ...]
    validators: tuple[Any, ...]
    #: What the field was declared with that decides a value: format(s), choices, extensions.
    options: dict[str, Any]

    def has(self, *kinds: str) -> bool:
        return any(kind in self.kinds for kind in kinds)

    def validator(self, name: str) -> Any:
        return next((v for v in self.validators if _named(v, name)), None)

    @property
    def required(self) -> bool:
        return any(_named(v, "InputRequired", "DataRequired") for v in self.validators)

    @property
    def optional(self) -> bool:
        return any(_named(v, "Optional") for v in self.validators)

    @property
    def inline_form(self) -> Any:
        """An inline form list's form class for one row (None for any other field)."""
        return self.options.get("inline_form")


def _named(obj: Any, *names: str) -> bool:
    """The validator is (a subclass of) one of ``names``, or a function of that name."""
    if getattr(obj, "__name__", None) in names:
        return True
    return any(cls.__name__ in names for cls in type(obj).__mro__)


def specs(form_class: Any) -> dict[str, FieldSpec]:
    """The unbound fields of a WTForms form class, by name, without making a form."""
    found: dict[str, FieldSpec] = {}
    for name in dir(form_class):
        if name.startswith("_"):
            continue
        unbound = getattr(form_class, name, None)
        field_class = getattr(unbound, "field_class", None)
        if field_class is None or not hasattr(unbound, "_formfield"):
            continue
        kwargs: dict[str, Any] = dict(getattr(unbound, "kwargs", {}) or {})
        args: Sequence[Any] = getattr(unbound, "args", ()) or ()
        validators = kwargs.get("validators")
        if validators is None and len(args) > 1 and _validators(args[1]):
            validators = args[1]  # Field(label, validators, ...)
        kinds = tuple(cls.__name__ for cls in field_class.__mro__)
        options = {k: kwargs[k] for k in _OPTIONS if k in kwargs}
        if "InlineFieldList" in kinds and args and isinstance(args[0], type):
            options["inline_form"] = args[0]  # InlineModelFormList(form, session, model, ...)
        found[name] = FieldSpec(
            name=name, kinds=kinds, validators=tuple(validators or ()), options=options
        )
    return found


def _validators(candidate: Any) -> bool:
    return isinstance(candidate, (list, tuple)) and all(callable(v) for v in candidate)


_OPTIONS = ("format", "formats", "default_format", "choices", "allowed_extensions", "places")


def _first_format(spec: FieldSpec, default: str) -> str:
    fmt = spec.options.get("format") or spec.options.get("default_format")
    if isinstance(fmt, (list, tuple)):
        fmt = fmt[0] if fmt else None
    if not fmt and spec.options.get("formats"):
        fmt = next(iter(spec.options["formats"]))
    return str(fmt or default)


#: The default format of each kind of date field (WTForms' and Flask-Admin's).
TEMPORAL = {
    "DateTimeLocalField": "%Y-%m-%dT%H:%M",
    "DateField": "%Y-%m-%d",
    "TimeField": "%H:%M",
    "MonthField": "%Y-%m",
    "DateTimeField": "%Y-%m-%d %H:%M:%S",
}


def temporal(spec: FieldSpec) -> str | None:
    """A date, datetime or time in the field's own (first) format; None for other fields.

    The most derived kind decides: WTForms' DateField is a DateTimeField.
    """
    kind = next((k for k in spec.kinds if k in TEMPORAL), None)
    return MOMENT.strftime(_first_format(spec, TEMPORAL[kind])) if kind else None


def number(spec: FieldSpec) -> str:
    """A number inside every NumberRange; whole for an IntegerField."""
    low, high = None, None
    for check in spec.validators:
        if _named(check, "NumberRange"):
            low = check.min if check.min is not None else low
            high = check.max if check.max is not None else high
    if low is not None and high is not None:
        value = (
            decimal.Decimal(str(low)) + (decimal.Decimal(str(high)) - decimal.Decimal(str(low))) / 2
        )
    elif low is not None:
        value = decimal.Decimal(str(low)) + 1
    elif high is not None:
        value = decimal.Decimal(str(high)) - 1
    else:
        value = decimal.Decimal(1)
    if spec.has("IntegerField"):
        whole = int(value)
        if low is not None and whole < low:
            whole += 1
        return str(whole)
    return str(value.quantize(decimal.Decimal("0.01")) if value != int(value) else int(value))


def sample(pattern: str | re.Pattern[str]) -> str | None:
    """A short string the regular expression matches in full, or None if it cannot tell."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    flags = pattern.flags if isinstance(pattern, re.Pattern) else 0
    try:
        from re import _parser  # type: ignore[attr-defined]

        made = _walk(_parser.parse(source, flags))
    except Exception:  # noqa: BLE001 - a pattern this cannot walk: no sample, not a crash
        return None
    return made if re.fullmatch(source, made, flags) else None


def _walk(parsed: Iterable[tuple[Any, Any]]) -> str:
    from re import _constants as c  # type: ignore[attr-defined]

    out = []
    for op, arg in parsed:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.ANY:
            out.append("a")
        elif op is c.IN:
            out.append(_in(arg, c))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, _high, item = arg
            out.append(_walk(item) * low)
        elif op is c.SUBPATTERN:
            out.append(_walk(arg[-1]))
        elif op is c.BRANCH:
            out.append(_walk(arg[1][0]))
        elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue
        elif op is c.GROUPREF:
            raise ValueError("back reference")
        else:
            raise ValueError(f"{op}")
    return "".join(out)


def _in(items: Sequence[tuple[Any, Any]], c: Any) -> str:
    if items and items[0][0] is c.NEGATE:
        excluded = {chr(a) for op, a in items[1:] if op is c.LITERAL}
        return next(ch for ch in "aZ0_" if ch not in excluded)
    op, arg = items[0]
    if op is c.LITERAL:
        return chr(arg)
    if op is c.RANGE:
        return chr(arg[0])
    if op is c.CATEGORY:
        return {
            c.CATEGORY_DIGIT: "0",
            c.CATEGORY_SPACE: " ",
            c.CATEGORY_WORD: "a",
            c.CATEGORY_NOT_DIGIT: "a",
            c.CATEGORY_NOT_SPACE: "a",
            c.CATEGORY_NOT_WORD: "-",
        }[arg]
    raise ValueError(f"{op}")


#: Flask-Admin's own validators for sqlalchemy-utils column types, and a value each accepts.
FLASK_ADMIN_VALUES = {
    "valid_color": "#ff0000",
    "valid_currency": "USD",
    "TimeZoneValidator": "UTC",
}


def text(spec: FieldSpec, token: str) -> str:
    """A string every validator of the field accepts (as far as their kinds tell)."""
    value = f"{MARK}-{token}"
    known = next((v for name, v in FLASK_ADMIN_VALUES.items() if spec.validator(name)), None)
    if known is not None:
        value = known
    elif spec.validator("Email") is not None or spec.has("EmailField"):
        value = f"{MARK}-{token}@example.com"
    elif spec.validator("URL") is not None or spec.has("URLField"):
        value = f"https://example.com/{MARK}-{token}"
    elif spec.validator("MacAddress") is not None:
        value = "00:00:5e:00:53:" + token[:2]
    elif spec.validator("IPAddress") is not None:
        value = "192.0.2." + str(int(token[:2], 16) % 250 + 1)
    elif spec.validator("UUID") is not None:
        value = str(uuid.uuid4())
    any_of = spec.validator("AnyOf")
    if any_of is not None and any_of.values:
        return str(next(iter(any_of.values)))
    for check in spec.validators:
        shaped = _named(check, "Regexp") and not _named(check, "MacAddress")
        if shaped and not check.regex.search(value):
            made = sample(check.regex)
            if made is not None:
                value = _fresh(made, check.regex, token)
    return fit(value, spec, token)


def _fresh(made: str, regex: re.Pattern[str], token: str) -> str:
    """The regex's sample with the token's digits where its digits were: a new value each time
    (a unique column), still matching."""
    digits = iter(str(int(token, 16)))
    fresh = "".join(next(digits, ch) if ch.isdigit() else ch for ch in made)
    return fresh if regex.search(fresh) else made


def fit(value: str, spec: FieldSpec, token: str) -> str:
    """The value cut or padded to the field's Length, changed if NoneOf names it."""
    for check in spec.validators:
        if _named(check, "Length"):
            low = check.min if check.min and check.min > 0 else 0
            high = check.max if check.max and check.max > 0 else None
            if high is not None and len(value) > high:
                value = value[-high:] if "@" not in value else _short_email(token, high)
            if len(value) < low:
                value = value + "x" * (low - len(value))
    none_of = spec.validator("NoneOf")
    if none_of is not None and value in none_of.values:
        value = value + "x"
    return value


#: Values tried in turn for a field the app refused when its validators did not say what
#: they want (a validator of the app's own): what such validators most often ask for. Each is
#: made from the row's token where it can be, so a unique column still gets a new value.
FALLBACKS: tuple[Callable[[str], str], ...] = (
    lambda token: str(int(token, 16))[:9],
    lambda token: f"{MARK}-{token}@example.com",
    lambda token: f"https://example.com/{MARK}-{token}",
    lambda token: token.upper(),
    lambda token: "UTC",
    lambda token: "#ff0000",
    lambda token: "USD",
    lambda token: "192.0.2.1",
    lambda token: MOMENT.strftime("%Y-%m-%d"),
)
#: Examples a validator's message offers: quoted, or listed after "e.g." ("e.g. USD, EUR").
QUOTED = re.compile(r"\"([^\"]{1,80})\"|'([^']{1,80})'|\u201c([^\u201d]{1,80})\u201d")
FOR_EXAMPLE = re.compile(r"\b(?:e\.g\.|for example|such as)[:,]?\s*([^)\n]{1,120})", re.IGNORECASE)


def examples(message: str) -> tuple[str, ...]:
    """The values a validator's message gives as examples, in its order."""
    quoted = [next(g for g in m.groups() if g is not None) for m in QUOTED.finditer(message)]
    if quoted:
        return tuple(dict.fromkeys(quoted))
    listed = FOR_EXAMPLE.search(message)
    if listed is None:
        return ()
    items = (item.strip(" .;") for item in re.split(r",|\bor\b", listed.group(1)))
    return tuple(dict.fromkeys(item for item in items if item and " " not in item))


def _short_email(token: str, limit: int) -> str:
    local = token[: max(limit - len("@example.com"), 1)]
    return f"{local}@example.com"


def choice(spec: FieldSpec, offered: Sequence[str]) -> str:
    """The first offered option that AnyOf and NoneOf accept."""
    any_of = spec.validator("AnyOf")
    none_of = spec.validator("NoneOf")
    for option in offered:
        if any_of is not None and option not in {str(v) for v in any_of.values}:
            continue
        if none_of is not None and option in {str(v) for v in none_of.values}:
            continue
        return option
    return offered[0] if offered else ""


def _png() -> bytes:
    """A valid 1x1 PNG, made here: the image fields' Pillow opens it and makes a thumbnail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()


def upload(spec: FieldSpec, token: str) -> tuple[io.BytesIO, str]:
    """A small in-memory file the field accepts: an image for an image field."""
    if spec.has("ImageUploadField"):
        return io.BytesIO(PNG), f"{MARK}-{token}.png"
    allowed = spec.options.get("allowed_extensions")
    extension = next(iter(allowed), "txt") if allowed else "txt"
    return io.BytesIO(f"{MARK} {token}\n".encode()), f"{MARK}-{token}.{extension}"
