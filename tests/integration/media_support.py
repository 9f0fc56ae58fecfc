"""Shared helpers for the photo, storage and job tests: fixture photos, logged-in
upload headers, running the job worker until the queue is empty, an S3 server on loopback."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from server.db.engine import create_engine, create_session_factory
from server.jobs.worker import Worker
from server.settings import Settings
from tests.factories import auth_headers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "photos"
JPEG = {"Content-Type": "image/jpeg"}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


async def upload_headers(client: Any, demo: dict[str, Any], user: str = "engineer") -> dict[str, str]:
    """Headers for a JPEG upload by `user` of the demo estate (logged in afresh)."""
    return {**JPEG, **await auth_headers(client, user, demo["password"])}


def photo_url(photo_id: uuid.UUID, **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return f"/api/photos/{photo_id}" + (f"?{query}" if query else "")


def new_photo_params(demo: dict[str, Any], owner_type: str = "item_result") -> dict[str, Any]:
    return {"project": demo["project"].id, "owner_type": owner_type, "owner_id": uuid.uuid4()}


async def run_jobs(app: Litestar, settings: Settings | None = None, worker_id: str = "test-worker") -> int:
    """Run every due job, as a separate worker process would (its own engine: the
    app's pool belongs to the test client's event loop)."""
    settings = settings or app.state.settings
    engine = create_engine(settings.database_url)
    try:
        worker = Worker(settings, create_session_factory(engine), worker_id=worker_id)
        return await worker.run_until_idle()
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An S3 API on loopback (moto's threaded server), one per test session."""
    try:
        from moto.server import ThreadedMotoServer

        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
    except Exception as exc:  # pragma: no cover - only where moto cannot run
        print(f"\nSKIP S3 tests: moto server could not start: {exc}")
        pytest.skip(f"moto server could not start: {exc}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def make_bucket(endpoint: str) -> str:
    import boto3

    name = f"fr-test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=name)
    return name
