"""The served app's start-up heap is frozen while it runs, and thawed after."""

from __future__ import annotations

import gc
from typing import Any

from server.app import LIFESPAN_HOOKS
from server.lib.heap import frozen_startup_heap


async def test_the_served_app_freezes_its_start_up_heap_and_thaws_it_at_shutdown() -> None:
    assert frozen_startup_heap in LIFESPAN_HOOKS  # what `fieldround serve` runs
    assert gc.get_freeze_count() == 0
    app: Any = None
    async with frozen_startup_heap(app):
        assert gc.get_freeze_count() > 0  # start-up objects no longer scanned
    assert gc.get_freeze_count() == 0
