"""Columns the feed reads as the text their JSON holds, written by the database.

A first pull reads every row of a project. Read typed, each UUID, timestamp, date
and decimal becomes a Python object (on SQLite through a Python call per value: hex
to UUID, text to datetime) only for msgspec to turn it back into the same text.
These SQL expressions make the database hand back that text instead, exactly as
msgspec writes it (or, where the driver's own value is cheaper and msgspec writes
it the same — PostgreSQL's timestamps — that value):

- UUID: `8-4-4-4-12` lower-case hex;
- timestamp: UTC, `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (the fraction left out when zero);
- date: `YYYY-MM-DD`;
- decimal: with the column's scale (msgspec writes a `Decimal` as a JSON string;
  PostgreSQL's `numeric(p, s)` text has that scale already).

One expression per kind, compiled for each dialect (SQLAlchemy's `@compiles`).
`tests/integration/test_sync_feed_text.py` checks every kind against msgspec's
encoding of the typed value, on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, DateTime, Float, Numeric, Text, Uuid
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class _Text(FunctionElement[str]):
    """A column's value as text; SQL NULL stays NULL."""

    type = Text()
    inherit_cache = True

    def _arg(self, compiler: Any, **kw: Any) -> str:
        (arg,) = self.clauses
        return str(compiler.process(arg, **kw))


class uuid_text(_Text):  # named like the SQL function it is
    name = "uuid_text"
    inherit_cache = True


class utc_text(_Text):
    name = "utc_text"
    inherit_cache = True


class date_text(_Text):
    name = "date_text"
    inherit_cache = True


class decimal_text(_Text):
    name = "decimal_text"
    inherit_cache = True

    @property
    def scale(self) -> int:
        (arg,) = self.clauses
        scale = getattr(arg.type, "scale", None)
        if scale is None:
            raise CompileError("decimal_text needs a Numeric column with a scale")
        return int(scale)


def as_feed_text(column: Any) -> Any | None:
    """The expression reading `column` as its JSON text, or None for a column read
    as it is (text, numbers, booleans, JSON)."""
    kind = column.type
    kind = getattr(kind, "impl", kind)  # a TypeDecorator (UTCDateTime): what it stores
    if isinstance(kind, Uuid):
        return uuid_text(column)
    if isinstance(kind, DateTime):
        return utc_text(column)
    if isinstance(kind, Date):
        return date_text(column)
    if isinstance(kind, Numeric) and not isinstance(kind, Float) and kind.asdecimal:
        return decimal_text(column)
    return None


# --- PostgreSQL ----------------------------------------------------------------------------


@compiles(uuid_text, "postgresql")
def _uuid_pg(element: uuid_text, compiler: Any, **kw: Any) -> str:
    return f"CAST({element._arg(compiler, **kw)} AS TEXT)"


@compiles(utc_text, "postgresql")
def _utc_pg(element: utc_text, compiler: Any, **kw: Any) -> str:
    # asyncpg hands back timestamps as aware UTC datetimes, decoded in C, and msgspec
    # writes those exactly as above; formatting them in SQL (to_char) costs the
    # database more than it saves here (measured: ~0.3 µs a value).
    return element._arg(compiler, **kw)


@compiles(date_text, "postgresql")
def _date_pg(element: date_text, compiler: Any, **kw: Any) -> str:
    return f"to_char({element._arg(compiler, **kw)}, 'YYYY-MM-DD')"


@compiles(decimal_text, "postgresql")
def _decimal_pg(element: decimal_text, compiler: Any, **kw: Any) -> str:
    return f"CAST({element._arg(compiler, **kw)} AS TEXT)"


# --- SQLite: what SQLAlchemy stores -------------------------------------------------------
# A UUID as 32 hex digits, a timestamp as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC: the
# columns store UTC), a date as 'YYYY-MM-DD', a decimal as a number.


@compiles(uuid_text, "sqlite")
def _uuid_sqlite(element: uuid_text, compiler: Any, **kw: Any) -> str:
    c = element._arg(compiler, **kw)
    parts = " || '-' || ".join(
        f"substr({c}, {start}, {n})" for start, n in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )
    return f"lower({parts})"


@compiles(utc_text, "sqlite")
def _utc_sqlite(element: utc_text, compiler: Any, **kw: Any) -> str:
    c = element._arg(compiler, **kw)
    return f"replace(replace({c}, ' ', 'T'), '.000000', '') || 'Z'"


@compiles(date_text, "sqlite")
def _date_sqlite(element: date_text, compiler: Any, **kw: Any) -> str:
    return element._arg(compiler, **kw)


@compiles(decimal_text, "sqlite")
def _decimal_sqlite(element: decimal_text, compiler: Any, **kw: Any) -> str:
    c = element._arg(compiler, **kw)
    return f"CASE WHEN {c} IS NULL THEN NULL ELSE printf('%.{element.scale}f', {c}) END"


@compiles(_Text)
def _unsupported(element: _Text, compiler: Any, **kw: Any) -> str:
    raise CompileError(f"{element.name}: only PostgreSQL and SQLite are supported")
