"""assignment_rules: ordered rules per record type that put records into a group by what they are
(issue 18).

Revision ID: rules_01
Revises: stages_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "rules_01"
down_revision = "stages_01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "assignment_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("follow", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_assignment_rules_group_id_groups"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_rules")),
    )
    op.create_index(op.f("ix_assignment_rules_group_id"), "assignment_rules", ["group_id"], unique=False)
    op.create_index(op.f("ix_assignment_rules_record_type"), "assignment_rules", ["record_type"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_assignment_rules_record_type"), table_name="assignment_rules")
    op.drop_index(op.f("ix_assignment_rules_group_id"), table_name="assignment_rules")
    op.drop_table("assignment_rules")
