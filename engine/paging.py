"""Keyset pagination: opaque `after` cursors over (moment, id) and the page they end.

A page is read with `LIMIT size + 1`: the extra row only tells that a next page exists, and
the cursor names the last row shown. Cursors never carry an offset, so a page costs the same
however deep it is, and rows inserted meanwhile cause neither duplicates nor gaps.
Nothing here knows a table: callers pass the ordered columns.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Generic
from typing import TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import tuple_

from engine.errors import EngineError

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NULL_MARK = "n"
MAX_ID = 2**63 - 1

T = TypeVar("T")


class InvalidCursor(EngineError):
    """An `after` cursor that this system did not hand out."""

    code = "invalid_cursor"


@dataclass(frozen=True)
class Cursor:
    """The sort key of the last row of a page: its moment (None sorts last) and its id."""

    at: datetime | None
    id: int

    def encode(self) -> str:
        if self.at is None:
            return f"{NULL_MARK}.{self.id}"
        micros = (self.at - EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.id}"


def decode(text: str | None) -> Cursor | None:
    """The cursor of an `after` parameter (None when absent).

    Raises:
        InvalidCursor: the text is not a cursor.
    """
    if not text:
        return None
    moment, sep, ident = text.partition(".")
    try:
        row_id = int(ident)
        at = None if moment == NULL_MARK else EPOCH + timedelta(microseconds=int(moment))
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor(f"not a cursor: {text!r}") from exc
    if not sep or not 0 <= row_id <= MAX_ID:
        raise InvalidCursor(f"not a cursor: {text!r}")
    return Cursor(at, row_id)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None on the last one)."""

    items: list[T]
    next_after: str | None


def page_of(rows: Sequence[T], size: int, key: Callable[[T], Cursor]) -> Page[T]:
    """The first `size` rows, with a next cursor when more were read (read size + 1)."""
    items = list(rows[:size])
    more = len(rows) > size and bool(items)
    return Page(items, key(items[-1]).encode() if more else None)


def after_ascending(column: Any, id_column: Any, cursor: Cursor) -> ColumnElement[bool]:
    """Rows after the cursor in the order (column, id), over rows where column is not null."""
    assert cursor.at is not None  # noqa: S101 - callers split the null rows off
    return and_(column >= cursor.at, tuple_(column, id_column) > tuple_(cursor.at, cursor.id))


def after_descending(column: Any, id_column: Any, cursor: Cursor) -> ColumnElement[bool]:
    """Rows after the cursor in the order (column desc, id desc); the column is never null."""
    if cursor.at is None:
        return and_(id_column < cursor.id)
    return and_(column <= cursor.at, tuple_(column, id_column) < tuple_(cursor.at, cursor.id))


def null_after(column: Any, id_column: Any, cursor: Cursor | None) -> ColumnElement[bool]:
    """The rows whose column is null that come after the cursor (nulls sort last, by id)."""
    if cursor is None or cursor.at is not None:
        return and_(column.is_(None))
    return and_(column.is_(None), id_column > cursor.id)


def clamp(size: int | None) -> int:
    """A page size within 1..MAX_PAGE_SIZE (the default when None)."""
    if size is None:
        return PAGE_SIZE
    return max(1, min(MAX_PAGE_SIZE, size))
