"""the recycle bin's index holds only its rows: ``ix_<table>_deleted_at`` becomes a partial index
(``WHERE deleted_at IS NOT NULL``) on the four record tables. The full index held NULL for nearly
every row; SQLite's planner chose it for the visibility rule's ``deleted_at IS NULL`` and then sorted
every visible row for a list's first page. The recycle bin and the purge (``deleted_at IS NOT NULL``,
``deleted_at < …``) still use it.

Revision ID: trashidx_01
Revises: filesearch_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "trashidx_01"
down_revision = "filesearch_01"
branch_labels = None
depends_on = None

TABLES = ("companies", "people", "deals", "projects")


def upgrade():
    where = sa.text("deleted_at IS NOT NULL")
    for table in TABLES:
        op.drop_index(f"ix_{table}_deleted_at", table_name=table)
        op.create_index(f"ix_{table}_deleted_at", table, ["deleted_at"], unique=False,
                        sqlite_where=where, postgresql_where=where)


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_deleted_at", table_name=table)
        op.create_index(f"ix_{table}_deleted_at", table, ["deleted_at"], unique=False)
