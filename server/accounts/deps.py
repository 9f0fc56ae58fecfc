"""Litestar dependency: the calling `Principal`, from the Bearer access token."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from server.accounts.auth import principal_from_token
from server.accounts.principal import Principal
from server.db.session import DB
from server.lib.errors import Unauthorized


async def provide_principal(request: Request[Any, Any, Any], state: State, db: DB) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    return await principal_from_token(db, state.settings, token.strip())


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


#: Handler parameter type for the caller: `principal: CurrentUser`.
CurrentUser = NamedDependency[Principal]
