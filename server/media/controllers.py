"""HTTP routes for photos: upload, metadata, the image variants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, put
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath, QueryParameter
from litestar.response import File, Redirect

from server.accounts.deps import CurrentUser
from server.db.session import DB
from server.lib.errors import FieldError, Invalid
from server.media import services as svc
from server.media.models import Photo
from server.media.schemas import OwnerType, PhotoRead, PhotoStatus, UploadReceipt, Variant
from server.storage import storage_for

#: Lifetime of a presigned GET URL handed out for an S3 store.
PRESIGN_SECONDS = 120
Sha256 = Annotated[str | None, QueryParameter(required=False, pattern="^[0-9a-f]{64}$")]


def photo_read(p: Photo) -> PhotoRead:
    return PhotoRead(
        id=p.id,
        project_id=p.project_id,
        owner_type=p.owner_type,
        owner_id=p.owner_id,
        status=PhotoStatus(p.status),
        sha256=p.sha256,
        byte_size=p.byte_size,
        content_type=p.content_type,
        taken_at=p.taken_at,
        uploaded_by=p.uploaded_by,
        width=p.width,
        height=p.height,
        variants=svc.available_variants(p),
        error=p.error,
        created_at=p.created_at,
    )


class PhotoController(Controller):
    path = "/api/photos"
    tags = ["photos 照片"]  # noqa: RUF012

    @put(
        "/{photo_id:uuid}",
        summary="Upload a photo's bytes 上传照片 (idempotent by id + SHA-256)",
        request_max_body_size=None,  # the service streams and enforces settings.max_photo_bytes
        description=(
            "Body: the raw image bytes, Content-Type image/*. 201 when stored, 200 for a repeat of the same "
            "bytes, 409 for other bytes under the same id, 413 over the size limit, 422 when the bytes are "
            "not an acceptable photo (HEIC, SVG, damaged, too many pixels). For a photo whose metadata has not "
            "arrived through sync, add project, owner_type and owner_id (else 404)."
        ),
    )
    async def upload(
        self,
        photo_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        db: DB,
        principal: CurrentUser,
        state: State,
        project: Annotated[uuid.UUID | None, QueryParameter(required=False)] = None,
        owner_type: Annotated[OwnerType | None, QueryParameter(required=False)] = None,
        owner_id: Annotated[uuid.UUID | None, QueryParameter(required=False)] = None,
        sha256: Sha256 = None,
        taken_at: Annotated[datetime | None, QueryParameter(required=False)] = None,
        stamp: Annotated[bool, QueryParameter(required=False, description="draw the evidence stamp")] = False,
        place: Annotated[str | None, QueryParameter(required=False, max_length=16)] = None,
    ) -> Response[UploadReceipt]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not content_type.startswith("image/") and content_type != "application/octet-stream":
            raise HTTPException(status_code=415, detail="send the photo's raw bytes with Content-Type image/*")
        new = None
        given = [v is not None for v in (project, owner_type, owner_id)]
        if any(given):
            if not all(given):
                raise Invalid(
                    "project, owner_type and owner_id go together",
                    errors=[FieldError("query", "give all of project, owner_type and owner_id, or none")],
                )
            assert project is not None and owner_type is not None and owner_id is not None
            if taken_at is not None and taken_at.tzinfo is None:
                raise Invalid("taken_at needs a time zone", errors=[FieldError("taken_at", "add Z or an offset")])
            new = svc.NewPhoto(project, owner_type, owner_id, sha256, taken_at)
        length = request.headers.get("content-length")
        body, created = await svc.upload(
            db,
            state.settings,
            principal,
            photo_id,
            request.stream(),
            declared_length=int(length) if length and length.isdigit() else None,
            new=new,
            stamp=svc.StampRequest(place) if stamp else None,
        )
        if created and (worker := getattr(state, "job_worker", None)) is not None:
            worker.wake()
        return Response(body, status_code=201 if created else 200)

    @get("/{photo_id:uuid}", summary="Photo metadata and status 照片信息")
    async def get_photo(self, photo_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> PhotoRead:
        return photo_read(await svc.get_readable_photo(db, principal, photo_id))

    @get(
        "/{photo_id:uuid}/{variant:str}",
        summary="The image: original, web or thumb 照片文件",
        description="Local store: the bytes. S3 store: a redirect (307) to a presigned URL valid for two minutes.",
        response_description="the image bytes, or a redirect",
    )
    async def get_variant(
        self, photo_id: FromPath[uuid.UUID], variant: FromPath[Variant], db: DB, principal: CurrentUser, state: State
    ) -> Response[Any]:
        photo = await svc.get_readable_photo(db, principal, photo_id)
        key, content_type = svc.variant_key(photo, variant)
        storage = storage_for(state.settings.storage_url)
        filename = f"{photo.id}-{variant.value}.{key.rsplit('.', 1)[-1]}"
        path = storage.local_path(key)
        if path is not None:
            return File(
                path=path,
                media_type=content_type,
                filename=filename,
                content_disposition_type="inline",
                headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
            )
        url = await storage.presigned_get_url(
            key, expires_seconds=PRESIGN_SECONDS, content_type=content_type, filename=filename
        )
        assert url is not None
        return Redirect(url, status_code=307, headers={"Cache-Control": "no-store"})
