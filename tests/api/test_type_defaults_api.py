"""Default group per record type through the API: set by admins, applied to a create; a creator
outside the group gets 201 with only the id and the group, and the record is gone for them."""
from __future__ import annotations

from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.models import Deal


def test_type_defaults_through_the_api(api, world):
    w = world
    admin = api.as_(w.tokens.admin)
    items = {i["record_type"]: i for i in admin.get("/type-defaults").get_json()["items"]}
    assert items["deal"] == {"record_type": "deal", "group_id": None, "allow_own": False}
    assert api.as_(w.tokens.normal).get("/type-defaults").status_code == 403
    assert api.as_(w.tokens.normal).patch("/type-defaults", json={"record_type": "deal",
                                                                  "group_id": w.sued.id}).status_code == 403
    assert admin.patch("/type-defaults", json={"record_type": "deal", "group_id": 999}).status_code == 422
    resp = admin.patch("/type-defaults", json={"record_type": "deal", "group_id": w.sued.id})
    items = {i["record_type"]: i for i in resp.get_json()["items"]}
    assert items["deal"] == {"record_type": "deal", "group_id": w.sued.id, "allow_own": False}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "type_default_set"))
    assert entry.details["group"] == "Süd"

    # Nora (Nord) creates a deal: it goes to Süd, which she does not see
    normal = api.as_(w.tokens.normal)
    created = normal.post("/deals", json={"name": "Nach Süd"})
    assert created.status_code == 201
    body = created.get_json()
    assert body == {"id": body["id"], "type": "deal", "access": "hidden", "group": {"id": w.sued.id, "name": "Süd"}}
    assert normal.get(f"/deals/{body['id']}").status_code == 404
    assert db.session.get(Deal, body["id"]).group_id == w.sued.id
    # naming her own group is refused like any group she may not use
    own = normal.post("/deals", json={"name": "Eigen", "group_id": w.nord.id})
    foreign = normal.post("/deals", json={"name": "Eigen", "group_id": 999})
    assert own.status_code == foreign.status_code == 422
    assert own.get_json() == foreign.get_json()
    # allowed: her own group keeps it in view
    admin.patch("/type-defaults", json={"record_type": "deal", "group_id": w.sued.id, "allow_own": True})
    kept = normal.post("/deals", json={"name": "Eigen", "group_id": w.nord.id})
    assert kept.status_code == 201 and kept.get_json()["access"] == "full"
    # a member of Süd gets the full record
    assert api.as_(w.tokens.sued).post("/deals", json={"name": "Süd-intern"}).get_json()["access"] == "full"
    # removed again
    admin.patch("/type-defaults", json={"record_type": "deal", "group_id": None})
    assert normal.post("/deals", json={"name": "Basis"}).get_json()["group"]["id"] == w.nord.id  # her only group
