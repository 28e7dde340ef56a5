"""the board's figures as sums per group (issue 17): ``deal_sums`` (group, stage, reason, currency,
responsible, kind) and ``deal_month_sums`` (group, currency, month of the target date, stage, kind),
each with the number of deals and their value (and an index of each in the order the figures add
them up), kept by triggers on ``deals`` (crm/pipeline/models.py: on SQLite one row per key, on
PostgreSQL rows appended per change and added up every minute)
and filled here from the deals there are. The pipeline page reads a few rows per group the viewer
sees in full instead of every deal: a user in 200 groups at 1M people added up 300,000 deals on
each view. The deals' indexes that served those aggregates go: ``ix_deals_figures`` (both
databases) and SQLite's ``ix_deals_sums`` / ``ix_deals_days``.

Revision ID: sums_01
Revises: valueidx_01
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from crm.pipeline import models as sums

revision = "sums_01"
down_revision = "valueidx_01"
branch_labels = None
depends_on = None

#: the indexes this revision drops, as their revisions made them (pipeidx_01; pipeidx_02: SQLite only)
INDEXES = {
    "ix_deals_figures": (["group_id", "currency", "stage", "target_date", "stage_id", "reason_id",
                          "responsible_id", "value_cents", "deleted_at", "pending_import_id"], False),
    "ix_deals_sums": (["stage_id", "reason_id", "currency", "responsible_id", "stage", "group_id", "value_cents",
                       "deleted_at", "pending_import_id"], True),
    "ix_deals_days": (["target_date", "stage_id", "stage", "currency", "group_id", "value_cents",
                       "deleted_at", "pending_import_id"], True),
}


def _table(name: str, key: list[sa.Column]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        *key,
        sa.Column("deals", sa.BigInteger(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    columns = [c.name for c in key]
    if op.get_bind().dialect.name == "sqlite":  # one row per key, added to by the triggers
        op.create_index(f"uq_{name}_key", name, columns, unique=True)
    else:  # rows appended by the triggers, added up by crm.pipeline.models.compact
        op.create_index(f"ix_{name}_key", name, columns, unique=False)


def upgrade():
    conn = op.get_bind()
    _table("deal_sums", [
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("reason_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
    ])
    _table("deal_month_sums", [
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
    ])
    sums.create_triggers(conn)
    sums.refill(conn)
    op.create_index("ix_deal_sums_added", "deal_sums", ["stage_id", "reason_id", "currency", "responsible_id", "kind",
                                                        "group_id", "deals", "cents"], unique=False)
    op.create_index("ix_deal_month_sums_added", "deal_month_sums", ["currency", "month", "stage_id", "kind", "group_id",
                                                                    "deals", "cents"], unique=False)
    sqlite = conn.dialect.name == "sqlite"
    for name, (_columns, sqlite_only) in INDEXES.items():
        if sqlite or not sqlite_only:
            op.drop_index(name, table_name="deals")


def downgrade():
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    where = sa.text("deleted_at IS NULL AND pending_import_id IS NULL")
    for name, (columns, sqlite_only) in INDEXES.items():
        if sqlite or not sqlite_only:
            op.create_index(name, "deals", columns, unique=False, sqlite_where=where, postgresql_where=where)
    sums.drop_triggers(conn)
    sums.drop_functions(conn)
    op.drop_table("deal_month_sums")
    op.drop_table("deal_sums")
