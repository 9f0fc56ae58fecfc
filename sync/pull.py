"""Pull: every change in the caller's scope since its cursor, page by page.

The numbered steps match docs/sync-protocol.md §Pull line for line.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import operator
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    cast,
    exists,
    literal,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from sync import cursor as cursors
from sync.cursor import DONE_RANK, START, Position
from sync.errors import BadBatch
from sync.feed_text import as_feed_text, uuid_text
from sync.protocol import RUNS_PROTOCOL, PullPage, PullRequest, PullRunsPage, RunPage, TemplateRef
from sync.push import check_protocol, register_device
from sync.registry import Actor, EntitySpec, Registry
from sync.tables import THIS_DEVICE, clocks, devices, tombstones

#: Most rows read from one table at a time; bounds memory together with max_bytes.
#: Small enough that a batch's rows are still in the CPU's caches when they are
#: encoded (measured on PostgreSQL, server CPU per first pull: 500 rows 7–10 % less
#: than 2,000, 250 and 1,000 more than 500; docs/performance.md §Sync).
ROWS_PER_QUERY = 500
#: Bytes a change is first guessed to take, to size the first read of a page
#: (later reads go by the changes the page holds already).
GUESS_BYTES = 1024
TOMBSTONE_RANK = DONE_RANK - 1


@dataclass(frozen=True)
class _Group:
    """The run a change belongs in (protocol 3, `sync.protocol.Run`): its entity,
    and the columns of its rows (records) or none (deletions). One object per
    entity and kind (`_group`), so a pull tells a new run by identity."""

    entity: str
    columns: tuple[str, ...]

    @property
    def deleted(self) -> bool:
        return not self.columns


@functools.cache
def _group(entity: str, columns: tuple[str, ...] = ()) -> _Group:
    return _Group(entity, tuple(map(str, columns)))  # (column names may be str subclasses)


#: A change on the feed, one flat tuple: its place in (version, rank, id) order —
#: unique, so comparing two items never reaches what follows — its run, and its
#: JSON (protocol 2: a `Change`; protocol 3: a row of its run).
_Item = tuple[int, int, str, _Group, bytes]
_encode = msgspec.json.Encoder().encode
_key = operator.itemgetter(0, 1, 2)


class _Stream:
    """One table's rows for a page, read in batches after its own last row read:
    `items` the batch, `at` the first not yet taken, `more` whether the batch was
    full (rows may follow its last)."""

    __slots__ = ("after", "at", "items", "more", "read")

    def __init__(self, read: Callable[[Position, int, int], Awaitable[list[_Item]]], pos: Position) -> None:
        self.read, self.after = read, pos
        self.items: list[_Item] = []
        self.at = 0
        self.more = True

    async def refill(self, upto: int, limit: int) -> None:
        self.items = await self.read(self.after, upto, limit)
        self.at, self.more = 0, len(self.items) == limit
        if self.items:
            self.after = _key(self.items[-1])


# The filters of a page, written with bound parameters so that each statement is
# built (and its cache key made) once per shape and reused by every page and pull:
# the project, the position's version and id, and the clock bound.
_P = bindparam("p", type_=Uuid)
_V = bindparam("v", type_=BigInteger)
_AFTER_ID = bindparam("after_id", type_=Uuid)
_UPTO = bindparam("upto", type_=BigInteger)
_ORG = bindparam("org", type_=Uuid)
_LIMIT = bindparam("limit", type_=BigInteger)


def _shape(rank: int, pos: Position) -> str:
    """How a table of this rank continues after `pos` in (version, rank, id) order:
    from the position's version on ("from"), after its id within that version
    ("after"), or past that version ("past")."""
    prank, pid = pos[1], pos[2]
    if rank > prank or (rank == prank and not pid):
        return "from"
    return "after" if rank == prank else "past"


def _params(project_id: uuid.UUID, pos: Position, upto: int, limit: int = 0) -> dict[str, Any]:
    version, _rank, pid = pos
    return {"p": project_id, "v": version, "after_id": uuid.UUID(pid) if pid else None, "upto": upto, "limit": limit}


def _rows_wanted(max_bytes: int, size: int, count: int) -> int:
    """How many rows to read from a table for what is left of the page: enough to
    fill it at the page's bytes per change so far (a guess before the first), a few
    more for changes longer than that, at most ROWS_PER_QUERY. Rows read and not
    taken are read again by the next page, so reading far past the page wastes work."""
    per_change = size / count if count else GUESS_BYTES
    return max(1, min(ROWS_PER_QUERY, int((max_bytes - size) / per_change) + 16))


@functools.cache
def _after(table: Table, shape: str) -> ColumnElement[bool]:
    """Rows of the project strictly after the position, up to the clock bound."""
    col_v, col_id = table.c.version, table.c.id
    if shape == "after":
        # A row-value comparison, which the index on (project_id, version, id)
        # starts at: a page in the middle of one version (a transaction that wrote
        # many rows) neither scans that version's rows already delivered nor sorts
        # them (else paging through one version is quadratic in its size).
        cond = tuple_(col_v, col_id) > tuple_(_V, _AFTER_ID)
    else:
        cond = col_v >= _V if shape == "from" else col_v > _V
    return and_(table.c.project_id == _P, cond, col_v <= _UPTO, col_v > 0)


class _Out(msgspec.Struct, omit_defaults=True, kw_only=True):
    """`Change` as the feed writes it: `data` is the entity's row Struct (below),
    which encodes to the same JSON object as the dict a client decodes."""

    entity: str
    id: uuid.UUID | str  # read as its text by the entity feeds (`sync.feed_text`)
    project_id: uuid.UUID
    version: int
    deleted: bool = False
    data: Any = None


@functools.cache
def _feed_query(table: Table, names: tuple[str, ...]) -> tuple[Any, tuple[int, ...], type[msgspec.Struct]]:
    """For one table and one set of columns, built once: SELECT id, version, <the
    data columns>, each read as the text its JSON holds where the database can
    write it (`sync.feed_text`: UUIDs, timestamps, dates, decimals — no Python
    object made per value only to be encoded back) and JSON columns as their text,
    which goes into the change as it is (`msgspec.Raw`) instead of being parsed here
    and encoded again; the positions of those JSON columns; and a Struct of the
    columns (built from a row in one call, encoded as a JSON object with the columns
    as keys)."""
    cols: list[Any] = []
    raw: list[int] = []
    for i, name in enumerate(names):
        col = table.c[name]
        if isinstance(col.type, JSON):
            cols.append(cast(col, Text).label(name))
            raw.append(i)
        else:
            text = as_feed_text(col)
            cols.append(col if text is None else text.label(name))
    row_struct = msgspec.defstruct(f"{table.name}_row", [(str(n), Any) for n in names])
    return select(uuid_text(table.c.id), table.c.version, *cols), tuple(raw), row_struct


@dataclass(frozen=True)
class _Feed:
    """One entity table as this caller sees it, worked out once per pull: which of
    its rows (`scope`: all, a clause, or none) and which columns."""

    spec: EntitySpec
    scope: ColumnElement[bool] | bool
    names: tuple[str, ...]

    @classmethod
    def of(cls, spec: EntitySpec, actor: Actor) -> _Feed:
        return cls(spec, spec.scope(actor), spec.feed_columns(actor))


def _entity_filter(feed: _Feed, shape: str) -> ColumnElement[bool] | None:
    """The rows of the feed's table this caller receives after the position; None: none at all."""
    if feed.scope is False:
        return None
    cond = _after(feed.spec.table, shape)
    return cond if feed.scope is True else and_(cond, feed.scope)


@functools.cache
def _tombstone_filter(shape: str) -> ColumnElement[bool]:
    """The tombstones meant for this caller (everyone's, or its organisation's: `org`) after the position."""
    audience = tombstones.c.audience_org_id
    return and_(_after(tombstones, shape), or_(audience.is_(None), audience == _ORG))


@functools.cache
def _read_query(feed: _Feed, shape: str) -> Any:
    """The page query of one table: built once per shape for a feed whose scope is
    a plain yes (the same statement serves every caller who sees the whole table)."""
    cond = _entity_filter(feed, shape)
    if cond is None:
        return None
    table: Table = feed.spec.table
    stmt = _feed_query(table, feed.names)[0]
    return stmt.where(cond).order_by(table.c.version, table.c.id).limit(_LIMIT)


def _statement(build: Any, feeds: Iterable[_Feed], *args: Any) -> Any:
    """`build(*args)` (a functools.cache'd builder), from its cache when every feed's
    scope is a plain yes or no; a scope clause is made for one caller, so statements
    with one are built for this page only (a cache would keep every caller's)."""
    if all(isinstance(feed.scope, bool) for feed in feeds):
        return build(*args)
    return build.__wrapped__(*args)


@functools.lru_cache(maxsize=512)
def _driver_rows_fit(stmt: Any, dialect: Dialect, type_codes: tuple[Any, ...]) -> bool:
    """True when no column of `stmt` needs SQLAlchemy's result processing on this
    database, for the column types the driver reported (`cursor.description`): the
    driver's rows then hold the very values SQLAlchemy's Row objects would. On
    PostgreSQL the entity feeds qualify (floats aside); on SQLite booleans are
    converted from 0/1, so none does."""
    return all(
        c.type.dialect_impl(dialect).result_processor(dialect, code) is None
        for c, code in zip(stmt.selected_columns, type_codes, strict=True)
    )


async def _rows(db: AsyncSession, stmt: Any, params: dict[str, Any]) -> Sequence[Any]:
    """The rows of a feed query: the driver's own rows where they fit (no Row object
    built per row: ~0.6 µs each on PostgreSQL), else SQLAlchemy's."""
    result: CursorResult[Any] = await db.execute(stmt, params)  # type: ignore[assignment] # a SELECT's result
    codes = tuple(d[1] for d in result.cursor.description)
    if _driver_rows_fit(stmt, db.get_bind().dialect, codes):
        rows: Sequence[Any] = result.cursor.fetchall()
        result.close()
        return rows
    return result.all()


async def _read_entity(
    db: AsyncSession, feed: _Feed, project_id: uuid.UUID, runs: bool, pos: Position, upto: int, limit: int
) -> list[_Item]:
    stmt = _statement(_read_query, [feed], feed, _shape(feed.spec.rank, pos))
    if stmt is None:
        return []
    spec, names = feed.spec, feed.names
    _select, raw, row_struct = _feed_query(spec.table, names)
    entity, rank = spec.name, spec.rank
    live, gone = _group(entity, ("id", "version", *names)), _group(entity)
    # (a row is [id, version, *values])
    raw_at = [i + 2 for i in raw]
    gone_at = names.index("deleted") + 2 if "deleted" in names else None
    items: list[_Item] = []
    append = items.append  # (the loop runs once per row of a first pull)
    for record in await _rows(db, stmt, _params(project_id, pos, upto, limit)):
        row = list(record)
        rid, version = row[0], row[1]
        if gone_at is not None and row[gone_at]:
            append((version, rank, rid, gone, _deletion(runs, entity, rid, project_id, version)))
            continue
        for i in raw_at:
            if row[i] is not None:
                row[i] = msgspec.Raw(row[i])
        if runs:  # protocol 3: the record as its row
            encoded = _encode(row)
        else:  # protocol 2: the record as a `Change`
            data = row_struct(*row[2:])
            encoded = _encode(_Out(entity=entity, id=rid, project_id=project_id, version=version, data=data))
        append((version, rank, rid, live, encoded))
    return items


def _deletion(runs: bool, entity: str, rid: Any, project_id: uuid.UUID, version: int) -> bytes:
    """A deletion on the feed: `[id, version]` in a run of deletions (protocol 3), or a `Change`."""
    if runs:
        return _encode((rid, version))
    return _encode(_Out(entity=entity, id=rid, project_id=project_id, version=version, deleted=True))


async def _read_tombstones(
    db: AsyncSession, actor: Actor, project_id: uuid.UUID, runs: bool, pos: Position, upto: int, limit: int
) -> list[_Item]:
    stmt = _tombstone_query(_shape(TOMBSTONE_RANK, pos))
    params = {**_params(project_id, pos, upto, limit), "org": actor.org_id}
    return [
        (version, TOMBSTONE_RANK, str(tid), _group(entity), _deletion(runs, entity, entity_id, project_id, version))
        for version, tid, entity, entity_id in (await db.execute(stmt, params)).all()
    ]


@functools.cache
def _tombstone_query(shape: str) -> Any:
    return (
        select(tombstones.c.version, tombstones.c.id, tombstones.c.entity, tombstones.c.entity_id)
        .where(_tombstone_filter(shape))
        .order_by(tombstones.c.version, tombstones.c.id)
        .limit(_LIMIT)
    )


async def _feeds_with_rows(
    db: AsyncSession, feeds: list[_Feed], actor: Actor, project_id: uuid.UUID, pos: Position, upto: int
) -> set[int]:
    """Which feeds (the tables by index, then the tombstones) have a row after `pos`
    for this caller: one query of EXISTS probes, instead of one read per table."""
    shapes = tuple(_shape(feed.spec.rank, pos) for feed in feeds)
    probes = _statement(_probes, feeds, tuple(feeds), shapes, _shape(TOMBSTONE_RANK, pos))
    return set((await db.scalars(probes, {**_params(project_id, pos, upto), "org": actor.org_id})).all())


@functools.cache
def _probes(feeds: tuple[_Feed, ...], shapes: tuple[str, ...], tombstone_shape: str) -> Any:
    conds = [_entity_filter(feed, shape) for feed, shape in zip(feeds, shapes, strict=True)]
    conds.append(_tombstone_filter(tombstone_shape))
    return union_all(
        *(select(literal(i).label("feed")).where(exists().where(c)) for i, c in enumerate(conds) if c is not None)
    )


#: Steps 4–5's statements, built once: the device's last applied mutation id, and
#: the clocks of the projects in `scope` with it on every row.
_LMID = select(devices.c.last_mutation_id).where(THIS_DEVICE)
_CLOCKS_AND_LMID = select(clocks, _LMID.scalar_subquery().label("lmid")).where(
    clocks.c.project_id.in_(bindparam("scope", type_=Uuid, expanding=True))
)
#: Step 8's, on the last page: when the device was last up to date.
_PULLED = update(devices).where(THIS_DEVICE).values(last_pull_at=bindparam("now", type_=devices.c.last_pull_at.type))


async def _record_pull(db: AsyncSession, actor: Actor, request: PullRequest) -> None:
    """When the device was last up to date; a device that has only pulled so far is
    registered here (a push registers it otherwise)."""
    now = datetime.now(UTC)
    done = await db.execute(_PULLED, {"of_user": actor.user_id, "of_device": request.device_id, "now": now})
    if not done.rowcount:  # type: ignore[attr-defined]
        await register_device(db, actor, request.device_id, request.protocol, last_pull_at=now)


async def pull(
    db: AsyncSession,
    registry: Registry,
    actor: Actor,
    token_device_id: str,
    request: PullRequest,
    *,
    templates: Callable[[], Awaitable[list[TemplateRef]]] | None = None,
) -> PullPage | PullRunsPage:
    """One page of the feed, written in the request's protocol (3: runs, 2:
    changes). `templates` gives the template versions the device should hold; it
    is called for the last page only."""
    # 1. Protocol version: the current one or the one before, else 426.
    check_protocol(request.protocol)
    # 2. The device named is the device the access token was issued to.
    if request.device_id != token_device_id:
        raise BadBatch("device_id does not match the device this token was issued to")
    # 3. Decode the cursor: per project, the last position delivered.
    positions = cursors.decode(request.cursor)
    # 4. Read the device's last applied mutation id and 5. the clocks of the
    #    projects in scope, in one statement (one snapshot): a push records its
    #    last mutation id in the transaction that moves its projects' clocks, so
    #    every mutation counted here has its effects at or below the clocks read,
    #    and this pull reads nothing newer than them.
    scope = sorted(actor.project_ids, key=str)
    device = {"of_user": actor.user_id, "of_device": request.device_id}
    clock_read = await db.execute(_CLOCKS_AND_LMID, {**device, "scope": scope})
    clock_rows = {r.project_id: r for r in clock_read.all()}
    # (no clock row in scope: no row to carry it, so read on its own)
    lmid = next(iter(clock_rows.values())).lmid if clock_rows else await db.scalar(_LMID, device)
    # 6. Projects no longer in scope are removed; cursors older than a project's
    #    tombstone horizon restart that project from the beginning.
    removed = sorted((p for p in positions if p not in actor.project_ids), key=str)
    reset = []
    for p in scope:
        pos = positions.get(p, START)
        horizon = clock_rows[p].horizon if p in clock_rows else 0
        if pos != START and pos[0] < horizon:
            reset.append(p)
            pos = START
        positions[p] = pos
    for p in removed:
        del positions[p]
    # 7. Fill the page project by project, merging every visible table in
    #    (version, rank, id) order, until max_bytes.
    runs = request.protocol >= RUNS_PROTOCOL
    feeds = [_Feed.of(spec, actor) for spec in registry.all()]
    changes: list[bytes] = []
    # Where each run (protocol 3) starts: its first change's index, project, group.
    starts: list[tuple[int, uuid.UUID, _Group]] = []
    size = 0
    has_more = False
    for p in scope:
        upto = int(clock_rows[p].version) if p in clock_rows else 0
        pos = positions[p]
        if pos[0] >= upto and pos[1] == DONE_RANK:
            continue
        group: _Group | None = None  # the run being filled; a project starts its own
        readers = [functools.partial(_read_entity, db, feed, p, runs) for feed in feeds]
        readers.append(functools.partial(_read_tombstones, db, actor, p, runs))
        # Tables with nothing after the position are found with one query and not
        # read at all; the others are read into buffers, each refilled only when the
        # page has taken all it holds (the rest of a buffer is kept for the page's
        # next round, not read again).
        live = await _feeds_with_rows(db, feeds, actor, p, pos, upto)
        streams = [_Stream(read, pos) for i, read in enumerate(readers) if i in live]
        while True:
            # Refill the buffers taken to their end that may hold more: in the first
            # round every table with rows, which share what the page can still hold
            # (which of them fill it is not known yet); after it, only the one whose
            # last row bounded the round.
            used_up = [s for s in streams if s.more and s.at == len(s.items)]
            wanted = _rows_wanted(request.max_bytes, size, len(changes))
            for s in used_up:
                await s.refill(upto, -(-wanted // len(used_up)))
            # A stream whose last read was a full batch may hold more after its last
            # row: only items up to the smallest such "last row" are safe to take.
            bound = min((s.items[-1] for s in streams if s.more), default=None)
            # Keys are unique (rank tells the tables apart), so a tuple sort never
            # compares past them; each buffer is sorted already. (One table with
            # rows, as in most of a first pull: no merge needed.)
            pending = [s.items[s.at :] if s.at else s.items for s in streams if s.at < len(s.items)]
            merged: Iterable[_Item] = pending[0] if len(pending) == 1 else heapq.merge(*pending)
            last: _Item | None = None  # the last change taken
            for item in merged:
                if bound is not None and item > bound:
                    break
                item_group, encoded = item[3], item[4]
                grows = len(encoded) + 1
                if item_group is not group and runs:
                    grows += _run_header_size(item_group)
                if changes and size + grows > request.max_bytes:
                    has_more = True
                    break
                if item_group is not group:
                    group = item_group
                    starts.append((len(changes), p, group))
                changes.append(encoded)
                size += grows
                last = item
            if last is not None:
                pos = _key(last)
                for s in streams:
                    s.at = bisect.bisect_right(s.items, pos, lo=s.at, key=_key)
            positions[p] = pos
            if has_more:
                break
            if bound is None:
                positions[p] = (upto, DONE_RANK, "")
                break
            if last is None:  # pragma: no cover - a full batch always yields its own rows
                break
        if has_more:
            break
    # 8. Answer. The last page also carries the device's last mutation id and the
    #    templates it should hold, and records the pull (`last_pull_at`: when the
    #    device was last up to date); the pages before it write nothing.
    refs = await templates() if templates is not None and not has_more else []
    if not has_more:
        await _record_pull(db, actor, request)
    await db.commit()
    answer: dict[str, Any] = {
        "protocol": request.protocol,
        "cursor": cursors.encode(positions),
        "has_more": has_more,
        "projects": scope,
        "removed_projects": removed,
        "reset_projects": reset,
        "last_mutation_id": None if has_more else int(lmid or 0),
        "templates": refs,
    }
    if runs:
        return PullRunsPage(runs=_runs(changes, starts), **answer)
    return PullPage(changes=[msgspec.Raw(c) for c in changes], **answer)


def _run_page(group: _Group, project_id: str, body: msgspec.Raw) -> RunPage:
    """A run of the page, `body` its rows (or deletions) as one JSON array."""
    if group.deleted:
        return RunPage(entity=group.entity, project_id=project_id, deleted=body)
    return RunPage(entity=group.entity, project_id=project_id, columns=group.columns, rows=body)


@functools.cache
def _run_header_size(group: _Group) -> int:
    """The bytes a run adds to a page besides its rows (protocol 3)."""
    return len(_encode(_run_page(group, str(uuid.UUID(int=0)), msgspec.Raw(b"[]")))) + 1


def _runs(changes: list[bytes], starts: list[tuple[int, uuid.UUID, _Group]]) -> list[RunPage]:
    """The page's changes cut into runs where `starts` says: each run's rows (or
    deletions) joined into one JSON array."""
    out: list[RunPage] = []
    ends = [start for start, _, _ in starts[1:]] + [len(changes)] if starts else []
    for (start, project, group), end in zip(starts, ends, strict=True):
        body = b"".join((b"[", b",".join(changes[start:end]), b"]"))  # (in C: faster than a generator's one copy)
        out.append(_run_page(group, str(project), msgspec.Raw(body)))
    return out
