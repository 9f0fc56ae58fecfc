"""The one place that maps errors to HTTP: RFC 9457 problem+json.

Services raise `server.lib.errors.AppError` subclasses; Litestar raises its own
HTTP exceptions (validation, 404 route, 405, 413 body limit). Both become a
problem document. Anything else is logged and answered with a bare 500: no stack
trace ever reaches a client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError

from server.lib.errors import AppError, FieldError
from sync.errors import MutationGap, SyncError, UnsupportedProtocol

log = logging.getLogger("fieldround")

PROBLEM_TYPE_BASE = "https://fieldround.example/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    *,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [{k: v for k, v in msgspec.structs.asdict(e).items() if v is not None} for e in errors]
    body.update(extra)
    return Response(content=body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


_PATH_RE = re.compile(r"at `\$(?P<path>[^`]*)`")
#: msgspec names an unknown or a missing field in the message, not in the path.
_UNKNOWN_RE = re.compile(r"(?:unknown|missing required) field `(?P<name>[^`]+)`")


def _field_of(message: str, key: str | None) -> str:
    m = _PATH_RE.search(message)
    path = m.group("path").lstrip(".") if m else ""
    um = _UNKNOWN_RE.search(message)
    if um and not path.endswith(um.group("name")):
        path = f"{path}.{um.group('name')}" if path else um.group("name")
    return path or key or "body"


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    extra = exc.extra if isinstance(exc.extra, list) else [exc.extra] if exc.extra else []
    out: list[FieldError] = []
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", exc.detail))
            key = item.get("key")
            source = item.get("source")
            source = getattr(source, "value", source)  # (Litestar's ParamType: "query", "path", "header" …)
            field = _field_of(message, str(key) if key else None)
            if source and source not in {"body"} and not field.startswith(str(source)):
                field = f"{source}.{field}" if field != "body" else str(source)
            out.append(FieldError(field=field, message=message))
    if not out:
        out.append(FieldError(field=_field_of(exc.detail, None), message=exc.detail))
    return out


def app_error_handler(request: Request[Any, Any, Any], exc: AppError) -> Response[Any]:
    headers = {}
    if hasattr(exc, "retry_after"):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(
        exc.status,
        exc.title,
        exc.detail,
        exc.slug,
        instance=request.url.path,
        errors=exc.errors,
        headers=headers or None,
        **exc.extra,
    )


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return problem(
        422,
        "Invalid input",
        "The request does not match the expected shape.",
        "invalid",
        instance=request.url.path,
        errors=_validation_errors(exc),
    )


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
        return problem(
            status,
            "Internal error",
            "The server could not complete the request.",
            "internal",
            instance=request.url.path,
        )
    slugs = {
        400: "bad-request",
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        415: "unsupported-media-type",
    }
    title = {413: "Content too large"}.get(status, str(exc.detail) if status != 400 else "Bad request")
    return problem(
        status,
        title,
        str(exc.detail),
        slugs.get(status, f"http-{status}"),
        instance=request.url.path,
        headers=exc.headers,
    )


def sync_error_handler(request: Request[Any, Any, Any], exc: SyncError) -> Response[Any]:
    path = request.url.path
    if isinstance(exc, UnsupportedProtocol):
        return problem(
            426,
            "Upgrade required",
            str(exc),
            "upgrade-required",
            instance=path,
            supported={"min": exc.supported[0], "max": exc.supported[1]},
        )
    if isinstance(exc, MutationGap):
        return problem(409, "Mutation gap", str(exc), "mutation-gap", instance=path, expected=exc.expected)
    return problem(422, "Invalid sync request", str(exc), "invalid-sync", instance=path)


#: SQLSTATEs of text the database cannot store: PostgreSQL refuses U+0000 in text
#: (22021) and in JSON (22P05). The request is refused and nothing is saved.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


#: SQLSTATEs of a value longer or larger than its column (string_data_right_truncation,
#: numeric_value_out_of_range). Inputs are checked against their columns first (the
#: sync engine's `sync.values`, the REST schemas' limits); this is the net under them.
_DOES_NOT_FIT = frozenset({"22001", "22003"})


def database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _UNSTORABLE_TEXT:
        return problem(
            422,
            "Invalid input",
            "Text in the request holds a character the database cannot store (U+0000, NUL). Nothing was saved.",
            "invalid-text",
            instance=request.url.path,
        )
    if sqlstate in _DOES_NOT_FIT:
        log.warning("a value did not fit its column on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(
            422,
            "Invalid input",
            "A value in the request is longer or larger than the database stores. Nothing was saved.",
            "value-too-long",
            instance=request.url.path,
        )
    return internal_error_handler(request, exc)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal error",
        "The server could not complete the request. Nothing was saved.",
        "internal",
        instance=request.url.path,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    AppError: app_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    SyncError: sync_error_handler,
    DBAPIError: database_error_handler,
    Exception: internal_error_handler,
}
