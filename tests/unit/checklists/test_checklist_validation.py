"""Template rules beyond types, each problem with its path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from checklists import Template, TemplateInvalid, check_template, validate_template

Edit = Callable[[dict[str, Any]], None]


def problems_after(small_dict: dict[str, Any], edit: Edit) -> list[str]:
    raw = copy.deepcopy(small_dict)
    edit(raw)
    template = msgspec.convert(raw, Template)
    return [str(p) for p in validate_template(template)]


def items(raw: dict[str, Any], section: int = 0) -> list[dict[str, Any]]:
    return raw["sections"][section]["items"]  # type: ignore[no-any-return]


def test_the_small_template_is_valid(small: Template) -> None:
    assert validate_template(small) == []
    assert check_template(small) is small


CASES: list[tuple[str, Edit, str]] = [
    (
        "unknown item in a condition",
        lambda r: items(r)[5].update(visible_if={"item": "x", "op": "answered"}),
        "sections[0].items[5].visible_if.item: unknown item 'x'",
    ),
    (
        "a condition must look backwards",
        lambda r: items(r)[2].update(visible_if={"item": "remark", "op": "answered"}),
        "sections[0].items[2].visible_if.item: item 'remark' must come before what the condition decides",
    ),
    (
        "an item cannot depend on itself",
        lambda r: items(r)[2].update(visible_if={"item": "door", "op": "answered"}),
        "sections[0].items[2].visible_if.item: item 'door' must come before what the condition decides",
    ),
    (
        "repeatable items are out of reach from outside their section",
        lambda r: r["sections"][3].update(visible_if={"item": "room", "op": "answered"}),
        "sections[3].visible_if.item: item 'room' is inside repeatable section 'rooms' and can only be "
        "referenced by items of that section",
    ),
    (
        "nested condition paths",
        lambda r: items(r)[5].update(
            visible_if={
                "all": [{"item": "door", "op": "answered"}, {"not": {"item": "heating", "op": "eq", "value": "gas"}}]
            }
        ),
        "sections[0].items[5].visible_if.all[1].not.value: unknown choice 'gas'; expected one of ['none', 'radiator']",
    ),
    (
        "mixed condition forms",
        lambda r: items(r)[5].update(
            visible_if={"item": "door", "op": "answered", "all": [{"item": "day", "op": "answered"}]}
        ),
        "sections[0].items[5].visible_if: a condition needs exactly one of: item/op/value, all, any, not",
    ),
    (
        "empty any",
        lambda r: items(r)[5].update(visible_if={"any": []}),
        "sections[0].items[5].visible_if.any: 'any' needs at least one condition",
    ),
    (
        "unary op with a value",
        lambda r: items(r)[5].update(visible_if={"item": "door", "op": "answered", "value": True}),
        "sections[0].items[5].visible_if.value: op 'answered' takes no value",
    ),
    (
        "comparison without value",
        lambda r: items(r)[5].update(visible_if={"item": "door", "op": "eq"}),
        "sections[0].items[5].visible_if.value: op 'eq' needs a value",
    ),
    (
        "missing op",
        lambda r: items(r)[5].update(visible_if={"item": "door"}),
        "sections[0].items[5].visible_if.op: missing 'op'",
    ),
    (
        "failed on an item that cannot fail",
        lambda r: items(r)[5].update(visible_if={"item": "heating", "op": "failed"}),
        "sections[0].items[5].visible_if.op: op 'failed': item 'heating' (single_choice) can never fail",
    ),
    (
        "ordering a choice",
        lambda r: items(r)[5].update(visible_if={"item": "heating", "op": "gt", "value": 1}),
        "sections[0].items[5].visible_if.op: op 'gt' needs a number or date item, not single_choice",
    ),
    (
        "ordering a number with a string",
        lambda r: items(r)[5].update(visible_if={"item": "flatness", "op": "gt", "value": "3"}),
        "sections[0].items[5].visible_if.value: op 'gt' on a number item needs a number value",
    ),
    (
        "in needs a list",
        lambda r: items(r)[5].update(visible_if={"item": "heating", "op": "in", "value": "none"}),
        "sections[0].items[5].visible_if.value: op 'in' needs a non-empty list of values",
    ),
    (
        "in with an unknown choice",
        lambda r: items(r)[5].update(visible_if={"item": "heating", "op": "in", "value": ["none", "gas"]}),
        "sections[0].items[5].visible_if.value[1]: unknown choice 'gas'; expected one of ['none', 'radiator']",
    ),
    (
        "na only where allowed",
        lambda r: items(r, 1)[3].update(visible_if={"item": "drain", "op": "eq", "value": "na"}),
        "sections[1].items[3].visible_if.value: expected one of ['pass', 'fail']",
    ),
    (
        "comparing a photo",
        lambda r: items(r, 1).append(
            {
                "kind": "text",
                "key": "after",
                "label": {"zh": "后"},
                "visible_if": {"item": "room_photo", "op": "eq", "value": "x"},
            }
        ),
        "sections[1].items[5].visible_if.op: op 'eq' cannot test a photo item; use answered / not_answered",
    ),
    (
        "duplicate item key across sections",
        lambda r: items(r, 3)[0].update(key="door"),
        "sections[3].items[0].key: duplicate item 'door' (first at sections[0].items[2])",
    ),
    (
        "bad key",
        lambda r: items(r)[0].update(key="Day 1"),
        "sections[0].items[0].key: 'Day 1' is not a valid key (a-z first, then a-z, 0-9 or _, at most 64)",
    ),
    (
        "duplicate section key",
        lambda r: r["sections"][1].update(key="head"),
        "sections[1].key: duplicate section 'head' (first at sections[0])",
    ),
    (
        "duplicate choice key",
        lambda r: items(r)[1]["choices"].append({"key": "none", "label": {"zh": "重复"}}),
        "sections[0].items[1].choices[2].key: duplicate key 'none' (first at sections[0].items[1].choices[0])",
    ),
    (
        "single choice needs two choices",
        lambda r: items(r)[1].update(choices=[{"key": "only", "label": {"zh": "唯一"}}]),
        "sections[0].items[1].choices: needs at least 2",
    ),
    (
        "min above max",
        lambda r: items(r)[3].update(min=5, max=4),
        "sections[0].items[3].min: min 5 is greater than max 4",
    ),
    (
        "bounds keep to spreadsheet precision",
        lambda r: items(r)[3].update(max=0.1 + 0.2),
        "sections[0].items[3].max: must be a finite number of at most 15 significant digits, not -0",
    ),
    (
        "photo_on_fail on an item that cannot fail",
        lambda r: items(r)[6].update(photo_on_fail=True),
        "sections[0].items[6].photo_on_fail: this text item can never fail",
    ),
    (
        "empty label",
        lambda r: items(r)[0].update(label={"zh": " ", "en": "Date"}),
        "sections[0].items[0].label.zh: must not be empty",
    ),
    (
        "control characters",
        lambda r: items(r)[0].update(guidance={"zh": "a\rb"}),
        "sections[0].items[0].guidance.zh: contains the control character U+000D",
    ),
    (
        "empty section",
        lambda r: r["sections"][3].update(items=[]),
        "sections[3].items: a section needs at least one item",
    ),
    (
        "takeover acceptance needs a discipline",
        lambda r: r.update(kind="takeover_acceptance"),
        "discipline: a takeover_acceptance template needs a discipline",
    ),
    (
        "only takeover acceptance has a discipline",
        lambda r: r.update(discipline="civil"),
        "discipline: only takeover_acceptance templates have a discipline, not unit_inspection",
    ),
    (
        "repeat needs instances or allow_add",
        lambda r: r["sections"][2]["repeat"].update(instances=[]),
        "sections[2].repeat: a repeatable section needs declared instances or allow_add",
    ),
    (
        "duplicate declared instance",
        lambda r: r["sections"][2]["repeat"]["instances"].append({"id": "civil", "label": {"zh": "再来"}}),
        "sections[2].repeat.instances[2].id: duplicate instance id 'civil' (first at sections[2].repeat.instances[0])",
    ),
    (
        "max below min",
        lambda r: r["sections"][1]["repeat"].update(min_instances=3, max_instances=2),
        "sections[1].repeat.max_instances: must be at least 1, min_instances and the number of declared instances",
    ),
    (
        "min_instances beyond the declared ones",
        lambda r: r["sections"][2]["repeat"].update(min_instances=3),
        "sections[2].repeat.min_instances: more than the declared instances and allow_add is off",
    ),
    (
        "photo count",
        lambda r: items(r, 1)[4].update(min_photos=0),
        "sections[1].items[4].min_photos: must be between 1 and 20",
    ),
    (
        "bad template key",
        lambda r: r.update(key="Small"),
        "key: 'Small' is not a valid key (a-z first, then a-z, 0-9 or _, at most 64)",
    ),
    ("empty version", lambda r: r.update(version=""), "version: must not be empty"),
    (
        # (stored in a column of 200: PostgreSQL refused a longer one with a 500)
        "long title",
        lambda r: r.update(title={"zh": "长" * 201, "en": "x"}),
        "title.zh: longer than 200 characters",
    ),
    (
        "long English title",
        lambda r: r.update(title={"zh": "短", "en": "x" * 201}),
        "title.en: longer than 200 characters",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), [(e, x) for _, e, x in CASES], ids=[c[0] for c in CASES])
def test_problem(small_dict: dict[str, Any], edit: Edit, expected: str) -> None:
    assert expected in problems_after(small_dict, edit)


def test_every_problem_is_reported(small_dict: dict[str, Any]) -> None:
    def edit(r: dict[str, Any]) -> None:
        items(r)[0].update(key="door")
        items(r)[3].update(min=9, max=1)
        items(r)[5].update(visible_if={"item": "ghost", "op": "answered"})

    found = problems_after(small_dict, edit)
    assert len(found) == 3
    raw = copy.deepcopy(small_dict)
    edit(raw)
    with pytest.raises(TemplateInvalid) as info:
        check_template(msgspec.convert(raw, Template))
    assert [str(p) for p in info.value.problems] == found


def test_items_inside_an_instance_may_use_earlier_ordinary_items_and_their_own(small: Template) -> None:
    rooms = small.sections[1]
    conditions = {i.key: i.visible_if for i in rooms.items if i.visible_if is not None}
    assert conditions["drain"] is not None and conditions["drain"].item == "room"
    assert conditions["radiator_valve"] is not None and conditions["radiator_valve"].item == "heating"
