"""The condition language: the shared vectors (also run by the JavaScript port) and
algebraic properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import checklists
from checklists.answers import Answer
from checklists.conditions import OPS, Condition, Fact, evaluate, referenced_items
from checklists.model import Item
from checklists.outcomes import fact

VECTORS_FILE = Path(checklists.__file__).parent / "condition_vectors.json"
DATA = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
ITEMS: dict[str, Item] = {i.key: i for i in msgspec.convert(DATA["items"], list[Item])}


def facts_for(answers: dict[str, Any]) -> dict[str, Fact]:
    return {k: fact(ITEMS[k], msgspec.convert(a, Answer)) for k, a in answers.items() if k in ITEMS}


def test_there_are_enough_vectors_and_they_cover_every_op() -> None:
    vectors = DATA["vectors"]
    assert len(vectors) >= 40
    assert len({v["description"] for v in vectors}) == len(vectors)
    text = json.dumps(vectors)
    for op in OPS:
        assert f'"op": "{op}"' in text, op
    for form in ("all", "any", "not"):
        assert f'"{form}":' in text
    assert any("instance" in v for v in vectors)
    assert {v["expected"] for v in vectors} == {True, False}


@pytest.mark.parametrize("vector", DATA["vectors"], ids=[v["description"] for v in DATA["vectors"]])
def test_vector(vector: dict[str, Any]) -> None:
    assert set(vector) <= {"description", "condition", "answers", "instance", "expected"}
    condition = msgspec.convert(vector["condition"], Condition)
    answers = {**vector["answers"], **vector.get("instance", {})}
    assert evaluate(condition, facts_for(answers)) is vector["expected"]


def test_conditions_encode_back_to_the_same_json() -> None:
    for vector in DATA["vectors"]:
        condition = msgspec.convert(vector["condition"], Condition)
        assert msgspec.json.decode(msgspec.json.encode(condition)) == vector["condition"]


def test_referenced_items() -> None:
    cond = msgspec.convert(
        {"all": [{"item": "a", "op": "answered"}, {"not": {"any": [{"item": "b", "op": "failed"}]}}]}, Condition
    )
    assert referenced_items(cond) == ["a", "b"]


# -- properties -------------------------------------------------------------------------

facts = st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.builds(
        Fact,
        answered=st.booleans(),
        value=st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["x", "y", "2025-01-01"]), st.booleans()),
        outcome=st.sampled_from([None, "pass", "fail", "na"]),
    ),
)
leaves = st.builds(
    lambda item, op, value: (
        Condition(item=item, op=op, value=value)
        if op not in ("answered", "not_answered", "failed", "passed")
        else Condition(item=item, op=op)
    ),
    st.sampled_from(["a", "b", "c", "missing"]),
    st.sampled_from(OPS),
    st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y", "2025-01-01"]), st.lists(st.sampled_from(["x", 1]))),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda cs: Condition(all=tuple(cs)), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: Condition(any=tuple(cs)), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: Condition(not_=c), inner),
    ),
    max_leaves=8,
)


@given(conditions, facts)
def test_not_negates(cond: Condition, seen: dict[str, Fact]) -> None:
    assert evaluate(Condition(not_=cond), seen) is (not evaluate(cond, seen))


@given(st.lists(conditions, min_size=1, max_size=4), facts)
def test_de_morgan(parts: list[Condition], seen: dict[str, Fact]) -> None:
    negated = tuple(Condition(not_=p) for p in parts)
    assert evaluate(Condition(not_=Condition(all=tuple(parts))), seen) is evaluate(Condition(any=negated), seen)


@given(conditions, facts)
def test_evaluate_is_total_and_boolean(cond: Condition, seen: dict[str, Fact]) -> None:
    assert evaluate(cond, seen) in (True, False)


@given(st.sampled_from(["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"]), st.integers(-3, 3))
def test_every_comparison_is_false_when_unanswered(op: str, value: int) -> None:
    cond = Condition(item="a", op=op, value=[value] if op in ("in", "not_in") else value)  # type: ignore[arg-type]
    assert evaluate(cond, {}) is False
    assert evaluate(cond, {"a": Fact(answered=False, value=None, outcome=None)}) is False
