"""Canonical bytes and content hashes of published versions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec

from checklists import Template, canonical_bytes, content_hash, parse_template


def test_canonical_bytes_are_sorted_compact_utf8(small: Template) -> None:
    data = canonical_bytes(small)
    text = data.decode("utf-8")
    assert "小模板" in text  # raw UTF-8, not escaped
    assert ": " not in text and ", " not in text and "\n" not in text
    decoded = json.loads(text)
    assert json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == text
    assert content_hash(small) == hashlib.sha256(data).hexdigest()
    assert len(content_hash(small)) == 64


def test_key_order_and_whitespace_of_the_source_do_not_matter(small_dict: dict[str, Any], small: Template) -> None:
    def reverse(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: reverse(node[k]) for k in reversed(list(node))}
        if isinstance(node, list):
            return [reverse(x) for x in node]
        return node

    shuffled = json.dumps(reverse(small_dict), indent=7, ensure_ascii=True)
    assert content_hash(parse_template(shuffled)) == content_hash(small)


def test_defaults_written_out_or_left_out_hash_the_same(small_dict: dict[str, Any], small: Template) -> None:
    small_dict["sections"][0]["items"][0]["required"] = True
    small_dict["sections"][0]["items"][0]["severity"] = "general"
    assert content_hash(parse_template(json.dumps(small_dict))) == content_hash(small)


def test_any_change_changes_the_hash(small_dict: dict[str, Any], small: Template) -> None:
    small_dict["sections"][0]["items"][2]["label"]["en"] = "Entrance door"
    assert content_hash(parse_template(json.dumps(small_dict))) != content_hash(small)


def test_canonical_bytes_decode_to_the_same_template(small: Template) -> None:
    again = parse_template(canonical_bytes(small))
    assert again == small
    assert canonical_bytes(again) == canonical_bytes(small)


def test_templates_are_immutable(small: Template) -> None:
    try:
        small.version = "2"  # type: ignore[misc]
    except AttributeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a template must be immutable")
    assert isinstance(small.sections, tuple)
    assert msgspec.structs.replace(small, version="2").version == "2"
