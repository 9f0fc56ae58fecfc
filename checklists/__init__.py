"""FieldRound checklists: the template model, its rules, the bundled templates.

Pure Python (msgspec, openpyxl): no database, no web framework, and never an
import of ``server`` or ``sync``. See docs/checklists.md.
"""

from checklists.answers import Answer, Answers, InstanceAnswers, parse_answers
from checklists.conditions import Condition, Fact, evaluate
from checklists.errors import (
    AnswersInvalid,
    CellProblem,
    ChecklistError,
    Problem,
    TemplateFileError,
    TemplateInvalid,
    WorkbookInvalid,
)
from checklists.judge import judge
from checklists.judgement import Failure, Judgement, Missing, Score, SectionScore
from checklists.loader import BUNDLED_DIR, dumps_template, load_bundled, load_templates, parse_template
from checklists.model import Item, Section, Template, Text
from checklists.validate import check_template, validate_template
from checklists.versions import canonical_bytes, content_hash
from checklists.xlsx import export_xlsx, import_xlsx

__all__ = [
    "BUNDLED_DIR",
    "Answer",
    "Answers",
    "AnswersInvalid",
    "CellProblem",
    "ChecklistError",
    "Condition",
    "Fact",
    "Failure",
    "InstanceAnswers",
    "Item",
    "Judgement",
    "Missing",
    "Problem",
    "Score",
    "Section",
    "SectionScore",
    "Template",
    "TemplateFileError",
    "TemplateInvalid",
    "Text",
    "WorkbookInvalid",
    "canonical_bytes",
    "check_template",
    "content_hash",
    "dumps_template",
    "evaluate",
    "export_xlsx",
    "import_xlsx",
    "judge",
    "load_bundled",
    "load_templates",
    "parse_answers",
    "parse_template",
    "validate_template",
]
