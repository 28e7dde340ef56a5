"""group_contacts: whom to ask about a group's records; type_default_groups: the group new
records of a type go to; handover_targets: groups whose members may hand records over to another

Revision ID: groups2_01
Revises: files_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "groups2_01"
down_revision = "files_01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "group_contacts",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_group_contacts_group_id_groups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_group_contacts_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_contacts")),
    )
    op.create_index(op.f("ix_group_contacts_user_id"), "group_contacts", ["user_id"], unique=False)
    op.create_table(
        "type_default_groups",
        sa.Column("record_type", sa.String(length=10), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("allow_own", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_type_default_groups_group_id_groups"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_type", name=op.f("pk_type_default_groups")),
    )
    op.create_index(op.f("ix_type_default_groups_group_id"), "type_default_groups", ["group_id"], unique=False)
    op.create_table(
        "handover_targets",
        sa.Column("source_group_id", sa.Integer(), nullable=False),
        sa.Column("target_group_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["source_group_id"], ["groups.id"],
                                name=op.f("fk_handover_targets_source_group_id_groups"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_group_id"], ["groups.id"],
                                name=op.f("fk_handover_targets_target_group_id_groups"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("source_group_id", "target_group_id", name=op.f("pk_handover_targets")),
    )
    op.create_index(op.f("ix_handover_targets_target_group_id"), "handover_targets", ["target_group_id"],
                    unique=False)


def downgrade():
    op.drop_index(op.f("ix_handover_targets_target_group_id"), table_name="handover_targets")
    op.drop_table("handover_targets")
    op.drop_index(op.f("ix_type_default_groups_group_id"), table_name="type_default_groups")
    op.drop_table("type_default_groups")
    op.drop_index(op.f("ix_group_contacts_user_id"), table_name="group_contacts")
    op.drop_table("group_contacts")
