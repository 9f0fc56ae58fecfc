"""Liveness / readiness probe for a reverse proxy or orchestrator."""

from __future__ import annotations

from litestar import get
from sqlalchemy import text

from server.db.session import DB


@get("/healthz", summary="Health check", tags=["ops"])
async def health(db: DB) -> dict[str, str]:
    await db.execute(text("SELECT 1"))
    return {"status": "ok"}
