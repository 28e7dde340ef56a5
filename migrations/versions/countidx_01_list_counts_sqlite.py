"""a list's capped count from an index on SQLite (issue 17): ``ix_<table>_live_groups`` (group,
deleted_at, pending_import_id) of the records that exist, on the four record tables. A list counts
its rows up to 10,001 ("more than 10,000"); for a user who sees a few groups SQLite read each of
those rows from the table to test the rule's ``deleted_at IS NULL AND pending_import_id IS NULL``
(13 ms at 1M people for a user in one group); from this index alone it takes 1 ms. The index's
WHERE also says ``id > 0``, which only the count says (crm.records.models.count_index), so that
no list's page can take it. PostgreSQL gets none.

Revision ID: countidx_01
Revises: sums_01
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "countidx_01"
down_revision = "sums_01"
branch_labels = None
depends_on = None

# (written out, not imported: a revision stays as it was when the code moves on)
TABLES = ("companies", "people", "deals", "projects")
WHERE = "deleted_at IS NULL AND pending_import_id IS NULL AND id > 0"


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        op.create_index(f"ix_{table}_live_groups", table, ["group_id", "deleted_at", "pending_import_id"],
                        unique=False, sqlite_where=sa.text(WHERE))


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        op.drop_index(f"ix_{table}_live_groups", table_name=table)
