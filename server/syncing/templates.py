"""The template versions a device should hold (it downloads each once, by id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.templates.services import latest_versions
from sync.protocol import TemplateRef


async def template_refs(db: AsyncSession) -> list[TemplateRef]:
    return [TemplateRef(id=v.id, key=v.key, content_hash=v.content_hash) for v in await latest_versions(db)]
