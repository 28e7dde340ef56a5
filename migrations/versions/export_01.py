"""jobs: a large CSV export runs as a job and keeps its file (for its owner, until it expires)

Revision ID: export_01
Revises: queue_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "export_01"
down_revision = "queue_01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("file", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("file")
        batch_op.drop_column("file_name")
