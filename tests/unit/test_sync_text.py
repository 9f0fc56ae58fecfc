"""A mutation's text may not hold U+0000 (PostgreSQL stores it in neither text nor
JSON): `require_no_nul` finds it anywhere in a device's JSON, keys included."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.errors import Rejected, may_hold_nul, require_no_nul

text = st.text(alphabet=st.sampled_from(["a", "空", "\\", "x", "0", "\x00", "u"]), max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def holds_nul(value: Any) -> bool:
    """The plain definition, against which the check's fast path is tested."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


@given(st.dictionaries(text, json_values, max_size=6))
def test_refused_exactly_when_some_text_holds_nul(fields: dict[str, Any]) -> None:
    if holds_nul(fields):
        with pytest.raises(Rejected, match=r"U\+0000") as caught:
            require_no_nul(fields, "fields")
        assert caught.value.code == "invalid"
    else:
        require_no_nul(fields, "fields")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"note": "空鼓\x00"}, "fields.note"),
        ({"photos": ["a", "b\x00"]}, "fields.photos"),
        ({"value": {"k": [{"z": "\x00"}]}}, "fields.value.k.z"),
        ({"bad\x00key": 1}, "fields"),
        ({"bad\x00key": "text"}, "fields"),
        ({"bad\x00key": None}, "fields"),
    ],
)
def test_the_reason_names_the_field(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(Rejected) as caught:
        require_no_nul(fields, "fields")
    assert caught.value.reason == f"{named}: text may not contain the NUL character (U+0000)"


@given(st.lists(st.tuples(st.dictionaries(text, json_values, max_size=6), st.none() | json_values), max_size=5))
def test_a_batch_said_free_of_nul_holds_none(batch: list[Any]) -> None:
    """`may_hold_nul` (one pass over a whole batch) may raise a false alarm — a
    backslash followed by u0000 — but never misses a NUL."""
    if holds_nul([list(pair) for pair in batch]):
        assert may_hold_nul(batch)
    if not may_hold_nul(batch):
        for fields, base in batch:
            require_no_nul(fields, "fields")
            require_no_nul(base, "base")


def test_the_escape_written_as_text_is_only_a_false_alarm() -> None:
    assert may_hold_nul([{"note": "\\u0000"}]) and not holds_nul({"note": "\\u0000"})
    assert not may_hold_nul([{"note": "空鼓", "photos": ["a"], "value": {"k": 1}}])
