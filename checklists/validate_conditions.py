"""Static checks of ``visible_if`` conditions against the template they sit in.

A condition may only look at items that come *before* what it decides (so a form
filled top to bottom never depends on what is below, and there are no cycles). An
item inside a repeatable section can only be referenced by items of that same
section, and then means the answer in the same instance.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from checklists.conditions import LIST_OPS, ORDER_OPS, UNARY_OPS, Condition, is_number, is_real_date
from checklists.errors import Problem
from checklists.index import TemplateIndex
from checklists.model import (
    DateItem,
    Item,
    LocationItem,
    MultiChoiceItem,
    NumberItem,
    PassFailItem,
    PhotoItem,
    Section,
    SignatureItem,
    SingleChoiceItem,
    TextItem,
    can_fail,
    item_kind,
)

MAX_DEPTH = 16


class Scope:
    """Where a condition sits: before document position ``order``, inside
    ``section`` (the section it decides, or the section of the item it decides)."""

    def __init__(self, order: int, section: Section, for_section: bool) -> None:
        self.order = order
        self.section = section
        self.for_section = for_section


def check_condition(cond: Condition, path: str, index: TemplateIndex, scope: Scope, depth: int = 0) -> list[Problem]:
    if depth > MAX_DEPTH:
        return [Problem(path, f"conditions nest deeper than {MAX_DEPTH} levels")]
    forms = [
        cond.item is not None or cond.op is not None or cond.value is not UNSET,
        cond.all is not None,
        cond.any is not None,
        cond.not_ is not None,
    ]
    if sum(forms) != 1:
        return [Problem(path, "a condition needs exactly one of: item/op/value, all, any, not")]
    if cond.all is not None or cond.any is not None:
        name, parts = ("all", cond.all) if cond.all is not None else ("any", cond.any)
        assert parts is not None
        if not parts:
            return [Problem(f"{path}.{name}", f"'{name}' needs at least one condition")]
        return [
            p
            for i, part in enumerate(parts)
            for p in check_condition(part, f"{path}.{name}[{i}]", index, scope, depth + 1)
        ]
    if cond.not_ is not None:
        return check_condition(cond.not_, f"{path}.not", index, scope, depth + 1)
    return _check_leaf(cond, path, index, scope)


def _check_leaf(cond: Condition, path: str, index: TemplateIndex, scope: Scope) -> list[Problem]:
    if cond.item is None:
        return [Problem(f"{path}.item", "missing 'item'")]
    if cond.op is None:
        return [Problem(f"{path}.op", "missing 'op'")]
    ref = index.items.get(cond.item)
    if ref is None:
        return [Problem(f"{path}.item", f"unknown item '{cond.item}'")]
    if ref.order >= scope.order:
        return [Problem(f"{path}.item", f"item '{cond.item}' must come before what the condition decides")]
    if ref.section.repeat is not None and (scope.for_section or ref.section.key != scope.section.key):
        return [
            Problem(
                f"{path}.item",
                f"item '{cond.item}' is inside repeatable section '{ref.section.key}' and can only be "
                "referenced by items of that section",
            )
        ]
    return _check_op(cond, path, ref.item)


def _check_op(cond: Condition, path: str, item: Item) -> list[Problem]:
    op = cond.op
    kind = item_kind(item)
    if op in UNARY_OPS:
        if cond.value is not UNSET:
            return [Problem(f"{path}.value", f"op '{op}' takes no value")]
        if op in ("failed", "passed") and not can_fail(item):
            return [Problem(f"{path}.op", f"op '{op}': item '{item.key}' ({kind}) can never fail")]
        return []
    if cond.value is UNSET:
        return [Problem(f"{path}.value", f"op '{op}' needs a value")]
    if isinstance(item, PhotoItem | SignatureItem):
        return [Problem(f"{path}.op", f"op '{op}' cannot test a {kind} item; use answered / not_answered")]
    if op in ORDER_OPS:
        if isinstance(item, NumberItem):
            ok = is_number(cond.value)
        elif isinstance(item, DateItem):
            ok = is_real_date(cond.value)
        else:
            return [Problem(f"{path}.op", f"op '{op}' needs a number or date item, not {kind}")]
        return [] if ok else [Problem(f"{path}.value", f"op '{op}' on a {kind} item needs a {kind} value")]
    if op in LIST_OPS:
        if not isinstance(cond.value, list) or not cond.value:
            return [Problem(f"{path}.value", f"op '{op}' needs a non-empty list of values")]
        return [
            Problem(f"{path}.value[{i}]", reason)
            for i, v in enumerate(cond.value)
            if (reason := value_problem(item, v)) is not None
        ]
    reason = value_problem(item, cond.value)
    return [] if reason is None else [Problem(f"{path}.value", reason)]


def value_problem(item: Item, value: Any) -> str | None:
    """Why ``value`` can never equal an answer of ``item`` (None when it can)."""
    if isinstance(item, PassFailItem):
        allowed = ["pass", "fail", "na"] if item.allow_na else ["pass", "fail"]
        return None if isinstance(value, str) and value in allowed else f"expected one of {allowed}"
    if isinstance(item, NumberItem):
        return None if is_number(value) else "expected a number"
    if isinstance(item, TextItem):
        return None if isinstance(value, str) else "expected a string"
    if isinstance(item, SingleChoiceItem | MultiChoiceItem):
        keys = [c.key for c in item.choices]
        return None if isinstance(value, str) and value in keys else f"unknown choice {value!r}; expected one of {keys}"
    if isinstance(item, LocationItem):
        keys = [o.key for o in item.options]
        if isinstance(value, str) and (item.allow_other or value in keys):
            return None
        return f"unknown option {value!r}; expected one of {keys}"
    if isinstance(item, DateItem):
        return None if is_real_date(value) else "expected a date written YYYY-MM-DD"
    return f"cannot compare a {item_kind(item)} item"
