"""``--writes``: create, edit and delete rows of the check's own, and isolation after an error.

Each write surface is reached twice (two rows made, two edit saves, two deletes): a save
path that keeps its Session is only seen serving the second. Safe by construction: a view is only written to when the tables its model maps are empty
(unless the user confirms with ``--yes``), every row made is one the check made itself, and
the rows are counted through a connection of the check's own, never the view's Session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import object_session

from flask_admin_compat.checks import ids, judge
from flask_admin_compat.checks import surfaces as s
from flask_admin_compat.checks.judge import Finding
from flask_admin_compat.checks.pages import form_fields
from flask_admin_compat.checks.probe import Answer, Prober
from flask_admin_compat.checks.walk import Walker

from .discover import ViewInfo
from .forms import Children, Filled, Learned, Lookup, fill, first_lookup_id, why_not_saved
from .loading import UsageProblem
from .report import NOT_SAVED, NOT_SENT, SAVED, WritesRecord
from .values import FieldSpec, specs
from .walk import WriteStep, Wrote, answered, edit_surface

#: Run inside the create request by the isolation check: breaks its transaction mid-flight.
BROKEN_SQL = "SELECT * FROM check_app_no_such_table"

if TYPE_CHECKING:
    from .target import Target


@dataclass(frozen=True)
class Rows:
    """Counts a view's table through an engine of its own, outside any request."""

    engine: Engine
    table: sa.Table

    def count(self) -> int:
        with self.engine.connect() as connection:
            counted = connection.execute(sa.select(sa.func.count()).select_from(self.table))
            return int(counted.scalar_one())

    def remove(self, model: Any, pks: Sequence[str]) -> str:
        """Delete, through this engine, the rows of ``pks`` (ids as the view's URLs give
        them): rows the check made that the view did not delete. "" when done, else why not.
        """
        keys = [c for c in sa.inspect(model).primary_key if c.table is self.table]
        if not keys:
            return "its primary key is not in its table"
        try:
            with self.engine.begin() as connection:
                for pk in pks:
                    parts = _decoded(pk)
                    if len(parts) != len(keys):
                        return f"id {pk} does not name a row of {self.table.name}"
                    where = [
                        key == _typed(key, part) for key, part in zip(keys, parts, strict=True)
                    ]
                    connection.execute(sa.delete(self.table).where(*where))
        except sa.exc.SQLAlchemyError as exc:
            return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        return ""


def _decoded(pk: str) -> tuple[str, ...]:
    """A composite id as Flask-Admin joins it in URLs ("1,2"), by its own decoder."""
    try:
        from flask_admin.tools import iterdecode
    except ImportError:  # pragma: no cover - every supported release has it
        return tuple(pk.split(","))
    return tuple(iterdecode(pk))


def _typed(column: sa.Column[Any], text: str) -> Any:
    """The id's text as the column's Python type (an int, a UUID), where the type says."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return text
    try:
        return python_type(text)
    except (TypeError, ValueError):
        return text


def _table(info: ViewInfo) -> sa.Table | None:
    table = getattr(info.view.model, "__table__", None)
    return table if isinstance(table, sa.Table) else None


def _rows_for(info: ViewInfo, engines: tuple[Engine, ...]) -> Rows | None:
    table = _table(info)
    if table is None:
        return None
    for engine in engines:
        if sa.inspect(engine).has_table(table.name, schema=table.schema):
            return Rows(engine, table)
    return None


def plan(target: Target, *, confirmed: bool) -> WriteStep:
    """The write step for every view; refuses (a UsageProblem) tables that already hold rows.

    Checked for every view before any request, so a refusal writes nothing at all.
    """
    rows: dict[str, Rows] = {}
    full = []
    for info in target.views:
        found = _rows_for(info, target.engines) if info.can_create else None
        if found is None:
            continue
        rows[info.endpoint] = found
        held = found.count()
        if held:
            full.append(f"{found.table.name} ({held} row(s), view {info.endpoint})")
    if full and not confirmed:
        raise UsageProblem(
            "--writes refuses a database whose tables already hold rows: "
            f"{', '.join(full)}; point the app at a scratch database, or add --yes"
        )
    learned: dict[str, Learned] = {}
    return functools.partial(write_view, rows=rows, views=target.views, learned=learned)


#: Rows each view's writes make (and edit, and delete), so every write surface is reached twice.
ROWS_MADE = 2
#: How deep a row made for a required relationship may itself need one.
HELPER_DEPTH = 2
#: Posts of one form at most: the first, then one for each round of values the view refused.
FORM_TRIES = 6

#: Sends a filled form (the walk's visit, or a request outside it); None: surface not offered.
Post = Callable[[dict[str, Any]], Answer | None]


def submit(post: Post, fill_page: Callable[[], Filled], learned: Learned, **extra: str) -> Sent:
    """Post the form; while the view shows it again refusing fields, post it again with the
    next values to try there (:class:`Learned`). What the last post answered, and sent."""
    filled = fill_page()
    answer = post(filled.posted(**extra))
    for _ in range(FORM_TRIES - 1):
        if answer is None or answer.status != 200 or not learned.learn(answer.body, filled):
            break
        filled = fill_page()
        answer = post(filled.posted(**extra))
    return Sent(answer, filled)


@dataclass(frozen=True)
class Sent:
    """A form posted: its last answer (None: the surface is not offered) and what it sent."""

    answer: Answer | None
    filled: Filled


def form_specs(info: ViewInfo, *, create: bool) -> dict[str, FieldSpec]:
    """The view's create or edit form class, read field by field (none: the page alone)."""
    attr = "_create_form_class" if create else "_edit_form_class"
    form_class = getattr(info.view, attr, None)
    return specs(form_class) if form_class is not None else {}


def not_null(info: ViewInfo) -> frozenset[str]:
    """Columns the table requires and fills with nothing itself: a form field of that name
    must be sent, whether or not the form says it is required."""
    try:
        columns = sa.inspect(info.view.model).columns
    except sa.exc.NoInspectionAvailable:
        return frozenset()
    return frozenset(
        column.key
        for column in columns
        if not column.nullable
        and column.default is None
        and column.server_default is None
        and not column.primary_key
    )


class Helpers:
    """Rows of other views, made through their own forms so that a form's required
    relationship has a row to pick; deleted again once the view's writes are done."""

    def __init__(
        self, prober: Prober, views: tuple[ViewInfo, ...], learned: dict[str, Learned]
    ) -> None:
        self.prober = prober
        self.views = views
        self.learned = learned
        self.made: list[tuple[ViewInfo, str]] = []

    def provide(self, info: ViewInfo, names: tuple[str, ...], *, depth: int = 0) -> bool:
        """A row for each required relationship ``names`` of the view; whether any was made."""
        try:
            relationships = sa.inspect(info.view.model).relationships
        except sa.exc.NoInspectionAvailable:
            return False
        made = False
        for name in names:
            if name not in relationships:
                continue
            target = relationships[name].mapper.class_
            other = next((v for v in self.views if v.view.model is target and v.can_create), None)
            if other is None or depth >= HELPER_DEPTH:
                continue
            pk = self._create(other, depth=depth + 1)
            if pk is not None:
                self.made.append((other, pk))
                made = True
        return made

    def _create(self, info: ViewInfo, *, depth: int) -> str | None:
        learned = self.learned.setdefault(info.endpoint, Learned())
        for attempt in range(2):
            page = self.prober.send("GET", info.base_url + "new/", label="helper-form")
            filled = _fill(page.body, info, lookup=self._lookup, change=False, learned=learned)
            if (
                filled.unfilled
                and attempt == 0
                and self.provide(info, filled.unfilled, depth=depth)
            ):
                continue
            url = info.base_url + "new/"

            def post(data: dict[str, Any], url: str = url) -> Answer:
                return self.prober.send("POST", url, label="helper", data=data)

            fill_page = functools.partial(
                _fill, page.body, info, lookup=self._lookup, change=False, learned=learned
            )
            sent = submit(post, fill_page, learned, _continue_editing="1")
            return _pk_from(sent.answer.location) if sent.answer is not None else None
        return None

    def _lookup(self, url: str) -> str:
        if not url:
            return ""
        answer = self.prober.send("GET", _lookup_url(url), label="helper-ajax")
        return first_lookup_id(answer.body)

    def remove(self) -> None:
        """Delete the rows made, last made first (a row made for another goes after it)."""
        while self.made:
            info, pk = self.made.pop()
            listing = self.prober.send("GET", info.base_url, label="helper-list")
            data = _delete_form(listing.body, pk, info.base_url)
            self.prober.send("POST", info.base_url + "delete/", label="helper-delete", data=data)


def write_view(
    walker: Walker,
    info: ViewInfo,
    *,
    rows: dict[str, Rows],
    views: tuple[ViewInfo, ...],
    learned: dict[str, Learned],
) -> Wrote:
    """Create, edit and delete rows; then isolation after an error. Each step's fate recorded."""
    if not info.can_create:
        why = "the view cannot create rows (can_create is off)"
        return _not_sent(why)
    counter = rows.get(info.endpoint)
    if counter is None:
        return _not_sent("its model's table was not found in any engine of the app")
    helpers = Helpers(walker.prober, views, learned)
    try:
        return _write(walker, info, counter, helpers)
    finally:
        helpers.remove()


def _not_sent(why: str) -> Wrote:
    return Wrote(
        judge.skipped(ids.ISOLATION_AFTER_ERROR, why),
        WritesRecord(why=why),
        (f"writes not sent: {why}",),
    )


def _write(walker: Walker, info: ViewInfo, counter: Rows, helpers: Helpers) -> Wrote:
    before = counter.count()
    made: list[str] = []
    notes: list[str] = []
    # Inline rows are made only where an edit will delete them again.
    children: Children = "add" if info.can_edit else "keep"
    for _ in range(ROWS_MADE):
        created = _create(walker, info, helpers, children=children)
        if created.pk is None and children == "add":
            # The view's own save, without inline rows, is still worth checking.
            notes.append(f"inline rows were not saved: {_why_not_created(created)}")
            children = "keep"
            created = _create(walker, info, helpers, children=children)
        if created.pk is None:
            if not made:
                said = _why_not_created(created)
                why = f"could not create a row through the form: {said}"
                record = WritesRecord(create=NOT_SAVED, why=said)
                return Wrote(judge.skipped(ids.ISOLATION_AFTER_ERROR, why), record)
            notes.append(f"the second row was not created: {_why_not_created(created)}")
            break
        made.append(created.pk)
    opened: list[str] = []
    if info.can_view_details:
        for pk in made:
            walker.visit(s.DETAILS, "GET", f"{info.base_url}details/?id={pk}")
        opened.append("details")
    edit, why_edit = NOT_SENT, "the view cannot edit rows (can_edit is off)"
    if info.can_edit:
        unsaved = [
            said
            for pk in (made * ROWS_MADE)[:ROWS_MADE]
            if (said := _edit(walker, info, pk, helpers))
        ]
        notes += [f"an edit was not saved: {said}" for said in unsaved]
        edit, why_edit = (NOT_SAVED, unsaved[0]) if unsaved else (SAVED, "")
        opened.append("edit")
    for pk in made:
        _delete(walker, info, pk, counter, notes)
    delete, why_delete = NOT_SENT, "the view cannot delete rows (can_delete is off)"
    if info.can_delete:
        removed = counter.count() == before
        delete, why_delete = (SAVED, "") if removed else (NOT_SAVED, "the deletes left rows")
    if counter.count() != before:
        # The rows are the check's own: removed through its own connection, not left behind.
        failed = counter.remove(info.view.model, made)
        left = counter.count() != before
        notes.append(
            f"rows of {counter.table.name} the view did not delete were "
            + (
                f"left: {failed or 'still there after deleting them'}"
                if left
                else "removed by check-app"
            )
        )
    isolation = _isolation(walker, info, counter, helpers, notes)
    record = WritesRecord(create=SAVED, edit=edit, delete=delete, why=why_edit or why_delete)
    return Wrote(isolation, record, tuple(notes), tuple(opened))


def _lookup(walker: Walker, url: str) -> str:
    if not url:
        return ""
    answer = walker.visit(s.AJAX_LOOKUP, "GET", _lookup_url(url))
    return first_lookup_id(answer.body) if answer is not None else ""


def _lookup_url(url: str) -> str:
    """An ajax lookup's URL asking for every row (an empty query)."""
    return url + ("&" if "?" in url else "?") + "query="


def _fill(
    page: str,
    info: ViewInfo,
    *,
    lookup: Lookup,
    change: bool,
    learned: Learned,
    children: Children = "keep",
) -> Filled:
    """The page's form filled from the view's own fields and validators."""
    return fill(
        page,
        lookup=lookup,
        change=change,
        specs=form_specs(info, create=not change),
        not_null=not_null(info),
        learned=learned,
        children=children,
    )


@dataclass(frozen=True)
class Created:
    """A create form posted: its answer, what was sent, the new row's id if one was made."""

    answer: Answer
    filled: Filled
    pk: str | None


def _create(
    walker: Walker, info: ViewInfo, helpers: Helpers, *, children: Children = "keep"
) -> Created:
    """GET the create form, POST it filled; the new row's id from the redirect to its edit page.

    A required relationship with no row to pick gets one first, through its own view.
    ``children="add"`` also makes a row in each inline list (the edit deletes them again).
    """
    lookup = functools.partial(_lookup, walker)
    learned = helpers.learned.setdefault(info.endpoint, Learned())
    url = info.base_url + "new/"
    page = walker.visit(s.CREATE, "GET", url)
    assert page is not None  # a view that can create offers the create surface
    filled = _fill(page.body, info, lookup=lookup, change=False, learned=learned)
    if filled.unfilled and helpers.provide(info, filled.unfilled):
        page = walker.visit(s.CREATE, "GET", url)
        assert page is not None

    def post(data: dict[str, Any]) -> Answer | None:
        return walker.visit(s.CREATE, "POST", url, data)

    fill_page = functools.partial(
        _fill, page.body, info, lookup=lookup, change=False, learned=learned, children=children
    )
    # _continue_editing makes Flask-Admin redirect to the new row's edit page, naming its id.
    sent = submit(post, fill_page, learned, _continue_editing="1")
    assert sent.answer is not None
    return Created(sent.answer, sent.filled, _pk_from(sent.answer.location))


def _pk_from(location: str) -> str | None:
    if "/edit/" not in location:
        return None
    ids_ = parse_qs(urlsplit(location).query).get("id")
    return ids_[0] if ids_ else None


def _why_not_created(created: Created) -> str:
    answer = created.answer
    if not answer.ok:
        return answer.describe()
    if answer.status == 200:
        return why_not_saved(answer.body, created.filled)
    return f"{answer.describe()} to {answer.location or 'nowhere'}"


def _edit(walker: Walker, info: ViewInfo, pk: str, helpers: Helpers) -> str:
    """Save the row's edit form, changed; empty when the app saved it, else why not."""
    url = f"{info.base_url}edit/?id={pk}"
    surface = edit_surface(info)
    page = walker.visit(surface, "GET", url)
    if page is None or not answered(page):
        return f"the edit form did not open: {page.describe() if page else 'not offered'}"
    learned = helpers.learned.setdefault(info.endpoint, Learned())
    lookup = functools.partial(_lookup, walker)

    def post(data: dict[str, Any]) -> Answer | None:
        return walker.visit(surface, "POST", url, data)

    # The inline rows the create made are deleted by the edit (the row's inline delete path),
    # so that the delete that follows leaves nothing of the check's behind, cascade or not.
    fill_page = functools.partial(
        _fill, page.body, info, lookup=lookup, change=True, learned=learned, children="drop"
    )
    sent = submit(post, fill_page, learned)
    saved = sent.answer
    if saved is None:
        return "the edit surface is not offered"
    if saved.status == 200:
        return why_not_saved(saved.body, sent.filled)
    if not saved.ok:
        return saved.describe()
    return ""


def _delete(walker: Walker, info: ViewInfo, pk: str, counter: Rows, notes: list[str]) -> None:
    if not info.can_delete:
        return  # removed through check-app's own connection once the view is done
    listing = walker.visit(s.LIST, "GET", info.base_url)
    data = _delete_form(listing.body if listing is not None else "", pk, info.base_url)
    walker.visit(s.DELETE, "POST", info.base_url + "delete/", data)


def _delete_form(page: str, pk: str, base_url: str) -> dict[str, str]:
    """What the list page's delete button posts for row ``pk``."""
    token = _csrf_token(page)
    return {"id": pk, "url": base_url, **({"csrf_token": token} if token else {})}


def _csrf_token(page: str) -> str:
    return next((f.value for f in form_fields(page) if f.name == "csrf_token"), "")


@contextmanager
def _failing_change(view: Any) -> Iterator[None]:
    """The view's on_model_change runs invalid SQL through the row's own Session, then raises.

    Patched on the instance and removed after: the request's transaction breaks mid-flight,
    after the row was added (and flushed), as a constraint broken at commit would.
    """
    original: Callable[..., Any] = view.on_model_change

    def on_model_change(form: Any, model: Any, is_created: bool) -> None:
        original(form, model, is_created)
        session = object_session(model)
        if session is not None:
            session.execute(sa.text(BROKEN_SQL))
        raise RuntimeError("check-app: a write that fails mid-transaction")

    view.on_model_change = on_model_change
    # Flask-Admin logs the failure it catches with its traceback: muted while the checks run
    # (tracebacks.py), expected here, not news.
    try:
        yield
    finally:
        del view.on_model_change


def _failed(why: str, failure: str) -> Finding:
    return Finding(
        ids.ISOLATION_AFTER_ERROR,
        ids.FAILED,
        why,
        (s.CREATE, s.LIST),
        (s.CREATE,),
        details=(failure,),
    )


def _isolation(
    walker: Walker, info: ViewInfo, counter: Rows, helpers: Helpers, notes: list[str]
) -> Finding:
    """After a request failed mid-transaction, the next ones neither fail nor see its row.

    The failed create is sent outside the walk: what it leaves is this check's to judge.
    """
    from flask_admin_compat.checks.observe import leftovers

    prober = walker.prober
    before = counter.count()
    with _failing_change(info.view):
        page = prober.send("GET", info.base_url + "new/", label="failing-create-form")
        learned = helpers.learned.setdefault(info.endpoint, Learned())
        lookup = functools.partial(_lookup, walker)
        filled = _fill(page.body, info, lookup=lookup, change=False, learned=learned)
        failed = prober.send(
            "POST",
            info.base_url + "new/",
            label="failing-create",
            data=filled.posted(_continue_editing="1"),
        )
    failure = f"(the create that failed mid-transaction: {failed.describe()})"
    left = [
        f"a Session it used {' and '.join(found)}"
        for found in map(leftovers, failed.sessions)
        if found
    ]
    if left:
        return _failed(f"after the failed create, {left[0]}", failure)
    if counter.count() != before:
        notes.append(f"the failed create's row is left in {counter.table.name}")
        return _failed("the failed create's row was written anyway", failure)
    following = walker.visit(s.LIST, "GET", info.base_url)
    assert following is not None
    if not following.ok:
        why = f"after a request failed mid-transaction, the next one failed: {following.describe()}"
        return _failed(why, failure)
    if judge.shared_sessions(following.sessions, failed.sessions):
        return _failed("the request after the failure used the failed request's Session", failure)
    created = _create(walker, info, helpers)
    written = counter.count() == before + 1
    if created.pk is not None:
        _delete(walker, info, created.pk, counter, notes)
        if counter.count() != before:
            counter.remove(info.view.model, [created.pk])
    if created.pk is None or not written:
        why = (
            "after a request failed mid-transaction, creating a row did not work: "
            f"{_why_not_created(created)}"
        )
        return _failed(why, failure)
    return Finding(ids.ISOLATION_AFTER_ERROR, ids.PASSED, "", (s.CREATE, s.LIST))
