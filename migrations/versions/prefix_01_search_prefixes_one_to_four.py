"""the SQLite full-text index with prefix indexes for 1 to 4 letters instead of 1 to 8 (issue 17):
a prefix of 5 letters or more is answered from the index's words themselves, which few words share
(measured at 100k people: 0-15 % slower per such query, tens of microseconds), and every prefix
length indexed is one more index entry per word written - filling the index takes half the time
(``demo generate``, a rebuild, every saved record's words). The words and what a search finds are
the same.

The upgrade makes the FTS5 table anew and fills it from ``search_docs`` (the docs and their ids stay);
the downgrade does the same with the eight lengths. PostgreSQL has no prefix indexes: nothing to do.

Revision ID: prefix_01
Revises: loc_01
Create Date: 2026-11-30
"""
from alembic import op

from crm.search import schema as search_schema

revision = "prefix_01"
down_revision = "loc_01"
branch_labels = None
depends_on = None

#: the table as revision ``searchgrp_01`` and this one make it, but for the prefix lengths
_TABLE = ("CREATE VIRTUAL TABLE search_fts USING fts5(body, meta, content='', "
          "tokenize='unicode61 remove_diacritics 2', prefix='{}')")


def _remake(prefixes: str) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql" or not search_schema.has_index(conn):
        return
    # (the triggers on search_docs write into the table by name: the new one takes their rows)
    conn.exec_driver_sql("DROP TABLE search_fts")
    conn.exec_driver_sql(_TABLE.format(prefixes))
    search_schema.refill_fulltext(conn)


def upgrade():
    _remake("1 2 3 4")


def downgrade():
    _remake("1 2 3 4 5 6 7 8")
