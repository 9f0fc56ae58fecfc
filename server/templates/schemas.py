"""API shapes for checklist templates. A published version is read-only; the only
write is publishing a new one (a template JSON body, or an XLSX workbook)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class Title(msgspec.Struct):
    zh: str
    en: str


class VersionRead(msgspec.Struct, kw_only=True):
    """One published, immutable version of one template."""

    id: uuid.UUID
    key: str
    kind: str
    discipline: str | None
    number: int  # 1, 2, 3 … per template key
    version: str  # the template's own version label ("2025.1")
    content_hash: str  # sha256 of the canonical JSON; also the ETag
    title: Title
    item_count: int
    published_at: datetime
    published_by: uuid.UUID | None


class VersionDetail(VersionRead, kw_only=True):
    """A version with the template itself (as in docs/checklists.md)."""

    template: dict[str, Any]


class TemplateRead(msgspec.Struct, kw_only=True):
    """One template key: its newest version and every version, newest first."""

    key: str
    kind: str
    discipline: str | None
    title: Title
    latest: VersionRead
    versions: list[VersionRead]
