"""The embedded worker: a lifespan hook that runs the job loop inside the server
process when ``settings.run_embedded_worker`` (the one-machine default)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar

from server.jobs.worker import Worker


@contextlib.asynccontextmanager
async def embedded_worker(app: Litestar) -> AsyncIterator[None]:
    settings = app.state.settings
    if not settings.run_embedded_worker:
        yield
        return
    worker = Worker(settings, app.state.session_factory)
    app.state.job_worker = worker
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop), name="fieldround-embedded-worker")
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)
