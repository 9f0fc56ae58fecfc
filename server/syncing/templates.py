"""The template versions a device should hold (it downloads each once, by id)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.templates.services import latest_refs
from sync.protocol import TemplateRef


async def template_refs(db: AsyncSession, company_id: uuid.UUID) -> list[TemplateRef]:
    """The newest version of each template the caller's company uses."""
    return [TemplateRef(id=i, key=k, content_hash=h) for i, k, h in await latest_refs(db, company_id)]
