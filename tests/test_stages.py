"""Deal stages an admin defines (issue 15, "a pipeline the team shapes"): the settings page and
its rules, and the deal form and service taking a stage. A stage's kind is fixed and a stage is
deleted only into another of its kind, so no deal changes kind behind anyone's back, and the
answer to a deletion never depends on deals the admin cannot see."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.errors import Conflict, Forbidden, Invalid
from crm.extensions import db
from crm.records.models import Deal
from crm.records.schemas import record_input
from crm.records.services import create_record, update_record
from crm.records.types import TYPES
from crm.stages import services
from crm.stages.models import DealStage
from crm.stages.queries import all_stages
from crm.stages.schemas import StageCreate, StageUpdate


def stage(name: str) -> DealStage:
    return db.session.scalar(select(DealStage).where(DealStage.name == name))


def test_the_migration_starts_with_one_stage_per_kind_and_puts_deals_in_them(make):
    assert [(s.name, s.kind, s.probability) for s in all_stages()] == [
        ("Offen", "open", 10), ("Gewonnen", "won", 100), ("Verloren", "lost", 0)]
    won = make.deal("Fixture", stage="won")  # a writer that sets only the kind
    assert won.stage_id == stage("Gewonnen").id


def test_admin_defines_renames_reorders_a_stage(app, make):
    admin = make.user("admin")
    with make.acting_as(app, admin) as viewer:
        s = services.create_stage(viewer, StageCreate.parse({"name": "Angebot", "probability": 40, "kind": "open"}))
        for _ in range(4):  # (the first place stops it)
            services.move_stage(viewer, s, -1)
        services.update_stage(viewer, s, StageUpdate.parse({"name": "Angebot versandt", "probability": 50}))
        db.session.commit()
        assert [x.name for x in all_stages()] == ["Angebot versandt", "Offen", "Gewonnen", "Verloren"]
        with pytest.raises(Invalid) as err:
            services.create_stage(viewer, StageCreate.parse({"name": "offen", "probability": 5, "kind": "open"}))
        assert "name" in err.value.fields
        services.create_stage(viewer, StageCreate.parse({"name": "Änderung", "probability": 5, "kind": "open"}))
        with pytest.raises(Invalid) as err:  # (a non-ASCII capital too: SQLite's lower() leaves it)
            services.create_stage(viewer, StageCreate.parse({"name": "änderung", "probability": 5, "kind": "open"}))
        assert "name" in err.value.fields
        with pytest.raises(Invalid) as err:
            StageCreate.parse({"name": "Zu viel", "probability": 101, "kind": "open"})
        assert "probability" in err.value.fields
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["stage_created", "stage_changed", "stage_created"]


def test_only_admins_define_stages(app, make):
    with make.acting_as(app, make.user("extended")) as viewer, pytest.raises(Forbidden):
        services.create_stage(viewer, StageCreate.parse({"name": "X", "probability": 1, "kind": "open"}))


def test_deleting_a_stage_moves_every_deal_even_hidden_ones_and_keeps_their_kind(app, make):
    make.enable_groups()
    admin = make.user("admin")
    secret = make.group("Geheim")  # the admin is no member: its deal is hidden from them
    with make.acting_as(app, admin) as viewer:
        angebot = services.create_stage(viewer, StageCreate.parse({"name": "Angebot", "probability": 40,
                                                                    "kind": "open"}))
        db.session.commit()
    hidden = make.deal("Geheim-Deal", group=secret, stage="open", stage_id=angebot.id)
    mine = make.deal("Mein Deal", stage="open", stage_id=angebot.id)
    with make.acting_as(app, admin) as viewer:
        with pytest.raises(Invalid) as err:  # always asked, whether or not it holds deals
            services.delete_stage(viewer, angebot, None)
        assert "move_to" in err.value.fields
        with pytest.raises(Invalid):  # a target of another kind would change the deals' kind
            services.delete_stage(viewer, angebot, stage("Gewonnen").id)
        with pytest.raises(Conflict):  # the last of its kind
            services.delete_stage(viewer, stage("Gewonnen"), stage("Offen").id)
        services.delete_stage(viewer, angebot, stage("Offen").id)
        db.session.commit()
    for deal in (hidden, mine):
        db.session.refresh(deal)
        assert (deal.stage_id, deal.stage) == (stage("Offen").id, "open")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "stage_deleted"))
    assert entry.details == {"stage": "Angebot", "stage_id": angebot.id, "moved_to": "Offen"}


def test_the_answer_to_deleting_a_stage_does_not_depend_on_hidden_deals(app, make, client):
    """Two worlds differing only in a deal the admin cannot see: the same pages and messages."""
    make.enable_groups()
    admin = make.user("admin")
    secret = make.group("Geheim")
    make.login(client, admin)
    pages = []
    for world in ("empty", "with hidden deal"):
        client.post("/settings/stages/new", data={"name": "Angebot", "probability": "40", "kind": "open"})
        angebot = stage("Angebot")
        if world != "empty":
            make.deal("Geheim-Deal", group=secret, stage_id=angebot.id)
        refused = client.post(f"/settings/stages/{angebot.id}/delete", data={}, follow_redirects=True)
        done = client.post(f"/settings/stages/{angebot.id}/delete", data={"move_to": str(stage("Offen").id)},
                           follow_redirects=True)
        # (the new stage's id: PostgreSQL does not hand out the same one twice)
        own_id = re.compile(rf'(/stages/|stage-|move-to-|value="){angebot.id}\b')
        pages.append([own_id.sub(r"\1N", make.without_csrf(r.get_data())) for r in (refused, done)])
        assert "Wählen Sie die Phase, in die ihre Angebote wechseln." in pages[-1][0]
        assert stage("Angebot") is None
    assert pages[0] == pages[1]


def test_settings_pages_list_and_edit_stages(app, make, client):
    make.login(client, make.user("admin"))
    html = client.get("/settings/stages").get_data(as_text=True)
    assert "Offen" in html and "10 %" in html and 'name="move_to"' not in html.split("Gewonnen")[1].split("</tr>")[0]
    resp = client.post("/settings/stages/new", data={"name": "", "probability": "", "kind": "open"})
    assert resp.status_code == 400
    offen = stage("Offen")
    resp = client.post(f"/settings/stages/{offen.id}", data={"name": "Neu", "probability": "20", "kind": "won"})
    assert resp.status_code == 302
    db.session.refresh(offen)
    assert (offen.name, offen.probability, offen.kind) == ("Neu", 20, "open")  # the kind stays
    other = app.test_client()
    make.login(other, make.user("normal"))
    assert other.get("/settings/stages").status_code == 403


def test_a_deal_takes_its_stage_by_id_or_by_kind(app, make):
    user = make.user("normal")
    deals = TYPES["deal"]
    with make.acting_as(app, user) as viewer:
        deal = create_record(deals, record_input("deal", {"name": "A"}), viewer, user)
        assert (deal.stage_id, deal.stage) == (stage("Offen").id, "open")
        update_record(deals, deal, record_input("deal", {"stage": "won"}, patch=True), viewer)
        assert (deal.stage_id, deal.stage) == (stage("Gewonnen").id, "won")
        update_record(deals, deal, record_input("deal", {"stage_id": stage("Verloren").id}, patch=True), viewer)
        assert deal.stage == "lost"
        with pytest.raises(Invalid) as err:
            update_record(deals, deal, record_input("deal", {"stage_id": 999}, patch=True), viewer)
        assert "stage_id" in err.value.fields
        with pytest.raises(Invalid) as err:
            update_record(deals, deal, record_input(
                "deal", {"stage_id": stage("Offen").id, "stage": "won"}, patch=True), viewer)
        assert "stage" in err.value.fields
        db.session.rollback()


def test_the_deal_form_offers_the_stages_by_name(make, client):
    user = make.user("normal")
    make.login(client, user)
    html = client.get("/deals/new").get_data(as_text=True)
    assert ">Gewonnen</option>" in html and 'name="stage_id"' in html
    resp = client.post("/deals/new", data={"name": "Formular-Deal", "currency": "EUR",
                                          "stage_id": str(stage("Gewonnen").id)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    deal = db.session.scalar(select(Deal).where(Deal.name == "Formular-Deal"))
    assert deal.stage == "won"
    assert "Gewonnen" in client.get(f"/deals/{deal.id}").get_data(as_text=True)
