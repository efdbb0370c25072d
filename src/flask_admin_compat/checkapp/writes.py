"""``--writes``: create, edit and delete a row of the check's own, and isolation after an error.

Safe by construction: a view is only written to when the tables its model maps are empty
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

from .checks import OWN_ROW_DETAILS, OWN_ROW_EDIT_FORM, Requests, WriteStep
from .discover import ViewInfo
from .forms import Filled, fill, first_lookup_id, flashed_errors, form_fields
from .loading import UsageProblem
from .probe import Answer, Prober
from .report import ISOLATION_AFTER_ERROR, CheckResult

#: Run inside the create request by the isolation check: breaks its transaction mid-flight.
BROKEN_SQL = "SELECT * FROM check_app_no_such_table"
FLASK_ADMIN_LOGGER = "flask-admin"

if TYPE_CHECKING:  # command imports this module lazily; no cycle at runtime
    from .command import Target


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


def write_view(
    prober: Prober, info: ViewInfo, *, rows: dict[str, Rows]
) -> tuple[Requests, CheckResult]:
    """Create, edit and delete a row; then isolation after an error. Requests and its verdict."""
    if not info.can_create:
        why = "the view cannot create rows (can_create is off)"
        return Requests((), (f"writes not sent: {why}",)), CheckResult(
            ISOLATION_AFTER_ERROR, "skip", why
        )
    counter = rows.get(info.endpoint)
    if counter is None:
        why = "its model's table was not found in any engine of the app"
        return Requests((), (f"writes not sent: {why}",)), CheckResult(
            ISOLATION_AFTER_ERROR, "skip", why
        )
    before = counter.count()
    answers: list[Answer] = []
    notes: list[str] = []
    created = _create(prober, info, "create", answers)
    if created.pk is None:
        why = f"could not create a row through the form: {_why_not_created(created)}"
        return Requests(tuple(answers), tuple(notes)), CheckResult(
            ISOLATION_AFTER_ERROR, "skip", why
        )
    pk = created.pk
    if info.can_view_details:
        answers.append(prober.get(OWN_ROW_DETAILS, f"{info.base_url}details/?id={pk}"))
    if info.can_edit:
        _edit(prober, info, pk, answers, notes)
    _delete(prober, info, pk, counter, before, answers, notes)
    isolation = _isolation(prober, info, counter, answers, notes)
    return Requests(tuple(answers), tuple(notes)), isolation


def _lookup(prober: Prober, answers: list[Answer], url: str) -> str:
    if not url:
        return ""
    answer = prober.get("ajax-fill", url + ("&" if "?" in url else "?") + "query=")
    answers.append(answer)
    return first_lookup_id(answer.body)


@dataclass(frozen=True)
class Created:
    """A create form posted: its answer, what was sent, the new row's id if one was made."""

    answer: Answer
    filled: Filled
    pk: str | None


def _create(prober: Prober, info: ViewInfo, label: str, answers: list[Answer]) -> Created:
    """GET the create form, POST it filled; the new row's id from the redirect to its edit page."""
    page = prober.get(f"{label}-form", info.base_url + "new/")
    answers.append(page)
    filled = fill(page.body, lookup=functools.partial(_lookup, prober, answers), change=False)
    # _continue_editing makes Flask-Admin redirect to the new row's edit page, naming its id.
    sent = {**filled.data, "_continue_editing": "1"}
    created = prober.post(label, info.base_url + "new/", sent)
    answers.append(created)
    return Created(created, filled, _pk_from(created.location))


def _pk_from(location: str) -> str | None:
    if "/edit/" not in location:
        return None
    ids = parse_qs(urlsplit(location).query).get("id")
    return ids[0] if ids else None


def _why_not_created(created: Created) -> str:
    answer = created.answer
    if not answer.ok:
        return answer.describe()
    if answer.status == 200:
        return flashed_errors(answer.body, created.filled)
    return f"{answer.describe()} to {answer.location or 'nowhere'}"


def _edit(prober: Prober, info: ViewInfo, pk: str, answers: list[Answer], notes: list[str]) -> None:
    url = f"{info.base_url}edit/?id={pk}"
    page = prober.get(OWN_ROW_EDIT_FORM, url)
    answers.append(page)
    if not page.ok:
        return
    filled = fill(page.body, lookup=functools.partial(_lookup, prober, answers), change=True)
    saved = prober.post("edit", url, filled.data)
    answers.append(saved)
    if saved.status == 200:
        notes.append(f"the edit of row {pk} was not saved: {flashed_errors(saved.body, filled)}")


def _delete(
    prober: Prober,
    info: ViewInfo,
    pk: str,
    counter: Rows,
    before: int,
    answers: list[Answer],
    notes: list[str],
) -> None:
    if not info.can_delete:
        notes.append(
            f"row {pk} of {counter.table.name} is left: the view cannot delete (can_delete is off)"
        )
        return
    listing = prober.get("list-own-row", info.base_url)
    answers.append(listing)
    token = _csrf_token(listing.body)
    data = {"id": pk, "url": info.base_url, **({"csrf_token": token} if token else {})}
    answers.append(prober.post("delete", info.base_url + "delete/", data))
    if counter.count() != before:
        notes.append(f"row {pk} of {counter.table.name} is left: the delete did not remove it")


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


def _isolation(
    prober: Prober, info: ViewInfo, counter: Rows, answers: list[Answer], notes: list[str]
) -> CheckResult:
    """After a request failed mid-transaction, the next ones neither fail nor see its row."""
    before = counter.count()
    with _failing_change(info.view):
        failed = _create(prober, info, "failing-create", []).answer
    failure = f"(the create that failed mid-transaction: {failed.describe()})"
    if failed.left:
        return CheckResult(
            ISOLATION_AFTER_ERROR, "fail", f"after the failed create, {failed.left[0]}", (failure,)
        )
    if counter.count() != before:
        notes.append(f"the failed create's row is left in {counter.table.name}")
        return CheckResult(
            ISOLATION_AFTER_ERROR, "fail", "the failed create's row was written anyway", (failure,)
        )
    following = prober.get("after-failure", info.base_url)
    answers.append(following)
    if not following.ok:
        why = f"after a request failed mid-transaction, the next one failed: {following.describe()}"
        return CheckResult(ISOLATION_AFTER_ERROR, "fail", why, (failure,))
    if any(s is o for s in following.sessions for o in failed.sessions):
        return CheckResult(
            ISOLATION_AFTER_ERROR,
            "fail",
            "the request after the failure used the failed request's Session",
            (failure,),
        )
    created = _create(prober, info, "create-after-failure", answers)
    written = counter.count() == before + 1
    if created.pk is not None:
        _delete(prober, info, created.pk, counter, before, answers, notes)
    if created.pk is None or not written:
        why = (
            "after a request failed mid-transaction, creating a row did not work: "
            f"{_why_not_created(created)}"
        )
        return CheckResult(ISOLATION_AFTER_ERROR, "fail", why, (failure,))
    return CheckResult(ISOLATION_AFTER_ERROR, "pass")
