"""The `fieldround` command against a fresh SQLite database in a temporary var/ dir."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from server.cli import main
from server.db.engine import create_engine, create_session_factory


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


def test_sync_purge_raises_the_horizon(var_dir: Path) -> None:
    """`fieldround sync purge --days 0` removes tombstones (here: of a deleted unit)."""
    from server.places.models import Unit
    from server.syncing.registry import registry

    for args in (["db", "upgrade"], ["demo"]):
        assert fieldround(var_dir, *args).exit_code == 0
    registry()

    async def delete_a_unit() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{var_dir / 'cli.db'}")
        try:
            async with create_session_factory(engine)() as db:
                await db.delete((await db.scalars(select(Unit).limit(1))).one())
                await db.commit()
        finally:
            await engine.dispose()

    asyncio.run(delete_a_unit())
    assert rows(var_dir, "SELECT count(*) FROM sync_tombstones") == [(1,)]
    ((horizon,),) = rows(var_dir, "SELECT horizon FROM sync_clocks")
    assert horizon == 0
    result = fieldround(var_dir, "sync", "purge", "--days", "0")
    assert result.exit_code == 0, result.output
    assert "purged 1 tombstone" in result.output
    assert rows(var_dir, "SELECT count(*) FROM sync_tombstones") == [(0,)]
    ((horizon,),) = rows(var_dir, "SELECT horizon FROM sync_clocks")
    assert horizon > 0


def test_prune_command_reports_what_it_removed(var_dir: Path) -> None:
    """`fieldround prune` on a fresh SQLite install, as cron would run it."""
    assert fieldround(var_dir, "db", "upgrade").exit_code == 0
    old = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows(
        var_dir,
        "INSERT INTO login_failures (id, username, address, at) VALUES (?, 'x', '10.0.0.9', ?)",
        uuid.uuid4().hex,
        old,
    )
    result = fieldround(var_dir, "prune")
    assert result.exit_code == 0, result.output
    assert "1 login failures" in result.output and "0 mutation results" in result.output
    assert rows(var_dir, "SELECT count(*) FROM login_failures") == [(0,)]
