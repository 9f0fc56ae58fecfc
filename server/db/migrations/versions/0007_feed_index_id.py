"""The change feed's index on every synced table takes the id too: (project_id,
version, id) instead of (project_id, version).

A pull pages through a project in (version, id) order. A transaction that writes
many rows (an import, a large batch) gives them all one version; with only
(project_id, version) indexed, every page in the middle of that version scanned
and sorted all its rows again — quadratic in its size (80,000 rows of one version:
~14 s on SQLite). With the id in the index, a page starts where the last one ended
(`sync.pull`: `(version, id) > (:v, :after_id)`) and reads its rows in order.

Revision ID: 0007_feed_index_id
Revises: 0006_audit_lz4
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_feed_index_id"
down_revision: str | Sequence[str] | None = "0006_audit_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table on the feed (0002_sync, 0003_media): the synced records and places,
#: the conflicts and the tombstones.
TABLES = (
    "projects",
    "buildings",
    "public_areas",
    "units",
    "facilities",
    "inspections",
    "item_results",
    "checkpoint_scans",
    "signatures",
    "tickets",
    "ticket_events",
    "photos",
    "sync_conflicts",
    "sync_tombstones",
)


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_project_id_version_id", table, ["project_id", "version", "id"])
        op.drop_index(f"ix_{table}_project_id_version", table_name=table)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_project_id_version", table, ["project_id", "version"])
        op.drop_index(f"ix_{table}_project_id_version_id", table_name=table)
