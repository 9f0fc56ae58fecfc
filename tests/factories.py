"""Builders of test data: the demo estate, a second company, logged-in clients."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Organisation, ProjectMember, User
from server.accounts.passwords import hash_password
from server.demo import load_demo
from server.lib.ids import new_code
from server.places.models import Building, Project, Unit


async def demo_estate(db: AsyncSession, password: str) -> dict[str, Any]:
    await load_demo(db, password)
    project = (await db.scalars(select(Project))).one()
    users = {u.username: u for u in (await db.scalars(select(User))).all()}
    buildings = list((await db.scalars(select(Building).order_by(Building.name))).all())
    return {"project": project, "users": users, "buildings": buildings, "password": password}


async def other_company(db: AsyncSession, password: str) -> dict[str, Any]:
    """A second property company with one project, one unit and a user per role."""
    company = Organisation(name="Other Property Co 其他物业", kind="property_company")
    db.add(company)
    await db.flush()
    company.company_id = company.id
    dev = Organisation(name="Other Developer", kind="developer", company_id=company.id)
    con = Organisation(name="Other Contractor", kind="contractor", company_id=company.id)
    db.add_all([dev, con])
    await db.flush()
    project = Project(company_id=company.id, developer_org_id=dev.id, name="别的小区 Other Estate")
    db.add(project)
    await db.flush()
    building = Building(project_id=project.id, name="A座")
    db.add(building)
    await db.flush()
    unit = Unit(
        project_id=project.id,
        building_id=building.id,
        entrance="1",
        floor=3,
        room_no="301",
        status="occupied",
        owner_name="秘密",
        owner_phone="13800000000",
        code=new_code("U"),
    )
    db.add(unit)
    pw = hash_password(password)
    users = {}
    for role, org in [
        ("admin", company),
        ("cs_manager", company),
        ("engineer", company),
        ("developer_rep", dev),
        ("contractor", con),
    ]:
        u = User(username=f"other_{role}", display_name=role, password_hash=pw, role=role, org_id=org.id)
        db.add(u)
        await db.flush()
        db.add(ProjectMember(project_id=project.id, user_id=u.id))
        users[role] = u
    await db.commit()
    return {"company": company, "project": project, "building": building, "unit": unit, "users": users}


async def login(
    client: AsyncTestClient[Any], username: str, password: str, device_id: str = "tablet-1"
) -> dict[str, Any]:
    resp = await client.post(
        "/api/auth/login", json={"username": username, "password": password, "device_id": device_id}
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def auth_headers(
    client: AsyncTestClient[Any], username: str, password: str, device_id: str = "tablet-1"
) -> dict[str, str]:
    tokens = await login(client, username, password, device_id)
    return {"Authorization": f"Bearer {tokens['access_token']}"}
