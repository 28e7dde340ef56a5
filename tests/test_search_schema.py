"""The search index in the database: its triggers survive later migrations (SQLite batch mode
rebuilds tables), the index follows a migration's changes, and a rebuild gives the same docs."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from crm import create_app
from crm.extensions import db
from crm.pipeline import models as deal_sums
from crm.search import schema
from tests.conftest import ON_PG, TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent

LATER_MIGRATION = '''
"""a later migration that rebuilds the people table on SQLite and changes data"""
import sqlalchemy as sa
from alembic import op

from crm.search import schema as search_schema

revision = "later_01"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with search_schema.triggers_set_aside(op.get_bind()):
        with op.batch_alter_table("people", recreate="always") as batch_op:
            batch_op.add_column(sa.Column("nickname", sa.String(40), nullable=True))
    op.execute("UPDATE people SET last_name = 'Umbenannt' WHERE last_name = 'Vorher'")


def downgrade():
    with search_schema.triggers_set_aside(op.get_bind()):
        with op.batch_alter_table("people", recreate="always") as batch_op:
            batch_op.drop_column("nickname")
'''


def doc_rows(conn):
    return sorted(conn.execute(text(
        "SELECT record_type, record_id, kind, source_id, field_id, body FROM search_docs")).all())


def test_triggers_exist_at_head(app):
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            names = set(conn.execute(text(
                "SELECT DISTINCT trigger_name FROM information_schema.triggers WHERE trigger_name LIKE 'search%'"
            )).scalars())
        else:
            names = set(conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search%'")).scalars())
    expected = {n for n, _t in schema.trigger_names()}
    if ON_PG:  # one trigger computes the vector on insert and update
        expected -= {"search_docs_update", "search_docs_delete"}
    assert names == expected


def test_rebuild_gives_the_same_docs(app, make):
    f = make.field("person", "Hobby", kind="text")
    p = make.person("Kurz", emails=["a@b.example"])
    make.value(f, p, "Segeln")
    make.company("Firma", emails=["x@y.example"])
    with db.engine.begin() as conn:
        before = doc_rows(conn)
        assert schema.rebuild(conn) == len(before) == 5
        assert doc_rows(conn) == before
    from crm.search.queries import search

    with make.acting_as(app, make.user()) as viewer:
        assert [h.name for h in search(viewer, "segeln")] == ["Anna Kurz"]


#: texts for the words function: ASCII, accents of every kind it maps, other scripts, the empty text
_WORD_TEXTS = ["", " ", "Müller-Lüdenscheidt GmbH", "MÜLLER", "Ærø Ångström", "Łódź ŠKODA", "Çağdaş Öztürk",
               "straße Straße", "info@acme.example", "+49 (40) 123-45", "Ελληνικά Кириллица 東京", "naïve café",
               "x" * 300, "ſ ß ẞ ŉ", "Tab\there", "a1b2 C3", "Dvořák's \"Rusalka\"", None]


@pytest.mark.skipif(not ON_PG, reason="the words function is PostgreSQL's (SQLite's FTS5 removes accents)")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")), max_size=30))
def test_search_words_are_those_of_the_function_before_words_01(app, extra):
    """Revision words_01 skips the accents' translate for an ASCII text: the words of every text are
    the same as with the function before it, so the index made by the old function stays right."""
    before = ("coalesce(array_remove(regexp_split_to_array(translate(lower(coalesce(t, '')), :accented, "
              ":plain), '[^[:alnum:]]+'), ''), '{}')")
    with db.engine.connect() as conn:
        differ = conn.execute(text(
            f"SELECT t FROM unnest(CAST(:texts AS text[])) AS u(t) WHERE kontor_search_words(t) <> {before}"),
            {"texts": _WORD_TEXTS + extra, "accented": schema._ACCENTED, "plain": schema._PLAIN}).scalars().all()
    assert differ == []


def test_a_later_batch_migration_keeps_search_working(tmp_path, make, app):
    """SQLite's batch mode copies, drops and renames the table; with a trigger naming ``people``
    the rename fails, unless the migration sets the triggers aside around it
    (``triggers_set_aside``); they are back afterwards, and the people's contact details and tags
    (rows pointing at ``people``) are still there."""
    if ON_PG:
        return  # PostgreSQL alters tables in place; the test database is shared by the worker
    make.person("Vorher", "Vera", emails=["vera@example.com"], tags=["Messe"])
    url = str(db.engine.url)
    db.session.remove()
    db.engine.dispose()
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", migrations)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config(str(migrations / "alembic.ini"))
    cfg.set_main_option("script_location", str(migrations))
    current_head = ScriptDirectory.from_config(cfg).get_current_head()
    (migrations / "versions" / "later_01.py").write_text(LATER_MIGRATION.replace("{head}", current_head))
    other = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with other.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(migrations))
        assert "nickname" in {c["name"] for c in inspect(db.engine).get_columns("people")}
        with db.engine.connect() as conn:  # the duplicate lookups' expression index came back
            assert conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'ix_people_name_key'").scalar() == 1
        from crm.search.queries import search
        from tests import factories

        with factories.acting_as(other, factories.user()) as viewer:
            assert [h.name for h in search(viewer, "umbenannt")] == ["Vera Umbenannt"]
            assert search(viewer, "vorher") == []
            assert [h.name for h in search(viewer, "vera@example.com")] == ["Vera Umbenannt"]
            factories.person("Danach", "Dora")
            assert [h.name for h in search(viewer, "danach")] == ["Dora Danach"]
        db.session.remove()
        db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        triggers = conn.execute(text("SELECT count(*) FROM sqlite_master WHERE type='trigger'")).scalar()
        assert triggers == len(schema.trigger_names()) + len(deal_sums.TRIGGERS)
        assert conn.execute(text("SELECT count(*) FROM person_tags JOIN people p ON p.id = person_id "
                                 "WHERE p.last_name = 'Umbenannt'")).scalar() == 1
    engine.dispose()


def test_rebuild_command(app, make):
    make.company("Kommando GmbH")
    result = app.test_cli_runner().invoke(args=["search", "rebuild"])
    assert result.exit_code == 0 and "Search index rebuilt: 1 texts" in result.output
