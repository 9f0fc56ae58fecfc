"""Import a template from an XLSX workbook (the layout of ``xlsx_layout``).

Every problem is collected and reported by sheet, row and column in one
``WorkbookInvalid``; nothing is returned half-built. Template rules are checked by
the same ``validate_template`` as JSON files, and each of its paths is traced back
to the cell it came from.
"""

from __future__ import annotations

import io
import re
import warnings
from typing import Any

import msgspec
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from checklists.answers import msgspec_problem
from checklists.errors import CellProblem, Problem, WorkbookInvalid
from checklists.model import Template
from checklists.validate import validate_template
from checklists.xlsx_cells import parse_cell
from checklists.xlsx_layout import (
    CHOICE_FIELD,
    CHOICES,
    COMMON_ITEM_FIELDS,
    INSTANCES,
    ITEMS,
    KIND_FIELDS,
    SECTIONS,
    SETTINGS,
    SETTINGS_FIELDS,
    SHEETS,
    Col,
)

Loc = tuple[str, int]  # sheet, row
#: Item columns copied as they are (the condition is parsed by its cell already).
_COMMON = (*COMMON_ITEM_FIELDS, "visible_if")
#: Item columns that only some kinds have.
_KIND_ONLY = frozenset(c for fields in KIND_FIELDS.values() for c in fields)


class _Sheet:
    def __init__(self, name: str, columns: dict[str, int], rows: list[tuple[int, dict[str, Any]]]) -> None:
        self.name = name
        self.columns = columns  # column id -> 1-based column index
        self.rows = rows  # (spreadsheet row, column id -> parsed value), blank rows left out

    def letter(self, col_id: str) -> str | None:
        index = self.columns.get(col_id)
        return get_column_letter(index) if index else None


class _Reader:
    def __init__(self) -> None:
        self.problems: list[CellProblem] = []

    def add(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(CellProblem(sheet, row, column, message))

    def fail_if_any(self) -> None:
        if self.problems:
            raise WorkbookInvalid(sorted(self.problems, key=_reading_order))


def _reading_order(p: CellProblem) -> tuple[int, int, int, str]:
    """Sheets in workbook order, then rows, then columns (A < B < … < AA)."""
    sheet = list(SHEETS).index(p.sheet) if p.sheet in SHEETS else -1
    column = p.column or ""
    return sheet, p.row or 0, len(column), column


def import_xlsx(data: bytes) -> Template:
    """Read a template from XLSX bytes; raise WorkbookInvalid listing every problem."""
    reader = _Reader()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about features it drops; we read values only
            wb = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise WorkbookInvalid([CellProblem("(workbook)", None, None, f"not a readable .xlsx file: {exc}")]) from None
    sheets: dict[str, _Sheet] = {}
    for name, cols in SHEETS.items():
        if name not in wb.sheetnames:
            reader.add(name, None, None, f"missing sheet '{name}'")
        else:
            sheets[name] = _read_sheet(wb[name], cols, reader)
    builder = _Builder(sheets, reader)
    if SETTINGS in sheets:
        builder.read_settings()  # typed by field, so read now and reported with the other cells
    reader.fail_if_any()
    raw = builder.build()
    reader.fail_if_any()
    try:
        template = msgspec.convert(raw, Template)
    except msgspec.ValidationError as exc:
        builder.report([msgspec_problem(exc)])
        reader.fail_if_any()
        raise  # pragma: no cover - report() always adds a problem
    builder.report(validate_template(template))
    reader.fail_if_any()
    return template


def _read_sheet(ws: Worksheet, cols: tuple[Col, ...], reader: _Reader) -> _Sheet:
    name = ws.title
    for merged in ws.merged_cells.ranges:
        letter = get_column_letter(merged.min_col)
        reader.add(name, merged.min_row, letter, f"merged cells are not allowed ({merged.coord})")
    by_id = {c.id: c for c in cols}
    columns: dict[str, int] = {}
    for cell in ws[1] if ws.max_row >= 1 else ():
        if cell.value is None or str(cell.value).strip() == "":
            continue
        col_id = str(cell.value).split()[-1]
        letter = get_column_letter(cell.column)
        if col_id not in by_id:
            reader.add(name, 1, letter, f"unknown column '{cell.value}'")
        elif col_id in columns:
            reader.add(name, 1, letter, f"column '{col_id}' appears twice")
        else:
            columns[col_id] = cell.column
    for col in cols:
        if col.required and col.id not in columns:
            reader.add(name, 1, None, f"missing column '{col.header}'")
    rows: list[tuple[int, dict[str, Any]]] = []
    headed = {index: by_id[col_id] for col_id, index in columns.items()}
    for row in ws.iter_rows(min_row=2):
        values: dict[str, Any] = {}
        for cell in row:
            if cell.value is None:
                continue
            letter = get_column_letter(cell.column)
            if cell.data_type == "f" or type(cell.value).__name__ in ("ArrayFormula", "DataTableFormula"):
                reader.add(name, cell.row, letter, "formula cells are not allowed; type the value")
                continue
            spec = headed.get(cell.column)
            if spec is None:
                if str(cell.value).strip():
                    reader.add(name, cell.row, letter, "value in a column without a header")
                continue
            try:
                parsed = parse_cell(spec, cell.value)
            except ValueError as exc:
                reader.add(name, cell.row, letter, f"{spec.id}: {exc}")
                continue
            if parsed is not None:
                values[spec.id] = parsed
        if values:
            rows.append((row[0].row, values))
    return _Sheet(name, columns, rows)


class _Builder:
    """Wires the rows of the five sheets into one template dict, remembering which
    row each part came from."""

    def __init__(self, sheets: dict[str, _Sheet], reader: _Reader) -> None:
        self.sheets = sheets
        self.reader = reader
        self.locs: dict[str, Loc] = {}
        self.settings_rows: dict[str, int] = {}
        self.settings: dict[str, Any] = {}

    def build(self) -> dict[str, Any]:
        raw = self.settings
        sections, by_key = self._sections()
        items = self._items(by_key)
        self._choices(items)
        self._instances(by_key)
        raw["sections"] = sections
        return raw

    def _bad(self, sheet: str, row: int | None, col_id: str | None, message: str) -> None:
        self.reader.add(sheet, row, self.sheets[sheet].letter(col_id) if col_id else None, message)

    def read_settings(self) -> None:
        sheet = self.sheets[SETTINGS]
        found: dict[str, Any] = {}
        seen: set[str] = set()
        basis: list[str] = []
        for row, values in sheet.rows:
            field = str(values.get("field", "")).split()[-1] if values.get("field") else ""
            setting = SETTINGS_FIELDS.get(field)
            if setting is None:
                self._bad(SETTINGS, row, "field", f"unknown setting '{values.get('field', '')}'")
                continue
            if field in seen and field != "basis":
                self._bad(SETTINGS, row, "field", f"setting '{field}' appears twice")
                continue
            seen.add(field)
            self.settings_rows[field] = row
            try:
                value = parse_cell(setting, values["value"]) if "value" in values else None
            except ValueError as exc:
                self._bad(SETTINGS, row, "value", f"{field}: {exc}")
                continue
            if field == "basis":
                if value is not None:
                    self.locs[f"basis[{len(basis)}]"] = (SETTINGS, row)
                    basis.append(value)
                continue
            if value is not None:
                found[field] = value
        for field, col in SETTINGS_FIELDS.items():
            if col.required and field not in seen:
                self._bad(SETTINGS, None, None, f"setting '{col.header}' is missing")
        raw: dict[str, Any] = {k: found[k] for k in ("key", "kind", "discipline", "version") if k in found}
        raw["title"] = _text(found, "title")
        if basis:
            raw["basis"] = basis
        self.settings = raw

    def _sections(self) -> tuple[list[dict[str, Any]], dict[str, tuple[int, dict[str, Any]]]]:
        sections: list[dict[str, Any]] = []
        by_key: dict[str, tuple[int, dict[str, Any]]] = {}
        repeat_cols = ("instance_label_zh", "instance_label_en", "allow_add", "min_instances", "max_instances")
        for row, v in self.sheets[SECTIONS].rows:
            key = v.get("key", "")
            if key in by_key:
                self._bad(SECTIONS, row, "key", f"duplicate section key '{key}'")
                continue
            section: dict[str, Any] = {"key": key, "title": _text(v, "title"), "items": []}
            if "guidance_zh" in v or "guidance_en" in v:
                section["guidance"] = _text(v, "guidance")
            if "visible_if" in v:
                section["visible_if"] = v["visible_if"]
            if v.get("repeat"):
                repeat: dict[str, Any] = {"instance_label": _text(v, "instance_label")}
                repeat |= {k: v[k] for k in ("allow_add", "min_instances", "max_instances") if k in v}
                section["repeat"] = repeat
            else:
                for col_id in repeat_cols:
                    if col_id in v:
                        self._bad(SECTIONS, row, col_id, f"{col_id} needs 可重复 repeat = 是")
            self.locs[f"sections[{len(sections)}]"] = (SECTIONS, row)
            by_key[key] = (len(sections), section)
            sections.append(section)
        return sections, by_key

    def _items(self, sections: dict[str, tuple[int, dict[str, Any]]]) -> dict[str, tuple[str, dict[str, Any]]]:
        items: dict[str, tuple[str, dict[str, Any]]] = {}
        for row, v in self.sheets[ITEMS].rows:
            key, kind = v.get("key", ""), v.get("kind", "")
            target = sections.get(v.get("section", ""))
            if target is None:
                self._bad(ITEMS, row, "section", f"unknown section '{v.get('section', '')}'")
                continue
            if key in items:
                self._bad(ITEMS, row, "key", f"duplicate item key '{key}'")
                continue
            item: dict[str, Any] = {"kind": kind, "key": key, "label": _text(v, "label")}
            if "guidance_zh" in v or "guidance_en" in v:
                item["guidance"] = _text(v, "guidance")
            item |= {k: v[k] for k in _COMMON if k in v}
            for col_id in _KIND_ONLY:
                if col_id not in v:
                    continue
                if col_id in KIND_FIELDS.get(kind, ()):
                    item[col_id] = v[col_id]
                else:
                    self._bad(ITEMS, row, col_id, f"column '{col_id}' does not apply to a {kind} item")
            if kind in CHOICE_FIELD:
                item[CHOICE_FIELD[kind]] = []
            si, section = target
            self.locs[f"sections[{si}].items[{len(section['items'])}]"] = (ITEMS, row)
            section["items"].append(item)
            items[key] = (f"sections[{si}].items[{len(section['items']) - 1}]", item)
        return items

    def _choices(self, items: dict[str, tuple[str, dict[str, Any]]]) -> None:
        for row, v in self.sheets[CHOICES].rows:
            found = items.get(v.get("item", ""))
            if found is None:
                self._bad(CHOICES, row, "item", f"unknown item '{v.get('item', '')}'")
                continue
            path, item = found
            field = CHOICE_FIELD.get(item["kind"])
            if field is None:
                self._bad(CHOICES, row, "item", f"item '{item['key']}' is a {item['kind']} item and has no choices")
                continue
            choice: dict[str, Any] = {"key": v.get("key", ""), "label": _text(v, "label")}
            if "fails" in v:
                if field == "options":
                    self._bad(CHOICES, row, "fails", "options of a location item cannot fail")
                    continue
                choice["fails"] = v["fails"]
            self.locs[f"{path}.{field}[{len(item[field])}]"] = (CHOICES, row)
            item[field].append(choice)

    def _instances(self, sections: dict[str, tuple[int, dict[str, Any]]]) -> None:
        for row, v in self.sheets[INSTANCES].rows:
            target = sections.get(v.get("section", ""))
            if target is None or "repeat" not in target[1]:
                what = "unknown section" if target is None else "not a repeatable section:"
                self._bad(INSTANCES, row, "section", f"{what} '{v.get('section', '')}'")
                continue
            si, section = target
            declared = section["repeat"].setdefault("instances", [])
            self.locs[f"sections[{si}].repeat.instances[{len(declared)}]"] = (INSTANCES, row)
            declared.append({"id": v.get("id", ""), "label": _text(v, "label")})

    def report(self, problems: list[Problem]) -> None:
        """Add template problems, each traced to its sheet, row and column."""
        for p in problems:
            sheet, row, col_id = self._locate(p.path)
            self._bad(sheet, row, col_id, f"{p.message} [{p.path}]")

    def _locate(self, path: str) -> tuple[str, int | None, str | None]:
        best = ""
        for prefix in self.locs:
            if (path == prefix or path.startswith((prefix + ".", prefix + "["))) and len(prefix) > len(best):
                best = prefix
        if not best:
            field = _column(path)
            if field in SETTINGS_FIELDS or field == "basis":
                return SETTINGS, self.settings_rows.get(field), "value"
            return (SECTIONS, None, None) if path.startswith("sections") else (SETTINGS, None, None)
        sheet, row = self.locs[best]
        if sheet == SETTINGS:
            return sheet, row, "value"
        rest = path[len(best) :].lstrip(".")
        if sheet == SECTIONS:
            rest = rest.removeprefix("repeat.")
        col_id = _column(rest)
        return sheet, row, col_id if col_id in self.sheets[sheet].columns else None


def _column(rest: str) -> str:
    """``label.zh`` → ``label_zh``; ``visible_if.all[0].item`` → ``visible_if``."""
    parts = [re.sub(r"\[.*$", "", p) for p in rest.split(".")]
    if len(parts) > 1 and parts[1] in ("zh", "en"):
        return f"{parts[0]}_{parts[1]}"
    return parts[0]


def _text(values: dict[str, Any], prefix: str) -> dict[str, str]:
    text = {"zh": values.get(f"{prefix}_zh") or ""}
    if values.get(f"{prefix}_en"):
        text["en"] = values[f"{prefix}_en"]
    return text
