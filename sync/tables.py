"""The sync engine's own tables (SQLAlchemy Core). The synced records themselves
belong to the features; these hold the mechanism: clocks, devices, results,
tombstones and conflicts. Created by the Alembic migration 0002_sync."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
)

from sync.columns import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: One change counter per project (the sync space). A writing transaction bumps
#: it under the row lock just before it commits, so versions commit in order.
clocks = Table(
    "sync_clocks",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("version", BigInteger, nullable=False, default=0),
    #: Tombstones at or below this version have been purged: older cursors reset.
    Column("horizon", BigInteger, nullable=False, default=0),
)

#: A device (one user on one tablet) and the last mutation applied for it.
devices = Table(
    "sync_devices",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("device_id", String(100), primary_key=True),
    Column("last_mutation_id", BigInteger, nullable=False, default=0),
    Column("protocol", Integer, nullable=False),
    Column("last_push_at", UTCDateTime()),
    Column("last_pull_at", UTCDateTime()),
    Column("client_time", UTCDateTime()),
)

#: What a mutation answered when it said more than "applied" (rejected, conflict),
#: so a retry gets the same; a plain "applied" is not stored (sync.push step 8).
results = Table(
    "sync_mutation_results",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("device_id", String(100), primary_key=True),
    Column("mutation_id", BigInteger, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("result", JSON, nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", Uuid, nullable=False),
    Column("client_time", UTCDateTime()),
    Column("received_at", UTCDateTime(), nullable=False),
)

#: Hard deletions, and a record leaving an organisation's view.
tombstones = Table(
    "sync_tombstones",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("project_id", Uuid, nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", Uuid, nullable=False),
    Column("version", BigInteger, nullable=False, default=0),
    #: NULL: gone for everyone; else only for this organisation's users.
    Column("audience_org_id", Uuid),
    Column("deleted_at", UTCDateTime(), nullable=False),
    Index("ix_sync_tombstones_project_id_version_id", "project_id", "version", "id"),
)

#: Every real conflict, with both values, who, which device, and when.
conflicts = Table(
    "sync_conflicts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("project_id", Uuid, nullable=False, index=True),
    Column("version", BigInteger, nullable=False, default=0),
    Column("entity", String(40), nullable=False),
    Column("entity_id", Uuid, nullable=False),
    Column("field", String(60), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("server_value", JSON),
    Column("incoming_value", JSON),
    Column("base_value", JSON),
    Column("merged_value", JSON),
    Column("user_id", Uuid),
    Column("device_id", String(100)),
    Column("mutation_id", BigInteger),
    Column("client_time", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("resolution", JSON),
    Column("resolved_by", Uuid),
    Column("resolved_at", UTCDateTime()),
    Column("note", Text),
    Column("flagged", Boolean, nullable=False, default=False),
    Index("ix_sync_conflicts_project_id_version_id", "project_id", "version", "id"),
)


#: The row of one user's device in `devices`, by the bound parameters `of_user` and
#: `of_device` (not the columns' names, which an UPDATE's SET clause reserves): for
#: the push's and pull's statements on that row, built once at import (building the
#: clause and the statement's cache key on every request cost a push ~0.2 ms).
THIS_DEVICE = (devices.c.user_id == bindparam("of_user", type_=Uuid)) & (
    devices.c.device_id == bindparam("of_device", type_=Text)
)
