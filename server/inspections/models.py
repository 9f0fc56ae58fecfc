"""Storage for inspections (patrol rounds, unit inspections, acceptance, vacant
units), their item results, checkpoint scans and signatures. All are synced:
devices create them with their own ids (see docs/sync-protocol.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, TimestampMixin
from sync.columns import Synced


class Inspection(Synced, TimestampMixin, Base):
    __tablename__ = "inspections"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    #: patrol | unit_inspection | takeover_acceptance | vacant_unit | acceptance_summary
    kind: Mapped[str] = mapped_column(String(32))
    template_version_id: Mapped[uuid.UUID]
    #: unit | area | facility | building | project
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[uuid.UUID]
    title: Mapped[str | None] = mapped_column(String(200))
    #: draft | in_progress | submitted | signed
    status: Mapped[str] = mapped_column(String(20), default="draft")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    #: The inspection a re-inspection (复验) follows up, if any.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspections.id"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Server time of submission (device times are stored, never trusted for order).
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[uuid.UUID | None]
    needs_review: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)


class ItemResult(Synced, TimestampMixin, Base):
    """One answer of one item (in one instance of a repeatable section).

    Its id is made the same way on every device — UUIDv5 of the inspection id and
    ``{section_key}/{instance_id}/{item_key}`` — so two devices answering the same
    item offline write the same record and the server merges them field by field."""

    __tablename__ = "item_results"
    __table_args__ = (UniqueConstraint("inspection_id", "section_key", "instance_id", "item_key"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    section_key: Mapped[str] = mapped_column(String(80))
    instance_id: Mapped[str] = mapped_column(String(100), default="")
    instance_label: Mapped[str | None] = mapped_column(String(100))
    item_key: Mapped[str] = mapped_column(String(80))
    value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    note: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list[Any]] = mapped_column(default=list)
    severity: Mapped[str | None] = mapped_column(String(20))
    responsible: Mapped[str | None] = mapped_column(String(20))
    #: Where in the unit / area (room picker), free text or an option key.
    location: Mapped[str | None] = mapped_column(String(100))
    answered_by: Mapped[uuid.UUID | None]
    answered_at: Mapped[datetime | None]
    needs_review: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)


class CheckpointScan(Synced, Base):
    """Proof of presence: a QR tag scanned on a patrol round."""

    __tablename__ = "checkpoint_scans"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    place_type: Mapped[str] = mapped_column(String(20))
    place_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    device_id: Mapped[str] = mapped_column(String(100))
    scanned_at: Mapped[datetime]
    received_at: Mapped[datetime]
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    deleted: Mapped[bool] = mapped_column(default=False)


class Signature(Synced, Base):
    """A signature on an inspection: owner (业主), inspector, developer's or
    property company's representative. Signing the last one freezes the record."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("inspection_id", "role"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    #: owner | inspector | developer_rep | property_rep
    role: Mapped[str] = mapped_column(String(20))
    signer_name: Mapped[str] = mapped_column(String(100))
    #: The signature image (a photo record), uploaded like any photo.
    photo_id: Mapped[uuid.UUID | None]
    signed_at: Mapped[datetime]
    recorded_by: Mapped[uuid.UUID]
    received_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(default=False)
