"""The pull cursor: per project, the position (version, rank, id) of the last
change delivered. Opaque to devices (base64url of JSON)."""

from __future__ import annotations

import base64
import binascii
import uuid

import msgspec

from sync.errors import BadBatch

#: Rank above every entity: "this whole version is delivered".
DONE_RANK = 10_000

Position = tuple[int, int, str]
START: Position = (0, -1, "")


class _Wire(msgspec.Struct):
    v: int
    p: dict[str, tuple[int, int, str]]


def encode(positions: dict[uuid.UUID, Position]) -> str:
    wire = _Wire(v=1, p={str(k): v for k, v in sorted(positions.items(), key=lambda kv: str(kv[0]))})
    return base64.urlsafe_b64encode(msgspec.json.encode(wire)).decode().rstrip("=")


def decode(cursor: str | None) -> dict[uuid.UUID, Position]:
    if not cursor:
        return {}
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        wire = msgspec.json.decode(raw, type=_Wire)
        return {uuid.UUID(k): _position(*v) for k, v in wire.p.items()}
    except (binascii.Error, msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        raise BadBatch("cursor is not one this server made; pull again without a cursor") from exc


def _position(version: int, rank: int, last_id: str) -> Position:
    """A position as this server makes them: a version the database can compare (a
    larger one failed the pull on every retry), a rank, the last id or ""."""
    if not (0 <= version < 2**63 and START[1] <= rank <= DONE_RANK):
        raise ValueError("position out of range")
    if last_id:
        uuid.UUID(last_id)  # (ValueError: not an id)
    return version, rank, last_id
