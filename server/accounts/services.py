"""Users, organisations and project membership, within one property company."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import DeviceSession, Organisation, ProjectMember, User
from server.accounts.passwords import hash_password
from server.accounts.principal import Principal
from server.accounts.roles import MANAGER_ROLES, ROLES_BY_ORG_KIND, OrgKind, Role
from server.accounts.schemas import MemberAdd, OrgCreate, UserCreate, UserUpdate
from server.audit.services import record, snapshot
from server.lib.errors import Conflict, FieldError, Invalid, NotFound
from server.places.models import Project


async def get_org_in_company(db: AsyncSession, company_id: uuid.UUID, org_id: uuid.UUID) -> Organisation:
    org = await db.get(Organisation, org_id)
    if org is None or (org.company_id or org.id) != company_id:
        raise NotFound("organisation not found")
    return org


async def list_orgs(db: AsyncSession, actor: Principal) -> list[Organisation]:
    actor.require_role(*MANAGER_ROLES)
    stmt = (
        select(Organisation)
        .where(or_(Organisation.id == actor.company_id, Organisation.company_id == actor.company_id))
        .order_by(Organisation.name)
    )
    return list((await db.scalars(stmt)).all())


async def create_org(db: AsyncSession, actor: Principal, data: OrgCreate) -> Organisation:
    actor.require_role(Role.admin)
    if data.kind == OrgKind.property_company:
        raise Invalid(
            "a partner organisation is a developer or a contractor",
            errors=[FieldError("kind", "must be developer or contractor")],
        )
    org = Organisation(name=data.name, kind=data.kind.value, company_id=actor.company_id)
    db.add(org)
    await db.flush()
    record(db, actor, "create", "organisation", org.id, after=snapshot(org))
    await db.commit()
    return org


async def create_user(
    db: AsyncSession, actor: Principal | None, data: UserCreate, *, company_id: uuid.UUID | None = None
) -> User:
    """Create a user. `actor` None is the CLI / demo loader (trusted)."""
    if actor is not None:
        actor.require_role(Role.admin)
        company_id = actor.company_id
    assert company_id is not None
    org = await get_org_in_company(db, company_id, data.org_id)
    allowed = ROLES_BY_ORG_KIND[OrgKind(org.kind)]
    if data.role not in allowed:
        raise Invalid(
            "role does not fit the organisation",
            errors=[FieldError("role", f"a {org.kind} user may be: " + ", ".join(sorted(r.value for r in allowed)))],
        )
    user = User(
        username=data.username.lower(),
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        role=data.role.value,
        org_id=org.id,
        phone=data.phone,
        is_active=True,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        await db.rollback()
        raise Conflict("username already taken", errors=[FieldError("username", "already taken")]) from exc
    record(db, actor, "create", "user", user.id, after=snapshot(user), company_id=company_id)
    await db.commit()
    return user


async def _user_in_company(db: AsyncSession, actor: Principal, user_id: uuid.UUID) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    await get_org_in_company(db, actor.company_id, user.org_id)
    return user


async def list_users(db: AsyncSession, actor: Principal) -> list[User]:
    actor.require_role(*MANAGER_ROLES)
    stmt = (
        select(User)
        .join(Organisation, Organisation.id == User.org_id)
        .where(or_(Organisation.id == actor.company_id, Organisation.company_id == actor.company_id))
        .order_by(User.username)
    )
    return list((await db.scalars(stmt)).all())


async def update_user(db: AsyncSession, actor: Principal, user_id: uuid.UUID, data: UserUpdate) -> User:
    actor.require_role(Role.admin)
    user = await _user_in_company(db, actor, user_id)
    before = snapshot(user)
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.is_active is not None:
        user.is_active = data.is_active
    if data.password is not None:
        user.password_hash = hash_password(data.password)
    after = snapshot(user)
    if data.password is not None:
        after["password"] = "changed"
    record(db, actor, "update", "user", user.id, before=before, after=after)
    await db.commit()
    return user


async def list_sessions(db: AsyncSession, actor: Principal, user_id: uuid.UUID) -> list[DeviceSession]:
    await require_user_for_revoke(db, actor, user_id)
    stmt = select(DeviceSession).where(DeviceSession.user_id == user_id).order_by(DeviceSession.created_at)
    return list((await db.scalars(stmt)).all())


async def require_user_for_revoke(db: AsyncSession, actor: Principal, user_id: uuid.UUID) -> None:
    if user_id != actor.user_id:
        actor.require_role(Role.admin)
        await _user_in_company(db, actor, user_id)


async def add_member(db: AsyncSession, actor: Principal, project_id: uuid.UUID, data: MemberAdd) -> ProjectMember:
    actor.require_manager_of(project_id)
    user = await _user_in_company(db, actor, data.user_id)
    project = await db.get(Project, project_id)
    assert project is not None
    member = ProjectMember(project_id=project_id, user_id=user.id)
    db.add(member)
    try:
        await db.flush()
    except IntegrityError as exc:
        await db.rollback()
        raise Conflict("user is already a member of this project") from exc
    record(db, actor, "create", "project_member", member.id, after=snapshot(member), project_id=project_id)
    await db.commit()
    return member


async def remove_member(db: AsyncSession, actor: Principal, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    actor.require_manager_of(project_id)
    member = await db.scalar(
        select(ProjectMember).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
    )
    if member is None:
        raise NotFound("membership not found")
    record(db, actor, "delete", "project_member", member.id, before=snapshot(member), project_id=project_id)
    await db.delete(member)
    await db.commit()


async def list_members(db: AsyncSession, actor: Principal, project_id: uuid.UUID) -> list[User]:
    actor.require_project(project_id)
    actor.require_role(*MANAGER_ROLES)
    stmt = (
        select(User)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project_id)
        .order_by(User.username)
    )
    return list((await db.scalars(stmt)).all())
