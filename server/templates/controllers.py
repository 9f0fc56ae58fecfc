"""HTTP routes for checklist templates: list, read one version (ETag = content
hash), publish (admins), XLSX export and import."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, HeaderParameter, RawBody

from checklists.model import count_items
from server.accounts.deps import CurrentUser
from server.db.session import DB
from server.lib.openapi import XLSX_MEDIA_TYPE, XlsxUploadOperation
from server.templates import services as svc
from server.templates.models import TemplateVersion
from server.templates.schemas import TemplateRead, Title, VersionDetail, VersionRead

#: A published version never changes, so a client may keep it as long as it likes.
IMMUTABLE = "private, max-age=31536000, immutable"
ContentType = Annotated[str | None, HeaderParameter(name="content-type", required=False)]


def version_read(v: TemplateVersion) -> VersionRead:
    t = svc.template_of(v)
    return VersionRead(
        id=v.id,
        key=v.key,
        kind=v.kind,
        discipline=t.discipline,
        number=v.number,
        version=t.version,
        content_hash=v.content_hash,
        title=Title(zh=v.title_zh, en=v.title_en),
        item_count=count_items(t),
        published_at=v.published_at,
        published_by=v.published_by,
    )


def version_detail(v: TemplateVersion) -> VersionDetail:
    read = version_read(v)
    return VersionDetail(**msgspec.structs.asdict(read), template=msgspec.json.decode(v.body))


def template_read(versions: list[TemplateVersion]) -> TemplateRead:
    reads = [version_read(v) for v in versions]
    latest = reads[0]
    return TemplateRead(
        key=latest.key,
        kind=latest.kind,
        discipline=latest.discipline,
        title=latest.title,
        latest=latest,
        versions=reads,
    )


def etag_of(v: TemplateVersion) -> str:
    return f'"{v.content_hash}"'


def not_modified(request: Request[Any, Any, Any], v: TemplateVersion) -> bool:
    """If-None-Match lists ETags (or *); weak ones match too (RFC 9110 §13.1.2)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag_of(v) in tags


@dataclass
class TemplateUploadOperation(Operation):
    """Documents the template JSON request body (read raw, to report every problem by path)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="a checklist template as in docs/checklists.md 检查表模板 JSON",
            content={"application/json": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT))},
        )


class TemplateController(Controller):
    path = "/api/templates"
    tags = ["templates 检查表模板"]  # noqa: RUF012

    @get("/", summary="Templates and their versions 模板列表")
    async def list_templates(self, db: DB, principal: CurrentUser) -> list[TemplateRead]:
        return [template_read(vs) for vs in await svc.list_templates(db, principal.company_id)]

    @get("/{key:str}/versions", summary="The versions of one template 模板版本")
    async def list_versions(self, key: FromPath[str], db: DB, principal: CurrentUser) -> list[VersionRead]:
        return [version_read(v) for v in await svc.versions_of(db, key, principal.company_id)]

    @get(
        "/versions/{version_id:uuid}",
        summary="One published version 模板版本详情",
        description="ETag is the content hash; send it back in If-None-Match for a 304.",
    )
    async def get_version(
        self, version_id: FromPath[uuid.UUID], request: Request[Any, Any, Any], db: DB, principal: CurrentUser
    ) -> Response[VersionDetail | None]:
        version = await svc.get_version(db, version_id, principal.company_id)
        headers = {"ETag": etag_of(version), "Cache-Control": IMMUTABLE}
        if not_modified(request, version):
            return Response(None, status_code=304, headers=headers)
        return Response(version_detail(version), headers=headers)

    @post(
        "/",
        operation_class=TemplateUploadOperation,
        summary="Publish a new version (admins) 发布模板新版本",
        description=(
            "Body: the template JSON. 201 with the new version; 200 with the existing one when the same content "
            "is already published; 409 when the key's kind or discipline would change; 422 listing every "
            "problem by path."
        ),
    )
    async def publish(self, body: RawBody, db: DB, principal: CurrentUser) -> Response[VersionRead]:
        version, created = await svc.publish_json(db, principal, body)
        return Response(version_read(version), status_code=201 if created else 200)

    @get("/versions/{version_id:uuid}/xlsx", summary="Export a version as XLSX 导出模板工作簿")
    async def export_xlsx(self, version_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> Response[bytes]:
        version, data = await svc.export_version(db, version_id, principal.company_id)
        name = f"{version.key}-v{version.number}.xlsx"
        return Response(
            data,
            media_type=XLSX_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "ETag": etag_of(version),
                "Cache-Control": IMMUTABLE,
            },
        )

    @post(
        "/import",
        operation_class=XlsxUploadOperation,
        summary="Import an XLSX workbook and publish it (admins) 导入模板工作簿并发布",
        description=(
            f"Send the workbook as the raw body with Content-Type `{XLSX_MEDIA_TYPE}` (not multipart), laid out "
            "as the export writes it (sheets 设置, 分区, 检查项, 选项, 实例). 201 with the new version, 200 when the "
            "same content is already published; 422 with `errors[]` of sheet, row, column and message for every "
            "problem, and nothing published."
        ),
    )
    async def import_xlsx(
        self, body: RawBody, db: DB, principal: CurrentUser, content_type: ContentType = None
    ) -> Response[VersionRead]:
        version, created = await svc.publish_workbook(db, principal, body, content_type)
        return Response(version_read(version), status_code=201 if created else 200)
