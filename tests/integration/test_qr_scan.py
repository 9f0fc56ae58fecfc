"""Scan resolution: browsers are sent into the app, API clients get the place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from server.places.models import Facility, PublicArea, Unit
from server.qr import services as qr_services
from tests.factories import auth_headers, other_company

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def _place(db: Any, model: type[Any]) -> Any:
    return (await db.scalars(select(model).order_by(model.code).limit(1))).one()


async def test_browser_is_redirected_into_the_app(client: Any, demo: dict[str, Any], db: Any) -> None:
    unit = await _place(db, Unit)
    resp = await client.get(f"/q/{unit.code}", headers=HTML, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/app/#/place/{unit.code}"
    # An unknown code gets the same kind of answer: nothing to learn from it.
    unknown = await client.get("/q/UZZZZZZZZ", headers=HTML, follow_redirects=False)
    assert unknown.status_code == 303 and unknown.headers["location"] == "/app/#/place/UZZZZZZZZ"
    page = await client.get("/app/", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "移动应用" in page.text and "mobile app" in page.text
    assert (await client.get("/app", headers=HTML)).status_code == 200


async def test_api_client_gets_the_unit(client: Any, demo: dict[str, Any], db: Any) -> None:
    unit = await _place(db, Unit)
    h = {**JSON, **await auth_headers(client, "engineer", demo["password"])}
    resp = await client.get(f"/q/{unit.code.lower()}", headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["kind"] == "unit" and body["id"] == str(unit.id) and body["code"] == unit.code
    assert body["url"] == f"http://testserver.local/q/{unit.code}"
    assert body["project"] == {"id": str(demo["project"].id), "name": demo["project"].name}
    assert body["building"]["id"] == str(unit.building_id)
    assert body["name"].startswith(body["building"]["name"]) and body["name"].endswith("室")
    assert body["details"]["floor"] == unit.floor and body["details"]["room_no"] == unit.room_no
    assert "owner_name" in body["details"]
    assert body["open_tickets"] == [] and body["inspections"] == []
    # A partner sees the place but not the owner's personal data.
    hc = {**JSON, **await auth_headers(client, "contractor", demo["password"])}
    partner = (await client.get(f"/q/{unit.code}", headers=hc)).json()
    assert "owner_name" not in partner["details"] and "owner_phone" not in partner["details"]


async def test_api_client_gets_facilities_and_areas(client: Any, demo: dict[str, Any], db: Any) -> None:
    h = {**JSON, **await auth_headers(client, "cs_assistant", demo["password"])}
    facility = await _place(db, Facility)
    body = (await client.get(f"/q/{facility.code}", headers=h)).json()
    assert body["kind"] == "facility" and body["name"] == facility.name
    assert body["details"]["kind"] == facility.kind and body["details"]["location"] == facility.location
    area = await _place(db, PublicArea)
    body = (await client.get(f"/q/{area.code}", headers=h)).json()
    assert (body["kind"], body["name"], body["details"]) == ("area", area.name, {"kind": area.kind})


async def test_unknown_and_foreign_codes_are_the_same_404(client: Any, demo: dict[str, Any], db: Any) -> None:
    other = await other_company(db, demo["password"])
    h = {**JSON, **await auth_headers(client, "engineer", demo["password"])}
    foreign = await client.get(f"/q/{other['unit'].code}", headers=h)
    unknown = await client.get("/q/UZZZZZZZZ", headers=h)
    garbage = await client.get("/q/not-a-code!", headers=h)
    for resp in (foreign, unknown, garbage):
        assert resp.status_code == 404
        assert resp.headers["content-type"].startswith("application/problem+json")
    strip = lambda r: {k: v for k, v in r.json().items() if k != "instance"}  # noqa: E731
    assert strip(foreign) == strip(unknown) == strip(garbage)
    assert "未找到" in unknown.json()["detail"]


async def test_api_scan_needs_a_token(client: Any, demo: dict[str, Any], db: Any) -> None:
    unit = await _place(db, Unit)
    resp = await client.get(f"/q/{unit.code}", headers=JSON)
    assert resp.status_code == 401


@pytest.fixture
def extras() -> Iterator[None]:
    async def provider(db: Any, principal: Any, place: Any) -> dict[str, list[dict[str, Any]]]:
        return {"open_tickets": [{"id": "t1", "place": place.code, "for": principal.username}]}

    qr_services.register_place_extras(provider)
    yield
    qr_services.PLACE_EXTRAS.remove(provider)


async def test_extras_providers_fill_the_lists(client: Any, demo: dict[str, Any], db: Any, extras: None) -> None:
    unit = await _place(db, Unit)
    h = {**JSON, **await auth_headers(client, "engineer", demo["password"])}
    body = (await client.get(f"/q/{unit.code}", headers=h)).json()
    assert body["open_tickets"] == [{"id": "t1", "place": unit.code, "for": "engineer"}]
    assert body["inspections"] == []
