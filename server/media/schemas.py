"""API shapes for photos."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import msgspec


class OwnerType(StrEnum):
    item_result = "item_result"
    inspection = "inspection"
    ticket = "ticket"
    ticket_event = "ticket_event"
    checkpoint_scan = "checkpoint_scan"
    signature = "signature"


class PhotoStatus(StrEnum):
    pending = "pending"
    stored = "stored"
    ready = "ready"
    failed = "failed"


class Variant(StrEnum):
    original = "original"
    web = "web"
    thumb = "thumb"


class UploadReceipt(msgspec.Struct):
    """What a PUT answers; the same body for every repeat of the same bytes."""

    id: uuid.UUID
    project_id: uuid.UUID
    owner_type: str
    owner_id: uuid.UUID
    sha256: str
    byte_size: int
    content_type: str


class PhotoRead(msgspec.Struct):
    id: uuid.UUID
    project_id: uuid.UUID
    owner_type: str
    owner_id: uuid.UUID
    status: PhotoStatus
    sha256: str | None
    byte_size: int | None
    content_type: str | None
    taken_at: datetime | None
    uploaded_by: uuid.UUID | None
    width: int | None
    height: int | None
    #: Variants that can be fetched now, each at ``/api/photos/{id}/{variant}``.
    variants: list[Variant]
    error: str | None
    created_at: datetime


class PhotoCounts(msgspec.Struct):
    """Photos of one owner by state: ``pending`` still waits for its bytes,
    ``processing`` has its bytes but no derivatives yet."""

    total: int = 0
    pending: int = 0
    processing: int = 0
    ready: int = 0
    failed: int = 0

    @property
    def complete(self) -> bool:
        return self.pending == 0
