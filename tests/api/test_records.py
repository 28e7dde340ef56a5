"""Records through the API: the shapes, visibility, lists, and writes checked by the pages' rules."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.models import Company, Deal, Person, Project

RESTRICTED_KEYS = {"id", "type", "access", "group", "name", "custom_fields"}


def test_full_record_shape(api, world):
    resp = api.get(f"/people/{world.p_nord.id}", token=world.tokens.normal)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["type"] == "person" and body["access"] == "full"
    assert body["group"] == {"id": world.nord.id, "name": "Nord"}
    assert (body["first_name"], body["last_name"]) == ("Anna", "Kurz")
    assert body["company_id"] == world.c_nord.id
    assert body["emails"] == ["anna@nordlicht.de"]
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    company = api.get(f"/companies/{world.c_nord.id}", token=world.tokens.normal).get_json()
    assert company["tags"] == ["Messe"]
    assert company["custom_fields"] == {"Kundenstatus": None, "Umsatzklasse": None}
    deal = api.get(f"/deals/{world.d_nord.id}", token=world.tokens.normal).get_json()
    assert (deal["value"], deal["currency"], deal["stage"], deal["person_id"]) == (1000, "EUR", "open",
                                                                                  world.p_nord.id)


def test_restricted_record_carries_only_the_reduced_shape(api, world):
    resp = api.get(f"/companies/{world.c_sued.id}", token=world.tokens.normal)
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == RESTRICTED_KEYS
    assert body == {"id": world.c_sued.id, "type": "company", "access": "restricted",
                    "group": {"id": world.sued.id, "name": "Süd"}, "name": "Südwind KG",
                    "custom_fields": {"Kundenstatus": "Top-Kunde"}}
    text = resp.get_data(as_text=True)
    for secret in ("geheim@suedwind.de", "Geheim", "suedwind.example", "Umsatzklasse"):
        assert secret not in text


def test_hidden_record_is_a_404_exactly_like_a_missing_one(api, world):
    for path in (f"/people/{world.p_sued.id}", f"/deals/{world.d_sued.id}", f"/projects/{world.pr_sued.id}"):
        hidden = api.get(path, token=world.tokens.normal)
        missing = api.get(path.rsplit("/", 1)[0] + "/999999", token=world.tokens.normal)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_data() == missing.get_data()
    # the member of Süd sees them
    assert api.get(f"/people/{world.p_sued.id}", token=world.tokens.sued).status_code == 200


def test_reference_to_a_hidden_record_is_null(api, world):
    deal = api.get(f"/deals/{world.d_link.id}", token=world.tokens.normal).get_json()
    assert deal["person_id"] is None
    person = api.get(f"/people/{world.p_link.id}", token=world.tokens.normal).get_json()
    assert person["company_id"] == world.c_sued.id  # restricted: the link may be shown


def test_group_system_off_shows_everything_in_full(api, world, make):
    make.enable_groups(False)
    body = api.get(f"/companies/{world.c_sued.id}", token=world.tokens.normal).get_json()
    assert body["access"] == "full" and body["emails"] == ["geheim@suedwind.de"]
    assert api.get(f"/people/{world.p_sued.id}", token=world.tokens.normal).status_code == 200


# -- lists -------------------------------------------------------------------------------------

def test_list_has_restricted_rows_reduced_and_no_hidden_rows(api, world):
    body = api.get("/companies", token=world.tokens.normal).get_json()
    assert (body["page"], body["per_page"], body["has_more"]) == (1, 50, False)
    by_name = {item["name"]: item for item in body["items"]}
    assert set(by_name) == {"Basis AG", "Nordlicht GmbH", "Südwind KG"}
    assert set(by_name["Südwind KG"]) == RESTRICTED_KEYS
    people = api.get("/people", token=world.tokens.normal).get_json()["items"]
    assert {p["last_name"] for p in people} == {"Kurz", "Link"}


def test_list_filters(api, world):
    t = world.tokens.normal
    assert [i["name"] for i in api.get("/companies?q=nord", token=t).get_json()["items"]] == ["Nordlicht GmbH"]
    assert [i["name"] for i in api.get("/companies?tag=Messe", token=t).get_json()["items"]] == ["Nordlicht GmbH"]
    # a restricted row's tags and emails are not searchable
    assert api.get("/companies?tag=Geheim", token=t).get_json()["items"] == []
    assert api.get("/companies?q=geheim@suedwind", token=t).get_json()["items"] == []
    by_group = api.get(f"/companies?group_id={world.sued.id}", token=t).get_json()["items"]
    assert [(i["name"], i["access"]) for i in by_group] == [("Südwind KG", "restricted")]
    assert api.get(f"/people?group_id={world.sued.id}", token=t).get_json()["items"] == []
    newest = api.get("/companies?sort=updated&dir=desc", token=t).get_json()["items"]
    assert len(newest) == 3


def test_list_pagination(api, world, make):
    for i in range(5):
        make.project(f"Extra {i}", group=world.nord)
    t = world.tokens.normal
    first = api.get("/projects?per_page=4", token=t).get_json()
    second = api.get("/projects?per_page=4&page=2", token=t).get_json()
    assert (len(first["items"]), first["has_more"]) == (4, True)
    assert (len(second["items"]), second["has_more"]) == (2, False)
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    assert api.get("/projects?per_page=100000", token=t).get_json()["per_page"] == 200
    assert api.get("/projects?page=99999", token=t).get_json()["items"] == []


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page=100001", "per_page=0", "page=%C2%B2",
                                   "per_page=%D9%A1", "group_id=1.5",
                                   "group_id=x", "group_id=99999999999999999999", "sort=secret",
                                   "dir=up", "q=" + "x" * 201, "tag=%01"])
def test_list_rejects_bad_parameters(api, world, query):
    resp = api.get(f"/companies?{query}", token=world.tokens.normal)
    assert resp.status_code == 422
    assert set(resp.get_json()["error"]["fields"]) == {query.split("=")[0]}


# -- create ------------------------------------------------------------------------------------

@pytest.mark.parametrize("plural,body,check", [
    ("companies", {"name": "Neu GmbH", "website": "https://neu.example", "emails": ["a@neu.example"],
                   "phones": ["+49 40 1"], "addresses": ["Weg 1\n20095 Hamburg"], "tags": ["A", "B"],
                   "custom_fields": {"Kundenstatus": "Neu"}},
     {"name": "Neu GmbH", "tags": ["A", "B"], "addresses": ["Weg 1\n20095 Hamburg"],
      "custom_fields": {"Kundenstatus": "Neu", "Umsatzklasse": None}}),
    ("people", {"first_name": "Eva", "last_name": "Neu", "position": "CEO", "salutation": "Frau"},
     {"last_name": "Neu", "salutation": "Frau", "company_id": None}),
    ("deals", {"name": "Großauftrag", "value": 1234.5, "currency": "CHF", "stage": "won",
               "target_date": "2030-01-31"},
     {"value": 1234.5, "currency": "CHF", "stage": "won", "target_date": "2030-01-31"}),
    ("projects", {"name": "Umbau", "status": "active", "start_date": "2030-01-01", "target_date": "2030-02-01"},
     {"status": "active", "start_date": "2030-01-01"}),
])
def test_create_each_type(api, world, plural, body, check):
    resp = api.post(f"/{plural}", token=world.tokens.normal, json=body)
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/{plural}/{created['id']}")
    assert {k: created[k] for k in check} == check
    assert created["group"]["id"] == world.nord.id  # no default group: the user's only group
    assert created["responsible_id"] == world.normal.id
    assert api.get(f"/{plural}/{created['id']}", token=world.tokens.normal).get_json() == created


def test_create_in_a_chosen_group_and_the_default_group(api, world, make):
    resp = api.post("/deals", token=world.tokens.normal, json={"name": "D", "group_id": world.nord.id,
                                                              "company_id": world.c_nord.id})
    assert resp.status_code == 201 and resp.get_json()["group"]["name"] == "Nord"
    world.normal.default_group_id = world.nord.id
    db.session.commit()
    resp = api.post("/deals", token=world.tokens.normal, json={"name": "E"})
    assert resp.get_json()["group"]["name"] == "Nord"


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": 5}, "name"),
    ({"name": "A", "website": "not a url"}, "website"),
    ({"name": "A", "emails": ["nope"]}, "emails"),
    ({"name": "A", "emails": "a@b.de"}, "emails"),
    ({"name": "A", "emails": ["a@b.de\nc@d.de"]}, "emails"),
    ({"name": "A", "phones": [None]}, "phones"),
    ({"name": "A", "phones": ["1"] * 21}, "phones"),
    ({"name": "A", "tags": ["a,b"]}, "tags"),
    ({"name": "A", "tags": ["x" * 61]}, "tags"),
    ({"name": "A", "addresses": ["Weg 1\n\nHamburg"]}, "addresses"),
    ({"name": "A\x00B"}, "name"),
    ({"name": "A\nB"}, "name"),
    ({"name": "A", "background": "ok\x07"}, "background"),
    ({"name": "A", "background": "x" * 20001}, "background"),
    ({"name": "A", "group_id": 999}, "group_id"),
    ({"name": "A", "group_id": True}, "group_id"),
    ({"name": "A", "responsible_id": 99999}, "responsible_id"),
    ({"name": "A", "custom_fields": {"Nope": "x"}}, "custom_fields.Nope"),
    ({"name": "A", "custom_fields": {"Kundenstatus": "x" * 2001}}, "custom_fields.Kundenstatus"),
    ({"name": "A", "custom_fields": {"Kundenstatus": ["x"]}}, "custom_fields"),
    ({"name": "A", "custom_fields": []}, "custom_fields"),
    ({"name": "A", "nickname": "x"}, "nickname"),
])
def test_create_company_validation(api, world, body, field):
    resp = api.post("/companies", token=world.tokens.normal, json=body)
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert db.session.scalar(select(Company).where(Company.name == "A")) is None


def test_create_rejects_groups_the_user_is_not_in(api, world):
    # even an admin: the forms offer the groups one is a member of
    for token in (world.tokens.normal, world.tokens.admin):
        resp = api.post("/companies", token=token, json={"name": "A", "group_id": world.sued.id})
        assert resp.status_code == 422 and "group_id" in resp.get_json()["error"]["fields"]


@pytest.mark.parametrize("body,field", [
    ({"name": "D", "value": -1}, "value"),
    ({"name": "D", "value": 1e13}, "value"),
    ({"name": "D", "value": 1e300}, "value"),
    ({"name": "D", "value": "12,5"}, "value"),  # a decimal string is "12.5"; see test_numbers.py
    ({"name": "D", "value": True}, "value"),
    ({"name": "D", "stage": "maybe"}, "stage"),
    ({"name": "D", "currency": "BTC"}, "currency"),
    ({"name": "D", "target_date": "31.12.2030"}, "target_date"),
    ({"name": "D", "target_date": "2030-02-30"}, "target_date"),
    ({"name": "D", "company_id": 0}, "company_id"),
    ({"name": "D", "company_id": -5}, "company_id"),
    ({"name": "D", "company_id": 2**40}, "company_id"),
    ({"name": "D", "company_id": "7"}, "company_id"),
    ({"name": "D", "company_id": 999999}, "company_id"),
])
def test_create_deal_validation(api, world, body, field):
    resp = api.post("/deals", token=world.tokens.normal, json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]


def test_links_only_to_records_the_user_fully_sees(api, world):
    t = world.tokens.normal
    for body in ({"name": "D", "company_id": world.c_sued.id},  # restricted
                 {"name": "D", "person_id": world.p_sued.id}):  # hidden
        resp = api.post("/deals", token=t, json=body)
        assert resp.status_code == 422
        message = next(iter(resp.get_json()["error"]["fields"].values()))
        hidden_missing = api.post("/deals", token=t, json={**body, next(iter(set(body) - {"name"})): 999999})
        assert message == next(iter(hidden_missing.get_json()["error"]["fields"].values()))
    resp = api.post("/projects", token=t, json={"name": "P", "start_date": "2030-02-01", "target_date": "2030-01-01"})
    assert resp.status_code == 422 and "target_date" in resp.get_json()["error"]["fields"]


def test_custom_field_kinds_are_checked(api, world, make):
    make.field("deal", "Wahrscheinlichkeit", kind="number")
    make.field("deal", "Ampel", kind="select", options=["rot", "grün"])
    make.field("deal", "Abschluss", kind="date")
    make.field("deal", "Link", kind="url")
    t = world.tokens.normal
    ok = api.post("/deals", token=t, json={"name": "D", "custom_fields": {
        "Wahrscheinlichkeit": 12.5, "Ampel": "grün", "Abschluss": "2030-01-01", "Link": "https://x.example"}})
    assert ok.status_code == 201
    assert ok.get_json()["custom_fields"] == {"Wahrscheinlichkeit": 12.5, "Ampel": "grün",
                                              "Abschluss": "2030-01-01", "Link": "https://x.example"}
    for name, value in (("Wahrscheinlichkeit", "viel"), ("Ampel", "blau"), ("Abschluss", "morgen"),
                        ("Link", "javascript:alert(1)"), ("Wahrscheinlichkeit", 1e20)):
        resp = api.post("/deals", token=t, json={"name": "D", "custom_fields": {name: value}})
        assert resp.status_code == 422, (name, value)
        assert f"custom_fields.{name}" in resp.get_json()["error"]["fields"]


# -- update ------------------------------------------------------------------------------------

def test_patch_changes_only_what_is_sent(api, world):
    t = world.tokens.normal
    path = f"/companies/{world.c_nord.id}"
    before = api.get(path, token=t).get_json()
    resp = api.patch(path, token=t, json={"website": "https://nordlicht.example",
                                          "custom_fields": {"Kundenstatus": "Top"}})
    assert resp.status_code == 200, resp.get_json()
    after = resp.get_json()
    assert after["website"] == "https://nordlicht.example"
    assert after["custom_fields"] == {"Kundenstatus": "Top", "Umsatzklasse": None}
    for key in ("name", "emails", "tags", "group", "background"):
        assert after[key] == before[key]
    assert after["version"] > before["version"]
    cleared = api.patch(path, token=t, json={"tags": [], "emails": None, "custom_fields": {"Kundenstatus": None}})
    body = cleared.get_json()
    assert (body["tags"], body["emails"], body["custom_fields"]["Kundenstatus"]) == ([], [], None)


def test_patch_roundtrip_of_a_whole_record(api, world):
    t = world.tokens.normal
    record = api.get(f"/deals/{world.d_nord.id}", token=t).get_json()
    record["name"] = "Umbenannt"
    record["group_id"] = record["group"]["id"]
    resp = api.patch(f"/deals/{world.d_nord.id}", token=t, json=record)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["name"] == "Umbenannt"


def test_patch_validation_and_keeps_data_on_error(api, world):
    t = world.tokens.normal
    path = f"/people/{world.p_nord.id}"
    for body, field in (({"last_name": ""}, "last_name"), ({"company_id": world.c_sued.id}, "company_id"),
                        ({"emails": ["x"]}, "emails"), ({"version": "1"}, "version"),
                        ({"group_id": world.sued.id}, "group_id"), ({"id": 5, "x": 1}, "x")):
        resp = api.patch(path, token=t, json=body)
        assert resp.status_code == 422, body
        assert field in resp.get_json()["error"]["fields"]
    assert api.get(path, token=t).get_json()["last_name"] == "Kurz"


def test_patch_with_a_stale_version_is_a_conflict(api, world):
    t = world.tokens.normal
    path = f"/projects/{world.pr_nord.id}"
    version = api.get(path, token=t).get_json()["version"]
    assert api.patch(path, token=t, json={"name": "Eins", "version": version}).status_code == 200
    resp = api.patch(path, token=t, json={"name": "Zwei", "version": version})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    assert api.get(path, token=t).get_json()["name"] == "Eins"


def test_patch_moving_to_another_own_group_is_audited(api, world):
    resp = api.patch(f"/projects/{world.pr_nord.id}", token=world.tokens.normal, json={"group_id": 1})
    assert resp.status_code == 200 and resp.get_json()["group"]["name"] == "Basis"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned"))
    assert entry.details["counts"] == {"projects": 1} and entry.details["source"] == "form"


def test_writes_to_restricted_and_hidden_records(api, world):
    t = world.tokens.admin  # roles never widen visibility
    assert api.patch(f"/companies/{world.c_sued.id}", token=t, json={"name": "X"}).status_code == 403
    assert api.delete(f"/companies/{world.c_sued.id}", token=t).status_code == 403
    assert api.patch(f"/people/{world.p_sued.id}", token=t, json={"last_name": "X"}).status_code == 404
    assert api.delete(f"/deals/{world.d_sued.id}", token=t).status_code == 404
    assert api.patch("/deals/999999", token=t, json={"name": "X"}).status_code == 404
    assert db.session.get(Company, world.c_sued.id).name == "Südwind KG"
    assert db.session.get(Deal, world.d_sued.id) is not None


# -- delete ------------------------------------------------------------------------------------

def test_delete_needs_extended_or_admin(api, world):
    project_id, person_id = world.pr_nord.id, world.p_nord.id
    resp = api.delete(f"/projects/{project_id}", token=world.tokens.normal)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert db.session.get(Project, project_id) is not None
    resp = api.delete(f"/projects/{project_id}", token=world.tokens.extended)
    assert resp.status_code == 204 and resp.data == b""
    assert db.session.scalar(select(Project.deleted_at).where(Project.id == project_id)) is not None  # in the bin
    assert api.get(f"/projects/{project_id}", token=world.tokens.extended).status_code == 404
    assert api.delete(f"/people/{person_id}", token=world.tokens.admin).status_code == 204
    assert db.session.scalar(select(Person.deleted_at).where(Person.id == person_id)) is not None
