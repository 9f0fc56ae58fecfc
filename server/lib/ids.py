"""Identifiers: UUIDv7 primary keys (time-ordered, and a device can make them
offline) and random short codes for QR tags."""

from __future__ import annotations

import secrets
import uuid

from uuid_utils.compat import uuid7

# Crockford-style alphabet without look-alikes (no I, L, O, U, 0, 1).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8


def new_id() -> uuid.UUID:
    return uuid7()


def new_code(prefix: str) -> str:
    """A short random tag code such as ``U4K7QX2MB``: one letter naming the kind
    of place, then random characters (≈ 6.6e11 values, not a counter)."""
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
