"""The request-scoped safety net: a query that forgets its visibility predicate still cannot
return a hidden row inside a request."""
import pytest
from flask import g
from sqlalchemy import String, and_, column, func, select, table, text, values
from sqlalchemy.engine import ChunkedIteratorResult
from sqlalchemy.orm import aliased

from crm import create_app
from crm.extensions import db
from crm.models import (
    TAG_LINKS,
    AuditEntry,
    Company,
    ContactDetail,
    CustomFieldValue,
    Deal,
    ImportJob,
    Note,
    Person,
    SearchDoc,
    Tag,
    Task,
)
from crm.records.models import TAG_TABLES
from crm.visibility import (
    CORE_TABLES,
    SCOPES,
    NoRecordData,
    Unscoped,
    plain_rows,
    restricted_rows,
    unregistered,
    unscoped,
    viewer_for,
)
from tests.conftest import TEST_CONFIG
from tests.factories import statements_of


def world(make):
    make.enable_groups()
    u = make.user()
    mine = make.group("Mine", [u])
    other = make.group("Other")
    seen = make.company("Gesehen", group=mine, emails=["seen@x.example"])
    hidden = make.company("Verborgen", group=other, emails=["hidden@x.example"])
    make.note(seen, "sichtbar")
    make.note(hidden, "unsichtbar")
    make.task("t-seen", record=seen)
    make.task("t-hidden", record=hidden)
    make.task("t-private-own", created_by=u)
    make.task("t-private-other")
    f = make.field("company", "Status")
    make.value(f, seen, "v-seen")
    make.value(f, hidden, "v-hidden")
    make.person("Angestellt", company=hidden, group=mine)
    return u, seen, hidden, f, mine


def test_forgetful_queries_are_scoped(app, make):
    u, *_ = world(make)
    viewer = viewer_for(u)
    db.session.expunge_all()  # start from an empty identity map, as a request does
    with app.test_request_context():
        g.viewer = viewer
        assert [c.name for c in db.session.scalars(select(Company))] == ["Gesehen"]
        assert db.session.scalar(select(func.count(Company.id))) == 1
        assert db.session.scalar(select(func.count()).select_from(Company)) == 1
        assert sorted(n.body for n in db.session.scalars(select(Note))) == ["sichtbar"]
        assert sorted(t.title for t in db.session.scalars(select(Task))) == ["t-private-own", "t-seen"]
        assert [v.value for v in db.session.scalars(select(CustomFieldValue))] == ["v-seen"]
        assert [d.value for d in db.session.scalars(select(ContactDetail))] == ["seen@x.example"]
        # a relationship load from a visible record to a hidden one finds nothing
        person = db.session.scalar(select(Person))
        assert person.company is None
        # the explicit opt-out
        assert db.session.scalar(unscoped(select(func.count()).select_from(Company))) == 2
        db.session.rollback()


def test_restricted_records_pass_the_net_only_as_columns(app, make):
    """An object load of a record class returns fully visible rows only; rows the viewer sees
    restricted come through a column select that asks for them (restricted_rows), and only their
    shared field values with them."""
    u, _seen, _hidden, f, mine = world(make)
    f.shared_with = [mine]
    db.session.commit()
    viewer = viewer_for(u)
    db.session.expunge_all()
    with app.test_request_context():
        g.viewer = viewer
        assert [c.name for c in db.session.scalars(select(Company))] == ["Gesehen"]
        assert db.session.scalars(select(Company.name)).all() == ["Gesehen"]
        both = restricted_rows(select(Company.name).order_by(Company.name))
        assert db.session.scalars(both).all() == ["Gesehen", "Verborgen"]
        assert db.session.scalars(restricted_rows(select(Note.body))).all() == ["sichtbar"]
        assert [v.value for v in db.session.scalars(select(CustomFieldValue))] == ["v-seen"]
        values = restricted_rows(select(CustomFieldValue.value).order_by(CustomFieldValue.value))
        assert db.session.scalars(values).all() == ["v-hidden", "v-seen"]
        assert [d.value for d in db.session.scalars(select(ContactDetail))] == ["seen@x.example"]
        # the restricted company's e-mail is not among the search docs, its name is (restricted)
        docs = db.session.scalars(restricted_rows(select(SearchDoc.body).order_by(SearchDoc.body))).all()
        assert "hidden@x.example" not in docs and "Verborgen" in docs
        with pytest.raises(Unscoped):
            db.session.scalars(restricted_rows(select(Company))).all()
        db.session.rollback()


def test_plain_rows_are_the_rows_the_net_lets_through(app, make):
    """plain_rows() takes the ORM's work per row away (the CSV export's rows), not the net: the
    statement executed carries the net's criteria, with restricted_rows() those of restricted
    rows; the rows are the driver's (no ORM result). Objects are refused."""
    u, _seen, _hidden, f, mine = world(make)
    f.shared_with = [mine]  # the other group's company: restricted
    make.person("Versteckt", group=make.group("Fremd"))  # hidden
    viewer = viewer_for(u)
    db.session.expunge_all()
    with app.test_request_context():
        g.viewer = viewer
        names = select(Company.name).order_by(Company.name)
        result = db.session.execute(plain_rows(names))
        assert not isinstance(result, ChunkedIteratorResult)  # the ORM's result is one of these
        assert result.scalars().all() == ["Gesehen"]
        assert db.session.execute(plain_rows(restricted_rows(names))).scalars().all() == ["Gesehen", "Verborgen"]
        people = plain_rows(restricted_rows(select(Person.last_name)).execution_options(yield_per=1))
        assert [list(rows) for rows in db.session.execute(people).partitions()] == [[("Angestellt",)]]
        with pytest.raises(Unscoped):
            db.session.execute(plain_rows(select(Company))).all()
        db.session.rollback()


def test_request_without_viewer_sees_nothing(app, make):
    world(make)
    db.session.expunge_all()
    with app.test_request_context():
        assert db.session.scalars(select(Company)).all() == []
        assert db.session.scalars(select(Deal)).all() == []
        assert db.session.scalars(select(Note)).all() == []


def test_extension_off_everything_but_private_tasks(app, make):
    u, *_ = world(make)
    make.enable_groups(False)
    viewer = viewer_for(u)
    db.session.expunge_all()
    with app.test_request_context():
        g.viewer = viewer
        assert db.session.scalar(select(func.count()).select_from(Company)) == 2
        assert sorted(t.title for t in db.session.scalars(select(Task))) == ["t-hidden", "t-private-own", "t-seen"]


def test_the_cached_lambda_does_not_leak_between_users(app, make):
    """with_loader_criteria caches the lambda's SQL: the group ids must be bound per request."""
    make.enable_groups()
    a = make.user()
    b = make.user()
    ga = make.group("A", [a])
    gb = make.group("B", [b])
    make.company("nur-a", group=ga)
    make.company("nur-b", group=gb)
    va, vb = viewer_for(a), viewer_for(b)
    db.session.expunge_all()
    for viewer, expected in ((va, ["nur-a"]), (vb, ["nur-b"]), (va, ["nur-a"])):
        with app.test_request_context():
            g.viewer = viewer
            names = [c.name for c in db.session.scalars(select(Company).where(Company.group_id != 1))]
            assert names == expected
            db.session.expunge_all()


# --------------------------------------------------------------------------------------------
# Deny by default: the registry
# --------------------------------------------------------------------------------------------

def test_every_mapped_class_and_table_is_declared():
    """Every mapped class and every Core table holding data is scoped by a declaration in
    crm.visibility.SCOPES / CORE_TABLES, or stands there as holding no record data."""
    classes = [m.class_ for m in db.Model.registry.mappers]
    assert [c.__name__ for c in classes if c not in SCOPES] == []
    mapped = {m.local_table.name for m in db.Model.registry.mappers}
    assert [t for t in db.metadata.tables if t not in mapped and t not in CORE_TABLES] == []
    assert unregistered() == []
    # the tag links are record data: scoped, not on the list of classes without record data
    assert not any(isinstance(SCOPES[link], NoRecordData) for link in TAG_LINKS.values())
    assert all(isinstance(CORE_TABLES[t], NoRecordData) for t in CORE_TABLES)


def test_an_undeclared_class_stops_a_debug_start_and_is_refused_in_a_request(app, make, monkeypatch,
                                                                              database_url):
    monkeypatch.delitem(SCOPES, Note)
    monkeypatch.delitem(CORE_TABLES, "group_members")
    assert unregistered() == ["Note", "table group_members"]
    with pytest.raises(RuntimeError, match="Note"):
        create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    u = make.user()
    viewer = viewer_for(u)
    with app.test_request_context():
        g.viewer = viewer
        with pytest.raises(Unscoped, match="Note"):
            db.session.scalars(select(Note.body)).all()


# --------------------------------------------------------------------------------------------
# Everything with record data is scoped, not only the records
# --------------------------------------------------------------------------------------------

def test_search_docs_tags_and_links_are_scoped(app, make):
    make.enable_groups()
    u = make.user()
    mine = make.group("Mine", [u])
    other = make.group("Other")
    make.company("Gesehen", group=mine, emails=["seen@x.example"], tags=["Beide", "Offen"])
    make.company("Verborgen", group=other, emails=["hidden@x.example"], tags=["Beide", "Geheim"])
    shown = make.field("company", "Status")
    shown.shared_with = [mine]
    db.session.commit()
    make.deal("Eingeschränkt", group=other, tags=[make.tag("Nur-eingeschränkt")])  # deals: no field shared
    make.company("Auch eingeschränkt", group=other, tags=["Eingeschränkt-Tag"])
    viewer = viewer_for(u)
    db.session.expunge_all()
    with app.test_request_context():
        g.viewer = viewer
        bodies = db.session.scalars(select(SearchDoc.body)).all()
        assert sorted(bodies) == ["Gesehen", "seen@x.example"]
        # a tag exists for the viewer only on records they fully see
        assert db.session.scalars(select(Tag.name).order_by(Tag.name)).all() == ["Beide", "Offen"]
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 2
        assert db.session.scalars(restricted_rows(select(Tag.name).order_by(Tag.name))).all() == ["Beide", "Offen"]
        link = TAG_LINKS["company"]
        assert db.session.scalar(select(func.count()).select_from(link)) == 2
        # an alias joined in: its criteria go into the ON clause
        other_company = aliased(Company)
        rows = db.session.execute(
            select(Person.id, other_company.name).outerjoin(other_company, other_company.id > 0)).all()
        assert rows == []  # no person at all
        names = db.session.scalars(select(other_company.name).select_from(Tag)
                                   .join(other_company, other_company.id > 0)).all()
        assert set(names) == {"Gesehen"}


def test_audit_entries_and_import_jobs_are_their_authors_and_the_admins(app, make):
    from crm.audit.services import audit

    make.enable_groups()
    u = make.user()
    someone = make.user()
    admin = make.user(role="admin")
    audit(someone, "group_assigned", group="Süd")
    audit(u, "group_assigned", group="Nord")
    db.session.add(ImportJob(user_id=someone.id, record_type="company", content="Name\nGeheim GmbH\n"))
    db.session.commit()
    for viewer, entries, jobs in ((viewer_for(u), ["Nord"], 0), (viewer_for(admin), ["Nord", "Süd"], 1)):
        db.session.expunge_all()
        with app.test_request_context():
            g.viewer = viewer
            assert sorted(e.details["group"] for e in db.session.scalars(select(AuditEntry))) == entries
            assert db.session.scalar(select(func.count()).select_from(ImportJob)) == jobs


# --------------------------------------------------------------------------------------------
# Core statements: the same rule, or refused
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    lambda: select(Company.__table__),
    lambda: select(Company.__table__.c.name),
    lambda: select(func.count()).select_from(Company.__table__),
    lambda: select(Tag.name).join(TAG_TABLES["company"], TAG_TABLES["company"].c.tag_id == Tag.id),
    lambda: select(Company.id).where(Company.id.in_(select(Note.__table__.c.company_id))),
    lambda: select(text("name FROM companies")),
    lambda: select(table("companies", column("name"))),
    lambda: text("SELECT name FROM companies"),
    lambda: select(SearchDoc.__table__.c.body).union_all(select(SearchDoc.body)),
    lambda: select(Company.name).suffix_with("UNION SELECT name FROM companies"),
    lambda: select(Company.name).where(Company.id.in_(
        select(Company.id).suffix_with("UNION SELECT company_id FROM notes"))),
    lambda: select(values(column("name", String), name="listed").data(
        [(select(Company.__table__.c.name).limit(1).scalar_subquery(),)]).cte("listed").c.name),
], ids=["table", "column", "count", "link table", "subquery", "select text", "lightweight table",
        "text", "union", "text after a select", "text after a subquery", "a VALUES list"])
def test_core_reads_of_record_tables_are_refused_in_a_request(app, make, statement):
    u, *_ = world(make)
    viewer = viewer_for(u)
    with app.test_request_context():
        g.viewer = viewer
        with pytest.raises(Unscoped):
            db.session.execute(statement()).all()
        # ... unless opted out (the caller applies the predicates)
        assert db.session.execute(unscoped(statement())).all() is not None
        db.session.rollback()


def test_core_reads_of_tables_without_record_data_pass(app, make):
    from crm.groups.models import group_members

    u, *_ = world(make)
    viewer = viewer_for(u)
    with app.test_request_context():
        g.viewer = viewer
        assert db.session.execute(select(group_members.c.group_id)).all() != []


def test_criteria_of_aliases_are_bound_per_user(app, make):
    """The criteria are plain expressions bound per request: an alias joined into a statement
    gets each user's own group ids, whatever the statement cache holds from the one before."""
    make.enable_groups()
    a, b = make.user(), make.user()
    ga, gb = make.group("A", [a]), make.group("B", [b])
    ca, cb = make.company("nur-a", group=ga), make.company("nur-b", group=gb)
    make.person("Pa", group=make.basis(), company=ca)
    make.person("Pb", group=make.basis(), company=cb)
    va, vb = viewer_for(a), viewer_for(b)
    employer = aliased(Company, name="employer")
    stmt = (select(Person.last_name, employer.name)
            .outerjoin(employer, employer.id == Person.company_id).order_by(Person.last_name))
    for viewer, expected in ((va, [("Pa", "nur-a"), ("Pb", None)]), (vb, [("Pa", None), ("Pb", "nur-b")]),
                             (va, [("Pa", "nur-a"), ("Pb", None)])):
        with app.test_request_context():
            g.viewer = viewer
            assert [tuple(r) for r in db.session.execute(stmt)] == expected


def test_session_get_is_scoped_and_not_refused(app, make):
    u, seen, hidden, *_ = world(make)
    viewer = viewer_for(u)
    seen_id, hidden_id = seen.id, hidden.id
    db.session.expunge_all()
    with app.test_request_context():
        g.viewer = viewer
        assert db.session.get(Company, seen_id).name == "Gesehen"
        assert db.session.get(Company, hidden_id) is None


# --------------------------------------------------------------------------------------------
# The options' cache keys, worked out once per option (crm.visibility._Criteria._gen_cache_key)
# --------------------------------------------------------------------------------------------

def _bind_ids(element) -> set[int]:
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.elements import BindParameter

    return {id(e) for e in visitors.iterate(element) if isinstance(e, BindParameter)}


def test_the_nets_options_own_their_bound_parameters(app, make):
    """An option's key is worked out once, with its bound parameters in it: correct only while no
    other option and no predicate of a statement holds one of the same parameter objects (the
    statement cache would take one value for two)."""
    from crm.visibility import (
        _options_for,
        _viewer_key,
        criteria_for,
        fully_visible_to,
        tag_visible_to,
        visible_to,
    )

    u, _seen, _hidden, f, mine = world(make)
    f.shared_with = [mine]
    db.session.commit()
    viewer = viewer_for(u)
    owners: dict[int, str] = {}
    parts = [(f"option {opt.entity}{restricted}", opt.where_criteria)
             for restricted in (False, True) for opt in _options_for(_viewer_key(viewer), restricted)]
    parts += [("fully_visible_to", fully_visible_to(Company, viewer)), ("visible_to", visible_to(Company, viewer)),
              ("tag_visible_to", tag_visible_to(viewer)), ("criteria_for", criteria_for(Note, viewer))]
    assert len(parts) > 20
    for name, element in parts:
        for bind in _bind_ids(element):
            assert bind not in owners, f"{name} shares a bound parameter with {owners[bind]}"
            owners[bind] = name
    assert owners


def test_statements_keyed_with_the_options_answer_as_without_the_statement_cache(app, make):
    """Users of different groups (one of them seeing a company restricted with a shared field) and
    an admin run the same statements one after the other, so each finds the others' compiled
    statements in the cache: every declared class gives each of them exactly the rows it gives
    with the statement cache off (compiled anew, nothing keyed)."""
    from sqlalchemy import inspect as sa_inspect

    from crm.groups.models import group_members

    u, _seen, hidden, f, mine = world(make)
    f.shared_with = [mine]
    other_user = make.user()
    admin = make.user(role="admin")
    make.note(make.company("Allen", group=make.basis(), emails=["all@x.example"]), "für alle")
    db.session.execute(group_members.insert().values(group_id=hidden.group_id, user_id=other_user.id))
    db.session.commit()
    viewers = [viewer_for(x) for x in (u, other_user, admin, u, other_user)]
    classes = [cls for cls, scope in SCOPES.items() if not isinstance(scope, NoRecordData)]

    def rows(stmt, cached: bool):
        options = {} if cached else {"compiled_cache": None}
        result = db.session.execute(stmt, execution_options=options).all()
        db.session.expunge_all()
        return sorted(tuple(sa_inspect(v).identity if hasattr(v, "__table__") else v for v in row)
                      for row in result)

    seen_any = set()
    for viewer in viewers:
        for cls in classes:
            key = sa_inspect(cls).primary_key
            statements = [lambda cls=cls: select(cls), lambda key=key: restricted_rows(select(*key))]
            for make_stmt in statements:
                with app.test_request_context():
                    g.viewer = viewer
                    try:
                        cached = rows(make_stmt(), True)
                    except Unscoped:
                        continue
                    assert cached == rows(make_stmt(), False), (cls.__name__, viewer.user_id)
                    seen_any.update((cls, viewer.user_id) for _ in cached[:1])
                    db.session.rollback()
    # the comparison is not empty: each user finds rows of several classes
    assert len({uid for _cls, uid in seen_any}) == 3 and len(seen_any) > 12


def test_the_nets_own_aliases_get_no_second_copy_and_a_callers_alias_keeps_it(app, make):
    """The private aliases inside the rules carry their own rule, so the net adds none to them (a
    tag's rule is no longer repeated inside itself); an alias a caller makes gets the criteria."""
    from crm.visibility import tag_visible_to

    u, *_ = world(make)
    viewer = viewer_for(u)
    with statements_of(db.engine) as statements, app.test_request_context():
        g.viewer = viewer
        db.session.execute(select(Tag.name).where(tag_visible_to(viewer))).all()
        tags_sql = statements[-1]
        # each link's record is tested once inside the tag's rule (the query's copy and the net's
        # copy of that rule: two), not once more by the net inside each
        assert tags_sql.count("FROM companies AS vis_company") == 2, tags_sql
        mine = aliased(Company, name="firma")
        assert db.session.scalars(select(mine.name)).all() == ["Gesehen"]  # a caller's alias is scoped
        db.session.rollback()


def test_the_private_aliases_stay_in_the_visibility_module():
    """The net leaves out its criteria only for the module's own aliases, which are used inside its
    rules' subqueries alone: no other module may reach them."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "crm"
    names = re.compile(r"\b(_OWNERS|_PRIVATE_ALIASES|_PRIVATE)\b")
    users = [str(path.relative_to(root)) for path in root.rglob("*.py")
             if path.name != "visibility.py" and names.search(path.read_text(encoding="utf-8"))]
    assert users == []


def test_a_list_holding_the_nets_rule_gets_no_second_copy_and_a_forgetful_one_gets_it(app, make):
    """A list holds its own rule: the net, finding its very rule (same terms, same viewer) at the
    top of the statement's WHERE, adds no second copy. A statement without it gets the net's copy,
    on PostgreSQL written as ``(CASE WHEN rule THEN 1 END) IS NOT NULL``, so that the planner does
    not count the rule twice where a statement holds both."""
    from crm.visibility import fully_visible_to

    u, *_ = world(make)
    viewer = viewer_for(u)
    with statements_of(db.engine) as statements, app.test_request_context():
        g.viewer = viewer
        names = db.session.scalars(select(Company.name).where(fully_visible_to(Company, viewer))).all()
        assert names == ["Gesehen"]
        assert db.session.scalars(select(Company.name)).all() == ["Gesehen"]  # the net's copy alone
        db.session.rollback()
    listed, forgetful = statements[-2], statements[-1]
    assert listed.count("companies.group_id") == 1 and "THEN 1 END" not in listed, listed
    assert forgetful.count("companies.group_id") == 1, forgetful
    assert ("THEN 1 END) IS NOT NULL" in forgetful) == (db.engine.dialect.name == "postgresql"), forgetful


def test_the_outer_side_of_an_outer_join_keeps_the_nets_copy(app, make):
    """With the group system off a record's rule is "not in the recycle bin" alone, which the empty
    side of an outer join meets: the net's copy in the ON clause keeps a person whose company is in
    the recycle bin (without it, the statement's WHERE would drop the person with the company)."""
    from datetime import datetime

    from crm.visibility import fully_visible_to

    u, _seen, hidden, *_ = world(make)
    hidden.deleted_at = datetime(2026, 12, 1)
    make.enable_groups(False)
    db.session.commit()
    viewer = viewer_for(u)
    assert not viewer.groups_enabled
    stmt = (select(Person.last_name, Company.name).outerjoin(Company, Company.id == Person.company_id)
            .where(fully_visible_to(Person, viewer), fully_visible_to(Company, viewer)))
    with app.test_request_context():
        g.viewer = viewer
        rows = [tuple(r) for r in db.session.execute(stmt)]
        db.session.rollback()
    assert rows == [("Angestellt", None)]


def _other_viewer(make, u):
    """A user in every group but ``u``'s."""
    from crm.groups.models import Group

    other = make.user()
    for group in db.session.scalars(select(Group)):
        if u not in group.members:
            group.members.append(other)
    db.session.commit()
    return viewer_for(other)


#: statements that hold the rule somewhere, but not as the net's rule for every row of the class:
#: each must still answer as the net alone (name -> (statement for the viewer, the other viewer,
#: and the viewer seeing the hidden company restricted), what comes back)
def _not_the_rule(v, other, sharing):
    from sqlalchemy import exists, or_

    from crm.visibility import fully_visible_to, visible_to

    rule = fully_visible_to(Company, v)
    employer = aliased(Company, name="arbeitgeber")
    # (get_children() does not yield the subqueries of a VALUES list: red-team review, 2026-12-01)
    listed = values(column("name", String), name="listed").data(
        [(select(Company.name).where(Company.name == "Verborgen").scalar_subquery(),)]).cte("listed")
    return {
        "another viewer's rule": (select(Company.name).where(fully_visible_to(Company, other)), []),
        "the rule in an OR": (select(Company.name).where(or_(rule, Company.name == "Verborgen")), ["Gesehen"]),
        "the rule under NOT": (select(Company.name).where(~fully_visible_to(Company, v)), []),
        "a count of the class without it": (
            select(Company.name, select(func.count()).select_from(Company).scalar_subquery()).where(rule),
            [("Gesehen", 1)]),
        "an alias without it": (
            select(Company.name, employer.name).join(employer, employer.id != Company.id).where(rule), []),
        "a correlated subquery without it": (
            select(Company.name).where(rule, ~exists().where(Person.company_id == Company.id)), ["Gesehen"]),
        "the rule only in the ON clause": (
            select(Person.last_name, Company.name)
            .outerjoin(Company, and_(Company.id == Person.company_id, fully_visible_to(Company, other)))
            .where(fully_visible_to(Person, v)), [("Angestellt", None)]),
        "all but the group's term (visible_to of a viewer seeing restricted)": (
            select(Company.name).where(visible_to(Company, sharing)).order_by(Company.name), ["Gesehen"]),
        "a select without it in a VALUES list": (
            select(Company.name, select(listed.c.name).scalar_subquery()).where(rule), [("Gesehen", None)]),
    }


@pytest.mark.parametrize("case", [
    "another viewer's rule", "the rule in an OR", "the rule under NOT", "a count of the class without it",
    "an alias without it", "a correlated subquery without it", "the rule only in the ON clause",
    "all but the group's term (visible_to of a viewer seeing restricted)", "a select without it in a VALUES list"])
def test_a_statement_holding_the_rule_otherwise_keeps_the_nets_copy(app, make, case):
    """The net leaves its copy out only where the statement's own WHERE ANDs its very rule for every
    row of the class: another viewer's rule, the rule under an OR or a NOT, a subquery or an alias
    of the class without it, a rule in an ON clause, or a rule missing one of the net's terms keep
    the copy, and no hidden row or count comes back."""
    u, seen, hidden, f, mine = world(make)
    f.shared_with = [mine]
    make.person("Fremd", company=seen, group=hidden.group)  # a hidden person at the visible company
    db.session.commit()
    viewer, other = viewer_for(u), _other_viewer(make, u)
    sharing = viewer_for(u)  # sees "Verborgen" restricted through the shared field
    assert sharing.sees_restricted("company")
    stmt, expected = _not_the_rule(viewer, other, sharing)[case]
    with app.test_request_context():
        g.viewer = viewer
        rows = [r[0] if len(r) == 1 else tuple(r) for r in db.session.execute(stmt)]
        db.session.rollback()
    assert rows == expected


@pytest.mark.parametrize("logged_in", [True, False])
def test_a_private_alias_outside_the_rules_and_its_names_are_refused(app, make, logged_in):
    """The net skips its own aliases because they stand only inside its rules. A select that reads
    one directly, or another alias under one of their names (which the statement cache would take
    for the same), is refused - run in either order, logged in or not."""
    from sqlalchemy import exists

    from crm.visibility import _OWNERS, visible_to

    u, *_ = world(make)
    viewer = viewer_for(u) if logged_in else None
    private = _OWNERS["company"]
    same_name = aliased(Company, name="vis_company")
    with app.test_request_context():
        g.viewer = viewer
        for stmt in (select(private.name), select(same_name.name),
                     select(Company.name).join(private, private.id == Company.id),
                     select(Company.name).where(exists().where(same_name.group_id == Company.group_id))):
            with pytest.raises(Unscoped):
                db.session.scalars(stmt).all()
            db.session.rollback()
        other = aliased(Company, name="andere")
        expected = ["Gesehen"] if logged_in else []
        assert db.session.scalars(select(other.name)).all() == expected
        if viewer is not None:
            # a private alias inside a rule's EXISTS is what the rules do: allowed, and scoped by it
            from crm.groups.models import Group
            found = db.session.scalars(select(Group.name).where(
                exists().where(private.group_id == Group.id, visible_to(private, viewer)))).all()
            assert found == ["Mine"]
        db.session.rollback()
