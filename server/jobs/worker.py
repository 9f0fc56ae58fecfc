"""The worker loop: claim a job, run its handler, record the outcome.

Handlers are registered by kind (`register`); each gets a `JobContext` and the
job's payload. A handler must be idempotent: after a crash the same job runs
again. Raise `PermanentJobError` for a failure no retry can fix (it is parked at
once); any other exception is retried with back-off until ``max_attempts``.

The same loop runs embedded in the server process (a lifespan hook, when
``settings.run_embedded_worker``) or alone as ``fieldround worker``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import traceback
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.jobs import queue
from server.jobs.models import Job
from server.settings import Settings

log = logging.getLogger("fieldround.jobs")


class PermanentJobError(Exception):
    """A failure that retrying cannot fix: the job is parked with this message."""


@dataclass
class JobContext:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    job: Job
    worker_id: str = ""
    #: Set by `complete_in`: the handler's last transaction marked the job done.
    completed: bool = False

    async def complete_in(self, db: AsyncSession) -> None:
        """Mark the job done within ``db``'s transaction — the handler's last one, to be
        committed right after: the work's result and the job's completion then commit
        together (one transaction fewer per job). If that commit fails, the handler's
        exception makes it a failed attempt as usual; if this worker lost its lease
        meanwhile, the job is left to the worker that holds it now."""
        await queue.complete_in(db, self.job, self.worker_id)
        self.completed = True


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def register(kind: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return deco


def load_handlers() -> None:
    """Import the modules that register job handlers."""
    import server.media.processing  # noqa: F401


def worker_in_process() -> bool:
    """Whether a job worker lives in this process (the embedded worker, or one a
    command or a test runs here): work may then be handed to it in memory, as an
    optimisation its handler must not depend on."""
    return bool(_WORKERS)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims and runs jobs: embedded in the server (a lifespan hook) or on its own."""

    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        worker_id: str | None = None,
        lease_seconds: int = 300,
        idle_seconds: float = 1.0,
    ) -> None:
        load_handlers()
        self.settings = settings
        self.session_factory = session_factory
        self.worker_id = worker_id or new_worker_id()
        self.lease_seconds = lease_seconds
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        _WORKERS.add(self)

    def wake(self) -> None:
        """Look for work now instead of at the end of the idle pause."""
        self._wake.set()

    async def run_one(self) -> bool:
        """Claim and run at most one job. True if a job was claimed."""
        job = await queue.claim(
            self.session_factory, self.worker_id, lease_seconds=self.lease_seconds, kinds=list(HANDLERS)
        )
        if job is None:
            return False
        handler = HANDLERS[job.kind]
        ctx = JobContext(self.settings, self.session_factory, job, self.worker_id)
        try:
            await handler(ctx, dict(job.payload))
        except PermanentJobError as exc:
            log.warning("job %s (%s) parked: %s", job.id, job.kind, exc)
            await queue.fail(self.session_factory, job, self.worker_id, str(exc), permanent=True)
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            status = await queue.fail(self.session_factory, job, self.worker_id, detail)
            log.warning("job %s (%s) attempt %s failed (%s): %s", job.id, job.kind, job.attempts, status, detail)
        else:
            if not ctx.completed:
                await queue.complete(self.session_factory, job, self.worker_id)
        return True

    async def run_until_idle(self, max_jobs: int = 10_000) -> int:
        """Run jobs until none is due (tests, `fieldround worker --once`). Returns how many ran."""
        count = 0
        while count < max_jobs and await self.run_one():
            count += 1
        return count

    async def run_forever(self, stop: asyncio.Event) -> None:
        log.info("job worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                ran = await self.run_one()
            except Exception:
                log.exception("job worker %s: claiming failed; retrying", self.worker_id)
                ran = False
            if ran:
                continue
            self._wake.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waits, timeout=self.idle_seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
        log.info("job worker %s stopped", self.worker_id)


#: The workers alive in this process (`worker_in_process`).
_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()
