"""the deals by value on SQLite (issue 17): ``ix_deals_value`` (value, id) of the deals that exist.
A list sorted by value of a viewer in more than a few groups, or with the group system off, walks
it and tests each deal's group, instead of sorting every deal the viewer sees (a user in 200 groups
at 1M people, 300,000 deals: 781 ms for the first page, 94 ms with it). A viewer in a few groups
reads ``ix_deals_group_value`` group by group, as before. The index holds no group: moving records
to another group leaves it alone. PostgreSQL plans the sort by its own statistics and gets none.

Revision ID: valueidx_01
Revises: pipeidx_02
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "valueidx_01"
down_revision = "pipeidx_02"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_index("ix_deals_value", "deals", ["value_cents", "id"], unique=False,
                    sqlite_where=sa.text("deleted_at IS NULL AND pending_import_id IS NULL"))


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_deals_value", table_name="deals")
