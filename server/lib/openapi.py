"""OpenAPI pieces shared by routes that take an XLSX workbook as the raw request body."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class XlsxUploadOperation(Operation):
    """Documents the raw .xlsx request body, which a `RawBody` parameter leaves out."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="the .xlsx file itself (not a multipart form) 直接上传 .xlsx 文件内容",
            content={
                XLSX_MEDIA_TYPE: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))
            },
        )
