"""The check of an item result's id agrees with the id every device makes."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from server.inspections.rules import is_item_result_id, item_result_id

words = st.text(min_size=0, max_size=20)


@given(st.uuids(), words, words, words)
def test_the_check_accepts_exactly_the_uuid5_of_the_address(
    insp: uuid.UUID, section: str, inst: str, item: str
) -> None:
    made = item_result_id(insp, section, inst, item)
    assert is_item_result_id(made, insp, section, inst, item)
    assert not is_item_result_id(made, insp, section, inst, item + "x")
    assert not is_item_result_id(uuid.UUID(int=made.int ^ 1), insp, section, inst, item)
