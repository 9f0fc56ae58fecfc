"""Audit of writes made through sync. The sync engine writes records for a
device; this hook, armed by the sync controller with the caller
(`session.info["audit_actor"]`), records each created, changed or deleted synced
row — who, role, device, when, before and after of the changed fields — in the
same transaction (and the same savepoint: a rejected mutation leaves no entry)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from server.audit.services import _plain, record, snapshot
from sync.columns import Synced
from sync.stamping import entity_name

ACTOR_KEY = "audit_actor"


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


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        event.listen(Session, "before_flush", _before_flush)
        _installed = True
