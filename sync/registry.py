"""What the sync engine knows of the synced records: a registry that `server`
fills at start-up. Each feature declares its entities — the ORM model, the merge
rule of each field a device may write, who may write and read — and `sync` holds
the mechanism (ordering, idempotency, merge, feed, scope)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from sync.merge import FieldRule


class Actor(Protocol):
    """The authenticated caller, as `server` describes it."""

    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def role(self) -> Any: ...
    @property
    def org_id(self) -> uuid.UUID: ...
    @property
    def company_id(self) -> uuid.UUID: ...
    @property
    def project_ids(self) -> frozenset[uuid.UUID]: ...
    @property
    def is_staff(self) -> bool: ...
    @property
    def is_manager(self) -> bool: ...
    @property
    def sees_personal_data(self) -> bool: ...


@dataclass
class ApplyContext:
    """Everything a feature's hooks may need while one mutation is applied."""

    db: AsyncSession
    actor: Actor
    device_id: str
    mutation_id: int
    client_time: datetime | None
    now: datetime
    #: per-push cache features may use (e.g. a scanned place, from its check to its row)
    cache: dict[Any, Any] = field(default_factory=dict)
    #: ids of conflicts recorded by this mutation
    conflict_ids: list[uuid.UUID] = field(default_factory=list)
    #: In a batch (push step 7, fast path): the batch's records by id, loaded and
    #: locked at once; writes are flushed once at the end of the batch.
    batch_rows: dict[uuid.UUID, Any] | None = None
    #: In a batch: what the entity's `prefetch` loaded (e.g. parents), by id; the
    #: feature may keep more there for the batch's length (other keys than ids).
    batch_loaded: dict[Any, Any] | None = None


class EntitySpec:
    """Base class of a synced entity's declaration. Subclass per entity."""

    #: Name on the wire ("inspection", "item_result" …).
    name: ClassVar[str]
    #: The ORM class; it mixes in `sync.columns.Synced` and has a UUID `id`.
    model: ClassVar[type[Any]]
    #: Order of this entity inside one version on the feed (parents first).
    rank: ClassVar[int]
    #: Fields a device may write, with their merge rules. Others are server-only.
    fields: ClassVar[dict[str, FieldRule]] = {}
    #: Fields a device must give when it creates the record.
    required: ClassVar[tuple[str, ...]] = ()
    #: Devices may create records of this entity.
    device_creates: ClassVar[bool] = True
    #: A push made only of puts of this entity may be applied as one batch (one
    #: savepoint, records and parents loaded at once, one flush), falling back to
    #: one savepoint per mutation if anything in it is refused. Only for entities
    #: whose hooks read through `ctx.db.get` and never flush.
    batchable: ClassVar[bool] = False
    #: A batch made only of new records of this entity is written as rows, one
    #: INSERT per set of columns (`row_values`), without ORM objects. Only for
    #: entities whose `after_apply` does nothing for a create (not called there),
    #: whose table has `created_at` and whose `row_values` sets it to `ctx.now`
    #: (the server's audit finds a batch's entry by it).
    row_creates: ClassVar[bool] = False
    #: Devices may write at all (False: pull only, e.g. places, tickets' server fields).
    #: A device-written model has a `deleted` column: a device's delete is soft.
    device_writes: ClassVar[bool] = True

    # --- writing ------------------------------------------------------------------------

    async def project_for_create(self, ctx: ApplyContext, key: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
        """The project a new record belongs to (checked against the caller's scope)."""
        from sync.errors import Rejected

        raise Rejected(f"a device cannot create {self.name} records", code="forbidden")

    def build(self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]) -> Any:
        """A new ORM object for a device-made record."""
        return self.model(**self.row_values(ctx, key, project_id, fields))

    def row_values(
        self, ctx: ApplyContext, key: uuid.UUID, project_id: uuid.UUID, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """The column values of a new record (the table's defaults fill the rest);
        `build` makes the ORM object from the same values."""
        return {"id": key, "project_id": project_id, **fields}

    async def prefetch(self, db: AsyncSession, mutations: list[Any], rows: dict[uuid.UUID, Any]) -> list[Any]:
        """Load what a batch of puts will read (e.g. parents) in a few queries;
        `rows` are the batch's records that exist (loaded and locked already). The
        objects returned are kept alive for the batch."""
        return []

    async def authorize(self, ctx: ApplyContext, row: Any | None, fields: dict[str, Any]) -> None:
        """Raise `sync.errors.Rejected` if the caller may not write this. `row` is
        None for a create."""

    async def validate(self, ctx: ApplyContext, row: Any | None, fields: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise incoming values; raise Rejected naming the field."""
        return fields

    async def checked_creates(
        self, ctx: ApplyContext, mutations: list[Any]
    ) -> list[tuple[uuid.UUID, dict[str, Any]]] | None:
        """A batch of new records (push step 7, written as rows) checked at once:
        for each mutation, the project and the fields that `project_for_create`,
        `validate` and `authorize` would give one by one. Raise `Rejected` or
        `LateEdit` if any of them would be refused (the push then applies the batch
        one mutation at a time, and the refusal reaches its mutation). None: check
        them one at a time (the default). For entities whose creates arrive by the
        hundred, so that what is the same for all of them is looked up once."""
        return None

    async def check_resolution(self, ctx: ApplyContext, row: Any, field: str, value: Any) -> None:
        """Raise `Rejected` if a manager's resolution may not set `field` of `row`
        to `value` (already of the column's type and fit for it, `sync.values`):
        what `validate` checks of the value, whatever the record's state (a
        resolution reaches frozen records)."""

    def frozen_reason(self, row: Any) -> str | None:
        """Why this record no longer accepts edits (submitted, signed, closed), or None."""
        return None

    async def merge_record(self, ctx: ApplyContext, row: Any) -> dict[str, Any]:
        """What the merge rules may look at besides the field (e.g. the template item)."""
        return {}

    async def after_apply(self, ctx: ApplyContext, row: Any, created: bool, changed: set[str]) -> None:
        """Domain effects of an applied change (e.g. a ticket's status)."""

    async def submit(self, ctx: ApplyContext, row: Any, fields: dict[str, Any]) -> None:
        from sync.errors import Rejected

        raise Rejected(f"{self.name} cannot be submitted", code="unsupported_op")

    # --- reading ------------------------------------------------------------------------

    def scope(self, actor: Actor) -> ColumnElement[bool] | bool:
        """Which rows of the caller's projects it receives: True (all), a clause,
        or False (none)."""
        return bool(actor.is_staff)

    @property
    def table(self) -> Any:
        """The table the feed reads (with `id`, `project_id`, `version`)."""
        return self.model.__table__

    #: Columns never sent in `data` (they are the change's own fields).
    FEED_KEYS: ClassVar[frozenset[str]] = frozenset({"id", "project_id", "version"})

    def feed_columns(self, actor: Actor) -> tuple[str, ...]:
        """The columns of `table` this caller receives in a change's `data`, in
        table order (the pull reads only these). Override to hide columns."""
        return tuple(c.name for c in self.table.columns if c.name not in self.FEED_KEYS)


class Registry:
    def __init__(self) -> None:
        self._by_name: dict[str, EntitySpec] = {}
        self._ranked: list[EntitySpec] = []

    def register(self, spec: EntitySpec) -> None:
        if spec.name in self._by_name:
            raise ValueError(f"sync entity {spec.name!r} registered twice")
        self._by_name[spec.name] = spec
        self._ranked = sorted(self._by_name.values(), key=lambda s: s.rank)
        if spec.model is not object:
            # Tombstones of hard-deleted rows carry the entity's name on the wire.
            spec.model.__sync_entity__ = spec.name

    def get(self, name: str) -> EntitySpec | None:
        return self._by_name.get(name)

    def all(self) -> list[EntitySpec]:
        """Every entity, in feed order (by rank)."""
        return list(self._ranked)
