"""The ``photo.process`` job: make the web and thumb derivatives of a stored original.

When the upload ran in this process, its check's decode (at the web image's scale)
is waiting in `images.DECODES` and the job makes the derivatives from it instead of
decoding the original again; otherwise (another process uploaded it, or it waited
too long) the job decodes the original. Both give the same bytes.

Idempotent: the keys are derived from the photo (id and SHA-256), the output is
deterministic, and the final UPDATE only moves a photo forward, so a re-run after
a crash writes the same objects and ends in the same row. That last transaction
also marks the job done, so the photo turns ready and its job done together.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from pathlib import Path
from typing import Any

from server.jobs.worker import JobContext, PermanentJobError, register
from server.lib.clock import utcnow
from server.media.images import DECODES, ImageRejected, in_pillow_thread, make_derivatives
from server.media.models import FAILED, READY, STORED, Photo
from server.media.services import PROCESS_JOB, derivative_keys, update_photo
from server.storage import storage_for


async def _set_failed(ctx: JobContext, photo: Photo, error: str) -> None:
    async with ctx.session_factory() as db:
        await update_photo(db, photo, Photo.status == STORED, status=FAILED, error=error[:2000], updated_at=utcnow())
        await db.commit()


@register(PROCESS_JOB)
async def process_photo(ctx: JobContext, payload: dict[str, Any]) -> None:
    photo_id = uuid.UUID(str(payload["photo_id"]))
    stamp = [str(line) for line in payload.get("stamp") or []]
    async with ctx.session_factory() as db:
        photo = await db.get(Photo, photo_id)
        await db.commit()
    if photo is None or photo.deleted:
        return  # removed since: nothing to make
    if photo.original_key is None or photo.sha256 is None:
        raise PermanentJobError(f"photo {photo_id} has no stored original")
    if photo.status == READY and photo.web_key and photo.thumb_key:
        return
    storage = storage_for(ctx.settings.storage_url)
    web_key, thumb_key = derivative_keys(photo)
    try:
        decoded = DECODES.take(photo.original_key)
        with contextlib.ExitStack() as cleanup:
            source = storage.local_path(photo.original_key)
            if source is None and decoded is None:
                source = Path(cleanup.enter_context(tempfile.TemporaryDirectory(dir=_tmp_dir(ctx)))) / "original"
                await storage.download(photo.original_key, source)
            try:
                made = await in_pillow_thread(make_derivatives, source, stamp=stamp or None, decoded=decoded)
            except ImageRejected as exc:
                await _set_failed(ctx, photo, exc.message)
                raise PermanentJobError(f"photo {photo_id}: {exc.message}") from exc
        await storage.put_bytes(web_key, made.web, "image/jpeg")
        await storage.put_bytes(thumb_key, made.thumb, "image/jpeg")
    except PermanentJobError:
        raise
    except Exception as exc:
        if ctx.job.attempts >= ctx.job.max_attempts:
            await _set_failed(ctx, photo, f"processing failed: {exc}")
        raise
    async with ctx.session_factory() as db:
        await update_photo(
            db,
            photo,
            Photo.status.in_([STORED, FAILED, READY]),
            status=READY,
            web_key=web_key,
            thumb_key=thumb_key,
            width=made.width,
            height=made.height,
            error=None,
            updated_at=utcnow(),
        )
        await ctx.complete_in(db)
        await db.commit()


def _tmp_dir(ctx: JobContext) -> Path:
    path = ctx.settings.var_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path
