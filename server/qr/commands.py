"""``fieldround labels``: print a project's (or building's) QR labels to an A4 PDF."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import click

from server.settings import Settings

if TYPE_CHECKING:
    from server.qr.sheets import LabelSpec


async def _find(settings: Settings, project_ref: str, building_ref: str | None) -> tuple[str, list[LabelSpec]]:
    from sqlalchemy import or_, select

    from server.db.engine import create_engine, create_session_factory
    from server.places.models import Building, Project
    from server.qr.services import collect_labels

    def as_uuid(ref: str) -> uuid.UUID | None:
        try:
            return uuid.UUID(ref)
        except ValueError:
            return None

    engine = create_engine(settings.database_url, sqlite_immediate=False)
    try:
        async with create_session_factory(engine)() as db:
            pid = as_uuid(project_ref)
            cond = Project.name == project_ref if pid is None else or_(Project.id == pid, Project.name == project_ref)
            projects = list((await db.scalars(select(Project).where(cond))).all())
            if len(projects) != 1:
                raise click.ClickException(
                    f"project {project_ref!r} not found" if not projects else f"several projects named {project_ref!r}"
                )
            project = projects[0]
            building_id = None
            if building_ref:
                bid = as_uuid(building_ref)
                bcond = Building.name == building_ref if bid is None else Building.id == bid
                building = await db.scalar(select(Building).where(Building.project_id == project.id, bcond))
                if building is None:
                    raise click.ClickException(f"building {building_ref!r} not found in {project.name}")
                building_id = building.id
            title, specs = await collect_labels(db, project.id, settings.public_url, building_id=building_id)
            return title, specs
    finally:
        await engine.dispose()


@click.command("labels")
@click.option("--project", "project_ref", required=True, help="project name or id 项目名称或 ID")
@click.option("--building", "building_ref", default=None, help="building name or id 楼栋名称或 ID")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="the PDF to write")
@click.pass_obj
def labels_command(settings: Settings, project_ref: str, building_ref: str | None, output: Path) -> None:
    """Print QR labels on A4 sheets 打印二维码标签 (12 a page, with cut marks)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from server.qr.sheets import render_sheet

    title, labels = asyncio.run(_find(settings, project_ref, building_ref))
    with Progress(
        TextColumn("[bold]标签 labels"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=False
    ) as progress:
        task = progress.add_task("labels", total=len(labels))
        pdf = render_sheet(labels, title=title, on_label=lambda _i: progress.advance(task))
    tmp = output.with_name(output.name + ".part")
    tmp.write_bytes(pdf)
    tmp.replace(output)
    click.echo(f"{len(labels)} labels, {(len(labels) + 11) // 12} pages → {output}")
