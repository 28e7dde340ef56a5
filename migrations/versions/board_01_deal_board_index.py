"""deal board index: the board's cards of a stage are the first ones by target date (those without
one last), then the larger value, then the id. An index in that order lets each stage's column be
read from its start instead of sorting every deal the viewer sees (issue 15's board at 1M deals).

Revision ID: board_01
Revises: reasons_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "board_01"
down_revision = "reasons_01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_deals_board", "deals", ["stage_id", "target_date", sa.text("value_cents DESC"), "id"],
                    unique=False)


def downgrade():
    op.drop_index("ix_deals_board", table_name="deals")
