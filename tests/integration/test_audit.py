"""The audit log: who changed which place, from which device, and exactly what."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import auth_headers, other_company


async def audit_of(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/api/audit", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    entries: list[dict[str, Any]] = resp.json()
    return entries


async def test_place_writes_are_audited_with_only_the_changed_fields(client: Any, demo: dict[str, Any]) -> None:
    h = await auth_headers(client, "cs_manager", demo["password"], device_id="pad-audit-7")
    project = str(demo["project"].id)
    body = {
        "building_id": str(demo["buildings"][0].id),
        "floor": 13,
        "room_no": "1301",
        "layout": "三室两厅",
        "area_m2": "112.30",
        "owner_name": "周杰",
        "owner_phone": "13900000001",
    }
    unit = (await client.post("/api/units", json=body, headers=h)).json()
    resp = await client.patch(
        f"/api/units/{unit['id']}", json={"owner_phone": "13900000002", "layout": "三室两厅"}, headers=h
    )
    assert resp.status_code == 200
    assert (await client.delete(f"/api/units/{unit['id']}", headers=h)).status_code == 204

    entries = await audit_of(client, h, entity="unit", entity_id=unit["id"])
    assert [e["action"] for e in entries] == ["delete", "update", "create"]  # newest first
    for e in entries:
        assert (e["username"], e["role"], e["device_id"], e["project_id"]) == (
            "cs_manager",
            "cs_manager",
            "pad-audit-7",
            project,
        )
        assert e["user_id"] == str(demo["users"]["cs_manager"].id)
    delete, update, create = entries
    assert create["before"] is None
    assert create["after"]["room_no"] == "1301" and create["after"]["owner_phone"] == "13900000001"
    assert create["after"]["code"] == unit["code"]
    # The update names only what changed (the layout was sent unchanged).
    assert update["before"] == {"owner_phone": "13900000001"}
    assert update["after"] == {"owner_phone": "13900000002"}
    assert delete["after"] is None
    assert delete["before"]["owner_phone"] == "13900000002" and delete["before"]["id"] == unit["id"]


async def test_building_area_and_facility_writes_are_audited(client: Any, demo: dict[str, Any]) -> None:
    h = await auth_headers(client, "admin", demo["password"], device_id="desk-1")
    project = str(demo["project"].id)
    made = {
        "building": (await client.post("/api/buildings", json={"project_id": project, "name": "3号楼"}, headers=h)),
        "area": (
            await client.post(
                "/api/areas", json={"project_id": project, "name": "会所", "kind": "clubhouse"}, headers=h
            )
        ),
        "facility": (
            await client.post(
                "/api/facilities", json={"project_id": project, "name": "水泵 #9", "kind": "pump"}, headers=h
            )
        ),
    }
    paths = {"building": "/api/buildings", "area": "/api/areas", "facility": "/api/facilities"}
    for entity, resp in made.items():
        assert resp.status_code == 201, resp.text
        place_id = resp.json()["id"]
        assert (await client.patch(f"{paths[entity]}/{place_id}", json={"name": "新名"}, headers=h)).status_code == 200
        assert (await client.delete(f"{paths[entity]}/{place_id}", headers=h)).status_code == 204
        entries = await audit_of(client, h, entity=entity, entity_id=place_id)
        assert [e["action"] for e in entries] == ["delete", "update", "create"], entity
        assert entries[1]["after"] == {"name": "新名"} and set(entries[1]["before"]) == {"name"}
        assert {e["device_id"] for e in entries} == {"desk-1"}


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("cs_manager", 200),
        ("cs_assistant", 403),
        ("engineer", 403),
        ("developer_rep", 403),
        ("contractor", 403),
    ],
)
async def test_who_reads_the_audit_log(client: Any, demo: dict[str, Any], role: str, status: int) -> None:
    h = await auth_headers(client, role, demo["password"])
    resp = await client.get("/api/audit", headers=h)
    assert resp.status_code == status
    if status == 200:
        assert resp.json(), "the demo load and the login leave entries"
    else:
        assert resp.headers["content-type"].startswith("application/problem+json")


async def test_another_company_sees_none_of_it(client: Any, demo: dict[str, Any], db: AsyncSession) -> None:
    await other_company(db, demo["password"])
    h = await auth_headers(client, "admin", demo["password"])
    project = str(demo["project"].id)
    created = await client.post("/api/buildings", json={"project_id": project, "name": "审计楼"}, headers=h)
    building_id = created.json()["id"]
    mine = await audit_of(client, h, limit=500)
    assert any(e["entity_id"] == building_id for e in mine)

    other = await auth_headers(client, "other_admin", demo["password"])
    theirs = await audit_of(client, other, limit=500)
    assert all(e["project_id"] != project for e in theirs)
    assert not any(e["entity_id"] == building_id for e in theirs)
    assert await audit_of(client, other, entity_id=building_id) == []
    assert await audit_of(client, other, project=project) == []


async def test_audit_log_is_append_only_in_the_database(client: Any, demo: dict[str, Any], db: AsyncSession) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    await client.post("/api/buildings", json={"project_id": str(demo["project"].id), "name": "追加楼"}, headers=h)
    await db.rollback()
    count = await db.scalar(text("SELECT count(*) FROM audit_log"))
    assert count and count > 0
    statements = ["UPDATE audit_log SET action = 'tampered'", "DELETE FROM audit_log"]
    if db.bind.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")  # SQLite has no TRUNCATE
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            await db.execute(text(statement))
        await db.rollback()
    assert await db.scalar(text("SELECT count(*) FROM audit_log")) == count
    assert await db.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'tampered'")) == 0


async def test_audit_values_are_stored_lz4_compressed_on_postgresql(db: AsyncSession) -> None:
    """A push's batch entry holds every answer's values; lz4 compresses it in less than
    half pglz's time (migration 0006). SQLite does not compress."""
    if db.bind.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite stores JSON uncompressed")
    if not await db.scalar(
        text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    ):
        pytest.skip("this PostgreSQL was built without lz4: the migration leaves pglz")
    methods = await db.execute(
        text(
            "SELECT attname, attcompression::text FROM pg_attribute"
            " WHERE attrelid = 'audit_log'::regclass AND attname IN ('before', 'after')"
        )
    )
    assert dict(methods.all()) == {"before": "l", "after": "l"}
