"""API shapes for reading inspections (devices write them through sync)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from server.media.schemas import PhotoCounts


class InspectionRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project_id: uuid.UUID
    kind: str
    template_version_id: uuid.UUID
    target_type: str
    target_id: uuid.UUID
    title: str | None
    status: str
    needs_review: bool
    submitted_at: datetime | None
    photos: PhotoCounts
    #: Submitted (or signed) AND every photo it names has arrived.
    evidence_complete: bool
