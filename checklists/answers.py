"""The shape of a filled-in checklist, and its validation against a template.

```json
{
  "answers":   {"item_key": {"value": …, "note": "…", "photos": ["media-id"], "severity": "serious"}},
  "instances": {"section_key": [{"id": "r1", "label": "主卧", "answers": {"item_key": {…}}}]}
}
```

Items of ordinary sections are answered under ``answers``; items of repeatable
sections under ``instances[section_key][i].answers``. Media ids (photos and
signature images) always live in ``photos``; ``value`` never holds a media id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import msgspec

from checklists.conditions import is_number, is_real_date
from checklists.errors import AnswersInvalid, Problem
from checklists.index import TemplateIndex
from checklists.model import (
    KEY_RE,
    DateItem,
    Item,
    LocationItem,
    MultiChoiceItem,
    NumberItem,
    PassFailItem,
    PhotoItem,
    Responsible,
    Severity,
    SignatureItem,
    SingleChoiceItem,
    Template,
    TextItem,
)

MAX_INSTANCE_ID = 100


class Answer(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """One item's answer. ``severity`` / ``responsible`` override the template's
    defaults when the item fails."""

    value: Any = None
    note: str = ""
    photos: list[str] = []
    severity: Severity | None = None
    responsible: Responsible | None = None


class InstanceAnswers(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """One instance of a repeatable section. ``id`` is a declared instance id or,
    for a free instance, an id the client makes (a uuid, a checkpoint id)."""

    id: str
    label: str = ""
    answers: dict[str, Answer] = {}


class Answers(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    answers: dict[str, Answer] = {}
    instances: dict[str, list[InstanceAnswers]] = {}


def is_blank(value: Any) -> bool:
    """``null``, ``""`` and ``[]`` are no answer at all."""
    return value is None or value == "" or (isinstance(value, list) and len(value) == 0)


def key_path(prefix: str, key: str) -> str:
    """``answers.k``, or ``answers["odd key"]`` when the key is not a plain key."""
    if KEY_RE.fullmatch(key):
        return f"{prefix}.{key}"
    return f"{prefix}[{json.dumps(key, ensure_ascii=False)}]"


def msgspec_problem(exc: msgspec.ValidationError | msgspec.DecodeError) -> Problem:
    """Turn msgspec's ``"Expected `str`, got `int` - at `$.a.b`"`` into a Problem."""
    text = str(exc)
    path = "$"
    marker = " - at `$"
    if isinstance(exc, msgspec.ValidationError) and marker in text:
        text, _, rest = text.rpartition(marker)
        path = rest.rstrip("`").lstrip(".") or "$"
    if text.startswith("Object contains unknown field `"):
        field = text.removeprefix("Object contains unknown field `").rstrip("`")
        path = field if path == "$" else f"{path}.{field}"
        text = f"unknown field '{field}'"
    return Problem(path, text)


class _LooseAnswers(msgspec.Struct, forbid_unknown_fields=True):
    answers: dict[str, Any] = {}
    instances: dict[str, list[Any]] = {}


class _LooseInstance(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    label: str = ""
    answers: dict[str, Any] = {}


def _at(prefix: str, problem: Problem) -> Problem:
    if problem.path == "$":
        return Problem(prefix, problem.message)
    joiner = "" if problem.path.startswith("[") else "."
    return Problem(f"{prefix}{joiner}{problem.path}", problem.message)


def decode_answers(raw: Mapping[str, Any] | bytes | str) -> Answers:
    """Decode answers from JSON text or builtins, reporting every shape error with
    its path (msgspec alone would stop at the first and hide dict keys)."""
    if isinstance(raw, bytes | str):
        try:
            raw = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise AnswersInvalid([Problem("$", str(exc))]) from None
    try:
        loose = msgspec.convert(raw, _LooseAnswers)
    except msgspec.ValidationError as exc:
        raise AnswersInvalid([msgspec_problem(exc)]) from None
    problems: list[Problem] = []

    def answer_map(prefix: str, values: dict[str, Any]) -> dict[str, Answer]:
        out: dict[str, Answer] = {}
        for key, value in values.items():
            try:
                out[key] = msgspec.convert(value, Answer)
            except msgspec.ValidationError as exc:
                problems.append(_at(key_path(prefix, key), msgspec_problem(exc)))
        return out

    answers = answer_map("answers", loose.answers)
    instances: dict[str, list[InstanceAnswers]] = {}
    for section_key, items in loose.instances.items():
        converted: list[InstanceAnswers] = []
        for i, value in enumerate(items):
            ipath = f"{key_path('instances', section_key)}[{i}]"
            try:
                inst = msgspec.convert(value, _LooseInstance)
            except msgspec.ValidationError as exc:
                problems.append(_at(ipath, msgspec_problem(exc)))
                continue
            own = answer_map(f"{ipath}.answers", inst.answers)
            converted.append(InstanceAnswers(id=inst.id, label=inst.label, answers=own))
        instances[section_key] = converted
    if problems:
        raise AnswersInvalid(problems)
    return Answers(answers=answers, instances=instances)


def parse_answers(template: Template, raw: Answers | Mapping[str, Any] | bytes | str) -> Answers:
    """Decode (if needed) and validate answers against ``template``; raise
    AnswersInvalid listing every problem."""
    answers = raw if isinstance(raw, Answers) else decode_answers(raw)
    problems = check_answers(template, answers)
    if problems:
        raise AnswersInvalid(problems)
    return answers


def check_answers(template: Template, answers: Answers) -> list[Problem]:
    index = TemplateIndex(template)
    problems: list[Problem] = []
    for key, answer in answers.answers.items():
        path = key_path("answers", key)
        ref = index.items.get(key)
        if ref is None:
            problems.append(Problem(path, f"unknown item '{key}'"))
        elif ref.section.repeat is not None:
            problems.append(
                Problem(
                    path,
                    f"item '{key}' belongs to repeatable section '{ref.section.key}'; "
                    f"answer it under instances.{ref.section.key}",
                )
            )
        else:
            problems.extend(check_answer(ref.item, answer, path))
    for section_key, instances in answers.instances.items():
        problems.extend(_check_instances(index, section_key, instances))
    return problems


def _check_instances(index: TemplateIndex, section_key: str, instances: list[InstanceAnswers]) -> list[Problem]:
    spath = key_path("instances", section_key)
    found = index.sections.get(section_key)
    if found is None:
        return [Problem(spath, f"unknown section '{section_key}'")]
    section = found[1]
    repeat = section.repeat
    if repeat is None:
        return [Problem(spath, f"section '{section_key}' is not repeatable")]
    problems: list[Problem] = []
    declared = {inst.id for inst in repeat.instances}
    own = {item.key for item in section.items}
    seen: set[str] = set()
    for i, inst in enumerate(instances):
        ipath = f"{spath}[{i}]"
        if not inst.id or len(inst.id) > MAX_INSTANCE_ID or "/" in inst.id:
            problems.append(Problem(f"{ipath}.id", f"instance id must be 1-{MAX_INSTANCE_ID} characters, no '/'"))
        elif inst.id in seen:
            problems.append(Problem(f"{ipath}.id", f"duplicate instance id '{inst.id}'"))
        elif inst.id not in declared and not repeat.allow_add:
            problems.append(
                Problem(f"{ipath}.id", f"'{inst.id}' is not a declared instance and the section allows no others")
            )
        seen.add(inst.id)
        for key, answer in inst.answers.items():
            path = key_path(f"{ipath}.answers", key)
            if key not in own:
                ref = index.items.get(key)
                where = f" (it is in section '{ref.section.key}')" if ref is not None else ""
                problems.append(Problem(path, f"unknown item '{key}' for section '{section_key}'{where}"))
                continue
            problems.extend(check_answer(index.items[key].item, answer, path))
    total = len(declared | seen)
    if repeat.max_instances is not None and total > repeat.max_instances:
        problems.append(Problem(spath, f"at most {repeat.max_instances} instance(s) allowed, got {total}"))
    return problems


def check_answer(item: Item, answer: Answer, path: str) -> list[Problem]:
    """Problems with one answer to one item (``path`` points at the answer)."""
    problems: list[Problem] = []
    reason = _value_problem(item, answer.value)
    if reason is not None:
        problems.append(Problem(f"{path}.value", reason))
    seen: set[str] = set()
    for i, photo in enumerate(answer.photos):
        if not photo:
            problems.append(Problem(f"{path}.photos[{i}]", "photo id must not be empty"))
        elif photo in seen:
            problems.append(Problem(f"{path}.photos[{i}]", f"duplicate photo id '{photo}'"))
        seen.add(photo)
    return problems


def _value_problem(item: Item, value: Any) -> str | None:
    if is_blank(value):
        return None  # blank: no answer
    if isinstance(item, PassFailItem):
        allowed = ["pass", "fail", "na"] if item.allow_na else ["pass", "fail"]
        return None if value in allowed and isinstance(value, str) else f"expected one of {allowed}"
    if isinstance(item, NumberItem):
        if not is_number(value) or not math.isfinite(value):
            return "expected a number"
        return None
    if isinstance(item, TextItem):
        return None if isinstance(value, str) else "expected a string"
    if isinstance(item, SingleChoiceItem):
        keys = [c.key for c in item.choices]
        return None if isinstance(value, str) and value in keys else f"expected one of {keys}"
    if isinstance(item, MultiChoiceItem):
        return _multi_problem(item, value)
    if isinstance(item, PhotoItem):
        return "a photo item takes no value; put media ids in 'photos'"
    if isinstance(item, SignatureItem):
        return None if isinstance(value, str) else "expected the signer's name (a string)"
    if isinstance(item, LocationItem):
        keys = [o.key for o in item.options]
        if not isinstance(value, str):
            return "expected a string"
        return None if item.allow_other or value in keys else f"expected one of {keys}"
    if isinstance(item, DateItem):
        return None if is_real_date(value) else "expected a date written YYYY-MM-DD"
    return "unsupported item kind"  # pragma: no cover - every kind is handled above


def _multi_problem(item: MultiChoiceItem, value: Any) -> str | None:
    keys = [c.key for c in item.choices]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "expected a list of choice keys"
    unknown = [v for v in value if v not in keys]
    if unknown:
        return f"unknown choice(s) {unknown}; expected keys from {keys}"
    if len(set(value)) != len(value):
        return "choice keys must not repeat"
    return None


def address(item_key: str, section_key: str | None = None, instance_id: str | None = None) -> str:
    """The stable address of an answer: ``item`` in an ordinary section,
    ``section/instance/item`` inside a repeatable one."""
    if section_key is None or instance_id is None:
        return item_key
    return f"{section_key}/{instance_id}/{item_key}"
