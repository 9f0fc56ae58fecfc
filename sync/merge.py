"""Merge rules per field (pure). See docs/sync-protocol.md §Merge.

Three-way: the device says which value it last saw (`base`). If the server's
current value still equals the base, the device's edit is simply applied. If not,
someone else changed the field meanwhile: a real conflict, settled by the field's
rule and always recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MISSING: Any = object()


class Rule(StrEnum):
    #: Latest received wins; a concurrent change is recorded as a conflict.
    latest = "latest"
    #: A failing answer beats a passing one (the defect is kept, the item flagged).
    fail_wins = "fail_wins"
    #: A set (photo ids): a stale device can add, never remove.
    add_wins_set = "add_wins_set"
    #: Free text (notes): concurrent texts are both kept.
    add_wins_text = "add_wins_text"
    #: Set when the record is created; later changes are refused.
    immutable = "immutable"


@dataclass(frozen=True)
class FieldRule:
    rule: Rule = Rule.latest
    #: For fail_wins: does this value (in this record) count as a failure?
    is_failure: Callable[[dict[str, Any], Any], bool] | None = None


@dataclass(frozen=True)
class Outcome:
    value: Any
    #: A real conflict happened (both values differ from the base and each other).
    conflict: bool = False
    #: The merged value needs a human look (e.g. a pass overridden by a fail).
    flag: bool = False
    kind: str = ""


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else ([] if value in (None, MISSING) else [value])


def merge_set(current: Any, incoming: Any, base: Any) -> Outcome:
    cur, new = _as_list(current), _as_list(incoming)
    if base is MISSING or _as_list(base) == cur:
        # Up to date: the device's list is the truth (removals included).
        return Outcome(new)
    base_l = _as_list(base)
    added = [x for x in new if x not in base_l and x not in cur]
    merged = cur + added
    removed_stale = [x for x in base_l if x not in new and x in cur]
    return Outcome(merged, conflict=bool(removed_stale) or merged != new, kind="set_merge")


def merge_text(current: Any, incoming: Any, base: Any) -> Outcome:
    cur = current or ""
    new = incoming or ""
    if base is MISSING or (base or "") == cur or cur == new:
        return Outcome(new)
    if not new:
        # A stale device cleared the note: nothing is deleted by a stale device.
        return Outcome(cur, conflict=True, kind="text_kept")
    if new in cur:
        return Outcome(cur)
    if cur in new:
        return Outcome(new)
    return Outcome(f"{cur}\n—\n{new}" if cur else new, conflict=True, kind="text_merge")


def merge_field(rule: FieldRule, record: dict[str, Any], current: Any, incoming: Any, base: Any) -> Outcome:
    """Merge one field. `base` is MISSING when the device sent none (a field it
    creates, or a client that sends no base): the device is then taken to be up to date."""
    if current == incoming:
        return Outcome(incoming)
    if rule.rule is Rule.add_wins_set:
        return merge_set(current, incoming, base)
    if rule.rule is Rule.add_wins_text:
        return merge_text(current, incoming, base)
    stale = base is not MISSING and base != current
    if rule.rule is Rule.fail_wins and base is MISSING and current is not None:
        # Without a base a device cannot show it saw a recorded
        # failure, so it cannot clear one silently.
        stale = True
    if not stale:
        # The device saw the current value and changed it on purpose (a correction
        # of a failure included).
        return Outcome(incoming)
    if rule.rule is Rule.fail_wins and rule.is_failure is not None:
        cur_fail = current is not None and rule.is_failure(record, current)
        new_fail = incoming is not None and rule.is_failure(record, incoming)
        if cur_fail and not new_fail:
            # A recorded failure is never silently replaced by a pass: kept, flagged.
            return Outcome(current, conflict=True, flag=True, kind="failure_kept")
        if new_fail and not cur_fail:
            return Outcome(incoming, conflict=True, flag=True, kind="failure_wins")
        if new_fail and cur_fail:
            return Outcome(incoming, conflict=True, flag=True, kind="latest_failure")
    return Outcome(incoming, conflict=True, kind="latest_wins")
