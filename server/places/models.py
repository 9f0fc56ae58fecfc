"""Storage for projects, buildings, units, public areas and facilities."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin
from server.lib.ids import new_id
from sync.columns import Synced


class Project(Synced, IdMixin, TimestampMixin, Base):
    """An estate (小区) or office tower, managed by one property company."""

    __tablename__ = "projects"
    #: A project is its own sync space: `project_id` equals `id` (set on insert).
    project_id: Mapped[uuid.UUID] = mapped_column(index=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("id", new_id())
        kwargs.setdefault("project_id", kwargs["id"])
        super().__init__(**kwargs)

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    developer_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))


class Building(Synced, IdMixin, TimestampMixin, Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    floors: Mapped[int | None]


class Unit(Synced, IdMixin, TimestampMixin, Base):
    """A dwelling or suite (房号). Owner name and phone are personal data."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "entrance", "room_no"),)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    entrance: Mapped[str] = mapped_column(String(20), default="")
    floor: Mapped[int]
    room_no: Mapped[str] = mapped_column(String(30))
    layout: Mapped[str | None] = mapped_column(String(60))
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(20), default="vacant", index=True)
    owner_name: Mapped[str | None] = mapped_column(String(100))
    owner_phone: Mapped[str | None] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(16), unique=True)


class PublicArea(Synced, IdMixin, TimestampMixin, Base):
    """Lobby, lift hall, car park, green belt, roof … (公共区域)."""

    __tablename__ = "public_areas"
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(16), unique=True)


class Facility(Synced, IdMixin, TimestampMixin, Base):
    """A facility or piece of equipment (设施设备) standing in a place."""

    __tablename__ = "facilities"
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    area_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("public_areas.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(16), unique=True)
