"""HTTP routes for auth, users, organisations and project membership."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from server.accounts import auth, services
from server.accounts.deps import CurrentUser, client_address
from server.accounts.roles import OrgKind, Role
from server.accounts.schemas import (
    DeviceSessionRead,
    LoginRequest,
    MemberAdd,
    MeRead,
    OrgCreate,
    OrgRead,
    RefreshRequest,
    RevokeRequest,
    TokenPair,
    UserCreate,
    UserRead,
    UserUpdate,
)
from server.db.session import DB


def user_read(u: Any) -> UserRead:
    return UserRead(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=Role(u.role),
        org_id=u.org_id,
        is_active=u.is_active,
    )


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth 登录"]  # noqa: RUF012

    @post("/login", summary="Log in on a device 登录")
    async def login(
        self, data: JSONBody[LoginRequest], db: DB, state: State, request: Request[Any, Any, Any]
    ) -> TokenPair:
        return await auth.login(
            db,
            state.settings,
            username=data.username,
            password=data.password,
            device_id=data.device_id,
            address=client_address(request),
        )

    @post("/refresh", summary="Rotate the refresh token 刷新令牌")
    async def refresh(self, data: JSONBody[RefreshRequest], db: DB, state: State) -> TokenPair:
        return await auth.refresh(db, state.settings, token=data.refresh_token, device_id=data.device_id)

    @get("/me", summary="Who am I 当前用户")
    async def me(self, db: DB, principal: CurrentUser) -> MeRead:
        user = await services._user_in_company(db, principal, principal.user_id)
        return MeRead(
            user=user_read(user),
            org_kind=OrgKind(principal.org_kind),
            device_id=principal.device_id,
            project_ids=sorted(principal.project_ids),
        )

    @post("/logout", status_code=204, summary="Revoke this device's session 退出")
    async def logout(self, db: DB, principal: CurrentUser) -> None:
        await auth.revoke(db, principal, user_id=principal.user_id, device_id=principal.device_id)

    @post("/users/{user_id:uuid}/revoke", summary="Revoke one device or all devices of a user 吊销设备")
    async def revoke(
        self, user_id: FromPath[uuid.UUID], data: JSONBody[RevokeRequest], db: DB, principal: CurrentUser
    ) -> dict[str, int]:
        await services.require_user_for_revoke(db, principal, user_id)
        return {"revoked": await auth.revoke(db, principal, user_id=user_id, device_id=data.device_id)}

    @get("/users/{user_id:uuid}/sessions", summary="Device sessions of a user 设备会话")
    async def sessions(self, user_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> list[DeviceSessionRead]:
        rows = await services.list_sessions(db, principal, user_id)
        return [
            DeviceSessionRead(
                id=s.id,
                device_id=s.device_id,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                revoked_at=s.revoked_at,
            )
            for s in rows
        ]


class UserController(Controller):
    path = "/api"
    tags = ["accounts 账户"]  # noqa: RUF012

    @get("/users", summary="Users of my company 用户列表")
    async def list_users(self, db: DB, principal: CurrentUser) -> list[UserRead]:
        return [user_read(u) for u in await services.list_users(db, principal)]

    @post("/users", summary="Create a user (admin) 新建用户")
    async def create_user(self, data: JSONBody[UserCreate], db: DB, principal: CurrentUser) -> UserRead:
        return user_read(await services.create_user(db, principal, data))

    @patch("/users/{user_id:uuid}", summary="Update a user (admin) 修改用户")
    async def update_user(
        self, user_id: FromPath[uuid.UUID], data: JSONBody[UserUpdate], db: DB, principal: CurrentUser
    ) -> UserRead:
        return user_read(await services.update_user(db, principal, user_id, data))

    @get("/organisations", summary="My company and its partners 组织")
    async def list_orgs(self, db: DB, principal: CurrentUser) -> list[OrgRead]:
        return [OrgRead(id=o.id, name=o.name, kind=OrgKind(o.kind)) for o in await services.list_orgs(db, principal)]

    @post("/organisations", summary="Add a developer or contractor (admin) 新建合作单位")
    async def create_org(self, data: JSONBody[OrgCreate], db: DB, principal: CurrentUser) -> OrgRead:
        o = await services.create_org(db, principal, data)
        return OrgRead(id=o.id, name=o.name, kind=OrgKind(o.kind))

    @get("/projects/{project_id:uuid}/members", summary="Project members 项目成员")
    async def list_members(self, project_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser) -> list[UserRead]:
        return [user_read(u) for u in await services.list_members(db, principal, project_id)]

    @post("/projects/{project_id:uuid}/members", status_code=201, summary="Add a project member 添加成员")
    async def add_member(
        self, project_id: FromPath[uuid.UUID], data: JSONBody[MemberAdd], db: DB, principal: CurrentUser
    ) -> dict[str, str]:
        m = await services.add_member(db, principal, project_id, data)
        return {"id": str(m.id)}

    @delete("/projects/{project_id:uuid}/members/{user_id:uuid}", summary="Remove a project member 移除成员")
    async def remove_member(
        self, project_id: FromPath[uuid.UUID], user_id: FromPath[uuid.UUID], db: DB, principal: CurrentUser
    ) -> None:
        await services.remove_member(db, principal, project_id, user_id)
