"""Building blocks for tests: users, groups, records, field shares; login and viewers."""
from __future__ import annotations

import itertools
from contextlib import contextmanager

from flask import g
from sqlalchemy import select

from crm.auth.services import hash_password
from crm.customfields.models import CustomField, CustomFieldValue
from crm.extensions import db
from crm.groups.models import BASIS_ID, Group, group_members
from crm.history.models import RecordEvent
from crm.models import Account, Company, Deal, Note, Person, Project, Tag, Task, User
from crm.records.models import ContactDetail
from crm.visibility import viewer_for

PASSWORD = "secret-password"
_seq = itertools.count(1)


def user(role: str = "normal", groups=(), email: str | None = None, name: str | None = None,
         active: bool = True) -> User:
    n = next(_seq)
    u = User(email=email or f"user{n}@example.com", name=name or f"User {n}", role=role,
             password_hash=hash_password(PASSWORD), active=active)
    db.session.add(u)
    db.session.flush()
    for grp in groups:
        db.session.execute(group_members.insert().values(group_id=grp.id, user_id=u.id))
    db.session.commit()
    return u


def basis() -> Group:
    return db.session.get(Group, BASIS_ID)


def group(name: str, members=()) -> Group:
    grp = Group(name=name)
    db.session.add(grp)
    db.session.flush()
    for u in members:
        db.session.execute(group_members.insert().values(group_id=grp.id, user_id=u.id))
    db.session.commit()
    return grp


def enable_groups(on: bool = True) -> None:
    db.session.get(Account, 1).groups_enabled = on
    db.session.commit()


def _gid(grp) -> int:
    return grp.id if grp is not None else BASIS_ID


def _add(record) -> None:
    """Save a new record with the "created" entry of its change history, as the records' service
    writes it (the activity stream reads the history)."""
    db.session.add(record)
    db.session.flush()
    created(record)
    db.session.commit()


def created(record) -> RecordEvent:
    """The "created" history entry of a record made in a test without the service."""
    event = RecordEvent(kind="created", at=record.created_at, actor_id=record.created_by_id)
    event.attach_to(record.KEY, record.id)
    db.session.add(event)
    return event


def company(name: str = "Acme GmbH", group=None, emails=(), tags=(), **kw) -> Company:
    c = Company(name=name, group_id=_gid(group), **kw)
    c.contact_details = [ContactDetail(kind="email", value=e) for e in emails]
    c.tags = [tag(t) for t in tags]
    _add(c)
    return c


def person(last_name: str = "Kurz", first_name: str = "Anna", group=None, company=None, emails=(), tags=(),
           **kw) -> Person:
    p = Person(first_name=first_name, last_name=last_name, group_id=_gid(group),
               company_id=company.id if company else None, **kw)
    p.contact_details = [ContactDetail(kind="email", value=e) for e in emails]
    p.tags = [tag(t) for t in tags]
    _add(p)
    return p


def deal(name: str = "Deal", group=None, company=None, person=None, value=None, **kw) -> Deal:
    d = Deal(name=name, group_id=_gid(group), company_id=company.id if company else None,
             person_id=person.id if person else None, **kw)
    if value is not None:
        d.value = value
    _add(d)
    return d


def project(name: str = "Project", group=None, company=None, person=None, **kw) -> Project:
    p = Project(name=name, group_id=_gid(group), company_id=company.id if company else None,
                person_id=person.id if person else None, **kw)
    _add(p)
    return p


def tag(name: str) -> Tag:
    t = db.session.scalar(select(Tag).where(Tag.name == name))
    if t is None:
        t = Tag(name=name)
        db.session.add(t)
        db.session.flush()
    return t


def note(record, body: str = "A note", author=None, kind: str = "note") -> Note:
    n = Note(body=body, kind=kind, author_id=author.id if author else None)
    n.attach_to(record.KEY, record.id)
    db.session.add(n)
    db.session.commit()
    return n


def task(title: str = "Call back", record=None, assignee=None, created_by=None, done=False) -> Task:
    t = Task(title=title, assignee_id=assignee.id if assignee else None,
             created_by_id=created_by.id if created_by else None, done=done)
    if record is not None:
        t.attach_to(record.KEY, record.id)
    db.session.add(t)
    db.session.commit()
    return t


def attachment(record, name: str = "Angebot.pdf", data: bytes = b"%PDF-1.4 test", uploader=None,
               content_type: str = "application/pdf"):
    """A file on a record, its bytes in the app's store (as an upload leaves it, without the rules)."""
    from io import BytesIO

    from crm.files.models import Attachment
    from crm.files.storage import new_key, storage

    key = new_key()
    storage().put(key, BytesIO(data), content_type)
    a = Attachment(storage_key=key, name=name, content_type=content_type, size=len(data),
                   uploaded_by_id=uploader.id if uploader else None)
    a.attach_to(record.KEY, record.id)
    db.session.add(a)
    db.session.commit()
    return a


def field(entity: str = "company", name: str = "Kundenstatus", kind: str = "text", options=(),
          shared_with=()) -> CustomField:
    f = CustomField(entity=entity, name=name, kind=kind, options=list(options))
    f.shared_with = list(shared_with)
    db.session.add(f)
    db.session.commit()
    return f


def value(field: CustomField, record, text: str) -> CustomFieldValue:
    v = CustomFieldValue(field_id=field.id, value=text)
    v.attach_to(record.KEY, record.id)
    db.session.add(v)
    db.session.commit()
    return v


def login(client, u: User, password: str = PASSWORD):
    resp = client.post("/login", data={"email": u.email, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp


@contextmanager
def acting_as(app, u: User):
    """A request context with ``u``'s viewer, for calling services and queries directly."""
    with app.test_request_context():
        g.viewer = viewer_for(u)
        yield g.viewer


_CSRF = __import__("re").compile(r'(name="csrf-token" content="|name="csrf_token" type="hidden" value="|'
                                 r'name="csrf_token" value=")[^"]*"')


def without_csrf(text: str | bytes) -> str:
    """A page's text without its CSRF tokens (they carry a timestamp, so two renderings of the same
    page differ when a second passes between them)."""
    if isinstance(text, bytes):
        text = text.decode()
    return _CSRF.sub(r'\1"', text)


def account_today():
    """Today where the account is (``crm.config.account_timezone``), as the app's "today"
    (``crm.tasks.services.today``) - not the test machine's: from 23:00 to 24:00 UTC Berlin is a
    day ahead, and tests that said ``date.today()`` failed then."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crm.config import account_timezone

    return datetime.now(ZoneInfo(account_timezone())).date()


@contextmanager
def statements_of(engine, *, parameters: bool = False):
    """The SQL statements ``engine`` runs inside the block, as a list filled while it runs; with
    ``parameters``, each as (statement, its parameters) - to ask the database for its plan."""
    from sqlalchemy import event

    seen: list = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append((statement, params) if parameters else statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def sqlite_plan(statement: str, parameters=()) -> list[str]:
    """SQLite's plan of ``statement`` as run (one line per step of ``EXPLAIN QUERY PLAN``)."""
    return [row[3] for row in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
