"""Whom to ask, through the API: ``contact_ids`` of a group (PATCH sets the complete list)."""
from __future__ import annotations

from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db


def test_contacts_through_the_api(api, world):
    w = world
    admin = api.as_(w.tokens.admin)
    resp = admin.patch(f"/groups/{w.sued.id}", json={"contact_ids": [w.sued_user.id]})
    assert resp.status_code == 200 and resp.get_json()["contact_ids"] == [w.sued_user.id]
    items = {g["id"]: g for g in admin.get("/groups").get_json()["items"]}
    assert items[w.sued.id]["contact_ids"] == [w.sued_user.id] and items[w.nord.id]["contact_ids"] == []
    refused = admin.patch(f"/groups/{w.sued.id}", json={"contact_ids": [w.normal.id]})
    assert refused.status_code == 422 and "contact_ids" in refused.get_json()["error"]["fields"]
    # members and contacts in one call: the new member can be a contact at once
    both = admin.patch(f"/groups/{w.sued.id}", json={"member_ids": [w.normal.id], "contact_ids": [w.normal.id]})
    assert both.status_code == 200 and both.get_json()["contact_ids"] == [w.normal.id]
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contacts_set")
                             .order_by(AuditEntry.id.desc())).details["users"] == ["Nora Normal"]
    assert api.as_(w.tokens.normal).patch(f"/groups/{w.sued.id}", json={"contact_ids": []}).status_code == 403
