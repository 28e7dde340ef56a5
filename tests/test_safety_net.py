"""The request-scoped safety net: a query that forgets its visibility predicate still cannot
return a hidden row inside a request."""
from flask import g
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Company, ContactDetail, CustomFieldValue, Deal, Note, Person, Task
from crm.visibility import unscoped, viewer_for


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


def test_restricted_types_pass_the_net_but_not_their_notes(app, make):
    u, _seen, _hidden, f, mine = world(make)
    f.shared_with = [mine]
    db.session.commit()
    viewer = viewer_for(u)
    db.session.expunge_all()
    with app.test_request_context():
        g.viewer = viewer
        assert sorted(c.name for c in db.session.scalars(select(Company))) == ["Gesehen", "Verborgen"]
        assert sorted(n.body for n in db.session.scalars(select(Note))) == ["sichtbar"]
        assert sorted(v.value for v in db.session.scalars(select(CustomFieldValue))) == ["v-hidden", "v-seen"]
        assert [d.value for d in db.session.scalars(select(ContactDetail))] == ["seen@x.example"]


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
