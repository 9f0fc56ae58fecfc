"""Spreadsheet authoring: ``export_xlsx(template) -> bytes`` and
``import_xlsx(bytes) -> Template``; export then import gives an equal template
with the same content hash. Layout in ``xlsx_layout``; see docs/checklists.md."""

from checklists.xlsx_export import export_xlsx
from checklists.xlsx_import import import_xlsx

__all__ = ["export_xlsx", "import_xlsx"]
