"""Notes, group assignment and search through the API."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.models import Company, Deal, Note, Person, Project

# -- notes -------------------------------------------------------------------------------------


def test_notes_of_a_fully_visible_record(api, world, make):
    make.note(world.c_nord, "Erstkontakt auf der Messe", author=world.admin, kind="meeting")
    t = world.tokens.normal
    resp = api.post(f"/companies/{world.c_nord.id}/notes", token=t,
                    json={"body": "Rückruf vereinbart", "kind": "call", "occurred_at": "2030-01-02T10:30:00+01:00"})
    assert resp.status_code == 201, resp.get_json()
    note = resp.get_json()
    assert (note["body"], note["kind"], note["occurred_at"]) == ("Rückruf vereinbart", "call", "2030-01-02T09:30:00Z")
    assert note["author"] == {"id": world.normal.id, "name": "Nora Normal"}
    listed = api.get(f"/companies/{world.c_nord.id}/notes", token=t).get_json()
    assert [n["body"] for n in listed["items"]] == ["Rückruf vereinbart", "Erstkontakt auf der Messe"]
    assert listed["has_more"] is False
    first = api.get(f"/companies/{world.c_nord.id}/notes?per_page=1", token=t).get_json()
    assert len(first["items"]) == 1 and first["has_more"] is True
    plain = api.post(f"/deals/{world.d_nord.id}/notes", token=t, json={"body": "Notiz"}).get_json()
    assert plain["kind"] == "note"


def test_notes_of_restricted_and_hidden_records(api, world, make):
    make.note(world.c_sued, "Streng geheim")
    make.note(world.p_sued, "Auch geheim")
    t = world.tokens.admin
    for method in (api.get, api.post):
        kwargs = {"json": {"body": "x"}} if method == api.post else {}
        assert method(f"/companies/{world.c_sued.id}/notes", token=t, **kwargs).status_code == 403
        hidden = method(f"/people/{world.p_sued.id}/notes", token=t, **kwargs)
        missing = method("/people/999999/notes", token=t, **kwargs)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_data() == missing.get_data()
    assert db.session.scalar(select(Note).where(Note.body == "x")) is None


@pytest.mark.parametrize("body,field", [
    ({}, "body"), ({"body": ""}, "body"), ({"body": "  "}, "body"), ({"body": 1}, "body"),
    ({"body": "x" * 20001}, "body"), ({"body": "x", "kind": "fax"}, "kind"),
    ({"body": "x", "occurred_at": "gestern"}, "occurred_at"), ({"body": "x", "occurred_at": 5}, "occurred_at"),
    ({"body": "x", "pinned": True}, "pinned"), ({"body": "a\x00b"}, "body"),
])
def test_note_validation(api, world, body, field):
    resp = api.post(f"/projects/{world.pr_nord.id}/notes", token=world.tokens.normal, json=body)
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]


# -- assign group ------------------------------------------------------------------------------

def test_assign_people(api, world):
    resp = api.post("/people/assign-group", token=world.tokens.normal,
                    json={"ids": [world.p_nord.id, world.p_link.id, world.p_nord.id], "group_id": 1})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"updated": {"people": 2}}
    db.session.expire_all()
    assert db.session.get(Person, world.p_nord.id).group_id == 1


def test_assign_companies_with_cascade_touches_only_fully_visible_records(api, world):
    resp = api.post("/companies/assign-group", token=world.tokens.admin, json={
        "ids": [world.c_nord.id, world.c_sued.id], "group_id": world.sued.id,
        "cascade": ["people", "deals", "projects"]})
    assert resp.status_code == 200, resp.get_json()
    # Südwind is restricted for the admin: neither it nor its people/deals/projects are touched
    assert resp.get_json() == {"updated": {"companies": 1, "people": 1, "deals": 1, "projects": 1}}
    db.session.expire_all()
    assert db.session.get(Company, world.c_nord.id).group_id == world.sued.id
    assert db.session.get(Person, world.p_nord.id).group_id == world.sued.id
    assert db.session.get(Person, world.p_link.id).group_id == world.nord.id  # works at Südwind
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned"))
    assert entry.actor_id == world.admin.id and entry.details["source"] == "api"
    assert entry.details["counts"] == {"companies": 1, "people": 1, "deals": 1, "projects": 1}
    # moved out of the admin's groups: now restricted (companies) or hidden (people) for the admin
    assert api.get(f"/companies/{world.c_nord.id}", token=world.tokens.admin).get_json()["access"] == "restricted"
    assert api.get(f"/people/{world.p_nord.id}", token=world.tokens.admin).status_code == 404


def test_assign_without_cascade_and_with_some(api, world):
    resp = api.post("/companies/assign-group", token=world.tokens.normal,
                    json={"ids": [world.c_nord.id], "group_id": 1, "cascade": ["deals"]})
    assert resp.get_json() == {"updated": {"companies": 1, "people": 0, "deals": 1, "projects": 0}}
    db.session.expire_all()
    assert db.session.get(Deal, world.d_nord.id).group_id == 1
    assert db.session.get(Project, world.pr_nord.id).group_id == world.nord.id


@pytest.mark.parametrize("plural,body,field", [
    ("people", {"group_id": 1}, "ids"),
    ("people", {"ids": []}, "group_id"),
    ("people", {"ids": [], "group_id": 1}, "ids"),
    ("people", {"ids": "1", "group_id": 1}, "ids"),
    ("people", {"ids": [1, "2"], "group_id": 1}, "ids"),
    ("people", {"ids": [0], "group_id": 1}, "ids"),
    ("people", {"ids": [1], "group_id": "1"}, "group_id"),
    ("people", {"ids": [1], "group_id": 999}, "group_id"),
    ("people", {"ids": [1], "group_id": 1, "cascade": ["deals"]}, "cascade"),
    ("companies", {"ids": [1], "group_id": 1, "cascade": ["tasks"]}, "cascade"),
    ("companies", {"ids": [1], "group_id": 1, "cascade": "people"}, "cascade"),
    ("deals", {"ids": list(range(1, 10_002)), "group_id": 1}, "ids"),
])
def test_assign_validation(api, world, plural, body, field):
    resp = api.post(f"/{plural}/assign-group", token=world.tokens.normal, json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned")) is None


def test_assign_to_a_foreign_group_needs_admin(api, world):
    body = {"ids": [world.d_nord.id], "group_id": world.sued.id}
    assert api.post("/deals/assign-group", token=world.tokens.normal, json=body).status_code == 422
    assert api.post("/deals/assign-group", token=world.tokens.admin, json=body).get_json() == {
        "updated": {"deals": 1}}


def test_assign_skips_hidden_and_unknown_ids(api, world):
    resp = api.post("/deals/assign-group", token=world.tokens.normal,
                    json={"ids": [world.d_sued.id, 999999], "group_id": 1})
    assert resp.get_json() == {"updated": {"deals": 0}}
    db.session.expire_all()
    assert db.session.get(Deal, world.d_sued.id).group_id == world.sued.id


# -- search ------------------------------------------------------------------------------------

def test_search_across_types_with_restricted_hits_reduced(api, world):
    resp = api.get("/search?q=s", token=world.tokens.normal)
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    by_name = {(i["type"], i.get("name") or i.get("last_name")): i for i in items}
    assert ("company", "Südwind KG") in by_name
    restricted = by_name[("company", "Südwind KG")]
    assert set(restricted) == {"id", "type", "access", "group", "name", "custom_fields"}
    assert restricted["custom_fields"] == {"Kundenstatus": "Top-Kunde"}
    assert ("company", "Basis AG") in by_name and by_name[("company", "Basis AG")]["access"] == "full"
    text = resp.get_data(as_text=True)
    for hidden in ("Gustav", "Süd-Deal", "Süd-Projekt", "geheim@suedwind.de"):
        assert hidden not in text


def test_search_finds_each_type(api, world):
    t = world.tokens.sued
    types = {i["type"] for i in api.get("/search?q=süd", token=t).get_json()["items"]}
    assert types == {"company", "deal", "project"}
    assert [i["last_name"] for i in api.get("/search?q=gustav", token=t).get_json()["items"]] == ["Geheim"]


def test_search_parameters(api, world):
    t = world.tokens.normal
    assert api.get("/search", token=t).get_json() == {"items": []}
    assert api.get("/search?q=%20%20", token=t).get_json() == {"items": []}
    assert api.get("/search?q=" + "x" * 201, token=t).status_code == 422
    assert api.get("/search?q=a&limit=0", token=t).status_code == 422
    assert len(api.get("/search?q=n&limit=1", token=t).get_json()["items"]) <= 4
