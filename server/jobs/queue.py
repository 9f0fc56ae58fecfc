"""Enqueue, claim (with a lease), finish, retry, park.

Claiming is one compare-and-set UPDATE that repeats the eligibility test in its
WHERE clause: of two workers that picked the same candidate, the database lets
exactly one UPDATE match (PostgreSQL re-checks the row after the first commits;
SQLite serialises writers). The same statements run on both databases.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.jobs.models import DONE, PARKED, QUEUED, RUNNING, Job
from server.lib.clock import utcnow

#: Back-off between attempts: 5 s, 20 s, 80 s … capped at one hour.
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
ERROR_MAX_CHARS = 4000


def enqueue(
    db: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    company_id: uuid.UUID | None = None,
    max_attempts: int = 5,
    run_after: datetime | None = None,
) -> Job:
    """Add a job to the caller's transaction: it exists only if that transaction commits."""
    job = Job(
        id=uuid.uuid4(),
        kind=kind,
        company_id=company_id,
        payload=payload,
        status=QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or utcnow(),
    )
    db.add(job)
    return job


def _claimable(now: datetime) -> Any:
    return or_(
        and_(Job.status == QUEUED, Job.run_after <= now),
        and_(Job.status == RUNNING, Job.locked_until < now),
    )


async def claim(
    session_factory: async_sessionmaker[AsyncSession],
    worker_id: str,
    *,
    lease_seconds: int = 300,
    kinds: list[str] | None = None,
    batch: int = 8,
) -> Job | None:
    """Take one due job (or one whose lease ran out) for ``worker_id``, or None.

    A job claimed again after more than ``max_attempts`` claims (its workers kept
    dying) is parked instead of run."""
    async with session_factory() as db:
        while True:
            now = utcnow()
            stmt = select(Job.id).where(_claimable(now)).order_by(Job.run_after, Job.id).limit(batch)
            if kinds:
                stmt = stmt.where(Job.kind.in_(kinds))
            candidates = list((await db.scalars(stmt)).all())
            await db.rollback()
            if not candidates:
                return None
            for job_id in candidates:
                now = utcnow()
                # RETURNING hands back the claimed row: no second transaction to read it.
                job = (
                    await db.scalars(
                        update(Job)
                        .where(Job.id == job_id, _claimable(now))
                        .values(
                            status=RUNNING,
                            locked_by=worker_id,
                            locked_until=now + timedelta(seconds=lease_seconds),
                            attempts=Job.attempts + 1,
                            updated_at=now,
                        )
                        .returning(Job)
                        .execution_options(synchronize_session=False, populate_existing=True)
                    )
                ).one_or_none()
                if job is None:
                    await db.rollback()
                    continue
                db.expunge(job)  # the caller's copy, whatever the factory's expire_on_commit
                await db.commit()
                if job.attempts > job.max_attempts:
                    await _park(db, job, worker_id, "the worker stopped (lease expired) on every attempt")
                    continue
                return job
            # Every candidate was taken by another worker: look again.


def _held(job: Job, worker_id: str) -> Update:
    """An UPDATE of ``job`` that matches only while ``worker_id`` still holds its lease."""
    return update(Job).where(Job.id == job.id, Job.status == RUNNING, Job.locked_by == worker_id)


def _release(status: str, error: str | None, now: datetime) -> dict[str, Any]:
    """The values that let go of the lease, leaving the job in ``status``."""
    return {
        "status": status,
        "locked_by": None,
        "locked_until": None,
        "last_error": None if error is None else error[:ERROR_MAX_CHARS],
        "updated_at": now,
    }


async def _park(db: AsyncSession, job: Job, worker_id: str, error: str) -> None:
    await db.execute(_held(job, worker_id).values(**_release(PARKED, error, utcnow())))
    await db.commit()


async def complete(session_factory: async_sessionmaker[AsyncSession], job: Job, worker_id: str) -> bool:
    """Mark the job done; False if this worker had lost its lease meanwhile."""
    async with session_factory() as db:
        done = await complete_in(db, job, worker_id)
        await db.commit()
        return done


async def complete_in(db: AsyncSession, job: Job, worker_id: str) -> bool:
    """Mark the job done inside the caller's transaction, which commits it together
    with the job's own last writes. False (nothing changed) if this worker had lost
    its lease meanwhile."""
    result = await db.execute(_held(job, worker_id).values(**_release(DONE, None, utcnow())))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def backoff_seconds(attempts: int) -> int:
    return int(min(BACKOFF_BASE_SECONDS * 4 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


async def fail(
    session_factory: async_sessionmaker[AsyncSession], job: Job, worker_id: str, error: str, *, permanent: bool = False
) -> str:
    """Record a failed attempt: queue it again after a back-off, or park it when
    attempts are used up (or the failure is permanent). Returns the new status."""
    async with session_factory() as db:
        now = utcnow()
        parked = permanent or job.attempts >= job.max_attempts
        values = _release(PARKED if parked else QUEUED, error, now)
        if not parked:
            values["run_after"] = now + timedelta(seconds=backoff_seconds(job.attempts))
        await db.execute(_held(job, worker_id).values(**values))
        await db.commit()
        return str(values["status"])


async def list_jobs(
    db: AsyncSession, *, company_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> list[Job]:
    stmt = select(Job).where(Job.company_id == company_id)
    if status:
        stmt = stmt.where(Job.status == status)
    stmt = stmt.order_by(Job.updated_at.desc(), Job.id).limit(limit).offset(offset)
    return list((await db.scalars(stmt)).all())


async def requeue(db: AsyncSession, job_id: uuid.UUID, *, company_id: uuid.UUID) -> Job | None:
    """Put a parked job back in the queue with fresh attempts (an admin's retry)."""
    job = await db.get(Job, job_id)
    if job is None or job.company_id != company_id:
        return None
    if job.status == PARKED:
        job.status = QUEUED
        job.attempts = 0
        job.run_after = utcnow()
    await db.commit()
    return job
