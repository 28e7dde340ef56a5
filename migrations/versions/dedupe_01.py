"""imports know their duplicates: what an import does with a row that matches a record the
importer fully sees (skip, update, create anyway), and how many rows it updated and skipped; a
people import can create the companies it names that the importer does not see

Revision ID: dedupe_01
Revises: export_01
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "dedupe_01"
down_revision = "export_01"
branch_labels = None
depends_on = None


def upgrade():
    # plain ADD COLUMN (no table rebuild on SQLite: import_items hang on import_jobs)
    op.add_column("import_jobs", sa.Column("on_duplicate", sa.String(length=8), nullable=False,
                                           server_default="skip"))
    op.add_column("import_jobs", sa.Column("updated", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("import_jobs", sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("import_jobs", sa.Column("create_companies", sa.Boolean(), nullable=False,
                                           server_default=sa.false()))
    # the duplicate lookups (crm/imports/queries.py): expression indexes on what they compare
    op.create_index("ix_people_name_key", "people", [sa.text("(lower(last_name) || '|' || lower(first_name))")])
    op.create_index("ix_companies_name_lower", "companies", [sa.text("lower(name)")])
    op.create_index("ix_contact_details_email_lower", "contact_details", [sa.text("lower(value)")],
                    sqlite_where=sa.text("kind = 'email'"), postgresql_where=sa.text("kind = 'email'"))
    op.add_column("import_jobs", sa.Column("companies_created", sa.Integer(), nullable=False,
                                           server_default="0"))


def downgrade():
    op.drop_index("ix_contact_details_email_lower", table_name="contact_details")
    op.drop_index("ix_companies_name_lower", table_name="companies")
    op.drop_index("ix_people_name_key", table_name="people")
    op.drop_column("import_jobs", "companies_created")
    op.drop_column("import_jobs", "create_companies")
    op.drop_column("import_jobs", "skipped")
    op.drop_column("import_jobs", "updated")
    op.drop_column("import_jobs", "on_duplicate")
