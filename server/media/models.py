"""Storage for photos. The metadata row comes from the tablet through sync (or
from the upload itself); the bytes live in the object store under keys the server
makes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, TimestampMixin
from sync.columns import Synced

PENDING = "pending"  # metadata only: the bytes have not arrived
STORED = "stored"  # original saved, processing queued
READY = "ready"  # derivatives made
FAILED = "failed"  # processing gave up (the original is kept)


class Photo(Synced, TimestampMixin, Base):
    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_owner_type_owner_id", "owner_type", "owner_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made by the device
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    byte_size: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(100))
    taken_at: Mapped[datetime | None]
    uploaded_by: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    width: Mapped[int | None]
    height: Mapped[int | None]
    original_key: Mapped[str | None] = mapped_column(String(300))
    web_key: Mapped[str | None] = mapped_column(String(300))
    thumb_key: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(default=False)
