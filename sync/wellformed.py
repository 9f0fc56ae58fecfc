"""JSON from a device whose text holds lone UTF-16 surrogates.

JavaScript strings are UTF-16 and may hold half a surrogate pair: a note cut to a
length with `slice()` in the middle of an emoji, say. `JSON.stringify` writes such
a half as an escape (`"\\ud83d"`), which is not text in any Unicode encoding, and
msgspec refuses the whole document. For a push that would be every retry of it:
the device's queue would never move again, and the answers in it — a recorded
defect among them — would never arrive. So a push whose JSON msgspec refuses is
read again with the standard library's parser, which keeps such halves, and each
lone half becomes U+FFFD, the replacement character — what the device's own
`String.prototype.toWellFormed()` would have made of it. Nothing else is changed;
JSON that is broken otherwise is still refused."""

from __future__ import annotations

import json
from typing import Any


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def loads_well_formed(body: bytes) -> Any | None:
    """The JSON value of `body` with lone surrogates in its strings (keys too)
    replaced by U+FFFD, or None when `body` is not JSON even so (NaN and Infinity,
    which the standard library would accept, are not JSON either)."""
    try:
        value = json.loads(body, parse_constant=_refuse)
    except ValueError:  # (json.JSONDecodeError and UnicodeDecodeError are ValueErrors)
        return None
    return _well_formed(value)


def _well_formed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (json.loads joins the pairs)
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, list):
        return [_well_formed(v) for v in value]
    if isinstance(value, dict):
        return {_well_formed(k): _well_formed(v) for k, v in value.items()}
    return value
