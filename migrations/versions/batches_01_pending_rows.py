"""Pending rows of an import: ``pending_import_id`` on the four record tables

An import writes its records in short batches (one short transaction each, so that on SQLite
the write lock is free for colleagues in between) and marks them with its job's id; the job's final
step clears the mark, and only then do the records exist for anyone (crm.visibility). The
partial index holds only the marked rows: it is empty while no import runs.

Plain ``ADD COLUMN`` (no foreign key): no table is rebuilt on SQLite, and the search triggers,
which watch other columns, stay as they are.

Revision ID: batches_01
Revises: ops_01_tagkey
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "batches_01"
down_revision = "ops_01_tagkey"
branch_labels = None
depends_on = None

TABLES = ("companies", "people", "deals", "projects")
KEYS = {"companies": "company", "people": "person", "deals": "deal", "projects": "project"}


def upgrade():
    where = sa.text("pending_import_id IS NOT NULL")
    for table in TABLES:
        op.add_column(table, sa.Column("pending_import_id", sa.Integer(), nullable=True))
        op.create_index(f"ix_{table}_pending", table, ["pending_import_id"], unique=False,
                        sqlite_where=where, postgresql_where=where)


def downgrade():
    bind = op.get_bind()
    for table in TABLES:
        # rows of an import that never finished do not exist for anyone: they go with the column,
        # with what hangs on them (written out: SQLite migrates with foreign keys off)
        key = KEYS[table]
        pending = f"SELECT id FROM {table} WHERE pending_import_id IS NOT NULL"
        children = [f"{key}_tags", "custom_field_values"] + (["contact_details"] if key in ("company", "person") else [])
        for child in children:
            bind.execute(sa.text(f"DELETE FROM {child} WHERE {key}_id IN ({pending})"))
        bind.execute(sa.text(f"DELETE FROM search_docs WHERE record_type = '{key}' AND record_id IN ({pending})"))
        bind.execute(sa.text(f"DELETE FROM import_items WHERE record_type = '{key}' AND record_id IN ({pending})"))
        bind.execute(sa.text(f"DELETE FROM {table} WHERE pending_import_id IS NOT NULL"))
        op.drop_index(f"ix_{table}_pending", table_name=table)
        if bind.dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN pending_import_id")  # SQLite >= 3.35; no rebuild
        else:
            op.drop_column(table, "pending_import_id")
