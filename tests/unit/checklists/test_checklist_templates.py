"""The bundled templates: they load, validate, meet the minimums and round-trip."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

import checklists
from checklists import BUNDLED_DIR, Template, content_hash, export_xlsx, import_xlsx, judge, load_bundled
from checklists.model import (
    ITEM_KINDS,
    PhotoItem,
    SignatureItem,
    can_fail,
    count_items,
    item_kind,
)

TEMPLATES = load_bundled()
KEYS = sorted(TEMPLATES)


def judged(template: Template) -> int:
    return sum(can_fail(i) for s in template.sections for i in s.items)


def test_every_kind_of_template_is_bundled() -> None:
    assert sorted(p.stem for p in BUNDLED_DIR.glob("*.json")) == KEYS
    kinds = Counter(t.kind for t in TEMPLATES.values())
    assert kinds == {
        "patrol": 1,
        "unit_inspection": 1,
        "takeover_acceptance": 4,
        "acceptance_summary": 1,
        "vacant_unit": 1,
    }
    disciplines = {t.discipline for t in TEMPLATES.values() if t.kind == "takeover_acceptance"}
    assert disciplines == {"landscaping", "civil", "plumbing_heating", "electrical"}


def test_minimum_item_counts() -> None:
    by_kind = {t.kind: t for t in TEMPLATES.values() if t.kind != "takeover_acceptance"}
    assert count_items(by_kind["unit_inspection"]) >= 40
    for template in TEMPLATES.values():
        if template.kind == "takeover_acceptance":
            assert judged(template) >= 25, template.key  # concrete pass/fail or measured checks


def test_the_bundled_templates_use_every_item_kind() -> None:
    used = {item_kind(i) for t in TEMPLATES.values() for s in t.sections for i in s.items}
    assert used == set(ITEM_KINDS)


@pytest.mark.parametrize("key", KEYS)
def test_bilingual_and_checkable(key: str) -> None:
    template = TEMPLATES[key]
    assert template.title.en
    for section in template.sections:
        assert section.title.en, section.key
        for item in section.items:
            assert item.label.zh and item.label.en, item.key
            if can_fail(item):
                # what to look at and what counts as a failure
                assert item.guidance is not None and item.guidance.zh and item.guidance.en, item.key


@pytest.mark.parametrize("key", KEYS)
def test_xlsx_round_trip_keeps_the_hash(key: str) -> None:
    template = TEMPLATES[key]
    again = import_xlsx(export_xlsx(template))
    assert again == template
    assert content_hash(again) == content_hash(template)


def test_signatures_where_the_forms_need_them() -> None:
    def signatures(key: str) -> set[str]:
        return {i.key for s in TEMPLATES[key].sections for i in s.items if isinstance(i, SignatureItem)}

    assert {"owner_signature", "inspector_signature"} <= signatures("unit_inspection")
    assert {"developer_rep_signature", "property_rep_signature"} <= signatures("acceptance_summary")
    unit = TEMPLATES["unit_inspection"]
    assert unit.sections[-1].items[-1].key == "sign_date"  # the form ends with the signatures


def test_patrol_is_a_repeatable_checkpoint_round() -> None:
    patrol = TEMPLATES["patrol"]
    checkpoints = next(s for s in patrol.sections if s.repeat is not None)
    assert checkpoints.repeat is not None and checkpoints.repeat.allow_add
    area = checkpoints.items[0]
    assert item_kind(area) == "location"
    areas = {o.key for o in getattr(area, "options")}  # noqa: B009
    assert areas == {"exterior", "public", "fire", "sanitation", "greening", "parking", "safety", "entrance"}
    # every check of a checkpoint belongs to one area
    for item in checkpoints.items[1:]:
        if not isinstance(item, PhotoItem) and item_kind(item) != "text":
            assert item.visible_if is not None and item.visible_if.item == "area", item.key


def test_acceptance_summary_rolls_up_the_four_disciplines() -> None:
    summary = TEMPLATES["acceptance_summary"]
    rolled = next(s for s in summary.sections if s.repeat is not None)
    assert rolled.repeat is not None
    assert [i.id for i in rolled.repeat.instances] == ["landscaping", "civil", "plumbing_heating", "electrical"]


def test_a_patrol_can_be_judged() -> None:
    patrol = TEMPLATES["patrol"]
    answers = {
        "answers": {"patrol_date": {"value": "2025-05-06"}, "shift": {"value": "day"}},
        "instances": {
            "checkpoints": [
                {
                    "id": "cp-fire-3f",
                    "label": "3F 消火栓",
                    "answers": {
                        "area": {"value": "fire"},
                        "extinguishers": {"value": "pass"},
                        "hydrant_box": {"value": "pass"},
                        "escape_routes": {"value": "fail", "note": "3F 楼梯间堆放纸箱", "photos": ["p1"]},
                        "fire_doors": {"value": "pass"},
                        "exit_signs": {"value": "pass"},
                        "fire_lane": {"value": "pass"},
                        "fire_control_room": {"value": "na"},
                    },
                }
            ]
        },
    }
    j = judge(patrol, answers)
    [failure] = j.failures
    assert (failure.item, failure.severity, failure.responsible) == ("escape_routes", "serious", "security")
    assert {m.item for m in j.missing} == {"tickets_raised", "patroller_signature"}


def test_checklists_never_import_server_or_sync() -> None:
    package = Path(checklists.__file__).parent
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"server", "sync", "litestar", "sqlalchemy"}, (path, name)


def test_modules_stay_small() -> None:
    package = Path(checklists.__file__).parent
    for path in package.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path.name
