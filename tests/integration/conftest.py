"""Fixtures shared by the sync integration tests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.places.models import Unit
from tests.sync_harness import publish_small_template


@pytest.fixture
async def setup(client: Any, demo: dict[str, Any], db: Any) -> dict[str, Any]:
    """The demo estate, the small test template published, and one unit to inspect."""
    tv = await publish_small_template(db)
    unit = (await db.scalars(select(Unit).order_by(Unit.room_no).limit(1))).one()
    await db.commit()
    return {"tv": tv, "unit": unit, "unit_id": unit.id, "pw": demo["password"], "demo": demo}
