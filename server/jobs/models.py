"""Storage for the job queue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
PARKED = "parked"


class Job(IdMixin, TimestampMixin, Base):
    """One unit of background work. ``attempts`` counts claims, so a job whose
    worker dies (the lease runs out) uses an attempt too and is parked in the end."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_after", "status", "run_after"),)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    #: The tenant the work belongs to (admins see their own company's jobs only).
    company_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
