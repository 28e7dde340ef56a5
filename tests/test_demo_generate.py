"""``demo generate`` (crm/demo/generate.py): the rows are made as batches of tuples and written
through the driver (COPY / multi-row INSERTs); a seed still gives the same data, and an error while
the rows are made reaches the command and leaves nothing behind."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from crm.demo import generate as gen
from crm.extensions import db
from crm.models import Company, ContactDetail, Deal, Note, Person, Project
from crm.records.models import TAG_TABLES
from crm.tasks.models import Task
from tests.test_migrations import schema_objects

COUNTS = gen.Counts(companies=7, people=23, deals=9, projects=4, groups=4, users=3, notes=11, tasks=6, tags=3)
TABLES = [Company.__table__, Person.__table__, Deal.__table__, Project.__table__, ContactDetail.__table__,
          Note.__table__, Task.__table__, *TAG_TABLES.values()]


def _rows() -> dict[str, list[tuple]]:
    return {t.name: [tuple(r) for r in db.session.execute(select(t).order_by(*t.primary_key.columns))]
            for t in TABLES}


def test_same_seed_same_data_and_a_failure_while_making_rows_writes_nothing(app, monkeypatch):
    monkeypatch.setattr(gen, "utcnow", lambda: datetime(2026, 3, 2, 9, 30, 15, 250000))
    done = gen.generate(COUNTS, seed=11)
    first = _rows()
    db.session.rollback()
    gen.generate(COUNTS, seed=11)
    assert _rows() == first
    db.session.rollback()

    assert done == {"groups": 3, "users": 3, "companies": 7, "people": 23, "deals": 9, "projects": 4, "notes": 11,
                    "tasks": 6}
    assert [len(first[t]) for t in ("companies", "people", "deals", "projects", "contact_details", "notes",
                                     "tasks")] == [7, 23, 9, 4, 7 + 2 * 23, 11, 6]
    # what the demo data looks like: every deal has a stage and a reason note (its default), every
    # person an email and a phone number, dates and times as they were given
    deal = first["deals"][0]
    assert deal[Deal.__table__.c.keys().index("reason_note")] == ""
    assert {r[1] for r in first["contact_details"]} == {"email", "phone"}
    assert first["companies"][0][Company.__table__.c.keys().index("created_at")] == datetime(2026, 3, 2, 9, 30, 15,
                                                                                               250000)

    calls = 0
    real = gen.sort_key

    def fails_later(*parts):
        nonlocal calls
        calls += 1
        if calls > 15:  # in the people, after the companies went in
            raise RuntimeError("out of names")
        return real(*parts)

    monkeypatch.setattr(gen, "sort_key", fails_later)
    with pytest.raises(RuntimeError, match="out of names"):
        gen.generate(COUNTS, seed=11)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def _schema() -> set:
    """Indexes, triggers (on PostgreSQL with whether they are enabled) and constraints, as DDL."""
    with db.engine.connect() as conn:
        objects = schema_objects(conn)
        if conn.dialect.name == "postgresql":
            objects |= set(conn.exec_driver_sql(
                "SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint UNION ALL SELECT 'enabled', tgname, tgenabled::text FROM pg_trigger "
                "WHERE NOT tgisinternal").all())
    return objects


def test_generate_on_empty_tables_leaves_the_migrated_schema_and_search_finds(app, make, monkeypatch):
    """On empty tables ``timed`` drops the secondary indexes (on PostgreSQL also the foreign keys)
    for the load and makes them again from the catalog's DDL: afterwards - and after a generate
    that failed half-way - indexes, triggers and constraints are exactly the migrated ones, and
    the search finds the new records, the deals' sums per group add up the new deals."""
    from crm.search.queries import search
    from tests.test_deal_sums import expected, stored

    migrated = _schema()
    assert any(kind == "index" and name == "ix_people_group_sort" for kind, name, _sql in migrated)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(gen, "start_histories", broken)  # after the rows went in, before the indexes are back
        with pytest.raises(RuntimeError, match="disk full"):
            gen.timed(COUNTS, seed=11)
    assert _schema() == migrated
    assert db.session.scalar(select(func.count()).select_from(Person)) == 0

    gen.timed(COUNTS, seed=11)
    assert _schema() == migrated
    assert stored() == expected() and sum(n for n, _cents in stored()[0].values()) == COUNTS.deals
    person = db.session.scalars(select(Person).order_by(Person.id.desc())).first()  # (p23: no prefix of another)
    with make.acting_as(app, make.user("admin")) as viewer:
        assert [h.id for h in search(viewer, f"p{person.id}@people.example", 10)] == [person.id]
        assert [h.id for h in search(viewer, person.last_name, 50) if h.id == person.id] == [person.id]
