"""The durable job queue: leases, exactly-one claim, crash recovery, retries, parking."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from PIL import Image, ImageChops, ImageStat
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.app import create_app
from server.db.engine import create_engine, create_session_factory
from server.jobs import queue
from server.jobs.lifespan import embedded_worker
from server.jobs.models import Job
from server.jobs.worker import HANDLERS, JobContext, PermanentJobError, Worker
from server.lib.clock import utcnow
from server.media.models import Photo
from server.settings import Settings
from tests.factories import auth_headers, other_company
from tests.integration.media_support import fixture_bytes, new_photo_params, photo_url, run_jobs, upload_headers

CALLS: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture(autouse=True)
def test_handlers() -> Iterator[None]:
    async def ok(ctx: JobContext, payload: dict[str, Any]) -> None:
        CALLS.append(("ok", payload))

    async def boom(ctx: JobContext, payload: dict[str, Any]) -> None:
        CALLS.append(("boom", payload))
        raise RuntimeError("disk on fire")

    async def hopeless(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise PermanentJobError("cannot ever work")

    HANDLERS.update({"test.ok": ok, "test.boom": boom, "test.hopeless": hopeless})
    CALLS.clear()
    yield
    for kind in ("test.ok", "test.boom", "test.hopeless"):
        HANDLERS.pop(kind, None)


@pytest.fixture
async def sf(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _add(sf: async_sessionmaker[AsyncSession], kind: str, n: int = 1, **kw: Any) -> list[uuid.UUID]:
    async with sf() as db:
        jobs = [queue.enqueue(db, kind, {"n": i}, **kw) for i in range(n)]
        await db.commit()
        return [j.id for j in jobs]


async def _job(sf: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> Job:
    async with sf() as db:
        job = await db.get(Job, job_id)
        assert job is not None
        return job


async def test_claim_run_complete(sf: Any, settings: Settings) -> None:
    [job_id] = await _add(sf, "test.ok")
    worker = Worker(settings, sf, worker_id="w1")
    assert await worker.run_until_idle() == 1
    job = await _job(sf, job_id)
    assert (job.status, job.attempts, job.locked_by) == ("done", 1, None)
    assert CALLS == [("ok", {"n": 0})]
    assert await worker.run_until_idle() == 0


async def test_two_workers_never_claim_the_same_job(sf: Any, settings: Settings) -> None:
    ids = await _add(sf, "test.ok", 30)
    claimed: list[uuid.UUID] = []

    async def drain(name: str) -> None:
        engine = create_engine(settings.database_url)  # a worker process of its own
        try:
            own = create_session_factory(engine)
            while (job := await queue.claim(own, name, lease_seconds=60)) is not None:
                claimed.append(job.id)
                await queue.complete(own, job, name)
        finally:
            await engine.dispose()

    await asyncio.gather(*(drain(f"w{i}") for i in range(4)))
    assert sorted(claimed) == sorted(ids)  # each exactly once


async def test_crashed_worker_job_is_picked_up_after_the_lease(sf: Any, settings: Settings) -> None:
    [job_id] = await _add(sf, "test.ok")
    crashed = await queue.claim(sf, "dead-worker", lease_seconds=300)
    assert crashed is not None and crashed.id == job_id
    # While the lease holds, nobody else takes it.
    assert await queue.claim(sf, "w2") is None
    async with sf() as db:  # the lease runs out
        await db.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
        await db.commit()
    worker = Worker(settings, sf, worker_id="w2")
    assert await worker.run_until_idle() == 1
    job = await _job(sf, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    # The dead worker's late completion changes nothing.
    assert await queue.complete(sf, crashed, "dead-worker") is False


async def test_a_handler_may_mark_its_job_done_in_its_own_transaction(
    sf: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def in_its_transaction(ctx: JobContext, payload: dict[str, Any]) -> None:
        async with ctx.session_factory() as db:
            await ctx.complete_in(db)  # with the handler's own last writes
            await db.commit()

    async def twice(*args: Any) -> bool:
        raise AssertionError("the worker completed the job a second time")

    monkeypatch.setitem(HANDLERS, "test.in_tx", in_its_transaction)
    monkeypatch.setattr(queue, "complete", twice)
    [job_id] = await _add(sf, "test.in_tx")
    assert await Worker(settings, sf, worker_id="w1").run_until_idle() == 1
    job = await _job(sf, job_id)
    assert (job.status, job.attempts, job.locked_by, job.locked_until) == ("done", 1, None, None)


async def test_a_handler_that_fails_after_completing_in_its_transaction_is_retried(
    sf: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fails_before_commit(ctx: JobContext, payload: dict[str, Any]) -> None:
        async with ctx.session_factory() as db:
            await ctx.complete_in(db)
            raise RuntimeError("crashed before commit")  # the transaction rolls back

    monkeypatch.setitem(HANDLERS, "test.rollback", fails_before_commit)
    [job_id] = await _add(sf, "test.rollback")
    assert await Worker(settings, sf, worker_id="w1").run_one()
    job = await _job(sf, job_id)
    assert (job.status, job.attempts) == ("queued", 1)
    assert "crashed before commit" in (job.last_error or "")


async def test_completing_in_a_transaction_needs_the_lease(sf: Any) -> None:
    [job_id] = await _add(sf, "test.ok")
    crashed = await queue.claim(sf, "dead-worker", lease_seconds=300)
    assert crashed is not None
    async with sf() as db:  # the lease runs out; another worker takes the job
        await db.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
        await db.commit()
    assert await queue.claim(sf, "w2") is not None
    async with sf() as db:
        assert await queue.complete_in(db, crashed, "dead-worker") is False
        await db.commit()
    job = await _job(sf, job_id)
    assert (job.status, job.locked_by, job.attempts) == ("running", "w2", 2)


async def test_failures_retry_with_backoff_then_park(sf: Any, settings: Settings) -> None:
    [job_id] = await _add(sf, "test.boom", max_attempts=3)
    worker = Worker(settings, sf, worker_id="w1")
    for attempt in (1, 2):
        assert await worker.run_one()
        job = await _job(sf, job_id)
        assert (job.status, job.attempts) == ("queued", attempt)
        assert job.run_after > utcnow() + timedelta(seconds=queue.backoff_seconds(attempt) - 5)
        assert "disk on fire" in (job.last_error or "")
        assert not await worker.run_one()  # not due yet
        async with sf() as db:
            await db.execute(update(Job).values(run_after=utcnow()))
            await db.commit()
    assert await worker.run_one()
    job = await _job(sf, job_id)
    assert (job.status, job.attempts) == ("parked", 3)
    assert "RuntimeError: disk on fire" in (job.last_error or "")
    assert not await worker.run_one()


async def test_permanent_errors_park_at_once(sf: Any, settings: Settings) -> None:
    [job_id] = await _add(sf, "test.hopeless")
    await Worker(settings, sf, worker_id="w1").run_until_idle()
    job = await _job(sf, job_id)
    assert (job.status, job.attempts, job.last_error) == ("parked", 1, "cannot ever work")


async def test_a_job_that_kills_every_worker_is_parked(sf: Any, settings: Settings) -> None:
    [job_id] = await _add(sf, "test.ok", max_attempts=2)
    for name in ("w1", "w2"):
        assert await queue.claim(sf, name) is not None  # …and the worker dies
        async with sf() as db:
            await db.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
            await db.commit()
    assert await queue.claim(sf, "w3") is None
    job = await _job(sf, job_id)
    assert job.status == "parked" and "lease expired" in (job.last_error or "")
    assert CALLS == []


async def test_admin_lists_parked_jobs_of_own_company(
    client: Any, demo: dict[str, Any], db: Any, sf: Any, settings: Settings
) -> None:
    company = demo["project"].company_id
    [parked_id] = await _add(sf, "test.hopeless", company_id=company)
    await _add(sf, "test.ok", company_id=company)
    await Worker(settings, sf, worker_id="w1").run_until_idle()
    await other_company(db, demo["password"])
    h = await auth_headers(client, "admin", demo["password"])
    resp = await client.get("/api/admin/jobs?status=parked", headers=h)
    assert resp.status_code == 200
    [row] = resp.json()
    assert (row["id"], row["kind"], row["last_error"]) == (str(parked_id), "test.hopeless", "cannot ever work")
    assert len((await client.get("/api/admin/jobs", headers=h)).json()) == 2
    assert (await client.get("/api/admin/jobs?status=bogus", headers=h)).status_code in (400, 422)
    # Not for managers or engineers; another company's admin sees none of ours.
    hm = await auth_headers(client, "cs_manager", demo["password"])
    assert (await client.get("/api/admin/jobs", headers=hm)).status_code == 403
    ho = await auth_headers(client, "other_admin", demo["password"])
    assert (await client.get("/api/admin/jobs", headers=ho)).json() == []
    assert (await client.post(f"/api/admin/jobs/{parked_id}/retry", headers=ho)).status_code == 404
    # The admin queues it again.
    again = await client.post(f"/api/admin/jobs/{parked_id}/retry", headers=h)
    assert again.status_code == 201 and again.json()["status"] == "queued"


async def test_photo_processing_is_idempotent(client: Any, app: Any, demo: dict[str, Any], sf: Any) -> None:
    h = await upload_headers(client, demo)
    pid = uuid.uuid4()
    await client.put(photo_url(pid, **new_photo_params(demo)), content=fixture_bytes("cmyk.jpg"), headers=h)
    await run_jobs(app)
    first = await _photo(sf, pid)
    web1 = (await client.get(f"/api/photos/{pid}/web", headers=h)).content
    # A crash after the derivatives were written but before the row was updated: run it again.
    async with sf() as db:
        await db.execute(
            update(Photo)
            .where(Photo.id == pid)
            .values(status="stored", web_key=None, thumb_key=None)
            .execution_options(sync_touched=True)
        )  # a simulated crash state, not a change to sync
        await db.execute(update(Job).values(status="queued", attempts=0, run_after=utcnow()))
        await db.commit()
    assert await run_jobs(app) == 1
    second = await _photo(sf, pid)
    assert (second.status, second.web_key, second.thumb_key) == ("ready", first.web_key, first.thumb_key)
    web2 = (await client.get(f"/api/photos/{pid}/web", headers=h)).content
    assert_same_picture(web1, web2)


def assert_same_picture(a: bytes, b: bytes) -> None:
    """The same picture: same size and mode, pixels equal within JPEG rounding. Not
    byte for byte: the first run may work from the upload check's decode and the
    re-run decodes the file again, and libjpeg-turbo's SIMD paths need not give
    identical bytes on every CPU (CI once saw two encodings of one photo)."""
    with Image.open(io.BytesIO(a)) as im_a, Image.open(io.BytesIO(b)) as im_b:
        assert (im_a.format, im_a.mode, im_a.size) == (im_b.format, im_b.mode, im_b.size)
        diff = ImageChops.difference(im_a.convert("RGB"), im_b.convert("RGB"))
        stat = ImageStat.Stat(diff)
        assert max(stat.mean) < 2.0, stat.mean  # mean difference per channel, of 255
        assert max(hi for _lo, hi in diff.getextrema()) < 48


async def _photo(sf: async_sessionmaker[AsyncSession], pid: uuid.UUID) -> Photo:
    async with sf() as db:
        photo = (await db.scalars(select(Photo).where(Photo.id == pid))).one()
        return photo


async def test_processing_failure_is_recorded_on_the_photo(
    client: Any, app: Any, demo: dict[str, Any], sf: Any, settings: Settings
) -> None:
    """An original that cannot be processed (here: damaged in the store after upload)
    marks the photo failed and parks the job; the original stays."""
    h = await upload_headers(client, demo)
    pid = uuid.uuid4()
    await client.put(photo_url(pid, **new_photo_params(demo)), content=fixture_bytes("cmyk.jpg"), headers=h)
    photo = await _photo(sf, pid)
    assert photo.original_key is not None
    (settings.var_dir / "media" / photo.original_key).write_bytes(fixture_bytes("truncated_progressive.jpg"))
    await run_jobs(app)
    meta = (await client.get(f"/api/photos/{pid}", headers=h)).json()
    assert meta["status"] == "failed" and "damaged" in meta["error"]
    async with sf() as db:
        job = (await db.scalars(select(Job))).one()
    assert job.status == "parked"


@pytest.fixture
async def live_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(msgspec.structs.replace(settings, run_embedded_worker=True), lifespan_hooks=[embedded_worker])
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_embedded_worker_processes_uploads(live_client: Any, demo: dict[str, Any]) -> None:
    client = live_client
    h = await upload_headers(client, demo)
    pid = uuid.uuid4()
    resp = await client.put(photo_url(pid, **new_photo_params(demo)), content=fixture_bytes("cmyk.jpg"), headers=h)
    assert resp.status_code == 201
    status = "stored"
    for _ in range(300):  # polled, not timed: the worker is woken by the upload
        status = (await client.get(f"/api/photos/{pid}", headers=h)).json()["status"]
        if status == "ready":
            break
        await asyncio.sleep(0.05)
    assert status == "ready"
