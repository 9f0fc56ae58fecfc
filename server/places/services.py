"""Places: projects, buildings, units, public areas, facilities.

Every read is limited to the caller's projects; every write needs a manager of the
project and is audited in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.principal import Principal
from server.accounts.roles import Role
from server.accounts.services import get_org_in_company
from server.audit.services import record, snapshot
from server.lib.errors import Conflict, FieldError, Invalid, NotFound
from server.lib.ids import new_code
from server.places.models import Building, Facility, Project, PublicArea, Unit
from server.places.schemas import (
    AreaCreate,
    BuildingCreate,
    FacilityCreate,
    ProjectCreate,
    ProjectUpdate,
    UnitCreate,
)

M = TypeVar("M", Building, Unit, PublicArea, Facility)


def code_for(model: type[Any]) -> str:
    prefix = {Unit: "U", PublicArea: "A", Facility: "F"}[model]
    return new_code(prefix)


def changes(data: msgspec.Struct) -> dict[str, Any]:
    """The fields an Update struct actually carries (UNSET left out)."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


async def _flush_or_conflict(db: AsyncSession, message: str) -> None:
    try:
        await db.flush()
    except IntegrityError as exc:
        await db.rollback()
        raise Conflict(message) from exc


# --- projects -------------------------------------------------------------------------------


async def list_projects(db: AsyncSession, actor: Principal) -> list[Project]:
    stmt = select(Project).where(Project.id.in_(actor.project_ids)).order_by(Project.name)
    return list((await db.scalars(stmt)).all())


async def get_project(db: AsyncSession, actor: Principal, project_id: uuid.UUID) -> Project:
    actor.require_project(project_id)
    project = await db.get(Project, project_id)
    if project is None:
        raise NotFound("project not found")
    return project


async def _check_developer(db: AsyncSession, actor: Principal, org_id: uuid.UUID | None) -> None:
    if org_id is None:
        return
    org = await get_org_in_company(db, actor.company_id, org_id)
    if org.kind != "developer":
        raise Invalid("not a developer", errors=[FieldError("developer_org_id", "must name a developer organisation")])


async def create_project(db: AsyncSession, actor: Principal, data: ProjectCreate) -> Project:
    actor.require_role(Role.admin)
    await _check_developer(db, actor, data.developer_org_id)
    project = Project(
        company_id=actor.company_id, name=data.name, address=data.address, developer_org_id=data.developer_org_id
    )
    db.add(project)
    await db.flush()
    record(db, actor, "create", "project", project.id, after=snapshot(project), project_id=project.id)
    await db.commit()
    return project


async def update_project(db: AsyncSession, actor: Principal, project_id: uuid.UUID, data: ProjectUpdate) -> Project:
    actor.require_manager_of(project_id)
    project = await get_project(db, actor, project_id)
    fields = changes(data)
    if "developer_org_id" in fields:
        await _check_developer(db, actor, fields["developer_org_id"])
    before = snapshot(project)
    for key, value in fields.items():
        setattr(project, key, value)
    record(db, actor, "update", "project", project.id, before=before, after=snapshot(project), project_id=project.id)
    await db.commit()
    return project


# --- generic place rows ---------------------------------------------------------------------


async def get_place(db: AsyncSession, actor: Principal, model: type[M], place_id: uuid.UUID) -> M:
    obj = await db.get(model, place_id)
    if obj is None or obj.project_id not in actor.project_ids:
        raise NotFound(f"{model.__tablename__[:-1]} not found")
    return obj


async def page(db: AsyncSession, stmt: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    total = await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await db.scalars(stmt.limit(limit).offset(offset))).all()
    return list(rows), int(total or 0)


def scoped(model: type[M], actor: Principal, project_id: uuid.UUID | None) -> Select[Any]:
    stmt = select(model).where(model.project_id.in_(actor.project_ids))
    if project_id is not None:
        stmt = stmt.where(model.project_id == project_id)
    return stmt


async def _building_in(
    db: AsyncSession, actor: Principal, building_id: uuid.UUID | None, project_id: uuid.UUID | None = None
) -> Building | None:
    if building_id is None:
        return None
    building = await db.get(Building, building_id)
    if (
        building is None
        or building.project_id not in actor.project_ids
        or (project_id is not None and building.project_id != project_id)
    ):
        raise Invalid("unknown building", errors=[FieldError("building_id", "no such building in this project")])
    return building


async def insert_places(db: AsyncSession, objs: Sequence[Any], entity: str) -> None:
    """Insert place rows, each with a new random tag code, without committing.

    The insert runs in a savepoint: on the rare code collision the batch is retried with
    fresh codes; any other integrity error rolls the transaction back as a `Conflict`."""
    for _attempt in range(5):
        for obj in objs:
            if hasattr(obj, "code"):
                obj.code = code_for(type(obj))
        try:
            async with db.begin_nested():
                db.add_all(objs)
                await db.flush()
            return
        except IntegrityError as exc:
            if "code" not in str(exc.orig).lower():
                await db.rollback()
                raise Conflict(f"this {entity} already exists") from exc
    await db.rollback()
    raise Conflict(f"could not allocate a unique {entity} code; try again")


async def add_place(db: AsyncSession, actor: Principal, obj: Any, entity: str) -> Any:
    """Insert a place row (new random tag code, retried on the rare collision) and audit it."""
    actor.require_manager_of(obj.project_id)
    await insert_places(db, [obj], entity)
    record(db, actor, "create", entity, obj.id, after=snapshot(obj), project_id=obj.project_id)
    await db.commit()
    return obj


async def update_place(db: AsyncSession, actor: Principal, obj: Any, entity: str, fields: dict[str, Any]) -> Any:
    actor.require_manager_of(obj.project_id)
    before = snapshot(obj)
    for key, value in fields.items():
        setattr(obj, key, value)
    await _flush_or_conflict(db, f"this {entity} already exists")
    record(db, actor, "update", entity, obj.id, before=before, after=snapshot(obj), project_id=obj.project_id)
    await db.commit()
    return obj


async def delete_place(db: AsyncSession, actor: Principal, obj: Any, entity: str) -> None:
    actor.require_manager_of(obj.project_id)
    record(db, actor, "delete", entity, obj.id, before=snapshot(obj), project_id=obj.project_id)
    await db.delete(obj)
    await db.commit()


async def create_building(db: AsyncSession, actor: Principal, data: BuildingCreate) -> Building:
    actor.require_manager_of(data.project_id)
    return await add_place(
        db, actor, Building(project_id=data.project_id, name=data.name, floors=data.floors), "building"
    )


async def create_unit(db: AsyncSession, actor: Principal, data: UnitCreate) -> Unit:
    building = await _building_in(db, actor, data.building_id)
    assert building is not None
    unit = Unit(project_id=building.project_id, **msgspec.structs.asdict(data))
    unit.status = data.status.value
    return await add_place(db, actor, unit, "unit")


async def create_area(db: AsyncSession, actor: Principal, data: AreaCreate) -> PublicArea:
    actor.require_manager_of(data.project_id)
    await _building_in(db, actor, data.building_id, data.project_id)
    return await add_place(db, actor, PublicArea(**msgspec.structs.asdict(data)), "area")


async def _area_in(db: AsyncSession, area_id: uuid.UUID | None, project_id: uuid.UUID) -> None:
    """A facility's area must be one of its own project's."""
    if area_id is None:
        return
    area = await db.get(PublicArea, area_id)
    if area is None or area.project_id != project_id:
        raise Invalid("unknown area", errors=[FieldError("area_id", "no such public area in this project")])


async def create_facility(db: AsyncSession, actor: Principal, data: FacilityCreate) -> Facility:
    actor.require_manager_of(data.project_id)
    await _building_in(db, actor, data.building_id, data.project_id)
    await _area_in(db, data.area_id, data.project_id)
    return await add_place(db, actor, Facility(**msgspec.structs.asdict(data)), "facility")


async def update_facility(db: AsyncSession, actor: Principal, obj: Facility, fields: dict[str, Any]) -> Facility:
    actor.require_manager_of(obj.project_id)
    if "area_id" in fields:
        await _area_in(db, fields["area_id"], obj.project_id)
    updated: Facility = await update_place(db, actor, obj, "facility", fields)
    return updated
