"""Conflicts kept for a human: recorded by merges and refused late edits,
listed and resolved by managers. A resolution is a change like any other: it
writes the record (which then syncs to every device) and the conflict row."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update

from sync import stamping
from sync.errors import Rejected
from sync.registry import ApplyContext, Registry
from sync.tables import conflicts
from sync.values import from_wire


def _json(value: Any) -> Any:
    return msgspec.to_builtins(value)


async def record_conflict(
    ctx: ApplyContext,
    entity: str,
    entity_id: uuid.UUID,
    project_id: uuid.UUID,
    field: str,
    *,
    kind: str,
    server_value: Any,
    incoming_value: Any,
    base_value: Any,
    merged_value: Any,
    flagged: bool,
    note: str | None = None,
) -> uuid.UUID:
    cid = uuid.uuid4()
    await ctx.db.execute(
        insert(conflicts).values(
            id=cid,
            project_id=project_id,
            version=0,
            entity=entity,
            entity_id=entity_id,
            field=field,
            kind=kind,
            server_value=_json(server_value),
            incoming_value=_json(incoming_value),
            base_value=_json(base_value),
            merged_value=_json(merged_value),
            user_id=ctx.actor.user_id,
            device_id=ctx.device_id,
            mutation_id=ctx.mutation_id,
            client_time=ctx.client_time,
            created_at=ctx.now,
            status="open",
            flagged=flagged,
            note=note,
        )
    )
    stamping.touch(ctx.db.sync_session, conflicts, project_id, {cid})
    return cid


class Resolution(msgspec.Struct, forbid_unknown_fields=True):
    """``choice`` picks a recorded value; ``value`` (with choice "value") sets another."""

    choice: str
    value: Any = None
    note: str | None = None


async def resolve_conflict(
    ctx: ApplyContext, registry: Registry, conflict_id: uuid.UUID, fields: dict[str, Any]
) -> None:
    if not ctx.actor.is_manager:
        raise Rejected("only managers resolve conflicts", code="forbidden")
    try:
        res = msgspec.convert(fields, Resolution)
    except msgspec.ValidationError as exc:
        raise Rejected(f"bad resolution: {exc}", code="invalid") from exc
    row = (await ctx.db.execute(select(conflicts).where(conflicts.c.id == conflict_id).with_for_update())).first()
    if row is None or row.project_id not in ctx.actor.project_ids:
        raise Rejected("no such conflict", code="not_found")
    if row.status != "open":
        raise Rejected("conflict already resolved", code="already_resolved")
    choices = {
        "server": row.server_value,
        "incoming": row.incoming_value,
        "merged": row.merged_value,
        "value": res.value,
    }
    if res.choice not in choices:
        raise Rejected("choice must be server, incoming, merged or value", code="invalid")
    value = choices[res.choice]
    spec = registry.get(row.entity)
    if spec is not None:
        record = await ctx.db.get(spec.model, row.entity_id, with_for_update=True, populate_existing=True)
        if record is not None and hasattr(record, row.field):
            # The recorded values are as devices saw them (JSON): back to the
            # column's type, checked as a device's write is.
            value = from_wire(spec.table, row.field, value)
            await spec.check_resolution(ctx, record, row.field, value)
            if getattr(record, row.field) != value:
                setattr(record, row.field, value)
            await ctx.db.flush()
            still_open = await ctx.db.scalar(
                select(func.count())
                .select_from(conflicts)
                .where(
                    (conflicts.c.entity_id == row.entity_id)
                    & (conflicts.c.status == "open")
                    & (conflicts.c.id != conflict_id)
                )
            )
            if not still_open and hasattr(record, "needs_review"):
                record.needs_review = False
            await ctx.db.flush()
            await spec.after_apply(ctx, record, False, {row.field})
    await ctx.db.execute(
        update(conflicts)
        .where(conflicts.c.id == conflict_id)
        .values(
            status="resolved",
            resolution={"choice": res.choice, "value": _json(value), "note": res.note},
            resolved_by=ctx.actor.user_id,
            resolved_at=ctx.now,
        )
    )
    stamping.touch(ctx.db.sync_session, conflicts, row.project_id, {conflict_id})
