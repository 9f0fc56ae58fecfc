"""Recording and reading the audit log. Every write in a service calls `record`
in the same transaction as the change it describes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.accounts.principal import Principal
from server.audit.models import AuditEntry
from server.lib.errors import Forbidden

#: Columns never copied into the audit log.
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The column values of an ORM object, JSON-ready, secrets left out."""
    mapper = sa_inspect(obj).mapper
    return {
        c.key: _plain(getattr(obj, c.key))
        for c in mapper.column_attrs
        if c.key not in SECRET_COLUMNS and c.key not in {"created_at", "updated_at"}
    }


def record(
    db: AsyncSession | Session,
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    project_id: uuid.UUID | None = None,
    company_id: uuid.UUID | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        **entry_values(
            actor, action, entity, entity_id, before=before, after=after, project_id=project_id, company_id=company_id
        )
    )
    db.add(entry)
    return entry


def entry_values(
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    project_id: uuid.UUID | None = None,
    company_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The columns of one audit entry (`record` adds it as an object; a bulk writer
    inserts many at once). Of a before/after pair only the changed keys are kept."""
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after.get(k) for k in sorted(changed)}
    return {
        "user_id": actor.user_id if actor else None,
        "username": actor.username if actor else None,
        "role": actor.role.value if actor else None,
        "device_id": actor.device_id if actor else None,
        "company_id": company_id or (actor.company_id if actor else None),
        "project_id": project_id,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": before,
        "after": after,
    }


async def list_entries(
    db: AsyncSession,
    actor: Principal,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    project_id: uuid.UUID | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Newest first. With `entity_id`, one record's history: its own entries and,
    when it was created in a batch of a push, its part of that batch's entry
    (`server.audit.sync_writes.created_in_batches`)."""
    if not actor.is_manager:
        raise Forbidden("only admins and managers read the audit log")
    visible = select(AuditEntry).where(AuditEntry.company_id == actor.company_id)
    if actor.role != "admin":
        # A manager reads the entries of its own projects.
        visible = visible.where(AuditEntry.project_id.in_(actor.project_ids))
    if entity:
        visible = visible.where(AuditEntry.entity == entity)
    if project_id:
        visible = visible.where(AuditEntry.project_id == project_id)
    newest_first = (AuditEntry.at.desc(), AuditEntry.id.desc())
    if not entity_id:
        return list((await db.scalars(visible.order_by(*newest_first).limit(limit).offset(offset))).all())
    from server.audit.sync_writes import created_in_batches

    # One record's history is short: its entries and its batch part, merged here.
    found = list((await db.scalars(visible.where(AuditEntry.entity_id == entity_id))).all())
    found += await created_in_batches(db, visible, entity_id)
    found.sort(key=lambda e: (e.at, e.id), reverse=True)
    return found[offset : offset + limit]
