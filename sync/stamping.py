"""Stamping every write to a synced table with its project's version.

Installed once on SQLAlchemy's Session class. During a transaction, flushes of
synced ORM objects (and explicit `touch()` calls for Core tables) are collected;
just before the transaction commits, each touched project's clock row is bumped
(`UPDATE sync_clocks … RETURNING version`, which holds the row lock until the
commit) and every touched row is stamped with that version. Writers to one
project therefore commit in version order, which is what lets a pull cursor
never skip a row (docs/sync-protocol.md §Change feed). Hard deletes of synced
rows leave tombstones, stamped the same way.

A writer that inserts many rows at once may `claim()` the project's version
before it writes, and write the rows with it (no UPDATE at commit): the clock
is bumped and locked then instead, and held to the commit all the same.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, event, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from sync.columns import Synced
from sync.tables import clocks, tombstones

_KEY = "sync_touched"


class _Touched:
    __slots__ = ("claimed", "rows", "tombstones")

    def __init__(self) -> None:
        #: project → table → ids
        self.rows: dict[uuid.UUID, dict[Any, set[uuid.UUID]]] = defaultdict(lambda: defaultdict(set))
        #: project → [(entity, id, audience_org_id)]
        self.tombstones: dict[uuid.UUID, list[tuple[str, uuid.UUID, uuid.UUID | None]]] = defaultdict(list)
        #: project → the version this transaction took before writing (`claim`)
        self.claimed: dict[uuid.UUID, int] = {}


def _touched(session: Session) -> _Touched:
    t = session.info.get(_KEY)
    if t is None:
        t = session.info[_KEY] = _Touched()
    return t


def touch(session: Session, table: Any, project_id: uuid.UUID, ids: list[uuid.UUID] | set[uuid.UUID]) -> None:
    """Mark rows of a synced Core table (with `project_id` and `version`) written."""
    _touched(session).rows[project_id][table].update(ids)


def bury(
    session: Session, entity: str, project_id: uuid.UUID, entity_id: uuid.UUID, audience_org_id: uuid.UUID | None = None
) -> None:
    """Record that a row is gone (for everyone, or for one organisation's users)."""
    _touched(session).tombstones[project_id].append((entity, entity_id, audience_org_id))


def entity_name(obj: Any) -> str:
    """The wire name the registry gave the model (its table name until registered)."""
    return str(getattr(type(obj), "__sync_entity__", type(obj).__tablename__))


class UnstampedWrite(RuntimeError):
    """A bulk statement wrote a synced table without saying which rows it touched."""


def _guard_bulk(state: Any) -> None:
    """Bulk INSERT/UPDATE/DELETE of a synced ORM entity bypasses the flush, so it
    must `touch()` (or `bury()`) the rows itself and say so with
    `.execution_options(sync_touched=True)`; otherwise devices would never hear
    of the change. Refused loudly instead of lost silently."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if state.execution_options.get("sync_touched"):
        return
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, Synced):
            raise UnstampedWrite(
                f"bulk write to synced table {mapper.local_table.name}: call sync.stamping.touch() for the rows "
                "and add .execution_options(sync_touched=True)"
            )


def _after_flush(session: Session, _ctx: UOWTransaction) -> None:
    new = set(session.new)  # (a property that builds a fresh set on every read)
    for obj in [*new, *session.dirty]:
        if isinstance(obj, Synced) and (obj in new or session.is_modified(obj)):
            touch(session, type(obj).__table__, obj.project_id, {obj.id})  # type: ignore[attr-defined]
    for obj in session.deleted:
        if isinstance(obj, Synced):
            bury(session, entity_name(obj), obj.project_id, obj.id)  # type: ignore[attr-defined]


async def claim(db: AsyncSession, project_id: uuid.UUID) -> int:
    """The version this transaction's writes to the project get, taken now: the
    clock is bumped and its row stays locked until the commit, which then stamps
    what else was touched in the project with the same version. For rows written
    without the ORM and stamped as they are inserted (`version` given)."""
    touched = _touched(db.sync_session)
    if project_id not in touched.claimed:
        touched.claimed[project_id] = await db.run_sync(_next_version, project_id)
    return touched.claimed[project_id]


Mark = tuple[dict[uuid.UUID, int], frozenset[uuid.UUID]]


def checkpoint(session: Session) -> Mark:
    """Where each project's tombstone list and the claimed versions stand, to undo a
    rolled-back savepoint's deletes and claims (its clock bump is rolled back too)."""
    touched = _touched(session)
    return {p: len(stones) for p, stones in touched.tombstones.items()}, frozenset(touched.claimed)


def restore(session: Session, mark: Mark) -> None:
    touched = _touched(session)
    stones_at, claimed = mark
    for p, stones in touched.tombstones.items():
        del stones[stones_at.get(p, 0) :]
    for p in set(touched.claimed) - claimed:
        del touched.claimed[p]


#: The clock's bump, built once (every write transaction runs it).
_BUMP = (
    update(clocks)
    .where(clocks.c.project_id == bindparam("of_project", type_=clocks.c.project_id.type))
    .values(version=clocks.c.version + 1)
    .returning(clocks.c.version)
)


def _next_version(session: Session, project_id: uuid.UUID) -> int:
    row = session.execute(_BUMP, {"of_project": project_id}).first()
    if row is not None:
        return int(row[0])
    session.execute(insert(clocks).values(project_id=project_id, version=1, horizon=0))
    return 1


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # savepoints are stamped with their outer transaction
    if session.new or session.dirty or session.deleted:
        session.flush()  # so that after_flush sees what this commit would write
    touched: _Touched | None = session.info.get(_KEY)
    if touched is None:
        return
    now = datetime.now(UTC)
    # Lock clocks in one order (by id) so two writers of the same projects cannot deadlock.
    for project_id in sorted(set(touched.rows) | set(touched.tombstones), key=str):
        tables = touched.rows.get(project_id, {})
        stones = touched.tombstones.get(project_id, [])
        if not any(tables.values()) and not stones:
            continue
        version = touched.claimed.get(project_id) or _next_version(session, project_id)
        for table, ids in tables.items():
            id_list = sorted(ids, key=str)
            for i in range(0, len(id_list), 500):
                session.execute(update(table).where(table.c.id.in_(id_list[i : i + 500])).values(version=version))
        if stones:
            session.execute(
                insert(tombstones),
                [
                    {
                        "id": uuid.uuid4(),
                        "project_id": project_id,
                        "entity": entity,
                        "entity_id": entity_id,
                        "version": version,
                        "audience_org_id": audience,
                        "deleted_at": now,
                    }
                    for entity, entity_id, audience in stones
                ],
            )
    session.info.pop(_KEY, None)


def _transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)


_installed = False


def install() -> None:
    """Install the stamping events on every SQLAlchemy Session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _guard_bulk)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_transaction_end", _transaction_end)
    _installed = True
