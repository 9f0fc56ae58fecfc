"""The errors the checklists package raises.

Every error carries a list of problems; each problem names where (a path into the
template or the answers, or a sheet/row/column of a workbook) and what is wrong.
Callers (the server) turn them into problem+json responses without parsing text.
"""

from __future__ import annotations

import msgspec


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong, at one place: ``path`` is relative to the document root
    (``sections[2].items[5].visible_if.item``); ``"$"`` is the root itself."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CellProblem(msgspec.Struct, frozen=True):
    """One thing wrong in a workbook. ``row`` is the 1-based spreadsheet row and
    ``column`` the column letter; either is ``None`` when the problem concerns a
    whole sheet or a whole row."""

    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.sheet
        if self.column is not None and self.row is not None:
            where += f"!{self.column}{self.row}"
        elif self.row is not None:
            where += f" row {self.row}"
        elif self.column is not None:
            where += f" column {self.column}"
        return f"{where}: {self.message}"


class ChecklistError(Exception):
    """Base class of every error raised by the checklists package."""

    problems: list[Problem] | list[CellProblem]

    def __init__(self, problems: list[Problem] | list[CellProblem], summary: str, *, list_all: bool = True) -> None:
        self.problems = problems
        lines = [summary, *(f"  {p}" for p in problems)] if list_all else [summary]
        super().__init__("\n".join(lines))

    def as_dicts(self) -> list[dict[str, object]]:
        """The problems as plain JSON-ready dicts (for problem+json bodies)."""
        return [msgspec.to_builtins(p) for p in self.problems]


class TemplateInvalid(ChecklistError):
    """A template failed validation; ``problems`` lists every finding."""

    problems: list[Problem]

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, f"template is invalid ({len(problems)} problem(s))")


class AnswersInvalid(ChecklistError):
    """Answers do not fit the template (unknown keys, wrong value types, …)."""

    problems: list[Problem]

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, f"answers are invalid ({len(problems)} problem(s))")


class TemplateFileError(ChecklistError):
    """A template file could not be loaded. ``file``, ``path`` and ``reason``
    describe the first problem; ``problems`` holds all of them."""

    problems: list[Problem]

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.path = problems[0].path
        self.reason = problems[0].message
        if len(problems) == 1:
            super().__init__(problems, f"{file}: {problems[0]}", list_all=False)
        else:
            super().__init__(problems, f"{file}: {len(problems)} problems")


class WorkbookInvalid(ChecklistError):
    """A spreadsheet could not be imported; ``problems`` lists every bad cell."""

    problems: list[CellProblem]

    def __init__(self, problems: list[CellProblem]) -> None:
        super().__init__(problems, f"workbook is invalid ({len(problems)} problem(s))")
