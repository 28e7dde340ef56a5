"""record_events, record_event_fields: a record's change history (who changed which field when)

Revision ID: history_01
Revises: dedupe_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "history_01"
down_revision = "dedupe_01"
branch_labels = None
depends_on = None

RECORD_TABLES = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}


def upgrade():
    count = " + ".join(f"(CASE WHEN {k}_id IS NULL THEN 0 ELSE 1 END)" for k in RECORD_TABLES)
    op.create_table(
        "record_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        *(sa.Column(f"{k}_id", sa.Integer(), sa.ForeignKey(f"{t}.id", ondelete="CASCADE"), nullable=True)
          for k, t in RECORD_TABLES.items()),
        sa.CheckConstraint(f"{count} = 1", name=op.f("ck_record_events_one_record")),
    )
    for k in RECORD_TABLES:
        op.create_index(f"ix_record_events_{k}_id", "record_events", [f"{k}_id"])
    op.create_index("ix_record_events_audit_id", "record_events", ["audit_id"])
    op.create_index("ix_record_events_at_id", "record_events", ["at", "id"])
    op.create_table(
        "record_event_fields",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("record_events.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("field", sa.String(80), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
    )
    op.create_index("ix_record_event_fields_event_id", "record_event_fields", ["event_id"])
    # The activity stream reads the history: each existing record starts with its "created" and, if
    # it changed later (by more than a second, as the stream used to tell them apart), one "changed".
    later = ("julianday(updated_at) - julianday(created_at) > 1.0 / 86400"
             if op.get_bind().dialect.name == "sqlite" else "updated_at > created_at + interval '1 second'")
    for key, table in RECORD_TABLES.items():
        op.execute(f"INSERT INTO record_events (at, actor_id, kind, {key}_id) "
                   f"SELECT created_at, created_by_id, 'created', id FROM {table}")
        op.execute(f"INSERT INTO record_events (at, actor_id, kind, {key}_id) "
                   f"SELECT updated_at, updated_by_id, 'changed', id FROM {table} WHERE {later}")


def downgrade():
    op.drop_table("record_event_fields")
    op.drop_table("record_events")
