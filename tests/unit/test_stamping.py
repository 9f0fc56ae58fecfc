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
