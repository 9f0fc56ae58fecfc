"""The `fieldround` command: serve, db upgrade, user create, demo, import-units …"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import create_engine, create_session_factory
from server.db.migrate import upgrade
from server.settings import Settings, load_settings

T = TypeVar("T")


def run_with_session(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from server.syncing.registry import registry

    registry()  # every synced entity known before the first write

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
    # Each worker process reads its settings anew: pass on what the options chose.
    os.environ["FIELDROUND_HOST"], os.environ["FIELDROUND_PORT"] = host, str(port)
    os.environ.setdefault("FIELDROUND_PUBLIC_URL", f"http://{host}:{port}")
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


@main.group("sync")
def sync_group() -> None:
    """Sync maintenance 同步维护."""


@sync_group.command("purge")
@click.option("--days", type=int, default=None, help="keep tombstones this many days (FIELDROUND_SYNC_TOMBSTONE_DAYS)")
@click.pass_obj
def sync_purge(settings: Settings, days: int | None) -> None:
    """Purge old tombstones; devices with older cursors resync 清理过期删除记录 (run daily, e.g. from cron)."""
    from datetime import UTC, datetime, timedelta

    from sync.horizon import purge_tombstones

    keep = settings.sync_tombstone_days if days is None else days
    cutoff = datetime.now(UTC) - timedelta(days=keep)
    report = run_with_session(settings, lambda db: purge_tombstones(db, cutoff))
    click.echo(f"purged {report['tombstones']} tombstone(s) in {report['projects']} project(s) older than {keep} days")


@main.command()
@click.pass_obj
def prune(settings: Settings) -> None:
    """Remove what has outlived its use 清理过期数据 (run daily, e.g. from cron).

    Mutation results older than FIELDROUND_SYNC_RESULT_DAYS, login failures outside
    the throttle window, sessions idle longer than a refresh token lives, done jobs
    older than FIELDROUND_DONE_JOB_DAYS, tombstones older than
    FIELDROUND_SYNC_TOMBSTONE_DAYS. The audit log is kept."""
    from datetime import UTC, datetime

    from server.housekeeping.services import prune as prune_all

    report = run_with_session(settings, lambda db: prune_all(db, settings, datetime.now(UTC)))
    click.echo("pruned 已清理: " + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in report.items()))


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


@main.command("import-units")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "project_ref", required=True, help="project name or id 项目名称或 ID")
@click.option("--dry-run", is_flag=True, help="preview only, write nothing 仅预览，不写入")
@click.option("--accept-valid-only", is_flag=True, help="write the valid rows, skip the bad ones 只导入有效行")
@click.pass_obj
def import_units_cmd(settings: Settings, file: Path, project_ref: str, dry_run: bool, accept_valid_only: bool) -> None:
    """Import units from an XLSX roster 从 Excel 导入房屋清单."""
    from server.lib.errors import AppError, FieldError
    from server.places.roster_service import find_project, import_units

    def problems(errors: list[FieldError]) -> None:
        if errors:
            click.echo(f"错误 Errors ({len(errors)}):")
        for e in errors:
            where = f"第 {e.row} 行 row {e.row}, {e.column}" if e.row else e.field
            click.echo(f"  {where}: {e.message}")

    content = file.read_bytes()

    async def _import(db: AsyncSession) -> Any:
        project = await find_project(db, project_ref)
        return await import_units(db, None, project.id, content, dry_run=dry_run, accept_valid_only=accept_valid_only)

    try:
        report = run_with_session(settings, _import)
    except AppError as exc:
        click.echo(f"未导入 Nothing imported: {exc.detail}", err=True)
        problems([e for e in exc.errors if e.row is not None])
        sys.exit(1)
    if report.dry_run:
        click.echo(
            f"预览（未写入）Preview, nothing written — sheet {report.sheet!r}, header row 表头行 {report.header_row}"
        )
    else:
        click.echo(f"已导入 Imported — sheet {report.sheet!r}, header row 表头行 {report.header_row}")
    click.echo(
        f"  新增 new: {report.new}   更新 updated: {report.updated}   "
        f"未变 unchanged: {report.unchanged}   无效 invalid: {report.invalid}   (行 rows: {report.rows})"
    )
    if report.new_buildings:
        click.echo("  新建楼栋 new buildings: " + "、".join(report.new_buildings))
    if report.ignored_columns:
        click.echo("  忽略的列 ignored columns: " + "、".join(report.ignored_columns))
    problems(report.errors)


from server.jobs.commands import worker_command  # noqa: E402
from server.qr.commands import labels_command  # noqa: E402

main.add_command(labels_command)
main.add_command(worker_command)

if __name__ == "__main__":
    sys.exit(main())
