"""Litestar dependency giving each request one AsyncSession.

Services commit their own unit of work (`await db.commit()`); anything not
committed is rolled back when the session closes, so a failed request leaves
nothing half-written.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    async with state.session_factory() as session:
        yield session


#: Handler parameter type for the request's session: `db: DB`.
DB = NamedDependency[AsyncSession]
