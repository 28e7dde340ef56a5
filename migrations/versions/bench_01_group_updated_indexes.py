"""Indexes on (group, last change) for the lists sorted by last change under the group filter.

Revision ID: bench_01
Revises: 0001
Create Date: 2026-11-27
"""
from alembic import op

revision = "bench_01"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("companies", "people", "deals", "projects")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_group_updated", ["group_id", "updated_at"], unique=False)


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_group_updated")
