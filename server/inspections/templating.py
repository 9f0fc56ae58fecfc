"""The template version an inspection was made with, for the checks of a push.

A published version never changes (server/templates/services.py), so each one is
read and indexed once per process and kept (the most recent `KEEP`), with the
company it belongs to; a push then asks the database for none of the versions it
has met before. Whether a company may use a version is decided on each call."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from checklists.index import TemplateIndex
from server.templates.models import TemplateVersion
from server.templates.services import template_of, usable_by

#: How many versions are kept indexed (a few per checklist kind in use).
KEEP = 256
_indexed: dict[uuid.UUID, tuple[str, TemplateIndex]] = {}


async def template_index(
    db: AsyncSession, version_id: uuid.UUID, company_id: uuid.UUID | None = None
) -> TemplateIndex | None:
    """The version's template, indexed (with `company_id`: only if that company
    may use it — a bundled version or its own)."""
    found = _indexed.get(version_id)
    if found is None:
        version = await db.get(TemplateVersion, version_id)
        if version is None:
            return None
        found = (version.company_key, TemplateIndex(template_of(version)))
        if len(_indexed) >= KEEP:
            del _indexed[next(iter(_indexed))]  # (the oldest met)
        _indexed[version_id] = found
    owner, index = found
    if company_id is not None and not usable_by(owner, company_id):
        return None
    return index
