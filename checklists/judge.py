"""Judging a set of answers against one template version.

Rules (also in docs/checklists.md, "Judging"):

1. Answers are validated first; bad answers raise AnswersInvalid.
2. Sections and items are visited in document order. A section whose ``visible_if``
   is false hides all its items; an item whose ``visible_if`` is false is hidden.
   Hidden items are neither required nor judged, and conditions after them see
   them as unanswered.
3. A visible required item without an answer is missing (``required``); a required
   photo item with fewer than ``min_photos`` photos is missing (``min_photos``).
4. A failed item is a failure, with the answer's severity / responsible party or
   else the item's defaults; it is missing its photo (``photo_on_fail``) or note
   (``note_on_fail``) when the item asks for one and the answer has none.
5. A visible repeatable section has its declared instances plus the free ones
   answered; fewer than ``min_instances`` is missing (``min_instances``).
6. Scores count visible judged items (those that can fail): rate = passed /
   (passed + failed), N/A excluded; per instance, per section and overall.
7. ``complete`` is true when nothing is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checklists.answers import Answer, Answers, InstanceAnswers, address, parse_answers
from checklists.conditions import Fact, evaluate
from checklists.judgement import Failure, InstanceScore, Judgement, Missing, Score, SectionScore
from checklists.model import Item, PhotoItem, Section, Template, can_fail
from checklists.outcomes import fact
from checklists.versions import content_hash


class _Run:
    def __init__(self) -> None:
        self.missing: list[Missing] = []
        self.failures: list[Failure] = []


def judge(template: Template, answers: Answers | Mapping[str, Any] | bytes | str) -> Judgement:
    """Judge ``answers`` against ``template`` (a specific, published version)."""
    parsed = parse_answers(template, answers)
    run = _Run()
    top: dict[str, Fact] = {}
    sections: list[SectionScore] = []
    overall = Score()
    for section in template.sections:
        visible = section.visible_if is None or evaluate(section.visible_if, top)
        if section.repeat is None:
            score = Score()
            if visible:
                _items(section, None, parsed.answers, top, score, run)
            result = SectionScore(section=section.key, visible=visible, score=score)
        else:
            result = _repeatable(section, visible, parsed, top, run)
        result.score.close()
        overall.add(result.score)
        sections.append(result)
    overall.close()
    return Judgement(
        template_key=template.key,
        template_hash=content_hash(template),
        complete=not run.missing,
        missing=run.missing,
        failures=run.failures,
        sections=sections,
        overall=overall,
    )


def _repeatable(section: Section, visible: bool, answers: Answers, top: dict[str, Fact], run: _Run) -> SectionScore:
    repeat = section.repeat
    assert repeat is not None
    result = SectionScore(section=section.key, visible=visible, score=Score())
    if not visible:
        return result
    given = {inst.id: inst for inst in answers.instances.get(section.key, [])}
    ordered: list[tuple[str, str, bool, InstanceAnswers | None]] = [
        (d.id, d.label.zh, True, given.get(d.id)) for d in repeat.instances
    ]
    declared = {d.id for d in repeat.instances}
    ordered += [(i.id, i.label, False, i) for i in given.values() if i.id not in declared]
    if len(ordered) < repeat.min_instances:
        run.missing.append(Missing(path=section.key, reason="min_instances", section=section.key))
    for inst_id, label, is_declared, inst in ordered:
        score = Score()
        facts = dict(top)  # the instance sees the ordinary items and its own answers
        own = inst.answers if inst is not None else {}
        _items(section, inst_id, own, facts, score, run)
        score.close()
        result.score.add(score)
        result.instances.append(InstanceScore(id=inst_id, label=label, declared=is_declared, score=score))
    return result


def _items(
    section: Section,
    instance: str | None,
    answers: Mapping[str, Answer],
    facts: dict[str, Fact],
    score: Score,
    run: _Run,
) -> None:
    for item in section.items:
        if item.visible_if is not None and not evaluate(item.visible_if, facts):
            continue
        answer = answers.get(item.key)
        facts[item.key] = fact(item, answer)
        _item(section, instance, item, answer, facts[item.key], score, run)


def _item(
    section: Section,
    instance: str | None,
    item: Item,
    answer: Answer | None,
    seen: Fact,
    score: Score,
    run: _Run,
) -> None:
    path = address(item.key, section.key, instance)

    def missing(reason: Any) -> None:
        run.missing.append(Missing(path=path, reason=reason, section=section.key, instance=instance, item=item.key))

    if not seen.answered:
        if item.required:
            missing("required")
        if can_fail(item):
            score.unanswered += 1
        return
    assert answer is not None
    if isinstance(item, PhotoItem) and item.required and len(answer.photos) < item.min_photos:
        missing("min_photos")
    if seen.outcome == "pass":
        score.passed += 1
    elif seen.outcome == "na":
        score.na += 1
    elif seen.outcome == "fail":
        score.failed += 1
        run.failures.append(
            Failure(
                path=path,
                section=section.key,
                instance=instance,
                item=item.key,
                label=item.label,
                value=answer.value,
                severity=answer.severity or item.severity,
                responsible=answer.responsible or item.responsible,
                note=answer.note,
                photos=tuple(answer.photos),
                standard=item.standard,
            )
        )
        if item.photo_on_fail and not answer.photos:
            missing("photo_on_fail")
        if item.note_on_fail and not answer.note.strip():
            missing("note_on_fail")
