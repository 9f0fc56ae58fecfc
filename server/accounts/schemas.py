"""API shapes for auth, users and organisations (separate read / write shapes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.accounts.passwords import MIN_PASSWORD_LENGTH
from server.accounts.roles import OrgKind, Role

Username = Annotated[str, msgspec.Meta(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9_.\-@]+$")]
DeviceId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    password: Password
    device_id: DeviceId


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=10, max_length=200)]
    device_id: DeviceId


class RevokeRequest(msgspec.Struct, forbid_unknown_fields=True):
    device_id: DeviceId | None = None


class TokenPair(msgspec.Struct):
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    token_type: str = "Bearer"


class UserRead(msgspec.Struct):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    org_id: uuid.UUID
    is_active: bool


class MeRead(msgspec.Struct):
    user: UserRead
    org_kind: OrgKind
    device_id: str
    project_ids: list[uuid.UUID]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    password: Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=200)]
    role: Role
    org_id: uuid.UUID
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
    password: Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=200)] | None = None
    is_active: bool | None = None


class OrgRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    kind: OrgKind


class OrgCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    kind: OrgKind


class MemberAdd(msgspec.Struct, forbid_unknown_fields=True):
    user_id: uuid.UUID


class DeviceSessionRead(msgspec.Struct):
    id: uuid.UUID
    device_id: str
    created_at: datetime
    last_used_at: datetime
    revoked_at: datetime | None
