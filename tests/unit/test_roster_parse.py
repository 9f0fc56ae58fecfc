"""The roster parsers: single cell values, header matching, and whole workbooks (pure)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook

from server.lib.errors import Invalid
from server.places.roster import read_roster
from server.places.roster_values import (
    CellError,
    building_key,
    cell_text,
    match_header,
    parse_area,
    parse_entrance,
    parse_floor,
    parse_phone,
    parse_room,
    parse_status,
)

HEADER = ["楼栋", "单元", "楼层", "房号", "户型", "建筑面积", "业主姓名", "联系电话", "交付状态"]


def xlsx(rows: list[list[Any]], *, merge: list[str] | None = None, title: str = "Sheet1") -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    for rng in merge or []:
        ws.merge_cells(rng)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("楼栋", "building"),
        (" 楼 栋 ", "building"),
        ("Building", "building"),
        ("单元", "entrance"),
        ("entrance", "entrance"),
        ("楼层", "floor"),
        ("FLOOR", "floor"),
        ("房号", "room_no"),
        ("Room No.", "room_no"),
        ("room_no", "room_no"),
        ("户型", "layout"),
        ("layout", "layout"),
        ("建筑面积（㎡）", "area_m2"),
        ("建筑面积(m²)", "area_m2"),
        ("建筑面积 (平方米)", "area_m2"),
        ("Area", "area_m2"),
        ("业主姓名", "owner_name"),
        ("owner", "owner_name"),
        ("联系电话", "owner_phone"),
        ("Phone", "owner_phone"),
        ("交付状态", "status"),
        ("status", "status"),
        ("备注", None),
        ("", None),
    ],
)
def test_header_aliases(text: str, field: str | None) -> None:
    assert match_header(text) == field


# --- cells ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (1203, "1203"), (1203.0, "1203"), (89.5, "89.5"), ("  １２０３ ", "1203"), ("a\u3000 b", "a b")],
)
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("12", 12),
        ("１２", 12),
        ("12层", 12),
        ("12F", 12),
        ("12f", 12),
        ("F12", 12),
        ("第12层", 12),
        ("十二层", 12),
        ("B1", -1),
        ("b2", -2),
        ("B1层", -1),
        ("-1", -1),
        ("地下1层", -1),
        ("地下一层", -1),
        ("负2层", -2),
    ],
)
def test_parse_floor(text: str, floor: int) -> None:
    assert parse_floor(text) == floor


@pytest.mark.parametrize("text", ["abc", "12.5", "", "顶层", "999"])
def test_parse_floor_refuses(text: str) -> None:
    with pytest.raises(CellError):
        parse_floor(text)


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("89.5", Decimal("89.50")),
        ("89.5㎡", Decimal("89.50")),
        ("89.5 m2", Decimal("89.50")),
        ("89.5m²", Decimal("89.50")),
        ("89.5平方米", Decimal("89.50")),
        ("89.5 平米", Decimal("89.50")),
        ("８９．５", Decimal("89.50")),
        ("1,234.567", Decimal("1234.57")),
        ("120", Decimal("120.00")),
    ],
)
def test_parse_area(text: str, area: Decimal) -> None:
    assert parse_area(text) == area


def test_parse_area_messages() -> None:
    with pytest.raises(CellError, match=r"^not a number: 'abc'"):
        parse_area("abc")
    with pytest.raises(CellError, match="out of range"):
        parse_area("0")
    with pytest.raises(CellError, match="not a number"):
        parse_area("-5")


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+86-13812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("0571-88886666", "0571-88886666"),
        ("(0571) 8888 6666", "0571-88886666"),
        ("010-12345678", "010-12345678"),
        ("+86 571 8888 6666", "0571-88886666"),
        ("400-123-4567", "4001234567"),
        ("13812345678 / 13987654321", "13812345678/13987654321"),
    ],
)
def test_parse_phone(text: str, phone: str) -> None:
    assert parse_phone(text) == phone


@pytest.mark.parametrize("text", ["12345", "1381234567", "23812345678", "88886666", "abc", "138123456789", "/"])
def test_parse_phone_refuses_implausible(text: str) -> None:
    with pytest.raises(CellError, match="not a plausible Chinese phone number"):
        parse_phone(text)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("已交付", "handed_over"),
        ("已入住", "occupied"),
        ("空置", "vacant"),
        ("未交付", "vacant"),
        ("vacant", "vacant"),
        ("Occupied", "occupied"),
        ("handed_over", "handed_over"),
        ("Handed Over", "handed_over"),
        (" 已交付 ", "handed_over"),
    ],
)
def test_parse_status(text: str, status: str) -> None:
    assert parse_status(text) == status


def test_parse_status_refuses_unknown() -> None:
    with pytest.raises(CellError, match="unknown status: '装修中'"):
        parse_status("装修中")


@pytest.mark.parametrize(
    ("text", "room"), [("1203", "1203"), ("1203室", "1203"), ("１２０３", "1203"), ("B101室", "B101")]
)
def test_parse_room(text: str, room: str) -> None:
    assert parse_room(text) == room


@pytest.mark.parametrize(("text", "entrance"), [("1", "1"), ("1单元", "1"), ("一单元", "1"), ("A", "A"), ("东", "东")])
def test_parse_entrance(text: str, entrance: str) -> None:
    assert parse_entrance(text) == entrance


@pytest.mark.parametrize(
    ("a", "b"),
    [("1号楼", "1"), ("1栋", "1号楼"), ("1#", "1号楼"), ("一号楼", "1号楼"), ("１号楼", "1号楼"), ("A座", "a")],
)
def test_building_key_equates_spellings(a: str, b: str) -> None:
    assert building_key(a) == building_key(b)


def test_building_key_keeps_names_apart() -> None:
    assert building_key("1号楼") != building_key("2号楼")
    assert building_key("综合楼") != building_key("1号楼")


# --- workbooks --------------------------------------------------------------------------------


def test_read_roster_finds_header_below_merged_title_and_skips_blank_rows() -> None:
    content = xlsx(
        [
            ["翠湖花园 房屋清单"],
            [],
            ["楼 栋", "单元", "楼层", "房号", "户型", "建筑面积（㎡）", "业主姓名", "联系电话", "交付状态", "备注"],
            ["1号楼", "1单元", "１２", "１２０３室", "三室两厅", "89.5㎡", "刘洋", "138 1234 5678", "已交付", "x"],
            [],
            ["1号楼", 1, 12, 1204, None, 89.5, None, None, None],
            [None, None, None, None, None, None, None, None, None],
            ["  ", "", None],
        ],
        merge=["A1:J1"],
    )
    parsed = read_roster(content)
    assert parsed.header_row == 3
    assert parsed.columns["area_m2"] == "建筑面积（㎡）"
    assert parsed.columns["building"] == "楼 栋"
    assert parsed.ignored_columns == ["备注"]
    assert parsed.errors == []
    assert parsed.data_rows == 2
    first, second = parsed.rows
    assert (first.row, first.building, first.entrance, first.floor, first.room_no) == (4, "1号楼", "1", 12, "1203")
    assert (first.layout, first.area_m2, first.owner_name, first.owner_phone, first.status) == (
        "三室两厅",
        Decimal("89.50"),
        "刘洋",
        "13812345678",
        "handed_over",
    )
    assert (second.row, second.entrance, second.room_no, second.owner_phone, second.status) == (
        6,
        "1",
        "1204",
        None,
        None,
    )


def test_read_roster_fills_cells_merged_down_the_rows() -> None:
    content = xlsx([["楼栋", "楼层", "房号"], ["2号楼", 1, 101], [None, 1, 102], [None, 2, 201]], merge=["A2:A4"])
    parsed = read_roster(content)
    assert parsed.errors == []
    assert [(r.building, r.room_no) for r in parsed.rows] == [("2号楼", "101"), ("2号楼", "102"), ("2号楼", "201")]


def test_read_roster_reports_every_bad_cell_with_row_and_header() -> None:
    content = xlsx(
        [
            ["清单"],
            ["楼栋", "楼层", "房号", "建筑面积（㎡）", "联系电话", "交付状态"],
            ["1号楼", 1, 101, "abc", "13812345678", "空置"],
            ["1号楼", "一楼?", 102, 90, "12345", "装修中"],
            ["1号楼", 1, None, 90, None, None],
            ["1号楼", 2, 201, 90, None, None],
            ["1栋", 2, "201室", 91, None, None],
        ]
    )
    parsed = read_roster(content)
    got = [(e.row, e.column, e.field, e.message.split(" (")[0]) for e in parsed.errors]
    assert got == [
        (3, "建筑面积（㎡）", "area_m2", "not a number: 'abc'"),
        (4, "楼层", "floor", "not a floor: '一楼?'"),
        (4, "联系电话", "owner_phone", "not a plausible Chinese phone number: '12345'"),
        (4, "交付状态", "status", "unknown status: '装修中'"),
        (5, "房号", "room_no", "required: 房号 is blank"),
        (6, "房号", "room_no", "duplicate unit 1号楼 201: also on row 7"),
        (7, "房号", "room_no", "duplicate unit 1栋 201: also on row 6"),
    ]
    assert parsed.rows == []
    assert parsed.invalid_rows == 5
    assert all(e.sheet == "Sheet1" for e in parsed.errors)


def test_read_roster_takes_the_first_sheet_with_a_header() -> None:
    wb = Workbook()
    notes = wb.active
    assert notes is not None
    notes.title = "说明"
    notes["A1"] = "本表由开发商提供"
    units = wb.create_sheet("房屋")
    units.append(["Building", "Floor", "Room"])
    units.append(["A座", "B1", "B101"])
    out = io.BytesIO()
    wb.save(out)
    parsed = read_roster(out.getvalue())
    assert parsed.sheet == "房屋"
    assert [(r.building, r.floor, r.room_no) for r in parsed.rows] == [("A座", -1, "B101")]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b"room,floor\n1203,12\n", "not an XLSX workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old .xls workbook"),
        (xlsx([["名称", "地址"], ["x", "y"]]), "no header row with the columns 楼栋、楼层、房号"),
        (xlsx([["楼栋", "房号"], ["1号楼", "101"]]), "lacks 楼层"),
        (xlsx([["楼栋", "楼层", "房号"]]), "no units below the header"),
    ],
)
def test_read_roster_refuses_unusable_files(content: bytes, problem: str) -> None:
    with pytest.raises(Invalid) as info:
        read_roster(content)
    assert problem in info.value.detail
    assert info.value.errors[0].field == "file"


def test_read_roster_refuses_zip_without_workbook() -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(Invalid, match="not an XLSX workbook"):
        read_roster(out.getvalue())


def test_read_roster_names_multipart_uploads() -> None:
    with pytest.raises(Invalid, match="not a multipart form"):
        read_roster(b"--boundary\r\n", media_type="multipart/form-data; boundary=boundary")
