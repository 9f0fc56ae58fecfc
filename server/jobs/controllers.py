"""Admin view of the job queue: ``GET /api/admin/jobs?status=parked``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, QueryParameter

from server.accounts.deps import CurrentUser
from server.accounts.roles import Role
from server.db.session import DB
from server.jobs import queue
from server.jobs.models import Job
from server.lib.errors import NotFound
from server.lib.paging import Limit, Offset

JobStatus = Literal["queued", "running", "done", "parked"]


class JobRead(msgspec.Struct):
    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    run_after: datetime
    locked_by: str | None
    locked_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


def job_read(j: Job) -> JobRead:
    return JobRead(
        id=j.id,
        kind=j.kind,
        payload=j.payload,
        status=j.status,
        attempts=j.attempts,
        max_attempts=j.max_attempts,
        run_after=j.run_after,
        locked_by=j.locked_by,
        locked_until=j.locked_until,
        last_error=j.last_error,
        created_at=j.created_at,
        updated_at=j.updated_at,
    )


class JobController(Controller):
    path = "/api/admin/jobs"
    tags = ["admin 管理"]  # noqa: RUF012

    @get("/", summary="Background jobs (admin) 后台任务")
    async def list_jobs(
        self,
        db: DB,
        principal: CurrentUser,
        status: Annotated[JobStatus | None, QueryParameter(required=False)] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[JobRead]:
        principal.require_role(Role.admin)
        return [
            job_read(j)
            for j in await queue.list_jobs(
                db, company_id=principal.company_id, status=status, limit=limit, offset=offset
            )
        ]

    @post("/{job_id:uuid}/retry", summary="Queue a parked job again (admin) 重试任务")
    async def retry_job(self, job_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> JobRead:
        principal.require_role(Role.admin)
        job = await queue.requeue(db, job_id, company_id=principal.company_id)
        if job is None:
            raise NotFound("job not found")
        return job_read(job)
