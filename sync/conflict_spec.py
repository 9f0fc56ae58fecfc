"""Conflicts on the feed: managers' devices receive them (and their resolutions)."""

from __future__ import annotations

from typing import Any

from sync.registry import Actor, EntitySpec
from sync.tables import conflicts


class ConflictSpec(EntitySpec):
    name = "conflict"
    model = object
    rank = 90
    device_writes = False
    device_creates = False

    @property
    def table(self) -> Any:
        return conflicts

    def scope(self, actor: Actor) -> bool:
        return bool(actor.is_manager)
