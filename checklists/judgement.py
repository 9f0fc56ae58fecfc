"""What ``judge`` returns: completeness, what is missing, the failures, the scores.

Addresses (``path``) name an answer, not a place in the submitted JSON: ``item`` in
an ordinary section, ``section/instance/item`` in a repeatable one, ``section`` for
a problem with the section itself (too few instances).
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

from checklists.model import Responsible, Severity, Text

MissingReason: TypeAlias = Literal["required", "min_photos", "photo_on_fail", "note_on_fail", "min_instances"]


class Missing(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    reason: MissingReason
    section: str
    instance: str | None = None
    item: str | None = None


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    section: str
    instance: str | None
    item: str
    label: Text
    value: Any
    severity: Severity
    responsible: Responsible | None
    note: str
    photos: tuple[str, ...]
    standard: str | None


class Score(msgspec.Struct, kw_only=True):
    """Counts of judged items (those that can fail) that are visible. ``rate`` is
    passed / (passed + failed), N/A and unanswered left out; None when nothing
    was passed or failed."""

    passed: int = 0
    failed: int = 0
    na: int = 0
    unanswered: int = 0
    rate: float | None = None

    def add(self, other: Score) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.na += other.na
        self.unanswered += other.unanswered
        self.close()

    def close(self) -> None:
        judged = self.passed + self.failed
        self.rate = self.passed / judged if judged else None


class InstanceScore(msgspec.Struct, kw_only=True):
    id: str
    label: str
    declared: bool
    score: Score


class SectionScore(msgspec.Struct, kw_only=True):
    section: str
    visible: bool
    score: Score
    instances: list[InstanceScore] = []


class Judgement(msgspec.Struct, kw_only=True):
    template_key: str
    template_hash: str
    complete: bool
    missing: list[Missing]
    failures: list[Failure]
    sections: list[SectionScore]
    overall: Score
