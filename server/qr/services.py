"""Scan resolution and label data.

A code resolves to a unit, public area or facility. A place outside the caller's
projects is answered exactly like an unknown code, so codes cannot be probed;
the codes themselves are random (server.lib.ids.new_code), not counters.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.principal import Principal
from server.lib.errors import FieldError, Invalid, NotFound
from server.places.models import Building, Facility, Project, PublicArea, Unit
from server.qr.codes import place_url
from server.qr.schemas import BuildingRef, PlaceScan, ProjectRef
from server.qr.sheets import LabelSpec

CODE_RE = re.compile(r"^[A-Z0-9]{2,16}$")
UNKNOWN_CODE = "no place has this code, or it is not in your projects 未找到该二维码对应的场所"
KINDS: dict[str, type[Any]] = {"U": Unit, "A": PublicArea, "F": Facility}
KIND_NAMES = {Unit: "unit", PublicArea: "area", Facility: "facility"}


@dataclass(frozen=True)
class Place:
    kind: str
    obj: Any
    project: Project
    building: Building | None

    @property
    def code(self) -> str:
        return str(self.obj.code)

    @property
    def title(self) -> str:
        return place_title(self.obj, self.building)


#: Providers of the lists a scan shows besides the place: each gets the session,
#: the caller and the place and returns ``{"open_tickets": [...], "inspections": [...]}``
#: (either key may be left out). Registered by the tickets and inspections features.
PlaceExtras = Callable[[AsyncSession, Principal, Place], Awaitable[dict[str, list[dict[str, Any]]]]]
PLACE_EXTRAS: list[PlaceExtras] = []


def register_place_extras(fn: PlaceExtras) -> PlaceExtras:
    """Add a provider of open tickets / recent and due inspections for scanned places."""
    if fn not in PLACE_EXTRAS:
        PLACE_EXTRAS.append(fn)
    return fn


def normalise_code(code: str) -> str:
    return code.strip().upper()


def place_title(obj: Any, building: Building | None) -> str:
    """The name printed on a label: 1号楼1单元101室, or the area's / facility's name."""
    if isinstance(obj, Unit):
        prefix = building.name if building else ""
        entrance = f"{obj.entrance}单元" if obj.entrance else ""
        room = obj.room_no if obj.room_no.endswith("室") else f"{obj.room_no}室"
        return f"{prefix}{entrance}{room}"
    return str(obj.name)


async def find_place(db: AsyncSession, code: str) -> Place | None:
    code = normalise_code(code)
    if not CODE_RE.match(code):
        return None
    models = [KINDS[code[0]]] if code[0] in KINDS else list(KINDS.values())
    for model in models:
        obj = await db.scalar(select(model).where(model.code == code))
        if obj is not None:
            project = await db.get(Project, obj.project_id)
            assert project is not None
            building = await db.get(Building, obj.building_id) if obj.building_id else None
            return Place(KIND_NAMES[model], obj, project, building)
    return None


async def resolve(db: AsyncSession, principal: Principal, code: str) -> Place:
    """The place a code names, if the caller may see it; NotFound otherwise (same answer)."""
    place = await find_place(db, code)
    if place is None or place.project.id not in principal.project_ids:
        raise NotFound(UNKNOWN_CODE)
    return place


def _details(place: Place, principal: Principal) -> dict[str, Any]:
    obj = place.obj
    if isinstance(obj, Unit):
        details: dict[str, Any] = {
            "entrance": obj.entrance,
            "floor": obj.floor,
            "room_no": obj.room_no,
            "layout": obj.layout,
            "area_m2": str(obj.area_m2) if obj.area_m2 is not None else None,
            "status": obj.status,
        }
        if principal.sees_personal_data:
            details["owner_name"] = obj.owner_name
            details["owner_phone"] = obj.owner_phone
        return details
    if isinstance(obj, Facility):
        return {"kind": obj.kind, "location": obj.location, "area_id": str(obj.area_id) if obj.area_id else None}
    return {"kind": obj.kind}


async def scan(db: AsyncSession, principal: Principal, code: str, public_url: str) -> PlaceScan:
    """What an API client sees when it scans ``code``."""
    place = await resolve(db, principal, code)
    extras: dict[str, list[dict[str, Any]]] = {"open_tickets": [], "inspections": []}
    for provider in PLACE_EXTRAS:
        for key, items in (await provider(db, principal, place)).items():
            if key in extras:
                extras[key].extend(items)
    return PlaceScan(
        kind=place.kind,
        id=place.obj.id,
        code=place.code,
        name=place.title,
        url=place_url(public_url, place.code),
        project=ProjectRef(place.project.id, place.project.name),
        building=BuildingRef(place.building.id, place.building.name) if place.building else None,
        details=_details(place, principal),
        open_tickets=extras["open_tickets"],
        inspections=extras["inspections"],
    )


async def label_place(db: AsyncSession, principal: Principal, code: str) -> Place:
    """A place whose label the caller may print (a manager of its project)."""
    place = await resolve(db, principal, code)
    principal.require_manager_of(place.project.id)
    return place


async def sheet_labels(
    db: AsyncSession,
    principal: Principal,
    project_id: uuid.UUID,
    public_url: str,
    *,
    building_id: uuid.UUID | None = None,
    kinds: tuple[str, ...] = ("unit", "area", "facility"),
) -> tuple[str, list[LabelSpec]]:
    """The labels a manager of the project may print; see `collect_labels`."""
    principal.require_manager_of(project_id)
    return await collect_labels(db, project_id, public_url, building_id=building_id, kinds=kinds)


async def collect_labels(
    db: AsyncSession,
    project_id: uuid.UUID,
    public_url: str,
    *,
    building_id: uuid.UUID | None = None,
    kinds: tuple[str, ...] = ("unit", "area", "facility"),
) -> tuple[str, list[LabelSpec]]:
    """The labels of a project (or one building of it): units by building, entrance,
    floor and room, then public areas, then facilities. Returns a sheet title too.
    No access check: callers check (the HTTP route) or are the operator (the CLI)."""
    project = await db.get(Project, project_id)
    if project is None:
        raise NotFound("project not found")
    buildings = {b.id: b for b in (await db.scalars(select(Building).where(Building.project_id == project_id))).all()}
    building = None
    if building_id is not None:
        building = buildings.get(building_id)
        if building is None:
            raise Invalid("unknown building", errors=[FieldError("building", "no such building in this project")])
    specs: list[LabelSpec] = []
    sources: list[tuple[str, Any, tuple[Any, ...]]] = [
        ("unit", Unit, (Unit.building_id, Unit.entrance, Unit.floor, Unit.room_no)),
        ("area", PublicArea, (PublicArea.name,)),
        ("facility", Facility, (Facility.kind, Facility.name)),
    ]
    for kind, model, order in sources:
        if kind not in kinds:
            continue
        stmt = select(model).where(model.project_id == project_id)
        if building_id is not None:
            stmt = stmt.where(model.building_id == building_id)
        for obj in (await db.scalars(stmt.order_by(*order))).all():
            b = buildings.get(obj.building_id) if obj.building_id else None
            sub = project.name if b is None else f"{project.name} · {b.name}"
            specs.append(LabelSpec(place_url(public_url, obj.code), place_title(obj, b), obj.code, sub))
    title = project.name if building is None else f"{project.name} {building.name}"
    return title, specs
