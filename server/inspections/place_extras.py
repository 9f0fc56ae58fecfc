"""What a QR scan shows besides the place: its open tickets and its recent and
due inspections, filtered by what the caller may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.principal import Principal
from server.inspections.models import Inspection
from server.inspections.services import read_of
from server.inspections.sync_specs import InspectionSpec
from server.qr.services import Place
from server.tickets.models import Ticket
from server.tickets.sync_specs import _visible_tickets

RECENT = 10


async def place_extras(db: AsyncSession, principal: Principal, place: Place) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"open_tickets": [], "inspections": []}
    visible = _visible_tickets(principal)  # everything (True) or a filter; never False
    stmt = select(Ticket).where(
        Ticket.target_type == place.kind,
        Ticket.target_id == place.obj.id,
        Ticket.status != "closed",
        Ticket.deleted.is_(False),
    )
    if visible is not True:
        assert not isinstance(visible, bool)
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
        for r in await read_of(db, found):
            out["inspections"].append(
                {
                    "id": str(r.id),
                    "kind": r.kind,
                    "status": r.status,
                    "title": r.title,
                    "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
                    "due": r.status in ("draft", "in_progress"),
                    "photos_pending": r.photos.pending,
                    "evidence_complete": r.evidence_complete,
                }
            )
    return out
