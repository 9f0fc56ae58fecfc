"""Places travel to devices through the pull feed (read-only there): a tablet
offline for days still knows every unit, area and facility of its projects.
Owners' names and phone numbers only reach roles that may see them."""

from __future__ import annotations

from server.places.models import Building, Facility, Project, PublicArea, Unit
from sync.registry import Actor, EntitySpec

PERSONAL_FIELDS = ("owner_name", "owner_phone")
HIDDEN = {"id", "version", "project_id", "company_id", "created_at", "updated_at"}


class _PlaceSpec(EntitySpec):
    device_writes = False
    device_creates = False

    def scope(self, actor: Actor) -> bool:
        return True

    def feed_columns(self, actor: Actor) -> tuple[str, ...]:
        hidden = HIDDEN if actor.sees_personal_data else HIDDEN | set(PERSONAL_FIELDS)
        return tuple(c.name for c in self.table.columns if c.name not in hidden)


class ProjectSpec(_PlaceSpec):
    name = "project"
    model = Project
    rank = 1


class BuildingSpec(_PlaceSpec):
    name = "building"
    model = Building
    rank = 2


class AreaSpec(_PlaceSpec):
    name = "area"
    model = PublicArea
    rank = 3


class UnitSpec(_PlaceSpec):
    name = "unit"
    model = Unit
    rank = 4


class FacilitySpec(_PlaceSpec):
    name = "facility"
    model = Facility
    rank = 5


SPECS: list[EntitySpec] = [ProjectSpec(), BuildingSpec(), AreaSpec(), UnitSpec(), FacilitySpec()]
