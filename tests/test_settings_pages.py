"""The settings pages still do what they did after their rules moved into services the API shares
(crm/users, crm/groups and crm/customfields services, on their input models)."""
from __future__ import annotations

from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.customfields.models import CustomField
from crm.extensions import db
from crm.groups.models import Group


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_new_user_page(client, make):
    admin = make.user("admin")
    make.login(client, admin)
    nord = make.group("Nord")
    data = {"name": "Neu", "email": "neu@example.com", "role": "normal", "locale": "",
            "default_group_id": str(nord.id), "groups": [str(nord.id)], "active": "y"}
    resp = client.post("/settings/users/new", data=data)
    assert resp.status_code == 400 and "password" in resp.get_data(as_text=True).lower()
    assert client.post("/settings/users/new", data={**data, "password": "lang-genug"}).status_code == 302
    user = db.session.scalar(select(User).where(User.email == "neu@example.com"))
    assert user.default_group_id == nord.id and [g.id for g in db.session.scalars(
        select(Group).where(Group.members.contains(user)))] == [nord.id]
    assert _actions() == ["user_created", "member_added", "default_group_set"]
    assert client.post("/settings/users/new", data={**data, "password": "lang-genug"}).status_code == 400
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 2


def test_group_edit_page(client, make):
    admin = make.user("admin")
    other = make.user()
    make.login(client, admin)
    nord = make.group("Nord", [admin])
    resp = client.post(f"/settings/groups/{nord.id}", data={"name": "Norden", "members": [str(other.id)]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Group, nord.id).name == "Norden"
    assert [u.id for u in db.session.get(Group, nord.id).members] == [other.id]
    # joining without a default group makes this one theirs
    assert _actions() == ["group_renamed", "member_added", "default_group_set", "member_removed"]
    assert client.post("/settings/groups/1", data={"name": "Alle"}).status_code == 400
    assert db.session.get(Group, 1).name == "Basis"


def test_field_pages(client, make):
    admin = make.user("admin")
    make.login(client, admin)
    make.field("company", "Kundenstatus")
    base = {"entity": "company", "kind": "text", "options": ""}
    assert client.post("/settings/fields/new", data={**base, "name": "kundenstatus"}).status_code == 400
    assert client.post("/settings/fields/new", data={**base, "name": "Ampel", "kind": "select"}).status_code == 400
    resp = client.post("/settings/fields/new", data={**base, "name": "Ampel", "kind": "select", "options": "rot\ngrün"})
    assert resp.status_code == 302
    field = db.session.scalar(select(CustomField).where(CustomField.name == "Ampel"))
    assert field.options == ["rot", "grün"]
    assert client.post(f"/settings/fields/{field.id}", data={**base, "name": "Kundenstatus"}).status_code == 400
    assert client.post(f"/settings/fields/{field.id}", data={**base, "name": "Ampel", "options": ""}).status_code == 400
    resp = client.post(f"/settings/fields/{field.id}", data={**base, "name": "Signal", "options": "rot"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert (field.name, field.options) == ("Signal", ["rot"])


def test_field_edit_refused_with_a_message_when_its_hidden_inputs_are_bad(client, make):
    """With the group system off, a field's shares travel in hidden inputs; a bad value there is
    refused like any other and the page says why (the fuzzer found a silent 400)."""
    admin = make.user("admin")
    make.login(client, admin)
    f = make.field("company", "Kundenstatus")
    resp = client.post(f"/settings/fields/{f.id}", data={"name": "Status", "shared_with": "keine-gruppe"},
                       headers={"Accept-Language": "en"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'class="error"' in body and "Shared with" in body
    # and the fields without an error are not marked invalid (aria-invalid="None" counts as true)
    assert 'aria-invalid="None"' not in body and 'aria-describedby="None"' not in body
    db.session.expire_all()
    assert f.name == "Kundenstatus"
