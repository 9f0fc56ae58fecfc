"""Times from devices keep their instant, whatever offset the device writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.inspections.models import ItemResult
from tests.sync_harness import answer, device, new_inspection


async def test_a_device_time_in_china_standard_time_is_stored_as_the_same_instant(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_manager", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    rid = answer(a, insp, "door", value="pass", answered_at="2026-11-27T12:00:00+08:00")
    assert [r.status for r in await a.push()] == ["applied", "applied"]
    await db.rollback()
    row = await db.get(ItemResult, rid)
    assert row.answered_at == datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    assert row.answered_at.utcoffset() is not None
    await b.pull()
    pulled = b.replica["item_result"][str(rid)]["answered_at"]
    assert datetime.fromisoformat(pulled) == datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


async def test_a_device_time_without_an_offset_is_rejected(client: Any, db: Any, setup: dict[str, Any]) -> None:
    """Without an offset the instant is unknown (stored as UTC, or as the database's
    own zone): refused, the rest of the batch applied."""
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()
    answer(a, insp, "door", value="pass", answered_at="2026-11-27T12:00:00")
    good = answer(a, insp, "window", value="pass", answered_at="2026-11-27T12:00:00Z")
    res = await a.push()
    assert [r.status for r in res] == ["rejected", "applied"]
    assert res[0].reason == "answered_at: not an ISO 8601 date-time with a zone"
    await db.rollback()
    assert (await db.get(ItemResult, good)).answered_at == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
