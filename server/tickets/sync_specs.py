"""How tickets and ticket events sync; who sees which tickets."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, or_, select

from checklists import model
from server.accounts.models import Organisation
from server.accounts.roles import Role
from server.inspections.sync_specs import IMMUTABLE, LATEST, target_project
from server.tickets import lifecycle
from server.tickets.models import Ticket, TicketEvent
from sync import stamping
from sync.conflicts import record_conflict
from sync.errors import LateEdit, Rejected, require_one_of
from sync.merge import FieldRule, Rule
from sync.registry import Actor, ApplyContext, EntitySpec
from sync.values import as_day, as_instant, as_uuid


def _visible_tickets(actor: Actor) -> ColumnElement[bool] | bool:
    if actor.is_staff:
        return True
    return or_(Ticket.responsible_org_id == actor.org_id, Ticket.assignee_org_id == actor.org_id)


class TicketSpec(EntitySpec):
    name = "ticket"
    model = Ticket
    rank = 50
    fields: ClassVar[dict[str, FieldRule]] = {
        "title": LATEST,
        "description": FieldRule(Rule.add_wins_text),
        "severity": LATEST,
        "responsible": LATEST,
        "target_type": IMMUTABLE,
        "target_id": IMMUTABLE,
        "location": LATEST,
        "due_date": LATEST,
        "photos": FieldRule(Rule.add_wins_set),
    }
    required = ("title", "severity", "responsible", "target_type", "target_id")

    async def project_for_create(self, ctx: ApplyContext, key: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
        return await target_project(ctx, fields)

    async def validate(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> dict[str, Any]:
        if "severity" in fields:
            require_one_of(
                fields["severity"], model.SEVERITIES, "severity", "severity must be general, important or serious"
            )
        if "responsible" in fields:
            require_one_of(fields["responsible"], model.RESPONSIBLES, "responsible", "responsible: unknown party")
        if fields.get("target_id") is not None:
            fields["target_id"] = as_uuid(fields["target_id"], "target_id")
        if fields.get("due_date") is not None:
            fields["due_date"] = as_day(fields["due_date"], "due_date")
        if "photos" in fields:
            fields["photos"] = [str(p) for p in fields["photos"] or []]
        return fields

    async def authorize(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        if not ctx.actor.is_staff:
            raise Rejected(
                "only the property company's staff open or edit tickets; report with an event", code="forbidden"
            )

    def build(self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]) -> Any:
        return Ticket(
            id=key, project_id=project_id, source="manual", status="open", opened_by=ctx.actor.user_id, **fields
        )

    def frozen_reason(self, row: Any) -> str | None:
        return "the ticket is closed; the edit is kept for review" if row.status == "closed" else None

    def scope(self, actor: Actor) -> ColumnElement[bool] | bool:
        return _visible_tickets(actor)


class TicketEventSpec(EntitySpec):
    name = "ticket_event"
    model = TicketEvent
    rank = 60
    fields: ClassVar[dict[str, FieldRule]] = {
        "ticket_id": IMMUTABLE,
        "kind": IMMUTABLE,
        "note": IMMUTABLE,
        "photos": IMMUTABLE,
        "data": IMMUTABLE,
        "at": IMMUTABLE,
    }
    required = ("ticket_id", "kind")

    async def _ticket(self, ctx: ApplyContext, ticket_id: Any) -> Ticket:
        ticket = await ctx.db.get(Ticket, as_uuid(ticket_id, "ticket_id"), with_for_update=True)
        if ticket is None or ticket.project_id not in ctx.actor.project_ids:
            raise Rejected("unknown ticket", code="not_found")
        return ticket

    async def project_for_create(self, ctx: ApplyContext, key: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
        return (await self._ticket(ctx, fields["ticket_id"])).project_id

    async def validate(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> dict[str, Any]:
        if row is not None:
            raise LateEdit("a ticket event never changes once recorded")
        require_one_of(fields["kind"], lifecycle.EVENT_KINDS, "kind")
        fields["ticket_id"] = as_uuid(fields["ticket_id"], "ticket_id")
        fields["at"] = as_instant(fields.get("at"), "at")
        fields["photos"] = [str(p) for p in fields.get("photos") or []]
        data = fields.get("data") or {}
        if not isinstance(data, dict):
            raise Rejected("data: must be an object", code="invalid")
        if fields["kind"] == "callback" and data.get("rating") not in lifecycle.RATINGS:
            raise Rejected("data.rating must be one of: " + ", ".join(lifecycle.RATINGS), code="invalid")
        fields["data"] = data
        return fields

    async def authorize(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        ticket = await self._ticket(ctx, fields["ticket_id"])
        if ctx.actor.is_staff:
            return
        mine = ctx.actor.org_id in (ticket.responsible_org_id, ticket.assignee_org_id)
        allowed = {"fix", "comment"} | ({"assign"} if ctx.actor.role == Role.developer_rep else set())
        if not mine or fields["kind"] not in allowed:
            raise Rejected("this ticket event is not yours to record", code="forbidden")

    def build(self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]) -> Any:
        return TicketEvent(id=key, project_id=project_id, user_id=ctx.actor.user_id, received_at=ctx.now, **fields)

    async def after_apply(self, ctx: ApplyContext, row: Any, created: bool, changed: set[str]) -> None:
        if not created:
            return
        ticket = await self._ticket(ctx, row.ticket_id)
        after = lifecycle.next_status(ticket.status, row.kind)
        if after is None:
            # Recorded, not applied: e.g. a fix reported offline after the ticket closed.
            row.outcome = "refused"
            cid = await record_conflict(
                ctx,
                "ticket",
                ticket.id,
                ticket.project_id,
                "status",
                kind="event_refused",
                server_value=ticket.status,
                incoming_value=row.kind,
                base_value=None,
                merged_value=ticket.status,
                flagged=True,
                note=f"{row.kind} does not apply to a {ticket.status} ticket",
            )
            ctx.conflict_ids.append(cid)
            return
        if row.kind == "assign":
            await _assign(ctx, ticket, row.data)
        if row.kind == "fix":
            ticket.photos = list(ticket.photos or []) + [p for p in row.photos if p not in (ticket.photos or [])]
        if row.kind == "close":
            ticket.closed_at = ctx.now
        if row.kind == "callback":
            ticket.rating = row.data["rating"]
        ticket.status = after
        await ctx.db.flush()

    def scope(self, actor: Actor) -> ColumnElement[bool] | bool:
        visible = _visible_tickets(actor)
        if visible is True:
            return True
        assert not isinstance(visible, bool)
        return TicketEvent.ticket_id.in_(select(Ticket.id).where(visible))


async def _assign(ctx: ApplyContext, ticket: Ticket, data: dict[str, Any]) -> None:
    org_id = data.get("assignee_org_id")
    if org_id is not None:
        org = await ctx.db.get(Organisation, as_uuid(org_id, "data.assignee_org_id"))
        if org is None or (org.company_id or org.id) != ctx.actor.company_id:
            raise Rejected("data.assignee_org_id: unknown organisation", code="invalid")
        old = ticket.assignee_org_id
        if old and old != org.id and old != ticket.responsible_org_id:
            # The previous organisation no longer sees this ticket.
            stamping.bury(ctx.db.sync_session, "ticket", ticket.project_id, ticket.id, old)
        ticket.assignee_org_id = org.id
    if data.get("assignee_user_id") is not None:
        ticket.assignee_user_id = as_uuid(data["assignee_user_id"], "data.assignee_user_id")
    if data.get("due_date") is not None:
        ticket.due_date = as_day(data["due_date"], "data.due_date")


SPECS: list[EntitySpec] = [TicketSpec(), TicketEventSpec()]
