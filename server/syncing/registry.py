"""The sync registry of this server: every feature's synced entities."""

from __future__ import annotations

from functools import cache

from sync.conflict_spec import ConflictSpec
from sync.registry import Registry


@cache
def registry() -> Registry:
    from server.audit import sync_writes
    from server.inspections.place_extras import place_extras
    from server.inspections.sync_specs import SPECS as INSPECTIONS
    from server.media import services as media
    from server.media.sync_spec import SPECS as PHOTOS
    from server.media.sync_spec import owner_in_project, partner_reads_ticket_photos
    from server.places.sync_specs import SPECS as PLACES
    from server.qr.services import register_place_extras
    from server.tickets.sync_specs import SPECS as TICKETS

    sync_writes.install()
    reg = Registry()
    for spec in [*PLACES, *INSPECTIONS, *TICKETS, *PHOTOS, ConflictSpec()]:
        reg.register(spec)
    # What the synced features add to photo access and to a QR scan's answer.
    for rules, rule in ((media.WRITE_RULES, owner_in_project), (media.READ_RULES, partner_reads_ticket_photos)):
        if rule not in rules:
            rules.append(rule)
    register_place_extras(place_extras)
    return reg
