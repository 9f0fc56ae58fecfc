"""The PostgreSQL server the tests and benchmarks make their databases on
(`FIELDROUND_TEST_DATABASE_URL`, default the local trust-auth server)."""

from __future__ import annotations

import asyncio
import os

from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("FIELDROUND_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


async def pg_exec_async(sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the admin database."""
    import asyncpg

    url = make_url(PG_ADMIN_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database, timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_exec(sql: str) -> None:
    asyncio.run(pg_exec_async(sql))


def pg_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on that server."""
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
