"""tags.key: the name NFKC-normalised and case-folded, what every tag lookup compares

Before, lookups compared SQL ``lower(name)`` with Python's ``casefold()``: they disagree on
"Ärzte" (SQLite lowers ASCII only) and "Straße" (PostgreSQL keeps "ß"), so a tag the user sees was
not reused in another capitalisation and a second one appeared (issue 16).

The column is filled from the names. ``key`` is indexed but not unique: two spellings of one key
stay two tags where users who cannot see each other's records typed them (product.md §8, a
tag's spelling must not depend on hidden records; crm.records.services.tag_named). Tags whose
names differ only in Unicode normal form (a decomposed "Ä") look the same to everyone: they are
merged into the oldest one, whose name becomes the composed form (no record changes what it
shows, so no one learns anything).

No table is rebuilt: on SQLite a batch rebuild of ``tags`` would drop it, and with foreign keys
on the drop would cascade to the tag links. (So on SQLite the column keeps a default of ''.)

Revision ID: ops_01_tagkey
Revises: trust_02_sessions
Create Date: 2026-11-28
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "ops_01_tagkey"
down_revision = "trust_02_sessions"
branch_labels = None
depends_on = None

LINK_TABLES = {"company_tags": "company_id", "person_tags": "person_id", "deal_tags": "deal_id",
               "project_tags": "project_id"}


def _key(name: str) -> str:
    # frozen copy of crm.records.models.tag_key as of this revision
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _merge(bind, keep: int, dupe: int) -> None:
    for table, col in LINK_TABLES.items():
        bind.execute(sa.text(
            f"INSERT INTO {table} ({col}, tag_id) SELECT {col}, :keep FROM {table} d WHERE d.tag_id = :dupe "
            f"AND NOT EXISTS (SELECT 1 FROM {table} k WHERE k.{col} = d.{col} AND k.tag_id = :keep)"
        ), {"keep": keep, "dupe": dupe})
        bind.execute(sa.text(f"DELETE FROM {table} WHERE tag_id = :dupe"), {"dupe": dupe})
    bind.execute(sa.text("DELETE FROM tags WHERE id = :dupe"), {"dupe": dupe})


def upgrade():
    op.add_column("tags", sa.Column("key", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name FROM tags ORDER BY id")).all()
    first: dict[str, int] = {}
    for tid, name in rows:
        nfc = unicodedata.normalize("NFC", name)
        if nfc in first:
            _merge(bind, first[nfc], tid)
            continue
        first[nfc] = tid
    for tid, name in rows:
        nfc = unicodedata.normalize("NFC", name)
        if first.get(nfc) == tid:
            bind.execute(sa.text("UPDATE tags SET name = :name, key = :key WHERE id = :id"),
                         {"name": nfc, "key": _key(nfc), "id": tid})
    if bind.dialect.name == "postgresql":
        op.alter_column("tags", "key", server_default=None)
    op.create_index("ix_tags_key", "tags", ["key"], unique=False)


def downgrade():
    op.drop_index("ix_tags_key", table_name="tags")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tags DROP COLUMN key")  # SQLite >= 3.35; no table rebuild
    else:
        op.drop_column("tags", "key")
