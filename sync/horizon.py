"""Tombstone retention. Tombstones are kept longer than the longest expected
offline period (settings.sync_tombstone_days); purging older ones raises each
project's horizon, and a device whose cursor is below it gets a reset answer
and a full resync of that project (docs/sync-protocol.md §Horizon)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sync.tables import clocks, tombstones


async def purge_tombstones(db: AsyncSession, older_than: datetime) -> dict[str, int]:
    """Delete tombstones recorded before `older_than`; returns counts. Commits."""
    rows = (
        await db.execute(
            select(tombstones.c.project_id, func.max(tombstones.c.version), func.count())
            .where(tombstones.c.deleted_at < older_than)
            .group_by(tombstones.c.project_id)
        )
    ).all()
    purged = 0
    for project_id, max_version, n in rows:
        # Everything up to this version may now have lost a tombstone.
        await db.execute(
            update(clocks)
            .where((clocks.c.project_id == project_id) & (clocks.c.horizon < max_version))
            .values(horizon=max_version)
        )
        await db.execute(
            delete(tombstones).where((tombstones.c.project_id == project_id) & (tombstones.c.version <= max_version))
        )
        purged += int(n)
    await db.commit()
    return {"projects": len(rows), "tombstones": purged}
