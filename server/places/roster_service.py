"""Applying a unit roster (see `server.places.roster`) to a project.

Rows match stored units on project + building + 单元 + 房号. When one side does not
know the 单元 (a blank cell, or a unit stored without one), a row matches the
building's only unit with that 房号, and a given 单元 is filled in. Buildings match by
name, or by number (``1号楼`` = ``1栋`` = ``1#``); missing ones are created. A matched
unit is updated only in the fields the file gives and that differ; an unchanged unit
is not touched. Everything is written in one transaction, with an audit entry per
created building, created unit and changed unit, and one for the import itself.

Modes: ``dry_run`` writes nothing and reports what would happen; by default any bad
row refuses the whole file (`Invalid`, nothing written); ``accept_valid_only`` writes
the good rows and reports the bad ones.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.principal import Principal
from server.audit.services import record, snapshot
from server.lib.errors import Conflict, FieldError, Invalid, NotFound
from server.lib.ids import new_id
from server.places.models import Building, Project, Unit
from server.places.roster import ParsedRoster, RosterRow, read_roster
from server.places.roster_values import building_key
from server.places.services import insert_places

#: Unit fields a roster row may set besides its identity (building, 单元, 房号).
ROW_FIELDS = ("floor", "layout", "area_m2", "owner_name", "owner_phone", "status")


class ImportReport(msgspec.Struct, kw_only=True):
    """What an import did (or, on a dry run, would do)."""

    project_id: uuid.UUID
    dry_run: bool
    applied: bool
    sheet: str
    header_row: int
    columns: dict[str, str]
    ignored_columns: list[str]
    rows: int
    new: int
    updated: int
    unchanged: int
    invalid: int
    new_buildings: list[str]
    errors: list[FieldError]


@dataclass
class _Plan:
    new_buildings: dict[str, Building] = field(default_factory=dict)  # building key → unsaved building
    creates: list[tuple[RosterRow, Building]] = field(default_factory=list)
    updates: list[tuple[Unit, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    errors: list[FieldError] = field(default_factory=list)


async def find_project(db: AsyncSession, ref: str) -> Project:
    """A project by id, exact name, or a piece of its name that names only one (CLI)."""
    try:
        project = await db.get(Project, uuid.UUID(ref))
    except ValueError:
        projects = list((await db.scalars(select(Project).order_by(Project.name))).all())
        exact = [p for p in projects if p.name == ref]
        found = exact or [p for p in projects if ref.casefold() in p.name.casefold()]
        if len(found) > 1:
            names = ", ".join(f"{p.name} ({p.id})" for p in found)
            raise Invalid(f"several projects match {ref!r}: {names}; give the id (多个项目匹配，请用 ID)") from None
        project = found[0] if found else None
    if project is None:
        raise NotFound(f"project not found: {ref!r} (项目不存在)")
    return project


def _changes(unit: Unit, row: RosterRow) -> dict[str, Any]:
    given = {f: getattr(row, f) for f in ROW_FIELDS if getattr(row, f) is not None}
    if row.entrance:
        given["entrance"] = row.entrance
    return {f: v for f, v in given.items() if getattr(unit, f) != v}


async def _plan(db: AsyncSession, project: Project, parsed: ParsedRoster) -> _Plan:
    plan = _Plan()
    buildings = list((await db.scalars(select(Building).where(Building.project_id == project.id))).all())
    by_name = {b.name: b for b in buildings}
    by_key: dict[str, list[Building]] = defaultdict(list)
    for b in buildings:
        by_key[building_key(b.name)].append(b)
    units = (await db.scalars(select(Unit).where(Unit.project_id == project.id))).all()
    by_full = {(u.building_id, u.entrance, u.room_no): u for u in units}
    by_room: dict[tuple[uuid.UUID, str], list[Unit]] = defaultdict(list)
    for u in units:
        by_room[(u.building_id, u.room_no)].append(u)
    room_header = parsed.columns["room_no"]

    # Resolve every row to its building and stored unit (if any) first …
    targets: list[tuple[RosterRow, Building, Unit | None]] = []
    for row in parsed.rows:
        building = by_name.get(row.building)
        if building is None:
            same_key = by_key.get(row.building_key, [])
            if len(same_key) > 1:
                names = "、".join(b.name for b in same_key)
                plan.errors.append(
                    FieldError(
                        field="building",
                        message=f"matches several buildings: {names}; write the name exactly (楼栋名称不唯一)",
                        row=row.row,
                        column=parsed.columns["building"],
                        sheet=parsed.sheet,
                    )
                )
                continue
            building = same_key[0] if same_key else plan.new_buildings.get(row.building_key)
        if building is None:
            building = Building(id=new_id(), project_id=project.id, name=row.building)
            plan.new_buildings[row.building_key] = building
        unit = by_full.get((building.id, row.entrance, row.room_no))
        same_room = by_room[(building.id, row.room_no)]
        if unit is None and len(same_room) == 1 and "" in (row.entrance, same_room[0].entrance):
            unit = same_room[0]  # one side does not know the 单元: the building's only such room
        targets.append((row, building, unit))

    # … then refuse rows that land on the same unit (possible only through a blank 单元).
    claims: dict[Any, list[int]] = defaultdict(list)
    for row, building, unit in targets:
        claims[unit.id if unit else (building.id, row.entrance, row.room_no)].append(row.row)
    for row, building, unit in targets:
        others = [r for r in claims[unit.id if unit else (building.id, row.entrance, row.room_no)] if r != row.row]
        if others:
            plan.errors.append(
                FieldError(
                    field="room_no",
                    message=f"the same unit as row {', '.join(map(str, others))} (与其他行是同一房屋)",
                    row=row.row,
                    column=room_header,
                    sheet=parsed.sheet,
                )
            )
        elif unit is None:
            plan.creates.append((row, building))
        elif fields := _changes(unit, row):
            plan.updates.append((unit, fields))
        else:
            plan.unchanged += 1
    used = {b.id for _row, b in plan.creates}
    plan.new_buildings = {k: b for k, b in plan.new_buildings.items() if b.id in used}
    return plan


async def _apply(db: AsyncSession, actor: Principal | None, project: Project, plan: _Plan) -> None:
    scope: dict[str, Any] = {"project_id": project.id, "company_id": project.company_id}
    new_buildings = list(plan.new_buildings.values())
    if new_buildings:
        await insert_places(db, new_buildings, "building")
        for b in new_buildings:
            record(db, actor, "create", "building", b.id, after=snapshot(b), **scope)
    new_units = [
        Unit(
            project_id=project.id,
            building_id=building.id,
            entrance=row.entrance,
            floor=row.floor,
            room_no=row.room_no,
            layout=row.layout,
            area_m2=row.area_m2,
            status=row.status or "vacant",
            owner_name=row.owner_name,
            owner_phone=row.owner_phone,
        )
        for row, building in plan.creates
    ]
    if new_units:
        await insert_places(db, new_units, "unit")
        for u in new_units:
            record(db, actor, "create", "unit", u.id, after=snapshot(u), **scope)
    for unit, fields in plan.updates:
        before = snapshot(unit)
        for key, value in fields.items():
            setattr(unit, key, value)
        record(db, actor, "update", "unit", unit.id, before=before, after=snapshot(unit), **scope)
    try:
        await db.flush()
    except IntegrityError as exc:
        await db.rollback()
        raise Conflict("the units changed while importing; try again") from exc


async def import_units(
    db: AsyncSession,
    actor: Principal | None,
    project_id: uuid.UUID,
    content: bytes,
    *,
    dry_run: bool = False,
    accept_valid_only: bool = False,
    media_type: str | None = None,
) -> ImportReport:
    """Import a roster into a project. `actor` None is the CLI (trusted)."""
    if actor is not None:
        actor.require_manager_of(project_id)
    project = await db.get(Project, project_id)
    if project is None:
        raise NotFound("project not found")
    parsed = read_roster(content, media_type=media_type)
    plan = await _plan(db, project, parsed)
    errors = sorted([*parsed.errors, *plan.errors], key=lambda e: e.row or 0)
    report = ImportReport(
        project_id=project.id,
        dry_run=dry_run,
        applied=False,
        sheet=parsed.sheet,
        header_row=parsed.header_row,
        columns=parsed.columns,
        ignored_columns=parsed.ignored_columns,
        rows=parsed.data_rows,
        new=len(plan.creates),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        invalid=len({e.row for e in errors}),
        new_buildings=[b.name for b in plan.new_buildings.values()],
        errors=errors,
    )
    if dry_run:
        return report
    counts = {"rows": report.rows, "invalid": report.invalid}
    if errors and not accept_valid_only:
        raise Invalid(
            f"{report.invalid} of {report.rows} rows are invalid; nothing was imported "
            f"({report.invalid}/{report.rows} 行有误，未导入任何数据)",
            errors=errors,
            **counts,
        )
    if errors and report.invalid == report.rows:
        raise Invalid("no valid rows; nothing was imported (没有有效的行，未导入任何数据)", errors=errors, **counts)
    await _apply(db, actor, project, plan)
    summary = msgspec.structs.asdict(report)
    after = {k: summary[k] for k in ("sheet", "rows", "new", "updated", "unchanged", "invalid", "new_buildings")}
    record(
        db,
        actor,
        "import",
        "unit_roster",
        project.id,
        after=after,
        project_id=project.id,
        company_id=project.company_id,
    )
    await db.commit()
    report.applied = True
    return report
