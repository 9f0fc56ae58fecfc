"""Reading one spreadsheet cell as the type its column holds."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec

from checklists.answers import msgspec_problem
from checklists.conditions import Condition
from checklists.xlsx_layout import FALSE_WORDS, TRUE_WORDS, Col


def parse_cell(col: Col, value: Any) -> Any:
    """The typed value of one cell, None for blank; raise ValueError when unusable."""
    if isinstance(value, str) and value.strip() == "" and col.type != "text":
        return None
    if col.type == "text":
        return _text_cell(value)
    if col.type == "bool":
        return _bool_cell(value)
    if col.type in ("float", "int"):
        return _number_cell(value, col.type == "int")
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    text = value.strip()
    if col.type == "enum" and text not in col.values:
        raise ValueError(f"unknown value '{text}'; expected one of {', '.join(col.values)}")
    if col.type == "condition":
        return _condition_cell(text)
    return text


def _text_cell(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {value!r}")


def _bool_cell(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected 是 or 否 (yes/no), got {value!r}")


def _number_cell(value: Any, integer: bool) -> float | int:
    number: float | int
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*", value):
        number = float(value)
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    if integer:
        if number != int(number):
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(number)
    return float(number)


def _condition_cell(text: str) -> Any:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"bad condition JSON at character {exc.pos + 1}: {exc.msg}") from None
    try:
        msgspec.convert(raw, Condition)
    except msgspec.ValidationError as exc:
        problem = msgspec_problem(exc)
        raise ValueError(f"bad condition: {problem.message} at {problem.path}") from None
    return raw
