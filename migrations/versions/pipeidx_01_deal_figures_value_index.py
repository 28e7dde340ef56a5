"""deal figures and value indexes (issue 17): ``ix_deals_figures`` holds every column the board's
figures read (stage sums, value by month, the weighted forecast) of the deals that exist, the group
first, so each figure is an index-only scan of the viewer's groups instead of a pass over the deals'
rows; ``ix_deals_group_value`` (group, value, id) lets the list sorted by value read each of a
viewer's groups from its start, as the lists sorted by name or last change do. Both are partial:
``deleted_at IS NULL AND pending_import_id IS NULL``, what every visibility predicate says.

Revision ID: pipeidx_01
Revises: trashidx_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "pipeidx_01"
down_revision = "trashidx_01"
branch_labels = None
depends_on = None

#: (as crm.records.models has them, written out: a revision does not follow later code)
INDEXES = {
    "ix_deals_figures": ["group_id", "currency", "stage", "target_date", "stage_id", "reason_id",
                         "responsible_id", "value_cents", "deleted_at", "pending_import_id"],
    "ix_deals_group_value": ["group_id", "value_cents", "id"],
}


def upgrade():
    where = sa.text("deleted_at IS NULL AND pending_import_id IS NULL")
    for name, columns in INDEXES.items():
        op.create_index(name, "deals", columns, unique=False, sqlite_where=where, postgresql_where=where)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="deals")
