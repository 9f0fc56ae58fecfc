"""The condition language: declarative JSON, evaluated without ``eval``.

A condition is exactly one of

* ``{"item": KEY, "op": OP}`` or ``{"item": KEY, "op": OP, "value": V}`` — a test of one item,
* ``{"all": [c, …]}`` — every condition holds (non-empty list),
* ``{"any": [c, …]}`` — at least one holds (non-empty list),
* ``{"not": c}`` — c does not hold.

The evaluation rules are written out in ``docs/checklists.md`` (section
"Conditions") and pinned by ``condition_vectors.json``, which a JavaScript port
runs too; keep this module free of Python-only coercions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, TypeAlias, get_args

import msgspec
from msgspec import UNSET, UnsetType

Op: TypeAlias = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "answered",
    "not_answered",
    "failed",
    "passed",
]
OPS: tuple[str, ...] = get_args(Op)
#: Ops that take no ``value``.
UNARY_OPS = frozenset({"answered", "not_answered", "failed", "passed"})
#: Ops whose ``value`` is a list of values.
LIST_OPS = frozenset({"in", "not_in"})
#: Ops that order numbers and dates.
ORDER_OPS = frozenset({"gt", "gte", "lt", "lte"})

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # use fullmatch


class Condition(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """One node of a condition. Which fields are set decides its form; ``validate``
    rejects nodes that mix forms. ``value`` is UNSET when absent (``null`` is a value)."""

    item: str | None = None
    op: Op | None = None
    value: Any | UnsetType = UNSET
    all: tuple[Condition, ...] | None = None
    any: tuple[Condition, ...] | None = None
    not_: Condition | None = msgspec.field(default=None, name="not")


class Fact(NamedTuple):
    """What a condition can see of one item.

    ``value`` is the answer's value (``None`` when unanswered; for photo and
    signature items it is the answer's value too, which conditions never compare).
    ``outcome`` is ``"pass"``, ``"fail"``, ``"na"`` or ``None`` (unanswered, or an
    item that is never judged).
    """

    answered: bool
    value: Any
    outcome: str | None


NO_FACT = Fact(answered=False, value=None, outcome=None)


def evaluate(cond: Condition, facts: Mapping[str, Fact]) -> bool:
    """Evaluate ``cond`` against ``facts`` (item key → Fact). An item absent from
    ``facts`` (unknown, hidden, unanswered) is unanswered. Never raises on data."""
    if cond.all is not None:
        return all(evaluate(c, facts) for c in cond.all)
    if cond.any is not None:
        return any(evaluate(c, facts) for c in cond.any)
    if cond.not_ is not None:
        return not evaluate(cond.not_, facts)
    if cond.item is None or cond.op is None:
        return False
    fact = facts.get(cond.item, NO_FACT)
    op = cond.op
    if op == "answered":
        return fact.answered
    if op == "not_answered":
        return not fact.answered
    if op == "failed":
        return fact.outcome == "fail"
    if op == "passed":
        return fact.outcome == "pass"
    if not fact.answered:
        return False  # every comparison is false on an unanswered item
    value = None if cond.value is UNSET else cond.value
    return _compare(op, fact.value, value)


def _compare(op: str, answer: Any, value: Any) -> bool:
    if isinstance(answer, list):
        return _compare_list(op, answer, value)
    if op == "eq":
        return json_equal(answer, value)
    if op == "ne":
        return not json_equal(answer, value)
    if op == "in":
        return isinstance(value, list) and any(json_equal(answer, v) for v in value)
    if op == "not_in":
        return isinstance(value, list) and not any(json_equal(answer, v) for v in value)
    return _order(op, answer, value)


def _compare_list(op: str, selected: list[Any], value: Any) -> bool:
    """A list answer (multi_choice) is a set of keys: eq/ne test membership of one
    key, in/not_in test whether the set meets the given list; ordering is false."""
    if op == "eq":
        return any(json_equal(s, value) for s in selected)
    if op == "ne":
        return not any(json_equal(s, value) for s in selected)
    if op in LIST_OPS:
        if not isinstance(value, list):
            return False
        meets = any(json_equal(s, v) for s in selected for v in value)
        return meets if op == "in" else not meets
    return False


def is_number(x: Any) -> bool:
    """JSON numbers only: booleans are not numbers here (unlike Python's ``bool``)."""
    return isinstance(x, int | float) and not isinstance(x, bool)


def is_date(x: Any) -> bool:
    return isinstance(x, str) and DATE_RE.fullmatch(x) is not None


def is_real_date(x: Any) -> bool:
    """A date written YYYY-MM-DD that exists in the calendar (for validation)."""
    if not is_date(x):
        return False
    try:
        dt.date.fromisoformat(x)
    except ValueError:
        return False
    return True


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON scalars of the same type (numbers by value, 1 == 1.0);
    ``null``, lists and objects are never equal to anything."""
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    return False


def _order(op: str, a: Any, b: Any) -> bool:
    if not ((is_number(a) and is_number(b)) or (is_date(a) and is_date(b))):
        return False
    if op == "gt":
        return bool(a > b)
    if op == "gte":
        return bool(a >= b)
    if op == "lt":
        return bool(a < b)
    return bool(a <= b)


def referenced_items(cond: Condition) -> list[str]:
    """Every item key the condition mentions, in order of appearance."""
    if cond.all is not None or cond.any is not None:
        return [k for c in (cond.all or cond.any or ()) for k in referenced_items(c)]
    if cond.not_ is not None:
        return referenced_items(cond.not_)
    return [cond.item] if cond.item is not None else []
