"""Loading template files: a broken file names the file, the JSON path and the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from checklists import Template, TemplateFileError, dumps_template, load_templates, parse_template
from checklists.loader import load_template_file


def write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def broken(tmp_path: Path, content: str | bytes) -> TemplateFileError:
    write(tmp_path, "small.json", content)
    with pytest.raises(TemplateFileError) as info:
        load_templates(tmp_path)
    return info.value


def test_loads_a_directory_by_key(tmp_path: Path, small: Template) -> None:
    write(tmp_path, "small.json", dumps_template(small))
    write(tmp_path, "notes.txt", "ignored")
    assert load_templates(tmp_path) == {"small": small}


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    err = broken(tmp_path, '{\n  "key": "small",\n  "kind": \n}')
    assert err.file == str(tmp_path / "small.json")
    assert err.path == "$"
    assert err.reason.startswith("invalid JSON at line 4 column 1")
    assert str(err).startswith(f"{tmp_path / 'small.json'}: $: invalid JSON at line 4")


def test_not_utf8(tmp_path: Path) -> None:
    err = broken(tmp_path, '{"key": "验房"}'.encode("gbk"))
    assert err.path == "$" and err.reason.startswith("not UTF-8")


def test_nan_is_not_json(tmp_path: Path, small_dict: dict[str, Any]) -> None:
    text = json.dumps(small_dict, ensure_ascii=False).replace('"max": 4', '"max": NaN')
    assert broken(tmp_path, text).reason == "NaN is not valid JSON"


def test_duplicate_json_keys(tmp_path: Path, small_dict: dict[str, Any]) -> None:
    text = json.dumps(small_dict, ensure_ascii=False).replace('"unit": "mm",', '"unit": "mm", "unit": "cm",')
    err = broken(tmp_path, text)
    assert (err.path, err.reason) == ("sections[0].items[3].unit", "duplicate JSON key 'unit'")


def test_wrong_type_names_the_path(tmp_path: Path, small_dict: dict[str, Any]) -> None:
    small_dict["sections"][1]["items"][1]["choices"][0]["fails"] = "yes"
    err = broken(tmp_path, json.dumps(small_dict))
    assert (err.path, err.reason) == ("sections[1].items[1].choices[0].fails", "Expected `bool`, got `str`")


def test_unknown_field(tmp_path: Path, small_dict: dict[str, Any]) -> None:
    small_dict["sections"][0]["items"][2]["colour"] = "red"
    err = broken(tmp_path, json.dumps(small_dict))
    assert (err.path, err.reason) == ("sections[0].items[2].colour", "unknown field 'colour'")


def test_unknown_item_kind(tmp_path: Path, small_dict: dict[str, Any]) -> None:
    small_dict["sections"][0]["items"][0]["kind"] = "slider"
    err = broken(tmp_path, json.dumps(small_dict))
    assert err.path == "sections[0].items[0].kind"
    assert "slider" in err.reason


def test_kind_specific_field_on_the_wrong_kind(tmp_path: Path, small_dict: dict[str, Any]) -> None:
    small_dict["sections"][0]["items"][6]["unit"] = "mm"  # a text item
    assert broken(tmp_path, json.dumps(small_dict)).path == "sections[0].items[6].unit"


def test_missing_required_field(tmp_path: Path, small_dict: dict[str, Any]) -> None:
    del small_dict["version"]
    err = broken(tmp_path, json.dumps(small_dict))
    assert (err.path, err.reason) == ("$", "Object missing required field `version`")


def test_validation_problems_are_all_listed(tmp_path: Path, small_dict: dict[str, Any]) -> None:
    small_dict["sections"][0]["items"][5]["visible_if"] = {"item": "x", "op": "answered"}
    small_dict["sections"][0]["items"][3]["min"] = 9
    err = broken(tmp_path, json.dumps(small_dict))
    assert [str(p) for p in err.problems] == [
        "sections[0].items[3].min: min 9 is greater than max 4",
        "sections[0].items[5].visible_if.item: unknown item 'x'",
    ]
    assert (err.path, err.reason) == ("sections[0].items[3].min", "min 9 is greater than max 4")
    assert str(tmp_path / "small.json") in str(err)


def test_file_name_must_match_the_key(tmp_path: Path, small: Template) -> None:
    path = write(tmp_path, "other.json", dumps_template(small))
    with pytest.raises(TemplateFileError) as info:
        load_template_file(path)
    assert info.value.path == "key"
    assert "other.json" in info.value.reason


def test_dumps_template_is_readable_and_round_trips(small: Template) -> None:
    text = dumps_template(small)
    assert text.endswith("}\n")
    assert "小模板" in text  # not \\u-escaped
    assert max(len(line) for line in text.splitlines()) < 140
    assert parse_template(text) == small
    assert '"required": true' not in text  # defaults are left out


def test_parse_template_accepts_str_and_bytes(small: Template) -> None:
    data = msgspec.json.encode(small)
    assert parse_template(data) == parse_template(data.decode()) == small
