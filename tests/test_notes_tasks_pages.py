"""Tasks and notes on the pages (issue 14): a task is edited and rescheduled (tomorrow, next week),
the open list is grouped (overdue, today, this week, later), the home page shows what is due;
the author (or an admin) edits a note, which then says "edited". Everything follows the record:
a hidden record's note or task is 404 like an unknown id, nothing is written."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Note, Task
from crm.tasks.schemas import RescheduleInput
from crm.tasks.services import group_of, reschedule_date
from tests.api.conftest import build_world
from tests.factories import account_today

HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(make, client):
    w = build_world(make)
    make.login(client, w.normal)
    return w


def _task(make, title, due=None, **kw):
    t = make.task(title, **kw)
    if due is not None:
        t.due_date = due
        db.session.commit()
    return t


# -- rescheduling and grouping (plain rules) ----------------------------------------------------

@pytest.mark.parametrize("base,when,expected", [
    (date(2026, 11, 26), "tomorrow", date(2026, 11, 27)),   # Thursday -> Friday
    (date(2026, 11, 26), "next_week", date(2026, 11, 30)),  # Thursday -> next Monday
    (date(2026, 11, 30), "next_week", date(2026, 12, 7)),   # Monday -> the Monday after
    (date(2026, 11, 29), "next_week", date(2026, 11, 30)),  # Sunday -> tomorrow's Monday
])
def test_quick_choices(app, base, when, expected):
    with app.test_request_context():
        assert reschedule_date(RescheduleInput(when=when), base) == expected


def test_groups_by_due_date(app):
    thursday = date(2026, 11, 26)
    with app.test_request_context():
        def grp(due):
            return group_of(Task(title="x", due_date=due), thursday)

        assert grp(thursday - timedelta(days=1)) == "overdue"
        assert grp(thursday) == "today"
        assert grp(date(2026, 11, 29)) == "this_week"  # Sunday
        assert grp(date(2026, 11, 30)) == "later"      # next Monday
        assert grp(None) == "no_date"


# -- tasks on the pages -------------------------------------------------------------------------

def test_reschedule_tomorrow_in_place(client, world, make):
    t = _task(make, "Rückruf Anna", due=account_today() - timedelta(days=3), record=world.p_nord,
              assignee=world.normal)
    resp = client.post(f"/tasks/{t.id}/reschedule?context=list", data={"when": "tomorrow"},
                       headers={**HTMX, "HX-Target": f"task-{t.id}"})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "<html" not in body and "Rückruf Anna" in body and "overdue" not in body
    db.session.expire_all()
    assert db.session.get(Task, t.id).due_date == account_today() + timedelta(days=1)


def test_reschedule_without_htmx_goes_back(client, world, make):
    t = _task(make, "Angebot", record=world.c_nord, assignee=world.normal)
    resp = client.post(f"/tasks/{t.id}/reschedule", data={"when": "next_week", "next": "/tasks?scope=all"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/tasks?scope=all")
    db.session.expire_all()
    due = db.session.get(Task, t.id).due_date
    assert due.weekday() == 0 and account_today() < due <= account_today() + timedelta(days=7)
    # an address elsewhere is not followed
    away = client.post(f"/tasks/{t.id}/reschedule", data={"when": "tomorrow", "next": "https://evil.example/"})
    assert away.status_code == 302 and "evil" not in away.headers["Location"]


def test_reschedule_refuses_nonsense(client, world, make):
    t = _task(make, "Bleibt", due=date(2030, 1, 1), record=world.c_nord)
    for data in ({}, {"when": "someday"}, {"due_date": "gestern"}):
        resp = client.post(f"/tasks/{t.id}/reschedule", data=data, headers={**HTMX, "HX-Target": f"task-{t.id}"})
        assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(Task, t.id).due_date == date(2030, 1, 1)


def test_edit_a_task(client, world, make):
    t = _task(make, "Alt", due=date(2030, 1, 1), record=world.c_nord, assignee=world.normal)
    page = client.get(f"/tasks/{t.id}/edit")
    assert page.status_code == 200 and 'value="Alt"' in page.get_data(as_text=True)
    resp = client.post(f"/tasks/{t.id}/edit", data={"title": "Neu", "due_date": "2030-02-03",
                                                    "assignee_id": str(world.extended.id)})
    assert resp.status_code == 302
    db.session.expire_all()
    got = db.session.get(Task, t.id)
    assert (got.title, got.due_date, got.assignee_id) == ("Neu", date(2030, 2, 3), world.extended.id)
    bad = client.post(f"/tasks/{t.id}/edit", data={"title": "", "due_date": "2030-02-03"})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Task, t.id).title == "Neu"


def test_a_task_goes_only_to_someone_who_sees_its_record(client, world, make):
    """Sven (Süd) does not see Nordlicht: a task of it assigned to him would be on nobody's list.
    An admin (who may see every user's level, "who can see this") is told so; the form keeps what
    was typed; the edit and the API refuse the same; a member of Nord, or anyone once the group
    system is off, may take it. (A non-admin is not told: tests/adversarial/test_regressions.py.)"""
    w = world
    client.post("/logout")
    make.login(client, w.admin)
    form = {"title": "Angebot nachfassen", "due_date": "2030-01-02", "assignee_id": str(w.sued_user.id),
            "record_type": "company", "record_id": str(w.c_nord.id)}
    refused = client.post("/tasks", data=form)
    body = refused.get_data(as_text=True)
    assert refused.status_code in (400, 422) and "Sven Süd" in body and 'value="Angebot nachfassen"' in body
    assert db.session.scalar(select(Task.id).where(Task.title == "Angebot nachfassen")) is None
    t = _task(make, "Nachfassen", record=w.c_nord, assignee=w.normal)
    edit = client.post(f"/tasks/{t.id}/edit", data={"title": "Nachfassen", "assignee_id": str(w.sued_user.id)})
    assert edit.status_code in (400, 422) and "Sven Süd" in edit.get_data(as_text=True)
    api = client.patch(f"/api/v1/tasks/{t.id}", json={"assignee_id": w.sued_user.id},
                       headers={"Authorization": f"Bearer {w.tokens.admin}"})
    assert api.status_code == 422 and "assignee_id" in api.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Task, t.id).assignee_id == w.normal.id
    assert client.post("/tasks", data={**form, "assignee_id": str(w.extended.id)}).status_code in (200, 302)
    make.enable_groups(False)
    assert client.post("/tasks", data=form).status_code in (200, 302)
    assert db.session.scalar(select(Task.assignee_id).where(Task.title == "Angebot nachfassen",
                                                            Task.assignee_id == w.sued_user.id)) is not None


def test_tasks_of_hidden_and_restricted_records_are_unknown(client, world, make):
    due = date(2030, 1, 1)
    tasks = [_task(make, "Aufgabe-Sued", due=due, record=world.c_sued, assignee=world.normal),
             _task(make, "Aufgabe-Gustav", due=due, record=world.p_sued, assignee=world.normal),
             _task(make, "Aufgabe-Privat", due=due, assignee=world.sued_user, created_by=world.sued_user)]
    missing = client.post("/tasks/999999/reschedule", data={"when": "tomorrow"})
    assert missing.status_code == 404
    for t in tasks:
        for url, data in ((f"/tasks/{t.id}/reschedule", {"when": "tomorrow"}),
                          (f"/tasks/{t.id}/edit", {"title": "x"})):
            resp = client.post(url, data=data)
            assert resp.status_code == 404
            assert make.without_csrf(resp.get_data()) == make.without_csrf(missing.get_data())
        assert client.get(f"/tasks/{t.id}/edit").status_code == 404
    db.session.expire_all()
    assert {t.due_date for t in db.session.scalars(select(Task))} == {due}
    listed = client.get("/tasks?scope=all").get_data(as_text=True)
    assert "Aufgabe-" not in listed


def test_open_tasks_are_grouped(client, world, make):
    today = account_today()
    _task(make, "Gestern fällig", due=today - timedelta(days=1), assignee=world.normal, created_by=world.normal)
    _task(make, "Heute fällig", due=today, assignee=world.normal, created_by=world.normal)
    _task(make, "Irgendwann", due=today + timedelta(days=30), assignee=world.normal, created_by=world.normal)
    _task(make, "Ohne Datum", assignee=world.normal, created_by=world.normal)
    body = client.get("/tasks").get_data(as_text=True)
    heads = ["Überfällig", "Heute", "Später", "Ohne Fälligkeit"]
    positions = [body.index(h) for h in heads]
    assert positions == sorted(positions)
    order = [body.index(t) for t in ("Gestern fällig", "Heute fällig", "Irgendwann", "Ohne Datum")]
    assert order == sorted(order)


def test_home_shows_open_tasks_grouped_by_due_date(client, world, make):
    today = account_today()
    _task(make, "Längst fällig", due=today - timedelta(days=5), record=world.c_nord, assignee=world.normal)
    _task(make, "Heute anrufen", due=today, assignee=world.normal, created_by=world.normal)
    _task(make, "Nächsten Monat", due=today + timedelta(days=40), assignee=world.normal, created_by=world.normal)
    _task(make, "Süd fällig", due=today, record=world.c_sued, assignee=world.normal)
    body = client.get("/").get_data(as_text=True)
    assert body.index("Überfällig") < body.index("Längst fällig") < body.index("Heute") < body.index("Heute anrufen")
    assert body.index("Heute anrufen") < body.index("Später") < body.index("Nächsten Monat")
    assert "Süd fällig" not in body


# -- notes on the pages -------------------------------------------------------------------------

def test_the_author_edits_a_note_in_place_and_it_says_edited(client, world, make):
    n = make.note(world.c_nord, "Erstkontakt", author=world.normal)
    target = {**HTMX, "HX-Target": f"note-{n.id}"}
    form = client.get(f"/notes/{n.id}/edit", headers=target)
    assert form.status_code == 200 and "Erstkontakt" in form.get_data(as_text=True)
    assert "<html" not in form.get_data(as_text=True)
    prefix = f"note{n.id}-"
    resp = client.post(f"/notes/{n.id}/edit", headers=target,
                       data={prefix + "body": "Erstkontakt auf der Messe", prefix + "kind": "meeting"})
    assert resp.status_code == 200
    assert "Erstkontakt auf der Messe" in resp.get_data(as_text=True) and "(bearbeitet)" in resp.get_data(as_text=True)
    db.session.expire_all()
    got = db.session.get(Note, n.id)
    assert (got.body, got.kind) == ("Erstkontakt auf der Messe", "meeting") and got.edited_at is not None
    assert got.occurred_at == n.occurred_at  # an empty time keeps the time
    detail = client.get(f"/companies/{world.c_nord.id}").get_data(as_text=True)
    assert "(bearbeitet)" in detail
    empty = client.post(f"/notes/{n.id}/edit", headers=target, data={prefix + "body": " ", prefix + "kind": "note"})
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.get_data(as_text=True)


def test_edit_a_note_without_htmx(client, world, make):
    n = make.note(world.d_nord, "Notiz", author=world.normal)
    page = client.get(f"/notes/{n.id}/edit")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    resp = client.post(f"/notes/{n.id}/edit", data={f"note{n.id}-body": "Korrigiert", f"note{n.id}-kind": "note"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/deals/{world.d_nord.id}#notes")


@pytest.mark.parametrize("role,status", [("extended", 403), ("admin", 302)])
def test_other_authors_note(client, world, make, role, status):
    n = make.note(world.c_nord, "Von Nora", author=world.normal)
    nid = n.id
    actor = world.admin if role == "admin" else world.extended
    client.post("/logout")
    make.login(client, actor)
    assert client.get(f"/notes/{nid}/edit").status_code == (200 if status == 302 else 403)
    assert client.post(f"/notes/{nid}/edit", data={f"note{nid}-body": "Fremd", f"note{nid}-kind": "note"}
                       ).status_code == status
    assert client.post(f"/notes/{nid}/delete").status_code == status
    db.session.expire_all()
    assert (db.session.get(Note, nid) is None) == (status == 302)
    if status == 403:  # no edit link for a note one may not change
        assert f"/notes/{nid}/edit" not in client.get(f"/companies/{world.c_nord.id}").get_data(as_text=True)


def test_notes_of_hidden_and_restricted_records_are_unknown(client, world, make):
    notes = [make.note(world.c_sued, "Süd intern", author=world.normal),
             make.note(world.p_sued, "Person intern", author=world.normal)]
    missing = client.get("/notes/999999/edit")
    assert missing.status_code == 404
    for n in notes:
        for resp in (client.get(f"/notes/{n.id}/edit"), client.get(f"/notes/{n.id}"),
                     client.post(f"/notes/{n.id}/edit", data={f"note{n.id}-body": "x", f"note{n.id}-kind": "note"}),
                     client.post(f"/notes/{n.id}/delete")):
            assert resp.status_code == 404
            assert make.without_csrf(resp.get_data()) == make.without_csrf(missing.get_data())
    db.session.expire_all()
    assert sorted(n.body for n in db.session.scalars(select(Note))) == ["Person intern", "Süd intern"]
