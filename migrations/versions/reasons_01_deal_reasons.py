"""deal_reasons: why deals are won or lost, an admin's list per outcome (issue 15); deals.reason_id
points at one, deals.reason_note holds the deal's own words. No reason to start with; no deal has
one.

Revision ID: reasons_01
Revises: rules_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "reasons_01"
down_revision = "rules_01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "deal_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("outcome IN ('won', 'lost')", name=op.f("ck_deal_reasons_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_reasons")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("deals", sa.Column("reason_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_deals_reason_id_deal_reasons"), "deals", "deal_reasons",
                              ["reason_id"], ["id"], ondelete="RESTRICT")
        op.add_column("deals", sa.Column("reason_note", sa.Text(), nullable=False, server_default=""))
        op.alter_column("deals", "reason_note", server_default=None)
    else:
        # plain ADD COLUMNs: no rebuild of the deals table (its search triggers stay as they are)
        op.execute("ALTER TABLE deals ADD COLUMN reason_id INTEGER "
                   "REFERENCES deal_reasons (id) ON DELETE RESTRICT")
        op.execute("ALTER TABLE deals ADD COLUMN reason_note TEXT NOT NULL DEFAULT ''")
    op.create_index(op.f("ix_deals_reason_id"), "deals", ["reason_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_deals_reason_id"), table_name="deals")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE deals DROP COLUMN reason_note")  # SQLite >= 3.35; no table rebuild
        op.execute("ALTER TABLE deals DROP COLUMN reason_id")
    else:
        op.drop_constraint(op.f("fk_deals_reason_id_deal_reasons"), "deals", type_="foreignkey")
        op.drop_column("deals", "reason_note")
        op.drop_column("deals", "reason_id")
    op.drop_table("deal_reasons")
