"""A user in many groups (issue 17): the home page and search answer, in as many statements as for
a user in one group, each with a number of parameters that does not grow with the groups (the
home page had one arm per record type and group, each repeating the list of all groups: HTTP 500
at 200 groups, "too many SQL variables" on both databases)."""
from __future__ import annotations

import pytest
from sqlalchemy import event, insert

from crm.auth.services import issue_token
from crm.extensions import db
from crm.groups.models import Group, group_members

GROUPS = 500
#: statements per request, as in tests/test_statements.py
LIMIT = 10
#: bound parameters per statement, whatever the number of groups: the viewer's groups are one
#: parameter (crm.visibility.in_groups). Written out as a list in every predicate and in the
#: safety net's criteria, they made 4 × G² parameters on the home page (1,000,000 at 500 groups;
#: SQLite accepts 32,766, PostgreSQL 65,535) and 72 × G in the API search's tag statement.
PARAMS = 200


@pytest.fixture
def counted(app):
    seen: list[tuple[str, int]] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, len(parameters or ())))

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def world(make):
    make.enable_groups()
    admin = make.user("admin", name="Ada")
    db.session.execute(insert(Group), [{"name": f"Gruppe {i:03}"} for i in range(GROUPS)])
    groups = db.session.query(Group).filter(Group.name.like("Gruppe %")).order_by(Group.name).all()
    db.session.execute(insert(group_members), [{"group_id": g.id, "user_id": admin.id} for g in groups])
    db.session.commit()
    first, middle, last = groups[0], groups[GROUPS // 2], groups[-1]
    for grp in (first, middle, last):
        company = make.company(f"Hafen {grp.name}", group=grp)
        person = make.person("Kurz", f"Hafen {grp.name}", group=grp, company=company)
        deal = make.deal(f"Hafen Wartung {grp.name}", group=grp, company=company, person=person)
        make.project(f"Hafen Umbau {grp.name}", group=grp, company=company)
        make.note(deal, f"Angerufen {grp.name}", author=admin)
    secret = make.group("Geheim")
    hidden = make.company("Hafen Verborgen", group=secret)
    make.note(hidden, "Geheimnotiz", author=admin)
    one = make.user("normal", name="Olga", groups=[first])
    tokens = {"admin": issue_token(admin), "one": issue_token(one)}
    db.session.commit()
    return {"admin": admin, "one": one, "tokens": tokens, "names": [g.name for g in (first, middle, last)]}


def _get(app, make, world, counted, who: str, url: str):
    """The answer to ``who`` (admin: in 500 groups, one: in one of them) and its statements."""
    client = app.test_client()
    headers = {}
    if url.startswith("/api/"):
        headers = {"Authorization": f"Bearer {world['tokens'][who]}"}
    else:
        make.login(client, world[who])
    counted.clear()
    resp = client.get(url, headers=headers)
    assert resp.status_code == 200
    return resp.get_data(as_text=True), list(counted)


@pytest.mark.parametrize("url", ["/", "/search?q=hafen", "/api/v1/search?q=hafen"])
def test_home_and_search_for_a_user_in_500_groups(app, make, world, counted, url):
    _body, single = _get(app, make, world, counted, "one", url)
    body, statements = _get(app, make, world, counted, "admin", url)
    for name in world["names"]:
        assert f"Hafen {name}" in body
    assert "Verborgen" not in body and "Geheimnotiz" not in body
    # as many statements as for a user in one group (pages: within the budget of every page)
    assert len(statements) <= len(single), [s[:120] for s, _n in statements]
    if not url.startswith("/api/"):
        assert len(statements) <= LIMIT
    assert max(n for _s, n in statements) <= PARAMS


@pytest.mark.parametrize("each", [12, 40], ids=["12 groups", "40 groups"])
@pytest.mark.parametrize("url", ["/companies", "/companies?q=hafen", "/", "/search?q=hafen", "/api/v1/companies",
                                 "/api/v1/search?q=hafen"])
def test_two_users_in_many_groups_see_each_their_own(app, make, counted, url, each):
    """The groups as one parameter, or as a list written ``likely(…)``, are a value of each request,
    not part of a statement cached for the next user: two users in 12 or 40 groups each, none
    shared, one after the other on the same page."""
    from crm.visibility import GROUP_LIST_MAX

    make.enable_groups()
    db.session.execute(insert(Group), [{"name": f"Gruppe {i:03}"} for i in range(2 * each)])
    groups = db.session.query(Group).filter(Group.name.like("Gruppe %")).order_by(Group.name).all()
    users = {}
    for who, mine in (("a", groups[:each]), ("b", groups[each:])):
        users[who] = make.user("normal", name=who.upper())
        db.session.execute(insert(group_members), [{"group_id": g.id, "user_id": users[who].id} for g in mine])
        company = make.company(f"Hafen {who.upper()}-Firma", group=mine[-1])
        make.note(company, f"Notiz {who.upper()}", author=users[who])
    db.session.commit()
    world = {"a": users["a"], "b": users["b"], "tokens": {k: issue_token(u) for k, u in users.items()}}
    db.session.commit()
    for who, other in (("a", "B"), ("b", "A"), ("a", "B")):
        body, statements = _get(app, make, world, counted, who, url)
        assert f"Hafen {who.upper()}-Firma" in body
        assert f"Hafen {other}-Firma" not in body and f"Notiz {other}" not in body
        if each > GROUP_LIST_MAX:  # (a list of values - at most GROUP_LIST_MAX - is written per predicate)
            assert max(n for _s, n in statements) <= PARAMS


def test_a_long_id_list_finds_the_same_rows_as_a_short_one(app, make):
    """``in_id_list`` writes a list longer than GROUP_LIST_MAX as one parameter (``likely(… IN
    json_each)`` on SQLite, ``= ANY`` on PostgreSQL): the same rows as the list written out, with
    and without NOT, a NULL column included, alone and inside AND / OR / NOT."""
    from sqlalchemy import and_, not_, or_, select

    from crm.models import Person
    from crm.visibility import GROUP_LIST_MAX, in_id_list

    people = [make.person(f"Kurz{i}") for i in range(GROUP_LIST_MAX + 8)]
    db.session.commit()
    ids = sorted(p.id for p in people)
    wanted = set(ids[1:GROUP_LIST_MAX + 5])
    assert len(wanted) > GROUP_LIST_MAX

    def short(values, negated=False):
        return Person.id.not_in(sorted(values)) if negated else Person.id.in_(sorted(values))

    def rows(where):
        return set(db.session.scalars(select(Person.id).where(where)))

    for negated in (False, True):
        long_ = in_id_list(Person.id, wanted, negated=negated)
        assert rows(long_) == rows(short(wanted, negated)) != set()
        assert rows(not_(long_)) == rows(not_(short(wanted, negated)))
        assert rows(and_(long_, Person.last_name != "Kurz1")) == rows(and_(short(wanted, negated),
                                                                          Person.last_name != "Kurz1"))
        assert rows(or_(long_, Person.id == ids[0])) == rows(or_(short(wanted, negated), Person.id == ids[0]))
    # written as a condition an index can serve: SQLite's "= 1" after it kept the group index from
    # the pipeline's sums (crm.visibility._in_ids_sqlite)
    sql = str(select(Person.id).where(in_id_list(Person.id, wanted), in_id_list(Person.id, wanted, negated=True),
                                      not_(in_id_list(Person.id, wanted))).compile(db.engine))
    if db.engine.dialect.name == "sqlite":
        assert "likely(people.id IN (SELECT value FROM json_each(" in sql and "people.id NOT IN (SELECT" in sql
        assert "= 1" not in sql and "= 0" not in sql
    else:
        assert "people.id = ANY (" in sql and "people.id <> ALL (" in sql and "true" not in sql.lower()
    # a column that is NULL (the people have no company): neither in the list nor out of it
    nulls = in_id_list(Person.company_id, wanted)
    assert rows(nulls) == set() and rows(in_id_list(Person.company_id, wanted, negated=True)) == set()


@pytest.mark.parametrize("many", [False, True], ids=["2 groups", "40 groups"])
def test_a_users_open_tasks_checked_one_by_one_are_the_tasks_they_may_see(app, client, make, many):
    """The home page's, the dashboard's and the task list's "my tasks" look each task's record up
    by its key (``per_row``), and so does the safety net's copy of every attached row's rule: the
    same tasks as the rule planned as a whole - on visible records, not on hidden, restricted,
    deleted or pending ones; one's own tasks without a record and those given to one, not another
    user's -, for a user in a few groups and in more than a list of values holds; and the net's
    copy alone (a statement without its own rule, ``Session.get``) lets through the same."""
    from datetime import date, timedelta

    from flask import g
    from sqlalchemy import select

    from crm.dashboard.queries import dashboard_for
    from crm.tasks.models import Task
    from crm.tasks.queries import open_tasks_of
    from crm.visibility import GROUP_LIST_MAX, task_visible_to, viewer_for

    make.enable_groups()
    nord, sued = make.group("Nord"), make.group("Süd")
    extra = [make.group(f"Extra {i}") for i in range(GROUP_LIST_MAX + 7)] if many else []
    u = make.user("normal", name="Uwe", groups=[nord, *extra])
    other = make.user("normal", name="Olga", groups=[sued])
    make.field("company", "Kundenstatus", shared_with=[nord])  # Süd's companies: restricted to Uwe
    mine = make.company("Nordlicht GmbH", group=nord)
    gone = make.deal("Alter Auftrag", group=nord, company=mine)
    half = make.project("Halber Bau", group=nord)
    records = {
        "company": mine, "person": make.person("Nord", group=nord),
        "deal": make.deal("Nordauftrag", group=nord, company=mine), "project": make.project("Nordbau", group=nord),
        "restricted": make.company("Suedwind KG", group=sued), "hidden": make.person("Sued", group=sued),
        "deleted": gone, "pending": half,
    }
    gone.deleted_at = gone.created_at
    half.pending_import_id = 1  # (a row an import is still writing)
    if many:
        records["edge"] = make.company("Rand KG", group=extra[-1])
    db.session.commit()
    seen = {"company", "person", "deal", "project", "edge"}
    tasks = {f"Zq{k}Ok" if k in seen else f"Zq{k}No": make.task(f"Zq{k}{'Ok' if k in seen else 'No'}",
                                                               record=r, assignee=u) for k, r in records.items()}
    tasks["ZqOwnOk"] = make.task("ZqOwnOk", assignee=u, created_by=u)
    tasks["ZqGivenOk"] = make.task("ZqGivenOk", assignee=u, created_by=other)  # given to him: his too
    tasks["ZqForeignNo"] = make.task("ZqForeignNo", created_by=other, assignee=other)
    tasks["ZqDoneNo"] = make.task("ZqDoneNo", record=mine, assignee=u, done=True)
    tasks["ZqMadeNo"] = make.task("ZqMadeNo", record=records["hidden"], assignee=other, created_by=u)
    for t in tasks.values():
        t.due_date = date.today() - timedelta(days=1)
    db.session.commit()
    shown = {t.id for title, t in tasks.items() if title.endswith("Ok")}
    hidden = {t.id for title, t in tasks.items() if title.endswith("No")} - {tasks["ZqDoneNo"].id}

    viewer = viewer_for(u)
    assert viewer.level("company", sued.id) == "restricted"
    for per_row in (False, True):
        ids = set(db.session.scalars(select(Task.id).where(task_visible_to(viewer, per_row=per_row),
                                                           Task.assignee_id == u.id, Task.done.is_(False))))
        assert ids == shown, per_row
    assert {t.id for t in open_tasks_of(viewer, u.id)} == shown
    assert dashboard_for(viewer, u.id, date.today()).tasks_due == len(shown)
    # on PostgreSQL each record is looked up on its own (OFFSET 0: no list of every visible record)
    sql = str(select(Task.id).where(task_visible_to(viewer, per_row=True)).compile(db.engine))
    assert sql.count("OFFSET 0") == (4 if db.engine.dialect.name == "postgresql" else 0)
    assert "OFFSET" not in str(select(Task.id).where(task_visible_to(viewer)).compile(db.engine))

    # the safety net's copy alone: a statement without its own rule, and Session.get
    with app.test_request_context():
        g.viewer = viewer
        db.session.expunge_all()
        assert set(db.session.scalars(select(Task.id).where(Task.assignee_id == u.id, Task.done.is_(False)))) == shown
        assert {tid for tid in shown | hidden if db.session.get(Task, tid) is not None} == shown
    db.session.expunge_all()

    # as he sees them: home, his task lists (the net's copy in place), and no one else's
    make.login(client, u)
    for url in ("/", "/tasks", "/tasks?scope=all"):
        page = client.get(url).text
        assert {t for t in tasks if t in page} == {t for t in tasks if t.endswith("Ok")}, url
    assert {t for t in tasks if t in client.get("/tasks?scope=created").text} == {"ZqOwnOk"}


@pytest.mark.parametrize("sort", ["name", "updated", "value"])
def test_a_user_in_more_than_a_few_groups_gets_every_page_of_their_deals_in_order(app, make, sort):
    """A user in more than FEW_GROUPS groups, but few enough for a list of values (their groups
    written ``likely(… IN (…))`` on SQLite, so that it walks the sort index): every page of the
    deal list, both directions, holds exactly the deals of their groups in the list's order -
    name, then id; deals without a value and equal values where the plain order puts them - never
    one of another group, a trashed one or one an import is still writing; the count is theirs."""
    from datetime import timedelta

    from sqlalchemy import select

    from crm.common import utcnow
    from crm.records.models import Deal
    from crm.records.queries import ListFilter, count_capped, list_page
    from crm.records.types import TYPES
    from crm.visibility import FEW_GROUPS, GROUP_LIST_MAX, visible_to

    make.enable_groups()
    u = make.user(name="Ute")
    mine = [make.group(f"Meine {i:02}", [u]) for i in range(FEW_GROUPS + 3)]
    others = [make.group(f"Fremd {i}") for i in range(3)]
    now = utcnow()
    for i in range(40):
        group = (mine + others)[(i * 5) % (len(mine) + len(others))]
        deal = make.deal(f"Auftrag {(i * 7) % 13:02d}", group=group, value=None if i % 6 == 1 else (i % 4) * 100)
        deal.updated_at = now - timedelta(minutes=(i * 11) % 17)
        if i % 9 == 4:
            deal.deleted_at = now
        if i % 13 == 7:
            deal.pending_import_id = 1
    db.session.commit()
    mine_ids = {g.id for g in mine}
    deals = db.session.execute(select(Deal.id, Deal.name, Deal.value_cents, Deal.updated_at, Deal.group_id,
                                      Deal.deleted_at, Deal.pending_import_id)).all()
    seen = [d for d in deals if d.group_id in mine_ids and d.deleted_at is None and d.pending_import_id is None]
    assert 10 < len(seen) < len(deals)
    with make.acting_as(app, u) as viewer:
        assert FEW_GROUPS < len(viewer.group_ids) <= GROUP_LIST_MAX
        sql = str(select(Deal.id).where(visible_to(Deal, viewer)).compile(db.engine))
        if db.engine.dialect.name == "sqlite":
            assert "likely(deals.group_id IN (" in sql and "json_each" not in sql
        else:
            assert "likely" not in sql
        for desc in (False, True):
            if sort == "name":
                want = sorted(seen, key=lambda d: (d.name, d.id), reverse=desc)
            elif sort == "updated":
                want = sorted(seen, key=lambda d: (d.updated_at, d.id), reverse=desc)
            else:  # (SQLite's NULLs first ascending, PostgreSQL's last: the list's own NULLs last)
                valued = sorted((d for d in seen if d.value_cents is not None),
                                key=lambda d: (-d.value_cents if desc else d.value_cents, d.name,
                                               -d.id if desc else d.id))
                empty = sorted((d for d in seen if d.value_cents is None),
                               key=lambda d: (d.name, -d.id if desc else d.id))
                sqlite_nulls_first = db.engine.dialect.name == "sqlite" and not desc
                want = empty + valued if sqlite_nulls_first else valued + empty
            flt = ListFilter(sort=sort, desc=desc)
            pages = [[r.id for r in db.session.execute(list_page(TYPES["deal"], viewer, flt, 5, offset))]
                     for offset in range(0, len(seen) + 5, 5)]
            assert [i for page in pages for i in page] == [d.id for d in want], (sort, desc)
        assert count_capped(TYPES["deal"], viewer, ListFilter(sort=sort), 1000)[0] == (len(seen), False)
