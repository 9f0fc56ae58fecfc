"""One storage suite, run on the local folder and on an S3 API (moto) on loopback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.settings import Settings
from server.storage import Storage, storage_for
from server.storage.base import ObjectMissing
from server.storage.local import FileStorage
from server.storage.s3 import S3Storage
from tests.integration.media_support import (
    fixture_bytes,
    make_bucket,
    moto_endpoint,
    new_photo_params,
    photo_url,
    run_jobs,
    upload_headers,
)

__all__ = ["moto_endpoint"]  # the fixture, imported so pytest finds it here


def s3_url(endpoint: str, bucket: str, prefix: str = "") -> str:
    return f"s3://testing:testing@{bucket}{prefix}?endpoint={endpoint}&region=us-east-1&addressing=path"


@pytest.fixture(params=["file", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "file":
        yield f"file://{tmp_path / 'media'}"
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        yield s3_url(endpoint, make_bucket(endpoint), "/fieldround")


@pytest.fixture
def store(store_url: str) -> Storage:
    return storage_for(store_url)


async def test_round_trip(store: Storage, tmp_path: Path) -> None:
    key = f"photos/{uuid.uuid4()}/a.jpg"
    assert not await store.exists(key)
    await store.put_bytes(key, b"hello", "image/jpeg")
    assert await store.exists(key)
    assert await store.get_bytes(key) == b"hello"
    src = tmp_path / "src.bin"
    src.write_bytes(b"\x00\x01" * 100_000)
    await store.put_file(key, src, "image/jpeg")  # replaces
    out = tmp_path / "out.bin"
    await store.download(key, out)
    assert out.read_bytes() == src.read_bytes()
    await store.delete(key)
    assert not await store.exists(key)
    await store.delete(key)  # already gone: fine


async def test_missing_object(store: Storage, tmp_path: Path) -> None:
    with pytest.raises(ObjectMissing):
        await store.get_bytes("photos/none.jpg")
    with pytest.raises(ObjectMissing):
        await store.download("photos/none.jpg", tmp_path / "x")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/key", "a//b", "Upper/case", "a/../b", "a/./b", ""])
async def test_keys_are_checked(store: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        await store.put_bytes(key, b"x", "image/jpeg")


async def test_presigned_url_or_local_path(store: Storage) -> None:
    key = "photos/p/q.jpg"
    await store.put_bytes(key, b"jpeg-bytes", "image/jpeg")
    if isinstance(store, FileStorage):
        path = store.local_path(key)
        assert path.read_bytes() == b"jpeg-bytes"
        assert await store.presigned_get_url(key, expires_seconds=60) is None
        assert not list(path.parent.glob(".tmp-*"))  # written via a temp file + rename
        return
    url = await store.presigned_get_url(key, expires_seconds=60, content_type="image/jpeg")
    assert url is not None and "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url
    async with httpx.AsyncClient() as http:
        resp = await http.get(url)
    assert resp.status_code == 200 and resp.content == b"jpeg-bytes"
    assert resp.headers["content-type"] == "image/jpeg"


async def test_app_signs_its_s3_requests(moto_endpoint: str) -> None:
    """moto checks no signatures: prove boto3 signs what the app sends (SigV4)."""
    store = S3Storage.from_url(s3_url(moto_endpoint, make_bucket(moto_endpoint)))
    seen: list[str] = []

    def capture(request: Any, **_: Any) -> None:
        seen.append(request.headers.get("Authorization", b"").decode() if request.headers.get("Authorization") else "")

    store.client.meta.events.register("before-send.s3", capture)
    await store.put_bytes("photos/signed.jpg", b"x", "image/jpeg")
    assert await store.get_bytes("photos/signed.jpg") == b"x"
    assert len(seen) == 2
    for header in seen:
        assert header.startswith("AWS4-HMAC-SHA256 Credential=testing/")
        assert "/us-east-1/s3/aws4_request" in header and "Signature=" in header


@pytest.mark.parametrize(
    "url",
    [
        "file://relative/path",
        "ftp://host/x",
        "s3://ab?endpoint=http://127.0.0.1:1",
        "s3://bucket?endpoint=http://127.0.0.1:1&colour=blue",
        "s3://bucket?addressing=sideways",
        "s3://?endpoint=http://127.0.0.1:1",
    ],
)
def test_bad_storage_urls(url: str) -> None:
    with pytest.raises(ValueError):
        storage_for(url)


@pytest.fixture
async def s3_app_client(settings: Settings, moto_endpoint: str) -> AsyncIterator[tuple[Any, Any]]:
    s3_settings = msgspec.structs.replace(settings, storage_url=s3_url(moto_endpoint, make_bucket(moto_endpoint)))
    app = create_app(s3_settings, lifespan_hooks=[])
    async with AsyncTestClient(app=app) as client:
        yield app, client


@pytest.mark.parametrize("worker_here", [False, True], ids=["job-downloads", "job-takes-check-decode"])
async def test_photo_on_s3_is_served_by_presigned_redirect(
    s3_app_client: tuple[Any, Any], demo: dict[str, Any], worker_here: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.media import services

    monkeypatch.setattr(services, "worker_in_process", lambda: worker_here)
    app, client = s3_app_client
    h = await upload_headers(client, demo)
    data = fixture_bytes("hopper_orientation6.jpg")
    pid = uuid.uuid4()
    assert (await client.put(photo_url(pid, **new_photo_params(demo)), content=data, headers=h)).status_code == 201
    assert await run_jobs(app) == 1
    async with httpx.AsyncClient() as http:
        for variant in ("original", "web", "thumb"):
            resp = await client.get(f"/api/photos/{pid}/{variant}", headers=h, follow_redirects=False)
            assert resp.status_code == 307, resp.text
            assert resp.headers["cache-control"] == "no-store"
            url = resp.headers["location"]
            assert "X-Amz-Expires=120" in url
            got = await http.get(url)
            assert got.status_code == 200
            assert got.headers["content-type"] == "image/jpeg"
            if variant == "original":
                assert got.content == data
    # Without a token: no redirect, no URL.
    assert (await client.get(f"/api/photos/{pid}/original", follow_redirects=False)).status_code == 401
