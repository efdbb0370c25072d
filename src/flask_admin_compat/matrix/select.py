"""Choosing cells: nox-style ``-k`` keyword expressions (checked first) and exact ids."""

from __future__ import annotations

import ast
from collections.abc import Sequence

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import MatrixError


class KeywordError(ValueError):
    """A ``-k`` expression nox would misread: only names, and, or, not and parentheses."""


_KEYWORD_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.UnaryOp,
    ast.And,
    ast.Or,
    ast.Not,
    ast.Name,
    ast.Load,
)


def check_keyword(expression: str) -> None:
    """Refuse what nox would silently misread: ``py312-flask31`` is a subtraction there.

    With names and booleans, ``a-b`` evaluates to 0 or 1, so it selects the cells that have
    ``a`` but *not* ``b``: the opposite of what was meant. And ``flask3.1`` is not Python.
    """
    hint = "join parts with and/or/not and leave dots out, e.g. -k 'flask31 and admin22'"
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise KeywordError(f"-k {expression!r} is not an expression nox can read: {hint}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _KEYWORD_NODES):
            raise KeywordError(f"-k {expression!r} would not select what it says: {hint}")


def select(cells: Sequence[Cell], *, keyword: str | None) -> list[Cell]:
    """Cells whose id or tags match a nox-style keyword expression (``admin22 and not lite``)."""
    if not keyword:
        return list(cells)
    check_keyword(keyword)
    # nox's own matcher, so that `nox -s matrix -- -k EXPR` selects exactly what `nox -k EXPR`
    # would; like nox, it evaluates the expression the user typed on their own command line.
    from nox.manifest import keyword_match

    return [cell for cell in cells if keyword_match(keyword, [cell.id, *cell.tags])]


def choose(cells: Sequence[Cell], *, keyword: str | None, names: Sequence[str] = ()) -> list[Cell]:
    """Cells picked by ``-k`` and by exact ids, in matrix order."""
    picked = select(cells, keyword=keyword)
    if names:
        wanted = set(names)
        unknown = wanted - {c.id for c in cells}
        if unknown:
            raise MatrixError("matrix.toml", "cell", min(unknown), "no such cell in the matrix")
        picked = [c for c in picked if c.id in wanted]
    return picked
