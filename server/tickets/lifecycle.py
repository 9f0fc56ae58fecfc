"""A ticket's life (pure): which event moves it from which status to which.

open → assigned → fixed → verified → closed; a failed re-inspection (verify_fail)
sends a fixed ticket back to open; a callback (回访) on a closed ticket records
the requester's rating.
"""

from __future__ import annotations

EVENT_KINDS = frozenset({"assign", "fix", "verify_pass", "verify_fail", "close", "callback", "comment"})
RATINGS = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")

#: event kind → (statuses it applies to, status after; None = unchanged)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "assign": (frozenset({"open", "assigned"}), "assigned"),
    "fix": (frozenset({"assigned"}), "fixed"),
    "verify_pass": (frozenset({"fixed"}), "verified"),
    "verify_fail": (frozenset({"fixed"}), "open"),
    "close": (frozenset({"verified"}), "closed"),
    "callback": (frozenset({"closed"}), None),
    "comment": (frozenset({"open", "assigned", "fixed", "verified", "closed"}), None),
}


def next_status(current: str, kind: str) -> str | None:
    """The status after the event, or None when the event does not fit."""
    allowed, after = TRANSITIONS[kind]
    if current not in allowed:
        return None
    return after or current
