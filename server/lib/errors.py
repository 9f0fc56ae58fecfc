"""The project's error family. Services raise these; `server.lib.problems` maps
them to RFC 9457 problem+json once. No HTTP types in services."""

from __future__ import annotations

from typing import Any

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    """One problem with one field (or one spreadsheet row/column)."""

    field: str
    message: str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None


class AppError(Exception):
    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(self, detail: str = "", *, errors: list[FieldError] | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.extra = extra


class Invalid(AppError):
    status = 422
    title = "Invalid input"
    slug = "invalid"


class Unauthorized(AppError):
    status = 401
    title = "Not authenticated"
    slug = "unauthorized"


class Forbidden(AppError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(AppError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(AppError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class Gone(AppError):
    status = 410
    title = "Gone"
    slug = "gone"


class TooLarge(AppError):
    status = 413
    title = "Content too large"
    slug = "too-large"


class UnsupportedVersion(AppError):
    status = 426
    title = "Upgrade required"
    slug = "upgrade-required"


class TooManyRequests(AppError):
    status = 429
    title = "Too many requests"
    slug = "too-many-requests"

    def __init__(self, detail: str = "", *, retry_after: int = 60, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
