"""HTTP route for importing a unit roster (房屋清单) from an XLSX workbook."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, post
from litestar.params import FromPath, FromQuery, HeaderParameter, RawBody

from server.accounts.deps import CurrentUser
from server.db.session import DB
from server.lib.openapi import XLSX_MEDIA_TYPE, XlsxUploadOperation
from server.places.roster_service import ImportReport, import_units

ContentType = Annotated[str | None, HeaderParameter(name="content-type", required=False)]


class RosterController(Controller):
    path = "/api/projects"
    tags = ["places 场所"]  # noqa: RUF012

    @post(
        "/{project_id:uuid}/units/import",
        status_code=200,
        operation_class=XlsxUploadOperation,
        summary="Import units from an XLSX roster, sent as the raw request body 导入房屋清单 (managers)",
        description=(
            "Send the workbook as the raw body with Content-Type "
            f"`{XLSX_MEDIA_TYPE}` (not multipart). Columns: 楼栋, 楼层, 房号 (required), 单元, 户型, "
            "建筑面积, 业主姓名, 联系电话, 交付状态. `dry_run=true` previews and writes nothing; by default a "
            "single bad row refuses the whole file (422 with `errors[]` of row, column, field, message); "
            "`accept_valid_only=true` writes the good rows and reports the bad ones. Re-importing updates "
            "units matched on building + 单元 + 房号."
        ),
    )
    async def import_units(
        self,
        project_id: FromPath[uuid.UUID],
        body: RawBody,
        db: DB,
        principal: CurrentUser,
        content_type: ContentType = None,
        dry_run: FromQuery[bool] = False,
        accept_valid_only: FromQuery[bool] = False,
    ) -> ImportReport:
        return await import_units(
            db,
            principal,
            project_id,
            body,
            dry_run=dry_run,
            accept_valid_only=accept_valid_only,
            media_type=content_type,
        )
