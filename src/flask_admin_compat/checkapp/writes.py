"""``--writes``: create, edit and delete rows of the check's own, and isolation after an error.

Each write surface is reached twice (two rows made, two edit saves, two deletes): a save
path that keeps its Session is only seen serving the second. Safe by construction: a view is only written to when the tables its model maps are empty
(unless the user confirms with ``--yes``), every row made is one the check made itself, and
the rows are counted through a connection of the check's own, never the view's Session.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
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
from flask_admin_compat.checks.probe import Answer
from flask_admin_compat.checks.walk import Walker

from .discover import ViewInfo
from .forms import Filled, fill, first_lookup_id, flashed_errors
from .loading import UsageProblem
from .walk import WriteStep, Wrote, edit_surface

#: Run inside the create request by the isolation check: breaks its transaction mid-flight.
BROKEN_SQL = "SELECT * FROM check_app_no_such_table"
FLASK_ADMIN_LOGGER = "flask-admin"

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
    return functools.partial(write_view, rows=rows)


#: Rows each view's writes make (and edit, and delete), so every write surface is reached twice.
ROWS_MADE = 2


def write_view(walker: Walker, info: ViewInfo, *, rows: dict[str, Rows]) -> Wrote:
    """Create, edit and delete rows; then isolation after an error."""
    if not info.can_create:
        why = "the view cannot create rows (can_create is off)"
        return Wrote(judge.skipped(ids.ISOLATION_AFTER_ERROR, why), (f"writes not sent: {why}",))
    counter = rows.get(info.endpoint)
    if counter is None:
        why = "its model's table was not found in any engine of the app"
        return Wrote(judge.skipped(ids.ISOLATION_AFTER_ERROR, why), (f"writes not sent: {why}",))
    before = counter.count()
    made: list[str] = []
    notes: list[str] = []
    for _ in range(ROWS_MADE):
        created = _create(walker, info)
        if created.pk is None:
            if not made:
                why = f"could not create a row through the form: {_why_not_created(created)}"
                return Wrote(judge.skipped(ids.ISOLATION_AFTER_ERROR, why))
            notes.append(f"the second row was not created: {_why_not_created(created)}")
            break
        made.append(created.pk)
    opened: list[str] = []
    if info.can_view_details:
        for pk in made:
            walker.visit(s.DETAILS, "GET", f"{info.base_url}details/?id={pk}")
        opened.append("details")
    if info.can_edit:
        for pk in (made * ROWS_MADE)[:ROWS_MADE]:
            _edit(walker, info, pk, notes)
        opened.append("edit")
    for pk in made:
        _delete(walker, info, pk, counter, notes)
    if counter.count() != before:
        notes.append(f"rows of {counter.table.name} are left: the deletes did not remove them")
    isolation = _isolation(walker, info, counter, notes)
    return Wrote(isolation, tuple(notes), tuple(opened))


def _lookup(walker: Walker, url: str) -> str:
    if not url:
        return ""
    answer = walker.visit(s.AJAX_LOOKUP, "GET", url + ("&" if "?" in url else "?") + "query=")
    return first_lookup_id(answer.body) if answer is not None else ""


@dataclass(frozen=True)
class Created:
    """A create form posted: its answer, what was sent, the new row's id if one was made."""

    answer: Answer
    filled: Filled
    pk: str | None


def _create(walker: Walker, info: ViewInfo) -> Created:
    """GET the create form, POST it filled; the new row's id from the redirect to its edit page."""
    page = walker.visit(s.CREATE, "GET", info.base_url + "new/")
    assert page is not None  # a view that can create offers the create surface
    filled = fill(page.body, lookup=functools.partial(_lookup, walker), change=False)
    # _continue_editing makes Flask-Admin redirect to the new row's edit page, naming its id.
    sent = {**filled.data, "_continue_editing": "1"}
    created = walker.visit(s.CREATE, "POST", info.base_url + "new/", sent)
    assert created is not None
    return Created(created, filled, _pk_from(created.location))


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
        return flashed_errors(answer.body, created.filled)
    return f"{answer.describe()} to {answer.location or 'nowhere'}"


def _edit(walker: Walker, info: ViewInfo, pk: str, notes: list[str]) -> None:
    url = f"{info.base_url}edit/?id={pk}"
    surface = edit_surface(info)
    page = walker.visit(surface, "GET", url)
    if page is None or not page.ok:
        return
    filled = fill(page.body, lookup=functools.partial(_lookup, walker), change=True)
    saved = walker.visit(surface, "POST", url, filled.data)
    if saved is not None and saved.status == 200:
        notes.append(f"the edit of row {pk} was not saved: {flashed_errors(saved.body, filled)}")


def _delete(walker: Walker, info: ViewInfo, pk: str, counter: Rows, notes: list[str]) -> None:
    if not info.can_delete:
        notes.append(
            f"row {pk} of {counter.table.name} is left: the view cannot delete (can_delete is off)"
        )
        return
    listing = walker.visit(s.LIST, "GET", info.base_url)
    token = _csrf_token(listing.body) if listing is not None else ""
    data = {"id": pk, "url": info.base_url, **({"csrf_token": token} if token else {})}
    walker.visit(s.DELETE, "POST", info.base_url + "delete/", data)


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
    # Flask-Admin logs the failure it catches with its traceback: expected here, not news.
    logger = logging.getLogger(FLASK_ADMIN_LOGGER)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        del view.on_model_change
        logger.setLevel(level)


def _failed(why: str, failure: str) -> Finding:
    return Finding(
        ids.ISOLATION_AFTER_ERROR,
        ids.FAILED,
        why,
        (s.CREATE, s.LIST),
        (s.CREATE,),
        details=(failure,),
    )


def _isolation(walker: Walker, info: ViewInfo, counter: Rows, notes: list[str]) -> Finding:
    """After a request failed mid-transaction, the next ones neither fail nor see its row.

    The failed create is sent outside the walk: what it leaves is this check's to judge.
    """
    from flask_admin_compat.checks.observe import leftovers

    prober = walker.prober
    before = counter.count()
    with _failing_change(info.view):
        page = prober.send("GET", info.base_url + "new/", label="failing-create-form")
        filled = fill(page.body, lookup=functools.partial(_lookup, walker), change=False)
        failed = prober.send(
            "POST",
            info.base_url + "new/",
            label="failing-create",
            data={**filled.data, "_continue_editing": "1"},
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
    created = _create(walker, info)
    written = counter.count() == before + 1
    if created.pk is not None:
        _delete(walker, info, created.pk, counter, notes)
    if created.pk is None or not written:
        why = (
            "after a request failed mid-transaction, creating a row did not work: "
            f"{_why_not_created(created)}"
        )
        return _failed(why, failure)
    return Finding(ids.ISOLATION_AFTER_ERROR, ids.PASSED, "", (s.CREATE, s.LIST))
