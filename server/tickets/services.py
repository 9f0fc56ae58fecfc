"""Opening rectification tickets from failed items — exactly once — and moving
tickets through their life by events."""

from __future__ import annotations

import uuid
from typing import Any, cast

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from checklists.judgement import Judgement
from server.accounts.principal import Principal
from server.audit.services import record
from server.inspections.models import Inspection, ItemResult
from server.inspections.rules import ticket_id_for
from server.lib.ids import new_id
from server.places.models import Project
from server.tickets.models import Ticket
from sync import stamping
from sync.registry import ApplyContext


async def _insert_once(ctx: ApplyContext, values: dict[str, Any]) -> bool:
    """Insert the ticket unless one exists for its item result (the unique
    `item_result_id` decides, not a prior look). Should the derived id be taken by
    something else (a manual ticket a device made with that id), the ticket gets a
    fresh id — the item result stays the key."""
    for attempt in range(2):
        try:
            async with ctx.db.begin_nested():
                await ctx.db.execute(insert(Ticket).values(**values).execution_options(sync_touched=True))
            return True
        except IntegrityError:
            taken = await ctx.db.scalar(select(Ticket.id).where(Ticket.item_result_id == values["item_result_id"]))
            if taken is not None or attempt:
                return False
            values["id"] = new_id()
    return False


async def open_tickets_for(
    ctx: ApplyContext, insp: Inspection, judged: tuple[Judgement, dict[Any, ItemResult]] | None = None
) -> int:
    """One ticket per failed item of a submitted inspection. The ticket's id is
    derived from the item result's id and `item_result_id` is unique, so a retry,
    a replay, a merge or a second process can never open a second one: the insert
    simply fails inside its savepoint. Returns how many were opened now.

    `judged` is what `judge_inspection` returned for this inspection when the
    caller has it already (submission); without it the inspection is judged here."""
    from server.inspections.submission import judge_inspection

    judgement, by_address = judged if judged is not None else await judge_inspection(ctx, insp)
    project = await ctx.db.get(Project, insp.project_id)
    opened = 0
    for failure in judgement.failures:
        result = by_address.get((failure.section, failure.instance or "", failure.item))
        if result is None:
            continue
        responsible = failure.responsible or "engineering"
        values: dict[str, Any] = {
            "id": ticket_id_for(result.id),
            "project_id": insp.project_id,
            "inspection_id": insp.id,
            "item_result_id": result.id,
            "item_key": failure.item,
            "source": "inspection",
            "title": f"{failure.label.zh} / {failure.label.en}"[:300],
            "description": failure.note or None,
            "target_type": insp.target_type,
            "target_id": insp.target_id,
            "location": result.location,
            "severity": failure.severity,
            "responsible": responsible,
            "responsible_org_id": project.developer_org_id if project and responsible == "developer" else None,
            "status": "open",
            "photos": list(failure.photos),
            "opened_by": None,
            "version": 0,
            "created_at": ctx.now,
            "updated_at": ctx.now,
            "deleted": False,
        }
        if not await _insert_once(ctx, values):
            continue  # already open for this item: exactly once
        tid: uuid.UUID = values["id"]
        stamping.touch(ctx.db.sync_session, Ticket.__table__, insp.project_id, {tid})
        record(
            ctx.db,
            cast(Principal, ctx.actor),
            "open",
            "ticket",
            tid,
            after=msgspec.to_builtins(values),
            project_id=insp.project_id,
        )
        opened += 1
    return opened
