"""Columns every synced table carries. Features mix `Synced` into their models and
register the model with `sync.registry`; the stamping of `version` happens in one
place (`sync.stamping`) for every write, whatever code path made it. And the type
of every timestamp column, the sync engine's own tables' included (`UTCDateTime`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always returns aware UTC. SQLite keeps no
    offset: a plain `DateTime(timezone=True)` there stores the wall time of whatever
    offset it is given (a device's 12:00+08:00 read back as 12:00), so the value is
    turned to UTC first. A naive datetime is refused: its instant is unknown."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite: stored as UTC

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # Only SQLite forgets the zone; PostgreSQL (asyncpg) hands back aware UTC
        # datetimes, which need no call per value (a feed reads hundreds of thousands).
        if dialect.name != "sqlite":
            return None
        return super().result_processor(dialect, coltype)


def stored_type(type_: Any) -> Any:
    """What a column type stores: the type a `TypeDecorator` (`UTCDateTime`) decorates, else itself."""
    return type_.impl_instance if isinstance(type_, TypeDecorator) else type_


class Synced:
    """`project_id` is the sync space; `version` is the project's change counter at
    the transaction that last wrote the row (see docs/sync-protocol.md, §Change feed)."""

    project_id: Mapped[uuid.UUID]

    @declared_attr
    def version(cls) -> Mapped[int]:
        # Indexed in the migrations: (project_id, version, id), the feed's order.
        return mapped_column(BigInteger, default=0)
