"""HTTP route for reading the audit log (admins and managers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from server.accounts.deps import CurrentUser
from server.audit.services import list_entries
from server.db.session import DB
from server.lib.paging import Limit, Offset


class AuditRead(msgspec.Struct):
    id: uuid.UUID
    at: datetime
    user_id: uuid.UUID | None
    username: str | None
    role: str | None
    device_id: str | None
    project_id: uuid.UUID | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit 审计"]  # noqa: RUF012

    @get("/", summary="Audit log 审计日志 (admin, cs_manager)")
    async def list_audit(
        self,
        db: DB,
        principal: CurrentUser,
        entity: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
        project: Annotated[uuid.UUID | None, QueryParameter(name="project")] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[AuditRead]:
        rows = await list_entries(
            db, principal, entity=entity, entity_id=entity_id, project_id=project, limit=limit, offset=offset
        )
        return [
            AuditRead(
                id=r.id,
                at=r.at,
                user_id=r.user_id,
                username=r.username,
                role=r.role,
                device_id=r.device_id,
                project_id=r.project_id,
                action=r.action,
                entity=r.entity,
                entity_id=r.entity_id,
                before=r.before,
                after=r.after,
            )
            for r in rows
        ]
