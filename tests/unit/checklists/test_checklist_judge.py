"""judge(): completeness, missing answers, failures, N/A, hidden items, instances, scores."""

from __future__ import annotations

from typing import Any

import pytest

from checklists import Template, content_hash, judge
from checklists.judgement import Judgement


def complete_answers() -> dict[str, Any]:
    """Answers to the small template with nothing missing and nothing failed."""
    return {
        "answers": {
            "day": {"value": "2025-03-01"},
            "heating": {"value": "none"},
            "door": {"value": "pass"},
            "flatness": {"value": 3.5},
            "owner_signature": {"value": "张三", "photos": ["sig-1"]},
        },
        "instances": {
            "rooms": [
                {
                    "id": "r1",
                    "label": "厨房",
                    "answers": {
                        "room": {"value": "kitchen"},
                        "defects": {"value": ["none"]},
                        "drain": {"value": "pass"},
                        "room_photo": {"photos": ["m1", "m2"]},
                    },
                }
            ],
            "disciplines": [
                {"id": "civil", "answers": {"result": {"value": "pass"}}},
                {"id": "electrical", "answers": {"result": {"value": "pass"}}},
            ],
        },
    }


def reasons(j: Judgement) -> set[tuple[str, str]]:
    return {(m.path, m.reason) for m in j.missing}


def test_complete_and_all_passed(small: Template) -> None:
    j = judge(small, complete_answers())
    assert j.complete, j.missing
    assert j.failures == []
    assert j.template_key == "small"
    assert j.template_hash == content_hash(small)
    # door, flatness (head) + defects, drain (room r1) + 2 results: 6 judged items, all passed
    assert (j.overall.passed, j.overall.failed, j.overall.na, j.overall.unanswered) == (6, 0, 0, 0)
    assert j.overall.rate == 1.0


def test_empty_answers_list_every_required_item(small: Template) -> None:
    j = judge(small, {})
    assert not j.complete
    assert reasons(j) == {
        ("day", "required"),
        ("heating", "required"),
        ("door", "required"),
        ("flatness", "required"),
        ("rooms", "min_instances"),
        ("disciplines/civil/result", "required"),
        ("disciplines/electrical/result", "required"),
    }
    # the sign section is hidden until the door is answered; radiator hidden (heating unanswered)
    sign = next(s for s in j.sections if s.section == "sign")
    assert not sign.visible
    assert j.overall.rate is None
    assert j.overall.unanswered == 4  # door, flatness, and the two declared results


def test_optional_items_are_not_missing(small: Template) -> None:
    j = judge(small, complete_answers())
    assert "meter" not in {m.item for m in j.missing}
    assert "remark" not in {m.item for m in j.missing}


def test_pass_fail_failure_needs_photo_and_note(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["door"] = {"value": "fail"}
    j = judge(small, answers)
    assert ("door", "photo_on_fail") in reasons(j)
    assert ("door", "note_on_fail") in reasons(j)
    [failure] = j.failures
    assert failure.item == "door"
    assert failure.severity == "important"
    assert failure.responsible == "developer"
    assert failure.standard == "房屋接管验收标准 ZBP30001-90"
    assert failure.label.zh == "入户门"

    answers["answers"]["door"] = {"value": "fail", "note": "门扇变形", "photos": ["p1"]}
    j = judge(small, answers)
    assert not {r for r in reasons(j) if r[0] == "door"}
    assert j.failures[0].photos == ("p1",)
    assert j.failures[0].note == "门扇变形"


def test_a_blank_note_does_not_count(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["door"] = {"value": "fail", "note": "   ", "photos": ["p1"]}
    assert ("door", "note_on_fail") in reasons(judge(small, answers))


def test_severity_and_responsible_override(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["door"] = {
        "value": "fail",
        "note": "锁坏",
        "photos": ["p"],
        "severity": "serious",
        "responsible": "contractor",
    }
    [failure] = judge(small, answers).failures
    assert (failure.severity, failure.responsible) == ("serious", "contractor")


def test_severity_override_on_a_passed_item_is_ignored(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["door"] = {"value": "pass", "severity": "serious"}
    j = judge(small, answers)
    assert j.complete and j.failures == []


def test_na_is_excluded_from_the_rate(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["door"] = {"value": "na"}
    answers["answers"]["flatness"] = {"value": 9}
    answers["answers"]["flatness"]["photos"] = ["f1"]
    j = judge(small, answers)
    head = next(s for s in j.sections if s.section == "head")
    assert (head.score.passed, head.score.failed, head.score.na) == (0, 1, 1)
    assert head.score.rate == 0.0
    assert j.overall.na == 1
    assert j.overall.rate == pytest.approx(4 / 5)


@pytest.mark.parametrize(
    ("value", "failed"),
    [(0, False), (4, False), (4.0001, True), (-0.5, True), (2, False)],
)
def test_number_range_is_inclusive(small: Template, value: float, failed: bool) -> None:
    answers = complete_answers()
    answers["answers"]["flatness"] = {"value": value, "photos": ["x"]}
    j = judge(small, answers)
    assert ("flatness" in {f.item for f in j.failures}) is failed


def test_number_failure_needs_a_photo(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["flatness"] = {"value": 6}
    assert ("flatness", "photo_on_fail") in reasons(judge(small, answers))


def test_number_without_bounds_is_recorded_not_judged(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["meter"] = {"value": 123456.7}
    j = judge(small, answers)
    assert j.overall.passed == 6 and j.failures == []


def test_hidden_item_is_neither_required_nor_judged(small: Template) -> None:
    answers = complete_answers()
    # heating 'none' hides the radiator check; a stale answer to it is ignored
    answers["answers"]["radiator"] = {"value": "fail"}
    j = judge(small, answers)
    assert j.complete
    assert "radiator" not in {f.item for f in j.failures}


def test_condition_shows_item_and_makes_it_required(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["heating"] = {"value": "radiator"}
    j = judge(small, answers)
    assert ("radiator", "required") in reasons(j)
    # the instance item depending on a top-level answer appears too
    assert ("rooms/r1/radiator_valve", "required") in reasons(j)


def test_failing_choice(small: Template) -> None:
    answers = complete_answers()
    answers["instances"]["disciplines"][1]["answers"]["result"] = {"value": "fail"}
    j = judge(small, answers)
    [failure] = j.failures
    assert (failure.path, failure.section, failure.instance) == (
        "disciplines/electrical/result",
        "disciplines",
        "electrical",
    )
    assert failure.value == "fail"
    assert j.complete  # no photo / note asked for


def test_multi_choice_fails_when_any_failing_choice_is_chosen(small: Template) -> None:
    answers = complete_answers()
    answers["instances"]["rooms"][0]["answers"]["defects"] = {"value": ["stain", "crack"]}
    [failure] = judge(small, answers).failures
    assert failure.item == "defects"
    assert failure.responsible == "contractor"
    assert failure.severity == "general"


def test_instances_judge_conditions_within_the_same_instance(small: Template) -> None:
    answers = complete_answers()
    answers["instances"]["rooms"].append(
        {
            "id": "r2",
            "answers": {
                "room": {"value": "bedroom"},
                "defects": {"value": ["none"]},
                # a drain answer in a bedroom is hidden by the room's own condition
                "drain": {"value": "fail"},
                "room_photo": {"photos": ["a", "b"]},
            },
        }
    )
    answers["instances"]["rooms"].append(
        {"id": "r3", "answers": {"room": {"value": "bathroom"}, "defects": {"value": ["none"]}}}
    )
    j = judge(small, answers)
    assert reasons(j) == {("rooms/r3/drain", "required"), ("rooms/r3/room_photo", "required")}
    assert j.failures == []
    rooms = next(s for s in j.sections if s.section == "rooms")
    assert [i.id for i in rooms.instances] == ["r1", "r2", "r3"]
    by_id = {i.id: i.score for i in rooms.instances}
    assert (by_id["r1"].passed, by_id["r2"].passed, by_id["r3"].passed, by_id["r3"].unanswered) == (2, 1, 1, 1)
    assert rooms.score.passed == 4


def test_min_photos(small: Template) -> None:
    answers = complete_answers()
    answers["instances"]["rooms"][0]["answers"]["room_photo"] = {"photos": ["only-one"]}
    assert ("rooms/r1/room_photo", "min_photos") in reasons(judge(small, answers))


def test_declared_instances_are_always_expected(small: Template) -> None:
    answers = complete_answers()
    del answers["instances"]["disciplines"]
    j = judge(small, answers)
    assert reasons(j) == {("disciplines/civil/result", "required"), ("disciplines/electrical/result", "required")}
    section = next(s for s in j.sections if s.section == "disciplines")
    assert [(i.id, i.label, i.declared) for i in section.instances] == [
        ("civil", "土建", True),
        ("electrical", "电气", True),
    ]


def test_signature_needs_its_image(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["owner_signature"] = {"value": "张三"}  # a name but no image
    assert ("owner_signature", "required") in reasons(judge(small, answers))
    answers["answers"]["owner_signature"] = {"value": "张三", "photos": ["sig-1"]}
    assert ("owner_signature", "required") not in reasons(judge(small, answers))


def test_section_scores_and_overall_add_up(small: Template) -> None:
    answers = complete_answers()
    answers["answers"]["door"] = {"value": "fail", "note": "x", "photos": ["p"]}
    answers["instances"]["disciplines"][0]["answers"]["result"] = {"value": "fail"}
    j = judge(small, answers)
    totals = [sum(getattr(s.score, f) for s in j.sections) for f in ("passed", "failed", "na", "unanswered")]
    assert totals == [j.overall.passed, j.overall.failed, j.overall.na, j.overall.unanswered]
    assert (j.overall.passed, j.overall.failed) == (4, 2)
    assert j.overall.rate == pytest.approx(4 / 6)
    disciplines = next(s for s in j.sections if s.section == "disciplines")
    assert disciplines.score.rate == 0.5


def test_judge_accepts_json_bytes(small: Template) -> None:
    import msgspec

    j = judge(small, msgspec.json.encode(complete_answers()))
    assert j.complete
    assert msgspec.json.decode(msgspec.json.encode(j))["complete"] is True
