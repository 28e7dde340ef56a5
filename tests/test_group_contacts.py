"""Whom to ask (issue 18): an admin names contact persons per group among its members; a user who
sees one of the group's records restricted, or moves records into it without being a member, is
told their names."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.groups.queries import contact_ids

HX = {"HX-Request": "true", "HX-Target": "dialog"}


@pytest.fixture
def world(make):
    """Nord: Nora (normal). Süd: Sven and Sabine; a company field is shared with Nord, so Süd's
    companies are restricted for Nora."""
    make.enable_groups()
    admin = make.user("admin", name="Ada Admin")
    nora = make.user("normal", name="Nora Nord")
    sven = make.user("normal", name="Sven Süd")
    sabine = make.user("normal", name="Sabine Süd")
    nord = make.group("Nord", [admin, nora])
    sued = make.group("Süd", [sven, sabine])
    make.field("company", "Kundenstatus", shared_with=[nord])
    secret = make.company("Südwind KG", group=sued)
    mine = make.company("Nordlicht GmbH", group=nord)
    return locals()


def test_admin_names_contacts_among_members_and_the_restricted_view_names_them(client, make, world):
    w = world
    make.login(client, w["admin"])
    page = client.get(f"/settings/groups/{w['sued'].id}").text
    assert "Sven Süd" in page and 'name="user_ids"' in page
    resp = client.post(f"/settings/groups/{w['sued'].id}/contacts", data={"user_ids": [str(w["sven"].id)]})
    assert resp.status_code == 302
    assert contact_ids(w["sued"].id) == [w["sven"].id]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contacts_set"))
    assert entry.details["users"] == ["Sven Süd"] and entry.details["group"] == "Süd"
    assert "Sven Süd" in client.get("/settings/audit").text

    client.post("/logout")
    make.login(client, w["nora"])
    body = client.get(f"/companies/{w['secret'].id}").text
    assert "Südwind KG" in body and "Mehr erfahren Sie bei: Sven Süd." in body and "Sabine Süd" not in body


def test_restricted_view_without_contacts_names_nobody(client, make, world):
    w = world
    make.login(client, w["nora"])
    body = client.get(f"/companies/{w['secret'].id}").text
    assert "Südwind KG" in body and "Sven Süd" not in body


def test_inactive_contacts_are_not_named(client, make, world):
    w = world
    make.login(client, w["admin"])
    client.post(f"/settings/groups/{w['sued'].id}/contacts",
                data={"user_ids": [str(w["sven"].id), str(w["sabine"].id)]})
    w["sven"].active = False
    db.session.commit()
    client.post("/logout")
    make.login(client, w["nora"])
    body = client.get(f"/companies/{w['secret'].id}").text
    assert "Sabine Süd" in body and "Sven Süd" not in body


def test_a_contact_must_be_a_member_and_leaving_the_group_ends_it(client, make, world):
    w = world
    make.login(client, w["admin"])
    resp = client.post(f"/settings/groups/{w['sued'].id}/contacts", data={"user_ids": [str(w["nora"].id)]})
    assert resp.status_code == 302
    assert contact_ids(w["sued"].id) == []  # refused: Nora is not in Süd
    assert "Nora Nord ist kein Mitglied der Gruppe." in client.get(resp.location).text
    client.post(f"/settings/groups/{w['sued'].id}/contacts", data={"user_ids": [str(w["sven"].id)]})
    assert contact_ids(w["sued"].id) == [w["sven"].id]
    client.post(f"/settings/groups/{w['sued'].id}/members/remove", data={"user_ids": [str(w["sven"].id)]})
    assert contact_ids(w["sued"].id) == []


def test_contacts_are_for_admins_only(client, make, world):
    w = world
    make.login(client, w["nora"])
    resp = client.post(f"/settings/groups/{w['sued'].id}/contacts", data={"user_ids": [str(w["sven"].id)]})
    assert resp.status_code == 403
    assert contact_ids(w["sued"].id) == []


def test_leaving_warning_names_the_target_groups_contacts(client, make, world):
    w = world
    make.login(client, w["admin"])
    client.post(f"/settings/groups/{w['sued'].id}/contacts", data={"user_ids": [str(w["sabine"].id)]})
    data = {"scope": "ids", "ids": [w["mine"].id], "target_id": w["sued"].id}
    confirm = client.post("/companies/bulk/assign?step=confirm", data=data, headers=HX)
    preview = client.post("/companies/bulk/assign?step=preview", data=data,
                          headers={**HX, "HX-Target": "assign-preview"})
    for resp in (confirm, preview):
        assert 'role="alert"' in resp.text and "Zurückholen können sie: Sabine Süd." in resp.text
    staying = client.post("/companies/bulk/assign?step=confirm",
                          data={**data, "target_id": w["nord"].id}, headers=HX)
    assert "Sabine Süd" not in staying.text
