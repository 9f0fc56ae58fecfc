"""HTTP routes for QR tags: scan resolution, single labels, A4 label sheets, and
the PWA placeholder the scan redirect lands on."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from server.accounts.deps import CurrentUser, provide_principal
from server.db.session import DB
from server.qr import services as svc
from server.qr.codes import encode, place_url
from server.qr.render import label_png, label_svg
from server.qr.schemas import PlaceScan
from server.qr.sheets import render_sheet
from server.settings import PROJECT_ROOT

PWA_INDEX = PROJECT_ROOT / "mobile_pwa" / "index.html"


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser (a phone's camera app opening the tag's URL) asks for text/html;
    an API client asks for application/json."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split(",")[0]


class ScanController(Controller):
    path = "/q"
    tags = ["qr 二维码"]  # noqa: RUF012

    @get(
        "/{code:str}",
        summary="Resolve a scanned tag 扫码",
        description=(
            "Browsers (Accept: text/html) are sent (303) into the app at /app/#/place/{code}, with or without a "
            "token. API clients (Accept: application/json, Bearer token) get the place, its open tickets and its "
            "recent/due inspections. Unknown codes and places outside the caller's projects are the same 404."
        ),
    )
    async def scan(
        self, code: FromPath[str], request: Request[Any, Any, Any], db: DB, state: State
    ) -> Response[PlaceScan] | Redirect:
        if wants_html(request):
            normal = svc.normalise_code(code)
            target = f"/app/#/place/{normal}" if svc.CODE_RE.match(normal) else "/app/"
            return Redirect(target, status_code=303, headers={"Cache-Control": "no-store"})
        principal = await provide_principal(request, state, db)
        body = await svc.scan(db, principal, code, state.settings.public_url)
        return Response(body, headers={"Cache-Control": "private, no-store"})

    @get("/{code:str}/label.png", summary="A tag's label as PNG (managers) 标签 PNG", media_type="image/png")
    async def label_png(self, code: FromPath[str], db: DB, principal: CurrentUser, state: State) -> Response[bytes]:
        place = await svc.label_place(db, principal, code)
        matrix = encode(place_url(state.settings.public_url, place.code))[0]
        png = await asyncio.to_thread(label_png, matrix, place.title, place.code)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    @get("/{code:str}/label.svg", summary="A tag's label as SVG (managers) 标签 SVG", media_type="image/svg+xml")
    async def label_svg(self, code: FromPath[str], db: DB, principal: CurrentUser, state: State) -> Response[str]:
        place = await svc.label_place(db, principal, code)
        matrix = encode(place_url(state.settings.public_url, place.code))[0]
        return Response(
            label_svg(matrix, place.title, place.code),
            media_type="image/svg+xml",
            headers={"Cache-Control": "private, max-age=300"},
        )


class LabelSheetController(Controller):
    path = "/api/projects"
    tags = ["qr 二维码"]  # noqa: RUF012

    @get(
        "/{project_id:uuid}/labels.pdf",
        summary="A4 label sheets of a project or building (managers) 二维码标签打印",
        media_type="application/pdf",
    )
    async def labels_pdf(
        self,
        project_id: FromPath[uuid.UUID],
        db: DB,
        principal: CurrentUser,
        state: State,
        building: Annotated[uuid.UUID | None, QueryParameter(required=False)] = None,
        kind: Annotated[list[str] | None, QueryParameter(required=False, description="unit, area, facility")] = None,
    ) -> Response[bytes]:
        kinds = tuple(k for k in (kind or ["unit", "area", "facility"]) if k in {"unit", "area", "facility"})
        title, specs = await svc.sheet_labels(
            db, principal, project_id, state.settings.public_url, building_id=building, kinds=kinds
        )
        await db.commit()  # nothing to write: end the read before the long render
        pdf = await asyncio.to_thread(render_sheet, specs, title=title)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": 'inline; filename="labels.pdf"', "Cache-Control": "private, no-store"},
        )


@get(["/app", "/app/"], summary="The mobile app (placeholder) 移动端", include_in_schema=False)
async def pwa_placeholder() -> Response[bytes]:
    html = await asyncio.to_thread(PWA_INDEX.read_bytes)
    return Response(html, media_type=MediaType.HTML, headers={"Cache-Control": "no-cache"})
