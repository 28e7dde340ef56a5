"""search by file name: the search index gets a doc per attached file (kind "file", its name),
kept current by triggers on ``attachments`` (crm/search/schema.py)

The upgrade re-creates the search triggers (now with those of ``attachments``) and refills the
docs, the existing files' names among them. The downgrade takes exactly that out again: the
``attachments`` triggers (and their functions on PostgreSQL) and the file docs; the other
triggers are the same in both revisions and stay.

Revision ID: filesearch_01
Revises: board_01
Create Date: 2026-11-29
"""
from alembic import op

from crm.search import schema as search_schema

revision = "filesearch_01"
down_revision = "board_01"
branch_labels = None
depends_on = None


def upgrade():
    # rebuild() creates the triggers of every source table there is, then refills the docs
    search_schema.rebuild(op.get_bind())


def downgrade():
    search_schema.drop_source(op.get_bind(), "attachments", "file")
