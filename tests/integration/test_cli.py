"""The `fieldround` command against a fresh SQLite database in a temporary var/ dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from server.cli import main


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def fieldround(var_dir: Path, *args: str) -> Result:
    env = {
        "FIELDROUND_VAR_DIR": str(var_dir),
        "FIELDROUND_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'cli.db'}",
        "FIELDROUND_DEMO_PASSWORD": "cli-demo-pass",
        "FIELDROUND_SECRET_KEY": "",
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def rows(var_dir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(var_dir / "cli.db") as conn:
        return conn.execute(sql, params).fetchall()


def test_db_upgrade_makes_the_schema(var_dir: Path) -> None:
    result = fieldround(var_dir, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database at heads" in result.output
    tables = {name for (name,) in rows(var_dir, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "organisations", "projects", "buildings", "units", "audit_log", "alembic_version"} <= tables
    # The signing key was generated once into var/, private to the owner.
    key = var_dir / "secret_key"
    assert key.exists() and len(key.read_text()) >= 32
    assert key.stat().st_mode & 0o077 == 0
    # Upgrading again is a no-op.
    assert fieldround(var_dir, "db", "upgrade").exit_code == 0


def test_demo_loads_once(var_dir: Path) -> None:
    assert fieldround(var_dir, "db", "upgrade").exit_code == 0
    first = fieldround(var_dir, "demo")
    assert first.exit_code == 0, first.output
    assert "demo estate loaded 演示数据已载入" in first.output
    assert "cli-demo-pass" in first.output
    counts = rows(var_dir, "SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM users)")[0]
    assert counts[0] >= 48 and counts[1] == 6

    second = fieldround(var_dir, "demo")
    assert second.exit_code == 0, second.output
    assert "demo estate already present 演示数据已存在" in second.output
    assert rows(var_dir, "SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM users)")[0] == counts
    assert rows(var_dir, "SELECT count(*) FROM projects")[0][0] == 1


def test_user_create(var_dir: Path) -> None:
    assert fieldround(var_dir, "db", "upgrade").exit_code == 0
    result = fieldround(
        var_dir,
        "user",
        "create",
        "--username",
        "Boss",
        "--role",
        "admin",
        "--org",
        "新物业",
        "--password",
        "pw-12345678",
    )
    assert result.exit_code == 0, result.output
    assert "created user boss (admin)" in result.output
    ((org_id, kind, company_id),) = rows(
        var_dir, "SELECT id, kind, company_id FROM organisations WHERE name = '新物业'"
    )
    assert kind == "property_company" and company_id == org_id
    ((role, user_org, pw_hash),) = rows(
        var_dir, "SELECT role, org_id, password_hash FROM users WHERE username = 'boss'"
    )
    assert (role, user_org) == ("admin", org_id)
    assert pw_hash.startswith("$argon2") and "pw-12345678" not in pw_hash

    staff = fieldround(
        var_dir,
        "user",
        "create",
        "--username",
        "li",
        "--role",
        "engineer",
        "--org",
        "新物业",
        "--password",
        "pw-12345678",
    )
    assert staff.exit_code == 0, staff.output
    assert rows(var_dir, "SELECT count(*) FROM organisations")[0][0] == 1

    again = fieldround(
        var_dir,
        "user",
        "create",
        "--username",
        "boss",
        "--role",
        "admin",
        "--org",
        "新物业",
        "--password",
        "pw-12345678",
    )
    assert again.exit_code != 0 and "already taken" in again.output
    nowhere = fieldround(
        var_dir,
        "user",
        "create",
        "--username",
        "x1",
        "--role",
        "engineer",
        "--org",
        "无此单位",
        "--password",
        "pw-1234567",
    )
    assert nowhere.exit_code != 0 and "not found" in nowhere.output
    misfit = fieldround(
        var_dir,
        "user",
        "create",
        "--username",
        "x2",
        "--role",
        "contractor",
        "--org",
        "新物业",
        "--password",
        "pw-1234567",
    )
    assert misfit.exit_code != 0 and "role" in misfit.output
    assert rows(var_dir, "SELECT count(*) FROM users")[0][0] == 2
    # The creations are in the audit log, made by the command line (no user).
    audit = rows(var_dir, "SELECT action, entity, user_id FROM audit_log WHERE entity = 'user'")
    assert audit == [("create", "user", None), ("create", "user", None)]


def test_help_lists_the_commands(var_dir: Path) -> None:
    result = fieldround(var_dir, "--help")
    assert result.exit_code == 0
    for command in ("serve", "db", "demo", "user", "import-units"):
        assert command in result.output


def test_sync_purge_raises_the_horizon(tmp_path: Any) -> None:
    """`fieldround sync purge --days 0` removes tombstones (here: of a deleted unit)."""
    import asyncio

    from click.testing import CliRunner
    from sqlalchemy import select

    from server.cli import main
    from server.db.engine import create_engine, create_session_factory
    from server.places.models import Unit
    from server.syncing.registry import registry
    from sync.tables import clocks, tombstones

    env = {"FIELDROUND_VAR_DIR": str(tmp_path), "FIELDROUND_DEMO_PASSWORD": "pw-12345678"}
    runner = CliRunner()
    for args in (["db", "upgrade"], ["demo"]):
        assert runner.invoke(main, args, env=env).exit_code == 0
    url = f"sqlite+aiosqlite:///{tmp_path / 'fieldround.db'}"
    registry()

    async def delete_a_unit_then_count() -> tuple[int, int]:
        engine = create_engine(url)
        async with create_session_factory(engine)() as db:
            unit = (await db.scalars(select(Unit).limit(1))).one()
            await db.delete(unit)
            await db.commit()
            n = len((await db.execute(select(tombstones))).all())
            horizon = (await db.execute(select(clocks.c.horizon))).scalar_one()
        await engine.dispose()
        return n, horizon

    assert asyncio.run(delete_a_unit_then_count()) == (1, 0)
    result = runner.invoke(main, ["sync", "purge", "--days", "0"], env=env)
    assert result.exit_code == 0, result.output
    assert "purged 1 tombstone" in result.output

    async def after() -> tuple[int, int]:
        engine = create_engine(url)
        async with create_session_factory(engine)() as db:
            n = len((await db.execute(select(tombstones))).all())
            horizon = (await db.execute(select(clocks.c.horizon))).scalar_one()
        await engine.dispose()
        return n, horizon

    n, horizon = asyncio.run(after())
    assert n == 0 and horizon > 0
