"""the board's figures for viewers in many groups on SQLite (issue 17): ``ix_deals_sums`` (stage,
reason, currency, responsible, kind, group, value) and ``ix_deals_days`` (target date, stage, kind,
currency, group, value), both of the deals that exist, in the order the pipeline's two aggregates
group by. SQLite walks them in that order and adds up as it goes; without them it sorted every
deal a viewer in 200 groups sees, three times per page view (28 + 19 + 15 ms of 117 at 100k
people). A viewer in a few groups still reads ``ix_deals_figures`` group by group. PostgreSQL
hashes instead of sorting and gets neither: every index holding the group is written again when
records move to another group.

Revision ID: pipeidx_02
Revises: prefix_01
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "pipeidx_02"
down_revision = "prefix_01"
branch_labels = None
depends_on = None

#: (as crm.records.models has them, written out: a revision does not follow later code)
INDEXES = {
    "ix_deals_sums": ["stage_id", "reason_id", "currency", "responsible_id", "stage", "group_id", "value_cents",
                      "deleted_at", "pending_import_id"],
    "ix_deals_days": ["target_date", "stage_id", "stage", "currency", "group_id", "value_cents",
                      "deleted_at", "pending_import_id"],
}


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    where = sa.text("deleted_at IS NULL AND pending_import_id IS NULL")
    for name, columns in INDEXES.items():
        op.create_index(name, "deals", columns, unique=False, sqlite_where=where)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in INDEXES:
        op.drop_index(name, table_name="deals")
