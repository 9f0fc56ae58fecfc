"""Tombstones recorded inside a savepoint are taken back when it rolls back."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from sync import stamping


def test_restore_takes_back_only_what_came_after_the_checkpoint_in_every_project() -> None:
    session = Session()
    # Project ids chosen so that the later one sorts first.
    b, a = uuid.UUID(int=2), uuid.UUID(int=1)
    kept = uuid.uuid4()
    stamping.bury(session, "unit", b, kept)
    mark = stamping.checkpoint(session)
    stamping.bury(session, "unit", a, uuid.uuid4())
    stamping.bury(session, "unit", b, uuid.uuid4())
    stamping.restore(session, mark)
    stones = session.info["sync_touched"].tombstones
    assert {p: [e for _entity, e, _org in s] for p, s in stones.items()} == {b: [kept], a: []}


def test_restore_takes_back_the_versions_claimed_after_the_checkpoint() -> None:
    """A rolled-back savepoint's clock bump is undone by the database: the version it
    claimed must not stamp what the transaction writes next."""
    session = Session()
    before, inside = uuid.uuid4(), uuid.uuid4()
    claimed = stamping._touched(session).claimed
    claimed[before] = 7
    mark = stamping.checkpoint(session)
    claimed[inside] = 8
    claimed[before] = 7
    stamping.restore(session, mark)
    assert claimed == {before: 7}
