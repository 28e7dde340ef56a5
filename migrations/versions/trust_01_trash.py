"""recycle bin: records get deleted_at / deleted_by_id

Deleting a record moves it to the recycle bin (Papierkorb) instead of removing the row, so that
no ``ON DELETE SET NULL`` rewrites the records linking to it (issue 12, finding 2). The search
index keeps the docs of a trashed record; every search checks the records themselves, where
``deleted_at IS NULL`` is part of the visibility rule. The search triggers are set aside while
SQLite's batch mode rebuilds the record tables, and put back unchanged.

Revision ID: trust_01_trash
Revises: find_01
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from crm.search import schema as search_schema

revision = "trust_01_trash"
down_revision = "find_01"
branch_labels = None
depends_on = None

TABLES = ("companies", "people", "deals", "projects")


def upgrade():
    # (SQLite's batch rebuild of a record table fails while a trigger names it)
    with search_schema.triggers_set_aside(op.get_bind()):
        for table in TABLES:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
                batch_op.add_column(sa.Column("deleted_by_id", sa.Integer(), nullable=True))
                batch_op.create_index(batch_op.f(f"ix_{table}_deleted_at"), ["deleted_at"], unique=False)
                batch_op.create_foreign_key(
                    batch_op.f(f"fk_{table}_deleted_by_id_users"), "users", ["deleted_by_id"], ["id"],
                    ondelete="SET NULL",
                )


def downgrade():
    with search_schema.triggers_set_aside(op.get_bind()):
        for table in TABLES:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_constraint(batch_op.f(f"fk_{table}_deleted_by_id_users"), type_="foreignkey")
                batch_op.drop_index(batch_op.f(f"ix_{table}_deleted_at"))
                batch_op.drop_column("deleted_by_id")
                batch_op.drop_column("deleted_at")
