"""Inspection rules that do not need the database (pure)."""

from __future__ import annotations

import uuid

from checklists.model import TEMPLATE_KINDS

#: An inspection's kind is its template's kind.
KINDS = frozenset(TEMPLATE_KINDS)
ACCEPTANCE_KINDS = frozenset({"takeover_acceptance", "acceptance_summary"})
TARGET_TYPES = frozenset({"unit", "area", "facility", "building", "project"})
DEVICE_STATUSES = frozenset({"draft", "in_progress"})
FROZEN_STATUSES = frozenset({"submitted", "signed"})
SIGNER_ROLES = frozenset({"owner", "inspector", "developer_rep", "property_rep"})

#: Which signatures make an inspection "signed" (then nothing in it changes).
SIGNATURES_TO_SIGN = {
    "unit_inspection": frozenset({"owner", "inspector"}),
    "acceptance_summary": frozenset({"developer_rep", "property_rep"}),
    "takeover_acceptance": frozenset({"inspector"}),
    "patrol": frozenset({"inspector"}),
    "vacant_unit": frozenset({"inspector"}),
}

#: Namespace of item-result ids (and of tickets opened from them).
ITEM_RESULT_NAMESPACE = uuid.UUID("6f1c8f4e-2f55-4b8e-9a51-3c0a6f0d2b11")
TICKET_NAMESPACE = uuid.UUID("0d7d6c1a-86a4-4a43-8f7e-2b7d8e3b5c90")


def item_result_id(inspection_id: uuid.UUID, section_key: str, instance_id: str, item_key: str) -> uuid.UUID:
    """The id every device gives the answer to one item: the same on all of them."""
    return uuid.uuid5(ITEM_RESULT_NAMESPACE, f"{inspection_id}/{section_key}/{instance_id}/{item_key}")


def ticket_id_for(item_result: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(TICKET_NAMESPACE, str(item_result))
