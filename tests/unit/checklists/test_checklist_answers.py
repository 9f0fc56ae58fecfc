"""Bad answers raise AnswersInvalid with a path to every bad field."""

from __future__ import annotations

from typing import Any

import pytest

from checklists import AnswersInvalid, Template, judge, parse_answers
from checklists.answers import Answer, Answers, InstanceAnswers, address


def problems(template: Template, raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(AnswersInvalid) as info:
        parse_answers(template, raw)
    return [(p.path, p.message) for p in info.value.problems]


def paths(template: Template, raw: Any) -> list[str]:
    return [p for p, _ in problems(template, raw)]


def test_unknown_item_key(small: Template) -> None:
    assert problems(small, {"answers": {"nope": {"value": 1}}}) == [("answers.nope", "unknown item 'nope'")]


def test_odd_keys_are_quoted_in_paths(small: Template) -> None:
    assert paths(small, {"answers": {"a.b c": {"value": 1}}}) == ['answers["a.b c"]']


def test_repeatable_item_answered_at_top_level(small: Template) -> None:
    [(path, message)] = problems(small, {"answers": {"room": {"value": "kitchen"}}})
    assert path == "answers.room"
    assert "instances.rooms" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("door", "maybe"),
        ("door", True),
        ("flatness", "3"),
        ("flatness", True),
        ("flatness", [1]),
        ("remark", 5),
        ("heating", "gas"),
        ("heating", ["none"]),
        ("day", "2025-02-30"),
        ("day", "01/03/2025"),
        ("day", 20250301),
        ("owner_signature", 1),
    ],
)
def test_wrong_value_types(small: Template, key: str, value: Any) -> None:
    assert paths(small, {"answers": {key: {"value": value}}}) == [f"answers.{key}.value"]


def test_na_only_when_allowed(small: Template) -> None:
    parse_answers(small, {"answers": {"door": {"value": "na"}}})
    raw = {"instances": {"rooms": [{"id": "r", "answers": {"drain": {"value": "na"}}}]}}
    assert problems(small, raw) == [("instances.rooms[0].answers.drain.value", "expected one of ['pass', 'fail']")]


def test_blank_values_are_no_answer_not_errors(small: Template) -> None:
    parse_answers(small, {"answers": {"door": {"value": None}, "remark": {"value": ""}, "flatness": {}}})


def test_choice_lists(small: Template) -> None:
    def defects(value: Any) -> dict[str, Any]:
        return {"instances": {"rooms": [{"id": "r", "answers": {"defects": {"value": value}}}]}}

    path = "instances.rooms[0].answers.defects.value"
    assert paths(small, defects(["crack", "gone"])) == [path]
    assert paths(small, defects(["crack", "crack"])) == [path]
    assert paths(small, defects("crack")) == [path]
    assert paths(small, defects([1])) == [path]
    parse_answers(small, defects(["crack", "stain"]))


def test_location_must_be_an_option(small: Template) -> None:
    raw = {"instances": {"rooms": [{"id": "r", "answers": {"room": {"value": "attic"}}}]}}
    assert paths(small, raw) == ["instances.rooms[0].answers.room.value"]


def test_photo_items_take_no_value_and_photo_ids_are_checked(small: Template) -> None:
    raw = {"instances": {"rooms": [{"id": "r", "answers": {"room_photo": {"value": "m1", "photos": ["a", "", "a"]}}}]}}
    assert paths(small, raw) == [
        "instances.rooms[0].answers.room_photo.value",
        "instances.rooms[0].answers.room_photo.photos[1]",
        "instances.rooms[0].answers.room_photo.photos[2]",
    ]


def test_instances(small: Template) -> None:
    raw = {
        "instances": {
            "nowhere": [],
            "head": [],
            "rooms": [
                {"id": "r1", "answers": {"door": {"value": "pass"}}},
                {"id": "r1"},
                {"id": "a/b"},
                {"id": ""},
            ],
            "disciplines": [{"id": "landscaping"}],
        }
    }
    got = problems(small, raw)
    assert got == [
        ("instances.nowhere", "unknown section 'nowhere'"),
        ("instances.head", "section 'head' is not repeatable"),
        ("instances.rooms[0].answers.door", "unknown item 'door' for section 'rooms' (it is in section 'head')"),
        ("instances.rooms[1].id", "duplicate instance id 'r1'"),
        ("instances.rooms[2].id", "instance id must be 1-100 characters, no '/'"),
        ("instances.rooms[3].id", "instance id must be 1-100 characters, no '/'"),
        (
            "instances.disciplines[0].id",
            "'landscaping' is not a declared instance and the section allows no others",
        ),
    ]


def test_every_problem_is_reported_at_once(small: Template) -> None:
    raw = {"answers": {"x": {}, "door": {"value": 1}, "day": {"value": "soon"}}}
    assert paths(small, raw) == ["answers.x", "answers.door.value", "answers.day.value"]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"answers": {"door": {"value": "pass", "photo": []}}}, "answers.door.photo"),
        ({"answers": {"door": {"photos": "p1"}}}, "answers.door.photos"),
        ({"answers": {"door": {"severity": "fatal"}}}, "answers.door.severity"),
        ({"answers": {"door": {"note": 3}}}, "answers.door.note"),
        ({"instances": {"rooms": [{"answers": {}}]}}, "instances.rooms[0]"),
        ({"answer": {}}, "answer"),
        ([], "$"),
    ],
)
def test_shape_errors_carry_a_path(small: Template, raw: Any, path: str) -> None:
    assert paths(small, raw) == [path]


def test_json_text_is_accepted_and_bad_json_is_an_answers_error(small: Template) -> None:
    assert parse_answers(small, b'{"answers": {"door": {"value": "pass"}}}').answers["door"].value == "pass"
    assert paths(small, b"{not json") == ["$"]


def test_structs_are_accepted_as_is(small: Template) -> None:
    answers = Answers(
        answers={"door": Answer(value="pass")},
        instances={"rooms": [InstanceAnswers(id="r", answers={"room": Answer(value="kitchen")})]},
    )
    assert parse_answers(small, answers) is answers
    with pytest.raises(AnswersInvalid):
        judge(small, Answers(answers={"door": Answer(value="nope")}))


def test_address() -> None:
    assert address("door") == "door"
    assert address("drain", "rooms", "r1") == "rooms/r1/drain"


def test_error_carries_plain_dicts(small: Template) -> None:
    with pytest.raises(AnswersInvalid) as info:
        parse_answers(small, {"answers": {"nope": {}}})
    assert info.value.as_dicts() == [{"path": "answers.nope", "message": "unknown item 'nope'"}]
    assert "answers.nope: unknown item 'nope'" in str(info.value)
