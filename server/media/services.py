"""Photos: who may write and read them, the upload, and counts for other features.

Upload protocol (docs/photos.md): ``PUT /api/photos/{id}`` with the raw bytes.
The metadata row normally arrives first through sync; when the bytes come first,
the PUT names ``project``, ``owner_type`` and ``owner_id`` and creates the row
itself, so upload order and sync order do not matter. Idempotent by (id, SHA-256):
the same bytes again store nothing; other bytes for the same id are a conflict.
Nothing is stored (no object, no row, no job) when a check fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.accounts.principal import Principal
from server.audit.services import record
from server.jobs.queue import enqueue
from server.jobs.worker import worker_in_process
from server.lib.clock import utcnow
from server.lib.errors import Conflict, FieldError, Forbidden, Invalid, NotFound, TooLarge
from server.media.images import (
    DECODES,
    EXTENSIONS,
    KEEP_MAX_BYTES,
    WEB_MAX,
    Checked,
    ImageRejected,
    check_image,
    in_pillow_thread,
)
from server.media.models import FAILED, PENDING, READY, STORED, Photo
from server.media.schemas import OwnerType, PhotoCounts, UploadReceipt, Variant
from server.settings import Settings
from server.storage import Storage, storage_for
from sync import stamping

PROCESS_JOB = "photo.process"
CHINA_TIME = timezone(timedelta(hours=8))

#: Extra write rules other features add (the sync engine: "the owner record is
#: yours"). Each may only allow; the base rule below still has to hold.
WriteRule = Callable[[AsyncSession, Principal, Photo], Awaitable[bool]]
WRITE_RULES: list[WriteRule] = []
#: Extra read rules (the tickets feature: "a contractor sees the photos of the
#: tickets assigned to it"). Any rule that answers True lets the caller read.
READ_RULES: list[WriteRule] = []


async def can_write_photo(db: AsyncSession, principal: Principal, photo: Photo) -> bool:
    """May ``principal`` upload the bytes of ``photo``?

    A member of the photo's project who is property-company staff, or who is the
    photo's own uploader; then every rule in WRITE_RULES must agree."""
    if photo.project_id not in principal.project_ids:
        return False
    if not (principal.is_staff or photo.uploaded_by == principal.user_id):
        return False
    for rule in WRITE_RULES:
        if not await rule(db, principal, photo):
            return False
    return True


async def can_read_photo(db: AsyncSession, principal: Principal, photo: Photo) -> bool:
    """Staff members of the project read its photos; a partner (developer,
    contractor) reads its own uploads, and whatever READ_RULES grant."""
    if photo.project_id not in principal.project_ids or photo.deleted:
        return False
    if principal.is_staff or photo.uploaded_by == principal.user_id:
        return True
    for rule in READ_RULES:
        if await rule(db, principal, photo):
            return True
    return False


async def get_readable_photo(db: AsyncSession, principal: Principal, photo_id: uuid.UUID) -> Photo:
    photo = await db.get(Photo, photo_id)
    if photo is None or not await can_read_photo(db, principal, photo):
        raise NotFound("photo not found 照片不存在")
    return photo


def variant_key(photo: Photo, variant: Variant) -> tuple[str, str]:
    """The storage key and content type of one variant, or NotFound if not made yet."""
    if variant == Variant.original:
        key, ctype = photo.original_key, photo.content_type or "application/octet-stream"
    else:
        key, ctype = (photo.web_key if variant == Variant.web else photo.thumb_key), "image/jpeg"
    if key is None:
        raise NotFound(
            f"the {variant.value} image of this photo is not available yet (status: {photo.status})",
            photo_status=photo.status,
        )
    return key, ctype


def available_variants(photo: Photo) -> list[Variant]:
    out = []
    if photo.original_key:
        out.append(Variant.original)
    if photo.web_key:
        out.append(Variant.web)
    if photo.thumb_key:
        out.append(Variant.thumb)
    return out


def original_key(photo: Photo, sha256: str, content_type: str) -> str:
    """Content-addressed per photo: two uploads of different bytes never overwrite each other."""
    return f"photos/{photo.project_id}/{photo.id}/{sha256}.{EXTENSIONS.get(content_type, 'bin')}"


def derivative_keys(photo: Photo) -> tuple[str, str]:
    """Deterministic, so a re-run after a crash writes the same keys."""
    assert photo.sha256
    base = f"photos/{photo.project_id}/{photo.id}/{photo.sha256[:16]}"
    return f"{base}-web.jpg", f"{base}-thumb.jpg"


def receipt(photo: Photo) -> UploadReceipt:
    assert photo.sha256 and photo.byte_size is not None and photo.content_type
    return UploadReceipt(
        id=photo.id,
        project_id=photo.project_id,
        owner_type=photo.owner_type,
        owner_id=photo.owner_id,
        sha256=photo.sha256,
        byte_size=photo.byte_size,
        content_type=photo.content_type,
    )


def _already_stored(photo: Photo, sha256: str) -> tuple[UploadReceipt, bool]:
    """The answer for a photo that already holds an original: the same bytes again
    store nothing (its receipt, False); other bytes are a conflict."""
    if photo.sha256 == sha256:
        return receipt(photo), False
    raise Conflict("this photo id already holds other bytes; a new photo needs a new id 照片编号已被占用")


async def update_photo(db: AsyncSession, photo: Photo, *where: Any, **values: Any) -> bool:
    """UPDATE ``photo``'s row (where ``where`` holds too) and mark it written for sync
    (`stamping.touch`: a rollback drops the mark with the transaction). True when the
    row matched."""
    result = await db.execute(
        update(Photo)
        .where(Photo.id == photo.id, *where)
        .values(**values)
        .execution_options(synchronize_session=False, sync_touched=True)
    )
    stamping.touch(db.sync_session, Photo.__table__, photo.project_id, {photo.id})
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NewPhoto:
    """Metadata given with a PUT for a photo that sync has not delivered yet."""

    project_id: uuid.UUID
    owner_type: OwnerType
    owner_id: uuid.UUID
    sha256: str | None = None
    taken_at: datetime | None = None


@dataclass(frozen=True)
class StampRequest:
    """Draw the evidence stamp (time, place code, inspector) on the web image."""

    place_code: str | None = None


@dataclass
class Spooled:
    path: Path
    sha256: str
    size: int


async def spool(chunks: AsyncIterator[bytes], directory: Path, limit: int) -> Spooled:
    """Write the body to a temporary file while hashing it; stop at ``limit`` bytes.

    The local file calls are page-cache writes of one chunk each (microseconds), so
    they stay on the loop rather than paying a thread hop per chunk."""
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    fd, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".part")
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"photo is larger than the limit of {limit:,} bytes 照片超过大小限制")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)  # noqa: ASYNC240
        raise
    return Spooled(path, digest.hexdigest(), size)


def _flush_to_disk(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


async def _check(path: Path, *, flush: bool, keep: bool) -> Checked:
    """The Pillow check; 422 for bytes we refuse.

    ``keep``: a job worker runs in this process, so the check decodes at the web
    image's scale and keeps that decode for the job (which then does not decode the
    photo again); otherwise it decodes at 1/8. Either way every scan is read.

    ``flush``: the spooled file is fsynced meanwhile. On a local store it becomes the
    original by a rename, and the store's own fsync then finds nothing left to write:
    the disk works while the CPU decodes. The file is still a temporary one, deleted
    if the check fails, so nothing is stored before the check has passed."""
    checking = in_pillow_thread(
        check_image, path, keep_for_web=WEB_MAX if keep else None, keep_max_bytes=KEEP_MAX_BYTES
    )
    if not flush:
        try:
            return await checking
        except ImageRejected as exc:
            raise _rejected(exc) from exc
    checked, flushed = await asyncio.gather(checking, asyncio.to_thread(_flush_to_disk, path), return_exceptions=True)
    if isinstance(checked, ImageRejected):
        raise _rejected(checked) from checked
    if isinstance(checked, BaseException):
        raise checked
    if isinstance(flushed, BaseException):
        if checked.decoded is not None:
            checked.decoded.close()
        raise flushed
    return checked


def _rejected(exc: ImageRejected) -> Invalid:
    return Invalid(exc.message, errors=[FieldError("body", exc.message)], reason=exc.reason)


async def _stamp_lines(db: AsyncSession, actor: Principal, photo: Photo, stamp: StampRequest) -> list[str]:
    name = await db.scalar(select(User.display_name).where(User.id == actor.user_id)) or actor.username
    when = (photo.taken_at or utcnow()).astimezone(CHINA_TIME)
    lines = [f"时间 {when:%Y-%m-%d %H:%M}"]
    if stamp.place_code:
        lines.append(f"地点 {stamp.place_code}")
    lines.append(f"检查人 {name}")
    return lines


async def upload(
    db: AsyncSession,
    settings: Settings,
    actor: Principal,
    photo_id: uuid.UUID,
    chunks: AsyncIterator[bytes],
    *,
    declared_length: int | None,
    new: NewPhoto | None = None,
    stamp: StampRequest | None = None,
) -> tuple[UploadReceipt, bool]:
    """Receive the bytes of a photo. Returns the receipt and whether they were stored now
    (False: the same bytes were already there)."""
    limit = settings.max_photo_bytes
    if declared_length is not None and declared_length > limit:
        raise TooLarge(f"photo is larger than the limit of {limit:,} bytes 照片超过大小限制")
    photo = await db.get(Photo, photo_id)
    if photo is None:
        if new is None:
            raise NotFound(
                "photo not found: sync its metadata first, or create it with this upload by adding "
                "?project=…&owner_type=…&owner_id=…"
            )
        actor.require_project(new.project_id)
        photo = Photo(
            id=photo_id,
            project_id=new.project_id,
            owner_type=new.owner_type.value,
            owner_id=new.owner_id,
            sha256=new.sha256,
            taken_at=new.taken_at,
            uploaded_by=actor.user_id,
            status=PENDING,
            deleted=False,
        )
        is_new = True
    else:
        is_new = False
        if photo.project_id not in actor.project_ids or photo.deleted:
            raise NotFound("photo not found 照片不存在")
    if not await can_write_photo(db, actor, photo):
        raise Forbidden("you may not upload this photo 无权上传此照片")
    stamp_lines = await _stamp_lines(db, actor, photo, stamp) if stamp else None
    # End the read transaction: on SQLite it holds the write lock, and the body may take long.
    await db.commit()

    body = await spool(chunks, settings.var_dir / "tmp", limit)
    try:
        if body.size == 0:
            raise Invalid("empty body: send the photo's bytes", errors=[FieldError("body", "empty")])
        if photo.original_key is not None:
            return _already_stored(photo, body.sha256)
        if photo.sha256 and photo.sha256 != body.sha256:
            raise Conflict("the bytes do not match the SHA-256 declared for this photo 照片校验值不符")
        storage = storage_for(settings.storage_url)
        checked = await _check(body.path, flush=storage.scheme == "file", keep=worker_in_process())
        try:
            return await _store(db, storage, actor, photo, is_new, body, checked, stamp_lines)
        finally:
            if checked.decoded is not None:
                checked.decoded.close()  # unless _store handed it over
    finally:
        body.path.unlink(missing_ok=True)


async def _store(
    db: AsyncSession,
    storage: Storage,
    actor: Principal,
    photo: Photo,
    is_new: bool,
    body: Spooled,
    checked: Checked,
    stamp_lines: list[str] | None,
) -> tuple[UploadReceipt, bool]:
    """Store the checked original, record it (compare-and-set) and queue its job."""
    info = checked.info
    key = original_key(photo, body.sha256, info.content_type)
    await storage.put_file(key, body.path, info.content_type, move=True)
    stored = await _mark_stored(db, actor, photo, is_new, body, info.content_type, key, (info.width, info.height))
    if stored is not None:
        if stored.original_key != key:
            with contextlib.suppress(Exception):
                await storage.delete(key)
        return _already_stored(stored, body.sha256)
    payload: dict[str, object] = {"photo_id": str(photo.id)}
    if stamp_lines:
        payload["stamp"] = stamp_lines
    enqueue(db, PROCESS_JOB, payload, company_id=actor.company_id)
    record(
        db,
        actor,
        "upload",
        "photo",
        photo.id,
        after={"sha256": body.sha256, "byte_size": body.size, "content_type": info.content_type},
        project_id=photo.project_id,
    )
    await db.commit()
    if checked.decoded is not None:
        # The job exists now: hand it the decode (keyed by the original, which names
        # the photo and its SHA-256). The cache owns it from here.
        DECODES.offer(key, checked.decoded)
        checked.decoded = None
    photo.status = STORED
    photo.sha256 = body.sha256
    photo.byte_size = body.size
    photo.content_type = info.content_type
    photo.original_key = key
    return receipt(photo), True


async def _mark_stored(
    db: AsyncSession,
    actor: Principal,
    photo: Photo,
    is_new: bool,
    body: Spooled,
    content_type: str,
    key: str,
    size: tuple[int, int],
) -> Photo | None:
    """Record the stored original (compare-and-set). None when this upload won;
    otherwise the row as another writer left it."""
    values = {
        "status": STORED,
        "sha256": body.sha256,
        "byte_size": body.size,
        "content_type": content_type,
        "original_key": key,
        "width": size[0],
        "height": size[1],
        "updated_at": utcnow(),
    }
    if is_new:
        for name, value in values.items():
            setattr(photo, name, value)
        try:
            async with db.begin_nested():
                db.add(photo)
                await db.flush()
            return None
        except IntegrityError:
            pass  # created meanwhile (sync, or a parallel upload): fall through to the CAS
        await db.rollback()
    if await update_photo(
        db,
        photo,
        Photo.status == PENDING,
        Photo.deleted.is_(False),
        or_(Photo.sha256.is_(None), Photo.sha256 == body.sha256),
        uploaded_by=func.coalesce(Photo.uploaded_by, actor.user_id),
        **values,
    ):
        return None
    await db.rollback()  # also drops update_photo's sync mark: nothing was written
    current = await db.get(Photo, photo.id, populate_existing=True)
    await db.commit()
    if current is None or current.deleted:
        raise NotFound("photo not found 照片不存在")
    if current.original_key is None:
        raise Conflict("the bytes do not match the SHA-256 declared for this photo 照片校验值不符")
    return current


async def photo_status_for(
    db: AsyncSession, owner_type: str, owner_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, PhotoCounts]:
    """Photo counts per owner (every id asked for is in the answer, zeros if it has
    none). An inspection is incomplete while ``counts.pending`` > 0."""
    ids = list(dict.fromkeys(owner_ids))
    out = {i: PhotoCounts() for i in ids}
    if not ids:
        return out
    rows = await db.execute(
        select(Photo.owner_id, Photo.status, func.count())
        .where(Photo.owner_type == owner_type, Photo.owner_id.in_(ids), Photo.deleted.is_(False))
        .group_by(Photo.owner_id, Photo.status)
    )
    for owner_id, status, n in rows.all():
        c = out[owner_id]
        c.total += n
        if status == PENDING:
            c.pending += n
        elif status == STORED:
            c.processing += n
        elif status == READY:
            c.ready += n
        elif status == FAILED:
            c.failed += n
    return out
