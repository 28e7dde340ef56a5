"""Permission matrix: visibility level × surface × role × record type.

The viewer is in group "Mine". The record under test is in "Mine" (full), or in "Other" with a
custom field of its type shared with "Mine" (restricted), or in "Other" with nothing shared (hidden).
Its name, hidden fields, note and task carry unique tokens; the shared field value is allowed
at the restricted level.
"""
import re

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Company, Deal, Note, Person, Project, Task

TYPES = {"company": ("companies", Company), "person": ("people", Person), "deal": ("deals", Deal),
         "project": ("projects", Project)}
LEVELS = ("full", "restricted", "hidden")
ROLES = ("normal", "extended", "admin")
SURFACES = ("detail", "list", "list_count", "search", "live_search", "export", "related", "notes_partial",
            "home", "task_list", "edit_form", "note_post", "task_post", "edit_post", "delete_post")

NAME = "Zentaurus"
SECRET = "GEHEIMTOKEN"
SHARED = "GETEILTTOKEN"


def build(make, key: str, level: str, role: str):
    make.enable_groups()
    viewer = make.user(role)
    mine = make.group("Mine", [viewer])
    other = make.group("Other")
    group = mine if level == "full" else other
    shared = make.field(key, "Status", shared_with=[mine] if level == "restricted" else [])
    make.field(key, "Intern")
    parent = make.company("Elternfirma", group=mine)
    if key == "company":
        rec = make.company(NAME, group=group, website=f"https://{SECRET.lower()}.example",
                           emails=[f"{SECRET}@x.example"], tags=[f"{SECRET}tag"])
        make.person("Kindperson", company=rec, group=mine)
    elif key == "person":
        rec = make.person(NAME, first_name="Zora", group=group, company=parent, emails=[f"{SECRET}@x.example"],
                          position=SECRET, tags=[f"{SECRET}tag"])
    elif key == "deal":
        rec = make.deal(NAME, group=group, company=parent, value=987654, description=SECRET)
    else:
        rec = make.project(NAME, group=group, company=parent, description=SECRET)
    make.value(shared, rec, SHARED)
    make.note(rec, f"Notiz {SECRET}", author=viewer)
    make.task(f"Aufgabe {SECRET}", record=rec, assignee=viewer, created_by=viewer)
    return viewer, rec, parent


def expectation(level: str, surface: str, role: str) -> str:
    """What the viewer should get. 'ok' = allowed and shown; 'restricted' = shown with name/group/
    shared field only; 'absent' = no trace; plus HTTP codes for direct requests."""
    if surface in ("export",) and role == "normal":
        return "403"
    if surface == "delete_post" and role == "normal":
        return "404" if level == "hidden" else "403"
    if level == "full":
        return "ok"
    if level == "restricted":
        if surface in ("edit_form", "edit_post", "delete_post", "note_post", "task_post", "notes_partial"):
            return "403"
        if surface in ("home", "task_list", "related"):
            return "absent"  # related: a restricted record's links are among its hidden fields
        return "restricted"
    # hidden
    if surface in ("detail", "edit_form", "edit_post", "delete_post", "note_post", "task_post", "notes_partial"):
        return "404"
    return "absent"


def request(client, surface: str, key: str, rec, parent):
    plural = TYPES[key][0]
    rid = rec.id
    if surface == "detail":
        return client.get(f"/{plural}/{rid}")
    if surface in ("list", "list_count"):
        return client.get(f"/{plural}?q=zent")
    if surface == "search":
        return client.get(f"/search?q={NAME}")
    if surface == "live_search":
        return client.get(f"/search?q={NAME}", headers={"HX-Request": "true", "HX-Target": "search-live"})
    if surface == "export":
        return client.get(f"/{plural}/export.csv")
    if surface == "related":
        return client.get(f"/companies/{parent.id}")
    if surface == "notes_partial":
        return client.get(f"/{plural}/{rid}/notes", headers={"HX-Request": "true", "HX-Target": "notes-more"})
    if surface == "edit_form":
        return client.get(f"/{plural}/{rid}/edit")
    if surface == "edit_post":
        field = "last_name" if key == "person" else "name"
        return client.post(f"/{plural}/{rid}/edit", data={field: "Überschrieben", "stage": "open", "currency": "EUR",
                                                           "status": "planned"})
    if surface == "delete_post":
        return client.post(f"/{plural}/{rid}/delete")
    if surface == "note_post":
        return client.post(f"/{plural}/{rid}/notes", data={"body": "neu", "kind": "note"})
    if surface == "task_post":
        return client.post("/tasks", data={"title": "neu", "record_type": key, "record_id": str(rid)})
    if surface == "home":
        return client.get("/")
    if surface == "task_list":
        return client.get("/tasks?scope=all")
    raise AssertionError(surface)


@pytest.mark.parametrize("key", list(TYPES))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("level", LEVELS)
def test_matrix(client, make, key, level, role):
    """One world per (type, level, role); every surface checked in it, reads first, writes last
    (a successful delete ends the record's life)."""
    viewer, rec, parent = build(make, key, level, role)
    make.login(client, viewer)
    for surface in SURFACES:
        if surface == "related" and key == "company":
            continue  # a company is nobody's related record
        check_surface(client, key, level, role, surface, rec, parent)


def check_surface(client, key, level, role, surface, rec, parent):
    model = TYPES[key][1]
    counts_before = {m: db.session.scalar(select(func.count()).select_from(m)) for m in (Note, Task)}
    rec_before = db.session.execute(select(model.__table__).where(model.id == rec.id)).all()
    resp = request(client, surface, key, rec, parent)
    body = resp.get_data(as_text=True)
    want = expectation(level, surface, role)
    where = f"{surface}: {level} {key} as {role}"
    if want in ("403", "404"):
        assert resp.status_code == int(want), (where, resp.status_code, body[:300])
    else:
        assert resp.status_code in (200, 302), (where, resp.status_code, body[:300])
    if want != "ok":
        assert SECRET not in body and SECRET.lower() not in body, where
    if want == "ok" and surface not in ("edit_post", "delete_post", "note_post", "task_post", "home", "task_list",
                                        "notes_partial"):
        assert NAME in body, where
    if want == "restricted":
        assert NAME in body, where
        if surface == "detail":
            assert SHARED in body and "Other" in body, where
    if want == "absent":
        assert f"/{TYPES[key][0]}/{rec.id}\"" not in body, where
        if surface not in ("search", "live_search"):  # those echo the query
            assert NAME not in body, where
    if surface == "list_count":
        expected = 0 if level == "hidden" else 1
        count = re.search(r'id="list-count">\s*(\d+)', body)
        assert (int(count.group(1)) if count else 0) == expected, where
    if want in ("403", "404"):  # refused writes change nothing
        db.session.expire_all()
        assert db.session.execute(select(model.__table__).where(model.id == rec.id)).all() == rec_before, where
        assert {m: db.session.scalar(select(func.count()).select_from(m)) for m in (Note, Task)} == counts_before, where
