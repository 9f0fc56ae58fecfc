"""Labels: single PNG/SVG labels and A4 PDF sheets, every one decoded by zxing-cpp."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from server.places.models import Building, Facility, PublicArea, Unit
from server.settings import PROJECT_ROOT, Settings
from tests.factories import auth_headers, other_company


def decode_pdf(pdf: bytes, dpi: int = 150) -> tuple[list[str], list[str]]:
    """Every QR text on every page (rendered by PDFium), and each page's text."""
    doc = pdfium.PdfDocument(pdf)
    codes, texts = [], []
    for i in range(len(doc)):
        page = doc[i]
        img = page.render(scale=dpi / 72, grayscale=True).to_pil()
        codes += [r.text for r in zxingcpp.read_barcodes(img)]
        textpage = page.get_textpage()
        texts.append(textpage.get_text_range())
        textpage.close()
        page.close()
    doc.close()
    return codes, texts


async def test_png_and_svg_labels(client: Any, demo: dict[str, Any], db: Any) -> None:
    unit = (await db.scalars(select(Unit).limit(1))).one()
    h = await auth_headers(client, "cs_manager", demo["password"])
    png = await client.get(f"/q/{unit.code}/label.png", headers=h)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert result.text == f"http://testserver.local/q/{unit.code}"
    svg = await client.get(f"/q/{unit.code}/label.svg", headers=h)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and unit.code in svg.text and "室" in svg.text


async def test_labels_need_a_manager_of_the_project(client: Any, demo: dict[str, Any], db: Any) -> None:
    await other_company(db, demo["password"])
    unit = (await db.scalars(select(Unit).where(Unit.project_id == demo["project"].id).limit(1))).one()
    assert (await client.get(f"/q/{unit.code}/label.png")).status_code == 401
    he = await auth_headers(client, "engineer", demo["password"])
    assert (await client.get(f"/q/{unit.code}/label.png", headers=he)).status_code == 403
    ho = await auth_headers(client, "other_cs_manager", demo["password"])
    assert (await client.get(f"/q/{unit.code}/label.svg", headers=ho)).status_code == 404
    assert (await client.get(f"/api/projects/{demo['project'].id}/labels.pdf", headers=ho)).status_code == 404
    assert (await client.get(f"/api/projects/{demo['project'].id}/labels.pdf", headers=he)).status_code == 403


async def test_building_sheet_every_label_decodes(client: Any, demo: dict[str, Any], db: Any) -> None:
    building = demo["buildings"][0]
    expected = set()
    for model in (Unit, PublicArea, Facility):
        codes = await db.scalars(select(model.code).where(model.building_id == building.id))
        expected |= {f"http://testserver.local/q/{c}" for c in codes}
    h = await auth_headers(client, "admin", demo["password"])
    resp = await client.get(f"/api/projects/{demo['project'].id}/labels.pdf?building={building.id}", headers=h)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    codes, texts = await asyncio.to_thread(decode_pdf, resp.content)
    assert sorted(codes) == sorted(expected)  # each label exactly once, each one readable
    assert len(texts) == (len(expected) + 11) // 12
    assert "1号楼1单元101室" in texts[0]  # Chinese names are real text (embedded font)
    assert expected and all(c.rsplit("/", 1)[1] in "".join(texts) for c in expected)


async def test_project_sheet_and_bad_building(client: Any, demo: dict[str, Any], db: Any) -> None:
    total = 0
    for model in (Unit, PublicArea, Facility):
        total += int(await db.scalar(select(func.count()).select_from(model)) or 0)
    h = await auth_headers(client, "cs_manager", demo["password"])
    resp = await client.get(f"/api/projects/{demo['project'].id}/labels.pdf?kind=facility", headers=h)
    codes, _ = await asyncio.to_thread(decode_pdf, resp.content)
    facilities = int(await db.scalar(select(func.count()).select_from(Facility)) or 0)
    assert len(codes) == len(set(codes)) == facilities
    bad = await client.get(f"/api/projects/{demo['project'].id}/labels.pdf?building={demo['project'].id}", headers=h)
    assert bad.status_code == 422
    assert total > facilities


async def test_cli_labels_with_progress(demo: dict[str, Any], db: Any, settings: Settings, tmp_path: Path) -> None:
    building = (await db.scalars(select(Building).order_by(Building.name).limit(1))).one()
    out = tmp_path / "labels.pdf"
    env = {
        **os.environ,
        "FIELDROUND_DATABASE_URL": settings.database_url,
        "FIELDROUND_VAR_DIR": str(settings.var_dir),
        "FIELDROUND_PUBLIC_URL": "https://wuye.example.cn",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "labels",
        "--project",
        demo["project"].name,
        "--building",
        building.name,
        "-o",
        str(out),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    assert "labels" in stdout.decode() and "pages" in stdout.decode()
    codes, _ = await asyncio.to_thread(decode_pdf, out.read_bytes())
    units = int(await db.scalar(select(func.count()).select_from(Unit).where(Unit.building_id == building.id)) or 0)
    assert len(codes) >= units and all(c.startswith("https://wuye.example.cn/q/") for c in codes)
    # A project that does not exist is a clear error.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "labels", "--project", "nowhere", "-o", str(out),
        cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await proc.communicate()
    assert proc.returncode != 0 and "not found" in stderr.decode()
