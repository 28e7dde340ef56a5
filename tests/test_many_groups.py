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


@pytest.mark.parametrize("url", ["/companies", "/", "/search?q=hafen", "/api/v1/companies", "/api/v1/search?q=hafen"])
def test_two_users_in_many_groups_see_each_their_own(app, make, counted, url):
    """The groups as one parameter are a value of each request, not part of a statement cached for
    the next user: two users in 40 groups each, none shared, one after the other on the same page."""
    make.enable_groups()
    db.session.execute(insert(Group), [{"name": f"Gruppe {i:03}"} for i in range(80)])
    groups = db.session.query(Group).filter(Group.name.like("Gruppe %")).order_by(Group.name).all()
    users = {}
    for who, mine in (("a", groups[:40]), ("b", groups[40:])):
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
    """The home page's and the task list's "my open tasks" look each task's record up by its key
    (``per_row``), and so does the safety net's copy of every attached row's rule: the same tasks
    as the rule planned as a whole - on visible records, not on hidden, restricted, deleted or
    pending ones; one's own tasks without a record, not another user's -, for a user in a few
    groups and in more than a list of values holds."""
    from sqlalchemy import select

    from crm.tasks.models import Task
    from crm.tasks.queries import open_tasks_of
    from crm.visibility import GROUP_LIST_MAX, task_visible_to, viewer_for

    make.enable_groups()
    nord, sued = make.group("Nord"), make.group("Süd")
    extra = [make.group(f"Extra {i}") for i in range(GROUP_LIST_MAX + 7)] if many else []
    u = make.user("normal", name="Uwe", groups=[nord, *extra])
    other = make.user("normal", name="Olga", groups=[sued])
    mine = make.company("Nordlicht GmbH", group=nord)
    shown = {
        make.task("Anrufen", record=mine, assignee=u).id,
        make.task("Angebot", record=make.person("Nord", group=nord), assignee=u).id,
        make.task("Vertrag", record=make.deal("Nordauftrag", group=nord, company=mine), assignee=u).id,
        make.task("Abnahme", record=make.project("Nordbau", group=nord), assignee=u).id,
        make.task("Eigenes", assignee=u, created_by=u).id,
    }
    if many:
        shown.add(make.task("Randgruppe", record=make.company("Rand KG", group=extra[-1]), assignee=u).id)
    gone = make.deal("Alter Auftrag", group=nord, company=mine)
    gone.deleted_at = gone.created_at
    half = make.project("Halber Bau", group=nord)
    half.pending_import_id = 1  # (a row an import is still writing)
    db.session.commit()
    for title, record in (("Süd anrufen", make.company("Südwind KG", group=sued)),  # restricted to him
                          ("Heimlich", make.person("Süd", group=sued)), ("Gelöscht", gone), ("Halb", half)):
        make.task(title, record=record, assignee=u)
    shown.add(make.task("Olgas eigenes", assignee=u, created_by=other).id)  # given to him: his too
    make.task("Fremd", created_by=other, assignee=other)
    make.task("Erledigt", record=mine, assignee=u, done=True)

    viewer = viewer_for(u)
    for per_row in (False, True):
        ids = set(db.session.scalars(select(Task.id).where(task_visible_to(viewer, per_row=per_row),
                                                           Task.assignee_id == u.id, Task.done.is_(False))))
        assert ids == shown, per_row
    assert {t.id for t in open_tasks_of(viewer, u.id)} == shown
    # on PostgreSQL each record is looked up on its own (OFFSET 0: no list of every visible record)
    sql = str(select(Task.id).where(task_visible_to(viewer, per_row=True)).compile(db.engine))
    assert sql.count("OFFSET 0") == (4 if db.engine.dialect.name == "postgresql" else 0)
    assert "OFFSET" not in str(select(Task.id).where(task_visible_to(viewer)).compile(db.engine))

    # as he sees them: home and the task list (the net's copy in place), and no one else's
    make.login(client, u)
    for url in ("/", "/tasks", "/tasks?scope=all"):
        page = client.get(url).text
        for title in ("Anrufen", "Angebot", "Vertrag", "Abnahme", "Eigenes", "Olgas eigenes"):
            assert title in page, (url, title)
        for title in ("Süd anrufen", "Heimlich", "Gelöscht", "Halb", "Fremd"):
            assert title not in page, (url, title)
