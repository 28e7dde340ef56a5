"""The pipeline board (issue 15): a column per admin-defined stage, a deal moved by drag and drop
(the board's script posts with ``HX-Target: pipeline-board``) or by the form on its card (the
keyboard's way). Only a fully visible deal moves; a hidden one answers like an unknown id, a
restricted one 403, a stale version 409 - and nothing changes."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.records.models import Deal
from crm.stages.models import DealStage
from crm.stages.schemas import StageCreate
from crm.stages.services import create_stage

BOARD = {"HX-Request": "true", "HX-Target": "pipeline-board"}


def stage(name: str) -> DealStage:
    return db.session.scalar(select(DealStage).where(DealStage.name == name))


@pytest.fixture
def world(app, make):
    make.enable_groups()
    admin = make.user("admin")
    u = make.user()
    nord = make.group("Nord", [u, admin])
    sued = make.group("Süd")
    make.field("deal", "Quelle", shared_with=[nord])  # Süd's deals are restricted for u
    with make.acting_as(app, admin) as viewer:
        create_stage(viewer, StageCreate.parse({"name": "Angebot", "probability": 50, "kind": "open"}))
        db.session.commit()
    return {
        "u": u, "admin": admin,
        "mine": make.deal("Mein Deal", group=nord, value=1000),
        "restricted": make.deal("Süd-Deal", group=sued, value=5),
        "hidden": make.deal("Geheim-Deal", group=make.group("Geheim"), value=7),
    }


def _column_of(html: str, name: str) -> str:
    """The part of the board from the column ``name`` to the next column."""
    return re.split(r'<article class="pipeline-column', html.split(f">{name}</span>", 1)[1])[0]


def test_the_board_has_a_column_per_stage_in_the_admins_order(client, make, world):
    make.login(client, world["u"])
    html = client.get("/deals/pipeline").get_data(as_text=True)
    names = re.findall(r'<h2 id="stage-\d+"><span class="badge stage-\w+">([^<]+)</span>', html)
    assert names == ["Offen", "Gewonnen", "Verloren", "Angebot"]
    assert "Mein Deal" in _column_of(html, "Offen")
    assert "Süd-Deal" not in html and "Geheim-Deal" not in html  # only deals seen in full
    assert 'src="/static/vendor/sortablejs-1.15.6/Sortable.min.js"' in html
    assert "<script>" not in html and not re.search(r"\son\w+=", html) and not re.search(r"\sstyle=", html)


def test_the_keyboard_form_moves_a_deal(client, make, world):
    make.login(client, world["u"])
    deal = world["mine"]
    resp = client.post(f"/deals/{deal.id}/stage", data={"stage_id": str(stage("Angebot").id),
                                                        "version": str(deal.version)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/deals/pipeline#deal-{deal.id}")
    db.session.refresh(deal)
    assert (deal.stage_id, deal.stage) == (stage("Angebot").id, "open")
    html = client.get("/deals/pipeline").get_data(as_text=True)
    assert "Mein Deal" in _column_of(html, "Angebot") and "Mein Deal" not in _column_of(html, "Offen")


def test_a_drop_answers_with_the_board_and_changes_the_kind(client, make, world):
    make.login(client, world["u"])
    deal = world["mine"]
    resp = client.post(f"/deals/{deal.id}/stage", headers=BOARD,
                       data={"stage_id": str(stage("Gewonnen").id), "version": str(deal.version)})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith("<section") and 'id="pipeline-board"' in html and "<html" not in html
    assert "Mein Deal" in _column_of(html, "Gewonnen")
    db.session.refresh(deal)
    assert deal.stage == "won"


def test_a_stale_card_is_refused_with_409_and_nothing_changes(client, make, world):
    make.login(client, world["u"])
    deal = world["mine"]
    stale = deal.version
    deal.name = "Von jemand anderem geändert"
    db.session.commit()
    resp = client.post(f"/deals/{deal.id}/stage", headers=BOARD,
                       data={"stage_id": str(stage("Gewonnen").id), "version": str(stale)})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    db.session.refresh(deal)
    assert deal.stage == "open"


def test_moving_a_deal_one_cannot_fully_see_is_refused_like_elsewhere(app, client, make, world):
    make.login(client, world["u"])
    outsider = app.test_client()  # in Basis only: no deal field is shared with them
    make.login(outsider, make.user())
    target = str(stage("Gewonnen").id)
    for headers in ({}, BOARD):
        hidden = outsider.post(f"/deals/{world['hidden'].id}/stage", headers=headers, data={"stage_id": target})
        unknown = outsider.post("/deals/999999/stage", headers=headers, data={"stage_id": target})
        assert hidden.status_code == unknown.status_code == 404
        assert make.without_csrf(hidden.get_data()) == make.without_csrf(unknown.get_data())
        restricted = client.post(f"/deals/{world['restricted'].id}/stage", headers=headers, data={"stage_id": target})
        assert restricted.status_code == 403
    for key in ("hidden", "restricted"):
        db.session.refresh(world[key])
        assert world[key].stage == "open" and world[key].version == 1


def test_an_unknown_stage_is_refused(client, make, world):
    make.login(client, world["u"])
    deal = world["mine"]
    for sent in ("999", "", "x"):
        resp = client.post(f"/deals/{deal.id}/stage", headers=BOARD, data={"stage_id": sent})
        assert resp.status_code == 422 and "stage_id" in resp.get_json()["error"]["fields"]
    db.session.refresh(deal)
    assert deal.version == 1
    assert db.session.scalar(select(Deal.stage).where(Deal.id == deal.id)) == "open"


def test_a_deal_dropped_on_lost_gets_its_reason_on_its_card(client, make, world):
    """The board's drop sends only the stage; the lost card then offers the lost reasons (not the
    won ones) in a form of its own, which saves the reason and leaves the stage alone."""
    from crm.stages.models import DealReason

    price = DealReason(name="Preis zu hoch", outcome="lost", position=1)
    won = DealReason(name="Beziehung", outcome="won", position=1)
    db.session.add_all([price, won])
    db.session.commit()
    make.login(client, world["u"])
    deal = world["mine"]
    board = client.post(f"/deals/{deal.id}/stage", headers=BOARD,
                        data={"stage_id": str(stage("Verloren").id), "version": str(deal.version)})
    card = _column_of(board.get_data(as_text=True), "Verloren")
    assert f'id="reason-{deal.id}"' in card and "Preis zu hoch" in card and "Beziehung" not in card
    db.session.refresh(deal)
    wrong = client.post(f"/deals/{deal.id}/stage", data={  # a won reason on a lost deal: refused
        "stage_id": str(deal.stage_id), "version": str(deal.version), "reason_id": str(won.id)})
    assert wrong.status_code == 302
    db.session.refresh(deal)
    assert deal.reason_id is None and "Beziehung" not in client.get("/deals/pipeline").get_data(as_text=True)
    resp = client.post(f"/deals/{deal.id}/stage", data={
        "stage_id": str(deal.stage_id), "version": str(deal.version), "reason_id": str(price.id)})
    assert resp.status_code == 302
    db.session.refresh(deal)
    assert (deal.stage, deal.reason_id) == ("lost", price.id)
    html = client.get("/deals/pipeline").get_data(as_text=True)
    card = _column_of(html, "Verloren")
    assert "Grund: Preis zu hoch" in card and f'id="reason-{deal.id}"' not in card
    assert "Der Grund von „Mein Deal“ wurde gespeichert." in html


def test_each_card_links_and_names_its_own_deal_escaped(app, client, make, world):
    """The cards' links and labels are made once per board and filled per card: each card has its
    own deal's link, move form and labels, with the name escaped, in German and in English."""
    from crm.stages.models import DealReason

    db.session.add(DealReason(name="Preis", outcome="lost", position=1))
    db.session.commit()
    odd = make.deal('<b>Tom & "Jerry"</b>', group=world["mine"].group, value=3)
    lost = make.deal("Verlust §name§", group=world["mine"].group, value=4)
    lost.stage_id, lost.stage = stage("Verloren").id, "lost"
    db.session.commit()
    make.login(client, world["u"])
    html = client.get("/deals/pipeline").get_data(as_text=True)
    assert "<b>Tom" not in html
    card = html.split(f'id="deal-{odd.id}"', 1)[1].split("</li>", 1)[0]
    name = "&lt;b&gt;Tom &amp; &#34;Jerry&#34;&lt;/b&gt;"
    assert f'href="/deals/{odd.id}"' in card and card.count(f'action="/deals/{odd.id}/stage"') == 1
    assert f'data-move="/deals/{odd.id}/stage"' in html
    assert f"Phase von „{name}“" in card and f'aria-label="„{name}“ verschieben"' in card
    lost_card = html.split(f'id="deal-{lost.id}"', 1)[1].split("</li>", 1)[0]
    assert "Grund von „Verlust §name§“" in lost_card and lost_card.count(f'action="/deals/{lost.id}/stage"') == 2
    world["u"].locale = "en"
    db.session.commit()
    html = client.get("/deals/pipeline").get_data(as_text=True)
    card = html.split(f'id="deal-{odd.id}"', 1)[1].split("</li>", 1)[0]
    assert f"Stage of “{name}”" in card and f'aria-label="Move “{name}”"' in card
    lost_card = html.split(f'id="deal-{lost.id}"', 1)[1].split("</li>", 1)[0]
    assert "Reason of “Verlust §name§”" in lost_card and "Save the reason of “Verlust §name§”" in lost_card
