"""Importing a developer's unit roster (XLSX) into a project: API and CLI."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.cli import main
from server.places.models import Building, Unit
from server.settings import Settings
from tests.factories import auth_headers, other_company

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [" 楼 栋 ", "单元", "楼层", "房号", "户型", "建筑面积（㎡）", "业主姓名", "联系电话", "交付状态"]


def xlsx(rows: list[list[Any]], *, merge: list[str] | None = None, styled_blank_row: int | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    for rng in merge or []:
        ws.merge_cells(rng)
    if styled_blank_row:  # formatted but empty cells far below, as Excel leaves them
        for c in range(1, 10):
            ws.cell(row=styled_blank_row, column=c).font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


QUIRKY = xlsx(
    [
        ["翠湖花园 3号楼 房屋清单 Unit roster"],
        ["制表：开发商工程部 2024年5月"],
        HEADER,
        ["3号楼", "1单元", "１２", "１２０３", "三室两厅", "89.5㎡", "刘洋", "138 1234 5678", "已交付"],
        ["3号楼", 1, 12, 1204, "两室一厅", "89.5 m2", None, None, "空置"],
        [],
        ["3号楼", "1", "B1", "B101室", "储藏室", "12.5平方米", "王芳", "+86 139-8765-4321", "已入住"],
        ["3号楼", "2", "12层", "1203", "三室两厅", 112.3, "陈静", "0571-88886666", "vacant"],
        ["3号楼", "２", "12F", "1205室", None, "  95  ", "赵磊", 13912345678, "handed_over"],
        ["3号楼", "2", "3", "301", "四室两厅", "136.80", None, None, "occupied"],
        [],
        ["", "  ", None],
    ],
    merge=["A1:I1"],
    styled_blank_row=40,
)

QUIRKY_UNITS = [
    ("1", 12, "1203", "三室两厅", Decimal("89.50"), "刘洋", "13812345678", "handed_over"),
    ("1", 12, "1204", "两室一厅", Decimal("89.50"), None, None, "vacant"),
    ("1", -1, "B101", "储藏室", Decimal("12.50"), "王芳", "13987654321", "occupied"),
    ("2", 12, "1203", "三室两厅", Decimal("112.30"), "陈静", "0571-88886666", "vacant"),
    ("2", 12, "1205", None, Decimal("95.00"), "赵磊", "13912345678", "handed_over"),
    ("2", 3, "301", "四室两厅", Decimal("136.80"), None, None, "occupied"),
]

#: Two good rows (4 and 8) among bad ones.
BAD = xlsx(
    [
        ["房屋清单"],
        HEADER,
        ["5号楼", "1", 1, 101, "两室", "90", "李雷", "13800000001", "空置"],
        ["5号楼", "1", 1, 102, "两室", "abc", "韩梅", "13800000002", "空置"],
        ["5号楼", "1", "一楼?", 103, "两室", "90", None, "12345", "装修中"],
        ["5号楼", "1", 2, None, "两室", "90", None, None, None],
        ["5号楼", "1", 2, 201, "两室", "90", None, None, None],
        ["5号楼", "1", 2, 202, "两室", "90", None, None, None],
        ["5号楼", "1单元", 2, "201室", "两室", "91", None, None, None],
    ]
)
BAD_ERRORS = [
    (4, "建筑面积（㎡）", "area_m2", "not a number: 'abc'"),
    (5, "楼层", "floor", "not a floor: '一楼?'"),
    (5, "联系电话", "owner_phone", "not a plausible Chinese phone number: '12345'"),
    (5, "交付状态", "status", "unknown status: '装修中'"),
    (6, "房号", "room_no", "required: 房号 is blank"),
    (7, "房号", "room_no", "duplicate unit 5号楼 1单元 201: also on row 9"),
    (9, "房号", "room_no", "duplicate unit 5号楼 1单元 201: also on row 7"),
]


@pytest.fixture
def pid(demo: dict[str, Any]) -> str:
    """The demo project's id, read before any test rollback expires the object."""
    return str(demo["project"].id)


def url(project_id: str, **params: Any) -> str:
    query = "&".join(f"{k}={str(v).lower()}" for k, v in params.items())
    return f"/api/projects/{project_id}/units/import" + (f"?{query}" if query else "")


async def post(client: Any, target: str, content: bytes, headers: dict[str, str]) -> Any:
    return await client.post(target, content=content, headers={**headers, "Content-Type": XLSX})


async def counts(db: AsyncSession) -> tuple[int, int, int]:
    await db.rollback()
    units = await db.scalar(select(func.count()).select_from(Unit))
    buildings = await db.scalar(select(func.count()).select_from(Building))
    audit = await db.scalar(select(func.count()).select_from(AuditEntry))
    return int(units or 0), int(buildings or 0), int(audit or 0)


async def units_of(db: AsyncSession, building_name: str) -> list[Unit]:
    await db.rollback()
    stmt = (
        select(Unit)
        .join(Building, Building.id == Unit.building_id)
        .where(Building.name == building_name)
        .order_by(Unit.entrance, Unit.room_no)
    )
    return list((await db.scalars(stmt)).all())


def shape(u: Unit) -> tuple[Any, ...]:
    return (u.entrance, u.floor, u.room_no, u.layout, u.area_m2, u.owner_name, u.owner_phone, u.status)


def error_rows(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["row"], e["column"], e["field"], e["message"].split(" (")[0]) for e in body["errors"]]


async def test_import_reads_every_quirk_exactly(client: Any, demo: dict[str, Any], db: AsyncSession, pid: str) -> None:
    h = await auth_headers(client, "cs_manager", demo["password"])
    resp = await post(client, url(pid), QUIRKY, h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["applied"] is True and body["dry_run"] is False
    assert (body["header_row"], body["rows"], body["new"], body["updated"], body["unchanged"], body["invalid"]) == (
        3,
        6,
        6,
        0,
        0,
        0,
    )
    assert body["new_buildings"] == ["3号楼"]
    assert body["errors"] == []
    assert body["columns"]["area_m2"] == "建筑面积（㎡）"
    units = await units_of(db, "3号楼")
    assert sorted(shape(u) for u in units) == sorted(QUIRKY_UNITS)
    assert all(u.project_id == demo["project"].id for u in units)
    codes = [u.code for u in units]
    assert len(set(codes)) == 6 and all(c.startswith("U") and len(c) == 9 for c in codes)
    unit_ids = {str(u.id) for u in units}
    # Every created unit and the new building are audited, with who did it.
    await db.rollback()
    entries = (await db.scalars(select(AuditEntry).where(AuditEntry.action.in_(["create", "import"])))).all()
    created_units = {e.entity_id for e in entries if e.entity == "unit" and e.action == "create"}
    assert created_units == unit_ids
    assert [e.entity for e in entries if e.entity == "building"] == ["building"]
    summary = [e for e in entries if e.action == "import"]
    assert len(summary) == 1 and summary[0].after is not None and summary[0].after["new"] == 6
    assert all(e.username == "cs_manager" and e.device_id == "tablet-1" for e in entries if e.entity != "demo_estate")


async def test_bad_file_is_refused_whole_with_every_error(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    before = await counts(db)
    h = await auth_headers(client, "admin", demo["password"])
    resp = await post(client, url(pid), BAD, h)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert error_rows(body) == BAD_ERRORS
    assert body["invalid"] == 5 and body["rows"] == 7
    assert "nothing was imported" in body["detail"]
    assert all(set(e) == {"row", "column", "field", "message", "sheet"} for e in body["errors"])
    assert await counts(db) == before


async def test_accept_valid_only_writes_only_the_good_rows(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    resp = await post(client, url(pid, accept_valid_only=True), BAD, h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["applied"], body["new"], body["invalid"], body["rows"]) == (True, 2, 5, 7)
    assert error_rows(body) == BAD_ERRORS
    assert [(u.room_no, u.owner_name) for u in await units_of(db, "5号楼")] == [("101", "李雷"), ("202", None)]


async def test_accept_valid_only_with_no_valid_row_is_refused(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    before = await counts(db)
    h = await auth_headers(client, "admin", demo["password"])
    content = xlsx([["楼栋", "楼层", "房号", "联系电话"], ["9号楼", 1, 101, "123"]])
    resp = await post(client, url(pid, accept_valid_only=True), content, h)
    assert resp.status_code == 422
    assert "no valid rows" in resp.json()["detail"]
    assert await counts(db) == before


async def test_dry_run_previews_and_writes_nothing(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    before = await counts(db)
    h = await auth_headers(client, "cs_manager", demo["password"])
    content = xlsx(
        [
            ["楼栋", "单元", "楼层", "房号", "联系电话"],
            ["1号楼", "1", 3, "301", "13700000000"],  # a demo unit: new phone
            ["3号楼", "1", 1, "101", None],  # new
            ["1号楼", "1", 12, "1201", None],  # a demo unit, nothing new: unchanged
            ["1号楼", "1", 5, "501", "bad"],  # invalid
        ]
    )
    resp = await post(client, url(pid, dry_run=True), content, h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["dry_run"], body["applied"]) == (True, False)
    assert (body["new"], body["updated"], body["unchanged"], body["invalid"]) == (1, 1, 1, 1)
    assert body["new_buildings"] == ["3号楼"]
    assert error_rows(body) == [(5, "联系电话", "owner_phone", "not a plausible Chinese phone number: 'bad'")]
    assert await counts(db) == before
    # A dry run of a quirky file counts what it would create.
    resp = await post(client, url(pid, dry_run=True), QUIRKY, h)
    assert (resp.json()["new"], resp.json()["applied"]) == (6, False)
    assert await counts(db) == before


async def test_reimport_updates_in_place_and_never_duplicates(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    assert (await post(client, url(pid), QUIRKY, h)).status_code == 200
    units, buildings, audit = await counts(db)

    again = (await post(client, url(pid), QUIRKY, h)).json()
    assert (again["new"], again["updated"], again["unchanged"], again["new_buildings"]) == (0, 0, 6, [])
    # Unchanged rows are left alone: only the import itself is audited.
    assert await counts(db) == (units, buildings, audit + 1)

    changed = xlsx(
        [
            ["楼栋", "单元", "楼层", "房号", "业主姓名", "联系电话"],
            ["3号楼", "1", 12, "1203", "刘洋", "139 0000 1111"],
            ["3号楼", "1", 12, "1204", None, None],
        ]
    )
    body = (await post(client, url(pid), changed, h)).json()
    assert (body["new"], body["updated"], body["unchanged"]) == (0, 1, 1)
    assert await counts(db) == (units, buildings, audit + 1 + 2)  # the update and the import
    unit = next(u for u in await units_of(db, "3号楼") if (u.entrance, u.room_no) == ("1", "1203"))
    # Only the given, changed field moved; the rest stays as the first import left it.
    assert shape(unit) == ("1", 12, "1203", "三室两厅", Decimal("89.50"), "刘洋", "13900001111", "handed_over")
    entry = (
        await db.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(unit.id), AuditEntry.action == "update"))
    ).one()
    assert entry.before == {"owner_phone": "13812345678"}
    assert entry.after == {"owner_phone": "13900001111"}
    assert (entry.username, entry.role) == ("admin", "admin")


async def test_rows_match_existing_units_by_building_spelling_and_missing_entrance(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    before = await counts(db)
    # The demo's 1号楼 has entrance "1"; this file spells the building 1栋 and has no 单元 column.
    content = xlsx([["楼栋", "楼层", "房号", "交付状态"], ["1栋", 3, "301室", "已入住"], ["一号楼", 3, 302, "已入住"]])
    body = (await post(client, url(pid), content, h)).json()
    assert (body["new"], body["new_buildings"]) == (0, [])
    assert body["updated"] + body["unchanged"] == 2
    units, buildings, _audit = await counts(db)
    assert (units, buildings) == before[:2]
    assert {u.status for u in await units_of(db, "1号楼") if u.room_no in {"301", "302"}} == {"occupied"}


async def test_only_managers_of_the_project_may_import(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    other = await other_company(db, demo["password"])
    other_project_id = other["project"].id
    before = await counts(db)
    for username in ("engineer", "cs_assistant", "developer_rep", "contractor"):
        h = await auth_headers(client, username, demo["password"])
        resp = await post(client, url(pid), QUIRKY, h)
        assert resp.status_code == 403, username
        assert resp.headers["content-type"].startswith("application/problem+json")
    # Another company's admin does not even learn the project exists.
    h = await auth_headers(client, "other_admin", demo["password"])
    assert (await post(client, url(pid), QUIRKY, h)).status_code == 404
    # … and a manager cannot import into the other company's project either.
    h = await auth_headers(client, "admin", demo["password"])
    target = f"/api/projects/{other_project_id}/units/import"
    assert (await post(client, target, QUIRKY, h)).status_code == 404
    assert (await client.post(url(pid), content=QUIRKY, headers={"Content-Type": XLSX})).status_code == 401
    assert await counts(db) == before


async def test_unusable_files_get_a_422_naming_the_problem(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    before = await counts(db)
    h = await auth_headers(client, "admin", demo["password"])
    cases = [
        (b"", "the file is empty"),
        (b"%PDF-1.7 not a spreadsheet", "not an XLSX workbook"),
        ("楼栋,楼层,房号\n1号楼,3,301\n".encode(), "not an XLSX workbook"),
        (xlsx([["名称", "地址"], ["x", "y"]]), "no header row"),
    ]
    for content, problem in cases:
        resp = await post(client, url(pid), content, h)
        assert resp.status_code == 422, problem
        body = resp.json()
        assert problem in body["detail"]
        assert body["errors"][0]["field"] == "file"
        assert body["type"].endswith("/invalid") and body["instance"] == url(pid)
    # A multipart upload is named as such.
    resp = await client.post(url(pid), files={"file": ("units.xlsx", QUIRKY, XLSX)}, headers=h)
    assert resp.status_code == 422
    assert "multipart" in resp.json()["detail"]
    assert await counts(db) == before


async def test_openapi_documents_the_raw_xlsx_body(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    op = schema["paths"]["/api/projects/{project_id}/units/import"]["post"]
    assert "raw request body" in op["summary"]
    assert XLSX in op["requestBody"]["content"]
    assert {p["name"] for p in op["parameters"]} >= {"dry_run", "accept_valid_only"}


def run_cli(settings: Settings, *args: str) -> Any:
    env = {
        "FIELDROUND_VAR_DIR": str(settings.var_dir),
        "FIELDROUND_DATABASE_URL": settings.database_url,
        "FIELDROUND_SECRET_KEY": settings.secret_key,
    }
    return CliRunner().invoke(main, list(args), env=env)


async def test_cli_import_units(
    demo: dict[str, Any], db: AsyncSession, settings: Settings, tmp_path: Path, pid: str
) -> None:
    company_id = demo["project"].company_id
    good, bad = tmp_path / "units.xlsx", tmp_path / "bad.xlsx"
    good.write_bytes(QUIRKY)
    bad.write_bytes(BAD)
    before = await counts(db)
    await db.rollback()

    preview = await asyncio.to_thread(
        run_cli, settings, "import-units", str(good), "--project", "翠湖花园", "--dry-run"
    )
    assert preview.exit_code == 0, preview.output
    assert "Preview" in preview.output and "新增 new: 6" in preview.output
    assert await counts(db) == before

    refused = await asyncio.to_thread(run_cli, settings, "import-units", str(bad), "--project", "翠湖花园")
    assert refused.exit_code == 1
    assert "未导入 Nothing imported" in refused.output
    assert "第 4 行 row 4, 建筑面积（㎡）: not a number: 'abc'" in refused.output
    assert await counts(db) == before

    partial = await asyncio.to_thread(
        run_cli, settings, "import-units", str(bad), "--project", pid, "--accept-valid-only"
    )
    assert partial.exit_code == 0, partial.output
    assert "新增 new: 2" in partial.output and "无效 invalid: 5" in partial.output
    assert "第 5 行 row 5, 交付状态: unknown status: '装修中'" in partial.output

    done = await asyncio.to_thread(run_cli, settings, "import-units", str(good), "--project", pid)
    assert done.exit_code == 0, done.output
    assert "已导入 Imported" in done.output and "新建楼栋 new buildings: 3号楼" in done.output
    assert sorted(shape(u) for u in await units_of(db, "3号楼")) == sorted(QUIRKY_UNITS)
    entry = (await db.scalars(select(AuditEntry).where(AuditEntry.action == "import"))).all()[-1]
    assert entry.user_id is None and entry.company_id == company_id

    missing = await asyncio.to_thread(run_cli, settings, "import-units", str(good), "--project", "no such estate")
    assert missing.exit_code == 1 and "project not found" in missing.output


async def test_a_later_file_with_entrances_fills_them_in(
    client: Any, demo: dict[str, Any], db: AsyncSession, pid: str
) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    first = xlsx([["楼栋", "楼层", "房号"], ["6号楼", 1, 101], ["6号楼", 1, 102]])
    assert (await post(client, url(pid), first, h)).json()["new"] == 2
    assert [u.entrance for u in await units_of(db, "6号楼")] == ["", ""]
    later = xlsx([["楼栋", "单元", "楼层", "房号"], ["6号楼", "1单元", 1, 101], ["6号楼", "1单元", 1, 102]])
    body = (await post(client, url(pid), later, h)).json()
    assert (body["new"], body["updated"]) == (0, 2)
    assert [(u.entrance, u.room_no) for u in await units_of(db, "6号楼")] == [("1", "101"), ("1", "102")]
