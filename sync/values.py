"""What a value sent for a field must be, by the column it is stored in.

Every write a device makes is checked here before the feature's own checks
(`check_values`, push step 7b/7c): text must be a string no longer than its column
(PostgreSQL refuses a longer one with an error that would fail the push on every
retry and stop the device's queue; SQLite would store it), whole numbers must fit
their column, numbers must be finite, flags must be booleans. UUIDs, times and dates
are the features' to convert (`validate`, with `as_uuid`, `as_instant`, `as_day`),
as they read them.

A conflict keeps its values as the device saw them (JSON: UUIDs and times as
text); `from_wire` turns a value chosen in a resolution back into the column's
type, checked the same way."""

from __future__ import annotations

import functools
import math
import uuid
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, SmallInteger, String, Table, Uuid

from sync.columns import stored_type
from sync.errors import Rejected

_INT_BITS = ((BigInteger, 64), (SmallInteger, 16), (Integer, 32))  # (subclasses first)


@functools.cache
def kinds(table: Table) -> dict[str, tuple[str, int | None]]:
    """Each column's kind of value ("text", "int", "float", "bool", "uuid",
    "datetime", "date"; other columns, JSON included, are absent) and its limit: a
    text's length (None: unbounded), an integer's bits."""
    out: dict[str, tuple[str, int | None]] = {}
    for column in table.columns:
        type_ = stored_type(column.type)
        if isinstance(type_, String):  # (Text is a String without a length)
            out[column.name] = ("text", type_.length)
        elif isinstance(type_, Integer):
            out[column.name] = ("int", next(bits for cls, bits in _INT_BITS if isinstance(type_, cls)))
        elif isinstance(type_, Float):
            out[column.name] = ("float", None)
        elif isinstance(type_, Boolean):
            out[column.name] = ("bool", None)
        elif isinstance(type_, Uuid):
            out[column.name] = ("uuid", None)
        elif isinstance(type_, DateTime):
            out[column.name] = ("datetime", None)
        elif isinstance(type_, Date):
            out[column.name] = ("date", None)
    return out


def check_values(table: Table, fields: dict[str, Any]) -> None:
    """Reject (naming the field) a value its column cannot hold; None is left to
    the column's constraints and the feature."""
    known = kinds(table)
    for name, value in fields.items():
        kind = known.get(name)
        if kind is None or value is None:
            continue
        if kind[0] == "text" and type(value) is str and (kind[1] is None or len(value) <= kind[1]):
            continue  # (the common case, without a call: a push checks every answer's fields)
        _check(name, kind, value)


def _check(name: str, kind: tuple[str, int | None], value: Any) -> None:
    what, limit = kind
    if what == "text":
        if not isinstance(value, str):
            raise Rejected(f"{name}: expected text", code="invalid")
        if limit is not None and len(value) > limit:
            raise Rejected(f"{name}: at most {limit} characters (got {len(value)})", code="invalid")
    elif what == "int":
        assert limit is not None
        if not isinstance(value, int) or isinstance(value, bool):
            raise Rejected(f"{name}: expected a whole number", code="invalid")
        if not -(2 ** (limit - 1)) <= value < 2 ** (limit - 1):
            raise Rejected(f"{name}: out of range", code="invalid")
    elif what == "float":
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise Rejected(f"{name}: expected a number", code="invalid")
    elif what == "bool" and not isinstance(value, bool):
        raise Rejected(f"{name}: expected true or false", code="invalid")


def as_uuid(value: Any, field: str) -> uuid.UUID:
    """A UUID sent as text (or one already)."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise Rejected(f"{field}: not a UUID", code="invalid") from exc


def as_instant(value: Any, field: str) -> datetime | None:
    """A device's time: ISO 8601 naming its offset (or Z) — a time without one is no instant."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        when = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        when = None
    if when is None or when.tzinfo is None:
        raise Rejected(f"{field}: not an ISO 8601 date-time with a zone", code="invalid")
    return when


def as_day(value: Any, field: str) -> date:
    """A date written YYYY-MM-DD (or one already)."""
    if isinstance(value, date):
        return value
    try:
        return msgspec.convert(value, date)
    except msgspec.ValidationError as exc:
        raise Rejected(f"{field}: not a date (YYYY-MM-DD)", code="invalid") from exc


#: The conversion from wire form of the kinds a device sends as text.
_FROM_TEXT = {"uuid": as_uuid, "datetime": as_instant, "date": as_day}


def from_wire(table: Table, name: str, value: Any) -> Any:
    """`value` as the column `name` stores it (a UUID, an aware datetime or a date
    from its text), checked as `check_values` checks it."""
    kind = kinds(table).get(name)
    if value is None or kind is None:
        return value
    convert = _FROM_TEXT.get(kind[0])
    if convert is not None:
        return convert(value, name)
    _check(name, kind, value)
    return value
