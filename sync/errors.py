"""Errors of the sync engine. `server` maps them to HTTP in its one mapper."""

from __future__ import annotations


class SyncError(Exception):
    """Base of sync errors."""


class Rejected(SyncError):
    """A mutation that can never apply: recorded as rejected, the queue goes on."""

    def __init__(self, reason: str, code: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


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
