"""Columns every synced table carries. Features mix `Synced` into their models and
register the model with `sync.registry`; the stamping of `version` happens in one
place (`sync.stamping`) for every write, whatever code path made it."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class Synced:
    """`project_id` is the sync space; `version` is the project's change counter at
    the transaction that last wrote the row (see docs/sync-protocol.md, §Change feed)."""

    project_id: Mapped[uuid.UUID]

    @declared_attr
    def version(cls) -> Mapped[int]:
        # Indexed with project_id in the migrations: (project_id, version).
        return mapped_column(BigInteger, default=0)
