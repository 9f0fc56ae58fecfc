"""Places: tenant isolation, personal data by role, who may write, paging and filters,
and the demo estate's shape."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.lib.ids import CODE_ALPHABET
from server.places.models import Facility, PublicArea, Unit
from tests.factories import auth_headers, other_company

DEMO_ROLES = ["admin", "cs_manager", "cs_assistant", "engineer", "developer_rep", "contractor"]
STAFF = {"admin", "cs_manager", "cs_assistant", "engineer"}
MANAGERS = {"admin", "cs_manager"}
LISTS = ["/api/units", "/api/areas", "/api/facilities", "/api/buildings"]


@pytest.fixture
async def estate(demo: dict[str, Any], db: AsyncSession) -> dict[str, Any]:
    """The demo estate and the other company, as plain ids (safe across rollbacks)."""
    other = await other_company(db, demo["password"])
    return {
        "password": demo["password"],
        "project": str(demo["project"].id),
        "buildings": [str(b.id) for b in demo["buildings"]],
        "other_project": str(other["project"].id),
        "other_building": str(other["building"].id),
        "other_unit": str(other["unit"].id),
    }


async def all_items(client: Any, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list, following offset/limit to the total."""
    items: list[dict[str, Any]] = []
    while True:
        resp = await client.get(path, params={**params, "limit": 500, "offset": len(items)}, headers=headers)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        items += page["items"]
        if len(items) >= page["total"] or not page["items"]:
            return items


@pytest.mark.parametrize("role", DEMO_ROLES)
async def test_no_role_reaches_another_company(client: Any, estate: dict[str, Any], role: str) -> None:
    h = await auth_headers(client, role, estate["password"])
    for path in LISTS:
        items = await all_items(client, path, h)
        assert items, path
        assert {i["project_id"] for i in items} == {estate["project"]}, path
        # Asking for the other company's project by filter gives nothing, not its rows.
        resp = await client.get(path, params={"project": estate["other_project"]}, headers=h)
        assert resp.status_code == 200
        assert resp.json()["items"] == [] and resp.json()["total"] == 0
    for kind, place_id in (("units", estate["other_unit"]), ("buildings", estate["other_building"])):
        target = f"/api/{kind}/{place_id}"
        assert (await client.get(target, headers=h)).status_code == 404
        assert (await client.patch(target, json={"floor": 4} if kind == "units" else {}, headers=h)).status_code == 404
        assert (await client.delete(target, headers=h)).status_code == 404
    assert (await client.get(f"/api/projects/{estate['other_project']}", headers=h)).status_code == 404
    projects = (await client.get("/api/projects", headers=h)).json()
    assert [p["id"] for p in projects] == [estate["project"]]


async def test_the_other_company_does_not_see_the_demo(client: Any, estate: dict[str, Any]) -> None:
    h = await auth_headers(client, "other_admin", estate["password"])
    units = await all_items(client, "/api/units", h)
    assert [u["id"] for u in units] == [estate["other_unit"]]
    assert (await client.get(f"/api/buildings/{estate['buildings'][0]}", headers=h)).status_code == 404


@pytest.mark.parametrize("role", DEMO_ROLES)
async def test_owner_data_only_for_staff(client: Any, estate: dict[str, Any], role: str) -> None:
    h = await auth_headers(client, role, estate["password"])
    units = await all_items(client, "/api/units", h, project=estate["project"])
    assert len(units) >= 48
    one = (await client.get(f"/api/units/{units[0]['id']}", headers=h)).json()
    if role in STAFF:
        assert all("owner_name" in u and "owner_phone" in u for u in [*units, one])
        assert any(u["owner_name"] and u["owner_phone"] for u in units)
    else:
        # External parties see their projects' units, but the fields are absent, not null.
        assert all("owner_name" not in u and "owner_phone" not in u for u in [*units, one])


@pytest.mark.parametrize("role", DEMO_ROLES)
async def test_only_managers_write_places(client: Any, estate: dict[str, Any], db: AsyncSession, role: str) -> None:
    h = await auth_headers(client, role, estate["password"])
    project, building = estate["project"], estate["buildings"][0]
    building_id = uuid.UUID(building)
    unit_id = str(await db.scalar(select(Unit.id).where(Unit.room_no == "101", Unit.building_id == building_id)))
    creates = {
        "/api/buildings": {"project_id": project, "name": f"9号楼-{role}", "floors": 6},
        "/api/units": {"building_id": building, "floor": 13, "room_no": f"13-{role}", "area_m2": "88.50"},
        "/api/areas": {"project_id": project, "name": f"会所 {role}", "kind": "clubhouse"},
        "/api/facilities": {"project_id": project, "name": f"灭火器 {role}", "kind": "extinguisher"},
    }
    manager = role in MANAGERS
    for path, body in creates.items():
        resp = await client.post(path, json=body, headers=h)
        assert resp.status_code == (201 if manager else 403), (path, resp.text)
        if not manager:
            assert resp.headers["content-type"].startswith("application/problem+json")
            continue
        created = resp.json()
        assert created["project_id"] == project
        target = f"{path}/{created['id']}"
        patch = {"name": f"{body.get('name', '')} 改"} if "name" in body else {"layout": "两室一厅"}
        resp = await client.patch(target, json=patch, headers=h)
        assert resp.status_code == 200, resp.text
        assert resp.json()[next(iter(patch))] == next(iter(patch.values()))
        assert (await client.delete(target, headers=h)).status_code == 204
        assert (await client.get(target, headers=h)).status_code == 404
    patch_status = (await client.patch(f"/api/units/{unit_id}", json={"status": "occupied"}, headers=h)).status_code
    delete_status = (await client.delete(f"/api/units/{unit_id}", headers=h)).status_code
    if manager:
        assert (patch_status, delete_status) == (200, 204)
    else:
        assert (patch_status, delete_status) == (403, 403)
        assert (await client.get(f"/api/units/{unit_id}", headers=h)).status_code == 200


async def test_unit_paging_and_filters(client: Any, estate: dict[str, Any], db: AsyncSession) -> None:
    h = await auth_headers(client, "engineer", estate["password"])
    project = estate["project"]
    units = list((await db.scalars(select(Unit))).all())
    # Pages are disjoint, in a stable order, and add up to the total.
    seen: list[str] = []
    for offset in range(0, 60, 10):
        resp = await client.get("/api/units", params={"project": project, "limit": 10, "offset": offset}, headers=h)
        page = resp.json()
        assert (page["total"], page["limit"], page["offset"]) == (48, 10, offset)
        assert len(page["items"]) == max(0, min(10, 48 - offset))
        seen += [u["id"] for u in page["items"]]
    assert sorted(seen) == sorted(str(u.id) for u in units if str(u.project_id) == project)
    assert len(set(seen)) == 48

    for status in ("vacant", "occupied", "handed_over"):
        expected = {str(u.id) for u in units if u.status == status and str(u.project_id) == project}
        resp = await client.get("/api/units", params={"project": project, "status": status, "limit": 5}, headers=h)
        assert resp.json()["total"] == len(expected) > 0
        got = await all_items(client, "/api/units", h, project=project, status=status)
        assert {u["id"] for u in got} == expected and all(u["status"] == status for u in got)

    building = estate["buildings"][1]
    in_building = await all_items(client, "/api/units", h, building=building)
    assert len(in_building) == 24 and {u["building_id"] for u in in_building} == {building}
    third = await all_items(client, "/api/units", h, floor=3)
    assert len(third) == 4 and {u["room_no"] for u in third} == {"301", "302"}
    both = await all_items(client, "/api/units", h, building=building, floor=3)
    assert sorted(u["room_no"] for u in both) == ["301", "302"]
    basement = await all_items(client, "/api/units", h, floor=-1)
    assert basement == []

    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"status": "sold"}, {"floor": "x"}):
        resp = await client.get("/api/units", params=bad, headers=h)
        assert resp.status_code == 422, bad
        assert resp.json()["errors"]


def code_value(code: str) -> int:
    value = 0
    for ch in code[1:]:
        value = value * len(CODE_ALPHABET) + CODE_ALPHABET.index(ch)
    return value


async def test_demo_estate_shape_and_tag_codes(demo: dict[str, Any], db: AsyncSession) -> None:
    units = list((await db.scalars(select(Unit).order_by(Unit.id))).all())  # UUIDv7: creation order
    areas = list((await db.scalars(select(PublicArea).order_by(PublicArea.id))).all())
    facilities = list((await db.scalars(select(Facility).order_by(Facility.id))).all())
    assert len(units) >= 48
    assert {u.status for u in units} == {"vacant", "occupied", "handed_over"}
    assert len(facilities) >= 30
    assert len(areas) >= 5 and {"lobby", "car_park", "green", "roof"} <= {a.kind for a in areas}
    for prefix, rows in (("U", units), ("A", areas), ("F", facilities)):
        codes = [r.code for r in rows]
        assert len(set(codes)) == len(codes), prefix
        assert all(c[0] == prefix and len(c) == 9 and set(c[1:]) <= set(CODE_ALPHABET) for c in codes)
        # Not a counter: in creation order the codes neither ascend nor step by a fixed amount.
        values = [code_value(c) for c in codes]
        steps = {b - a for a, b in itertools.pairwise(values)}
        assert len(steps) > 1, prefix
        assert values != sorted(values) and values != sorted(values, reverse=True), prefix
        assert not any(abs(s) <= len(rows) for s in steps), prefix
    # And the codes say nothing about the place (no room number inside).
    assert not any(u.room_no in u.code for u in units)


async def test_a_facility_cannot_be_moved_into_another_projects_area(client: Any, estate: dict[str, Any]) -> None:
    """As at creation, an update's area must be of the facility's own project."""
    ours = await auth_headers(client, "admin", estate["password"])
    theirs = await auth_headers(client, "other_admin", estate["password"])
    area = {"project_id": estate["other_project"], "name": "会所 clubhouse", "kind": "clubhouse"}
    their_area = (await client.post("/api/areas", json=area, headers=theirs)).json()["id"]
    facility = {"project_id": estate["project"], "name": "消防栓 hydrant", "kind": "hydrant"}
    fid = (await client.post("/api/facilities", json=facility, headers=ours)).json()["id"]
    resp = await client.patch(f"/api/facilities/{fid}", json={"area_id": their_area}, headers=ours)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["area_id"]
    assert (await client.get(f"/api/facilities/{fid}", headers=ours)).json()["area_id"] is None
    own = {"project_id": estate["project"], "name": "大堂 lobby", "kind": "lobby"}
    our_area = (await client.post("/api/areas", json=own, headers=ours)).json()["id"]
    moved = await client.patch(f"/api/facilities/{fid}", json={"area_id": our_area}, headers=ours)
    assert moved.status_code == 200 and moved.json()["area_id"] == our_area
