"""A deal's won/lost reason through the API (issue 15): ``reason_id``, ``reason`` (its name) and
``reason_note`` read and written, checked by the service the pages use; a restricted deal's JSON
carries none of them (the answers are checked against the OpenAPI document)."""
from __future__ import annotations

from crm.extensions import db
from crm.stages.models import DealReason


def add_reason(name: str, outcome: str) -> int:
    r = DealReason(name=name, outcome=outcome, position=1)
    db.session.add(r)
    db.session.commit()
    return r.id


def test_a_deal_carries_its_reason_and_patch_checks_it(api, world):
    price, product = add_reason("Preis zu hoch", "lost"), add_reason("Produkt", "won")
    token = world.tokens.normal
    path = f"/deals/{world.d_nord.id}"
    body = api.get(path, token=token).get_json()
    assert (body["reason_id"], body["reason"], body["reason_note"]) == (None, None, "")
    wrong = api.patch(path, token=token, json={"stage": "lost", "reason_id": product})
    assert wrong.status_code == 422 and list(wrong.get_json()["error"]["fields"]) == ["reason_id"]
    assert api.patch(path, token=token, json={"reason_id": 999}).status_code == 422
    lost = api.patch(path, token=token, json={"stage": "lost", "reason_id": price, "reason_note": "zu teuer"})
    assert lost.status_code == 200
    assert {k: lost.get_json()[k] for k in ("stage", "reason_id", "reason", "reason_note")} == {
        "stage": "lost", "reason_id": price, "reason": "Preis zu hoch", "reason_note": "zu teuer"}
    reopened = api.patch(path, token=token, json={"stage": "open"}).get_json()
    assert (reopened["reason_id"], reopened["reason"], reopened["reason_note"]) == (None, None, "")


def test_a_restricted_deal_shows_no_reason(api, world, make):
    make.field("deal", "Quelle", shared_with=[world.nord])  # Süd's deals: restricted for Nord
    price = add_reason("Preis zu hoch", "lost")
    deal = world.d_sued
    deal.stage, deal.stage_id, deal.reason_id, deal.reason_note = "lost", 3, price, "Geheimnis"
    db.session.commit()
    body = api.get(f"/deals/{deal.id}", token=world.tokens.normal).get_json()
    assert body["access"] == "restricted"
    assert not {"reason_id", "reason", "reason_note"} & set(body) and "Geheimnis" not in str(body)
    assert api.get(f"/deals/{deal.id}", token=world.tokens.sued).get_json()["reason_note"] == "Geheimnis"
