"""Every create works with only its required fields, and every optional field may be left out or
sent as null (issue 13, "Proof").

Creates: companies, people, deals, projects, notes, users, groups, custom fields - through the
API, in a world where every record type has a custom field of each kind (a select one among
them), with the group system on and off. Sending ``null`` for an optional field means the same as
leaving it out: the record answers with the value it would have had without it (its default, or
empty). The required fields are those of interfaces.md: a record's name (a person's last name), a
note's body, a user's email, name and password, a group's name, a custom field's entity, name and
kind; the OpenAPI document must say no more than that. (One null says something of its own: a
record created with ``"responsible_id": null`` has nobody responsible, where leaving it out makes
the creator responsible.)
"""
from __future__ import annotations

import itertools

import pytest

from crm.auth.services import issue_token
from tests.api import module_app as shared

module_app, module_api = shared.module_app, shared.module_api  # the fixtures of one app per module

#: one custom field of each kind on every record type: name -> kind
CUSTOM = {"Stufe": "select", "Zahl": "number", "Notiz": "text", "Datum": "date", "Web": "url"}
RECORD_OPTIONAL = ("tags", "group_id", "responsible_id", "custom_fields")
#: create -> (the required fields, the optional ones)
CREATES: dict[str, tuple[dict, tuple[str, ...]]] = {
    "companies": ({"name": "Acme"}, ("website", "background", "emails", "phones", "addresses", *RECORD_OPTIONAL)),
    "people": ({"last_name": "Kurz"}, ("salutation", "title", "first_name", "company_id", "position", "emails",
                                       "phones", "addresses", "background", *RECORD_OPTIONAL)),
    "deals": ({"name": "Deal"}, ("value", "currency", "stage", "target_date", "company_id", "person_id",
                                 "description", *RECORD_OPTIONAL)),
    "projects": ({"name": "Projekt"}, ("status", "start_date", "target_date", "company_id", "person_id",
                                       "description", *RECORD_OPTIONAL)),
    "notes": ({"body": "Angerufen"}, ("kind", "occurred_at")),
    "users": ({"email": "…", "name": "Neu", "password": "ein-langes-passwort"},
              ("role", "default_group_id", "locale", "active", "group_ids")),
    "groups": ({"name": "…"}, ("member_ids",)),
    "custom-fields": ({"entity": "company", "name": "…", "kind": "text"}, ("options", "shared_with")),
}
#: the schema of each create's body in the OpenAPI document
SCHEMAS = {"companies": "CompanyCreate", "people": "PersonCreate", "deals": "DealCreate",
           "projects": "ProjectCreate", "notes": "NoteCreate", "users": "UserCreate", "groups": "GroupCreate",
           "custom-fields": "FieldCreate"}
#: what an answer carries that differs from one create to the next
VOLATILE = {"id", "created_at", "updated_at", "occurred_at", "email", "name", "version"}
#: fields whose null says something of its own: nobody is responsible (left out: the creator is)
NULL_MEANS_NONE = {"responsible_id"}
_unique = itertools.count(1)


class World:
    def __init__(self, api, admin: str, user: str, company_id: int):
        self.api, self.admin, self.user, self.company_id = api, admin, user, company_id

    def path(self, create: str) -> str:
        return f"/companies/{self.company_id}/notes" if create == "notes" else f"/{create}"

    def token(self, create: str) -> str:
        return self.admin if create in ("users", "groups", "custom-fields") else self.user

    def required(self, create: str) -> dict:
        """The required fields, unique where they must be (an email, a group's or field's name)."""
        body = dict(CREATES[create][0])
        n = next(_unique)
        if create == "users":
            body["email"] = f"neu{n}@example.com"
        if create in ("groups", "custom-fields"):
            body["name"] = f"Neu {n}"
        return body

    def post(self, create: str, body: dict):
        return self.api.post(self.path(create), token=self.token(create), json=body)


@pytest.fixture(scope="module")
def accounts(module_app, module_api) -> dict[str, str]:
    """An admin and a normal user (their tokens), a custom field of each kind on every record type
    (none required, none shared)."""
    from tests import factories as make

    make.enable_groups()
    admin = issue_token(make.user("admin", name="Ada Admin"))
    for entity in ("company", "person", "deal", "project"):
        for name, kind in CUSTOM.items():
            body = {"entity": entity, "name": name, "kind": kind}
            if kind == "select":
                body["options"] = ["A", "B"]
            resp = module_api.post("/custom-fields", token=admin, json=body)
            assert resp.status_code == 201, resp.get_json()
    return {"admin": admin, "user": issue_token(make.user("normal"))}


@pytest.fixture(scope="module", params=[True, False], ids=["groups-on", "groups-off"])
def world(request, accounts, module_api) -> World:
    """The group system switched on or off (through the API), and a company for the notes."""
    switched = module_api.patch("/settings", token=accounts["admin"], json={"groups_enabled": request.param})
    assert switched.status_code == 200, switched.get_json()
    company = module_api.post("/companies", token=accounts["user"], json={"name": "Für Notizen"})
    assert company.status_code == 201, company.get_json()
    return World(module_api, accounts["admin"], accounts["user"], company.get_json()["id"])


def _ours(custom: dict) -> dict:
    """The values of this module's fields (the custom-field creates add more fields)."""
    return {name: custom.get(name, "missing") for name in CUSTOM}


def _comparable(create: str, answer: dict) -> dict:
    volatile = VOLATILE | ({"position"} if create == "custom-fields" else set())  # a field's place in the list
    return {k: v for k, v in answer.items() if k not in volatile}


@pytest.mark.parametrize("create", list(CREATES))
def test_a_create_needs_only_the_required_fields(world, create):
    resp = world.post(create, world.required(create))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    if create in ("companies", "people", "deals", "projects"):
        assert _ours(body["custom_fields"]) == dict.fromkeys(CUSTOM), body["custom_fields"]
        assert body["tags"] == [] and body["access"] == "full"


@pytest.mark.parametrize("create,key", [(c, k) for c, (_req, optional) in CREATES.items() for k in optional])
def test_an_optional_field_may_be_null(world, create, key):
    """``null`` is the same as leaving the field out."""
    left_out = world.post(create, world.required(create))
    assert left_out.status_code == 201, left_out.get_json()
    resp = world.post(create, {**world.required(create), key: None})
    assert resp.status_code == 201, (key, resp.get_json())
    answer, default = _comparable(create, resp.get_json()), _comparable(create, left_out.get_json())
    if key in NULL_MEANS_NONE:
        assert answer.pop(key) is None
        default.pop(key)
    assert answer == default


@pytest.mark.parametrize("create", ["companies", "people", "deals", "projects"])
@pytest.mark.parametrize("field", list(CUSTOM))
def test_each_custom_field_may_be_null(world, create, field):
    resp = world.post(create, {**world.required(create), "custom_fields": {field: None}})
    assert resp.status_code == 201, resp.get_json()
    assert _ours(resp.get_json()["custom_fields"]) == dict.fromkeys(CUSTOM)


@pytest.mark.parametrize("create", list(CREATES))
def test_all_optional_fields_null_at_once(world, create):
    left_out = world.post(create, world.required(create))
    nulls = dict.fromkeys(CREATES[create][1])
    if "custom_fields" in nulls:
        nulls["custom_fields"] = dict.fromkeys(CUSTOM)
    resp = world.post(create, {**world.required(create), **nulls})
    assert resp.status_code == 201, resp.get_json()
    answer, default = _comparable(create, resp.get_json()), _comparable(create, left_out.get_json())
    for key in NULL_MEANS_NONE & set(nulls):
        assert answer.pop(key) is None
        default.pop(key)
    assert answer == default


@pytest.mark.parametrize("create", list(CREATES))
def test_the_document_requires_only_the_required_fields(module_api, create):
    """The OpenAPI document says the same: a client generated from it may leave the rest out and
    send null for each of them."""
    schemas = module_api.spec.document["components"]["schemas"]
    schema = schemas[SCHEMAS[create]]
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    assert set(schema.get("required", [])) == set(CREATES[create][0])
    for key in CREATES[create][1]:
        prop = schema["properties"][key]
        types = prop.get("type")
        nullable = (types == "null" or (isinstance(types, list) and "null" in types)
                    or any(alt.get("type") == "null" for alt in prop.get("anyOf", prop.get("oneOf", []))))
        assert nullable, f"{SCHEMAS[create]}.{key} does not take null: {prop}"
