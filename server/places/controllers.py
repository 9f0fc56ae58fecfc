"""HTTP routes for places: list (paged, filtered), read, create, update, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from server.accounts.deps import CurrentUser
from server.accounts.principal import Principal
from server.db.session import DB
from server.lib.paging import Limit, Offset
from server.places import services as svc
from server.places.models import Building, Facility, Project, PublicArea, Unit
from server.places.schemas import (
    MAX_FLOOR,
    MIN_FLOOR,
    AreaCreate,
    AreaRead,
    AreaUpdate,
    BuildingCreate,
    BuildingRead,
    BuildingUpdate,
    FacilityCreate,
    FacilityRead,
    FacilityUpdate,
    Page,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    UnitCreate,
    UnitRead,
    UnitStatus,
    UnitUpdate,
)

ProjectFilter = Annotated[uuid.UUID | None, QueryParameter(name="project", required=False)]
BuildingFilter = Annotated[uuid.UUID | None, QueryParameter(name="building", required=False)]


def project_read(p: Project) -> ProjectRead:
    return ProjectRead(id=p.id, name=p.name, address=p.address, developer_org_id=p.developer_org_id)


def building_read(b: Building) -> BuildingRead:
    return BuildingRead(id=b.id, project_id=b.project_id, name=b.name, floors=b.floors)


def unit_read(u: Unit, actor: Principal) -> UnitRead:
    read = UnitRead(
        id=u.id,
        project_id=u.project_id,
        building_id=u.building_id,
        entrance=u.entrance,
        floor=u.floor,
        room_no=u.room_no,
        layout=u.layout,
        area_m2=u.area_m2,
        status=UnitStatus(u.status),
        code=u.code,
    )
    if actor.sees_personal_data:
        read.owner_name = u.owner_name
        read.owner_phone = u.owner_phone
    return read


def area_read(a: PublicArea) -> AreaRead:
    return AreaRead(id=a.id, project_id=a.project_id, building_id=a.building_id, name=a.name, kind=a.kind, code=a.code)


def facility_read(f: Facility) -> FacilityRead:
    return FacilityRead(
        id=f.id,
        project_id=f.project_id,
        building_id=f.building_id,
        area_id=f.area_id,
        name=f.name,
        kind=f.kind,
        location=f.location,
        code=f.code,
    )


class ProjectController(Controller):
    path = "/api/projects"
    tags = ["places 场所"]  # noqa: RUF012

    @get("/", summary="My projects 我的项目")
    async def list_projects(self, db: DB, principal: CurrentUser) -> list[ProjectRead]:
        return [project_read(p) for p in await svc.list_projects(db, principal)]

    @get("/{project_id:uuid}", summary="One project 项目详情")
    async def get_project(self, project_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> ProjectRead:
        return project_read(await svc.get_project(db, principal, project_id))

    @post("/", summary="Create a project (admin) 新建项目")
    async def create_project(self, data: JSONBody[ProjectCreate], db: DB, principal: CurrentUser) -> ProjectRead:
        return project_read(await svc.create_project(db, principal, data))

    @patch("/{project_id:uuid}", summary="Update a project 修改项目")
    async def update_project(
        self, project_id: FromPath[uuid.UUID], data: JSONBody[ProjectUpdate], db: DB, principal: CurrentUser
    ) -> ProjectRead:
        return project_read(await svc.update_project(db, principal, project_id, data))


class BuildingController(Controller):
    path = "/api/buildings"
    tags = ["places 场所"]  # noqa: RUF012

    @get("/", summary="Buildings 楼栋")
    async def list_buildings(
        self, db: DB, principal: CurrentUser, project: ProjectFilter = None, limit: Limit = 100, offset: Offset = 0
    ) -> Page[BuildingRead]:
        stmt = svc.scoped(Building, principal, project).order_by(Building.name)
        rows, total = await svc.page(db, stmt, limit, offset)
        return Page(items=[building_read(b) for b in rows], total=total, limit=limit, offset=offset)

    @get("/{building_id:uuid}")
    async def get_building(self, building_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> BuildingRead:
        return building_read(await svc.get_place(db, principal, Building, building_id))

    @post("/")
    async def create_building(self, data: JSONBody[BuildingCreate], db: DB, principal: CurrentUser) -> BuildingRead:
        return building_read(await svc.create_building(db, principal, data))

    @patch("/{building_id:uuid}")
    async def update_building(
        self, building_id: FromPath[uuid.UUID], data: JSONBody[BuildingUpdate], db: DB, principal: CurrentUser
    ) -> BuildingRead:
        obj = await svc.get_place(db, principal, Building, building_id)
        return building_read(await svc.update_place(db, principal, obj, "building", svc.changes(data)))

    @delete("/{building_id:uuid}")
    async def delete_building(self, building_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> None:
        await svc.delete_place(db, principal, await svc.get_place(db, principal, Building, building_id), "building")


class UnitController(Controller):
    path = "/api/units"
    tags = ["places 场所"]  # noqa: RUF012

    @get("/", summary="Units 房屋 (filters: project, building, status, floor)")
    async def list_units(
        self,
        db: DB,
        principal: CurrentUser,
        project: ProjectFilter = None,
        building: BuildingFilter = None,
        status: FromQuery[UnitStatus | None] = None,
        floor: Annotated[int | None, QueryParameter(required=False, ge=MIN_FLOOR, le=MAX_FLOOR)] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Page[UnitRead]:
        stmt = svc.scoped(Unit, principal, project)
        if building is not None:
            stmt = stmt.where(Unit.building_id == building)
        if status is not None:
            stmt = stmt.where(Unit.status == status.value)
        if floor is not None:
            stmt = stmt.where(Unit.floor == floor)
        stmt = stmt.order_by(Unit.building_id, Unit.entrance, Unit.floor, Unit.room_no)
        rows, total = await svc.page(db, stmt, limit, offset)
        return Page(items=[unit_read(u, principal) for u in rows], total=total, limit=limit, offset=offset)

    @get("/{unit_id:uuid}")
    async def get_unit(self, unit_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> UnitRead:
        return unit_read(await svc.get_place(db, principal, Unit, unit_id), principal)

    @post("/")
    async def create_unit(self, data: JSONBody[UnitCreate], db: DB, principal: CurrentUser) -> UnitRead:
        return unit_read(await svc.create_unit(db, principal, data), principal)

    @patch("/{unit_id:uuid}")
    async def update_unit(
        self, unit_id: FromPath[uuid.UUID], data: JSONBody[UnitUpdate], db: DB, principal: CurrentUser
    ) -> UnitRead:
        obj = await svc.get_place(db, principal, Unit, unit_id)
        fields: dict[str, Any] = svc.changes(data)
        if "status" in fields:
            fields["status"] = fields["status"].value
        return unit_read(await svc.update_place(db, principal, obj, "unit", fields), principal)

    @delete("/{unit_id:uuid}")
    async def delete_unit(self, unit_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> None:
        await svc.delete_place(db, principal, await svc.get_place(db, principal, Unit, unit_id), "unit")


class AreaController(Controller):
    path = "/api/areas"
    tags = ["places 场所"]  # noqa: RUF012

    @get("/", summary="Public areas 公共区域")
    async def list_areas(
        self,
        db: DB,
        principal: CurrentUser,
        project: ProjectFilter = None,
        building: BuildingFilter = None,
        kind: FromQuery[str | None] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Page[AreaRead]:
        stmt = svc.scoped(PublicArea, principal, project)
        if building is not None:
            stmt = stmt.where(PublicArea.building_id == building)
        if kind:
            stmt = stmt.where(PublicArea.kind == kind)
        rows, total = await svc.page(db, stmt.order_by(PublicArea.name), limit, offset)
        return Page(items=[area_read(a) for a in rows], total=total, limit=limit, offset=offset)

    @get("/{area_id:uuid}")
    async def get_area(self, area_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> AreaRead:
        return area_read(await svc.get_place(db, principal, PublicArea, area_id))

    @post("/")
    async def create_area(self, data: JSONBody[AreaCreate], db: DB, principal: CurrentUser) -> AreaRead:
        return area_read(await svc.create_area(db, principal, data))

    @patch("/{area_id:uuid}")
    async def update_area(
        self, area_id: FromPath[uuid.UUID], data: JSONBody[AreaUpdate], db: DB, principal: CurrentUser
    ) -> AreaRead:
        obj = await svc.get_place(db, principal, PublicArea, area_id)
        return area_read(await svc.update_place(db, principal, obj, "area", svc.changes(data)))

    @delete("/{area_id:uuid}")
    async def delete_area(self, area_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> None:
        await svc.delete_place(db, principal, await svc.get_place(db, principal, PublicArea, area_id), "area")


class FacilityController(Controller):
    path = "/api/facilities"
    tags = ["places 场所"]  # noqa: RUF012

    @get("/", summary="Facilities 设施设备")
    async def list_facilities(
        self,
        db: DB,
        principal: CurrentUser,
        project: ProjectFilter = None,
        building: BuildingFilter = None,
        kind: FromQuery[str | None] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Page[FacilityRead]:
        stmt = svc.scoped(Facility, principal, project)
        if building is not None:
            stmt = stmt.where(Facility.building_id == building)
        if kind:
            stmt = stmt.where(Facility.kind == kind)
        rows, total = await svc.page(db, stmt.order_by(Facility.kind, Facility.name), limit, offset)
        return Page(items=[facility_read(f) for f in rows], total=total, limit=limit, offset=offset)

    @get("/{facility_id:uuid}")
    async def get_facility(self, facility_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> FacilityRead:
        return facility_read(await svc.get_place(db, principal, Facility, facility_id))

    @post("/")
    async def create_facility(self, data: JSONBody[FacilityCreate], db: DB, principal: CurrentUser) -> FacilityRead:
        return facility_read(await svc.create_facility(db, principal, data))

    @patch("/{facility_id:uuid}")
    async def update_facility(
        self, facility_id: FromPath[uuid.UUID], data: JSONBody[FacilityUpdate], db: DB, principal: CurrentUser
    ) -> FacilityRead:
        obj = await svc.get_place(db, principal, Facility, facility_id)
        return facility_read(await svc.update_facility(db, principal, obj, svc.changes(data)))

    @delete("/{facility_id:uuid}")
    async def delete_facility(self, facility_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> None:
        await svc.delete_place(db, principal, await svc.get_place(db, principal, Facility, facility_id), "facility")
