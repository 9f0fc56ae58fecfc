"""Every field a device writes is checked against what its column can hold
(`sync.values`), whatever the entity: a value PostgreSQL would refuse must be a
rejection naming the field, never a failed push that stops the device's queue."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from server.syncing.registry import registry
from sync.errors import Rejected
from sync.values import check_values, from_wire, kinds

#: A value each kind of column refuses, and one it holds.
BAD: dict[str, list[Any]] = {
    "text": [5, ["a"], {"a": 1}],
    "int": ["5", 1.5, True, 2**63],
    "float": ["1.5", True, float("inf"), float("nan")],
    "bool": [1, "true"],
}
GOOD: dict[str, Any] = {"text": "好", "int": 7, "float": 1.5, "bool": False}

WRITTEN = [(spec, name) for spec in registry().all() if spec.device_writes for name in spec.fields]


def test_every_field_a_device_writes_has_a_column_and_a_kind_or_is_json() -> None:
    for spec, name in WRITTEN:
        column = spec.table.c[name]  # (KeyError: a device field with no column)
        assert name in kinds(spec.table) or column.type.__class__.__name__ == "JSON", (spec.name, name)


#: The fields checked here; UUIDs, times, dates (converted by the features) and JSON are not.
CHECKED = [(spec, name) for spec, name in WRITTEN if kinds(spec.table).get(name, ("json",))[0] in BAD]


@pytest.mark.parametrize(("spec", "name"), CHECKED, ids=[f"{s.name}.{n}" for s, n in CHECKED])
def test_a_value_the_column_cannot_hold_is_rejected_naming_the_field(spec: Any, name: str) -> None:
    kind, limit = kinds(spec.table)[name]
    check_values(spec.table, {name: GOOD[kind], "other": None})
    check_values(spec.table, {name: None})
    bad = list(BAD[kind])
    if kind == "text" and limit is not None:
        check_values(spec.table, {name: "字" * limit})  # characters, not bytes
        bad.append("字" * (limit + 1))
    for value in bad:
        with pytest.raises(Rejected) as caught:
            check_values(spec.table, {name: value})
        assert caught.value.code == "invalid" and caught.value.reason.startswith(f"{name}: "), caught.value.reason


def test_a_recorded_value_comes_back_as_the_columns_type() -> None:
    spec = registry().get("item_result")
    assert spec is not None
    table = spec.table
    when = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert from_wire(table, "answered_at", "2026-12-01T20:00:00+08:00") == when
    key = uuid.uuid4()
    assert from_wire(table, "inspection_id", str(key)) == key
    assert from_wire(table, "location", "客厅") == "客厅"
    assert from_wire(table, "value", {"any": "json"}) == {"any": "json"}
    for field, value in [
        ("answered_at", "2026-12-01T12:00:00"),  # no zone: no instant
        ("answered_at", "yesterday"),
        ("inspection_id", "not-a-uuid"),
        ("location", "x" * 101),
        ("location", 3),
    ]:
        with pytest.raises(Rejected) as caught:
            from_wire(table, field, value)
        assert caught.value.reason.startswith(f"{field}: ")
    ticket = registry().get("ticket")
    assert ticket is not None
    assert from_wire(ticket.table, "due_date", "2026-12-24") == date(2026, 12, 24)
