"""Hand-over targets through the API (issue 18): admins allow, relabel and remove them, audited
like the group page; everyone else 403; a member of the source group then hands a record over."""
from __future__ import annotations

from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.models import Deal


def test_hand_overs_through_the_api(api, world):
    w = world
    admin, normal = api.as_(w.tokens.admin), api.as_(w.tokens.normal)
    url = f"/groups/{w.nord.id}/handovers"
    assert admin.get(url).get_json() == {"items": []}
    assert normal.get(url).status_code == 403
    assert normal.put(url, json={"target_id": w.sued.id}).status_code == 403
    assert admin.get("/groups/99999/handovers").status_code == 404
    assert admin.put(url, json={"target_id": 99999}).status_code == 422
    assert admin.put(url, json={"target_id": w.nord.id}).status_code == 422
    done = admin.put(url, json={"target_id": w.sued.id, "label": "  An   Süd übergeben "})
    assert done.status_code == 200
    assert done.get_json() == {"items": [{"target_id": w.sued.id, "target": "Süd", "label": "An Süd übergeben"}]}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "handover_set"))
    assert (entry.details["group"], entry.details["target"]) == ("Nord", "Süd")

    # Nora (Nord, not in Süd) hands a Nord company over; it leaves her full view
    company = w.c_nord
    moved = normal.post("/companies/assign-group", json={"ids": [company.id], "group_id": w.sued.id})
    assert moved.status_code == 200 and moved.get_json()["updated"]["companies"] == 1
    # (a field of Süd's companies is shared with Nord: she still sees its name, restricted)
    assert normal.get(f"/companies/{company.id}").get_json()["access"] == "restricted"

    assert normal.delete(f"{url}/{w.sued.id}").status_code == 403
    assert admin.delete(f"{url}/{w.sued.id}").status_code == 204
    assert admin.delete(f"{url}/{w.sued.id}").status_code == 404
    assert admin.get(url).get_json() == {"items": []}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "handover_removed")) is not None
    # removed: refused like any group she is not in
    refused = normal.post("/deals/assign-group", json={"ids": [w.d_nord.id], "group_id": w.sued.id})
    assert refused.status_code == 422
    assert db.session.get(Deal, w.d_nord.id).group_id == w.nord.id
