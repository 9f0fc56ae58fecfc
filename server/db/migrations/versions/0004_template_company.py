"""Template versions belong to a company (or, bundled, to all).

Revision ID: 0004_template_company
Revises: 0003_media
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_template_company"
down_revision: str | Sequence[str] | None = "0003_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("template_versions") as batch:
        batch.add_column(sa.Column("company_key", sa.String(length=40), nullable=False, server_default=""))
        batch.drop_constraint("uq_template_versions_key_number", type_="unique")
        batch.drop_constraint("uq_template_versions_content_hash", type_="unique")
        batch.create_unique_constraint("uq_template_versions_company_key_key_number", ["company_key", "key", "number"])
        batch.create_unique_constraint("uq_template_versions_company_key_content_hash", ["company_key", "content_hash"])
        batch.create_index("ix_template_versions_content_hash", ["content_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("template_versions") as batch:
        batch.drop_index("ix_template_versions_content_hash")
        batch.drop_constraint("uq_template_versions_company_key_content_hash", type_="unique")
        batch.drop_constraint("uq_template_versions_company_key_key_number", type_="unique")
        batch.create_unique_constraint("uq_template_versions_content_hash", ["content_hash"])
        batch.create_unique_constraint("uq_template_versions_key_number", ["key", "number"])
        batch.drop_column("company_key")
