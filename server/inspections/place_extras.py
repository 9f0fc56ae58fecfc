"""What a QR scan shows besides the place: its open tickets and its recent and
due inspections, filtered by what the caller may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.principal import Principal
from server.inspections.evidence import evidence_for
from server.inspections.models import Inspection
from server.inspections.sync_specs import InspectionSpec
from server.qr.services import Place
from server.tickets.models import Ticket
from server.tickets.sync_specs import _visible_tickets

RECENT = 10


async def place_extras(db: AsyncSession, principal: Principal, place: Place) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"open_tickets": [], "inspections": []}
    visible = _visible_tickets(principal)
    if visible is not False:
        stmt = select(Ticket).where(
            Ticket.target_type == place.kind,
            Ticket.target_id == place.obj.id,
            Ticket.status != "closed",
            Ticket.deleted.is_(False),
        )
        if visible is not True:
            stmt = stmt.where(visible)
        for t in (await db.scalars(stmt.order_by(Ticket.created_at.desc()).limit(50))).all():
            out["open_tickets"].append(
                {
                    "id": str(t.id),
                    "title": t.title,
                    "severity": t.severity,
                    "status": t.status,
                    "responsible": t.responsible,
                    "due_date": t.due_date.isoformat() if t.due_date else None,
                }
            )
    scope = InspectionSpec().scope(principal)
    if scope is not False:
        stmt2 = select(Inspection).where(
            Inspection.target_type == place.kind, Inspection.target_id == place.obj.id, Inspection.deleted.is_(False)
        )
        if scope is not True:
            stmt2 = stmt2.where(scope)
        found = list((await db.scalars(stmt2.order_by(Inspection.created_at.desc()).limit(RECENT))).all())
        evidence = await evidence_for(db, [i.id for i in found])
        for i in found:
            out["inspections"].append(
                {
                    "id": str(i.id),
                    "kind": i.kind,
                    "status": i.status,
                    "title": i.title,
                    "submitted_at": i.submitted_at.isoformat() if i.submitted_at else None,
                    "due": i.status in ("draft", "in_progress"),
                    "photos_pending": evidence[i.id].pending,
                    "evidence_complete": i.status in ("submitted", "signed") and evidence[i.id].pending == 0,
                }
            )
    return out
