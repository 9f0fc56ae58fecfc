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

from sync.columns import stored_type


class _Text(FunctionElement[str]):
    """A column's value as text; SQL NULL stays NULL. Compiled from `_SQL`."""

    type = Text()
    inherit_cache = True


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


def as_feed_text(column: Any) -> Any | None:
    """The expression reading `column` as its JSON text, or None for a column read
    as it is (text, numbers, booleans, JSON)."""
    kind = stored_type(column.type)
    if isinstance(kind, Uuid):
        return uuid_text(column)
    if isinstance(kind, DateTime):
        return utc_text(column)
    if isinstance(kind, Date):
        return date_text(column)
    if isinstance(kind, Numeric) and not isinstance(kind, Float) and kind.asdecimal:
        if kind.scale is None:
            raise CompileError(f"decimal_text: column {column.name} has no scale")
        return decimal_text(column)
    return None


_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))

#: Per database and function, the SQL with `{c}` for the column and `{scale}` for a
#: decimal's scale.
_SQL: dict[str, dict[str, str]] = {
    "postgresql": {
        "uuid_text": "CAST({c} AS TEXT)",
        # asyncpg hands back timestamps as aware UTC datetimes, decoded in C, and
        # msgspec writes those exactly as above; formatting them in SQL (to_char)
        # costs the database more than it saves here (measured: ~0.3 µs a value).
        "utc_text": "{c}",
        "date_text": "to_char({c}, 'YYYY-MM-DD')",
        "decimal_text": "CAST({c} AS TEXT)",  # numeric(p, s) has the scale already
    },
    # What SQLAlchemy stores on SQLite: a UUID as 32 hex digits, a timestamp as
    # 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC: the columns store UTC), a date as
    # 'YYYY-MM-DD', a decimal as a number.
    "sqlite": {
        "uuid_text": "lower(" + " || '-' || ".join(f"substr({{c}}, {a}, {n})" for a, n in _UUID_PARTS) + ")",
        "utc_text": "replace(replace({c}, ' ', 'T'), '.000000', '') || 'Z'",
        "date_text": "{c}",
        "decimal_text": "CASE WHEN {c} IS NULL THEN NULL ELSE printf('%.{scale}f', {c}) END",
    },
}


@compiles(_Text)
def _compile(element: _Text, compiler: Any, **kw: Any) -> str:
    sql = _SQL.get(compiler.dialect.name, {}).get(element.name)
    if sql is None:
        raise CompileError(f"{element.name}: only PostgreSQL and SQLite are supported")
    (arg,) = element.clauses
    return sql.format(c=compiler.process(arg, **kw), scale=getattr(arg.type, "scale", None))
