"""Access tokens (short-lived JWT, HS256 via PyJWT) and refresh tokens (opaque,
random, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt

from server.lib.errors import Unauthorized

ALGORITHM = "HS256"
AUDIENCE = "fieldround"


def issue_access_token(
    secret: str, *, user_id: uuid.UUID, session_id: uuid.UUID, device_id: str, now: datetime, minutes: int
) -> tuple[str, datetime]:
    expires = now + timedelta(minutes=minutes)
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "dev": device_id,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def decode_access_token(secret: str, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("access token expired; refresh it") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid access token") from exc
    return claims


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
