"""The audit log's before/after are compressed with lz4 (PostgreSQL 14+ built with it).

A push of 500 answers writes one audit entry holding all of them (~200 KB of JSON);
pglz, the default, compressed it at about 5 µs an answer, lz4 in less than half of
that (docs/performance.md §Sync). Only new values are compressed so; old ones stay
readable as they are. Elsewhere nothing changes.

Revision ID: 0006_audit_lz4
Revises: 0005_audit_no_truncate
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_audit_lz4"
down_revision: str | Sequence[str] | None = "0005_audit_no_truncate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HAS_LZ4 = sa.text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")


def _compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and bind.execute(_HAS_LZ4).scalar():
        for column in ("before", "after"):
            op.execute(f'ALTER TABLE audit_log ALTER COLUMN "{column}" SET COMPRESSION {method}')


def upgrade() -> None:
    _compression("lz4")


def downgrade() -> None:
    _compression("pglz")
