"""imports know their duplicates: what an import does with a row that matches a record the
importer fully sees (skip, update, create anyway), and how many rows it updated and skipped

Revision ID: dedupe_01
Revises: queue_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "dedupe_01"
down_revision = "queue_01"
branch_labels = None
depends_on = None


def upgrade():
    # plain ADD COLUMN (no table rebuild on SQLite: import_items hang on import_jobs)
    op.add_column("import_jobs", sa.Column("on_duplicate", sa.String(length=8), nullable=False,
                                           server_default="skip"))
    op.add_column("import_jobs", sa.Column("updated", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("import_jobs", sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.drop_column("import_jobs", "skipped")
    op.drop_column("import_jobs", "updated")
    op.drop_column("import_jobs", "on_duplicate")
