"""Test plumbing: real databases made by Alembic, one fresh database per test.

Integration tests take the `db_url` fixture, parametrised over SQLite and
PostgreSQL. Each backend's schema is migrated once per run into a template; each
test gets a copy (a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on
PostgreSQL) and it is dropped afterwards. Without a PostgreSQL server the
PostgreSQL half is skipped with the reason printed — unless
FIELDROUND_REQUIRE_POSTGRES=1 (CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import profiles
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.passwords import use_parameters
from server.app import create_app
from server.db.engine import create_engine, create_session_factory
from server.db.migrate import upgrade
from server.settings import Settings
from tests.pg import PG_ADMIN_URL, pg_exec, pg_url

# Real argon2, cheapest parameters: hashing is what login does on every test.
use_parameters(profiles.CHEAPEST)

REQUIRE_PG = os.environ.get("FIELDROUND_REQUIRE_POSTGRES") == "1"
RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"fr_test_{RUN_ID}_tpl"
    try:
        pg_exec(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}: {exc}"
        if REQUIRE_PG:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        upgrade(pg_url(name))
        yield name
    finally:
        pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"fr_test_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield pg_url(name)
    finally:
        pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    var = tmp_path / "var"
    var.mkdir(exist_ok=True)
    return Settings(
        var_dir=var,
        database_url=db_url,
        storage_url=f"file://{var / 'media'}",
        public_url="http://testserver.local",
        secret_key="test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        login_max_failures_per_user=5,
        login_max_failures_per_address=20,
        demo_password="demo-pass-1234",
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the test's database, for arranging data and checking results.

    On SQLite it begins deferred transactions so that an idle read here never
    holds the write lock the app under test needs; call `await db.rollback()`
    before re-reading what the app changed."""
    engine = create_engine(settings.database_url, sqlite_immediate=False)
    try:
        async with create_session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings, lifespan_hooks=[])


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture
async def demo(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    """The demo estate, with ids handy."""
    from tests.factories import demo_estate

    estate = await demo_estate(db, settings.demo_password)
    await db.commit()
    return estate


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say plainly whether the PostgreSQL half ran (CI must show it did)."""
    counts = {
        key: sum(1 for rep in terminalreporter.stats.get(key, []) if "[postgresql" in getattr(rep, "nodeid", ""))
        for key in ("passed", "failed", "skipped", "error")
    }
    terminalreporter.write_line(
        f"PostgreSQL half: {counts['passed']} tests passed on PostgreSQL "
        f"({counts['failed']} failed, {counts['error']} errors, {counts['skipped']} skipped)"
    )
