"""The template version an inspection was made with, cached per push."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from checklists.index import TemplateIndex
from server.templates.services import template_for_version


async def template_index(
    db: AsyncSession, cache: dict[Any, Any], version_id: uuid.UUID, company_id: uuid.UUID | None = None
) -> TemplateIndex | None:
    """The version's template (with `company_id`: only if that company may use it)."""
    key = ("template", version_id, company_id)
    if key not in cache:
        template = await template_for_version(db, version_id, company_id)
        cache[key] = TemplateIndex(template) if template is not None else None
    index: TemplateIndex | None = cache[key]
    return index
