"""The `fieldround` command: serve, db upgrade, user create, demo, import-units …"""

from __future__ import annotations

import asyncio
import getpass
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import create_engine, create_session_factory
from server.db.migrate import upgrade
from server.settings import Settings, load_settings

T = TypeVar("T")


def run_with_session(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def _main() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with create_session_factory(engine)() as db:
                return await fn(db)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """FieldRound 巡查验房 — offline-first field inspection for property management."""
    ctx.obj = load_settings()


@main.command()
@click.option("--host", default=None, help="bind address (FIELDROUND_HOST)")
@click.option("--port", type=int, default=None, help="port (FIELDROUND_PORT, default 8000)")
@click.option("--workers", type=int, default=None, help="app processes (FIELDROUND_WORKERS, default 1)")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API and the PWA 启动服务."""
    import uvicorn

    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    click.echo(f"FieldRound serving on http://{host}:{port} with {workers} worker(s)")
    uvicorn.run(
        "server.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


@main.group()
def db() -> None:
    """Database schema 数据库."""


@db.command("upgrade")
@click.option("--revision", default="heads")
@click.pass_obj
def db_upgrade(settings: Settings, revision: str) -> None:
    """Apply migrations 执行迁移."""
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")


@main.command()
@click.pass_obj
def demo(settings: Settings) -> None:
    """Load the demo estate once 载入演示数据."""
    from server.demo import DEMO_USERS, load_demo

    created = run_with_session(settings, lambda db: load_demo(db, settings.demo_password))
    click.echo("demo estate loaded 演示数据已载入" if created else "demo estate already present 演示数据已存在")
    click.echo(
        "demo users 演示用户: " + ", ".join(r.value for r in DEMO_USERS) + f" — password 密码: {settings.demo_password}"
    )


@main.group()
def user() -> None:
    """Users 用户."""


@user.command("create")
@click.option("--username", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "cs_manager", "cs_assistant", "engineer", "developer_rep", "contractor"]),
)
@click.option(
    "--org",
    "org_name",
    required=True,
    help="organisation name (created as a property company if new and the role is admin)",
)
@click.option("--display-name", default=None)
@click.option("--password", default=None, help="prompted for when omitted")
@click.pass_obj
def user_create(
    settings: Settings, username: str, role: str, org_name: str, display_name: str | None, password: str | None
) -> None:
    """Create a user (the first admin of a company too) 新建用户."""
    from server.accounts.models import Organisation
    from server.accounts.roles import Role
    from server.accounts.schemas import UserCreate
    from server.accounts.services import create_user
    from server.lib.errors import AppError

    if password is None:
        password = getpass.getpass("password: ")

    async def _create(db: AsyncSession) -> Any:
        org = await db.scalar(select(Organisation).where(Organisation.name == org_name))
        if org is None:
            if role != "admin":
                raise click.ClickException(f"organisation {org_name!r} not found")
            org = Organisation(name=org_name, kind="property_company")
            db.add(org)
            await db.flush()
            org.company_id = org.id
        company_id: uuid.UUID = org.company_id or org.id
        return await create_user(
            db,
            None,
            UserCreate(
                username=username,
                display_name=display_name or username,
                password=password,
                role=Role(role),
                org_id=org.id,
            ),
            company_id=company_id,
        )

    try:
        created = run_with_session(settings, _create)
    except AppError as exc:
        detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.detail
        raise click.ClickException(detail) from exc
    click.echo(f"created user {created.username} ({role})")


if __name__ == "__main__":
    sys.exit(main())
