"""attachments: files attached to a company, person, deal or project (bytes in the file store)

Revision ID: files_01
Revises: history_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "files_01"
down_revision = "history_01"
branch_labels = None
depends_on = None

ONE_RECORD = " + ".join(f"(CASE WHEN {k}_id IS NULL THEN 0 ELSE 1 END)"
                        for k in ("company", "person", "deal", "project")) + " = 1"


def upgrade():
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(ONE_RECORD, name=op.f("ck_attachments_one_record")),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_attachments_company_id_companies"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_attachments_person_id_people"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_attachments_deal_id_deals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_attachments_project_id_projects"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_attachments_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        for column in ("company_id", "person_id", "deal_id", "project_id", "uploaded_by_id", "created_at"):
            batch_op.create_index(batch_op.f(f"ix_attachments_{column}"), [column], unique=False)


def downgrade():
    op.drop_table("attachments")
