"""deal_stages: the pipeline's stages an admin defines (name, order, probability, kind); deals.stage_id
points at one, deals.stage keeps its kind. Three stages to start with, one per kind, and every deal
in the one of its kind.

Revision ID: stages_01
Revises: groups2_01
Create Date: 2026-11-29
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "stages_01"
down_revision = "groups2_01"
branch_labels = None
depends_on = None

#: (id, name, position, probability, kind)
DEFAULTS = ((1, "Offen", 1, 10, "open"), (2, "Gewonnen", 2, 100, "won"), (3, "Verloren", 3, 0, "lost"))


def upgrade():
    stages = op.create_table(
        "deal_stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('open', 'won', 'lost')", name=op.f("ck_deal_stages_kind")),
        sa.CheckConstraint("probability BETWEEN 0 AND 100", name=op.f("ck_deal_stages_probability")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stages")),
        sa.UniqueConstraint("name", name=op.f("uq_deal_stages_name")),
    )
    op.bulk_insert(stages, [
        {"id": i, "name": name, "position": pos, "probability": p, "kind": kind, "created_at": datetime(2026, 11, 29)}
        for i, name, pos, p, kind in DEFAULTS])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('deal_stages', 'id'), 3)")
        op.add_column("deals", sa.Column("stage_id", sa.Integer(), nullable=True))
    else:
        # a plain ADD COLUMN: no rebuild of the deals table (its search triggers stay as they are);
        # SQLite cannot add a NOT NULL column without a default, so there it stays nullable (the
        # service and the model's insert hook always set it)
        op.execute("ALTER TABLE deals ADD COLUMN stage_id INTEGER "
                   "REFERENCES deal_stages (id) ON DELETE RESTRICT")
    for i, _name, _pos, _p, kind in DEFAULTS:
        op.execute(sa.text("UPDATE deals SET stage_id = :id WHERE stage = :kind").bindparams(id=i, kind=kind))
    if bind.dialect.name == "postgresql":
        op.alter_column("deals", "stage_id", nullable=False)
        op.create_foreign_key(op.f("fk_deals_stage_id_deal_stages"), "deals", "deal_stages",
                              ["stage_id"], ["id"], ondelete="RESTRICT")
    op.create_index(op.f("ix_deals_stage_id"), "deals", ["stage_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_deals_stage_id"), table_name="deals")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE deals DROP COLUMN stage_id")  # SQLite >= 3.35; no table rebuild
    else:
        op.drop_constraint(op.f("fk_deals_stage_id_deal_stages"), "deals", type_="foreignkey")
        op.drop_column("deals", "stage_id")
    op.drop_table("deal_stages")
