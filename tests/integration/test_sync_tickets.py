"""Exactly-once tickets: from the server only, one per failed item, whatever
retries, replays, merges and concurrent app processes do."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from server.accounts.roles import Role
from server.app import create_app
from server.db.engine import create_engine, create_session_factory
from server.inspections.models import Inspection
from server.tickets.models import Ticket
from server.tickets.services import open_tickets_for
from sync.registry import ApplyContext
from tests.sync_harness import Device, answer, device, fill_passing, new_inspection


async def tickets(db: Any) -> list[Ticket]:
    await db.rollback()
    return list((await db.scalars(select(Ticket).order_by(Ticket.item_key))).all())


async def both_submit_a_failed_window(
    client_a: AsyncTestClient[Any], client_b: AsyncTestClient[Any], setup: dict[str, Any]
) -> tuple[Device, Device]:
    """Device A (engineer) records an inspection with a failed window and syncs;
    device B (cs_manager) pulls it; both then submit it offline, unpushed."""
    a = await device(client_a, "engineer", setup["pw"], "pad-a")
    b = await device(client_b, "cs_manager", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit_id"])
    fill_passing(a, insp)
    answer(a, insp, "window", value="fail")
    await a.sync()
    await b.pull()
    a.submit("inspection", insp)
    b.submit("inspection", insp)
    return a, b


async def test_ticket_carries_severity_and_party_from_the_template(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit_id"])
    fill_passing(a, insp)
    answer(a, insp, "door", value="fail", note="门锁无法反锁")
    answer(a, insp, "flatness", value=7)
    a.submit("inspection", insp)
    await a.sync()
    found = await tickets(db)
    assert [(t.item_key, t.severity, t.responsible, t.status, t.source) for t in found] == [
        ("door", "important", "developer", "open", "inspection"),
        ("flatness", "serious", "developer", "open", "inspection"),
    ]
    assert found[0].responsible_org_id == setup["demo"]["project"].developer_org_id
    assert found[0].description == "门锁无法反锁"
    # The device receives them through the feed.
    assert {t["item_key"] for t in a.replica["ticket"].values()} == {"door", "flatness"}


async def test_a_device_cannot_make_an_inspection_ticket(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    a.put(
        "ticket",
        uuid.uuid4(),
        title="x",
        severity="general",
        responsible="developer",
        target_type="unit",
        target_id=str(setup["unit_id"]),
        source="inspection",
        item_result_id=str(uuid.uuid4()),
    )
    res = await a.push()
    assert res[0].status == "rejected"
    assert "source" in (res[0].reason or "") or "item_result_id" in (res[0].reason or "")
    assert await tickets(db) == []


async def test_resubmits_replays_and_two_devices_open_no_second_ticket(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a, b = await both_submit_a_failed_window(client, client, setup)
    a.lose_next_answer = True
    with pytest.raises(Exception, match="lost"):
        await a.push()
    await a.push()
    await b.push()
    assert len(await tickets(db)) == 1


async def test_two_app_processes_racing_open_exactly_one_ticket(settings: Any, db: Any, setup: dict[str, Any]) -> None:
    """Two app instances (separate engines and connection pools, as two processes
    would have) receive the submission of the same failed item at the same moment."""
    app1 = create_app(settings, lifespan_hooks=[])
    app2 = create_app(settings, lifespan_hooks=[])
    async with AsyncTestClient(app=app1) as c1, AsyncTestClient(app=app2) as c2:
        a, b = await both_submit_a_failed_window(c1, c2, setup)
        await asyncio.gather(a.push(), b.push())
    found = await tickets(db)
    assert [t.item_key for t in found] == ["window"]


async def test_two_workers_opening_tickets_at_once_make_one(
    settings: Any, db: Any, client: Any, setup: dict[str, Any]
) -> None:
    """The database constraint, not a check, stops the second: two sessions on two
    engines run the ticket opener for the same submitted inspection concurrently."""
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp_id = new_inspection(a, setup["tv"], setup["unit_id"])
    fill_passing(a, insp_id)
    answer(a, insp_id, "door", value="fail")
    answer(a, insp_id, "window", value="fail")
    a.submit("inspection", insp_id)
    await a.sync()
    assert len(await tickets(db)) == 2
    # Remove them behind the engine's back, then race two openers.
    await db.execute(Ticket.__table__.delete())
    await db.commit()
    engines = [create_engine(settings.database_url) for _ in range(2)]
    user = setup["demo"]["users"]["engineer"]

    class Actor:
        user_id = user.id
        username = user.username
        org_id = user.org_id
        company_id = setup["demo"]["project"].company_id
        device_id = "worker"
        role = Role.engineer
        is_staff = True
        is_manager = False
        project_ids = frozenset({setup["demo"]["project"].id})

    async def opener(engine: Any) -> int:
        async with create_session_factory(engine)() as s:
            insp = await s.get(Inspection, insp_id)
            ctx = ApplyContext(
                db=s, actor=Actor(), device_id="worker", mutation_id=0, client_time=None, now=insp.submitted_at
            )
            n = await open_tickets_for(ctx, insp)
            await s.commit()
            return n

    try:
        opened = await asyncio.gather(*(opener(e) for e in engines))
    finally:
        for e in engines:
            await e.dispose()
    assert sum(opened) == 2
    assert len(await tickets(db)) == 2
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 2


async def test_a_manual_ticket_squatting_the_derived_id_does_not_suppress_the_real_one(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    from server.inspections.rules import item_result_id, ticket_id_for

    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit_id"])
    fill_passing(a, insp)
    answer(a, insp, "window", value="fail")
    squatted = ticket_id_for(item_result_id(insp, "main", "", "window"))
    a.put(
        "ticket",
        squatted,
        title="手工单 manual",
        severity="general",
        responsible="cleaning",
        target_type="unit",
        target_id=str(setup["unit_id"]),
    )
    a.submit("inspection", insp)
    await a.sync()
    found = await tickets(db)
    assert sorted(t.source for t in found) == ["inspection", "manual"]
    real = next(t for t in found if t.source == "inspection")
    assert real.item_key == "window" and real.id != squatted


async def test_sync_writes_are_audited(client: Any, db: Any, setup: dict[str, Any]) -> None:
    from server.audit.models import AuditEntry

    a = await device(client, "engineer", setup["pw"], "pad-audit")
    insp = new_inspection(a, setup["tv"], setup["unit_id"])
    rid = answer(a, insp, "door", value="pass")
    await a.push()
    answer(a, insp, "door", value="fail", note="门锁坏")
    a.put("item_result", rid, value="maybe")  # rejected: leaves no audit entry
    await a.push()
    await db.rollback()
    entries = (
        await db.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(rid)).order_by(AuditEntry.at))
    ).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].before == {"note": None, "value": "pass"}
    assert entries[1].after == {"note": "门锁坏", "value": "fail"}
    assert (entries[1].username, entries[1].role, entries[1].device_id) == ("engineer", "engineer", "pad-audit")
    assert entries[0].project_id == setup["demo"]["project"].id


async def test_a_list_or_an_object_where_a_word_is_expected_is_rejected_and_the_queue_goes_on(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """Not a failed push (500) that would hold the device's queue for ever."""
    a = await device(client, "engineer", setup["pw"], "pad-a")
    fields = {"title": "漏水 leak", "target_type": "unit", "target_id": str(setup["unit_id"])}
    a.put("ticket", uuid.uuid4(), severity=["serious"], responsible="cleaning", **fields)
    a.put("ticket", uuid.uuid4(), severity="general", responsible={"who": "cleaning"}, **fields)
    good = uuid.uuid4()
    a.put("ticket", good, severity="serious", responsible="cleaning", **fields)
    a.put("ticket_event", uuid.uuid4(), ticket_id=str(good), kind=["comment"], data={})
    a.put(
        "inspection",
        uuid.uuid4(),
        kind=["unit_inspection"],
        template_version_id=str(setup["tv"]),
        target_type="unit",
        target_id=str(setup["unit_id"]),
    )
    res = await a.push()
    assert [(r.status, r.code) for r in res] == [
        ("rejected", "invalid"),
        ("rejected", "invalid"),
        ("applied", None),
        ("rejected", "invalid"),
        ("rejected", "invalid"),
    ]
    assert [t.id for t in await tickets(db)] == [good]
