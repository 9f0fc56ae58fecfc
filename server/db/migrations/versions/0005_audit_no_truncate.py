"""The audit log refuses TRUNCATE too (PostgreSQL; SQLite has no TRUNCATE).

Revision ID: 0005_audit_no_truncate
Revises: 0004_template_company
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_audit_no_truncate"
down_revision: str | Sequence[str] | None = "0004_template_company"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
