"""an import keeps the language of the page that queued it (``import_jobs.locale``), as the other
jobs do (``jobs.locale``): a retry after a dead worker read the file's numbers in its owner's
setting or in German, not in the language the first run used

Plain ``ADD COLUMN`` (no table rebuild on SQLite: import_items hang on import_jobs); a job queued
before it has ``""`` and runs in its owner's language, as before.

Revision ID: loc_01
Revises: words_01
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "loc_01"
down_revision = "words_01"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("import_jobs", sa.Column("locale", sa.String(length=10), nullable=False, server_default=""))


def downgrade():
    op.drop_column("import_jobs", "locale")
