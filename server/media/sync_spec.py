"""Photo metadata travels through sync; the bytes follow by PUT /api/photos/{id}.

A device records a photo (owner record, declared SHA-256, size, capture time);
the server shows it as pending until the bytes arrive, then stored and ready —
each status change reaches devices through the feed."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.principal import Principal
from server.inspections.models import CheckpointScan, Inspection, ItemResult, Signature
from server.inspections.sync_specs import IMMUTABLE
from server.media.models import Photo
from server.tickets.models import Ticket, TicketEvent
from server.tickets.sync_specs import _visible_tickets
from sync.errors import Rejected, require_one_of
from sync.merge import FieldRule
from sync.registry import Actor, ApplyContext, EntitySpec
from sync.values import as_instant, as_uuid

OWNER_MODELS: dict[str, type[Any]] = {
    "inspection": Inspection,
    "item_result": ItemResult,
    "checkpoint_scan": CheckpointScan,
    "signature": Signature,
    "ticket": Ticket,
    "ticket_event": TicketEvent,
}
TICKET_OWNERS = frozenset({"ticket", "ticket_event"})


async def owner_of(db: AsyncSession, owner_type: str, owner_id: uuid.UUID) -> Any | None:
    model = OWNER_MODELS.get(owner_type)
    return None if model is None else await db.get(model, owner_id)


async def _ticket_of(db: AsyncSession, owner: Any) -> Ticket | None:
    if isinstance(owner, Ticket):
        return owner
    if isinstance(owner, TicketEvent):
        return await db.get(Ticket, owner.ticket_id)
    return None


async def partner_may_see_owner(db: AsyncSession, org_id: uuid.UUID, owner_type: str, owner_id: uuid.UUID) -> bool:
    """A developer or contractor sees photos of the tickets that are theirs."""
    if owner_type not in TICKET_OWNERS:
        return False
    ticket = await _ticket_of(db, await owner_of(db, owner_type, owner_id))
    return ticket is not None and org_id in (ticket.responsible_org_id, ticket.assignee_org_id)


class PhotoSpec(EntitySpec):
    name = "photo"
    model = Photo
    rank = 70
    fields: ClassVar[dict[str, FieldRule]] = {
        "owner_type": IMMUTABLE,
        "owner_id": IMMUTABLE,
        "sha256": IMMUTABLE,
        "byte_size": IMMUTABLE,
        "content_type": IMMUTABLE,
        "taken_at": IMMUTABLE,
    }
    required = ("owner_type", "owner_id")

    async def project_for_create(self, ctx: ApplyContext, key: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
        owner = await owner_of(ctx.db, str(fields["owner_type"]), as_uuid(fields["owner_id"], "owner_id"))
        if owner is None:
            raise Rejected("owner_id: no such record of that owner_type", code="not_found")
        project_id: uuid.UUID = owner.project_id
        return project_id

    async def validate(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> dict[str, Any]:
        if fields.get("owner_type") is not None:
            require_one_of(fields["owner_type"], OWNER_MODELS, "owner_type")
        if fields.get("owner_id") is not None:
            fields["owner_id"] = as_uuid(fields["owner_id"], "owner_id")
        sha = fields.get("sha256")
        if sha is not None and (
            not isinstance(sha, str) or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha)
        ):
            raise Rejected("sha256: 64 lowercase hex digits", code="invalid")
        if "taken_at" in fields:
            fields["taken_at"] = as_instant(fields["taken_at"], "taken_at")
        if row is not None:
            for name, value in fields.items():
                current = getattr(row, name)
                if current is not None and value is not None and str(value) != str(current):
                    raise Rejected(f"{name} differs from what this photo already records", code="invalid")
        return fields

    async def authorize(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        if ctx.actor.is_staff:
            return
        owner_type = fields.get("owner_type", row.owner_type if row is not None else None)
        owner_id = fields.get("owner_id", row.owner_id if row is not None else None)
        if owner_id is None or not await partner_may_see_owner(ctx.db, ctx.actor.org_id, str(owner_type), owner_id):
            raise Rejected("a partner adds photos only to its own tickets", code="forbidden")

    def build(self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]) -> Any:
        return Photo(id=key, project_id=project_id, uploaded_by=ctx.actor.user_id, status="pending", **fields)

    def scope(self, actor: Actor) -> ColumnElement[bool] | bool:
        if actor.is_staff:
            return True
        visible = _visible_tickets(actor)
        assert not isinstance(visible, bool)
        tickets = select(Ticket.id).where(visible)
        events = select(TicketEvent.id).where(TicketEvent.ticket_id.in_(tickets))
        return or_(
            Photo.uploaded_by == actor.user_id,
            and_(Photo.owner_type == "ticket", Photo.owner_id.in_(tickets)),
            and_(Photo.owner_type == "ticket_event", Photo.owner_id.in_(events)),
        )


async def owner_in_project(db: AsyncSession, principal: Principal, photo: Photo) -> bool:
    """Write rule: the photo's owner record is in the photo's project — or has not
    arrived yet (bytes may come before the sync that records the owner; the sync
    put is checked again then)."""
    owner = await owner_of(db, photo.owner_type, photo.owner_id)
    return owner is None or owner.project_id == photo.project_id


async def partner_reads_ticket_photos(db: AsyncSession, principal: Principal, photo: Photo) -> bool:
    """Read rule: a contractor or developer reads the photos of its tickets."""
    return await partner_may_see_owner(db, principal.org_id, photo.owner_type, photo.owner_id)


SPECS: list[EntitySpec] = [PhotoSpec()]
