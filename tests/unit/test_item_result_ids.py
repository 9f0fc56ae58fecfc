"""An item result's id, and the push's check of it, are exactly `uuid.uuid5` of its
address: every device (the PWA included) makes the same id with any UUIDv5 library."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from server.inspections.rules import ITEM_RESULT_NAMESPACE, is_item_result_id, item_result_id

words = st.text(min_size=0, max_size=20)


@given(st.uuids(), words, words, words)
def test_the_id_is_the_standard_uuid5_of_the_address(insp: uuid.UUID, section: str, inst: str, item: str) -> None:
    made = item_result_id(insp, section, inst, item)
    assert made == uuid.uuid5(ITEM_RESULT_NAMESPACE, f"{insp}/{section}/{inst}/{item}")
    assert made.version == 5 and made.variant == uuid.RFC_4122


@given(st.uuids(), words, words, words)
def test_the_check_accepts_exactly_that_id(insp: uuid.UUID, section: str, inst: str, item: str) -> None:
    made = item_result_id(insp, section, inst, item)
    assert is_item_result_id(made, insp, section, inst, item)
    assert not is_item_result_id(made, insp, section, inst, item + "x")
    assert not is_item_result_id(uuid.UUID(int=made.int ^ 1), insp, section, inst, item)


def test_a_known_id() -> None:
    """Pinned, so a change of namespace or name format cannot pass unnoticed."""
    insp = uuid.UUID("00000000-0000-4000-8000-000000000001")
    assert item_result_id(insp, "main", "", "door") == uuid.UUID("19f469a1-fbc7-566f-8b5f-3f9ef42669b7")
