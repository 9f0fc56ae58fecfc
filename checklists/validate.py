"""Template rules beyond types: keys, texts, bounds, choices, repeats, conditions.

``validate_template`` returns every problem found, each with a path from the
template root (``sections[2].items[5].visible_if.item: unknown item 'x'``);
``check_template`` raises ``TemplateInvalid`` when there is any.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from checklists.errors import Problem, TemplateInvalid
from checklists.index import TemplateIndex
from checklists.model import (
    KEY_RE,
    Choice,
    Item,
    LocationItem,
    MultiChoiceItem,
    NumberItem,
    Option,
    PhotoItem,
    Repeat,
    Section,
    SingleChoiceItem,
    Template,
    Text,
    can_fail,
    item_kind,
)
from checklists.validate_conditions import Scope, check_condition

MAX_TEXT = 2000
#: A template's title is stored beside its body (`template_versions.title_zh/_en`).
MAX_TITLE = 200
MAX_PHOTOS = 20


def check_template(template: Template) -> Template:
    problems = validate_template(template)
    if problems:
        raise TemplateInvalid(problems)
    return template


def validate_template(template: Template) -> list[Problem]:
    index = TemplateIndex(template)
    problems: list[Problem] = []
    problems += _key("key", template.key)
    if template.kind == "takeover_acceptance" and template.discipline is None:
        problems.append(Problem("discipline", "a takeover_acceptance template needs a discipline"))
    if template.kind != "takeover_acceptance" and template.discipline is not None:
        problems.append(
            Problem("discipline", f"only takeover_acceptance templates have a discipline, not {template.kind}")
        )
    problems += _text("title", template.title, max_len=MAX_TITLE)
    problems += _string("version", template.version, max_len=40)
    for i, basis in enumerate(template.basis):
        problems += _string(f"basis[{i}]", basis)
    if not template.sections:
        problems.append(Problem("sections", "a template needs at least one section"))
    section_keys: dict[str, str] = {}
    item_keys: dict[str, str] = {}
    order = 0
    for si, section in enumerate(template.sections):
        spath = f"sections[{si}]"
        problems += _unique_key(f"{spath}.key", section.key, section_keys, "section")
        problems += _section(section, spath, index, order)
        for ii, item in enumerate(section.items):
            ipath = f"{spath}.items[{ii}]"
            problems += _unique_key(f"{ipath}.key", item.key, item_keys, "item")
            problems += _item(item, ipath)
            if item.visible_if is not None:
                scope = Scope(order, section, for_section=False)
                problems += check_condition(item.visible_if, f"{ipath}.visible_if", index, scope)
            order += 1
    return problems


def _section(section: Section, path: str, index: TemplateIndex, first_order: int) -> list[Problem]:
    problems = _text(f"{path}.title", section.title)
    if section.guidance is not None:
        problems += _text(f"{path}.guidance", section.guidance)
    if not section.items:
        problems.append(Problem(f"{path}.items", "a section needs at least one item"))
    if section.repeat is not None:
        problems += _repeat(section.repeat, f"{path}.repeat")
    if section.visible_if is not None:
        scope = Scope(first_order, section, for_section=True)
        problems += check_condition(section.visible_if, f"{path}.visible_if", index, scope)
    return problems


def _repeat(repeat: Repeat, path: str) -> list[Problem]:
    problems = _text(f"{path}.instance_label", repeat.instance_label)
    ids: dict[str, str] = {}
    for i, inst in enumerate(repeat.instances):
        problems += _unique_key(f"{path}.instances[{i}].id", inst.id, ids, "instance id")
        problems += _text(f"{path}.instances[{i}].label", inst.label)
    if not repeat.instances and not repeat.allow_add:
        problems.append(Problem(path, "a repeatable section needs declared instances or allow_add"))
    if repeat.min_instances < 0:
        problems.append(Problem(f"{path}.min_instances", "must not be negative"))
    if repeat.max_instances is not None:
        if repeat.max_instances < max(repeat.min_instances, len(repeat.instances), 1):
            problems.append(
                Problem(
                    f"{path}.max_instances",
                    "must be at least 1, min_instances and the number of declared instances",
                )
            )
        if not repeat.allow_add:
            problems.append(Problem(f"{path}.max_instances", "only meaningful with allow_add"))
    if not repeat.allow_add and repeat.min_instances > len(repeat.instances):
        problems.append(Problem(f"{path}.min_instances", "more than the declared instances and allow_add is off"))
    return problems


def _item(item: Item, path: str) -> list[Problem]:
    problems = _text(f"{path}.label", item.label)
    if item.guidance is not None:
        problems += _text(f"{path}.guidance", item.guidance)
    if item.standard is not None:
        problems += _string(f"{path}.standard", item.standard)
    if not can_fail(item):
        for name in ("photo_on_fail", "note_on_fail"):
            if getattr(item, name):
                problems.append(Problem(f"{path}.{name}", f"this {item_kind(item)} item can never fail"))
    if isinstance(item, NumberItem):
        problems += _number(item, path)
    elif isinstance(item, SingleChoiceItem | MultiChoiceItem):
        least = 2 if isinstance(item, SingleChoiceItem) else 1
        problems += _choices(item.choices, f"{path}.choices", least)
    elif isinstance(item, LocationItem):
        problems += _choices(item.options, f"{path}.options", 1)
    elif isinstance(item, PhotoItem) and not 1 <= item.min_photos <= MAX_PHOTOS:
        problems.append(Problem(f"{path}.min_photos", f"must be between 1 and {MAX_PHOTOS}"))
    return problems


def _number(item: NumberItem, path: str) -> list[Problem]:
    problems: list[Problem] = []
    if item.unit:
        problems += _string(f"{path}.unit", item.unit, max_len=20)
    for name in ("min", "max"):
        bound = getattr(item, name)
        if bound is not None and not _spreadsheet_safe(bound):
            problems.append(
                Problem(f"{path}.{name}", "must be a finite number of at most 15 significant digits, not -0")
            )
    if item.min is not None and item.max is not None and item.min > item.max:
        problems.append(Problem(f"{path}.min", f"min {item.min:g} is greater than max {item.max:g}"))
    return problems


def _spreadsheet_safe(x: float) -> bool:
    """Spreadsheets keep 15 significant digits; bounds must survive the trip."""
    if not math.isfinite(x) or (x == 0 and math.copysign(1.0, x) < 0):
        return False
    return float(f"{x:.15g}") == x


def _choices(choices: Sequence[Choice | Option], path: str, least: int) -> list[Problem]:
    problems: list[Problem] = []
    if len(choices) < least:
        problems.append(Problem(path, f"needs at least {least}"))
    keys: dict[str, str] = {}
    for i, choice in enumerate(choices):
        problems += _unique_key(f"{path}[{i}].key", choice.key, keys, "key")
        problems += _text(f"{path}[{i}].label", choice.label)
    return problems


def _unique_key(path: str, key: str, seen: dict[str, str], what: str) -> list[Problem]:
    problems = _key(path, key)
    if key in seen:
        problems.append(Problem(path, f"duplicate {what} '{key}' (first at {seen[key]})"))
    else:
        seen[key] = path.rsplit(".", 1)[0]
    return problems


def _key(path: str, key: str) -> list[Problem]:
    if KEY_RE.fullmatch(key):
        return []
    return [Problem(path, f"'{key}' is not a valid key (a-z first, then a-z, 0-9 or _, at most 64)")]


def _text(path: str, text: Text, max_len: int = MAX_TEXT) -> list[Problem]:
    problems = _string(f"{path}.zh", text.zh, max_len)
    if text.en:
        problems += _string(f"{path}.en", text.en, max_len)
    return problems


def _string(path: str, value: str, max_len: int = MAX_TEXT) -> list[Problem]:
    if not value.strip():
        return [Problem(path, "must not be empty")]
    if len(value) > max_len:
        return [Problem(path, f"longer than {max_len} characters")]
    bad = next((c for c in value if _forbidden(c)), None)
    if bad is not None:
        return [Problem(path, f"contains the control character U+{ord(bad):04X}")]
    return []


def _forbidden(c: str) -> bool:
    code = ord(c)
    return (code < 32 and c not in "\n\t") or code == 0x7F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF)
