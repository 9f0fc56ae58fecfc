"""Every error answers as an RFC 9457 problem document (application/problem+json)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy.exc import DBAPIError

from server.app import create_app
from server.settings import Settings
from tests.factories import auth_headers

PROBLEM = "application/problem+json"


def assert_problem(resp: Any, status: int, slug: str, instance: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = resp.json()
    assert body["type"] == f"https://fieldround.example/problems/{slug}"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == instance
    return body


async def test_401_without_or_with_a_bad_token(client: Any, demo: dict[str, Any]) -> None:
    resp = await client.get("/api/units")
    body = assert_problem(resp, 401, "unauthorized", "/api/units")
    assert body["detail"] == "missing bearer token"
    assert resp.headers["www-authenticate"] == "Bearer"
    resp = await client.get("/api/units", headers={"Authorization": "Bearer nope"})
    assert_problem(resp, 401, "unauthorized", "/api/units")


async def test_403_for_a_role_that_may_not(client: Any, demo: dict[str, Any]) -> None:
    h = await auth_headers(client, "engineer", demo["password"])
    body = {"project_id": str(demo["project"].id), "name": "9号楼"}
    resp = await client.post("/api/buildings", json=body, headers=h)
    problem = assert_problem(resp, 403, "forbidden", "/api/buildings")
    assert "engineer" in problem["detail"]


async def test_404_for_unknown_routes_and_rows(client: Any, demo: dict[str, Any]) -> None:
    assert_problem(await client.get("/api/no-such-thing"), 404, "not-found", "/api/no-such-thing")
    h = await auth_headers(client, "admin", demo["password"])
    missing = f"/api/units/{uuid.uuid4()}"
    body = assert_problem(await client.get(missing, headers=h), 404, "not-found", missing)
    assert body["detail"] == "unit not found"


async def test_405_for_a_wrong_method(client: Any) -> None:
    resp = await client.delete("/api/auth/login")
    assert_problem(resp, 405, "method-not-allowed", "/api/auth/login")
    assert "POST" in resp.headers.get("allow", "")


async def test_409_on_a_duplicate(client: Any, demo: dict[str, Any]) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    body = {"project_id": str(demo["project"].id), "name": "1号楼"}  # the demo has it
    problem = assert_problem(
        await client.post("/api/buildings", json=body, headers=h), 409, "conflict", "/api/buildings"
    )
    assert "already exists" in problem["detail"]


async def test_413_for_a_body_over_the_limit(client: Any, demo: dict[str, Any], settings: Settings) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    big = b'{"name": "' + b"x" * settings.max_body_bytes + b'"}'
    resp = await client.post("/api/buildings", content=big, headers={**h, "Content-Type": "application/json"})
    assert_problem(resp, 413, "too-large", "/api/buildings")
    # The roster upload (a raw body) has the same limit.
    target = f"/api/projects/{demo['project'].id}/units/import"
    resp = await client.post(target, content=b"P" * (settings.max_body_bytes + 1), headers=h)
    assert_problem(resp, 413, "too-large", target)


async def test_422_names_the_field(client: Any, demo: dict[str, Any]) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    building = str(demo["buildings"][0].id)
    cases = [
        ({"building_id": building, "floor": 3, "room_no": "x" * 31}, "room_no", "length <= 30"),
        ({"building_id": building, "floor": 3, "room_no": "399", "colour": "red"}, "colour", "unknown field"),
        ({"building_id": building, "room_no": "399"}, "floor", "missing required field"),
        ({"building_id": building, "floor": "three", "room_no": "399"}, "floor", "Expected `int`"),
        ({"building_id": building, "floor": 3, "room_no": "399", "status": "sold"}, "status", "Invalid enum value"),
        ({"building_id": building, "floor": 3, "room_no": "399", "area_m2": "-1"}, "area_m2", ">= 0"),
    ]
    for body, field, words in cases:
        resp = await client.post("/api/units", json=body, headers=h)
        problem = assert_problem(resp, 422, "invalid", "/api/units")
        fields = {e["field"]: e["message"] for e in problem["errors"]}
        assert field in fields, (body, problem)
        assert words in fields[field], (words, fields)
    # A body that is not JSON at all.
    resp = await client.post("/api/units", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert resp.status_code in (400, 422)
    assert resp.headers["content-type"].startswith(PROBLEM)


async def test_422_from_a_service_names_the_field(client: Any, demo: dict[str, Any]) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    body = {"building_id": str(uuid.uuid4()), "floor": 3, "room_no": "399"}
    problem = assert_problem(await client.post("/api/units", json=body, headers=h), 422, "invalid", "/api/units")
    assert problem["errors"] == [{"field": "building_id", "message": "no such building in this project"}]


async def test_text_postgresql_cannot_store_is_a_422_not_a_500(
    client: Any, demo: dict[str, Any], settings: Settings
) -> None:
    h = await auth_headers(client, "admin", demo["password"])
    body = {"project_id": str(demo["project"].id), "name": "9号楼\x00"}
    resp = await client.post("/api/buildings", json=body, headers=h)
    listed = (await client.get(f"/api/buildings?project_id={demo['project'].id}", headers=h)).text
    if settings.database_url.startswith("postgresql"):
        problem = assert_problem(resp, 422, "invalid-text", "/api/buildings")
        assert "U+0000" in problem["detail"]
        assert "1号楼" in listed and "9号楼" not in listed  # nothing saved
    else:  # SQLite stores the character as sent
        assert resp.status_code == 201, resp.text


SECRET = "s3cret-connection-string postgres://admin:hunter2@db"


@get("/api/test-explodes", sync_to_thread=False)
def explodes() -> None:
    raise RuntimeError(SECRET)


async def test_500_hides_the_exception(settings: Settings) -> None:
    app: Litestar = create_app(settings, lifespan_hooks=[])
    app.register(explodes)
    async with AsyncTestClient(app=app) as client:
        resp = await client.get("/api/test-explodes")
    body = assert_problem(resp, 500, "internal", "/api/test-explodes")
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    for leak in ("hunter2", "s3cret", "RuntimeError", "Traceback", "raise", ".py"):
        assert leak not in resp.text


class _TooLong(Exception):
    sqlstate = "22001"  # as asyncpg's errors carry it


@get("/api/test-too-long", sync_to_thread=False)
def too_long() -> None:
    raise DBAPIError(
        "INSERT INTO t (v) VALUES ($1)", ("x" * 300,), _TooLong("value too long for type character varying(100)")
    )


async def test_a_value_longer_than_its_column_is_a_422_not_a_500(settings: Settings) -> None:
    """The net under the input checks: PostgreSQL's refusal of a value longer or larger
    than its column is the client's error, said plainly, not a 500."""
    app: Litestar = create_app(settings, lifespan_hooks=[])
    app.register(too_long)
    async with AsyncTestClient(app=app) as client:
        resp = await client.get("/api/test-too-long")
    body = assert_problem(resp, 422, "value-too-long", "/api/test-too-long")
    assert "Nothing was saved" in body["detail"] and "xxx" not in resp.text


async def test_an_offset_past_what_the_database_holds_is_a_422_naming_it(client: Any, demo: dict[str, Any]) -> None:
    """Found by schemathesis: `?offset=22448105196013576192` on a list was a 500 on
    PostgreSQL (past its 64-bit parameters). Every paged list bounds it
    (`server.lib.paging`); the largest offset taken lists nothing. (Query parameters
    were named "ParamType.QUERY.offset" in the problem: now "query.offset".)"""
    from server.lib.paging import MAX_OFFSET

    h = await auth_headers(client, "admin", demo["password"])
    project = demo["project"].id
    for path in ("/api/buildings", "/api/units", "/api/areas", "/api/facilities", "/api/audit"):
        params = {} if path == "/api/audit" else {"project": str(project)}
        resp = await client.get(path, params={**params, "offset": str(2**70)}, headers=h)
        problem = assert_problem(resp, 422, "invalid", path)
        assert [e["field"] for e in problem["errors"]] == ["query.offset"], (path, problem)
        last = await client.get(path, params={**params, "offset": str(MAX_OFFSET)}, headers=h)
        assert last.status_code == 200, (path, last.text)
        body = last.json()
        assert (body["items"] if isinstance(body, dict) else body) == [], (path, body)
    # (and the units' floor filter, an int32 column: past it, the same 500)
    floor = await client.get("/api/units", params={"project": str(project), "floor": str(2**55)}, headers=h)
    assert assert_problem(floor, 422, "invalid", "/api/units")["errors"][0]["field"] == "query.floor"
    jobs = await client.get("/api/admin/jobs", params={"offset": str(2**70)}, headers=h)
    assert assert_problem(jobs, 422, "invalid", "/api/admin/jobs")["errors"][0]["field"] == "query.offset"
