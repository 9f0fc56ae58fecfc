"""Fixtures for the checklists tests: one small template that uses every item kind,
conditions, a repeatable section with free instances and one with declared ones."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from checklists import Template, parse_template


def small_template_dict() -> dict[str, Any]:
    def text(zh: str, en: str = "") -> dict[str, str]:
        return {"zh": zh, "en": en} if en else {"zh": zh}

    return {
        "key": "small",
        "kind": "unit_inspection",
        "title": text("小模板", "Small template"),
        "version": "t1",
        "sections": [
            {
                "key": "head",
                "title": text("基本", "Basics"),
                "items": [
                    {"kind": "date", "key": "day", "label": text("日期", "Date")},
                    {
                        "kind": "single_choice",
                        "key": "heating",
                        "label": text("采暖", "Heating"),
                        "choices": [
                            {"key": "none", "label": text("无", "None")},
                            {"key": "radiator", "label": text("暖气片", "Radiators")},
                        ],
                    },
                    {
                        "kind": "pass_fail",
                        "key": "door",
                        "label": text("入户门", "Door"),
                        "allow_na": True,
                        "photo_on_fail": True,
                        "note_on_fail": True,
                        "severity": "important",
                        "responsible": "developer",
                        "standard": "房屋接管验收标准 ZBP30001-90",
                    },
                    {
                        "kind": "number",
                        "key": "flatness",
                        "label": text("平整度", "Flatness"),
                        "unit": "mm",
                        "min": 0,
                        "max": 4,
                        "photo_on_fail": True,
                    },
                    {"kind": "number", "key": "meter", "label": text("水表", "Meter"), "unit": "m³", "required": False},
                    {
                        "kind": "pass_fail",
                        "key": "radiator",
                        "label": text("散热器", "Radiator"),
                        "visible_if": {"item": "heating", "op": "eq", "value": "radiator"},
                        "severity": "serious",
                    },
                    {"kind": "text", "key": "remark", "label": text("备注", "Remark"), "required": False},
                ],
            },
            {
                "key": "rooms",
                "title": text("房间", "Rooms"),
                "repeat": {"instance_label": text("房间", "Room"), "allow_add": True, "min_instances": 1},
                "items": [
                    {
                        "kind": "location",
                        "key": "room",
                        "label": text("房间", "Room"),
                        "options": [
                            {"key": "kitchen", "label": text("厨房", "Kitchen")},
                            {"key": "bathroom", "label": text("卫生间", "Bathroom")},
                            {"key": "bedroom", "label": text("卧室", "Bedroom")},
                        ],
                    },
                    {
                        "kind": "multi_choice",
                        "key": "defects",
                        "label": text("缺陷", "Defects"),
                        "choices": [
                            {"key": "crack", "label": text("裂缝", "Crack"), "fails": True},
                            {"key": "stain", "label": text("污渍", "Stain")},
                            {"key": "none", "label": text("无", "None")},
                        ],
                        "responsible": "contractor",
                    },
                    {
                        "kind": "pass_fail",
                        "key": "drain",
                        "label": text("地漏", "Floor drain"),
                        "visible_if": {"item": "room", "op": "in", "value": ["kitchen", "bathroom"]},
                        "note_on_fail": True,
                    },
                    {
                        "kind": "single_choice",
                        "key": "radiator_valve",
                        "label": text("暖气阀", "Radiator valve"),
                        "visible_if": {"item": "heating", "op": "eq", "value": "radiator"},
                        "choices": [
                            {"key": "ok", "label": text("正常", "OK")},
                            {"key": "stuck", "label": text("卡死", "Stuck"), "fails": True},
                        ],
                    },
                    {"kind": "photo", "key": "room_photo", "label": text("照片", "Photo"), "min_photos": 2},
                ],
            },
            {
                "key": "disciplines",
                "title": text("专业", "Disciplines"),
                "repeat": {
                    "instance_label": text("专业", "Discipline"),
                    "instances": [
                        {"id": "civil", "label": text("土建", "Civil")},
                        {"id": "electrical", "label": text("电气", "Electrical")},
                    ],
                },
                "items": [
                    {
                        "kind": "single_choice",
                        "key": "result",
                        "label": text("结论", "Result"),
                        "choices": [
                            {"key": "pass", "label": text("合格", "Pass")},
                            {"key": "fail", "label": text("不合格", "Fail"), "fails": True},
                        ],
                    }
                ],
            },
            {
                "key": "sign",
                "title": text("签字", "Signatures"),
                "visible_if": {"item": "door", "op": "answered"},
                "items": [
                    {"kind": "signature", "key": "owner_signature", "label": text("业主签字", "Owner")},
                ],
            },
        ],
    }


@pytest.fixture
def small_dict() -> dict[str, Any]:
    return small_template_dict()


@pytest.fixture
def small() -> Template:
    return parse_template(msgspec.json.encode(small_template_dict()), "small.json")
