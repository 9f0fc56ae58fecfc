"""Reading template files (and writing them back in the house style).

``load_templates(dir)`` loads and validates every ``*.json`` file of a directory; a
broken file raises one ``TemplateFileError`` naming the file, the JSON path and the
reason. The server calls it at start-up and refuses to start on error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from checklists.answers import msgspec_problem
from checklists.errors import Problem, TemplateFileError
from checklists.model import Template
from checklists.validate import validate_template

#: The templates that ship with FieldRound.
BUNDLED_DIR = Path(__file__).parent / "templates"

LINE_WIDTH = 100


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers keys it saw twice."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _find_duplicate(node: Any, path: str) -> Problem | None:
    if isinstance(node, _Object):
        if node.duplicates:
            key = node.duplicates[0]
            return Problem(f"{path}.{key}" if path else key, f"duplicate JSON key '{key}'")
        for key, value in node.items():
            found = _find_duplicate(value, f"{path}.{key}" if path else key)
            if found:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found = _find_duplicate(value, f"{path}[{i}]")
            if found:
                return found
    return None


def parse_template(data: bytes | str, source: str = "<template>") -> Template:
    """Decode and validate one template from JSON text; raise TemplateFileError."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise TemplateFileError(source, [Problem("$", f"not UTF-8 ({exc.reason} at byte {exc.start})")]) from None
    try:
        raw = json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise TemplateFileError(source, [Problem("$", where)]) from None
    except ValueError as exc:
        raise TemplateFileError(source, [Problem("$", str(exc))]) from None
    duplicate = _find_duplicate(raw, "")
    if duplicate is not None:
        raise TemplateFileError(source, [duplicate])
    return template_from_builtins(raw, source)


def template_from_builtins(raw: Any, source: str = "<template>") -> Template:
    """Convert decoded JSON (dicts, lists, …) into a validated Template."""
    try:
        template = msgspec.convert(raw, Template)
    except msgspec.ValidationError as exc:
        raise TemplateFileError(source, [msgspec_problem(exc)]) from None
    problems = validate_template(template)
    if problems:
        raise TemplateFileError(source, problems)
    return template


def load_template_file(path: str | Path) -> Template:
    path = Path(path)
    template = parse_template(path.read_bytes(), str(path))
    if path.stem != template.key:
        raise TemplateFileError(
            str(path), [Problem("key", f"template key '{template.key}' does not match the file name '{path.name}'")]
        )
    return template


def load_templates(directory: str | Path = BUNDLED_DIR) -> dict[str, Template]:
    """Every ``*.json`` template in ``directory``, by key, in file-name order."""
    return {t.key: t for t in (load_template_file(p) for p in sorted(Path(directory).glob("*.json")))}


def load_bundled() -> dict[str, Template]:
    return load_templates(BUNDLED_DIR)


def dumps_template(template: Template) -> str:
    """The house style of template files: fields in model order, defaults left out,
    two-space indent, small objects and lists kept on one line, a final newline."""
    return _render(msgspec.to_builtins(template), 0) + "\n"


def _render(node: Any, indent: int) -> str:
    if isinstance(node, tuple):
        node = list(node)
    flat = json.dumps(node, ensure_ascii=False, separators=(", ", ": "))
    if not isinstance(node, dict | list) or indent + len(flat) <= LINE_WIDTH or not node:
        return flat
    pad = " " * (indent + 2)
    if isinstance(node, dict):
        body = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {_render(v, indent + 2)}" for k, v in node.items()]
        return "{\n" + ",\n".join(body) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + _render(v, indent + 2) for v in node) + "\n" + " " * indent + "]"
