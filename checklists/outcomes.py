"""What one answer means for one item: answered or not, and pass / fail / N/A.

Shared by the judge and the condition test vectors (and mirrored by the PWA).
"""

from __future__ import annotations

from checklists.answers import Answer, is_blank
from checklists.conditions import Fact, is_number
from checklists.model import (
    Item,
    MultiChoiceItem,
    NumberItem,
    PassFailItem,
    PhotoItem,
    SignatureItem,
    SingleChoiceItem,
    can_fail,
)


def is_answered(item: Item, answer: Answer | None) -> bool:
    """Photo and signature items are answered by their photos; every other kind by
    a value that is not blank."""
    if answer is None:
        return False
    if isinstance(item, PhotoItem | SignatureItem):
        return len(answer.photos) > 0
    return not is_blank(answer.value)


def outcome(item: Item, answer: Answer | None) -> str | None:
    """``"pass"``, ``"fail"``, ``"na"``, or ``None`` when unanswered or never judged.
    Assumes the answer has been validated against the item."""
    if not is_answered(item, answer) or not can_fail(item):
        return None
    assert answer is not None
    value = answer.value
    if isinstance(item, PassFailItem):
        return value if value in ("pass", "fail", "na") else None
    if isinstance(item, NumberItem):
        if not is_number(value):
            return None
        too_low = item.min is not None and value < item.min
        too_high = item.max is not None and value > item.max
        return "fail" if too_low or too_high else "pass"
    if isinstance(item, SingleChoiceItem | MultiChoiceItem):
        chosen = value if isinstance(value, list) else [value]
        failing = {c.key for c in item.choices if c.fails}
        return "fail" if any(k in failing for k in chosen) else "pass"
    return None


def fact(item: Item, answer: Answer | None) -> Fact:
    """The Fact a condition sees for this item and answer."""
    answered = is_answered(item, answer)
    value = answer.value if answered and answer is not None else None
    return Fact(answered=answered, value=value, outcome=outcome(item, answer))
