"""The sync registry of this server: every feature's synced entities."""

from __future__ import annotations

from functools import cache

from sync.conflict_spec import ConflictSpec
from sync.registry import Registry


@cache
def registry() -> Registry:
    from server.inspections.sync_specs import SPECS as INSPECTIONS
    from server.places.sync_specs import SPECS as PLACES
    from server.tickets.sync_specs import SPECS as TICKETS

    reg = Registry()
    for spec in [*PLACES, *INSPECTIONS, *TICKETS, ConflictSpec()]:
        reg.register(spec)
    return reg
