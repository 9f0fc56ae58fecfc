"""API shapes for scan resolution."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec


class ProjectRef(msgspec.Struct):
    id: uuid.UUID
    name: str


class BuildingRef(msgspec.Struct):
    id: uuid.UUID
    name: str


class PlaceScan(msgspec.Struct):
    """What a scanned tag resolves to, for an API client.

    ``details`` holds the kind's own fields (a unit's floor and room, a facility's
    kind and location, an area's kind). ``open_tickets`` and ``inspections`` are
    filled by the tickets and inspections features through
    ``server.qr.services.register_place_extras``; without them they are empty lists.
    """

    kind: str
    id: uuid.UUID
    code: str
    name: str
    url: str
    project: ProjectRef
    building: BuildingRef | None
    details: dict[str, Any]
    open_tickets: list[dict[str, Any]]
    inspections: list[dict[str, Any]]
