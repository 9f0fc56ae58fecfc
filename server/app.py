"""The Litestar application factory.

`create_app()` reads settings once, builds the engine and session factory, mounts
every feature's routes (server/routes.py), the one error mapper
(server/lib/problems.py) and the dependencies `db` and `principal`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin

from checklists.loader import load_bundled
from server.accounts.deps import provide_principal
from server.db.engine import create_engine, create_session_factory
from server.db.session import provide_db
from server.jobs.lifespan import embedded_worker
from server.lib.heap import frozen_startup_heap
from server.lib.problems import EXCEPTION_HANDLERS
from server.routes import ROUTES
from server.settings import Settings, load_settings
from server.syncing.registry import registry
from server.templates.services import publish_bundled

#: Start-up hooks that features register (e.g. publishing bundled templates,
#: starting the embedded job worker). Each gets the app and returns an async
#: context manager that lives as long as the app.
Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]
LIFESPAN_HOOKS: list[Lifespan] = [embedded_worker, frozen_startup_heap]


def create_app(settings: Settings | None = None, *, lifespan_hooks: list[Lifespan] | None = None) -> Litestar:
    settings = settings or load_settings()
    # A broken bundled checklist stops start-up here, naming file, path and reason.
    bundled = load_bundled()
    registry()  # every synced entity known before the first write
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)

    @asynccontextmanager
    async def engine_lifespan(_app: Litestar) -> AsyncGenerator[None, None]:
        try:
            async with session_factory() as db:
                await publish_bundled(db, bundled)
            yield
        finally:
            await engine.dispose()

    hooks = LIFESPAN_HOOKS if lifespan_hooks is None else lifespan_hooks
    app = Litestar(
        route_handlers=ROUTES,
        dependencies={"db": Provide(provide_db), "principal": Provide(provide_principal)},
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[engine_lifespan, *hooks],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="FieldRound API 巡查验房系统接口",
            version="0.1.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), JsonRenderPlugin()],
        ),
        debug=False,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    return app


def app_factory() -> Any:
    """Entry point for `uvicorn --factory server.app:app_factory` (each worker process)."""
    return create_app()
