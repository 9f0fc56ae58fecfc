"""The demo estate: one project, two buildings, 48+ units, public areas, 30+
facilities and one user per role. Loaded once (a second call changes nothing)."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Organisation, ProjectMember, User
from server.accounts.passwords import hash_password
from server.accounts.roles import OrgKind, Role
from server.audit.services import record
from server.lib.ids import new_code
from server.places.models import Building, Facility, Project, PublicArea, Unit
from server.templates.services import publish_bundled

DEMO_PROJECT = "翠湖花园 Green Lake Garden"

DEMO_USERS = {
    Role.admin: ("系统管理员 Admin", OrgKind.property_company),
    Role.cs_manager: ("客服主管 王敏 (CS manager)", OrgKind.property_company),
    Role.cs_assistant: ("客服助理 李娜 (CS assistant)", OrgKind.property_company),
    Role.engineer: ("工程人员 张强 (Engineer)", OrgKind.property_company),
    Role.developer_rep: ("开发商代表 陈建 (Developer rep)", OrgKind.developer),
    Role.contractor: ("施工单位 赵工 (Contractor)", OrgKind.contractor),
}

AREAS = [
    ("1号楼 大堂 Lobby", "lobby", 0),
    ("1号楼 电梯厅 Lift hall", "lift_hall", 0),
    ("2号楼 大堂 Lobby", "lobby", 1),
    ("2号楼 电梯厅 Lift hall", "lift_hall", 1),
    ("地下车库 Basement car park", "car_park", None),
    ("中心绿地 Central green", "green", None),
    ("1号楼 屋面 Roof", "roof", 0),
    ("2号楼 屋面 Roof", "roof", 1),
    ("小区主入口 Main gate", "gate", None),
    ("儿童游乐场 Playground", "playground", None),
]

FACILITY_KINDS = [
    ("消火栓 Fire hydrant", "fire_hydrant"),
    ("灭火器 Extinguisher", "extinguisher"),
    ("应急照明 Emergency light", "emergency_light"),
    ("监控摄像头 CCTV camera", "cctv"),
    ("门禁 Access control", "access_control"),
    ("电梯 Lift", "lift"),
    ("生活水泵 Water pump", "pump"),
    ("窨井盖 Manhole", "manhole"),
]


async def load_demo(db: AsyncSession, password: str) -> bool:
    """Create the demo estate unless it exists. Returns True if it was created."""
    await publish_bundled(db)
    if await db.scalar(select(Project.id).where(Project.name == DEMO_PROJECT)):
        return False
    rng = random.Random(20261126)
    company = Organisation(name="安居物业服务有限公司 Anju Property Services", kind=OrgKind.property_company.value)
    db.add(company)
    await db.flush()
    company.company_id = company.id
    developer = Organisation(
        name="翠湖置业有限公司 Green Lake Real Estate", kind=OrgKind.developer.value, company_id=company.id
    )
    contractor = Organisation(
        name="华建建筑工程公司 Huajian Construction", kind=OrgKind.contractor.value, company_id=company.id
    )
    db.add_all([developer, contractor])
    await db.flush()
    orgs = {OrgKind.property_company: company, OrgKind.developer: developer, OrgKind.contractor: contractor}
    project = Project(
        company_id=company.id, developer_org_id=developer.id, name=DEMO_PROJECT, address="杭州市西湖区翠湖路 88 号"
    )
    db.add(project)
    await db.flush()
    pw_hash = hash_password(password)
    for role, (display, org_kind) in DEMO_USERS.items():
        user = User(
            username=role.value,
            display_name=display,
            password_hash=pw_hash,
            role=role.value,
            org_id=orgs[org_kind].id,
            is_active=True,
        )
        db.add(user)
        await db.flush()
        db.add(ProjectMember(project_id=project.id, user_id=user.id))
    buildings = []
    for number in (1, 2):
        b = Building(project_id=project.id, name=f"{number}号楼", floors=12)
        db.add(b)
        buildings.append(b)
    await db.flush()
    surnames = "王李张刘陈杨黄赵吴周"
    for b in buildings:
        for floor in range(1, 13):
            for room in (1, 2):
                status = rng.choice(["vacant", "occupied", "handed_over"])
                has_owner = status != "vacant" or rng.random() < 0.3
                db.add(
                    Unit(
                        project_id=project.id,
                        building_id=b.id,
                        entrance="1",
                        floor=floor,
                        room_no=f"{floor}{room:02d}",
                        layout=rng.choice(["两室一厅", "三室两厅", "四室两厅"]),
                        area_m2=Decimal(rng.choice(["89.50", "112.30", "136.80"])),
                        status=status,
                        owner_name=(rng.choice(surnames) + rng.choice(["伟", "芳", "磊", "静", "军"]))
                        if has_owner
                        else None,
                        owner_phone=f"139{rng.randrange(10**8):08d}" if has_owner else None,
                        code=new_code("U"),
                    )
                )
    areas = []
    for name, kind, bidx in AREAS:
        a = PublicArea(
            project_id=project.id,
            building_id=buildings[bidx].id if bidx is not None else None,
            name=name,
            kind=kind,
            code=new_code("A"),
        )
        db.add(a)
        areas.append(a)
    await db.flush()
    for i in range(32):
        label, kind = FACILITY_KINDS[i % len(FACILITY_KINDS)]
        area = areas[i % len(areas)]
        db.add(
            Facility(
                project_id=project.id,
                building_id=area.building_id,
                area_id=area.id,
                name=f"{label} #{i // len(FACILITY_KINDS) + 1}",
                kind=kind,
                location=area.name,
                code=new_code("F"),
            )
        )
    record(
        db,
        None,
        "create",
        "demo_estate",
        project.id,
        after={"name": DEMO_PROJECT},
        project_id=project.id,
        company_id=company.id,
    )
    await db.commit()
    return True
