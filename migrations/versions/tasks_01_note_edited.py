"""notes.edited_at: when the author (or an admin) last changed the note, shown as "edited"

Revision ID: tasks_01
Revises: lists_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "tasks_01"
down_revision = "lists_01"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notes", sa.Column("edited_at", sa.DateTime(), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE notes DROP COLUMN edited_at")  # SQLite >= 3.35; no table rebuild
    else:
        op.drop_column("notes", "edited_at")
