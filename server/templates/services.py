"""Publishing template versions and reading them back.

The bundled templates (checklists/templates/) are published at start-up when
their content hash is new; a broken file stops start-up naming file and path.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from checklists.loader import load_bundled, parse_template
from checklists.model import Template
from checklists.versions import canonical_bytes, content_hash
from server.templates.models import TemplateVersion


@lru_cache(maxsize=256)
def _parse(body: str) -> Template:
    return parse_template(body, "<published version>")


async def template_for_version(db: AsyncSession, version_id: uuid.UUID) -> Template | None:
    """The exact template an inspection was made with (parsed once per body)."""
    body = await db.scalar(select(TemplateVersion.body).where(TemplateVersion.id == version_id))
    return _parse(body) if body is not None else None


async def publish(db: AsyncSession, template: Template, published_by: uuid.UUID | None = None) -> TemplateVersion:
    """Publish `template` unless a version with the same content exists; either
    way return that version. Does not commit."""
    digest = content_hash(template)
    existing = await db.scalar(select(TemplateVersion).where(TemplateVersion.content_hash == digest))
    if existing is not None:
        return existing
    number = (await db.scalar(select(func.max(TemplateVersion.number)).where(
        TemplateVersion.key == template.key)) or 0) + 1
    version = TemplateVersion(key=template.key, kind=template.kind, number=number, content_hash=digest,
                              title_zh=template.title.zh, title_en=template.title.en,
                              body=canonical_bytes(template).decode("utf-8"), published_by=published_by)
    try:
        async with db.begin_nested():
            db.add(version)
            await db.flush()
    except IntegrityError:
        # Another process published the same content at the same moment.
        raced = await db.scalar(select(TemplateVersion).where(TemplateVersion.content_hash == digest))
        assert raced is not None
        return raced
    return version


async def publish_bundled(db: AsyncSession) -> list[TemplateVersion]:
    """Publish every bundled template whose content is new; commit."""
    versions = [await publish(db, t) for t in load_bundled().values()]
    await db.commit()
    return versions


async def latest_versions(db: AsyncSession) -> list[TemplateVersion]:
    newest = (select(TemplateVersion.key, func.max(TemplateVersion.number).label("n"))
              .group_by(TemplateVersion.key).subquery())
    stmt = select(TemplateVersion).join(
        newest, (TemplateVersion.key == newest.c.key) & (TemplateVersion.number == newest.c.n)
    ).order_by(TemplateVersion.key)
    return list((await db.scalars(stmt)).all())
