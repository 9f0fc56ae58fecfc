"""Storage for rectification tickets (整改单 / 报修单) and their events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, TimestampMixin
from sync.columns import Synced


class Ticket(Synced, TimestampMixin, Base):
    """Opened by the server from a failed item of a submitted inspection (one per
    item result: the unique `item_result_id` makes a second one impossible), or by
    hand on a device."""

    __tablename__ = "tickets"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspections.id", ondelete="SET NULL"))
    item_result_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("item_results.id", ondelete="SET NULL"), unique=True
    )
    item_key: Mapped[str | None] = mapped_column(String(80))
    #: inspection | manual
    source: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    target_type: Mapped[str | None] = mapped_column(String(20))
    target_id: Mapped[uuid.UUID | None]
    location: Mapped[str | None] = mapped_column(String(100))
    #: general | important | serious (一般 / 重要 / 严重)
    severity: Mapped[str] = mapped_column(String(20))
    #: developer | contractor | engineering | cleaning | greening | security
    responsible: Mapped[str] = mapped_column(String(20))
    responsible_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    assignee_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    #: open | assigned | fixed | verified | closed (a failed re-inspection reopens: back to open)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    photos: Mapped[list[Any]] = mapped_column(default=list)
    due_date: Mapped[date | None]
    opened_by: Mapped[uuid.UUID | None]
    closed_at: Mapped[datetime | None]
    rating: Mapped[str | None] = mapped_column(String(20))
    deleted: Mapped[bool] = mapped_column(default=False)


class TicketEvent(Synced, Base):
    """One step in a ticket's life, made on a device (assign, fix, verify, close,
    callback, comment). The ticket's status follows from the events applied."""

    __tablename__ = "ticket_events"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list[Any]] = mapped_column(default=list)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    user_id: Mapped[uuid.UUID]
    at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    #: applied | refused (an event that does not fit the ticket's state is kept, not applied)
    outcome: Mapped[str] = mapped_column(String(20), default="applied")
    deleted: Mapped[bool] = mapped_column(default=False)
