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
