"""HTTP: read one inspection with the state of its evidence."""

from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.params import FromPath

from server.accounts.deps import CurrentUser
from server.db.session import DB
from server.inspections.schemas import InspectionRead
from server.inspections.services import get_visible_inspection, read_of


class InspectionController(Controller):
    path = "/api/inspections"
    tags = ["inspections 检查"]  # noqa: RUF012

    @get("/{inspection_id:uuid}", summary="One inspection and whether its evidence is complete 检查记录")
    async def get_inspection(
        self, inspection_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser
    ) -> InspectionRead:
        insp = await get_visible_inspection(db, principal, inspection_id)
        return (await read_of(db, [insp]))[0]
