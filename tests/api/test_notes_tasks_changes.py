"""Changing and deleting notes and tasks through the API (issue 14): the author (or an admin)
edits a note, which then says when; tasks are edited and rescheduled; both follow their record
(hidden or restricted -> 404 like an unknown id, nothing written)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Note, Task


def test_the_author_edits_a_note_and_it_says_edited(api, world, make):
    note = make.note(world.c_nord, "Rückruf am Montag", author=world.normal, kind="call")
    resp = api.patch(f"/notes/{note.id}", token=world.tokens.normal, json={"body": "Rückruf am Dienstag"})
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert (out["body"], out["kind"]) == ("Rückruf am Dienstag", "call")
    assert out["edited_at"] is not None
    listed = api.get(f"/companies/{world.c_nord.id}/notes", token=world.tokens.normal).get_json()
    assert listed["items"][0]["body"] == "Rückruf am Dienstag" and listed["items"][0]["edited_at"]
    # a note read back can be sent back as it is (read-only keys are ignored)
    again = api.patch(f"/notes/{note.id}", token=world.tokens.normal, json={**out, "kind": "meeting"})
    assert again.status_code == 200 and again.get_json()["kind"] == "meeting"


def test_a_fresh_note_is_not_edited(api, world):
    out = api.post(f"/companies/{world.c_nord.id}/notes", token=world.tokens.normal, json={"body": "Neu"}).get_json()
    assert out["edited_at"] is None


@pytest.mark.parametrize("who,status", [("extended", 403), ("admin", 200), ("sued", 404)])
def test_only_the_author_or_an_admin_edits_or_deletes_a_note(api, world, make, who, status):
    nid = make.note(world.c_nord, "Von Nora", author=world.normal).id
    token = getattr(world.tokens, who)
    assert api.patch(f"/notes/{nid}", token=token, json={"body": "Fremd"}).status_code == status
    deleted = api.delete(f"/notes/{nid}", token=token)
    assert deleted.status_code == (204 if status == 200 else status)
    db.session.expire_all()
    kept = db.session.get(Note, nid)
    assert (kept is None) == (status == 200)
    if kept is not None:
        assert kept.body == "Von Nora" and kept.edited_at is None


def test_notes_of_hidden_and_restricted_records_are_unknown(api, world, make):
    restricted = make.note(world.c_sued, "Süd intern", author=world.admin)
    hidden = make.note(world.p_sued, "Person intern", author=world.admin)
    # the admin is in Nord only: Südwind is restricted, Gustav hidden; both notes are not there
    admin = world.tokens.admin
    for nid in (restricted.id, hidden.id):
        for got, missing in ((api.patch(f"/notes/{nid}", token=admin, json={"body": "x"}),
                              api.patch("/notes/999999", token=admin, json={"body": "x"})),
                             (api.delete(f"/notes/{nid}", token=admin), api.delete("/notes/999999", token=admin))):
            assert got.status_code == missing.status_code == 404
            assert got.get_data() == missing.get_data()
    db.session.expire_all()
    assert [n.body for n in db.session.scalars(select(Note).order_by(Note.id))] == ["Süd intern", "Person intern"]


@pytest.mark.parametrize("body,field", [({"body": ""}, "body"), ({"kind": "fax"}, "kind"),
                                        ({"occurred_at": "gestern"}, "occurred_at"), ({"pinned": True}, "pinned")])
def test_note_change_validation(api, world, make, body, field):
    note = make.note(world.c_nord, "Bleibt", author=world.normal)
    resp = api.patch(f"/notes/{note.id}", token=world.tokens.normal, json=body)
    assert resp.status_code == 422 and field in resp.get_json()["error"]["fields"]


def test_a_task_is_rescheduled_and_edited(api, world, make):
    task = make.task("Angebot nachfassen", record=world.d_nord, assignee=world.normal, created_by=world.admin)
    resp = api.patch(f"/tasks/{task.id}", token=world.tokens.normal,
                     json={"due_date": "2031-03-04", "title": "Angebot nachfassen (2)"})
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert (out["title"], out["due_date"], out["done"]) == ("Angebot nachfassen (2)", "2031-03-04", False)
    assert out["record"] == {"type": "deal", "id": world.d_nord.id}
    assert out["assignee"] == {"id": world.normal.id, "name": "Nora Normal"}
    done = api.patch(f"/tasks/{task.id}", token=world.tokens.normal, json={**out, "done": True}).get_json()
    assert done["done"] is True and done["done_at"]
    db.session.expire_all()
    assert db.session.get(Task, task.id).due_date == date(2031, 3, 4)


def test_a_null_clears_a_tasks_due_date_and_assignee_but_not_its_title(api, world, make):
    task = make.task("Anrufen", record=world.c_nord, assignee=world.normal)
    task.due_date = date(2031, 3, 4)
    db.session.commit()
    refused = api.patch(f"/tasks/{task.id}", token=world.tokens.normal, json={"title": None, "due_date": None})
    assert refused.status_code == 422 and "title" in refused.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Task, task.id).due_date == date(2031, 3, 4)  # nothing of the refused change
    resp = api.patch(f"/tasks/{task.id}", token=world.tokens.normal, json={"due_date": None, "assignee_id": None})
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert (out["title"], out["due_date"], out["assignee"]) == ("Anrufen", None, None)


def test_task_assignee_must_be_an_active_user(api, world, make):
    task = make.task("Anrufen", record=world.c_nord, assignee=world.normal)
    resp = api.patch(f"/tasks/{task.id}", token=world.tokens.normal, json={"assignee_id": 999999})
    assert resp.status_code == 422 and "assignee_id" in resp.get_json()["error"]["fields"]


def test_tasks_of_hidden_and_restricted_records_and_private_tasks_are_unknown(api, world, make):
    tasks = [make.task("Süd", record=world.c_sued, created_by=world.sued_user),
             make.task("Gustav", record=world.p_sued, created_by=world.sued_user),
             make.task("Privat", assignee=world.sued_user, created_by=world.sued_user)]
    missing = api.patch("/tasks/999999", token=world.tokens.admin, json={"title": "x"})
    for task in tasks:
        got = api.patch(f"/tasks/{task.id}", token=world.tokens.admin, json={"title": "x"})
        assert got.status_code == 404 and got.get_data() == missing.get_data()
        assert api.delete(f"/tasks/{task.id}", token=world.tokens.admin).status_code == 404
    db.session.expire_all()
    assert sorted(t.title for t in db.session.scalars(select(Task))) == ["Gustav", "Privat", "Süd"]


@pytest.mark.parametrize("who,status", [("normal", 403), ("extended", 204)])
def test_deleting_someone_elses_task(api, world, make, who, status):
    tid = make.task("Von Ada", record=world.c_nord, created_by=world.admin, assignee=world.normal).id
    assert api.delete(f"/tasks/{tid}", token=getattr(world.tokens, who)).status_code == status
    db.session.expire_all()
    assert (db.session.get(Task, tid) is None) == (status == 204)
