"""Reading inspections for people (devices read them through the sync feed)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.principal import Principal
from server.inspections.evidence import evidence_for
from server.inspections.models import Inspection
from server.inspections.rules import FROZEN_STATUSES
from server.inspections.schemas import InspectionRead
from server.inspections.sync_specs import InspectionSpec
from server.lib.errors import NotFound


async def get_visible_inspection(db: AsyncSession, actor: Principal, inspection_id: uuid.UUID) -> Inspection:
    """The inspection if the caller's role and projects let it see it (else 404)."""
    scope = InspectionSpec().scope(actor)
    if scope is False:
        raise NotFound("inspection not found")
    stmt = select(Inspection).where(
        Inspection.id == inspection_id, Inspection.project_id.in_(actor.project_ids), Inspection.deleted.is_(False)
    )
    if scope is not True:
        stmt = stmt.where(scope)
    insp = await db.scalar(stmt)
    if insp is None:
        raise NotFound("inspection not found")
    return insp


async def read_of(db: AsyncSession, inspections: list[Inspection]) -> list[InspectionRead]:
    evidence = await evidence_for(db, [i.id for i in inspections])
    return [
        InspectionRead(
            id=i.id,
            project_id=i.project_id,
            kind=i.kind,
            template_version_id=i.template_version_id,
            target_type=i.target_type,
            target_id=i.target_id,
            title=i.title,
            status=i.status,
            needs_review=i.needs_review,
            submitted_at=i.submitted_at,
            photos=evidence[i.id],
            evidence_complete=i.status in FROZEN_STATUSES and evidence[i.id].pending == 0,
        )
        for i in inspections
    ]
