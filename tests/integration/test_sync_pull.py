"""Pull: the feed never skips, pages are bounded, deletes and scope changes
reach devices, old cursors reset, external parties see only their own work."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from server.inspections.models import Inspection, ItemResult
from server.places.models import Building, Unit
from sync.horizon import purge_tombstones
from sync.tables import devices
from tests.factories import auth_headers, other_company
from tests.sync_harness import answer, call, device, fill_passing, new_inspection


async def test_first_pull_brings_the_whole_project_in_bounded_pages(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    dev = await device(client, "engineer", setup["pw"], "pad-a")
    pages: list[int] = []
    cursor = None
    seen: list[str] = []
    while True:
        status, body = await call(
            dev, "/api/sync/pull", {"protocol": 2, "device_id": "pad-a", "cursor": cursor, "max_bytes": 16_384}
        )
        assert status == 200
        pages.append(len(msgspec.json.encode(body["changes"])))
        seen += [c["id"] for c in body["changes"]]
        cursor = body["cursor"]
        await db.rollback()
        pulled_at = await db.scalar(select(devices.c.last_pull_at).where(devices.c.device_id == "pad-a"))
        if not body["has_more"]:
            # The last page: the last mutation id, the templates, the pull recorded.
            assert body["last_mutation_id"] == 0
            assert {t["id"] for t in body["templates"]} >= {str(setup["tv"])}
            assert pulled_at is not None
            break
        # Pages before it carry neither, and write nothing.
        assert body["last_mutation_id"] is None
        assert body["templates"] == []
        assert pulled_at is None
    await db.rollback()
    units = (await db.scalars(select(Unit.id))).all()
    assert len(pages) >= 2
    assert max(pages) <= 16_384
    assert len(seen) == len(set(seen))
    assert {str(u) for u in units} <= set(seen)
    # Nothing new: an empty page.
    status, body = await call(dev, "/api/sync/pull", {"protocol": 2, "device_id": "pad-a", "cursor": cursor})
    assert body["changes"] == [] and body["has_more"] is False


async def _all_pages(
    dev: Any, protocol: int, max_bytes: int, each: Callable[[dict[str, Any]], None] | None = None
) -> list[dict[str, Any]]:
    """Every page of a first pull; `each` is called with each page as it arrives."""
    pages, cursor = [], None
    while True:
        body = {"protocol": protocol, "device_id": dev.device_id, "cursor": cursor, "max_bytes": max_bytes}
        status, page = await call(dev, "/api/sync/pull", body)
        assert status == 200 and page["protocol"] == protocol
        if each is not None:
            each(page)
        pages.append(page)
        cursor = page["cursor"]
        if not page["has_more"]:
            return pages


def _as_changes(run: dict[str, Any]) -> list[dict[str, Any]]:
    """A protocol 3 run as the protocol 2 changes it stands for."""
    head = {"entity": run["entity"], "project_id": run["project_id"]}
    if "deleted" in run:
        return [{**head, "id": i, "version": v, "deleted": True} for i, v in run["deleted"]]
    names = run["columns"][2:]
    return [{**head, "id": r[0], "version": r[1], "data": dict(zip(names, r[2:], strict=True))} for r in run["rows"]]


async def test_protocol_3_pages_hold_protocol_2_changes_as_runs_in_fewer_bytes(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    fill_passing(a, insp)
    answer(a, insp, "door", value="fail", note="门框松动 loose frame")
    gone = new_inspection(a, setup["tv"], setup["unit"].id)
    await a.push()
    a.delete("inspection", gone)  # a soft delete: the row stays, marked deleted
    await a.push()
    headers = await auth_headers(client, "admin", setup["pw"], "desk")  # a hard delete: a tombstone
    victim = (await db.scalars(select(Unit.id).where(Unit.id != setup["unit"].id).limit(1))).one()
    await db.rollback()
    assert (await client.delete(f"/api/units/{victim}", headers=headers)).status_code == 204

    old = await _all_pages(a, 2, 16_384)
    new = await _all_pages(a, 3, 16_384)
    # The same changes, in the same order.
    changes = [c for page in old for c in page["changes"]]
    runs = [run for page in new for run in page["runs"]]
    assert [c for run in runs for c in _as_changes(run)] == changes
    assert all("changes" not in page for page in new)
    deleted = {(c["entity"], c["id"]) for c in changes if c.get("deleted")}
    assert {("inspection", str(gone)), ("unit", str(victim))} <= deleted
    # Runs are maximal: neighbours in a page differ in entity, project or kind.
    for page in new:
        kinds = [(r["entity"], r["project_id"], "deleted" in r) for r in page["runs"]]
        assert all(x != y for x, y in itertools.pairwise(kinds))
        assert all(r["columns"][:2] == ["id", "version"] for r in page["runs"] if "rows" in r)
    # Bounded by max_bytes with the runs' own keys counted, and about half the bytes.
    sizes = [len(msgspec.json.encode(page["runs"])) for page in new]
    assert max(sizes) <= 16_384
    assert sum(sizes) < 0.7 * sum(len(msgspec.json.encode(page["changes"])) for page in old)
    assert len(new) < len(old)
    # The last page carries the same last mutation id and templates.
    assert (new[-1]["last_mutation_id"], new[-1]["templates"]) == (old[-1]["last_mutation_id"], old[-1]["templates"])


async def test_tables_interleaved_in_versions_merge_in_order_each_row_read_once_a_page(
    client: Any, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pushes alternate inspections and their answers, so the feed alternates
    tables. Read 5 rows at a time, every table's buffer is refilled many times a
    page: the pages hold the same changes, in the same order, as pages read in
    batches of the default size, and within a page no row is read twice (a buffer's rest is kept for the
    page's next round, not read again)."""
    import sync.pull as pulling
    from server.syncing.registry import registry

    a = await device(client, "engineer", setup["pw"], "pad-a")
    for _ in range(6):
        fill_passing(a, new_inspection(a, setup["tv"], setup["unit"].id))
        await a.push()
    big = await _all_pages(a, 3, 16_384)

    monkeypatch.setattr(pulling, "ROWS_PER_QUERY", 5)
    read: list[Any] = []  # the ids of the rows read for the page being served
    rows = pulling._rows

    async def recorded(*args: Any) -> Any:
        got = await rows(*args)
        read.extend(r[0] for r in got)
        return got

    monkeypatch.setattr(pulling, "_rows", recorded)

    def no_row_read_twice(_page: dict[str, Any]) -> None:
        assert len(read) == len(set(read)), "a row was read twice for one page"
        read.clear()

    small = await _all_pages(a, 3, 16_384, each=no_row_read_twice)
    changes = [c for page in small for run in page["runs"] for c in _as_changes(run)]
    assert changes == [c for page in big for run in page["runs"] for c in _as_changes(run)]
    rank = {spec.name: spec.rank for spec in registry().all()}
    order = [(c["version"], rank[c["entity"]], c["id"]) for c in changes]
    assert order == sorted(order) and len(set(order)) == len(order)
    entities = [c["entity"] for c in changes if c["entity"] in ("inspection", "item_result")]
    switches = sum(x != y for x, y in itertools.pairwise(entities))
    assert switches >= 11  # (the tables do alternate: six inspections, each with its answers)


async def test_personal_data_only_to_roles_that_need_it(client: Any, setup: dict[str, Any]) -> None:
    eng = await device(client, "engineer", setup["pw"], "pad-e")
    con = await device(client, "contractor", setup["pw"], "pad-c")
    await eng.pull()
    await con.pull()
    uid = str(setup["unit"].id)
    assert "owner_name" in eng.replica["unit"][uid]
    assert "owner_name" not in con.replica["unit"][uid]
    assert "owner_phone" not in con.replica["unit"][uid]


async def test_deletes_reach_offline_devices_and_edits_do_not_resurrect(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_assistant", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    rid = answer(a, insp, "door", value="pass")
    await a.sync()
    await b.pull()
    assert str(insp) in b.replica["inspection"]
    # An admin deletes a unit on the web; A deletes the inspection; B is offline and edits it.
    headers = await auth_headers(client, "admin", setup["pw"], "desk")
    victim_id = (await db.scalars(select(Unit.id).where(Unit.id != setup["unit"].id).limit(1))).one()
    await db.rollback()
    assert (await client.delete(f"/api/units/{victim_id}", headers=headers)).status_code == 204
    a.delete("inspection", insp)
    await a.sync()
    b.put("item_result", rid, note="offline edit 离线修改")
    b.put("inspection", insp, title="B renames it")
    res = await b.push()
    assert [r.status for r in res] == ["conflict", "conflict"]
    await b.pull()
    assert str(insp) not in b.replica["inspection"]
    assert str(victim_id) not in b.replica["unit"]
    await db.rollback()
    assert (await db.get(Inspection, insp)).deleted is True
    assert (await db.get(Inspection, insp)).title is None
    assert (await db.get(ItemResult, rid)).note is None


async def test_a_cursor_the_server_did_not_make_is_a_422_naming_it(client: Any, db: Any, setup: dict[str, Any]) -> None:
    """Not base64, not the cursor's JSON, a version past what the database compares
    (it failed every pull with a 500: the device could never pull again), a rank
    out of range, a last id that is no id: each a clear 422 that says to pull again
    without a cursor; the cursors the server made still page on."""
    import base64
    import json

    headers = await auth_headers(client, "engineer", setup["pw"], "pad-c")
    project = str(setup["demo"]["project"].id)

    def made(position: list[Any]) -> str:
        raw = json.dumps({"v": 1, "p": {project: position}}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    async def pull(cursor: str | None) -> Any:
        body = {"protocol": 3, "device_id": "pad-c", "cursor": cursor}
        return await client.post("/api/sync/pull", json=body, headers=headers)

    strays = ["not base64!", made([1, 1]), made([2**70, 0, ""]), made([-1, 0, ""]), made([1, 10_001, ""])]
    strays += [made([1, 20, "x" * 40]), made([1, 20, "\x00"])]
    for cursor in strays:
        resp = await pull(cursor)
        assert resp.status_code == 422, (cursor, resp.status_code, resp.text)
        assert "pull again without a cursor" in resp.json()["detail"]
    first = await pull(None)
    assert first.status_code == 200
    assert (await pull(first.json()["cursor"])).status_code == 200


async def test_a_cursor_older_than_the_horizon_gets_a_reset(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    unit_id = setup["unit"].id
    project_id = setup["demo"]["project"].id
    await a.pull()
    old_cursor = a.cursor
    headers = await auth_headers(client, "admin", setup["pw"], "desk")
    victim_id = (await db.scalars(select(Unit.id).where(Unit.id != setup["unit"].id).limit(1))).one()
    await db.rollback()
    assert (await client.delete(f"/api/units/{victim_id}", headers=headers)).status_code == 204
    # Another writer moves the clock on, then the tombstone is purged.
    assert (
        await client.patch(f"/api/units/{unit_id}", json={"layout": "三室两厅"}, headers=headers)
    ).status_code == 200
    report = await purge_tombstones(db, datetime.now(UTC) + timedelta(seconds=1))
    assert report["tombstones"] == 1
    status, body = await call(a, "/api/sync/pull", {"protocol": 2, "device_id": "pad-a", "cursor": old_cursor})
    assert status == 200
    assert body["reset_projects"] == [str(project_id)]
    # The device drops that project and refills it; the deleted unit is gone.
    a.cursor = old_cursor
    await a.pull()
    assert str(victim_id) not in a.replica["unit"]
    assert a.replica["unit"][str(unit_id)]["layout"] == "三室两厅"


async def test_scope_grant_brings_a_project_whole_and_withdrawal_removes_it(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    admin = await auth_headers(client, "admin", setup["pw"], "desk")
    resp = await client.post("/api/projects", json={"name": "新项目 New Estate"}, headers=admin)
    assert resp.status_code == 201
    pid = resp.json()["id"]
    admin = await auth_headers(client, "admin", setup["pw"], "desk2")  # token now knows the new project
    b = await client.post("/api/buildings", json={"project_id": pid, "name": "A座"}, headers=admin)
    assert b.status_code == 201
    for room in ("101", "102"):
        r = await client.post(
            "/api/units", json={"building_id": b.json()["id"], "floor": 1, "room_no": room}, headers=admin
        )
        assert r.status_code == 201
    eng = await device(client, "engineer", setup["pw"], "pad-e")
    await eng.pull()
    assert pid not in eng.projects
    engineer_id = setup["demo"]["users"]["engineer"].id
    assert (
        await client.post(f"/api/projects/{pid}/members", json={"user_id": str(engineer_id)}, headers=admin)
    ).status_code == 201
    await eng.pull()
    assert pid in eng.projects
    assert sum(1 for k, p in eng.project_of.items() if p == pid and k[0] == "unit") == 2
    assert eng.replica["project"][pid]["name"] == "新项目 New Estate"
    # A push into the project works; then the grant is withdrawn.
    assert (await client.delete(f"/api/projects/{pid}/members/{engineer_id}", headers=admin)).status_code == 204
    status, body = await call(eng, "/api/sync/pull", {"protocol": 2, "device_id": "pad-e", "cursor": eng.cursor})
    assert status == 200
    assert body["removed_projects"] == [pid]
    await eng.pull()
    assert pid not in eng.projects
    assert not any(p == pid for p in eng.project_of.values())


async def test_push_outside_scope_is_rejected_and_the_queue_goes_on(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    other = await other_company(db, "x-password-1")
    a = await device(client, "engineer", setup["pw"], "pad-a")
    new_inspection(a, setup["tv"], other["unit"].id)  # another company's unit
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    res = await a.push()
    assert [r.status for r in res] == ["rejected", "applied"]
    assert res[0].code in {"not_found", "out_of_scope"}
    await db.rollback()
    assert await db.get(Inspection, insp) is not None


async def test_contractor_sees_only_its_own_tickets(client: Any, db: Any, setup: dict[str, Any]) -> None:
    eng = await device(client, "engineer", setup["pw"], "pad-e")
    insp = new_inspection(eng, setup["tv"], setup["unit"].id)
    fill_passing(eng, insp)
    answer(eng, insp, "door", value="fail")
    answer(eng, insp, "window", value="fail")
    eng.submit("inspection", insp)
    await eng.sync()
    tickets = eng.replica["ticket"]
    assert len(tickets) == 2
    contractor = setup["demo"]["users"]["contractor"]
    developer = setup["demo"]["users"]["developer_rep"]
    mgr = await device(client, "cs_manager", setup["pw"], "desk")
    await mgr.pull()
    window_ticket = next(k for k, t in tickets.items() if t["item_key"] == "window")
    door_ticket = next(k for k, t in tickets.items() if t["item_key"] == "door")
    import uuid as _uuid

    mgr.put(
        "ticket_event",
        _uuid.uuid4(),
        ticket_id=window_ticket,
        kind="assign",
        data={"assignee_org_id": str(contractor.org_id)},
    )
    assert (await mgr.push())[0].status == "applied"
    con = await device(client, "contractor", setup["pw"], "pad-c")
    dev = await device(client, "developer_rep", setup["pw"], "pad-d")
    await con.pull()
    await dev.pull()
    assert set(con.replica.get("ticket", {})) == {window_ticket}
    assert "inspection" not in con.replica and "item_result" not in con.replica
    # The door is the developer's (responsible developer); the window went to the contractor.
    assert door_ticket in dev.replica.get("ticket", {})
    assert window_ticket not in dev.replica.get("ticket", {})
    assert developer.org_id != contractor.org_id
    # The contractor reports a fix; it may not close the ticket.
    con.put("ticket_event", _uuid.uuid4(), ticket_id=window_ticket, kind="fix", note="已更换玻璃", photos=["ph1"])
    con.put("ticket_event", _uuid.uuid4(), ticket_id=window_ticket, kind="close")
    assert [r.status for r in await con.push()] == ["applied", "rejected"]
    await con.pull()
    assert con.replica["ticket"][window_ticket]["status"] == "fixed"
    # Another contractor's ticket never shows, and re-assigning away removes it from this one.
    mgr.put("ticket_event", _uuid.uuid4(), ticket_id=window_ticket, kind="verify_fail")
    mgr.put(
        "ticket_event",
        _uuid.uuid4(),
        ticket_id=window_ticket,
        kind="assign",
        data={"assignee_org_id": str(setup["demo"]["users"]["developer_rep"].org_id)},
    )
    await mgr.sync()
    await con.pull()
    assert window_ticket not in con.replica.get("ticket", {})


async def test_writers_committing_out_of_order_never_make_a_pull_skip(
    client: Any, db: Any, settings: Any, setup: dict[str, Any]
) -> None:
    """Two real connections: the first to start writing commits last. Pulls run in
    between; the device must end with every row."""
    from server.db.engine import create_engine, create_session_factory

    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs two concurrent writers: PostgreSQL only (SQLite serialises writers)")
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    dev = await device(client, "engineer", setup["pw"], "pad-x")
    await dev.pull()
    project_id = setup["demo"]["project"].id
    try:
        async with sessions() as s1, sessions() as s2:
            b1 = Building(project_id=project_id, name="T1 楼")
            s1.add(b1)
            await s1.flush()  # T1 started writing first …
            b2 = Building(project_id=project_id, name="T2 楼")
            s2.add(b2)
            await s2.flush()
            await s2.commit()  # … but T2 commits first
            await dev.pull()
            assert str(b2.id) in dev.replica["building"]
            assert str(b1.id) not in dev.replica["building"]
            # T1 commits now; a pull must still bring it, however the cursor moved.
            await s1.commit()
            await dev.pull()
            assert str(b1.id) in dev.replica["building"]
            # While one writer holds the project clock, another waits and a pull sees neither.
            b3 = Building(project_id=project_id, name="T3 楼")
            b4 = Building(project_id=project_id, name="T4 楼")
            s1.add(b3)
            await s1.flush()
            s2.add(b4)
            await s2.flush()
            commit_1 = asyncio.create_task(s1.commit())
            commit_2 = asyncio.create_task(s2.commit())
            await dev.pull()
            await asyncio.gather(commit_1, commit_2)
            await dev.pull()
            assert {str(b3.id), str(b4.id)} <= set(dev.replica["building"])
    finally:
        await engine.dispose()


async def test_a_pull_never_reports_a_mutation_without_its_effects(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    watcher = await device(client, "engineer", setup["pw"], "pad-a")  # the same tablet, a second request
    for i in range(40):
        key = new_inspection(a, setup["tv"], setup["unit"].id)
        if i % 4 == 0:
            answer(a, key, "door", value="pass")
    made_by = {m.id: str(m.key) for m in a.outbox}
    checked = 0

    async def pusher() -> None:
        while a.outbox:
            await a.push(batch=5)
            await asyncio.sleep(0)

    async def checker() -> None:
        nonlocal checked
        while a.outbox or checked == 0:
            status, body = await call(watcher, "/api/sync/pull", {"protocol": 2, "device_id": "pad-a"})
            assert status == 200 and body["has_more"] is False
            present = {c["id"] for c in body["changes"]}
            k = body["last_mutation_id"]
            assert {made_by[i] for i in range(1, k + 1)} <= present, f"mutation ≤ {k} reported without effects"
            checked += 1
            await asyncio.sleep(0)

    await asyncio.gather(pusher(), checker())


async def test_a_page_in_the_middle_of_one_version_starts_on_the_feed_index(db: Any, demo: dict[str, Any]) -> None:
    """A transaction that writes many rows gives them one version; a page in the
    middle of it must start where the last one ended — `(version, id) > (v, id)` on
    the index (project_id, version, id) — not scan and sort the whole version again
    (quadratic: 80,000 rows of one version took ~14 s to pull, 2.8 s with it)."""
    import uuid as uuidlib

    from server.syncing.registry import registry
    from sync.pull import _Feed, _params, _read_query
    from sync.registry import EntitySpec

    spec: EntitySpec = registry().get("item_result")  # type: ignore[assignment]
    stmt = _read_query(_Feed(spec, True, spec.feed_columns(demo["users"]["engineer"])), "after")
    params = _params(demo["project"].id, (7, spec.rank, str(uuidlib.uuid4())), 100, 50)
    conn = await db.connection()
    sql = stmt.params(params).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a near-empty table: show the index path
        plan = "\n".join(r[0] for r in await conn.exec_driver_sql(f"EXPLAIN {sql}"))
        assert "ix_item_results_project_id_version_id" in plan, plan
        assert "ROW(version, id) > ROW(" in plan.split("Index Cond:")[1], plan
        assert "Sort" not in plan, plan
    else:
        plan = " ".join(str(r[-1]) for r in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        assert "ix_item_results_project_id_version_id" in plan and "(version,id)>(?,?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
