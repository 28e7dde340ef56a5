"""A deal's stage through the API (issue 15): ``stage_id`` read and written, the first release's
``stage`` (the kind) still accepted, both checked by the service the pages use."""
from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.stages.models import DealStage


def stage_id(name: str) -> int:
    return db.session.scalar(select(DealStage.id).where(DealStage.name == name))


def test_a_deal_carries_its_stage_and_moves_by_id_or_by_kind(api, world):
    token = world.tokens.normal
    path = f"/deals/{world.d_nord.id}"
    body = api.get(path, token=token).get_json()
    assert (body["stage"], body["stage_id"]) == ("open", stage_id("Offen"))
    moved = api.patch(path, token=token, json={"stage_id": stage_id("Gewonnen")})
    assert moved.status_code == 200 and (moved.get_json()["stage"], moved.get_json()["stage_id"]) == (
        "won", stage_id("Gewonnen"))
    by_kind = api.patch(path, token=token, json={"stage": "lost"}).get_json()
    assert (by_kind["stage"], by_kind["stage_id"]) == ("lost", stage_id("Verloren"))
    created = api.post("/deals", token=token, json={"name": "Neu", "stage": "won"})
    assert created.status_code == 201 and created.get_json()["stage_id"] == stage_id("Gewonnen")


def test_a_wrong_stage_is_refused_by_field(api, world):
    token = world.tokens.normal
    path = f"/deals/{world.d_nord.id}"
    unknown = api.patch(path, token=token, json={"stage_id": 999})
    assert unknown.status_code == 422 and "stage_id" in unknown.get_json()["error"]["fields"]
    disagree = api.patch(path, token=token, json={"stage_id": stage_id("Offen"), "stage": "won"})
    assert disagree.status_code == 422 and "stage" in disagree.get_json()["error"]["fields"]
    hidden = api.patch(f"/deals/{world.d_sued.id}", token=token, json={"stage_id": stage_id("Gewonnen")})
    assert hidden.status_code == 404
    assert api.get(path, token=token).get_json()["stage"] == "open"
