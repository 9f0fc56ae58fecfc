"""Reading a developer's unit roster (房屋清单) from an XLSX workbook (pure: bytes in,
rows and row errors out; no database).

What such files hold, and what is done about it:
- title rows (often merged across the columns) above the header: the header is the
  first row within the first ``HEADER_SCAN_ROWS`` rows that names 楼栋, 楼层 and 房号;
  headers are matched after NFKC folding, without spaces, case or a bracketed unit
  (``建筑面积（㎡）`` is ``建筑面积``), and English aliases are accepted;
- cells merged down several rows (a 楼栋 or 单元 cell spanning its units) count for
  every row they cover;
- numbers stored as text, full-width digits (``１２０３``), units inside cells
  (``89.5㎡``, ``89.5 m2``, ``89.5平方米``), floors like ``12层`` / ``12F`` / ``B1``
  (basement floors are negative), rooms like ``1203室``, phones with spaces, dashes
  or +86, status words in Chinese or English;
- blank rows anywhere are skipped.

Every bad cell is reported with its spreadsheet row number and header text; the same
unit twice in one file is reported on every row that names it. Problems with the file
itself (empty, not an XLSX workbook, no recognisable header, too big) raise `Invalid`.

A blank optional cell means "not given": an import leaves the stored value as it is.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections import defaultdict
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec

from server.lib.errors import FieldError, Invalid
from server.places.roster_values import (
    COLUMNS,
    MAX_LENGTH,
    PARSERS,
    REQUIRED,
    CellError,
    building_key,
    cell_text,
    fold,
    header_key,
    match_header,
)

HEADER_SCAN_ROWS = 10
MAX_COLUMNS = 60
MAX_UNITS = 10_000
#: Rows the sheet may claim (blank trailing rows included) before it is refused.
MAX_SHEET_ROWS = 50_000
#: Unpacked size of the workbook's parts: refuses zip bombs before openpyxl sees them.
MAX_UNPACKED_BYTES = 40 * 1024 * 1024


class RosterRow(msgspec.Struct, frozen=True, kw_only=True):
    """One valid unit row. ``None`` means the column is absent or the cell blank."""

    row: int
    building: str
    building_key: str
    entrance: str  # "" when not given
    floor: int
    room_no: str
    layout: str | None = None
    area_m2: Decimal | None = None
    owner_name: str | None = None
    owner_phone: str | None = None
    status: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.building_key, self.entrance, self.room_no)


class ParsedRoster(msgspec.Struct, kw_only=True):
    sheet: str
    header_row: int
    columns: dict[str, str]  # field → header text as written in the file
    ignored_columns: list[str]
    rows: list[RosterRow]  # the valid rows
    errors: list[FieldError]
    data_rows: int  # non-blank rows below the header

    @property
    def invalid_rows(self) -> int:
        return len({e.row for e in self.errors})


# --- the workbook -----------------------------------------------------------------------------


def _open_workbook(content: bytes, media_type: str | None) -> Any:
    if not content:
        raise _file_error("the file is empty (文件为空)")
    if media_type and media_type.lower().startswith("multipart/"):
        raise _file_error(
            "send the .xlsx file itself as the request body, not a multipart form (请直接上传 .xlsx 文件内容)"
        )
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error("this is an old .xls workbook; save it as .xlsx and try again (请另存为 .xlsx 格式)")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise _file_error("not an XLSX workbook (不是 XLSX 文件)") from exc
    if "xl/workbook.xml" not in names and not any(n.endswith("workbook.xml") for n in names):
        raise _file_error("not an XLSX workbook: a zip file without a workbook (不是 XLSX 文件)")
    if unpacked > MAX_UNPACKED_BYTES:
        raise _file_error("the workbook is too large once unpacked (文件过大)")
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # Files from other tools make openpyxl warn (no default style, unknown
            # extensions …): nothing the user can act on.
            warnings.simplefilter("ignore")
            return load_workbook(io.BytesIO(content), data_only=True)
    except Exception as exc:
        raise _file_error(f"not a readable XLSX workbook (无法读取的 XLSX 文件): {exc.__class__.__name__}") from exc


def _file_error(message: str) -> Invalid:
    return Invalid(message, errors=[FieldError("file", message)])


class _Header(NamedTuple):
    row: int
    fields: dict[int, str]  # column index → field
    texts: dict[int, str]  # column index → header text as written
    ignored: list[str]

    @property
    def complete(self) -> bool:
        return all(f in self.fields.values() for f in REQUIRED)


def _find_header(ws: Any) -> _Header:
    """The first row naming every required column; else the row naming most columns."""
    best = _Header(0, {}, {}, [])
    rows = ws.iter_rows(
        min_row=1, max_row=min(ws.max_row or 1, HEADER_SCAN_ROWS), max_col=min(ws.max_column or 1, MAX_COLUMNS)
    )
    for r, values in enumerate(rows, start=1):
        header = _Header(r, {}, {}, [])
        for c, cell in enumerate(values, start=1):
            text = " ".join(cell.value.split()) if isinstance(cell.value, str) else ""  # as written, trimmed
            field = match_header(text)
            if field and field not in header.fields.values():
                header.fields[c], header.texts[c] = field, text
            elif text:
                header.ignored.append(text)
        if header.complete:
            return header
        if len(header.fields) > len(best.fields):
            best = header
    return best


def _merged_fill(ws: Any, first: int, last: int, cols: set[int]) -> dict[tuple[int, int], Any]:
    """Cells covered by a merged range take the value of its top-left cell."""
    fill: dict[tuple[int, int], Any] = {}
    for rng in ws.merged_cells.ranges:
        value = ws.cell(row=rng.min_row, column=rng.min_col).value
        for r in range(max(rng.min_row, first), min(rng.max_row, last) + 1):
            for c in cols:
                if rng.min_col <= c <= rng.max_col:
                    fill[(r, c)] = value
    return fill


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not fold(value))


def read_roster(content: bytes, *, media_type: str | None = None) -> ParsedRoster:
    """Parse and validate a whole roster. Raises `Invalid` when the file itself is unusable."""
    wb = _open_workbook(content, media_type)
    try:
        sheets = [ws for ws in wb.worksheets if ws.sheet_state == "visible"] or list(wb.worksheets)
        misses: list[str] = []
        for ws in sheets:
            header = _find_header(ws)
            if header.complete:
                return _read_sheet(ws, header)
            if header.fields:
                missing = "、".join(COLUMNS[f][0] for f in REQUIRED if f not in header.fields.values())
                misses.append(f"sheet {ws.title!r} row {header.row} lacks {missing} (缺少 {missing} 列)")
    finally:
        wb.close()
    need = "、".join(COLUMNS[f][0] for f in REQUIRED)
    detail = f"no header row with the columns {need} in the first {HEADER_SCAN_ROWS} rows (未找到表头：需要 {need} 列)"
    raise _file_error(detail + ("; " + "; ".join(misses) if misses else ""))


def _read_sheet(ws: Any, header: _Header) -> ParsedRoster:
    first, last = header.row + 1, ws.max_row or header.row
    if last - header.row > MAX_SHEET_ROWS:
        raise _file_error(
            f"the sheet has {last} rows; at most {MAX_UNITS} units per file (每个文件最多 {MAX_UNITS} 户)"
        )
    fields, texts = header.fields, header.texts
    fill = _merged_fill(ws, first, last, set(fields))
    header_keys = {c: header_key(t) for c, t in texts.items()}
    rows: list[RosterRow] = []
    errors: list[FieldError] = []
    data_rows = 0
    for r, values in enumerate(ws.iter_rows(min_row=first, max_row=last, max_col=max(fields), values_only=True), first):
        cells = {c: fill.get((r, c), values[c - 1]) for c in fields}
        if all(_blank(v) for v in cells.values()):
            continue
        if all(isinstance(v, str) and header_key(v) == header_keys[c] for c, v in cells.items() if not _blank(v)):
            continue  # the header repeated (one block per building)
        data_rows += 1
        if data_rows > MAX_UNITS:
            raise _file_error(f"more than {MAX_UNITS} units in one file (每个文件最多 {MAX_UNITS} 户)")
        row, row_errors = _read_row(r, {fields[c]: (texts[c], v) for c, v in cells.items()}, ws.title)
        errors.extend(row_errors)
        if row is not None:
            rows.append(row)
    if data_rows == 0:
        raise _file_error(f"no units below the header on row {header.row} (表头下没有房屋数据)")
    columns = {f: texts[c] for c, f in fields.items()}
    rows, dup_errors = _drop_duplicates(rows, columns, ws.title)
    errors.extend(dup_errors)
    order = list(COLUMNS)
    errors.sort(key=lambda e: (e.row or 0, order.index(e.field) if e.field in order else len(order)))
    return ParsedRoster(
        sheet=ws.title,
        header_row=header.row,
        columns=columns,
        ignored_columns=header.ignored,
        rows=rows,
        errors=errors,
        data_rows=data_rows,
    )


def _read_row(r: int, cells: dict[str, tuple[str, Any]], sheet: str) -> tuple[RosterRow | None, list[FieldError]]:
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field, (header, raw) in cells.items():
        try:
            text = cell_text(raw)
            if not text:
                if field in REQUIRED:
                    label = COLUMNS[field][0]
                    raise CellError(f"required: {label} is blank ({label}为必填)")
                continue
            value: Any = PARSERS.get(field, str)(text)
            if field in MAX_LENGTH and len(value) > MAX_LENGTH[field]:
                raise CellError(f"too long: at most {MAX_LENGTH[field]} characters (超过 {MAX_LENGTH[field]} 字)")
        except CellError as exc:
            errors.append(FieldError(field=field, message=str(exc), row=r, column=header, sheet=sheet))
            continue
        values[field] = value
    if errors:
        return None, errors
    values["building_key"] = building_key(values["building"])
    values.setdefault("entrance", "")
    return RosterRow(row=r, **values), []


def _drop_duplicates(
    rows: list[RosterRow], headers: dict[str, str], sheet: str
) -> tuple[list[RosterRow], list[FieldError]]:
    """The same unit on two rows: neither is trusted, both are reported."""
    seen: dict[tuple[str, str, str], list[RosterRow]] = defaultdict(list)
    for row in rows:
        seen[row.key].append(row)
    errors: list[FieldError] = []
    keep: list[RosterRow] = []
    for row in rows:
        same = seen[row.key]
        if len(same) == 1:
            keep.append(row)
            continue
        others = ", ".join(str(o.row) for o in same if o is not row)
        label = " ".join(p for p in (row.building, row.entrance and f"{row.entrance}单元", row.room_no) if p)
        errors.append(
            FieldError(
                field="room_no",
                message=f"duplicate unit {label}: also on row {others} (同一房屋重复出现)",
                row=row.row,
                column=headers["room_no"],
                sheet=sheet,
            )
        )
    return keep, errors
