"""Times from devices keep their instant, whatever offset the device writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from server.inspections.models import ItemResult
from server.lib.clock import as_utc
from sync.tables import conflicts, devices
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


async def test_a_device_clock_in_china_standard_time_keeps_its_instant_in_the_sync_tables(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """The device's clock (`client_time`: reported, stored, never used for ordering)
    lands in the sync tables — a conflict, the device's row — as the same instant
    on both databases, and reaches a manager's device as UTC."""
    china = timezone(timedelta(hours=8))
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(
        client, "cs_manager", setup["pw"], "pad-b", clock=lambda: datetime(2026, 11, 27, 12, 0, 3, tzinfo=china)
    )
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    rid = answer(a, insp, "door", value="pass")
    await a.sync()
    await b.pull()
    a.put("item_result", rid, value="fail")
    b.put("item_result", rid, value="pass")  # stale: a conflict, with b's clock
    await a.sync()
    await b.sync()
    instant = datetime(2026, 11, 27, 4, 0, 3, tzinfo=UTC)
    await db.rollback()
    conflict = (
        await db.execute(select(conflicts.c.id, conflicts.c.client_time).where(conflicts.c.entity_id == rid))
    ).one()
    assert as_utc(conflict.client_time) == instant
    stored = await db.scalar(select(devices.c.client_time).where(devices.c.device_id == "pad-b"))
    assert as_utc(stored) == instant
    await b.pull()
    assert b.replica["conflict"][str(conflict.id)]["client_time"] == "2026-11-27T04:00:03Z"


async def test_a_device_clock_without_an_offset_is_taken_as_utc_and_the_push_goes_on(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """`client_time` is only reported: one without an offset must not refuse the push
    (the whole queue would stop); it is stored as if UTC."""
    a = await device(client, "engineer", setup["pw"], "pad-naive", clock=lambda: datetime(2026, 11, 27, 12, 0, 3))
    new_inspection(a, setup["tv"], setup["unit"].id)
    assert [r.status for r in await a.push()] == ["applied"]
    await db.rollback()
    stored = await db.scalar(select(devices.c.client_time).where(devices.c.device_id == "pad-naive"))
    assert stored == datetime(2026, 11, 27, 12, 0, 3, tzinfo=UTC)
