"""Push: apply a device's mutations exactly once, in order.

The numbered steps match docs/sync-protocol.md §Push line for line.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sync import stamping
from sync.bulk import among, insert_rows
from sync.conflicts import record_conflict, resolve_conflict
from sync.errors import BadBatch, LateEdit, MutationGap, Rejected, UnsupportedProtocol, may_hold_nul, require_no_nul
from sync.merge import MISSING, merge_field
from sync.protocol import (
    MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
    Mutation,
    MutationResult,
    PushRequest,
    PushResponse,
)
from sync.registry import Actor, ApplyContext, EntitySpec, Registry
from sync.tables import THIS_DEVICE, devices, results
from sync.values import check_values


def check_protocol(version: int) -> None:
    if not MIN_PROTOCOL_VERSION <= version <= PROTOCOL_VERSION:
        raise UnsupportedProtocol(version, (MIN_PROTOCOL_VERSION, PROTOCOL_VERSION))


async def register_device(db: AsyncSession, actor: Actor, device_id: str, protocol: int, **values: Any) -> None:
    """Add the device's row (`sync_devices`, with `values`) unless another request of
    this device has just added it; a device is registered by its first push or by
    the last page of its first pull."""
    try:
        async with db.begin_nested():
            await db.execute(
                insert(devices).values(
                    user_id=actor.user_id, device_id=device_id, last_mutation_id=0, protocol=protocol, **values
                )
            )
    except IntegrityError:
        pass  # another request of this device registered it first


#: Steps 4 and 8's statements on the device's row, built once.
_LOCK_DEVICE = select(devices.c.last_mutation_id).where(THIS_DEVICE).with_for_update()
_DEVICE_DONE = (
    update(devices)
    .where(THIS_DEVICE)
    .values(
        last_mutation_id=bindparam("last", type_=devices.c.last_mutation_id.type),
        protocol=bindparam("request_protocol", type_=devices.c.protocol.type),
        last_push_at=bindparam("now", type_=devices.c.last_push_at.type),
        client_time=bindparam("request_client_time", type_=devices.c.client_time.type),
    )
)


async def lock_device(db: AsyncSession, actor: Actor, device_id: str, protocol: int) -> int:
    """The device's last applied mutation id, with its row locked until commit."""
    key = {"of_user": actor.user_id, "of_device": device_id}
    row = (await db.execute(_LOCK_DEVICE, key)).first()
    if row is None:
        await register_device(db, actor, device_id, protocol)
        row = (await db.execute(_LOCK_DEVICE, key)).first()
        assert row is not None
    return int(row[0])


#: How often a push whose transaction the database chose to abort (deadlock,
#: serialization failure) is run again before the error reaches the device.
ATTEMPTS = 3
_TRANSIENT = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


class _RecordExists(Exception):
    """Step 7's batch of new records, written without a savepoint, met a record that
    exists: the transaction is rolled back and the push run again without that shortcut."""


async def push(
    db: AsyncSession, registry: Registry, actor: Actor, token_device_id: str, request: PushRequest
) -> PushResponse:
    """Steps 1–10, in one transaction; run again from the start if the database
    aborts it to break a deadlock (two pushes creating the same record at once,
    one stamping at insert, see `_create_rows`), or if a batch written as new
    records met one that exists (`apply_batch`). Nothing of an aborted run stays."""
    attempts, new_rows = 0, True
    while True:
        try:
            return await _push(db, registry, actor, token_device_id, request, new_rows=new_rows)
        except _RecordExists:
            await db.rollback()
        except DBAPIError as exc:
            attempts += 1
            if attempts == ATTEMPTS or getattr(exc.orig, "sqlstate", None) not in _TRANSIENT:
                raise
            await db.rollback()
        # Run again looking the records up: one exists, or another writer is making
        # them (a deadlock of two pushes creating the same records).
        new_rows = False


async def _push(
    db: AsyncSession, registry: Registry, actor: Actor, token_device_id: str, request: PushRequest, *, new_rows: bool
) -> PushResponse:
    # 1. Protocol version: the current one or the one before, else 426 and nothing applied.
    check_protocol(request.protocol)
    # 2. The device named in the request is the device the access token was issued to.
    if request.device_id != token_device_id:
        raise BadBatch("device_id does not match the device this token was issued to")
    # 3. Mutation ids in a batch rise by exactly one.
    ids = [m.id for m in request.mutations]
    if any(b != a + 1 for a, b in itertools.pairwise(ids)):
        raise BadBatch("mutation ids in a batch must rise by one")
    # 4. Lock the device's row: pushes of one device are applied one at a time.
    last = await lock_device(db, actor, request.device_id, request.protocol)
    # 5. Mutations already applied are answered from their stored results ("applied"
    #    when none is stored).
    answered = await stored_results(db, actor, request.device_id, [i for i in ids if i <= last])
    fresh = [m for m in request.mutations if m.id > last]
    # 6. A gap (the first new id is not last + 1) is refused: the device resends in order.
    if fresh and fresh[0].id != last + 1:
        raise MutationGap(expected=last + 1, got=fresh[0].id)
    now = datetime.now(UTC)
    out: list[MutationResult] = list(answered)
    recorded: list[dict[str, Any]] = []
    cache: dict[Any, Any] = {}  # shared by the mutations of this push (ApplyContext.cache)

    def context(mutation: Mutation) -> ApplyContext:
        return ApplyContext(
            db=db,
            actor=actor,
            device_id=request.device_id,
            mutation_id=mutation.id,
            client_time=mutation.client_time,
            now=now,
            cache=cache,
        )

    # 7. Apply the new mutations: a batch of plain puts of one batchable entity at
    #    once when nothing in it is refused, else each in its own savepoint.
    batch = await apply_batch(db, registry, fresh, context, new_rows=new_rows)
    for i, mutation in enumerate(fresh):
        result = batch[i] if batch is not None else await apply_one(context(mutation), registry, mutation)
        # 8. Record its result in the same transaction, unless it is a plain "applied"
        #    (what step 5 answers for an id at or below the device's last one) …
        if result != MutationResult(id=mutation.id, status="applied"):
            recorded.append(
                {
                    "user_id": actor.user_id,
                    "device_id": request.device_id,
                    "mutation_id": mutation.id,
                    "status": result.status,
                    "result": msgspec.to_builtins(result),
                    "entity": mutation.entity,
                    "entity_id": mutation.key,
                    "client_time": mutation.client_time,
                    "received_at": now,
                }
            )
        out.append(result)
        last = mutation.id
    if recorded:  # (one multi-row insert, outside the mutations' savepoints)
        await db.execute(insert(results), recorded)
    # … together with the device's last applied mutation id.
    await db.execute(
        _DEVICE_DONE,
        {
            "of_user": actor.user_id,
            "of_device": request.device_id,
            "last": last,
            "request_protocol": request.protocol,
            "now": now,
            "request_client_time": request.client_time,
        },
    )
    # 9. Commit: the stamping hook bumps each touched project's clock and stamps rows.
    await db.commit()
    # 10. Answer with one result per mutation sent.
    return PushResponse(protocol=PROTOCOL_VERSION, last_mutation_id=last, results=out)


async def stored_results(db: AsyncSession, actor: Actor, device_id: str, ids: list[int]) -> list[MutationResult]:
    if not ids:
        return []
    rows = await db.execute(
        select(results.c.result).where(
            (results.c.user_id == actor.user_id) & (results.c.device_id == device_id) & results.c.mutation_id.in_(ids)
        )
    )
    found = [msgspec.convert(r[0], MutationResult) for r in rows]
    known = {r.id for r in found}
    # Plain "applied" results are not stored (step 8), and the others are pruned
    # after the retention period: an applied mutation either way.
    found += [MutationResult(id=i, status="applied") for i in ids if i not in known]
    return sorted(found, key=lambda r: r.id)


class _Refused(Exception):
    """Something in a batch is refused: apply that batch one mutation at a time."""


@contextlib.asynccontextmanager
async def _savepoint(db: AsyncSession) -> AsyncIterator[None]:
    """A savepoint; if it rolls back, the tombstones recorded inside go with it."""
    mark = stamping.checkpoint(db.sync_session)
    try:
        async with db.begin_nested():
            yield
    except BaseException:
        stamping.restore(db.sync_session, mark)
        raise


def _result(m: Mutation, ctx: ApplyContext) -> MutationResult:
    """An applied mutation's result: merged with conflicts recorded, or plainly applied."""
    if ctx.conflict_ids:
        return MutationResult(id=m.id, status="conflict", code="merged", conflicts=ctx.conflict_ids)
    return MutationResult(id=m.id, status="applied")


async def apply_batch(
    db: AsyncSession,
    registry: Registry,
    batch: list[Mutation],
    context: Callable[[Mutation], ApplyContext],
    *,
    new_rows: bool = True,
) -> list[MutationResult] | None:
    """7 (fast path). All or nothing: a batch of records the device never saw (no
    `base`) is first tried as new rows without looking them up (`_create_rows`,
    with `new_rows`) and without a savepoint: a SQLite savepoint copies every page
    the batch's rows change into its journal, which cost a push of 10,000 answers
    15–20 % (docs/performance.md §Sync). One that exists after all fails the INSERT
    on its key and raises `_RecordExists`: `push` rolls the transaction back and
    runs it again with `new_rows` false. Otherwise, or then, in one savepoint, the
    records are loaded and locked in one query, the feature's prefetch loads what
    they read, every mutation is validated and merged exactly as one at a time, and
    the writes are flushed once. Anything refused (rejected, late edit, constraint)
    rolls the whole savepoint back (the new rows' checks all come before their
    first write) and the caller applies the batch one mutation at a time, so the
    results are the same either way. None when the batch does not qualify or fell back."""
    spec = registry.get(batch[0].entity) if batch else None
    if spec is None or not spec.batchable or any(m.op != "put" or m.entity != spec.name for m in batch):
        return None
    keys = list({m.key for m in batch})
    try:
        if new_rows and spec.row_creates and not any(m.base for m in batch) and len(keys) == len(batch):
            # Records this device never saw (no base): most likely new, so written
            # without looking them up first.
            fresh = {obj.id: obj for obj in await spec.prefetch(db, batch, {})}
            try:
                return await _create_rows(db, spec, batch, context, fresh)
            except IntegrityError as exc:  # (written, some of it: only a rollback undoes it)
                raise _RecordExists from exc
        async with _savepoint(db):
            rows: dict[uuid.UUID, Any] = {
                r.id: r
                for r in (
                    await db.scalars(
                        select(spec.model)
                        .where(among(db, spec.model.id, keys))
                        .with_for_update()
                        .execution_options(populate_existing=True)
                    )
                ).all()
            }
            loaded = {obj.id: obj for obj in await spec.prefetch(db, batch, rows)}
            if spec.row_creates and not rows and len(keys) == len(batch):
                return await _create_rows(db, spec, batch, context, loaded)
            out = []
            for m in batch:
                ctx = context(m)
                ctx.batch_rows = rows
                ctx.batch_loaded = loaded
                try:
                    await _apply(ctx, registry, m)
                except (Rejected, LateEdit) as exc:
                    raise _Refused from exc
                out.append(_result(m, ctx))
            await db.flush()
    except (_Refused, IntegrityError):
        return None
    return out


async def _create_rows(
    db: AsyncSession,
    spec: EntitySpec,
    batch: list[Mutation],
    context: Callable[[Mutation], ApplyContext],
    loaded: dict[Any, Any],
) -> list[MutationResult]:
    """7 (fast path, a batch of new records only): each mutation is checked exactly
    as `_create` checks it (at once where the entity can: `checked_creates`), then
    all rows are written with one INSERT per set of columns (`spec.row_values`,
    `sync.bulk.insert_rows`) instead of one ORM object each, already stamped: each
    project's version is claimed (its clock bumped and locked to the commit,
    `stamping.claim`) just before. The rows are written for the entity, so that the
    server's audit records them (`sync.bulk.on_insert_rows`). Raises _Refused if
    any mutation is refused, before anything is written (every check comes first)."""
    checked: list[tuple[uuid.UUID, dict[str, Any]]] = []
    ctx = context(batch[0])  # for the checks of the whole batch (`checked_creates`)
    ctx.batch_loaded = loaded
    try:
        if may_hold_nul([(m.fields, m.base) for m in batch]):  # (one pass for the batch: ~3× faster)
            for m in batch:
                _check_text(m)
        for m in batch:
            _check_create_fields(spec, m)
        at_once = await spec.checked_creates(ctx, batch)
        if at_once is not None:
            for m, (project_id, fields) in zip(batch, at_once, strict=True):
                _check_scope(ctx, project_id)
                checked.append((project_id, spec.row_values(ctx, m.key, project_id, fields)))
        else:
            for m in batch:
                one = context(m)
                one.batch_loaded = loaded
                project_id, fields = await _feature_checked_create(one, spec, m)
                checked.append((project_id, spec.row_values(one, m.key, project_id, fields)))
    except (Rejected, LateEdit) as exc:
        raise _Refused from exc
    out = [MutationResult(id=m.id, status="applied") for m in batch]
    # Clocks in one order (by id), as at commit, so two writers cannot deadlock on them.
    versions = {p: await stamping.claim(db, p) for p in sorted({p for p, _ in checked}, key=str)}
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for project_id, values in checked:
        values["version"] = versions[project_id]
        by_columns.setdefault(tuple(values), []).append(values)  # (one row_values: one order)
    for rows in by_columns.values():
        await insert_rows(db, spec.table, rows, entity=spec.name)
    return out


async def apply_one(ctx: ApplyContext, registry: Registry, mutation: Mutation) -> MutationResult:
    try:
        async with _savepoint(ctx.db):
            await _apply(ctx, registry, mutation)
    except Rejected as exc:
        return MutationResult(id=mutation.id, status="rejected", reason=exc.reason, code=exc.code)
    except LateEdit as exc:
        await _keep_late_edit(ctx, registry, mutation, exc)
        return MutationResult(
            id=mutation.id, status="conflict", reason=exc.reason, code="late_edit", conflicts=ctx.conflict_ids
        )
    except IntegrityError as exc:
        return MutationResult(
            id=mutation.id,
            status="rejected",
            code="integrity",
            reason=f"refused by a database constraint: {str(exc.orig).splitlines()[0][:200]}",
        )
    return _result(mutation, ctx)


def _check_text(m: Mutation) -> None:
    require_no_nul(m.fields, "fields")
    require_no_nul(m.base, "base")


async def _apply(ctx: ApplyContext, registry: Registry, m: Mutation) -> None:
    _check_text(m)
    if m.op == "resolve":
        await resolve_conflict(ctx, registry, m.key, m.fields)
        return
    spec = registry.get(m.entity)
    if spec is None or not spec.device_writes:
        raise Rejected(f"unknown or read-only entity '{m.entity}'", code="unknown_entity")
    # 7a. Load the record (locked for the rest of the transaction).
    if ctx.batch_rows is not None:
        row = ctx.batch_rows.get(m.key)
    else:
        row = await ctx.db.get(spec.model, m.key, with_for_update=True, populate_existing=True)
    if row is not None and row.project_id not in ctx.actor.project_ids:
        raise Rejected("record is outside your projects", code="out_of_scope")
    if m.op == "put":
        if row is None:
            await _create(ctx, spec, m)
        else:
            await _update(ctx, spec, row, m)
    elif m.op == "delete":
        await _delete(ctx, spec, row)
    elif m.op == "submit":
        if row is None:
            raise Rejected(f"no {spec.name} {m.key} to submit", code="not_found")
        _check_not_deleted(spec, row)
        await spec.authorize(ctx, row, {})
        await spec.submit(ctx, row, m.fields)


def _check_fields(spec: EntitySpec, fields: dict[str, Any]) -> None:
    if not fields.keys() <= spec.fields.keys():
        unknown = fields.keys() - spec.fields.keys()
        raise Rejected(f"unknown or read-only field(s) of {spec.name}: {', '.join(sorted(unknown))}", code="invalid")
    check_values(spec.table, fields)  # (what each column can hold: text within its length …)


def _check_not_deleted(spec: EntitySpec, row: Any) -> None:
    if row.deleted:
        raise LateEdit(f"{spec.name} was deleted; the edit is kept for review")


async def _create(ctx: ApplyContext, spec: EntitySpec, m: Mutation) -> None:
    project_id, fields = await _checked_create(ctx, spec, m)
    row = spec.build(ctx, m.key, project_id, fields)
    ctx.db.add(row)
    if ctx.batch_rows is None:
        await ctx.db.flush()
    else:
        ctx.batch_rows[m.key] = row  # a later put of the same record in the batch updates it
    await spec.after_apply(ctx, row, True, set(fields))


async def _checked_create(ctx: ApplyContext, spec: EntitySpec, m: Mutation) -> tuple[uuid.UUID, dict[str, Any]]:
    # 7b. A create: project in scope, required fields present, feature's checks.
    _check_create_fields(spec, m)
    return await _feature_checked_create(ctx, spec, m)


async def _feature_checked_create(ctx: ApplyContext, spec: EntitySpec, m: Mutation) -> tuple[uuid.UUID, dict[str, Any]]:
    """7b after the fields' check: the project (in scope) and the feature's checks."""
    project_id = await spec.project_for_create(ctx, m.key, m.fields)
    _check_scope(ctx, project_id)
    fields = await spec.validate(ctx, None, dict(m.fields))
    await spec.authorize(ctx, None, fields)
    return project_id, fields


def _check_create_fields(spec: EntitySpec, m: Mutation) -> None:
    if not spec.device_creates:
        raise Rejected(f"a device cannot create {spec.name} records", code="forbidden")
    _check_fields(spec, m.fields)
    missing = [f for f in spec.required if m.fields.get(f) is None]
    if missing:
        raise Rejected(f"missing required field(s): {', '.join(missing)}", code="invalid")


def _check_scope(ctx: ApplyContext, project_id: uuid.UUID) -> None:
    if project_id not in ctx.actor.project_ids:
        raise Rejected("project is outside your scope", code="out_of_scope")


async def _update(ctx: ApplyContext, spec: EntitySpec, row: Any, m: Mutation) -> None:
    # 7c. An update: refused as a late edit if deleted or frozen; else merged per field.
    _check_fields(spec, m.fields)
    _check_not_deleted(spec, row)
    reason = spec.frozen_reason(row)
    if reason:
        raise LateEdit(reason)
    fields = await spec.validate(ctx, row, dict(m.fields))
    await spec.authorize(ctx, row, fields)
    record = await spec.merge_record(ctx, row)
    base = m.base or {}
    changed: set[str] = set()
    flagged = False
    for name, incoming in fields.items():
        current = getattr(row, name)
        # Compare in wire form (what the device saw): UUIDs, dates as strings.
        current_j, incoming_j = msgspec.to_builtins(current), msgspec.to_builtins(incoming)
        outcome = merge_field(spec.fields[name], record, current_j, incoming_j, base.get(name, MISSING))
        if outcome.conflict:
            cid = await record_conflict(
                ctx,
                spec.name,
                row.id,
                row.project_id,
                name,
                kind=outcome.kind,
                server_value=current_j,
                incoming_value=incoming_j,
                base_value=base.get(name),
                merged_value=outcome.value,
                flagged=outcome.flag,
            )
            ctx.conflict_ids.append(cid)
        flagged = flagged or outcome.flag
        if outcome.value != current_j:
            setattr(row, name, incoming if outcome.value == incoming_j else outcome.value)
            changed.add(name)
    if flagged and hasattr(row, "needs_review"):
        row.needs_review = True
        changed.add("needs_review")
    if ctx.batch_rows is None:
        await ctx.db.flush()
    await spec.after_apply(ctx, row, False, changed)


async def _delete(ctx: ApplyContext, spec: EntitySpec, row: Any | None) -> None:
    # 7d. A delete: idempotent and soft (the row stays, `deleted` true, and reaches
    #     devices as a deletion); refused as a late edit if the record is frozen.
    if row is None or row.deleted:
        return
    reason = spec.frozen_reason(row)
    if reason:
        raise LateEdit(reason)
    await spec.authorize(ctx, row, {})
    row.deleted = True
    await ctx.db.flush()
    await spec.after_apply(ctx, row, False, {"deleted"})


async def _keep_late_edit(ctx: ApplyContext, registry: Registry, m: Mutation, exc: LateEdit) -> None:
    """A refused late edit is never lost: each field becomes an open conflict."""
    spec = registry.get(m.entity)
    assert spec is not None
    row = await ctx.db.get(spec.model, m.key)
    project_id = row.project_id if row is not None else exc.project_id
    assert isinstance(project_id, uuid.UUID)
    fields = m.fields or {"deleted": True}
    for name, incoming in fields.items():
        current = getattr(row, name, None) if row is not None else None
        cid = await record_conflict(
            ctx,
            spec.name,
            m.key,
            project_id,
            name,
            kind="late_edit",
            server_value=current,
            incoming_value=incoming,
            base_value=(m.base or {}).get(name),
            merged_value=current,
            flagged=True,
            note=exc.reason if m.op == "put" else f"{m.op}: {exc.reason}",
        )
        ctx.conflict_ids.append(cid)
