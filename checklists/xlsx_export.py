"""Export a template to an XLSX workbook for authoring in a spreadsheet."""

from __future__ import annotations

import io
from typing import Any

import msgspec
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from checklists.conditions import Condition
from checklists.model import Template, Text, item_kind
from checklists.xlsx_layout import (
    CHOICE_COLS,
    CHOICE_FIELD,
    CHOICES,
    COMMON_ITEM_FIELDS,
    INSTANCE_COLS,
    INSTANCES,
    ITEM_COLS,
    ITEMS,
    KIND_FIELDS,
    NO,
    README,
    README_ROWS,
    SECTION_COLS,
    SECTIONS,
    SETTINGS,
    SETTINGS_COLS,
    SETTINGS_FIELDS,
    YES,
    Col,
)

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_VALIDATION_ROWS = 2000


def export_xlsx(template: Template) -> bytes:
    """The template as an XLSX workbook (bytes); ``import_xlsx`` reads it back equal."""
    wb = Workbook()
    settings = wb.active
    assert settings is not None
    settings.title = SETTINGS
    _table(settings, SETTINGS_COLS, _settings_rows(template))
    _table(wb.create_sheet(SECTIONS), SECTION_COLS, _section_rows(template))
    _table(wb.create_sheet(ITEMS), ITEM_COLS, _item_rows(template))
    _table(wb.create_sheet(CHOICES), CHOICE_COLS, _choice_rows(template))
    _table(wb.create_sheet(INSTANCES), INSTANCE_COLS, _instance_rows(template))
    readme = wb.create_sheet(README)
    for row in README_ROWS:
        readme.append(list(row))
    readme.column_dimensions["A"].width = 22
    readme.column_dimensions["B"].width = 120
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _settings_rows(t: Template) -> list[dict[str, Any]]:
    values: list[tuple[str, Any]] = [
        ("key", t.key),
        ("kind", t.kind),
        ("discipline", t.discipline),
        ("title_zh", t.title.zh),
        ("title_en", t.title.en),
        ("version", t.version),
    ]
    values += [("basis", b) for b in t.basis] or [("basis", None)]
    return [{"field": SETTINGS_FIELDS[f].header, "value": v} for f, v in values]


def _section_rows(t: Template) -> list[dict[str, Any]]:
    rows = []
    for s in t.sections:
        row: dict[str, Any] = {"key": s.key, **_text("title", s.title), **_text("guidance", s.guidance)}
        row["visible_if"] = _condition(s.visible_if)
        if s.repeat is not None:
            r = s.repeat
            row |= {"repeat": True, **_text("instance_label", r.instance_label), "allow_add": r.allow_add}
            row |= {"min_instances": r.min_instances, "max_instances": r.max_instances}
        rows.append(row)
    return rows


def _item_rows(t: Template) -> list[dict[str, Any]]:
    rows = []
    for s in t.sections:
        for item in s.items:
            kind = item_kind(item)
            row: dict[str, Any] = {"section": s.key, "key": item.key, "kind": kind}
            row |= _text("label", item.label) | _text("guidance", item.guidance)
            for name in COMMON_ITEM_FIELDS:
                row[name] = getattr(item, name)
            row["visible_if"] = _condition(item.visible_if)
            for name in KIND_FIELDS[kind]:
                row[name] = getattr(item, name)
            rows.append(row)
    return rows


def _choice_rows(t: Template) -> list[dict[str, Any]]:
    rows = []
    for s in t.sections:
        for item in s.items:
            field = CHOICE_FIELD.get(item_kind(item))
            for choice in getattr(item, field) if field else ():
                row = {"item": item.key, "key": choice.key, **_text("label", choice.label)}
                if field == "choices":
                    row["fails"] = choice.fails
                rows.append(row)
    return rows


def _instance_rows(t: Template) -> list[dict[str, Any]]:
    return [
        {"section": s.key, "id": inst.id, **_text("label", inst.label)}
        for s in t.sections
        if s.repeat is not None
        for inst in s.repeat.instances
    ]


def _text(prefix: str, text: Text | None) -> dict[str, Any]:
    if text is None:
        return {}
    return {f"{prefix}_zh": text.zh, f"{prefix}_en": text.en or None}


def _condition(cond: Condition | None) -> str | None:
    return None if cond is None else msgspec.json.encode(cond).decode()


def _table(ws: Worksheet, cols: tuple[Col, ...], rows: list[dict[str, Any]]) -> None:
    for c, col in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=c, value=col.header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        letter = get_column_letter(c)
        ws.column_dimensions[letter].width = 44 if col.type in ("text", "condition") else max(12, len(col.header) + 4)
        choices = col.values or ((YES, NO) if col.type == "bool" else ())
        if choices:
            dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{_VALIDATION_ROWS}")
    for r, row in enumerate(rows, start=2):
        for c, col in enumerate(cols, start=1):
            _put(ws, r, c, row.get(col.id))
    ws.freeze_panes = "A2"


def _put(ws: Worksheet, r: int, c: int, value: Any) -> None:
    if value is None:
        return
    cell = ws.cell(row=r, column=c)
    if isinstance(value, bool):
        cell.value = YES if value else NO
    else:
        cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # a text starting with "=" stays text, never a formula
        if "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
