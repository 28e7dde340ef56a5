"""Upgrades safe on a running installation (issue 16): ``flask db upgrade`` with nothing to do
touches nothing (before, migrations/env.py dropped and re-created the search triggers on every
run, from the current code); every revision goes down and up again on a filled database and
leaves its data as it was; the triggers a migrated database has are the code's."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from crm.search import schema
from tests import factories
from tests.conftest import ON_PG, TEST_CONFIG, _create_pg_database, _pg_url
from tests.factories import statements_of
from tests.pgadmin import drop_database

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(ROOT / "migrations")
#: statements that change nothing
READS = re.compile(r"^\s*(SELECT|PRAGMA|SHOW|BEGIN|COMMIT|ROLLBACK|WITH)\b", re.I)


def revisions() -> list[str]:
    """Every revision, oldest first."""
    cfg = Config(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", MIGRATIONS)
    return [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]


def schema_objects(conn) -> set:
    """Triggers, functions and indexes, with their definitions."""
    if conn.dialect.name == "postgresql":
        return set(conn.execute(text(
            "SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
            "UNION ALL SELECT 'function', proname, prosrc FROM pg_proc WHERE proname LIKE 'kontor_%' "
            "UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")).all())
    return set(conn.execute(text("SELECT type, name, sql FROM sqlite_master")).all())


def test_an_upgrade_with_nothing_to_do_touches_nothing(app, make):
    make.company("Vorher GmbH", tags=["Messe"])
    with db.engine.connect() as conn:
        before = schema_objects(conn)
    with statements_of(db.engine) as seen:
        upgrade(directory=MIGRATIONS)
    writes = [s for s in seen if not READS.match(s)]
    assert writes == []
    with db.engine.connect() as conn:
        assert schema_objects(conn) == before
    # the index still follows the records
    from crm.search.queries import search

    with make.acting_as(app, make.user("admin")) as viewer:
        make.company("Danach GmbH")
        assert [h.name for h in search(viewer, "danach")] == ["Danach GmbH"]


def _code_triggers(dialect: str) -> set:
    if dialect == "sqlite":
        return set(schema._sqlite_triggers())
    out = set()
    for stmt in schema._pg_triggers():
        m = re.match(r"CREATE OR REPLACE FUNCTION (\w+)\(.*?AS \$\$(.*)\$\$$", stmt.strip(), re.S)
        if m:
            out.add((m.group(1), m.group(2)))
    return out


def test_the_migrated_triggers_are_the_codes(app):
    """A change to the triggers' SQL in crm/search/schema.py needs a revision that re-creates them
    (since upgrades no longer do it on every run): this fails until there is one."""
    with db.engine.connect() as conn:
        if ON_PG:
            stored = set(conn.execute(text(
                "SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'kontor_search%'")).all())
        else:
            stored = set(conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search%'")).scalars())
    assert stored == _code_triggers(db.engine.dialect.name)


@pytest.fixture
def empty_database(tmp_path, worker_id):
    if ON_PG:
        url = _pg_url(f"{worker_id}_mig")
        _create_pg_database(url)
        yield url
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            drop_database(conn, make_url(url).database)
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'mig.sqlite3'}"


def _fill(app) -> None:
    f = factories
    admin = f.user("admin", name="Ada Admin")
    f.enable_groups()
    nord = f.group("Nord", [admin])
    status = f.field("company", "Kundenstatus")
    for i in range(3):
        c = f.company(f"Firma {i} GmbH", group=nord if i else None, emails=[f"info{i}@example.com"],
                      tags=["Messe", f"Ärzte {i}"])
        f.value(status, c, f"Stufe {i}")
        p = f.person(f"Kurz{i}", "Anna", company=c, emails=[f"anna{i}@example.com"], tags=["Messe"])
        d = f.deal(f"Deal {i}", company=c, person=p, value=100 * i)
        f.project(f"Projekt {i}", company=c, person=p)
        f.note(c, f"Notiz {i}", author=admin)
        f.note(d, f"Deal-Notiz {i}", author=admin)
        f.task(f"Anrufen {i}", record=p, assignee=admin, created_by=admin)


#: what must survive every revision going down and up again (the tables of the first revision)
FINGERPRINT = {
    "companies": "id, name, group_id, version",
    "people": "id, last_name, company_id, group_id",
    "deals": "id, name, company_id, person_id, value_cents",
    "projects": "id, name, company_id, person_id",
    "contact_details": "id, kind, value, company_id, person_id",
    "company_tags": "company_id, tag_id",
    "person_tags": "person_id, tag_id",
    "tags": "id, name",
    "notes": "id, body",
    "tasks": "id, title",
    "custom_field_values": "id, field_id, value, company_id",
    "group_members": "group_id, user_id",
}


def fingerprint(conn) -> dict:
    return {t: sorted(conn.execute(text(f"SELECT {cols} FROM {t}")).all()) for t, cols in FINGERPRINT.items()}


def test_every_revision_goes_down_and_up_on_a_filled_database(empty_database):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    chain = revisions()
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        _fill(app)
        db.session.remove()
        with db.engine.connect() as conn:
            before = fingerprint(conn)
            docs = sorted(conn.execute(text("SELECT record_type, record_id, kind, body FROM search_docs")).all())
        assert len(before["company_tags"]) == 6 and len(docs) > 12
        # one step down and up again at every revision, then all the way down and up
        for rev in reversed(chain[1:]):
            downgrade(directory=MIGRATIONS, revision="-1")
            with db.engine.connect() as conn:
                assert fingerprint(conn) == before, f"down from {rev}"
                if rev == "searchgrp_01":
                    _assert_group_words(conn)
                if rev == "prefix_01":
                    _assert_prefixes(conn, "1 2 3 4 5 6 7 8")
            upgrade(directory=MIGRATIONS, revision="+1")
            with db.engine.connect() as conn:
                assert fingerprint(conn) == before, f"up to {rev}"
            downgrade(directory=MIGRATIONS, revision="-1")
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == chain[0]
        db.session.remove()
        upgrade(directory=MIGRATIONS)
        from tests.test_deal_sums import expected, stored

        assert stored() == expected() and stored()[0]  # (sums_01 fills the deals' sums per group)
        db.session.rollback()
        with db.engine.connect() as conn:
            assert fingerprint(conn) == before
            assert sorted(conn.execute(text(
                "SELECT record_type, record_id, kind, body FROM search_docs")).all()) == docs
            assert conn.execute(text("SELECT count(*) FROM tags WHERE key = ''")).scalar() == 0
            _assert_prefixes(conn, schema.FTS_PREFIXES)
            assert _code_triggers(conn.dialect.name) <= (
                set(conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger'")).scalars())
                if conn.dialect.name == "sqlite" else set(conn.execute(text(
                    "SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'kontor_search%'")).all()))
        db.session.remove()
        db.engine.dispose()


def _assert_prefixes(conn, prefixes: str) -> None:
    """SQLite's full-text table has these prefix indexes and finds every doc by the prefixes of its
    words, indexed or not (PostgreSQL has none)."""
    if conn.dialect.name != "sqlite":
        return
    sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'search_fts'")).scalar()
    assert f"prefix='{prefixes}'" in sql
    names = conn.execute(text("SELECT id, body FROM search_docs WHERE kind = 'name'")).all()
    assert names
    for doc_id, body in names:
        word = re.search(r"\w+", body.lower()).group()
        for length in (1, 4, 5, len(word)):
            found = conn.execute(text("SELECT rowid FROM search_fts WHERE search_fts MATCH :q"),
                                 {"q": f'body : "{word[:length]}"*'}).scalars().all()
            assert doc_id in found, (body, word[:length])


def _assert_group_words(conn) -> None:
    """Below searchgrp_01 each doc has its record's group, as a column and an index word."""
    groups = dict(conn.execute(text("SELECT id, group_id FROM companies")).all())
    docs = conn.execute(text("SELECT id, record_id, group_id FROM search_docs WHERE record_type = 'company'")).all()
    assert docs and all(group == groups[rid] for _id, rid, group in docs)
    for gid in set(groups.values()):
        if conn.dialect.name == "postgresql":
            found = conn.execute(text("SELECT id FROM search_docs WHERE tsv @@ CAST(:q AS tsquery)"),
                                 {"q": f"'#xcompanyg{gid}'"}).scalars().all()
        else:
            found = conn.execute(text("SELECT rowid FROM search_fts WHERE search_fts MATCH :q"),
                                 {"q": f"meta : xcompanyg{gid}"}).scalars().all()
        assert sorted(found) == sorted(i for i, rid, _g in docs if groups[rid] == gid)


def test_the_tag_key_migration_merges_only_tags_that_look_the_same(empty_database):
    """Two tags whose names differ only in Unicode form (a decomposed "Ä") become one; tags of
    another capitalisation stay apart (they may be on records of users who cannot see each
    other's: product.md §8), and every key is filled."""
    import unicodedata

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="trust_02_sessions")
        composed, decomposed = "Ärzte", unicodedata.normalize("NFD", "Ärzte")
        conn = db.session.connection()
        for i, name in enumerate([composed, decomposed, "ÄRZTE", "Straße"], start=1):
            conn.execute(text("INSERT INTO tags (id, name) VALUES (:i, :n)"), {"i": i, "n": name})
        db.session.commit()
        for name in ("A", "B"):  # (SQL, not the models: they have columns of later revisions)
            db.session.execute(text(
                "INSERT INTO companies (name, website, background, sort_key, created_at, updated_at, version, "
                "group_id) VALUES (:n, '', '', :n, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 1)"), {"n": name})
        db.session.commit()
        a, b = db.session.execute(text("SELECT id FROM companies ORDER BY id")).scalars().all()
        for cid, tid in ((a, 1), (a, 2), (b, 2), (b, 3)):
            conn = db.session.connection()
            conn.execute(text("INSERT INTO company_tags (company_id, tag_id) VALUES (:c, :t)"), {"c": cid, "t": tid})
        db.session.commit()
        db.session.remove()
        upgrade(directory=MIGRATIONS)
        rows = db.session.execute(text("SELECT id, name, key FROM tags ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "Ärzte", "ärzte"), (3, "ÄRZTE", "ärzte"), (4, "Straße", "strasse")]
        links = db.session.execute(text("SELECT company_id, tag_id FROM company_tags ORDER BY 1, 2")).all()
        assert [tuple(r) for r in links] == [(a, 1), (b, 1), (b, 3)]
        db.session.remove()
        db.engine.dispose()


def test_the_history_migration_starts_every_record_with_its_created_and_last_change(empty_database):
    """history_01: the activity stream reads the change history, so each record that exists before
    it gets its "created" event, and a "changed" one if it changed later (by more than a second)."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="queue_01")
        for name, changed in (("Neu", "2026-01-01 10:00:00"), ("Alt", "2026-03-01 09:30:00")):
            db.session.execute(text(
                "INSERT INTO companies (name, website, background, sort_key, created_at, updated_at, version, "
                "group_id) VALUES (:n, '', '', :n, '2026-01-01 10:00:00', :u, 1, 1)"), {"n": name, "u": changed})
        db.session.commit()
        db.session.remove()
        upgrade(directory=MIGRATIONS)
        rows = db.session.execute(text(
            "SELECT c.name, e.kind, e.at FROM record_events e JOIN companies c ON c.id = e.company_id "
            "ORDER BY c.name, e.at")).all()
        assert [(n, k, str(at)[:19]) for n, k, at in rows] == [
            ("Alt", "created", "2026-01-01 10:00:00"), ("Alt", "changed", "2026-03-01 09:30:00"),
            ("Neu", "created", "2026-01-01 10:00:00")]
        db.session.remove()
        db.engine.dispose()


def test_the_file_search_migration_indexes_the_files_there_are_and_goes_back(empty_database):
    """filesearch_01: the names of the files attached before it are found after it; its downgrade
    leaves the triggers, functions and docs as the revision before had them."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="filesearch_01-1")
        db.session.execute(text(
            "INSERT INTO companies (name, website, background, sort_key, created_at, updated_at, version, "
            "group_id) VALUES ('Hafenwerk', '', '', 'hafenwerk', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 1)"))
        cid = db.session.execute(text("SELECT id FROM companies")).scalar_one()
        db.session.execute(text(
            "INSERT INTO attachments (storage_key, name, content_type, size, created_at, company_id) "
            "VALUES ('k1', 'Angebot_2026-03.pdf', 'application/pdf', 3, CURRENT_TIMESTAMP, :c)"), {"c": cid})
        db.session.commit()
        db.session.remove()

        def state():
            with db.engine.connect() as conn:
                docs = sorted(conn.execute(text("SELECT record_type, record_id, kind, body FROM search_docs")).all())
                return docs, schema_objects(conn)

        before = state()
        assert [d[2] for d in before[0]] == ["name"]
        upgrade(directory=MIGRATIONS, revision="filesearch_01")
        docs, objects = state()
        assert ("company", cid, "file", "Angebot_2026-03.pdf") in docs
        assert {f"search_attachments_{e}" for e in ("insert", "update", "delete")} <= {o[1] for o in objects}
        downgrade(directory=MIGRATIONS, revision="-1")
        assert state() == before
        # (the search through the models: at the head, whose columns they have)
        upgrade(directory=MIGRATIONS)
        with factories.acting_as(app, factories.user("admin")) as viewer:
            from crm.search.queries import search

            assert [(h.name, h.matched) for h in search(viewer, "angebot 2026")] == [
                ("Hafenwerk", "Angebot_2026-03.pdf")]
        db.session.remove()
        db.engine.dispose()
