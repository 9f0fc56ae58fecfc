"""`fieldround prune`: what has outlived its use goes, nothing still needed does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select, update

from server.accounts.models import DeviceSession, LoginFailure, RefreshToken
from server.audit.models import AuditEntry
from server.housekeeping.services import prune
from server.inspections.models import ItemResult
from server.jobs.models import DONE, PARKED, QUEUED, Job
from server.settings import Settings
from sync.tables import results
from tests.factories import login
from tests.sync_harness import answer, call, device, new_inspection


async def _count(db: Any, what: Any, *where: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(what).where(*where)) or 0)


async def test_prune_removes_only_what_has_outlived_its_use(
    client: Any, db: Any, settings: Settings, setup: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=400)
    # Sync: a device pushes; its results age past the retention.
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit"].id)
    door = answer(a, insp, "door", value="fail", note="门锁坏")
    answer(a, insp, "window", value="maybe")  # rejected: its result is stored (a plain "applied" is not)
    sent = [msgspec.to_builtins(m) for m in a.outbox]
    assert [r.status for r in await a.push()] == ["applied", "applied", "rejected"]
    assert await _count(db, results) == 1
    await db.execute(update(results).values(received_at=long_ago))
    await db.commit()  # (SQLite: one writer at a time, and the app logs in next)
    # Logins: an old failure and a fresh one; an idle session and a live one.
    fresh_tokens = await login(client, "cs_manager", setup["pw"], "pad-live")
    await login(client, "cs_assistant", setup["pw"], "pad-idle")
    idle = (await db.scalars(select(DeviceSession).where(DeviceSession.device_id == "pad-idle"))).one()
    idle.last_used_at = long_ago
    db.add_all(
        [
            LoginFailure(username="engineer", address="10.0.0.1", at=long_ago),
            LoginFailure(username="engineer", address="10.0.0.1", at=now),
        ]
    )
    # Jobs: done long ago, done today, parked and queued long ago.
    for status, when in ((DONE, long_ago), (DONE, now), (PARKED, long_ago), (QUEUED, long_ago)):
        db.add(Job(kind="test.kind", payload={}, status=status, run_after=when, created_at=when, updated_at=when))
    await db.commit()
    audit_before = await _count(db, AuditEntry)

    counts = await prune(db, settings, now)

    assert counts == {
        "mutation_results": 1,
        "login_failures": 1,
        "device_sessions": 1,
        "done_jobs": 1,
        "tombstones": 0,
    }
    assert await _count(db, results) == 0
    assert await _count(db, LoginFailure) == 1
    assert await _count(db, DeviceSession, DeviceSession.device_id == "pad-idle") == 0
    assert await _count(db, RefreshToken, RefreshToken.session_id == idle.id) == 0  # its tokens went with it
    assert sorted((await db.scalars(select(Job.status))).all()) == sorted([DONE, PARKED, QUEUED])
    assert await _count(db, AuditEntry) == audit_before  # the audit log is never pruned
    # The live session still refreshes.
    resp = await client.post(
        "/api/auth/refresh", json={"refresh_token": fresh_tokens["refresh_token"], "device_id": "pad-live"}
    )
    assert resp.status_code in (200, 201), resp.text
    # The device resends the push whose answer it lost, after its results are gone:
    # every mutation at or below its last number is answered "applied" (the pruned
    # rejection too: past the retention nothing is known of it), nothing is applied twice.
    status, body = await call(a, "/api/sync/push", {"protocol": 2, "device_id": "pad-a", "mutations": sent})
    assert status == 200, body
    assert body["results"] == [{"id": m["id"], "status": "applied"} for m in sent]
    await db.rollback()
    assert (await db.get(ItemResult, door)).note == "门锁坏"
    assert await _count(db, ItemResult) == 1
