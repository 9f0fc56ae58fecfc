"""Storage of published checklist template versions (immutable once published)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin
from server.lib.clock import utcnow


class TemplateVersion(IdMixin, Base):
    """One published version of one template: its canonical JSON and content hash.
    Never updated: a change publishes a new version (number + 1).

    Bundled versions are shared by every company (`company_key` ""); a version an
    admin publishes belongs to that admin's company (`company_key` = its id) and
    no other company ever sees it."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("company_key", "key", "number"), UniqueConstraint("company_key", "content_hash"))
    company_key: Mapped[str] = mapped_column(String(40), default="")
    key: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[uuid.UUID | None]
