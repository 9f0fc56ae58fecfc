"""Helpers of bench_sync.py: throw-away databases, the arranged estate, a msgspec
transport for the reference client, item-result rows for Core inserts, memory
readings and an optional cProfile of the server's side of each request."""

from __future__ import annotations

import cProfile
import pstats
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts.models import User
from server.db.engine import create_engine, create_session_factory
from server.db.migrate import upgrade
from server.demo import load_demo
from server.inspections.models import ItemResult
from server.inspections.rules import item_result_id
from server.places.models import Project, Unit
from server.settings import Settings
from sync.client import SyncClient
from sync.tables import clocks
from tests.pg import pg_exec_async, pg_url
from tests.sync_harness import publish_small_template

PASSWORD = "bench-pass-1234"
ITEM_KEYS = ("door", "window", "flatness", "remark")
VALUES: dict[str, Any] = {"door": "pass", "window": "pass", "flatness": 2, "remark": "无异常 nothing to note"}
ITEMS = cast(Table, ItemResult.__table__)


@asynccontextmanager
async def database(kind: str, tmp: Path) -> AsyncIterator[str]:
    """A migrated database: a SQLite file in `tmp`, or a uniquely named PostgreSQL
    database that is dropped afterwards."""
    import asyncio

    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)  # Alembic's env runs its own event loop
        yield url
        return
    name = f"fr_bench_{uuid.uuid4().hex[:12]}"
    await pg_exec_async(f'CREATE DATABASE "{name}"')
    try:
        url = pg_url(name)
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await pg_exec_async(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(url: str, tmp: Path) -> Settings:
    var = tmp / "var"
    var.mkdir(exist_ok=True)
    return Settings(
        var_dir=var,
        database_url=url,
        storage_url=f"file://{var / 'media'}",
        public_url="http://bench.local",
        secret_key="bench-secret-key-0123456789-abcdefghijklmnop",
        access_token_minutes=240,
        demo_password=PASSWORD,
        run_embedded_worker=False,
    )


async def arrange_estate(url: str) -> dict[str, Any]:
    """The demo estate and the small template (door/window/flatness/remark in "main")."""
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as db:
            await load_demo(db, PASSWORD)
            tv = await publish_small_template(db)
            project_id = await db.scalar(select(Project.id))
            units = list((await db.scalars(select(Unit.id).order_by(Unit.id))).all())
            user_id = await db.scalar(select(User.id).where(User.username == "engineer"))
    finally:
        await engine.dispose()
    return {"tv": tv, "project_id": project_id, "units": units, "user_id": user_id}


def http_transport(client: AsyncTestClient[Litestar], token: str) -> Any:
    """The reference client's transport over the in-process ASGI client, JSON by msgspec."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def transport(path: str, body: bytes) -> tuple[int, bytes]:
        resp = await client.post(path, content=body, headers=headers)
        return resp.status_code, resp.content

    return transport


async def device(client: AsyncTestClient[Litestar], device_id: str) -> SyncClient:
    resp = await client.post(
        "/api/auth/login", json={"username": "engineer", "password": PASSWORD, "device_id": device_id}
    )
    if resp.status_code != 201:
        raise RuntimeError(f"login failed: {resp.status_code} {resp.text}")
    return SyncClient(http_transport(client, resp.json()["access_token"]), device_id)


def enqueue(dev: SyncClient, entity: str, key: uuid.UUID, fields: dict[str, Any]) -> None:
    """What `SyncClient.put` queues for a record the device creates (an empty base),
    without its per-call scan of the whole outbox."""
    dev._enqueue("put", entity, key, fields, {})


def inspection_rows(estate: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Unit inspections of the small template, in progress, spread over the units."""
    now, units = datetime.now(UTC), estate["units"]
    return [
        {
            "id": uuid.uuid4(),
            "project_id": estate["project_id"],
            "kind": "unit_inspection",
            "template_version_id": estate["tv"],
            "target_type": "unit",
            "target_id": units[i % len(units)],
            "status": "in_progress",
            "created_by": estate["user_id"],
            "needs_review": False,
            "deleted": False,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]


def item_rows(estate: dict[str, Any], inspections: list[uuid.UUID], instances: list[str]) -> list[dict[str, Any]]:
    """Item-result rows for Core inserts. Instance ids give an inspection more rows
    than the template has items: the feed does not read the template."""
    now = datetime.now(UTC)
    return [
        {
            "id": item_result_id(insp, "main", instance, key),
            "project_id": estate["project_id"],
            "inspection_id": insp,
            "section_key": "main",
            "instance_id": instance,
            "instance_label": instance or None,
            "item_key": key,
            "value": VALUES[key],
            "note": None,
            "photos": [],
            "severity": None,
            "responsible": None,
            "location": "客厅 living room",
            "answered_by": estate["user_id"],
            "answered_at": now,
            "needs_review": False,
            "deleted": False,
            "created_at": now,
            "updated_at": now,
        }
        for insp in inspections
        for instance in instances
        for key in ITEM_KEYS
    ]


async def insert_stamped(engine: AsyncEngine, table: Any, project_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    """Core inserts of synced rows, stamped as the sync engine would have stamped
    pushes of 500: versions above the project's clock, 500 rows a version; then the
    clock moves to the last version (see sync/stamping.py)."""
    async with engine.begin() as conn:
        clock = int(await conn.scalar(select(clocks.c.version).where(clocks.c.project_id == project_id)) or 0)
        for i, row in enumerate(rows):
            row["version"] = clock + 1 + i // 500
        for i in range(0, len(rows), 5_000):
            await conn.execute(insert(table), rows[i : i + 5_000])
        last = rows[-1]["version"]
        await conn.execute(update(clocks).where(clocks.c.project_id == project_id).values(version=last))


async def settle(engine: AsyncEngine) -> None:
    """PostgreSQL: VACUUM ANALYZE after the bulk load, as autovacuum would soon do.
    Otherwise the first reader of the fresh rows pays for setting their hint bits
    (the timed pull, which runs before its floor) and the planner has no statistics."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM ANALYZE")


# --- memory ----------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_mark() -> int:
    """Current RSS in kB, after resetting the peak (VmHWM) where the kernel allows."""
    with suppress(OSError), open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _status_kb("VmRSS")


def rss_peak() -> int:
    return _status_kb("VmHWM")


# --- profiling -------------------------------------------------------------------------


@contextmanager
def server_side(app: Litestar, profile: bool, title: str, top: int = 25) -> Iterator[dict[str, float]]:
    """Time (and, with `profile`, cProfile) the requests the app serves, in the test
    client's server thread; the rest of a measured time is the client and transport."""
    prof = cProfile.Profile() if profile else None
    # "cpu": the CPU time of the thread serving the requests (the test client runs
    # the app in a thread of its own), far steadier on a busy machine than wall time.
    spent = {"seconds": 0.0, "cpu": 0.0}
    inner = app.asgi_handler

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        if prof:
            prof.enable()
        try:
            await inner(scope, receive, send)
        finally:
            if prof:
                prof.disable()
            spent["seconds"] += time.perf_counter() - t0
            spent["cpu"] += time.thread_time() - c0

    app.asgi_handler = handler
    try:
        yield spent
    finally:
        app.asgi_handler = inner
        if prof:
            print(
                f"\n--- cProfile of the server side: {title} (by own time; then by cumulative, sync/ and server/) ---"
            )
            stats = pstats.Stats(prof)
            stats.sort_stats("tottime").print_stats(top)
            stats.sort_stats("cumulative").print_stats(r"/(sync|server)/\w+(/\w+)*\.py", top)
