"""Photo upload: idempotency, size limit, checks on what arrives, access, processing."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import func, select

from server.app import create_app
from server.jobs.models import Job
from server.lib.errors import TooLarge
from server.media.models import Photo
from server.media.services import photo_status_for, spool
from server.settings import Settings
from tests.factories import auth_headers, other_company
from tests.integration.media_support import (
    fixture_bytes,
    new_photo_params,
    photo_url,
    run_jobs,
    upload_headers,
)


async def _counts(db: Any) -> tuple[int, int]:
    await db.rollback()
    photos = await db.scalar(select(func.count()).select_from(Photo))
    jobs = await db.scalar(select(func.count()).select_from(Job))
    return int(photos or 0), int(jobs or 0)


def _stored_files(settings: Settings) -> list[str]:
    root = settings.var_dir / "media"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_upload_process_and_read_back(client: Any, app: Any, demo: dict[str, Any], db: Any) -> None:
    h = await upload_headers(client, demo)
    data = fixture_bytes("pixel6_gps_portrait.jpg")
    pid = uuid.uuid4()
    params = new_photo_params(demo)
    resp = await client.put(photo_url(pid, **params), content=data, headers=h)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body == {
        "id": str(pid),
        "project_id": str(demo["project"].id),
        "owner_type": "item_result",
        "owner_id": str(params["owner_id"]),
        "sha256": hashlib.sha256(data).hexdigest(),
        "byte_size": len(data),
        "content_type": "image/jpeg",
    }
    meta = (await client.get(f"/api/photos/{pid}", headers=h)).json()
    assert meta["status"] == "stored"
    assert meta["variants"] == ["original"]
    assert (await client.get(f"/api/photos/{pid}/web", headers=h)).status_code == 404

    assert await run_jobs(app) == 1
    meta = (await client.get(f"/api/photos/{pid}", headers=h)).json()
    assert meta["status"] == "ready"
    assert (meta["width"], meta["height"]) == (1512, 2688)
    assert meta["variants"] == ["original", "web", "thumb"]

    original = await client.get(f"/api/photos/{pid}/original", headers=h)
    assert original.status_code == 200
    assert original.content == data  # byte for byte: the evidence
    web = await client.get(f"/api/photos/{pid}/web", headers=h)
    assert web.headers["content-type"] == "image/jpeg"
    thumb = await client.get(f"/api/photos/{pid}/thumb", headers=h)
    for resp_img, limit in ((web, 1600), (thumb, 320)):
        im = Image.open(io.BytesIO(resp_img.content))
        assert max(im.size) == limit
        assert im.size[0] < im.size[1]  # portrait kept
        exif = im.getexif()
        assert len(exif) == 0 and not exif.get_ifd(0x8825)  # no GPS, no device data
        assert b"GPS" not in resp_img.content and b"Google" not in resp_img.content


async def test_repeat_same_bytes_is_200_with_same_body_and_stores_nothing(
    client: Any, app: Any, demo: dict[str, Any], db: Any, settings: Settings
) -> None:
    h = await upload_headers(client, demo)
    data = fixture_bytes("hopper_orientation6.jpg")
    pid = uuid.uuid4()
    url = photo_url(pid, **new_photo_params(demo))
    first = await client.put(url, content=data, headers=h)
    assert first.status_code == 201
    files = _stored_files(settings)
    counts = await _counts(db)
    again = await client.put(url, content=data, headers=h)
    assert again.status_code == 200
    assert again.json() == first.json()
    # Without the creation parameters too (the row exists now).
    plain = await client.put(photo_url(pid), content=data, headers=h)
    assert (plain.status_code, plain.json()) == (200, first.json())
    assert _stored_files(settings) == files
    assert await _counts(db) == counts == (1, 1)
    # After processing, a repeat still answers the same receipt.
    await run_jobs(app)
    assert (await client.put(url, content=data, headers=h)).json() == first.json()


async def test_same_id_other_bytes_is_409(client: Any, demo: dict[str, Any], settings: Settings) -> None:
    h = await upload_headers(client, demo)
    pid = uuid.uuid4()
    url = photo_url(pid, **new_photo_params(demo))
    assert (await client.put(url, content=fixture_bytes("hopper_orientation3.jpg"), headers=h)).status_code == 201
    files = _stored_files(settings)
    resp = await client.put(url, content=fixture_bytes("hopper_orientation6.jpg"), headers=h)
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert _stored_files(settings) == files


async def test_declared_sha256_must_match(client: Any, demo: dict[str, Any], db: Any) -> None:
    h = await upload_headers(client, demo)
    pid = uuid.uuid4()
    url = photo_url(pid, **new_photo_params(demo), sha256="0" * 64)
    resp = await client.put(url, content=fixture_bytes("hopper_orientation3.jpg"), headers=h)
    assert resp.status_code == 409
    assert await _counts(db) == (0, 0)


async def test_unknown_photo_without_creation_params_is_404(client: Any, demo: dict[str, Any]) -> None:
    h = await upload_headers(client, demo)
    resp = await client.put(photo_url(uuid.uuid4()), content=fixture_bytes("cmyk.jpg"), headers=h)
    assert resp.status_code == 404
    assert "owner_type" in resp.json()["detail"]
    # Half the creation parameters is a 422, not a guess.
    partial = await client.put(
        photo_url(uuid.uuid4(), project=demo["project"].id), content=fixture_bytes("cmyk.jpg"), headers=h
    )
    assert partial.status_code == 422


async def test_metadata_from_sync_then_upload(client: Any, app: Any, demo: dict[str, Any], db: Any) -> None:
    """The row the sync engine writes first (here inserted directly) takes the bytes later."""
    engineer = demo["users"]["engineer"]
    data = fixture_bytes("progressive.jpg")
    photo = Photo(
        id=uuid.uuid4(),
        project_id=demo["project"].id,
        owner_type="ticket",
        owner_id=uuid.uuid4(),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=engineer.id,
        status="pending",
        deleted=False,
    )
    db.add(photo)
    await db.commit()
    photo_id, owner_id = photo.id, photo.owner_id
    counts = await photo_status_for(db, "ticket", [owner_id, uuid.uuid4()])
    assert counts[owner_id].pending == 1 and not counts[owner_id].complete
    assert len(counts) == 2
    await db.rollback()
    h = await upload_headers(client, demo)
    resp = await client.put(photo_url(photo_id), content=data, headers=h)
    assert resp.status_code == 201, resp.text
    await run_jobs(app)
    await db.rollback()
    counts = await photo_status_for(db, "ticket", [owner_id])
    assert msgspec.structs.asdict(counts[owner_id]) == {
        "total": 1,
        "pending": 0,
        "processing": 0,
        "ready": 1,
        "failed": 0,
    }


@pytest.fixture
async def small_limit_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(msgspec.structs.replace(settings, max_photo_bytes=4096), lifespan_hooks=[])
    async with AsyncTestClient(app=app) as c:
        yield c


async def test_too_large_is_413_and_nothing_stored(
    small_limit_client: Any, demo: dict[str, Any], db: Any, settings: Settings
) -> None:
    client = small_limit_client
    h = await upload_headers(client, demo)
    big = fixture_bytes("progressive.jpg")  # ~20 kB
    assert len(big) > 4096
    resp = await client.put(photo_url(uuid.uuid4(), **new_photo_params(demo)), content=big, headers=h)
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")

    assert await _counts(db) == (0, 0)
    assert _stored_files(settings) == []
    assert list((settings.var_dir / "tmp").glob("*")) == []  # no spooled leftovers
    # Under the limit works with the same client.
    ok = await client.put(
        photo_url(uuid.uuid4(), **new_photo_params(demo)), content=fixture_bytes("gps_malformed.jpg"), headers=h
    )
    assert ok.status_code == 201


async def test_body_without_length_is_cut_off_at_the_limit(tmp_path: Any) -> None:
    """A chunked body (no Content-Length) is counted while it streams: the spooler
    stops at the limit and leaves no file behind."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(1000):
            yield b"x" * 1000

    with pytest.raises(TooLarge):
        await spool(chunks(), tmp_path, limit=10_000)
    assert list(tmp_path.iterdir()) == []


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("pixel6_gps_truncated.jpg", None, "corrupt"),
        ("truncated_progressive.jpg", None, "corrupt"),
        ("decompression_bomb.gif", None, "too-many-pixels"),
        ("svg", SVG, "svg"),
        ("heic", HEIC, "heic"),
        ("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "pdf"),
        ("random", bytes(range(256)) * 8, "not-an-image"),
        ("text", "这不是图片 not an image".encode(), "not-an-image"),
        ("empty", b"", None),
    ],
)
async def test_bad_inputs_are_422_and_store_nothing(
    client: Any, demo: dict[str, Any], db: Any, settings: Settings, name: str, data: bytes | None, reason: str | None
) -> None:
    h = await upload_headers(client, demo)
    body = fixture_bytes(name) if data is None else data
    resp = await client.put(photo_url(uuid.uuid4(), **new_photo_params(demo)), content=body, headers=h)
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert problem["status"] == 422
    if reason:
        assert problem["reason"] == reason
    if reason == "heic":
        assert "HEIC" in problem["detail"]
    assert await _counts(db) == (0, 0)
    assert _stored_files(settings) == []


async def test_non_image_content_type_is_415(client: Any, demo: dict[str, Any]) -> None:
    h = {**await upload_headers(client, demo), "Content-Type": "text/plain"}
    resp = await client.put(photo_url(uuid.uuid4(), **new_photo_params(demo)), content=b"hello", headers=h)
    assert resp.status_code == 415


async def test_upload_needs_auth_and_membership(client: Any, demo: dict[str, Any], db: Any) -> None:
    data = fixture_bytes("cmyk.jpg")
    assert (await client.put(photo_url(uuid.uuid4(), **new_photo_params(demo)), content=data)).status_code == 401
    await other_company(db, demo["password"])
    h_other = await upload_headers(client, demo, user="other_engineer")
    # Another company's user can neither create a photo in our project …
    resp = await client.put(photo_url(uuid.uuid4(), **new_photo_params(demo)), content=data, headers=h_other)
    assert resp.status_code == 404
    # … nor upload into, or read, one of ours.
    h = await upload_headers(client, demo)
    pid = uuid.uuid4()
    assert (await client.put(photo_url(pid, **new_photo_params(demo)), content=data, headers=h)).status_code == 201
    assert (await client.put(photo_url(pid), content=data, headers=h_other)).status_code == 404
    assert (await client.get(f"/api/photos/{pid}", headers=h_other)).status_code == 404
    assert (await client.get(f"/api/photos/{pid}/original", headers=h_other)).status_code == 404


async def test_partners_write_only_their_own_photos(client: Any, demo: dict[str, Any], db: Any) -> None:
    data = fixture_bytes("cmyk.jpg")
    staff_photo = Photo(
        id=uuid.uuid4(),
        project_id=demo["project"].id,
        owner_type="ticket",
        owner_id=uuid.uuid4(),
        uploaded_by=demo["users"]["cs_assistant"].id,
        status="pending",
        deleted=False,
    )
    db.add(staff_photo)
    await db.commit()
    staff_photo_id = staff_photo.id
    hc = await upload_headers(client, demo, user="contractor")
    # The contractor is a member but not staff: someone else's photo is forbidden …
    assert (await client.put(photo_url(staff_photo_id), content=data, headers=hc)).status_code == 403
    # … its own (a fix photo it creates) is fine, and it reads it back.
    own = uuid.uuid4()
    resp = await client.put(photo_url(own, **new_photo_params(demo, "ticket_event")), content=data, headers=hc)
    assert resp.status_code == 201
    assert (await client.get(f"/api/photos/{own}", headers=hc)).status_code == 200
    # Staff may upload the bytes of a row another staff member made.
    h = await upload_headers(client, demo)
    assert (await client.put(photo_url(staff_photo_id), content=data, headers=h)).status_code == 201
    # A developer rep does not see staff photos (until the tickets feature grants it).
    hd = await auth_headers(client, "developer_rep", demo["password"])
    assert (await client.get(f"/api/photos/{staff_photo_id}", headers=hd)).status_code == 404


EXPECTED = {
    # fixture: displayed (width, height) after EXIF orientation
    "pixel6_gps_portrait.jpg": (1512, 2688),
    "xiaomi_orientation6_empty_gps.jpg": (10, 10),
    "orientation8_rect_2x1.jpg": (1, 2),
    "hopper_orientation6.jpg": (128, 128),
    "hopper_orientation3.jpg": (128, 128),
    "gps_malformed.jpg": (8, 8),
    "cmyk.jpg": (100, 100),
    "progressive.jpg": (256, 160),
    "transparent_rgba.png": (200, 150),
}


async def test_every_valid_fixture_is_processed(client: Any, app: Any, demo: dict[str, Any]) -> None:
    h = await upload_headers(client, demo)
    ids = {}
    for name in EXPECTED:
        pid = uuid.uuid4()
        resp = await client.put(photo_url(pid, **new_photo_params(demo)), content=fixture_bytes(name), headers=h)
        assert resp.status_code == 201, (name, resp.text)
        ids[name] = pid
    assert await run_jobs(app) == len(EXPECTED)
    for name, pid in ids.items():
        meta = (await client.get(f"/api/photos/{pid}", headers=h)).json()
        assert meta["status"] == "ready", (name, meta)
        assert (meta["width"], meta["height"]) == EXPECTED[name], name
        web = Image.open(io.BytesIO((await client.get(f"/api/photos/{pid}/web", headers=h)).content))
        assert web.mode == "RGB" and web.format == "JPEG", name
        width, height = EXPECTED[name]
        if max(width, height) > 1600:
            assert max(web.size) == 1600 and (web.width < web.height) == (width < height), name
        else:
            assert web.size == (width, height), name  # small: kept at full size, turned upright
        assert len(web.getexif()) == 0, name
        if name == "transparent_rgba.png":
            assert web.getpixel((0, 0)) >= (250, 250, 250)  # transparent corner flattened onto white
    png = await client.get(f"/api/photos/{ids['transparent_rgba.png']}/original", headers=h)
    assert png.headers["content-type"] == "image/png"
    assert png.content == fixture_bytes("transparent_rgba.png")


async def test_orientation_turns_the_pixels(client: Any, app: Any, demo: dict[str, Any]) -> None:
    """hopper_orientation3 is stored upside down: the web image must equal it turned 180°."""
    h = await upload_headers(client, demo)
    pid = uuid.uuid4()
    data = fixture_bytes("hopper_orientation3.jpg")
    await client.put(photo_url(pid, **new_photo_params(demo)), content=data, headers=h)
    await run_jobs(app)
    web = Image.open(io.BytesIO((await client.get(f"/api/photos/{pid}/web", headers=h)).content)).convert("L")
    raw = Image.open(io.BytesIO(data)).convert("L")
    turned = raw.rotate(180)
    diff_turned = sum(abs(a - b) for a, b in zip(web.tobytes(), turned.tobytes(), strict=True))
    diff_raw = sum(abs(a - b) for a, b in zip(web.tobytes(), raw.tobytes(), strict=True))
    assert diff_turned * 4 < diff_raw


async def test_evidence_stamp_is_drawn_on_web_only(client: Any, app: Any, demo: dict[str, Any], db: Any) -> None:
    h = await upload_headers(client, demo)
    data = fixture_bytes("pixel6_gps_portrait.jpg")
    plain, stamped = uuid.uuid4(), uuid.uuid4()
    await client.put(photo_url(plain, **new_photo_params(demo)), content=data, headers=h)
    params = {**new_photo_params(demo), "stamp": "true", "place": "F4K7QX2MB"}
    await client.put(photo_url(stamped, **params), content=data, headers=h)
    await db.rollback()
    job = (await db.scalars(select(Job).where(Job.payload["photo_id"].as_string() == str(stamped)))).one()
    assert job.payload["stamp"][1] == "地点 F4K7QX2MB"
    assert job.payload["stamp"][2].startswith("检查人 工程人员 张强")
    await run_jobs(app)
    a = Image.open(io.BytesIO((await client.get(f"/api/photos/{plain}/web", headers=h)).content)).convert("L")
    b = Image.open(io.BytesIO((await client.get(f"/api/photos/{stamped}/web", headers=h)).content)).convert("L")
    box = (0, a.height - 120, 300, a.height)
    assert a.crop(box).tobytes() != b.crop(box).tobytes()  # the stamp is there
    top = (0, 0, a.width, 200)
    assert a.crop(top).tobytes() == b.crop(top).tobytes()  # and nowhere else
    ta = (await client.get(f"/api/photos/{plain}/thumb", headers=h)).content
    tb = (await client.get(f"/api/photos/{stamped}/thumb", headers=h)).content
    assert ta == tb


async def test_a_worker_in_the_same_process_takes_over_the_check_decode(
    client: Any, app: Any, demo: dict[str, Any], db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a job worker in the uploading process (the embedded worker), the upload's
    check decodes at the web scale and hands that decode to the job, which does not
    decode the original again; without one the job decodes it. Same bytes either way,
    and the job is marked done in the transaction that makes the photo ready."""
    from server.media import processing, services

    taken: list[bool] = []
    take = processing.DECODES.take

    def spy(key: str) -> Any:
        decoded = take(key)
        taken.append(decoded is not None)
        return decoded

    monkeypatch.setattr(processing.DECODES, "take", spy)
    h = await upload_headers(client, demo)
    data = fixture_bytes("pixel6_gps_portrait.jpg")
    ids = []
    for worker_here in (True, False):
        monkeypatch.setattr(services, "worker_in_process", lambda here=worker_here: here)
        ids.append(uuid.uuid4())
        params = {**new_photo_params(demo), "stamp": "true", "place": "F4K7QX2MB"}
        assert (await client.put(photo_url(ids[-1], **params), content=data, headers=h)).status_code == 201
    assert await run_jobs(app) == 2
    assert sorted(taken) == [False, True]
    for variant in ("web", "thumb"):
        a, b = [(await client.get(f"/api/photos/{pid}/{variant}", headers=h)).content for pid in ids]
        assert a == b and a[:2] == b"\xff\xd8"
    await db.rollback()
    assert set((await db.scalars(select(Job.status))).all()) == {"done"}
    assert set((await db.scalars(select(Photo.status))).all()) == {"ready"}


async def test_refused_or_failed_upload_keeps_no_decode(
    client: Any, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from server.media import images, services
    from server.storage import StorageError
    from server.storage.local import FileStorage

    monkeypatch.setattr(services, "worker_in_process", lambda: True)
    images.DECODES.clear()
    h = await upload_headers(client, demo)
    cut = fixture_bytes("truncated_progressive.jpg")
    bad = await client.put(photo_url(uuid.uuid4(), **new_photo_params(demo)), content=cut, headers=h)
    assert bad.status_code == 422 and bad.json()["reason"] == "corrupt"

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(FileStorage, "put_file", broken)  # the check passed, then storing fails
    good = fixture_bytes("hopper_orientation6.jpg")
    resp = await client.put(photo_url(uuid.uuid4(), **new_photo_params(demo)), content=good, headers=h)
    assert resp.status_code >= 500
    assert len(images.DECODES) == 0  # nothing waits for a job that does not exist
    assert _stored_files(settings) == []
