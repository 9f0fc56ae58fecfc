"""How inspections, item results, checkpoint scans and signatures sync: which
fields a device may write, their merge rules, who may write and read them."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Protocol

import msgspec
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from checklists.answers import Answer, check_answer
from checklists.index import TemplateIndex
from checklists.model import Item
from checklists.outcomes import outcome
from server.accounts.roles import Role
from server.inspections import rules
from server.inspections.models import CheckpointScan, Inspection, ItemResult, Signature
from server.inspections.templating import template_index
from server.places.models import Building, Facility, Project, PublicArea, Unit
from server.qr.services import find_place
from sync.bulk import among
from sync.errors import LateEdit, Rejected, require_one_of
from sync.merge import FieldRule, Rule
from sync.registry import Actor, ApplyContext, EntitySpec
from sync.values import as_instant, as_uuid

IMMUTABLE = FieldRule(Rule.immutable)
LATEST = FieldRule(Rule.latest)
TARGET_MODELS: dict[str, type[Any]] = {
    "unit": Unit,
    "area": PublicArea,
    "facility": Facility,
    "building": Building,
    "project": Project,
}


def _immutable(row: Any, fields: dict[str, Any], names: tuple[str, ...]) -> None:
    """A device may repeat a set-once field (two devices creating the same item
    result offline both send it) but not change it. Compared in wire form."""
    if row is None:
        return
    for name in names:
        if name in fields and _wire(fields[name]) != _wire(getattr(row, name)):
            raise Rejected(f"{name} cannot change once set", code="invalid")


def _wire(value: Any) -> Any:
    plain = msgspec.to_builtins(value)
    return plain if plain is None or isinstance(plain, bool | int | float | list | dict) else str(plain)


class InspectionFacts(Protocol):
    """What checking a record of an inspection reads of it: an `Inspection`, or in
    a batch of new answers the row of these columns alone (`ItemResultSpec.prefetch`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def project_id(self) -> uuid.UUID: ...
    @property
    def status(self) -> str: ...
    @property
    def deleted(self) -> bool: ...
    @property
    def template_version_id(self) -> uuid.UUID: ...


_FACTS = (Inspection.id, Inspection.project_id, Inspection.status, Inspection.deleted, Inspection.template_version_id)


async def get_inspection(ctx: ApplyContext, inspection_id: uuid.UUID) -> Inspection | None:
    """The inspection, from what a batch prefetched when there is one."""
    if ctx.batch_loaded is not None:
        found = ctx.batch_loaded.get(inspection_id)
        if isinstance(found, Inspection):
            return found
    return await ctx.db.get(Inspection, inspection_id)


async def load_inspection(ctx: ApplyContext, inspection_id: Any) -> InspectionFacts:
    """The inspection a record names, checked to be in the caller's scope: what a
    batch prefetched (its facts or the object), else the object."""
    # In a batch (of answers only: nothing in it changes an inspection) each id as
    # sent is looked up and checked once; the batch names each inspection many times.
    memo_key = ("load_inspection", inspection_id)
    if ctx.batch_loaded is not None and memo_key in ctx.batch_loaded:
        memo: InspectionFacts = ctx.batch_loaded[memo_key]
        return memo
    key = as_uuid(inspection_id, "inspection_id")
    insp: InspectionFacts | None = ctx.batch_loaded.get(key) if ctx.batch_loaded is not None else None
    if insp is None:
        insp = await ctx.db.get(Inspection, key)
    if insp is None or insp.project_id not in ctx.actor.project_ids:
        raise Rejected("unknown inspection", code="not_found")
    if ctx.batch_loaded is not None:
        ctx.batch_loaded[memo_key] = insp
    return insp


def _parent_frozen(insp: InspectionFacts) -> None:
    if insp.deleted:
        raise LateEdit("the inspection was deleted; the edit is kept for review", insp.project_id)
    if insp.status in rules.FROZEN_STATUSES:
        raise LateEdit(f"the inspection is {insp.status}; the edit is kept for review", insp.project_id)


async def target_project(ctx: ApplyContext, fields: dict[str, Any]) -> uuid.UUID:
    """The project of the place a record is about (`target_type`, `target_id`)."""
    model = TARGET_MODELS.get(str(fields["target_type"]))
    if model is None:
        raise Rejected("target_type must be one of: " + ", ".join(sorted(rules.TARGET_TYPES)), code="invalid")
    target = await ctx.db.get(model, as_uuid(fields["target_id"], "target_id"))
    if target is None:
        raise Rejected("target_id: no such place", code="not_found")
    project_id: uuid.UUID = target.project_id
    return project_id


def _staff_only(ctx: ApplyContext) -> None:
    if not ctx.actor.is_staff:
        raise Rejected("only the property company's field staff record inspections", code="forbidden")


class InspectionSpec(EntitySpec):
    name = "inspection"
    model = Inspection
    rank = 10
    fields: ClassVar[dict[str, FieldRule]] = {
        "kind": IMMUTABLE,
        "template_version_id": IMMUTABLE,
        "target_type": IMMUTABLE,
        "target_id": IMMUTABLE,
        "parent_id": IMMUTABLE,
        "title": LATEST,
        "status": LATEST,
        "assignee_id": LATEST,
        "started_at": LATEST,
        "finished_at": LATEST,
    }
    required = ("kind", "template_version_id", "target_type", "target_id")

    async def project_for_create(self, ctx: ApplyContext, key: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
        return await target_project(ctx, fields)

    async def validate(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> dict[str, Any]:
        _immutable(row, fields, ("kind", "template_version_id", "target_type", "target_id", "parent_id"))
        if "kind" in fields:
            require_one_of(fields["kind"], rules.KINDS, "kind")
        if "status" in fields:
            require_one_of(
                fields["status"],
                rules.DEVICE_STATUSES,
                "status",
                "status: a device sets draft or in_progress; use the submit operation",
            )
        for name in ("template_version_id", "target_id", "assignee_id", "parent_id"):
            if fields.get(name) is not None:
                fields[name] = as_uuid(fields[name], name)
        for name in ("started_at", "finished_at"):
            if name in fields:
                fields[name] = as_instant(fields[name], name)
        if row is None:
            index = await template_index(ctx.db, fields["template_version_id"], ctx.actor.company_id)
            if index is None:
                raise Rejected("template_version_id: unknown template version", code="invalid")
            if index.template.kind != fields["kind"]:
                raise Rejected(f"kind: the template is a {index.template.kind} checklist", code="invalid")
        return fields

    async def authorize(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        _staff_only(ctx)

    def build(self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]) -> Any:
        fields.setdefault("status", "draft")
        return Inspection(id=key, project_id=project_id, created_by=ctx.actor.user_id, **fields)

    def frozen_reason(self, row: Any) -> str | None:
        if row.status in rules.FROZEN_STATUSES:
            return f"the inspection is {row.status}; the edit is kept for review"
        return None

    async def submit(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        from server.inspections.submission import submit_inspection

        await submit_inspection(ctx, row, fields)

    def scope(self, actor: Actor) -> ColumnElement[bool] | bool:
        if actor.is_staff:
            return True
        if actor.role == Role.developer_rep:
            return Inspection.kind.in_(rules.ACCEPTANCE_KINDS)
        return False


def _acceptance_children(model: Any, actor: Actor) -> ColumnElement[bool] | bool:
    if actor.is_staff:
        return True
    if actor.role == Role.developer_rep:
        return model.inspection_id.in_(select(Inspection.id).where(Inspection.kind.in_(rules.ACCEPTANCE_KINDS)))
    return False


def _checked_answer(
    insp: InspectionFacts, index: TemplateIndex | None, row: Any, fields: dict[str, Any]
) -> dict[str, Any]:
    """An answer's checks once its inspection and template are known
    (`ItemResultSpec.validate`, one answer; `checked_creates`, a batch)."""
    _parent_frozen(insp)
    section_key = fields.get("section_key", row.section_key if row else "")
    instance_id = fields.get("instance_id", row.instance_id if row else "") or ""
    item_key = fields.get("item_key", row.item_key if row else "")
    if row is None:
        fields["inspection_id"] = insp.id
        fields["instance_id"] = instance_id
    if index is None:
        raise Rejected("the inspection's template version is unknown", code="invalid")
    ref = index.items.get(item_key)
    if ref is None:
        raise Rejected(f"item_key: unknown item '{item_key}'", code="invalid")
    if ref.section.key != section_key:
        raise Rejected(f"section_key: item '{item_key}' is in section '{ref.section.key}'", code="invalid")
    if ref.repeatable != bool(instance_id):
        raise Rejected("instance_id: required for a repeatable section, empty otherwise", code="invalid")
    photos = [str(p) for p in fields.get("photos") or []]
    answer = Answer(
        value=fields.get("value", row.value if row else None),
        note=fields.get("note") or "",
        photos=photos,
        severity=fields.get("severity"),
        responsible=fields.get("responsible"),
    )
    _require_answer(ref.item, answer, f"answers.{item_key}")
    if "photos" in fields:
        fields["photos"] = photos
    if "answered_at" in fields:
        fields["answered_at"] = as_instant(fields["answered_at"], "answered_at")
    return fields


def _require_answer(item: Item, answer: Answer, path: str) -> None:
    """Rejected, naming what is wrong (under `path`), unless the item takes `answer`."""
    try:
        problems = check_answer(item, answer, path)
    except (TypeError, ValueError) as exc:
        raise Rejected(f"value: {exc}", code="invalid") from exc
    if problems:
        raise Rejected("; ".join(f"{p.path}: {p.message}" for p in problems), code="invalid")


class ItemResultSpec(EntitySpec):
    name = "item_result"
    model = ItemResult
    rank = 20
    fields: ClassVar[dict[str, FieldRule]] = {
        "inspection_id": IMMUTABLE,
        "section_key": IMMUTABLE,
        "instance_id": IMMUTABLE,
        "item_key": IMMUTABLE,
        "instance_label": LATEST,
        "value": FieldRule(Rule.fail_wins, is_failure=lambda record, value: record["is_failure"](value)),
        "note": FieldRule(Rule.add_wins_text),
        "photos": FieldRule(Rule.add_wins_set),
        "severity": LATEST,
        "responsible": LATEST,
        "location": LATEST,
        "answered_at": LATEST,
    }
    required = ("inspection_id", "section_key", "item_key")
    batchable = True  # answers arrive by the hundred: see sync.push.apply_batch
    # A create is refused on a frozen inspection (validate), and after_apply acts
    # only on frozen ones: so a batch of new answers is written as rows.
    row_creates = True

    async def prefetch(self, db: AsyncSession, mutations: list[Any], rows: dict[uuid.UUID, Any]) -> list[Any]:
        """The inspections of a batch of answers — those named by new answers and
        those of the existing ones — in one query (then `load_inspection` and
        `get_inspection` find them). For a batch of new answers only, the facts
        their checks read (`InspectionFacts`), not whole objects: a third of the
        time for 125 inspections on SQLite, where each object's timestamps and
        UUIDs are parsed from text."""
        named = {row.inspection_id for row in rows.values()}
        sent_ids = {str(v) for m in mutations if (v := m.fields.get("inspection_id")) is not None}
        for sent in sent_ids:  # each id parsed once (a batch names an inspection many times)
            try:
                named.add(as_uuid(sent, "inspection_id"))
            except Rejected:
                continue
        if not rows:
            return list((await db.execute(select(*_FACTS).where(among(db, Inspection.id, named)))).all())
        return list((await db.scalars(select(Inspection).where(among(db, Inspection.id, named)))).all())

    async def project_for_create(self, ctx: ApplyContext, key: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
        return (await load_inspection(ctx, fields["inspection_id"])).project_id

    async def validate(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> dict[str, Any]:
        _immutable(row, fields, ("inspection_id", "section_key", "instance_id", "item_key"))
        insp = await load_inspection(ctx, fields.get("inspection_id", row.inspection_id if row else None))
        index = await template_index(ctx.db, insp.template_version_id)
        return _checked_answer(insp, index, row, fields)

    async def checked_creates(
        self, ctx: ApplyContext, mutations: list[Any]
    ) -> list[tuple[uuid.UUID, dict[str, Any]]] | None:
        """A batch of new answers: each inspection and its template looked up once,
        the caller's role checked once, then each answer as `validate` checks it."""
        _staff_only(ctx)  # (`authorize`: the caller's role alone decides)
        looked_up: dict[Any, tuple[InspectionFacts, TemplateIndex | None]] = {}
        out = []
        for m in mutations:
            fields = dict(m.fields)
            sent = fields["inspection_id"]
            found = looked_up.get(sent) if isinstance(sent, str) else None
            if found is None:
                insp = await load_inspection(ctx, sent)
                found = (insp, await template_index(ctx.db, insp.template_version_id))
                if isinstance(sent, str):
                    looked_up[sent] = found
            out.append((found[0].project_id, _checked_answer(found[0], found[1], None, fields)))
        return out

    async def authorize(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        _staff_only(ctx)

    def row_values(
        self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]
    ) -> dict[str, Any]:
        address = (fields["inspection_id"], fields["section_key"], fields["instance_id"], fields["item_key"])
        if not rules.is_item_result_id(key, *address):
            expected = rules.item_result_id(*address)
            raise Rejected(f"id: an item result's id is UUIDv5 of its address; expected {expected}", code="invalid")
        # Every device field, so that all rows of a batch have the same columns (one
        # INSERT); created_at: the push's time, by which the audit finds the batch's entry.
        row = {
            "id": key,
            "project_id": project_id,
            "answered_by": ctx.actor.user_id,
            "created_at": ctx.now,
            "updated_at": ctx.now,
            **_BLANK_ANSWER,
            "photos": [],  # (the column's default; a list of its own)
        }
        row.update(fields)
        return row

    async def check_resolution(self, ctx: ApplyContext, row: Any, field: str, value: Any) -> None:
        """A value or photo list chosen in a resolution is an answer the item
        takes, as a device's would be (`check_answer`), the inspection frozen or not."""
        if field not in {"value", "photos"}:
            return
        insp = await get_inspection(ctx, row.inspection_id)
        index = await template_index(ctx.db, insp.template_version_id) if insp is not None else None
        ref = index.items.get(row.item_key) if index is not None else None
        if ref is None:
            raise Rejected("the answer's template item is unknown", code="invalid")
        photos = value if field == "photos" else row.photos
        if not isinstance(photos, list) or not all(isinstance(p, str) for p in photos):
            raise Rejected("photos: expected a list of photo ids", code="invalid")
        _require_answer(ref.item, Answer(value=value if field == "value" else row.value, photos=photos), "resolution")

    async def merge_record(self, ctx: ApplyContext, row: Any) -> dict[str, Any]:
        insp = await get_inspection(ctx, row.inspection_id)
        assert insp is not None
        index = await template_index(ctx.db, insp.template_version_id)
        item = index.items[row.item_key].item if index and row.item_key in index.items else None

        def is_failure(value: Any) -> bool:
            return item is not None and outcome(item, Answer(value=value)) == "fail"

        return {"is_failure": is_failure}

    async def after_apply(self, ctx: ApplyContext, row: Any, created: bool, changed: set[str]) -> None:
        insp = await get_inspection(ctx, row.inspection_id)
        if insp is not None and insp.status in rules.FROZEN_STATUSES and changed & {"value", "severity"}:
            # Only a manager's conflict resolution reaches a frozen inspection.
            from server.tickets.services import open_tickets_for

            await open_tickets_for(ctx, insp)

    def scope(self, actor: Actor) -> ColumnElement[bool] | bool:
        return _acceptance_children(ItemResult, actor)


#: Every device field of an answer, None (`ItemResultSpec.row_values`: all rows of a
#: batch have the same columns, one INSERT).
_BLANK_ANSWER: dict[str, Any] = dict.fromkeys(ItemResultSpec.fields)


class CheckpointScanSpec(EntitySpec):
    name = "checkpoint_scan"
    model = CheckpointScan
    rank = 30
    fields: ClassVar[dict[str, FieldRule]] = {
        "code": IMMUTABLE,
        "inspection_id": IMMUTABLE,
        "scanned_at": IMMUTABLE,
        "latitude": IMMUTABLE,
        "longitude": IMMUTABLE,
        "accuracy_m": IMMUTABLE,
    }
    required = ("code", "scanned_at")

    async def project_for_create(self, ctx: ApplyContext, key: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
        place = await _place_by_code(ctx, str(fields["code"]))
        ctx.cache[f"scan:{key}"] = place
        return place[2]

    async def validate(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> dict[str, Any]:
        if row is not None:
            raise LateEdit("a checkpoint scan is a record of fact and never changes")
        fields["scanned_at"] = as_instant(fields["scanned_at"], "scanned_at")
        for name in ("latitude", "longitude", "accuracy_m"):
            v = fields.get(name)
            if v is not None and not isinstance(v, int | float):
                raise Rejected(f"{name}: not a number", code="invalid")
        lat, lon = fields.get("latitude"), fields.get("longitude")
        if (lat is None) != (lon is None) or (
            lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)
        ):
            raise Rejected("latitude/longitude: give both, within range", code="invalid")
        if fields.get("inspection_id") is not None:
            insp = await load_inspection(ctx, fields["inspection_id"])
            fields["inspection_id"] = insp.id
        return fields

    async def authorize(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        _staff_only(ctx)

    def build(self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]) -> Any:
        place_type, place_id, _project = ctx.cache[f"scan:{key}"]
        return CheckpointScan(
            id=key,
            project_id=project_id,
            place_type=place_type,
            place_id=place_id,
            user_id=ctx.actor.user_id,
            device_id=ctx.device_id,
            received_at=ctx.now,
            **fields,
        )

    def scope(self, actor: Actor) -> bool:
        return bool(actor.is_staff)


async def _place_by_code(ctx: ApplyContext, code: str) -> tuple[str, uuid.UUID, uuid.UUID]:
    """The tagged place a scan names (the QR feature's lookup), if in the caller's projects."""
    place = await find_place(ctx.db, code)
    if place is None or place.project.id not in ctx.actor.project_ids:
        raise Rejected("code: no such tag in your projects", code="not_found")
    return place.kind, place.obj.id, place.project.id


class SignatureSpec(EntitySpec):
    name = "signature"
    model = Signature
    rank = 40
    fields: ClassVar[dict[str, FieldRule]] = {
        "inspection_id": IMMUTABLE,
        "role": IMMUTABLE,
        "signer_name": IMMUTABLE,
        "photo_id": IMMUTABLE,
        "signed_at": IMMUTABLE,
    }
    required = ("inspection_id", "role", "signer_name", "signed_at")

    async def project_for_create(self, ctx: ApplyContext, key: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
        return (await load_inspection(ctx, fields["inspection_id"])).project_id

    async def validate(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> dict[str, Any]:
        if row is not None:
            raise LateEdit("a signature never changes once recorded")
        insp = await load_inspection(ctx, fields["inspection_id"])
        if insp.status not in rules.FROZEN_STATUSES:
            raise Rejected("submit the inspection before it is signed", code="not_submitted")
        require_one_of(fields["role"], rules.SIGNER_ROLES, "role")
        fields["inspection_id"] = insp.id
        fields["signed_at"] = as_instant(fields["signed_at"], "signed_at")
        if fields.get("photo_id") is not None:
            fields["photo_id"] = as_uuid(fields["photo_id"], "photo_id")
        return fields

    async def authorize(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        role = fields.get("role")
        if role == "developer_rep" and ctx.actor.role != Role.developer_rep and not ctx.actor.is_staff:
            raise Rejected("forbidden", code="forbidden")
        if not ctx.actor.is_staff and ctx.actor.role != Role.developer_rep:
            raise Rejected("contractors do not sign inspections", code="forbidden")

    def build(self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]) -> Any:
        return Signature(id=key, project_id=project_id, recorded_by=ctx.actor.user_id, received_at=ctx.now, **fields)

    async def after_apply(self, ctx: ApplyContext, row: Any, created: bool, changed: set[str]) -> None:
        insp = await get_inspection(ctx, row.inspection_id)
        assert insp is not None
        roles = set(
            (
                await ctx.db.scalars(
                    select(Signature.role).where(Signature.inspection_id == insp.id, Signature.deleted.is_(False))
                )
            ).all()
        )
        needed = rules.SIGNATURES_TO_SIGN.get(insp.kind, frozenset({"inspector"}))
        if needed <= roles and insp.status != "signed":
            insp.status = "signed"
            await ctx.db.flush()

    def frozen_reason(self, row: Any) -> str | None:
        return "a signature never changes once recorded"

    def scope(self, actor: Actor) -> ColumnElement[bool] | bool:
        return _acceptance_children(Signature, actor)


SPECS: list[EntitySpec] = [InspectionSpec(), ItemResultSpec(), CheckpointScanSpec(), SignatureSpec()]
