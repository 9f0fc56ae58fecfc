"""Audit of writes made through sync. The sync engine writes records for a
device; this hook, armed by the sync controller with the caller
(`session.info["audit_actor"]`), records each created, changed or deleted synced
row — who, role, device, when, before and after of the changed fields — in the
same transaction (and the same savepoint: a rejected mutation leaves no entry).

Rows the sync engine inserts without ORM objects (a batch of new records, see
`sync.push._create_rows`) come as one INSERT that names its entity in the
execution option ``sync_entity``; each of its rows gets its "create" entry, written
with one INSERT just before it."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Table, event, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ORMExecuteState, Session

from server.audit.models import AuditEntry
from server.audit.services import _plain, entry_values, record, snapshot
from sync.columns import Synced
from sync.stamping import entity_name

ACTOR_KEY = "audit_actor"
AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]


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


def _on_execute(state: ORMExecuteState) -> None:
    entity = state.execution_options.get("sync_entity")
    actor = state.session.info.get(ACTOR_KEY)
    if not entity or actor is None or not state.is_insert:
        return
    params: Any = state.parameters
    rows: list[Any] = params if isinstance(params, list) else [params or {}]
    entries = [
        # UUIDs and datetimes as strings, as `snapshot` gives them
        entry_values(actor, "create", entity, row["id"], after=msgspec.to_builtins(row), project_id=row["project_id"])
        for row in rows
    ]
    state.session.execute(insert(AUDIT_TABLE), entries)  # Core: the ORM's bulk path would do per-row work


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        _installed = True
