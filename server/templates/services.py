"""Publishing template versions and reading them back.

The bundled templates (checklists/templates/) are published at start-up when their
content hash is new; a broken file stops start-up naming file, path and reason
(`create_app` loads them before anything else). A published version never
changes: publishing different content for a key adds the next version number.
Identical content is never published twice (the content hash is unique).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from checklists.errors import ChecklistError, TemplateFileError, WorkbookInvalid
from checklists.loader import load_bundled, parse_template
from checklists.model import Template
from checklists.versions import canonical_bytes, hash_of
from checklists.xlsx import export_xlsx, import_xlsx
from server.accounts.principal import Principal
from server.accounts.roles import Role
from server.audit.services import record
from server.lib.errors import Conflict, FieldError, Invalid, NotFound
from server.templates.models import TemplateVersion

#: Attempts at taking the next version number when another publisher races us.
PUBLISH_ATTEMPTS = 5


@lru_cache(maxsize=256)
def _parse(body: str) -> Template:
    return parse_template(body, "<published version>")


def template_of(version: TemplateVersion) -> Template:
    """The template a stored version holds (parsed once per body)."""
    return _parse(version.body)


def company_key(company_id: uuid.UUID | None) -> str:
    return "" if company_id is None else str(company_id)


def _visible_keys(company_id: uuid.UUID | None) -> list[str]:
    return [""] if company_id is None else ["", str(company_id)]


def visible_to(company_id: uuid.UUID | None) -> ColumnElement[bool]:
    """Bundled versions, and the versions of this company."""
    return TemplateVersion.company_key.in_(_visible_keys(company_id))


def usable_by(version_company_key: str, company_id: uuid.UUID | None) -> bool:
    """`visible_to` for a version already read, by its `company_key`."""
    return version_company_key in _visible_keys(company_id)


async def _by_hash(db: AsyncSession, digest: str, company_id: uuid.UUID | None) -> TemplateVersion | None:
    return await db.scalar(
        select(TemplateVersion)
        .where(TemplateVersion.content_hash == digest, visible_to(company_id))
        .order_by(TemplateVersion.company_key)
    )


async def publish(
    db: AsyncSession, template: Template, published_by: uuid.UUID | None = None, company_id: uuid.UUID | None = None
) -> TemplateVersion:
    """Publish `template` (for one company, or bundled for all when `company_id`
    is None) unless a version with the same content is visible; either way return
    that version. Does not commit."""
    version, _ = await _publish(db, template, published_by, company_id)
    return version


async def _publish(
    db: AsyncSession, template: Template, published_by: uuid.UUID | None, company_id: uuid.UUID | None = None
) -> tuple[TemplateVersion, bool]:
    canonical = canonical_bytes(template)
    digest = hash_of(canonical)
    body = canonical.decode("utf-8")
    for _ in range(PUBLISH_ATTEMPTS):
        existing = await _by_hash(db, digest, company_id)
        if existing is not None:
            return existing, False
        newest = await db.scalar(
            select(func.max(TemplateVersion.number)).where(TemplateVersion.key == template.key, visible_to(company_id))
        )
        version = TemplateVersion(
            company_key=company_key(company_id),
            key=template.key,
            kind=template.kind,
            number=(newest or 0) + 1,
            content_hash=digest,
            title_zh=template.title.zh,
            title_en=template.title.en,
            body=body,
            published_by=published_by,
        )
        try:
            async with db.begin_nested():
                db.add(version)
                await db.flush()
        except IntegrityError:
            # Another process published the same content, or took this number: look again.
            continue
        return version, True
    raise Conflict(f"could not publish template '{template.key}': too many concurrent publishers; try again")


async def publish_bundled(db: AsyncSession, templates: Mapping[str, Template] | None = None) -> list[TemplateVersion]:
    """Publish every bundled template whose content is new; commit. `templates` is
    what `load_bundled()` returned when the caller has loaded them already
    (`create_app`); without it they are loaded here."""
    bundled = load_bundled() if templates is None else templates
    versions = [await publish(db, t) for t in bundled.values()]
    await db.commit()
    return versions


def _latest(company_id: uuid.UUID | None, *columns: Any) -> Select[Any]:
    """SELECT `columns` of the newest version of each template this company may use."""
    newest = (
        select(TemplateVersion.key, func.max(TemplateVersion.number).label("n"))
        .where(visible_to(company_id))
        .group_by(TemplateVersion.key)
        .subquery()
    )
    return (
        select(*columns)
        .join(newest, (TemplateVersion.key == newest.c.key) & (TemplateVersion.number == newest.c.n))
        .where(visible_to(company_id))
        .order_by(TemplateVersion.key)
    )


async def latest_versions(db: AsyncSession, company_id: uuid.UUID | None = None) -> list[TemplateVersion]:
    """The newest version of each template this company may use."""
    return list((await db.scalars(_latest(company_id, TemplateVersion))).all())


async def latest_refs(db: AsyncSession, company_id: uuid.UUID | None) -> Sequence[Row[uuid.UUID, str, str]]:
    """Rows of (id, key, content_hash) of the newest version of each template this
    company may use: what a device compares with what it holds, without the bodies."""
    stmt = _latest(company_id, TemplateVersion.id, TemplateVersion.key, TemplateVersion.content_hash)
    return (await db.execute(stmt)).all()


# --- reading -----------------------------------------------------------------------------------


async def list_templates(db: AsyncSession, company_id: uuid.UUID | None) -> list[list[TemplateVersion]]:
    """Every template key's versions this company may use, newest first; keys in alphabetical order."""
    rows = await db.scalars(
        select(TemplateVersion)
        .where(visible_to(company_id))
        .order_by(TemplateVersion.key, TemplateVersion.number.desc())
    )
    by_key: dict[str, list[TemplateVersion]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    return list(by_key.values())


async def versions_of(db: AsyncSession, key: str, company_id: uuid.UUID | None) -> list[TemplateVersion]:
    stmt = (
        select(TemplateVersion)
        .where(TemplateVersion.key == key, visible_to(company_id))
        .order_by(TemplateVersion.number.desc())
    )
    versions = list((await db.scalars(stmt)).all())
    if not versions:
        raise NotFound(f"no template '{key}'")
    return versions


async def get_version(db: AsyncSession, version_id: uuid.UUID, company_id: uuid.UUID | None) -> TemplateVersion:
    version = await db.scalar(select(TemplateVersion).where(TemplateVersion.id == version_id, visible_to(company_id)))
    if version is None:
        raise NotFound("template version not found")
    return version


# --- publishing ----------------------------------------------------------------------------------


def _template_errors(exc: ChecklistError) -> list[FieldError]:
    return [FieldError(field=p.path, message=p.message) for p in exc.problems if hasattr(p, "path")]


def parse_upload(body: bytes) -> Template:
    """A template from a JSON request body; Invalid lists every problem by path."""
    try:
        return parse_template(body, "request body")
    except TemplateFileError as exc:
        raise Invalid("the template is invalid", errors=_template_errors(exc)) from None


def _cell(sheet: str, row: int | None, column: str | None) -> str:
    """``检查项!C7``, or as much of it as is known."""
    return f"{sheet}!{column or ''}{row or ''}".rstrip("!")


def read_workbook(body: bytes, media_type: str | None) -> Template:
    """A template from an XLSX request body; Invalid lists every bad cell."""
    if media_type and media_type.lower().startswith("multipart/"):
        raise Invalid("send the .xlsx file itself as the request body, not a multipart form (请直接上传文件内容)")
    if not body:
        raise Invalid("the file is empty (文件为空)")
    try:
        return import_xlsx(body)
    except WorkbookInvalid as exc:
        errors = [
            FieldError(_cell(p.sheet, p.row, p.column), p.message, row=p.row, column=p.column, sheet=p.sheet)
            for p in exc.problems
        ]
        raise Invalid("the workbook is invalid; nothing was published", errors=errors) from None


async def publish_version(db: AsyncSession, actor: Principal, template: Template) -> tuple[TemplateVersion, bool]:
    """Publish a new version (admins only), audited in the same transaction; commit.
    Returns the version and whether it is new (identical content is not published twice)."""
    actor.require_role(Role.admin)
    newest = await db.scalar(
        select(TemplateVersion)
        .where(TemplateVersion.key == template.key, visible_to(actor.company_id))
        .order_by(TemplateVersion.number.desc())
    )
    if newest is not None:
        before = template_of(newest)
        if (before.kind, before.discipline) != (template.kind, template.discipline):
            raise Conflict(
                f"template '{template.key}' is a {before.kind} template"
                + (f" ({before.discipline})" if before.discipline else "")
                + "; a new version cannot change its kind or discipline"
            )
    version, created = await _publish(db, template, actor.user_id, actor.company_id)
    if created:
        record(
            db,
            actor,
            "publish",
            "template_version",
            version.id,
            after={"key": version.key, "number": version.number, "content_hash": version.content_hash},
        )
    await db.commit()
    return version, created


async def publish_json(db: AsyncSession, actor: Principal, body: bytes) -> tuple[TemplateVersion, bool]:
    """Publish a template sent as JSON (admins only; checked before the body is read)."""
    actor.require_role(Role.admin)
    return await publish_version(db, actor, parse_upload(body))


async def publish_workbook(
    db: AsyncSession, actor: Principal, body: bytes, media_type: str | None
) -> tuple[TemplateVersion, bool]:
    """Publish a template sent as an XLSX workbook (admins only); on any bad cell
    nothing is published."""
    actor.require_role(Role.admin)
    return await publish_version(db, actor, read_workbook(body, media_type))


async def export_version(
    db: AsyncSession, version_id: uuid.UUID, company_id: uuid.UUID | None
) -> tuple[TemplateVersion, bytes]:
    version = await get_version(db, version_id, company_id)
    return version, export_xlsx(template_of(version))
