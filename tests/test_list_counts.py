"""A list's count ("12 people", "more than 10,000"): what it counts, and on SQLite that it reads the
live records' groups from their own index (crm.records.models.count_index) - and that no page
reads that index."""
import pytest
from sqlalchemy import text

from crm.extensions import db
from tests.conftest import ON_PG
from tests.factories import sqlite_plan, statements_of

TABLES = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}


@pytest.fixture
def world(make):
    """Ute sees Nord in full and the other groups' records restricted (a field shared with Nord);
    Otto sees Ost only. Each group holds two records of every type, one more in the recycle bin
    and one an import is still writing."""
    make.enable_groups()
    ute, otto = make.user(name="Ute"), make.user(name="Otto")
    nord, sued, ost = make.group("Nord", [ute]), make.group("Süd"), make.group("Ost", [otto])
    for key in TABLES:
        make.field(key, "Hinweis", shared_with=[nord])  # (Süd's rows: restricted to Ute)
    makers = {"company": make.company, "person": make.person, "deal": make.deal, "project": make.project}
    for grp in (nord, sued, ost):
        for key, maker in makers.items():
            maker(f"{grp.name} {key}", group=grp)
            maker(f"{grp.name} {key} 2", group=grp)
            maker(f"{grp.name} {key} weg", group=grp).deleted_at = db.func.now()
            maker(f"{grp.name} {key} halb", group=grp).pending_import_id = 1
    db.session.commit()
    return ute, otto, nord, sued, ost


@pytest.mark.parametrize("key", TABLES)
def test_a_list_counts_the_live_rows_of_the_groups_it_shows(app, make, world, key):
    """Both counts of a list - the rows it shows and those the viewer fully sees (what "select
    all" takes) - leave out the recycle bin and unfinished imports, capped or not, by group or not."""
    from crm.records.queries import ListFilter, count_capped
    from crm.records.types import TYPES

    ute, otto, nord, sued, ost = world
    rtype = TYPES[key]
    with make.acting_as(app, ute) as viewer:
        assert count_capped(rtype, viewer, ListFilter(), 100, selectable=True) == ((6, False), (2, False))
        assert count_capped(rtype, viewer, ListFilter(), 5, selectable=True) == ((5, True), (2, False))
        assert count_capped(rtype, viewer, ListFilter(), 1, selectable=True) == ((1, True), (1, True))
        assert count_capped(rtype, viewer, ListFilter(exact=True), 1, selectable=True) == ((6, False), (1, True))
        assert count_capped(rtype, viewer, ListFilter(group_id=nord.id), 100, selectable=True) == \
            ((2, False), (2, False))
        assert count_capped(rtype, viewer, ListFilter(group_id=sued.id), 100, selectable=True) == \
            ((2, False), (0, False))
    with make.acting_as(app, otto) as viewer:
        assert count_capped(rtype, viewer, ListFilter(), 100) == ((2, False), None)
        assert count_capped(rtype, viewer, ListFilter(group_id=nord.id), 100) == ((0, False), None)
        assert count_capped(rtype, viewer, ListFilter(group_id=ost.id), 1) == ((1, True), None)
    make.enable_groups(False)
    with make.acting_as(app, ute) as viewer:
        assert count_capped(rtype, viewer, ListFilter(), 100) == ((6, False), None)


@pytest.mark.skipif(ON_PG, reason="SQLite's index and plan (PostgreSQL counts from its own plans)")
@pytest.mark.parametrize("key", TABLES)
def test_a_lists_count_reads_the_groups_index_and_no_page_does(client, make, world, key):
    """A list narrowed by nothing but (at most) a group counts from the live records' groups'
    index alone: at 1M people 13 ms for a user in one group when each counted row was read from
    the table, 1 ms from the index. A filter on another column counts as before, and no page's
    statement ever takes that index (a planner that did sorted a 20-group user's rows)."""
    from crm.records.types import TYPES

    ute, _otto, nord, sued, _ost = world
    index = f"ix_{TABLES[key]}_live_groups"
    make.login(client, ute)
    base = "/" + TYPES[key].plural
    urls = {base: True, f"{base}?group_id={nord.id}": True, f"{base}?group_id={sued.id}&sort=updated&dir=desc": True,
            f"{base}?page=2": True, f"{base}?responsible=me": False, f"{base}?q=nord": False}
    for url, covered in urls.items():
        plans = _counted(client, url)
        counts = [plan for statement, plan in plans if statement.lstrip().startswith("SELECT (SELECT count(*)")]
        assert len(counts) == (1 if covered or "responsible" in url else 0), url
        for plan in counts:
            if covered:
                assert any(f"USING COVERING INDEX {index}" in step for step in plan), (url, plan)
            else:
                assert not any(index in step for step in plan), (url, plan)
        assert not any(index in step for statement, plan in plans if plan not in counts for step in plan), url


def _counted(client, url: str) -> list[tuple[str, list[str]]]:
    """Each SELECT the page runs, with SQLite's plan of it as run."""
    with statements_of(db.engine, parameters=True) as seen:
        assert client.get(url).status_code == 200
    return [(statement, sqlite_plan(statement, params)) for statement, params in seen
            if statement.lstrip().upper().startswith(("SELECT", "WITH"))]


def test_the_sqlite_only_indexes_are_migrated_as_the_models_make_them(app):
    """The indexes made on SQLite only (the count's, the deals by value) are the migrations' own
    (Alembic's comparison leaves them out): the migrated ones are the models', to the letter; on
    PostgreSQL there are none."""
    from sqlalchemy.schema import CreateIndex

    from crm.records.models import SQLITE_ONLY_INDEXES

    indexes = {index.name: index for table in db.metadata.tables.values() for index in table.indexes
               if index.name in SQLITE_ONLY_INDEXES}
    assert set(indexes) == SQLITE_ONLY_INDEXES
    with db.engine.connect() as conn:
        if ON_PG:
            found = conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname = ANY(:names)"),
                                 {"names": sorted(SQLITE_ONLY_INDEXES)}).scalars().all()
            assert found == []
            return
        migrated = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
        for name, index in indexes.items():
            assert migrated.get(name) == str(CreateIndex(index).compile(dialect=conn.dialect)).strip(), name
