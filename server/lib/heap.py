"""The served process's start-up heap, kept out of the garbage collector's way.

Everything imported and built before the first request (modules, SQLAlchemy
mappers and compiled statements, the route table, the bundled checklists) lives
as long as the process. `gc.freeze()` moves it to the permanent generation, so
the full collections that a busy sync triggers (a first pull makes millions of
short-lived objects) no longer walk it again and again — the measure CPython's
documentation gives for servers (see docs/performance.md §Sync). It is a lifespan
hook of the served app only: tests, which build hundreds of apps in one process,
do not freeze what they would later need collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from litestar import Litestar


def freeze_heap() -> None:
    """Collect what is garbage now, then move every object left to the permanent
    generation, out of later full collections' way."""
    gc.collect()
    gc.freeze()


@contextlib.asynccontextmanager
async def frozen_startup_heap(_app: Litestar) -> AsyncIterator[None]:
    freeze_heap()
    try:
        yield
    finally:
        gc.unfreeze()
