"""Push: merge per field with the domain's rules, idempotent retries, gaps,
rejections that do not block the queue, late edits kept as conflicts."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from server.inspections.models import Inspection, ItemResult
from server.inspections.rules import item_result_id
from server.tickets.models import Ticket
from sync.client import TransportError
from sync.protocol import MutationResult
from sync.tables import conflicts, results
from tests.sync_harness import answer, call, device, fill_passing, new_inspection


async def count(db: Any, stmt: Any) -> int:
    await db.rollback()
    return int(await db.scalar(stmt) or 0)


async def test_two_devices_edit_different_fields_both_survive(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_manager", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    rid = answer(a, insp, "door", value="pass")
    await a.sync()
    await b.pull()
    # Both offline: A writes a note, B sets the location.
    a.put("item_result", rid, note="门框有划痕 scratch on frame")
    b.put("item_result", rid, location="主卧 master bedroom")
    await a.sync()
    await b.sync()
    await a.pull()
    for dev in (a, b):
        rec = dev.replica["item_result"][str(rid)]
        assert rec["note"] == "门框有划痕 scratch on frame"
        assert rec["location"] == "主卧 master bedroom"
        assert rec["value"] == "pass"
    assert await count(db, select(func.count()).select_from(conflicts)) == 0


async def test_two_devices_creating_the_same_answers_unseen_are_merged_not_refused(
    client: Any, db: Any, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of answers a device never saw is written without a lookup first and
    without a savepoint; when another device made one of them already, the INSERT
    fails on its key, the transaction is rolled back and the push runs again, the
    batch looked up and merged (a failure kept, the rest created). Nothing of the
    first run stays: no row, no audit entry, not the device's registration (this
    push is the device's first request), and a retry answers the same."""
    from server.audit.models import AuditEntry
    from server.audit.sync_writes import MANY
    from sync.tables import devices

    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_assistant", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()
    door = answer(a, insp, "door", value="pass")
    answer(a, insp, "window", value="pass")
    assert [r.status for r in await a.push()] == ["applied", "applied"]
    # B answers offline, not having seen A's answers: no base.
    b_door = answer(b, insp, "door", value="fail", note="门锁损坏 broken lock")
    flatness = answer(b, insp, "flatness", value=3)
    assert b_door == door and not any(m.base for m in b.outbox)

    import sync.push

    async def not_here(*_args: Any) -> Any:
        raise AssertionError("the batch is merged as a batch, not one mutation at a time")

    runs: list[bool] = []
    run_once = sync.push._push

    async def counted(*args: Any, new_rows: bool) -> Any:
        runs.append(new_rows)
        return await run_once(*args, new_rows=new_rows)

    monkeypatch.setattr(sync.push, "apply_one", not_here)
    monkeypatch.setattr(sync.push, "_push", counted)
    b.lose_next_answer = True
    with pytest.raises(TransportError):
        await b.push()
    res = await b.push()  # the retry: answered from what the first push stored
    assert runs == [True, False, True]  # new rows tried, then looked up; the retry applies nothing
    assert [(r.status, r.code) for r in res] == [("conflict", "merged"), ("applied", None)]
    await db.rollback()
    row = await db.get(ItemResult, door)
    assert (row.value, row.note, row.needs_review) == ("fail", "门锁损坏 broken lock", True)
    assert (await db.get(ItemResult, flatness)).value == 3
    assert await count(db, select(func.count()).select_from(devices).where(devices.c.device_id == "pad-b")) == 1
    assert await db.scalar(select(devices.c.last_mutation_id).where(devices.c.device_id == "pad-b")) == 2
    by_b = (await db.scalars(select(AuditEntry).where(AuditEntry.device_id == "pad-b"))).all()
    assert sorted((e.action, e.entity_id) for e in by_b) == sorted([("update", str(door)), ("create", str(flatness))])
    assert MANY not in {e.entity_id for e in by_b}
    n = await count(db, select(func.count()).select_from(ItemResult).where(ItemResult.inspection_id == insp))
    assert n == 3


async def test_pass_versus_fail_keeps_the_failure_flags_and_records_conflict(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_manager", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    rid = answer(a, insp, "window", value="pass")
    await a.sync()
    await b.pull()
    a.put("item_result", rid, value="fail")  # A finds a crack
    b.put("item_result", rid, value="pass")  # B, stale, says pass
    await a.sync()
    results_b = await b.push()
    assert results_b[-1].status == "conflict"
    await db.rollback()
    row = await db.get(ItemResult, rid)
    assert row.value == "fail"
    assert row.needs_review is True
    c = (await db.execute(select(conflicts).where(conflicts.c.entity_id == rid))).one()
    assert (c.field, c.kind, c.server_value, c.incoming_value, c.status) == (
        "value",
        "failure_kept",
        "fail",
        "pass",
        "open",
    )
    assert c.device_id == "pad-b"
    # The other order: the failure arrives second over a stale pass → failure wins, recorded.
    rid2 = answer(a, insp, "door", value="pass")
    await a.sync()
    await b.pull()
    b.put("item_result", rid2, value="pass")
    b.put("item_result", rid2, note="ok")
    a.put("item_result", rid2, value="fail")
    await b.sync()
    await a.sync()
    await db.rollback()
    row2 = await db.get(ItemResult, rid2)
    assert row2.value == "fail"


async def test_a_device_correcting_its_own_fail_before_submit_is_not_a_conflict(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    rid = answer(a, insp, "window", value="fail")
    await a.sync()
    a.put("item_result", rid, value="pass")
    await a.sync()
    await db.rollback()
    assert (await db.get(ItemResult, rid)).value == "pass"
    assert await count(db, select(func.count()).select_from(conflicts)) == 0
    answer(a, insp, "door", value="pass")
    answer(a, insp, "flatness", value=3)
    a.submit("inspection", insp)
    await a.sync()
    # Corrected to pass before submission: no ticket.
    assert await count(db, select(func.count()).select_from(Ticket)) == 0


async def test_photos_and_notes_are_add_wins(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_manager", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    rid = answer(a, insp, "door", value="fail", photos=["p1"], note="裂缝")
    await a.sync()
    await b.pull()
    a.put("item_result", rid, photos=["p1", "p2"], note="裂缝 3mm")
    b.put("item_result", rid, photos=[], note="")  # stale device removes all: must not delete
    await a.sync()
    await b.sync()
    await db.rollback()
    row = await db.get(ItemResult, rid)
    assert row.photos == ["p1", "p2"]
    assert row.note == "裂缝 3mm"
    # Concurrent different notes: both kept.
    await a.pull()
    await b.pull()
    a.put("item_result", rid, note="A: 宽 3mm")
    b.put("item_result", rid, note="B: 长 20cm", photos=["p1", "p2", "p3"])
    await a.sync()
    await b.sync()
    await db.rollback()
    row = await db.get(ItemResult, rid)
    assert "A: 宽 3mm" in row.note and "B: 长 20cm" in row.note
    assert row.photos == ["p1", "p2", "p3"]


async def test_numbers_keep_latest_received_and_record_both(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_manager", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    rid = answer(a, insp, "flatness", value=2)
    await a.sync()
    await b.pull()
    a.put("item_result", rid, value=3)
    b.put("item_result", rid, value=1)
    await a.sync()
    await b.sync()
    await db.rollback()
    assert (await db.get(ItemResult, rid)).value == 1
    c = (await db.execute(select(conflicts).where(conflicts.c.entity_id == rid))).one()
    assert (c.server_value, c.incoming_value, c.kind) == (3, 1, "latest_wins")


async def test_lost_response_then_retry_applies_once(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    fill_passing(a, insp)
    answer(a, insp, "window", value="fail")
    a.submit("inspection", insp)
    a.lose_next_answer = True
    with pytest.raises(TransportError):
        await a.push()
    assert len(a.outbox) == 6  # the device does not know it was applied
    first = await count(db, select(func.count()).select_from(results))
    again = await a.push()
    assert again == [MutationResult(id=i, status="applied") for i in range(1, 7)]  # as the lost answer said
    assert await count(db, select(func.count()).select_from(results)) == first
    assert await count(db, select(func.count()).select_from(Inspection)) == 1
    assert await count(db, select(func.count()).select_from(ItemResult)) == 3
    assert await count(db, select(func.count()).select_from(Ticket)) == 1
    # Replaying the very same batch by hand changes nothing either.
    status, body = await call(
        a,
        "/api/sync/push",
        {"protocol": 2, "device_id": a.device_id, "mutations": [msgspec.to_builtins(m) for m in a.journal]},
    )
    assert status == 200, body
    assert [r["id"] for r in body["results"]] == [1, 2, 3, 4, 5, 6]
    assert all(r["status"] == "applied" for r in body["results"])
    assert await count(db, select(func.count()).select_from(results)) == first
    assert await count(db, select(func.count()).select_from(Inspection)) == 1
    assert await count(db, select(func.count()).select_from(ItemResult)) == 3
    assert await count(db, select(func.count()).select_from(Ticket)) == 1


async def test_gap_is_refused_duplicates_ignored_bad_mutation_does_not_block(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)  # 1
    answer(a, insp, "door", value="maybe")  # 2: not a pass/fail value → rejected
    answer(a, insp, "window", value="pass")  # 3: fine
    body = {
        "protocol": 2,
        "device_id": "pad-a",
        "mutations": [{"id": 3, "op": "put", "entity": "inspection", "key": str(insp), "fields": {}}],
    }
    # k+2 before k+1: refused, nothing applied.
    status, data = await call(a, "/api/sync/push", body)
    assert status == 409
    assert data["expected"] == 1
    res = await a.push()
    assert [(r.id, r.status) for r in res] == [(1, "applied"), (2, "rejected"), (3, "applied")]
    assert "door" in (res[1].reason or "") or "value" in (res[1].reason or "")
    # A duplicate batch is answered from the records, not applied again.
    status, data = await call(
        a,
        "/api/sync/push",
        {
            "protocol": 2,
            "device_id": "pad-a",
            "mutations": [{"id": 2, "op": "put", "entity": "item_result", "key": str(insp), "fields": {"value": "x"}}],
        },
    )
    assert status == 200
    assert data["results"] == [{"id": 2, "status": "rejected", "reason": res[1].reason, "code": res[1].code}]
    assert data["last_mutation_id"] == 3


async def test_a_misshapen_push_is_a_422_naming_the_field_and_applies_nothing(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """A well-formed push is decoded straight into its Struct; any other body takes
    the framework's way, whose 422 names the field (and whose lax reading of a
    number sent as text still applies)."""
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    good = {"id": 1, "op": "put", "entity": "inspection", "key": str(insp), "fields": a.outbox[0].fields}
    for body, field in (
        ({"protocol": 3, "device_id": "pad-a", "mutations": [{**good, "key": "not-a-uuid"}]}, "mutations[0].key"),
        ({"protocol": 3, "device_id": "pad-a", "mutations": [good], "extra": 1}, "extra"),
    ):
        status, data = await call(a, "/api/sync/push", body)
        assert status == 422, data
        assert [e["field"] for e in data["errors"]] == [field]
    assert await count(db, select(func.count()).select_from(Inspection)) == 0
    status, data = await call(a, "/api/sync/push", {"protocol": "3", "device_id": "pad-a", "mutations": [good]})
    assert status == 200 and data["results"] == [{"id": 1, "status": "applied"}]
    assert await count(db, select(func.count()).select_from(Inspection)) == 1


async def test_unsupported_protocol_is_426_and_applies_nothing(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    body = {
        "protocol": 99,
        "device_id": "pad-a",
        "mutations": [{"id": 1, "op": "put", "entity": "inspection", "key": str(insp), "fields": a.outbox[0].fields}],
    }
    status, data = await call(a, "/api/sync/push", body)
    assert status == 426
    assert data["supported"] == {"min": 2, "max": 3}
    # Protocol 1 is now too old, for pull as for push.
    status, data = await call(a, "/api/sync/push", {**body, "protocol": 1})
    assert status == 426
    status, data = await call(a, "/api/sync/pull", {"protocol": 1, "device_id": "pad-a"})
    assert status == 426
    assert await count(db, select(func.count()).select_from(Inspection)) == 0
    # The previous protocol is still accepted: a device on protocol 2 pushes, and
    # pulls pages of changes (not runs) that give it the same copy as protocol 3's.
    old = await device(client, "engineer", setup["pw"], "pad-old", protocol=2)
    new_inspection(old, setup["tv"], setup["unit"].id)
    assert (await old.push())[0].status == "applied"
    status, page = await call(old, "/api/sync/pull", {"protocol": 2, "device_id": "pad-old"})
    assert status == 200 and page["protocol"] == 2 and page["changes"] and "runs" not in page
    await old.pull()
    await a.pull()
    assert old.replica == a.replica and old.replica["inspection"]


async def test_device_id_must_match_token(client: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    status, data = await call(a, "/api/sync/push", {"protocol": 2, "device_id": "pad-z", "mutations": []})
    assert status == 422
    assert "device" in data["detail"]


async def test_submitted_inspection_refuses_late_edits_but_keeps_them(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_assistant", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    fill_passing(a, insp)
    await a.sync()
    await b.pull()
    a.submit("inspection", insp)
    await a.sync()
    rid = answer(b, insp, "door", value="fail", note="late: 门锁坏")
    res = await b.push()
    assert res[-1].status == "conflict" and res[-1].code == "late_edit"
    await db.rollback()
    assert (await db.get(ItemResult, rid)).value == "pass"
    kept = (await db.execute(select(conflicts).where(conflicts.c.entity_id == rid, conflicts.c.field == "value"))).one()
    assert kept.incoming_value == "fail" and kept.kind == "late_edit" and kept.status == "open"
    # A manager resolves it by taking the device's value: the defect now counts,
    # a ticket opens, and the resolution syncs to every device.
    m = await device(client, "cs_manager", setup["pw"], "desk")
    await m.pull()
    assert str(kept.id) in m.replica["conflict"]
    m.resolve(kept.id, "incoming")
    assert (await m.push())[0].status == "applied"
    await db.rollback()
    assert (await db.get(ItemResult, rid)).value == "fail"
    assert await count(db, select(func.count()).select_from(Ticket)) == 1
    await b.pull()
    assert b.replica["item_result"][str(rid)]["value"] == "fail"
    # A non-manager cannot resolve.
    b.resolve(kept.id, "server")
    assert (await b.push())[-1].status == "rejected"


async def test_device_clocks_do_not_change_merge_results(client: Any, db: Any, setup: dict[str, Any]) -> None:
    from datetime import UTC, datetime, timedelta

    outcomes = []
    for skew_a, skew_b in [(timedelta(0), timedelta(0)), (timedelta(days=365), timedelta(days=-1))]:
        a = await device(
            client, "engineer", setup["pw"], f"pad-a{skew_a.days}", clock=lambda s=skew_a: datetime.now(UTC) + s
        )
        b = await device(
            client, "cs_manager", setup["pw"], f"pad-b{skew_a.days}", clock=lambda s=skew_b: datetime.now(UTC) + s
        )
        insp = new_inspection(a, setup["tv"], setup["unit"].id)
        rid = answer(a, insp, "flatness", value=2)
        await a.sync()
        await b.pull()
        a.put("item_result", rid, value=3)
        b.put("item_result", rid, value=1)
        await a.sync()
        await b.sync()
        await db.rollback()
        outcomes.append((await db.get(ItemResult, rid)).value)
    assert outcomes == [1, 1]


async def test_a_batch_of_answers_is_applied_at_once_with_the_same_results(
    client: Any, db: Any, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push of answers only takes the batch path (no savepoint per mutation) and
    gives what one-at-a-time would: merges, conflicts, a repeated record in one batch."""
    import sync.push

    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_manager", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.sync()
    await b.pull()
    rid = answer(b, insp, "window", value="pass")
    await b.sync()
    await a.pull()
    b.put("item_result", rid, value="fail")  # b moves on: a is now stale on the window
    await b.push()

    async def one_at_a_time(*_args: Any) -> Any:
        raise AssertionError("a clean batch of answers must not fall back to one savepoint per mutation")

    monkeypatch.setattr(sync.push, "apply_one", one_at_a_time)
    door = answer(a, insp, "door", value="pass")
    answer(a, insp, "door", value="fail", note="门锁坏")  # the same new record twice in one batch
    answer(a, insp, "window", value="pass")  # stale pass over b's failure
    res = await a.push()
    assert [(r.status, r.code) for r in res] == [("applied", None), ("applied", None), ("conflict", "merged")]
    await db.rollback()
    row = await db.get(ItemResult, door)
    assert (row.value, row.note) == ("fail", "门锁坏")
    assert (await db.get(ItemResult, rid)).value == "fail"
    kept = (await db.execute(select(conflicts).where(conflicts.c.entity_id == rid))).all()
    assert [(c.kind, c.server_value, c.incoming_value) for c in kept] == [("failure_kept", "fail", "pass")]


async def test_a_batch_of_new_answers_is_written_as_rows_audited_and_stamped(
    client: Any, db: Any, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """New answers only: one INSERT for the batch (no ORM object, no per-mutation
    savepoint) and one audit entry holding every row, yet each record's history
    (GET /api/audit?entity_id=) shows its creation with who, which device and its
    values; the rows are stamped and reach another device's pull."""
    import sync.push
    from server.audit.models import AuditEntry
    from server.audit.sync_writes import MANY
    from tests.factories import auth_headers, other_company

    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_assistant", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()

    async def not_here(*_args: Any) -> Any:
        raise AssertionError("a batch of new answers is written as rows")

    monkeypatch.setattr(sync.push, "apply_one", not_here)
    monkeypatch.setattr(sync.push, "_create", not_here)
    monkeypatch.setattr(sync.push, "_checked_create", not_here)  # checked at once (`checked_creates`)
    ids = [
        answer(a, insp, "door", value="pass"),
        answer(a, insp, "window", value="fail", note="窗框渗水", severity="重要"),
        answer(a, insp, "flatness", value=3),
    ]
    res = await a.push()
    assert [r.status for r in res] == ["applied"] * 3
    await db.rollback()
    rows = {r.id: r for r in (await db.scalars(select(ItemResult).where(ItemResult.id.in_(ids)))).all()}
    assert [(rows[i].value, rows[i].note) for i in ids] == [("pass", None), ("fail", "窗框渗水"), (3, None)]
    assert all(r.version > 0 and r.answered_by is not None and r.photos == [] for r in rows.values())
    # One entry for the batch's INSERT (every row gives every column), holding each row.
    batches = (await db.scalars(select(AuditEntry).where(AuditEntry.entity == "item_result"))).all()
    assert {(e.action, e.entity_id, e.username, e.device_id) for e in batches} == {
        ("create", MANY, "engineer", "pad-a")
    }
    assert sorted(k for e in batches for k in e.after["records"]) == sorted(str(i) for i in ids)
    assert len(batches) == 1
    assert {e.at for e in batches} == {rows[ids[0]].created_at}
    manager = await auth_headers(client, "cs_manager", setup["pw"])
    histories = []
    for i in ids:
        resp = await client.get("/api/audit", params={"entity_id": str(i)}, headers=manager)
        assert resp.status_code == 200, resp.text
        histories.append(
            [(e["action"], e["entity_id"], e["username"], e["device_id"], e["after"]["value"]) for e in resp.json()]
        )
    assert histories == [
        [("create", str(ids[0]), "engineer", "pad-a", "pass")],
        [("create", str(ids[1]), "engineer", "pad-a", "fail")],
        [("create", str(ids[2]), "engineer", "pad-a", 3)],
    ]
    assert (await client.get("/api/audit", params={"entity_id": str(ids[1])}, headers=manager)).json()[0]["after"][
        "note"
    ] == "窗框渗水"
    # Another company's admin finds nothing of it.
    await db.rollback()  # (SQLite: a write from an old read snapshot is refused)
    await other_company(db, setup["pw"])
    await db.commit()
    theirs = await client.get(
        "/api/audit", params={"entity_id": str(ids[0])}, headers=await auth_headers(client, "other_admin", setup["pw"])
    )
    assert (theirs.status_code, theirs.json()) == (200, [])
    await b.pull()
    assert {str(i) for i in ids} <= set(b.replica["item_result"])
    assert b.replica["item_result"][str(ids[1])]["note"] == "窗框渗水"


async def test_a_refused_answer_sends_its_batch_one_at_a_time(client: Any, db: Any, setup: dict[str, Any]) -> None:
    from server.audit.models import AuditEntry

    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()
    good1 = answer(a, insp, "door", value="pass")
    bad = answer(a, insp, "window", value="maybe")  # not pass/fail: rejected
    good2 = answer(a, insp, "flatness", value=3)
    res = await a.push()
    assert [r.status for r in res] == ["applied", "rejected", "applied"]
    await db.rollback()
    assert (await db.get(ItemResult, good1)).value == "pass"
    assert await db.get(ItemResult, bad) is None
    assert (await db.get(ItemResult, good2)).value == 3
    audited = {e.entity_id for e in (await db.scalars(select(AuditEntry).where(AuditEntry.entity == "item_result")))}
    assert audited == {str(good1), str(good2)}


async def test_an_answer_whose_id_is_not_its_address_uuid5_is_rejected(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """Two devices answering one item must write one record: an id made any other
    way is refused (naming the id expected), alone or in a batch of new answers,
    and the answers after it are applied."""
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()
    address = {"inspection_id": str(insp), "section_key": "main", "instance_id": "", "item_key": "window"}
    for stray in (uuid.uuid4(), item_result_id(insp, "main", "", "door")):  # random; another item's
        good = answer(a, insp, "flatness", value=3)
        a.put("item_result", stray, value="pass", **address)
        res = await a.push()
        assert [r.status for r in res] == ["applied", "rejected"]
        assert res[1].code == "invalid"
        assert str(item_result_id(insp, "main", "", "window")) in (res[1].reason or "")
        await db.rollback()
        assert (await db.get(ItemResult, good)).value == 3
        assert await db.get(ItemResult, stray) is None


async def test_an_answer_with_a_nul_character_is_rejected_and_the_queue_goes_on(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """PostgreSQL stores U+0000 in neither text nor JSON: without this check the
    push failed with a 500 on every retry and the device's queue never moved."""
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()
    answer(a, insp, "door", value="fail", note="空鼓\x00")
    answer(a, insp, "window", value="pass", photos=["a\x00"])
    good = answer(a, insp, "flatness", value=3)
    res = await a.push()
    assert [r.status for r in res] == ["rejected", "rejected", "applied"]
    assert [r.reason for r in res[:2]] == [
        "fields.note: text may not contain the NUL character (U+0000)",
        "fields.photos: text may not contain the NUL character (U+0000)",
    ]
    await db.rollback()
    assert (await db.get(ItemResult, good)).value == 3


async def test_an_inspection_on_an_unknown_or_another_companys_template_version_is_rejected(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """Versions are read once per process and kept (`templating.template_index`);
    whether the caller's company may use one is still decided on every push."""
    import msgspec

    from checklists.loader import parse_template
    from server.templates import services as templates
    from tests.factories import other_company
    from tests.sync_harness import SMALL_TEMPLATE

    theirs = await other_company(db, setup["pw"])
    small = parse_template(SMALL_TEMPLATE.read_text(encoding="utf-8"), "sync_small.json")
    title = msgspec.structs.replace(small.title, zh="他们的模板 theirs")
    version = await templates.publish(db, msgspec.structs.replace(small, title=title), company_id=theirs["company"].id)
    await db.commit()
    a = await device(client, "engineer", setup["pw"], "pad-a")
    for tv in (setup["tv"], uuid.uuid4(), version.id, setup["tv"]):  # (the first reads and keeps the version)
        new_inspection(a, tv, setup["unit"].id)
    res = await a.push()
    assert [(r.status, r.reason) for r in res] == [
        ("applied", None),
        ("rejected", "template_version_id: unknown template version"),
        ("rejected", "template_version_id: unknown template version"),
        ("applied", None),
    ]


async def test_a_value_its_column_cannot_hold_is_rejected_naming_the_field_and_the_queue_goes_on(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """A location longer than its column, or a number where text goes: PostgreSQL
    refused the row and the push failed (500) on every retry, stopping the device's
    queue; SQLite stored it. Now each is rejected naming the field — in a batch of new
    answers, in an update — and the mutations after it are applied."""
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()
    door = answer(a, insp, "door", value="pass", location="客" * 101)
    window = answer(a, insp, "window", value="pass", location="客" * 100)
    res = await a.push()
    assert [(r.status, r.code, r.reason) for r in res] == [
        ("rejected", "invalid", "location: at most 100 characters (got 101)"),
        ("applied", None, None),
    ]
    a.put("item_result", window, location=12)
    a.put("item_result", window, instance_label=["a"])
    a.put("item_result", window, note="窗框渗水")
    res = await a.push()
    assert [(r.status, r.reason) for r in res] == [
        ("rejected", "location: expected text"),
        ("rejected", "instance_label: expected text"),
        ("applied", None),
    ]
    await db.rollback()
    row = await db.get(ItemResult, window)
    assert (row.location, row.instance_label, row.note) == ("客" * 100, None, "窗框渗水")
    assert await db.get(ItemResult, door) is None


async def test_a_resolution_sets_a_value_of_the_columns_type_or_is_rejected_naming_the_field(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """A conflict keeps its values as the devices saw them (times and ids as text).
    Resolving one on a time set that text on the record and the push failed (500)
    on every retry, on both databases, stopping the manager's queue; a value chosen
    freely was not checked at all. Now the value is turned back into the column's
    type and checked as a device's write (an answer against its template item)."""
    from datetime import UTC, datetime, timedelta, timezone

    a = await device(client, "engineer", setup["pw"], "pad-a")
    m = await device(client, "cs_manager", setup["pw"], "pad-m")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    rid = answer(a, insp, "door", value="fail", answered_at=start.isoformat(), location="客厅")
    await a.sync()
    await m.pull()
    later = {
        a: (start + timedelta(hours=1), "卧室 bedroom", "pass"),
        m: (start + timedelta(hours=2), "厨房 kitchen", "fail"),
    }
    for dev, (when, where, value) in later.items():
        local = when.astimezone(timezone(timedelta(hours=8))).isoformat()
        dev.put("item_result", rid, answered_at=local, location=where, value=value)
    await a.push()  # a passes the door
    await m.push()  # m, not having seen it, fails it again: a conflict on each field
    await m.pull()
    kept = {c["field"]: uuid.UUID(k) for k, c in m.replica["conflict"].items() if c["status"] == "open"}
    assert set(kept) == {"answered_at", "location", "value"}
    m.resolve(kept["answered_at"], "server")  # a's time, kept as text with its +08:00
    m.resolve(kept["location"], "value", value="客" * 101)
    m.resolve(kept["value"], "value", value="maybe")
    m.resolve(kept["value"], "value", value="pass")
    res = await m.push()
    assert [(r.status, r.reason) for r in res] == [
        ("applied", None),
        ("rejected", "location: at most 100 characters (got 101)"),
        ("rejected", "resolution.value: expected one of ['pass', 'fail', 'na']"),
        ("applied", None),
    ]
    await db.rollback()
    row = await db.get(ItemResult, rid)
    assert (row.answered_at, row.location, row.value) == (start + timedelta(hours=1), "厨房 kitchen", "pass")


async def test_half_an_emoji_in_a_note_arrives_as_a_replacement_character_and_the_queue_goes_on(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """A tablet cut a note in the middle of an emoji: JSON.stringify writes the lone
    half as an escape that msgspec refuses, and every retry of the push was refused
    with it. Now the half becomes U+FFFD (as the browser's toWellFormed() would make
    it) and the answer — a defect — arrives; broken JSON is still refused."""
    import json

    from tests.factories import auth_headers

    headers = {**await auth_headers(client, "engineer", setup["pw"], "pad-emoji"), "Content-Type": "application/json"}
    insp = uuid.uuid4()
    rid = item_result_id(insp, "main", "", "door")
    address = {"inspection_id": str(insp), "section_key": "main", "instance_id": "", "item_key": "door"}
    mutations = [
        {
            "id": 1,
            "op": "put",
            "entity": "inspection",
            "key": str(insp),
            "fields": {
                "kind": "unit_inspection",
                "template_version_id": str(setup["tv"]),
                "target_type": "unit",
                "target_id": str(setup["unit"].id),
                "status": "in_progress",
            },
        },
        {
            "id": 2,
            "op": "put",
            "entity": "item_result",
            "key": str(rid),
            "fields": {**address, "value": "fail", "note": "门框开裂 \ud83d"},  # half of 😀 (U+1F600)
        },
    ]
    body = json.dumps({"protocol": 2, "device_id": "pad-emoji", "mutations": mutations}).encode()
    assert b"\\ud83d" in body  # the escape as JavaScript writes it
    for _ in range(2):  # and a retry of the same body: the same answer
        resp = await client.post("/api/sync/push", content=body, headers=headers)
        assert resp.status_code == 200, resp.text
        assert [r["status"] for r in resp.json()["results"]] == ["applied", "applied"]
    await db.rollback()
    row = await db.get(ItemResult, rid)
    assert (row.value, row.note) == ("fail", "门框开裂 \ufffd")
    broken = await client.post("/api/sync/push", content=body[:-1], headers=headers)
    assert broken.status_code == 400


async def test_after_a_server_restore_the_device_resends_what_the_server_lost(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    """The server is restored from a backup taken before a device's last push: the
    device's numbers are ahead, the server answers 409 with the number it expects,
    and the device resends the lost mutations from its journal — the defect it
    recorded reaches the server again."""
    from sqlalchemy import delete, update

    from sync.tables import devices

    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.sync()  # mutation 1 is in the backup
    rid = answer(a, insp, "door", value="fail", note="门框开裂")
    await a.sync()  # mutation 2 is not
    # "Restore": the answer and the device's progress roll back to the backup.
    await db.execute(delete(ItemResult).where(ItemResult.id == rid).execution_options(sync_touched=True))
    await db.execute(update(devices).where(devices.c.device_id == "pad-a").values(last_mutation_id=1))
    await db.execute(delete(results).where(results.c.device_id == "pad-a", results.c.mutation_id > 1))
    await db.commit()
    answer(a, insp, "window", value="pass")  # mutation 3, made after the restore
    res = await a.push()
    assert [r.id for r in res] == [2, 3]
    await db.rollback()
    row = await db.get(ItemResult, rid)
    assert (row.value, row.note) == ("fail", "门框开裂")


async def test_checkpoint_scans_prove_presence(client: Any, db: Any, setup: dict[str, Any]) -> None:
    """A scan arrives through sync with the device's time, the server's receive time
    and the position; unknown codes and other companies' codes are refused; a scan
    never changes."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from server.inspections.models import CheckpointScan
    from server.places.models import Facility
    from tests.factories import other_company

    other = await other_company(db, "other-pass-1")
    facility = (await db.scalars(select(Facility).limit(1))).one()
    code, facility_id = facility.code, facility.id
    await db.commit()
    a = await device(client, "cs_assistant", setup["pw"], "pad-patrol")
    scanned_at = datetime.now(UTC) - timedelta(days=2)  # made offline two days ago
    scan = uuid.uuid4()
    a.put(
        "checkpoint_scan",
        scan,
        code=code.lower(),
        scanned_at=scanned_at.isoformat(),
        latitude=30.6276,
        longitude=119.7388,
        accuracy_m=8.5,
    )
    a.put("checkpoint_scan", uuid.uuid4(), code="FZZZZZZZZ", scanned_at=scanned_at.isoformat())
    a.put("checkpoint_scan", uuid.uuid4(), code=other["unit"].code, scanned_at=scanned_at.isoformat())
    a.put("checkpoint_scan", scan, latitude=0.0, longitude=0.0)
    res = await a.push()
    assert [(r.status, r.code) for r in res] == [
        ("applied", None),
        ("rejected", "not_found"),
        ("rejected", "not_found"),
        ("conflict", "late_edit"),
    ]
    await db.rollback()
    row = await db.get(CheckpointScan, scan)
    assert (row.place_type, row.place_id, row.device_id) == ("facility", facility_id, "pad-patrol")
    assert row.scanned_at == scanned_at
    assert row.received_at > scanned_at + timedelta(days=1)
    assert (row.latitude, row.longitude, row.accuracy_m) == (30.6276, 119.7388, 8.5)


async def test_two_writers_creating_the_same_answer_at_once_deadlock_and_the_push_runs_again(
    client: Any, db: Any, settings: Any, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of new answers claims the project's clock before its INSERT. Another
    writer (another process: its own thread, loop and connections) that has already
    written one of those answers, not yet committed, and stamps at commit then waits
    for that clock while the push waits for its row: PostgreSQL aborts the push's
    transaction, the push runs again from the start, finds the record and merges.
    The device gets its answer; nothing is lost or doubled."""
    import asyncio
    import threading

    from sqlalchemy import text

    import sync.push
    from server.db.engine import create_engine, create_session_factory

    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs two concurrent writers: PostgreSQL only (SQLite serialises writers)")
    attempts = 0
    run_once = sync.push._push

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal attempts
        attempts += 1
        return await run_once(*args, **kwargs)

    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()
    door = answer(a, insp, "door", value="fail", note="门锁坏")
    window = answer(a, insp, "window", value="pass")
    monkeypatch.setattr(sync.push, "_push", counted)
    inserted = threading.Event()
    other_said: dict[str, Any] = {}

    async def other_writer() -> None:
        engine = create_engine(settings.database_url)
        sessions = create_session_factory(engine)
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        try:
            async with sessions() as other, sessions() as watch:
                # This writer never detects the deadlock itself: the push's transaction is the one aborted.
                await other.execute(text("SET LOCAL deadlock_timeout = '20s'"))
                project_id = setup["demo"]["project"].id
                other.add(
                    ItemResult(id=door, project_id=project_id, inspection_id=insp, section_key="main", item_key="door")
                )
                await other.flush()
                inserted.set()
                for _ in range(400):
                    if await watch.scalar(text(waiting)):
                        break
                    await asyncio.sleep(0.02)
                else:
                    other_said["error"] = "the push never waited for this writer's row"
                    return
                await other.commit()  # stamps at commit: waits for the clock the push holds
                other_said["committed"] = True
        finally:
            await engine.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(other_writer()))
    thread.start()
    try:
        assert await asyncio.to_thread(inserted.wait, 30)
        results = await a.push()
    finally:
        await asyncio.to_thread(thread.join, 60)
    assert other_said == {"committed": True}
    assert attempts == 2
    assert [(r.status, r.code) for r in results] == [("applied", None), ("applied", None)]
    await db.rollback()
    row = await db.get(ItemResult, door)
    assert (row.value, row.note) == ("fail", "门锁坏")  # the device's answer merged into the other's record
    assert (await db.get(ItemResult, window)).value == "pass"
    assert await count(db, select(func.count()).select_from(ItemResult).where(ItemResult.id == door)) == 1
