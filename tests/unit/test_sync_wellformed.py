"""`sync.wellformed.loads_well_formed`: lone UTF-16 surrogates become U+FFFD, as
`String.prototype.toWellFormed()` makes them; everything else is read as JSON is."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.wellformed import loads_well_formed


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (rb'{"note": "a\ud83db"}', {"note": "a\ufffdb"}),  # a high half alone
        (rb'{"note": "a\ude00b"}', {"note": "a\ufffdb"}),  # a low half alone
        (rb'{"note": "\ud83d\ude00"}', {"note": "\U0001f600"}),  # a whole pair, escaped: kept
        (rb'{"note": "\ud83d\ud83d\ude00"}', {"note": "\ufffd\U0001f600"}),  # half, then a pair
        (rb'{"\ud800k": ["x\udfff", {"y": "\ud800"}]}', {"\ufffdk": ["x\ufffd", {"y": "\ufffd"}]}),  # keys, nesting
        (rb'{"note": "back\\ud83d"}', {"note": "back\\ud83d"}),  # an escaped backslash, then text
        (
            '{"note": "空鼓 🏠", "n": 1.5, "ok": true, "none": null}'.encode(),
            {"note": "空鼓 🏠", "n": 1.5, "ok": True, "none": None},
        ),
    ],
)
def test_lone_halves_become_replacement_characters(body: bytes, expected: object) -> None:
    assert loads_well_formed(body) == expected


@pytest.mark.parametrize("body", [b'{"a": 1', b'{"a": NaN}', b'{"a": Infinity}', b"\xff\xfe", b""])
def test_what_is_not_json_stays_refused(body: bytes) -> None:
    assert loads_well_formed(body) is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_well_formed_json_reads_as_msgspec_reads_it(value: object) -> None:
    """Text without lone halves comes back exactly as msgspec decodes it."""
    for body in (msgspec.json.encode(value), json.dumps(value).encode()):
        assert loads_well_formed(body) == msgspec.json.decode(body)
