"""Audit of writes made through sync. The sync engine writes records for a
device; this hook, armed by the sync controller with the caller
(`session.info["audit_actor"]`), records each created, changed or deleted synced
row — who, role, device, when, before and after of the changed fields — in the
same transaction (and the same savepoint: a rejected mutation leaves no entry).

Rows the sync engine inserts without ORM objects (a batch of new records, see
`sync.push._create_rows`) are written by `sync.bulk.insert_rows`, which tells its
listeners (`_rows_inserted`) the entity and the rows. They get one "create" entry
per project for the whole batch: `entity_id` is
`MANY` and `after` is ``{"records": {id: values}}``, each record's values as a
single entry would hold them; the entry's `at` is the records' `created_at`.
`created_in_batches` finds the entries that hold one record and gives each as that
record's own "create" entry, so a record's history reads the same whichever way it
was written (`server.audit.services.list_entries`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, Table, event, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.audit.services import _plain, entry_values, record, snapshot
from sync.bulk import on_insert_rows
from sync.columns import Synced
from sync.stamping import entity_name

ACTOR_KEY = "audit_actor"
AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]
#: `entity_id` of an entry for several records, listed in ``after["records"]``.
MANY = "*"


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    state = sa_inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in {"version", "updated_at"}:
            continue
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            before[attr.key] = _plain(hist.deleted[0]) if hist.deleted else None
            after[attr.key] = _plain(hist.added[0]) if hist.added else None
    return before, after


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    actor = session.info.get(ACTOR_KEY)
    if actor is None:
        return
    for obj in list(session.new):
        if isinstance(obj, Synced):
            record(
                session,
                actor,
                "create",
                entity_name(obj),
                obj.id,  # type: ignore[attr-defined]
                after=snapshot(obj),
                project_id=obj.project_id,
            )
    for obj in list(session.dirty):
        if isinstance(obj, Synced) and session.is_modified(obj):
            before, after = _changes(obj)
            if after:
                action = "delete" if after.get("deleted") is True else "update"
                record(
                    session,
                    actor,
                    action,
                    entity_name(obj),
                    obj.id,  # type: ignore[attr-defined]
                    before=before,
                    after=after,
                    project_id=obj.project_id,
                )
    for obj in list(session.deleted):
        if isinstance(obj, Synced):
            record(
                session,
                actor,
                "delete",
                entity_name(obj),
                obj.id,  # type: ignore[attr-defined]
                before=snapshot(obj),
                project_id=obj.project_id,
            )


async def _rows_inserted(db: AsyncSession, entity: str, rows: list[dict[str, Any]]) -> None:
    actor = db.sync_session.info.get(ACTOR_KEY)
    if actor is None:
        return
    by_project: dict[uuid.UUID, dict[uuid.UUID, Any]] = {}
    for row in rows:  # the values a single entry would hold (`snapshot` leaves out the times)
        values = row.copy()
        del values["created_at"], values["updated_at"]
        by_project.setdefault(row["project_id"], {})[row["id"]] = values
    entries = [
        {
            # Stored as JSON by msgspec: UUIDs (keys too) and datetimes become
            # strings, as `snapshot` gives them.
            **entry_values(actor, "create", entity, MANY, after={"records": records}, project_id=p),
            "at": rows[0]["created_at"],  # the push's time, given to every row (`EntitySpec.row_creates`)
        }
        for p, records in by_project.items()
    ]
    await db.execute(insert(AUDIT_TABLE), entries)  # Core: the ORM's bulk path would do per-row work


async def created_in_batches(db: AsyncSession, visible: Select[AuditEntry], entity_id: str) -> list[AuditEntry]:
    """The "create" entry of record `entity_id` if a batch entry (`MANY`) holds it,
    as that record's own entry (not added to the session); `visible` is the
    caller's query of the entries it may read. The batch entry is the one written
    at the record's `created_at`."""
    from server.syncing.registry import registry

    try:
        key = uuid.UUID(entity_id)
    except ValueError:
        return []
    found = []
    for spec in registry().all():
        if not spec.row_creates:
            continue
        table = spec.table
        created = select(table.c.created_at).where(table.c.id == key).scalar_subquery()
        stmt = visible.where(AuditEntry.entity == spec.name, AuditEntry.entity_id == MANY, AuditEntry.at == created)
        for batch in (await db.scalars(stmt)).all():
            values = (batch.after or {}).get("records", {}).get(entity_id)
            if values is not None:
                columns = {c.key: getattr(batch, c.key) for c in sa_inspect(AuditEntry).column_attrs}
                found.append(AuditEntry(**{**columns, "entity_id": entity_id, "after": values}))
    return found


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        event.listen(Session, "before_flush", _before_flush)
        on_insert_rows(_rows_inserted)
        _installed = True
