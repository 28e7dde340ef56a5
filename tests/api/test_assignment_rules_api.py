"""Assignment rules through the API (admins only): listed, added, changed, moved and deleted through
the same service as the settings page, audited; a rule then decides where an API create goes."""
from __future__ import annotations

from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db


def test_assignment_rules_through_the_api(api, world):
    w = world
    admin = api.as_(w.tokens.admin)
    assert admin.get("/assignment-rules").get_json() == {"items": []}
    for token in (w.tokens.normal, w.tokens.extended):
        assert api.as_(token).get("/assignment-rules").status_code == 403
        assert api.as_(token).post("/assignment-rules", json={}).status_code == 403
    body = {"record_type": "company", "name": "Süden", "group_id": w.sued.id, "follow": True,
            "conditions": [{"kind": "postcode", "value": "7,8,9"}]}
    bad = admin.post("/assignment-rules", json={**body, "conditions": [{"kind": "postcode", "value": "x"}]})
    assert bad.status_code == 422 and "conditions.0" in bad.get_json()["error"]["fields"]
    assert admin.post("/assignment-rules", json={**body, "group_id": 999}).status_code == 422
    created = admin.post("/assignment-rules", json=body)
    assert created.status_code == 201
    rule = created.get_json()
    assert rule == {"id": rule["id"], "record_type": "company", "position": 1, "name": "Süden",
                    "conditions": [{"kind": "postcode", "value": "7,8,9"}], "group_id": w.sued.id,
                    "group": "Süd", "follow": True}
    other = admin.post("/assignment-rules", json={**body, "name": "Hamburg",
                                                  "conditions": [{"kind": "city", "value": "Hamburg"}]}).get_json()
    assert admin.patch(f"/assignment-rules/{other['id']}", json={"move": "up"}).get_json()["position"] == 1
    assert [r["name"] for r in admin.get("/assignment-rules").get_json()["items"]] == ["Hamburg", "Süden"]
    assert admin.patch(f"/assignment-rules/{other['id']}", json={"name": "HH"}).get_json()["name"] == "HH"
    assert admin.patch("/assignment-rules/999999", json={"name": "x"}).status_code == 404

    # Nora (Nord) creates a company in München: the rule puts it into Süd, which she does not see
    normal = api.as_(w.tokens.normal)
    made = normal.post("/companies", json={"name": "Isar GmbH", "addresses": ["Marienplatz 1\n80331 München"]})
    assert made.status_code == 201 and made.get_json()["access"] == "restricted"  # a field is shared with Nord
    assert made.get_json()["group"]["id"] == w.sued.id

    assert admin.delete(f"/assignment-rules/{other['id']}").status_code == 204
    assert admin.delete(f"/assignment-rules/{other['id']}").status_code == 404
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("rule_%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["rule_created", "rule_created", "rule_changed", "rule_changed", "rule_deleted"]
