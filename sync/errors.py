"""Errors of the sync engine. `server` maps them to HTTP in its one mapper."""

from __future__ import annotations

from collections.abc import Collection

import msgspec


class SyncError(Exception):
    """Base of sync errors."""


class Rejected(SyncError):
    """A mutation that can never apply: recorded as rejected, the queue goes on."""

    def __init__(self, reason: str, code: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def require_one_of(value: object, allowed: Collection[str], field: str, message: str | None = None) -> str:
    """A value a device sent that must be one of `allowed`. Any other JSON value — a
    list or an object included, which a set or dict lookup would choke on — is
    Rejected (the queue goes on), never an error that fails the whole push."""
    if not isinstance(value, str) or value not in allowed:
        raise Rejected(message or f"{field} must be one of: " + ", ".join(sorted(allowed)), code="invalid")
    return value


_PLAIN = frozenset({int, float, bool, type(None)})


def may_hold_nul(value: object) -> bool:
    """False when no text anywhere in `value` (JSON values) holds NUL, found in one
    pass in C: its JSON has no ``\\u0000`` escape. True may be a false alarm (text
    holding a backslash followed by ``u0000``): `require_no_nul` then decides."""
    return b"\\u0000" in msgspec.json.encode(value)


def require_no_nul(value: object, field: str) -> None:
    """Text a device sent, anywhere in `value` (keys and nested lists and objects
    included), must not hold the NUL character U+0000: PostgreSQL stores it neither
    in text nor in JSON and would fail the whole push, for ever, on every retry.
    Rejected the same on every database (the queue goes on)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise Rejected(f"{field}: text may not contain the NUL character (U+0000)", code="invalid")
    elif isinstance(value, dict):
        for key, item in value.items():  # plain values checked here: no call per field
            if "\x00" in key:
                require_no_nul(key, field)
            kind = type(item)
            if (kind is str and "\x00" in item) or (kind is not str and kind not in _PLAIN):
                require_no_nul(item, f"{field}.{key}")
    elif isinstance(value, list):
        for item in value:
            require_no_nul(item, field)


class LateEdit(SyncError):
    """An edit to a record that is frozen (submitted, signed, closed, deleted):
    kept as a conflict for review, never applied."""

    def __init__(self, reason: str, project_id: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: The project of a record that does not exist yet (a create on a frozen parent).
        self.project_id = project_id


class MutationGap(SyncError):
    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"mutation {got} arrived before {expected}; resend from {expected}")
        self.expected = expected
        self.got = got


class UnsupportedProtocol(SyncError):
    def __init__(self, got: int, supported: tuple[int, int]) -> None:
        super().__init__(f"protocol {got} is not supported; this server speaks {supported[0]}–{supported[1]}")
        self.got = got
        self.supported = supported


class BadBatch(SyncError):
    """A malformed push: ids not strictly increasing by one, wrong device."""
