"""Administration through the API: users, groups, custom fields, settings - admins only, audited
exactly as the settings pages audit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.customfields.models import CustomField
from crm.extensions import db
from crm.groups.models import Group
from crm.models import Company, Deal


def audit_log(since: int = 0) -> list[tuple[str, dict]]:
    return [(e.action, e.details) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.id > since).order_by(AuditEntry.id))]


def last_audit_id() -> int:
    return db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())) or 0


ADMIN_CALLS = [
    ("GET", "/users", None), ("POST", "/users", {"email": "x@example.com", "name": "X", "password": "12345678"}),
    ("GET", "/groups", None), ("POST", "/groups", {"name": "Neu"}), ("GET", "/groups/1", None),
    ("PATCH", "/groups/2", {"name": "Neu"}), ("DELETE", "/groups/2", None),
    ("GET", "/custom-fields", None), ("POST", "/custom-fields", {"entity": "deal", "name": "F", "kind": "text"}),
    ("PATCH", "/custom-fields/1", {"shared_with": []}), ("DELETE", "/custom-fields/1", None),
    ("GET", "/settings", None), ("PATCH", "/settings", {"groups_enabled": False}),
]


@pytest.mark.parametrize("method,path,body", ADMIN_CALLS)
def test_administration_is_for_admins_only(api, world, method, path, body):
    before = last_audit_id()
    for token in (world.tokens.normal, world.tokens.extended):
        resp = api.call(method, path, token=token, **({"json": body} if body is not None else {}))
        assert resp.status_code == 403, resp.get_json()
        assert resp.get_json()["error"]["code"] == "forbidden"
    # unknown ids too: a non-admin learns nothing
    assert api.call(method, path.replace("/2", "/999").replace("/1", "/999"), token=world.tokens.normal,
                    **({"json": body} if body is not None else {})).status_code == 403
    assert last_audit_id() == before


# -- users -------------------------------------------------------------------------------------

def test_create_user(api, world):
    resp = api.post("/users", token=world.tokens.admin, json={
        "email": "Neu@Example.com", "name": "Nina Neu", "password": "lang-genug", "role": "extended",
        "default_group_id": world.nord.id, "group_ids": [world.nord.id, 1]})
    assert resp.status_code == 201, resp.get_json()
    user = resp.get_json()
    assert (user["email"], user["role"], user["default_group_id"], user["group_ids"], user["active"]) == (
        "neu@example.com", "extended", world.nord.id, [world.nord.id], True)
    assert [a for a, _ in audit_log()][-3:] == ["user_created", "member_added", "default_group_set"]
    token = api.post("/tokens", json={"email": "neu@example.com", "password": "lang-genug"})
    assert token.status_code == 201
    listed = api.get("/users", token=world.tokens.admin).get_json()["items"]
    assert "neu@example.com" in {u["email"] for u in listed}


def test_create_user_audit_matches_the_settings_page(api, app, world, make):
    """The same user created on the page and through the API leaves the same audit entries."""
    client = app.test_client()
    make.login(client, world.admin)
    since = last_audit_id()
    resp = client.post("/settings/users/new", data={
        "name": "Page", "email": "page@example.com", "role": "normal", "locale": "",
        "default_group_id": str(world.nord.id), "groups": [str(world.nord.id)], "password": "lang-genug",
        "active": "y"})
    assert resp.status_code == 302
    page = audit_log(since)
    since = last_audit_id()
    api.post("/users", token=world.tokens.admin, json={
        "email": "api@example.com", "name": "Page", "password": "lang-genug", "role": "normal",
        "default_group_id": world.nord.id, "group_ids": [world.nord.id]})
    via_api = audit_log(since)

    def strip(entries):
        return [(a, {k: v for k, v in d.items() if k not in ("user", "user_id")}) for a, d in entries]
    assert strip(page) == strip(via_api)


@pytest.mark.parametrize("body,field,status", [
    ({"name": "X", "password": "lang-genug"}, "email", 422),
    ({"email": "x@example.com", "password": "lang-genug"}, "name", 422),
    ({"email": "x@example.com", "name": "X"}, "password", 422),
    ({"email": "x@example.com", "name": "X", "password": "kurz"}, "password", 422),
    ({"email": "kein-email", "name": "X", "password": "lang-genug"}, "email", 422),
    ({"email": "x@example.com", "name": "X", "password": "lang-genug", "role": "owner"}, "role", 422),
    ({"email": "x@example.com", "name": "X", "password": "lang-genug", "default_group_id": 999},
     "default_group_id", 422),
    ({"email": "x@example.com", "name": "X", "password": "lang-genug", "group_ids": [999]}, "group_ids", 422),
    ({"email": "x@example.com", "name": "X", "password": "lang-genug", "active": "yes"}, "active", 422),
    ({"email": "x@example.com", "name": "X", "password": 12345678}, "password", 422),
    ({"email": "x@example.com", "name": "X", "password": "lang-genug", "is_admin": True}, "is_admin", 422),
])
def test_create_user_validation(api, world, body, field, status):
    resp = api.post("/users", token=world.tokens.admin, json=body)
    assert resp.status_code == status
    assert field in resp.get_json()["error"]["fields"]
    assert db.session.scalar(select(User).where(User.email == "x@example.com")) is None


def test_create_user_with_a_taken_email_is_a_conflict(api, world):
    resp = api.post("/users", token=world.tokens.admin, json={
        "email": world.normal.email.upper(), "name": "X", "password": "lang-genug"})
    assert resp.status_code == 409 and "email" in resp.get_json()["error"]["fields"]


# -- groups ------------------------------------------------------------------------------------

def test_list_groups_marks_basis_builtin(api, world):
    items = api.get("/groups", token=world.tokens.admin).get_json()["items"]
    by_name = {g["name"]: g for g in items}
    assert by_name["Basis"]["builtin"] is True and by_name["Nord"]["builtin"] is False
    assert set(by_name["Basis"]["member_ids"]) == {world.admin.id, world.normal.id, world.extended.id,
                                                   world.sued_user.id}
    assert set(by_name["Nord"]["member_ids"]) == {world.admin.id, world.normal.id, world.extended.id}
    one = api.get(f"/groups/{world.sued.id}", token=world.tokens.admin).get_json()
    assert one == {"id": world.sued.id, "name": "Süd", "builtin": False, "member_ids": [world.sued_user.id],
                   "contact_ids": []}
    assert api.get("/groups/999", token=world.tokens.admin).status_code == 404


def test_group_lifecycle_is_audited(api, world):
    t = world.tokens.admin
    since = last_audit_id()
    resp = api.post("/groups", token=t, json={"name": "West", "member_ids": [world.normal.id]})
    assert resp.status_code == 201, resp.get_json()
    gid = resp.get_json()["id"]
    assert resp.get_json()["member_ids"] == [world.normal.id]
    resp = api.patch(f"/groups/{gid}", token=t, json={"name": "Westen", "member_ids": [world.sued_user.id]})
    assert resp.status_code == 200 and resp.get_json()["member_ids"] == [world.sued_user.id]
    assert api.patch(f"/groups/{gid}", token=t, json={"name": "Westen"}).get_json()["member_ids"] == [
        world.sued_user.id]  # members unchanged when not sent
    assert api.delete(f"/groups/{gid}", token=t).status_code == 204
    # a member without a default group gets the group joined as theirs; leaving it, or its deletion,
    # clears it
    assert [a for a, _ in audit_log(since)] == [
        "group_created", "member_added", "default_group_set", "group_renamed", "member_added", "default_group_set",
        "member_removed", "default_group_set", "default_group_set", "group_deleted"]
    assert db.session.get(User, world.sued_user.id).default_group_id is None
    assert db.session.get(Group, gid) is None


def test_group_membership_change_takes_effect_on_visibility(api, world):
    assert api.get(f"/people/{world.p_sued.id}", token=world.tokens.normal).status_code == 404
    api.patch(f"/groups/{world.sued.id}", token=world.tokens.admin,
              json={"member_ids": [world.sued_user.id, world.normal.id]})
    assert api.get(f"/people/{world.p_sued.id}", token=world.tokens.normal).status_code == 200


@pytest.mark.parametrize("body,field,status", [
    ({}, "name", 422), ({"name": ""}, "name", 422), ({"name": "x" * 81}, "name", 422),
    ({"name": "Nord"}, "name", 409), ({"name": "nord"}, "name", 409), ({"name": 7}, "name", 422),
    ({"name": "Ost", "member_ids": [999]}, "member_ids", 422),
    ({"name": "Ost", "member_ids": "1"}, "member_ids", 422),
    ({"name": "Ost\x01"}, "name", 422),
])
def test_create_group_validation(api, world, body, field, status):
    resp = api.post("/groups", token=world.tokens.admin, json=body)
    assert resp.status_code == status, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]


def test_basis_cannot_be_renamed_or_deleted(api, world):
    t = world.tokens.admin
    resp = api.patch("/groups/1", token=t, json={"name": "Alle"})
    assert resp.status_code == 422 and "name" in resp.get_json()["error"]["fields"]
    assert api.patch("/groups/1", token=t, json={"name": "Basis"}).status_code == 200
    resp = api.delete("/groups/1", token=t, query_string={"move_to": world.nord.id})
    assert resp.status_code == 409
    assert db.session.get(Group, 1).name == "Basis"


def test_delete_group_with_records_needs_move_to(api, world):
    t = world.tokens.admin
    sued_id = world.sued.id
    resp = api.delete(f"/groups/{sued_id}", token=t)
    assert resp.status_code == 409 and "move_to" in resp.get_json()["error"]["fields"]
    for bad in ("abc", "999", str(sued_id)):
        resp = api.delete(f"/groups/{sued_id}?move_to={bad}", token=t)
        assert resp.status_code == 422 and "move_to" in resp.get_json()["error"]["fields"], bad
    assert api.delete(f"/groups/{sued_id}?move_to={world.nord.id}", token=t).status_code == 204
    db.session.expire_all()
    assert db.session.get(Company, world.c_sued.id).group_id == world.nord.id
    assert db.session.get(Deal, world.d_sued.id).group_id == world.nord.id
    entry = audit_log()[-1]
    assert entry[0] == "group_deleted" and entry[1]["moved_to"] == "Nord"
    empty = api.post("/groups", token=t, json={"name": "Leer"}).get_json()["id"]
    assert api.delete(f"/groups/{empty}", token=t).status_code == 204


# -- custom fields -----------------------------------------------------------------------------

def test_custom_field_lifecycle_with_sharing(api, world):
    t = world.tokens.admin
    since = last_audit_id()
    resp = api.post("/custom-fields", token=t, json={
        "entity": "person", "name": "Messe-Status", "kind": "select", "options": ["Kontakt", "Lead"],
        "shared_with": [world.sued.id]})
    assert resp.status_code == 201, resp.get_json()
    field = resp.get_json()
    assert (field["entity"], field["kind"], field["options"], field["shared_with"]) == (
        "person", "select", ["Kontakt", "Lead"], [world.sued.id])
    # sharing a person field with Nord makes Süd's people restricted (not hidden) for Nord
    assert api.get(f"/people/{world.p_sued.id}", token=world.tokens.normal).status_code == 404
    resp = api.patch(f"/custom-fields/{field['id']}", token=t, json={"shared_with": [world.sued.id, world.nord.id]})
    assert resp.status_code == 200 and set(resp.get_json()["shared_with"]) == {world.sued.id, world.nord.id}
    person = api.get(f"/people/{world.p_sued.id}", token=world.tokens.normal).get_json()
    assert person == {"id": world.p_sued.id, "type": "person", "access": "restricted",
                      "group": {"id": world.sued.id, "name": "Süd"}, "first_name": "Gustav",
                      "last_name": "Geheim", "custom_fields": {"Messe-Status": None}}
    resp = api.patch(f"/custom-fields/{field['id']}", token=t, json={"name": "Messestatus", "options": ["A"]})
    assert (resp.get_json()["name"], resp.get_json()["options"]) == ("Messestatus", ["A"])
    assert api.get("/custom-fields", token=t).get_json()["items"][-1]["name"] == "Messestatus"
    assert api.delete(f"/custom-fields/{field['id']}", token=t).status_code == 204
    assert db.session.get(CustomField, field["id"]) is None
    assert [a for a, _ in audit_log(since)] == [
        "field_created", "field_shared", "field_shared", "field_renamed", "field_deleted"]


@pytest.mark.parametrize("body,field,status", [
    ({"name": "F", "kind": "text"}, "entity", 422),
    ({"entity": "task", "name": "F", "kind": "text"}, "entity", 422),
    ({"entity": "deal", "name": "F", "kind": "color"}, "kind", 422),
    ({"entity": "deal", "name": "", "kind": "text"}, "name", 422),
    ({"entity": "deal", "name": "x" * 81, "kind": "text"}, "name", 422),
    ({"entity": "deal", "name": "F", "kind": "select"}, "options", 422),
    ({"entity": "deal", "name": "F", "kind": "select", "options": ["a\nb"]}, "options", 422),
    ({"entity": "deal", "name": "F", "kind": "select", "options": "a"}, "options", 422),
    ({"entity": "deal", "name": "F", "kind": "text", "shared_with": [999]}, "shared_with", 422),
    ({"entity": "company", "name": "kundenstatus", "kind": "text"}, "name", 409),
])
def test_create_custom_field_validation(api, world, body, field, status):
    resp = api.post("/custom-fields", token=world.tokens.admin, json=body)
    assert resp.status_code == status, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]


def test_update_custom_field_validation(api, world):
    t = world.tokens.admin
    fid = world.status.id
    assert api.patch(f"/custom-fields/{fid}", token=t, json={"kind": "number"}).status_code == 422
    assert api.patch(f"/custom-fields/{fid}", token=t, json={"entity": "deal"}).status_code == 422
    assert api.patch(f"/custom-fields/{fid}", token=t, json={"kind": "text", "entity": "company"}).status_code == 200
    assert api.patch(f"/custom-fields/{fid}", token=t, json={"name": "Umsatzklasse"}).status_code == 409
    assert api.patch(f"/custom-fields/{fid}", token=t, json={"shared_with": [999]}).status_code == 422
    assert api.patch("/custom-fields/999", token=t, json={"name": "X"}).status_code == 404
    assert api.delete("/custom-fields/999", token=t).status_code == 404


# -- settings ----------------------------------------------------------------------------------

def test_switch_the_group_system(api, world):
    t = world.tokens.admin
    assert api.get("/settings", token=t).get_json() == {"groups_enabled": True}
    since = last_audit_id()
    assert api.patch("/settings", token=t, json={"groups_enabled": False}).get_json() == {"groups_enabled": False}
    assert audit_log(since) == [("extension_switched", {"extension": "groups", "enabled": False})]
    assert api.get(f"/people/{world.p_sued.id}", token=world.tokens.normal).status_code == 200
    assert api.patch("/settings", token=t, json={}).get_json() == {"groups_enabled": False}
    # a null for a switch is "not sent" (docs/API.md): nothing changes
    assert api.patch("/settings", token=t, json={"groups_enabled": None}).get_json() == {"groups_enabled": False}
    for body in ({"groups_enabled": "yes"}, {"groups_enabled": 1}, {"theme": "dark"}):
        resp = api.patch("/settings", token=t, json=body)
        assert resp.status_code == 422, body
    assert api.patch("/settings", token=t, json={"groups_enabled": True}).get_json() == {"groups_enabled": True}
    assert api.get(f"/people/{world.p_sued.id}", token=world.tokens.normal).status_code == 404


def test_impact_preview_of_a_new_custom_field(api, make):
    """The API previews a field not created yet as the field page does: Lars (in Basis only)
    would see Nord's company restricted once a new company field is shared with Basis."""
    from crm.auth.services import issue_token
    from crm.groups.models import BASIS_ID

    make.enable_groups()
    nord = make.group("Nord")
    lars = make.user(name="Lars")
    boss = make.user(role="admin", name="Chefin", groups=[nord])
    make.company("Firma", group=nord)
    token = issue_token(boss)
    body = {"change": "new_field", "entity": "company", "shared_with": [BASIS_ID]}
    resp = api.post("/impact", token=token, json=body)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"users": [{"user_id": lars.id, "name": "Lars", "changes": {"company": {
        "before": {"full": 0, "restricted": 0, "hidden": 1}, "after": {"full": 0, "restricted": 1, "hidden": 0}}}}]}
    assert db.session.scalar(select(CustomField.id)) is None  # nothing was created
    resp = api.post("/impact", token=token, json={"change": "new_field", "shared_with": [BASIS_ID]})
    assert resp.status_code == 422 and list(resp.get_json()["error"]["fields"]) == ["entity"]
    assert api.post("/impact", token=issue_token(lars), json=body).status_code == 403
