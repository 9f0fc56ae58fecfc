"""Housekeeping: the rows that only matter for a while, removed once they no
longer can (`fieldround prune`, run daily like `fieldround sync purge`).

What goes, and why it is safe:

- **mutation results** (rejections and conflicts: a plain "applied" is never
  stored) received more than `sync_result_days` ago. They answer a device that
  resends a push whose answer it lost; after that long the device is told
  "applied" instead, which is what it needs. The writes themselves stay in the
  audit log.
- **login failures** older than the throttle window: they no longer count.
- **device sessions** idle for longer than a refresh token lives, with their
  tokens: every token of theirs has expired, so none could be used or replayed.
- **done jobs** finished more than `done_job_days` ago. Parked jobs stay until an
  admin retries them.
- **tombstones** older than `sync_tombstone_days` (`sync.horizon.purge_tombstones`:
  devices with older cursors get a reset and resync).

The audit log is never pruned.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import DeviceSession, LoginFailure
from server.jobs.models import DONE, Job
from server.settings import Settings
from sync.horizon import purge_tombstones
from sync.tables import results


async def prune(db: AsyncSession, settings: Settings, now: datetime) -> dict[str, int]:
    """Remove what has outlived its use (see the module's text); returns counts. Commits."""
    counts = {
        "mutation_results": await _delete(
            db, delete(results).where(results.c.received_at < now - timedelta(days=settings.sync_result_days))
        ),
        "login_failures": await _delete(
            db,
            delete(LoginFailure).where(
                LoginFailure.at < now - timedelta(minutes=settings.login_failure_window_minutes)
            ),
        ),
        "device_sessions": await _delete(
            db,
            delete(DeviceSession).where(DeviceSession.last_used_at < now - timedelta(days=settings.refresh_token_days)),
        ),
        "done_jobs": await _delete(
            db,
            delete(Job).where(Job.status == DONE, Job.updated_at < now - timedelta(days=settings.done_job_days)),
        ),
    }
    await db.commit()
    stones = await purge_tombstones(db, now - timedelta(days=settings.sync_tombstone_days))
    return {**counts, "tombstones": stones["tombstones"]}


async def _delete(db: AsyncSession, stmt: Delete) -> int:
    result = cast(CursorResult[Any], await db.execute(stmt.execution_options(synchronize_session=False)))
    return result.rowcount
