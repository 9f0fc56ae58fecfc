"""Two real app processes (`fieldround serve`) on one database: devices talking to
different processes submit the same failed item at the same moment, and exactly
one ticket opens; both devices converge."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.places.models import Unit
from server.settings import Settings
from server.tickets.models import Ticket
from sync.client import SyncClient
from tests.integration.media_support import free_port
from tests.sync_harness import answer, fill_passing, new_inspection, publish_small_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_servers(settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    env = {
        **os.environ,
        "FIELDROUND_DATABASE_URL": settings.database_url,
        "FIELDROUND_VAR_DIR": str(tmp_path / "v"),
        "FIELDROUND_SECRET_KEY": settings.secret_key,
        "FIELDROUND_EMBEDDED_WORKER": "0",
        "FIELDROUND_STORAGE_URL": settings.storage_url,
    }
    procs, urls, logs = [], [], []
    for i in range(2):
        port = free_port()
        log = tmp_path / f"server{i}.log"
        logs.append(log)
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url, proc, log in zip(urls, procs, logs, strict=True):
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"server exited: {log.read_text(errors='replace')[-2000:]}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("server did not start in 60 s")
                time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def http_device(http: httpx.AsyncClient, username: str, password: str, device_id: str) -> SyncClient:
    resp = await http.post("/api/auth/login", json={"username": username, "password": password, "device_id": device_id})
    assert resp.status_code == 201, resp.text
    headers = {"Authorization": f"Bearer {resp.json()['access_token']}", "Content-Type": "application/json"}

    async def transport(path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        r = await http.post(path, content=body, headers=headers)
        return r.status_code, r.json()

    return SyncClient(transport, device_id)


async def test_two_processes_submitting_one_failure_open_one_ticket(
    demo: dict[str, Any], db: Any, two_servers: list[str]
) -> None:
    tv = await publish_small_template(db)
    unit_id = (await db.scalars(select(Unit.id).limit(1))).one()
    await db.commit()
    async with (
        httpx.AsyncClient(base_url=two_servers[0], timeout=30) as h1,
        httpx.AsyncClient(base_url=two_servers[1], timeout=30) as h2,
    ):
        a = await http_device(h1, "engineer", demo["password"], "pad-a")
        b = await http_device(h2, "cs_manager", demo["password"], "pad-b")
        for round_no in range(3):
            insp = new_inspection(a, tv, unit_id)
            fill_passing(a, insp)
            await a.sync()
            await b.pull()
            # Both record the failure offline and submit; the pushes race.
            answer(a, insp, "window", value="fail", note=f"A{round_no}")
            answer(b, insp, "window", value="fail", note=f"B{round_no}")
            a.submit("inspection", insp)
            b.submit("inspection", insp)
            await asyncio.gather(a.push(), b.push())
            await db.rollback()
            found = (await db.scalars(select(Ticket).where(Ticket.inspection_id == insp))).all()
            assert [t.item_key for t in found] == ["window"], f"round {round_no}"
        await a.pull()
        await b.pull()
        assert a.replica["ticket"] == b.replica["ticket"]
        assert a.replica["item_result"] == b.replica["item_result"]
