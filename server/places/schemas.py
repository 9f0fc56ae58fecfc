"""API shapes for places. Read shapes hide owners' personal data unless the
caller's role may see it (the field is then absent, not null)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Generic, TypeVar

import msgspec

T = TypeVar("T")
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(max_length=100)]


class UnitStatus(StrEnum):
    vacant = "vacant"  # 空置 / 未交付
    occupied = "occupied"  # 已入住
    handed_over = "handed_over"  # 已交付


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ProjectRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    address: str | None
    developer_org_id: uuid.UUID | None


class ProjectCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    developer_org_id: uuid.UUID | None = None


class ProjectUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | Unset = UNSET
    address: Annotated[str, msgspec.Meta(max_length=300)] | Unset | None = UNSET
    developer_org_id: uuid.UUID | Unset | None = UNSET


class BuildingRead(msgspec.Struct):
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    floors: int | None


class BuildingCreate(msgspec.Struct, forbid_unknown_fields=True):
    project_id: uuid.UUID
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    floors: Annotated[int, msgspec.Meta(ge=1, le=300)] | None = None


class BuildingUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | Unset = UNSET
    floors: Annotated[int, msgspec.Meta(ge=1, le=300)] | Unset | None = UNSET


#: A unit's floor: basements to the tallest towers (also the bounds of the units
#: list's `floor` filter).
MIN_FLOOR, MAX_FLOOR = -10, 300
FloorNumber = Annotated[int, msgspec.Meta(ge=MIN_FLOOR, le=MAX_FLOOR)]

#: Floor area in m². msgspec bounds only ints and floats (a `ge` on a Decimal makes every
#: decoder of the struct, and the OpenAPI schema, fail), so the bounds are checked after
#: decoding, with a message shaped like msgspec's own so the problem names the field.
Area = Annotated[Decimal, msgspec.Meta(description="m², 0 … 100000")]
MAX_AREA = Decimal(100000)


def _check_area(value: object) -> None:
    if isinstance(value, Decimal) and not (value.is_finite() and Decimal(0) <= value <= MAX_AREA):
        raise ValueError("Expected `decimal` >= 0 and <= 100000 - at `$.area_m2`")


class UnitRead(msgspec.Struct, omit_defaults=True):
    id: uuid.UUID
    project_id: uuid.UUID
    building_id: uuid.UUID
    entrance: str
    floor: int
    room_no: str
    layout: str | None
    area_m2: Decimal | None
    status: UnitStatus
    code: str
    owner_name: str | msgspec.UnsetType | None = msgspec.UNSET
    owner_phone: str | msgspec.UnsetType | None = msgspec.UNSET


class UnitCreate(msgspec.Struct, forbid_unknown_fields=True):
    building_id: uuid.UUID
    floor: FloorNumber
    room_no: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    entrance: Annotated[str, msgspec.Meta(max_length=20)] = ""
    layout: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    area_m2: Area | None = None
    status: UnitStatus = UnitStatus.vacant
    owner_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    owner_phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None

    def __post_init__(self) -> None:
        _check_area(self.area_m2)


class UnitUpdate(msgspec.Struct, forbid_unknown_fields=True):
    floor: FloorNumber | Unset = UNSET
    room_no: Annotated[str, msgspec.Meta(min_length=1, max_length=30)] | Unset = UNSET
    entrance: Annotated[str, msgspec.Meta(max_length=20)] | Unset = UNSET
    layout: Annotated[str, msgspec.Meta(max_length=60)] | Unset | None = UNSET
    area_m2: Area | Unset | None = UNSET
    status: UnitStatus | Unset = UNSET
    owner_name: Annotated[str, msgspec.Meta(max_length=100)] | Unset | None = UNSET
    owner_phone: Annotated[str, msgspec.Meta(max_length=40)] | Unset | None = UNSET

    def __post_init__(self) -> None:
        _check_area(self.area_m2)


class AreaRead(msgspec.Struct):
    id: uuid.UUID
    project_id: uuid.UUID
    building_id: uuid.UUID | None
    name: str
    kind: str
    code: str


class AreaCreate(msgspec.Struct, forbid_unknown_fields=True):
    project_id: uuid.UUID
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    building_id: uuid.UUID | None = None


class AreaUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | Unset = UNSET
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | Unset = UNSET


class FacilityRead(msgspec.Struct):
    id: uuid.UUID
    project_id: uuid.UUID
    building_id: uuid.UUID | None
    area_id: uuid.UUID | None
    name: str
    kind: str
    location: str | None
    code: str


class FacilityCreate(msgspec.Struct, forbid_unknown_fields=True):
    project_id: uuid.UUID
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    building_id: uuid.UUID | None = None
    area_id: uuid.UUID | None = None
    location: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class FacilityUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | Unset = UNSET
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | Unset = UNSET
    location: Annotated[str, msgspec.Meta(max_length=200)] | Unset | None = UNSET
    area_id: uuid.UUID | Unset | None = UNSET
