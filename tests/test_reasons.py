"""Won/lost reasons (issue 15, "a pipeline the team shapes"): admins keep a list per outcome under
Settings -> Deal stages; a won or lost deal may carry one of its outcome plus a note, and loses
both when it leaves the outcome. The reason is deal content: restricted viewers see none of it,
and the pipeline's "lost by reason" counts only deals the user fully sees. A deleted reason is
retired, so deleting never depends on deals the admin cannot see."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.errors import Forbidden, Invalid
from crm.extensions import db
from crm.pipeline.queries import lost_by_reason, stage_sums
from crm.records.models import Deal
from crm.records.schemas import record_input
from crm.records.services import create_record, update_record
from crm.records.types import TYPES
from crm.stages import services
from crm.stages.models import DealReason, DealStage
from crm.stages.queries import reasons
from crm.stages.schemas import ReasonCreate, ReasonUpdate

DEALS = TYPES["deal"]


def stage(name: str) -> DealStage:
    return db.session.scalar(select(DealStage).where(DealStage.name == name))


def reason(name: str, outcome: str = "lost") -> DealReason:
    r = DealReason(name=name, outcome=outcome, position=len(reasons(outcome)) + 1)
    db.session.add(r)
    db.session.commit()
    return r


def test_admin_keeps_reasons_per_outcome(app, make):
    admin = make.user("admin")
    with make.acting_as(app, admin) as viewer:
        price = services.create_reason(viewer, ReasonCreate.parse({"name": "Preis zu hoch", "outcome": "lost"}))
        rival = services.create_reason(viewer, ReasonCreate.parse({"name": "Mitbewerber", "outcome": "lost"}))
        services.create_reason(viewer, ReasonCreate.parse({"name": "Preis", "outcome": "won"}))
        services.move_reason(viewer, rival, -1)
        services.rename_reason(viewer, price, ReasonUpdate.parse({"name": "Zu teuer"}))
        with pytest.raises(Invalid) as err:  # a name once per outcome, case-insensitively
            services.create_reason(viewer, ReasonCreate.parse({"name": "zu teuer", "outcome": "lost"}))
        assert err.value.fields == {"name": "Einen Grund dieses Namens gibt es schon."}
        services.create_reason(viewer, ReasonCreate.parse({"name": "Übermacht", "outcome": "won"}))
        with pytest.raises(Invalid) as err:  # (a non-ASCII capital too: SQLite's lower() leaves it)
            services.create_reason(viewer, ReasonCreate.parse({"name": "übermacht", "outcome": "won"}))
        assert err.value.fields == {"name": "Einen Grund dieses Namens gibt es schon."}
        services.create_reason(viewer, ReasonCreate.parse({"name": "Zu teuer", "outcome": "won"}))  # other outcome
        services.delete_reason(viewer, rival)
        services.create_reason(viewer, ReasonCreate.parse({"name": "Mitbewerber", "outcome": "lost"}))  # freed
        db.session.commit()
    assert [r.name for r in reasons("lost")] == ["Zu teuer", "Mitbewerber"]
    assert [r.name for r in reasons("lost", retired=True)] == ["Mitbewerber", "Zu teuer", "Mitbewerber"]
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["reason_created"] * 3 + ["reason_changed", "reason_created", "reason_created",
                                                "reason_deleted", "reason_created"]
    with make.acting_as(app, make.user("extended")) as viewer, pytest.raises(Forbidden):
        services.create_reason(viewer, ReasonCreate.parse({"name": "X", "outcome": "lost"}))


def test_a_deal_takes_a_reason_of_its_outcome_and_loses_it_leaving(app, make):
    user = make.user("normal")
    price, rival, product = reason("Preis zu hoch"), reason("Mitbewerber"), reason("Produkt", "won")
    other_lost = DealStage(name="Abgesagt", kind="lost", probability=0, position=9)
    db.session.add(other_lost)
    db.session.commit()
    with make.acting_as(app, user) as viewer:
        deal = create_record(DEALS, record_input("deal", {
            "name": "A", "stage": "lost", "reason_id": price.id, "reason_note": "20 % über Budget"}), viewer, user)
        db.session.commit()
        assert (deal.reason_id, deal.reason_note) == (price.id, "20 % über Budget")

        def refused(data: dict) -> dict:
            with pytest.raises(Invalid) as err:
                update_record(DEALS, deal, record_input("deal", data, patch=True), viewer)
            db.session.rollback()
            return err.value.fields

        assert refused({"reason_id": product.id}) == {"reason_id": "Dieser Grund ist für gewonnene Angebote."}
        assert refused({"reason_id": 999}) == {"reason_id": "Diesen Grund gibt es nicht."}
        assert refused({"stage": "open", "reason_id": price.id}) == {
            "reason_id": "Nur ein gewonnenes oder verlorenes Angebot hat einen Grund."}
        # another lost stage keeps reason and note; a won stage drops both
        update_record(DEALS, deal, record_input("deal", {"stage_id": other_lost.id}, patch=True), viewer)
        assert (deal.reason_id, deal.reason_note) == (price.id, "20 % über Budget")
        update_record(DEALS, deal, record_input("deal", {"stage": "won", "reason_id": product.id}, patch=True), viewer)
        assert (deal.stage, deal.reason_id, deal.reason_note) == ("won", product.id, "")
        update_record(DEALS, deal, record_input("deal", {"stage": "open"}, patch=True), viewer)
        assert (deal.stage, deal.reason_id, deal.reason_note) == ("open", None, "")
        update_record(DEALS, deal, record_input("deal", {"stage": "lost", "reason_id": rival.id}, patch=True), viewer)
        db.session.commit()
    # a deleted reason stays on its deal (and may be sent back unchanged), but is given to no other
    with make.acting_as(app, make.user("admin")) as viewer:
        services.delete_reason(viewer, rival)
        db.session.commit()
    with make.acting_as(app, user) as viewer:
        deal = db.session.get(Deal, deal.id)
        update_record(DEALS, deal, record_input("deal", {"name": "A2", "reason_id": rival.id}, patch=True), viewer)
        assert deal.reason_id == rival.id
        other = create_record(DEALS, record_input("deal", {"name": "B", "stage": "lost"}), viewer, user)
        db.session.commit()
        with pytest.raises(Invalid) as err:
            update_record(DEALS, other, record_input("deal", {"reason_id": rival.id}, patch=True), viewer)
        assert err.value.fields == {"reason_id": "Diesen Grund gibt es nicht."}
        db.session.rollback()


def test_the_deal_form_shows_and_keeps_the_reason(make, client):
    user = make.user("normal")
    price, product = reason("Preis zu hoch"), reason("Produkt", "won")
    gone = reason("Alt")
    deal = make.deal("Formular-Deal", stage="lost", stage_id=stage("Verloren").id, reason_id=gone.id)
    gone.retired_at = gone.created_at
    db.session.commit()
    make.login(client, user)
    html = client.get(f"/deals/{deal.id}/edit").get_data(as_text=True)
    assert 'data-kind="lost"' in html and ">Preis zu hoch</option>" in html
    assert ">Alt</option>" in html  # the deal's own reason, deleted since, is still offered to it
    assert ">Alt</option>" not in client.get("/deals/new").get_data(as_text=True)
    form = {"name": "Formular-Deal", "currency": "EUR", "stage_id": str(stage("Verloren").id),
            "reason_id": str(product.id), "reason_note": "Mein Text"}
    resp = client.post(f"/deals/{deal.id}/edit", data=form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Dieser Grund ist für gewonnene Angebote." in html and "Mein Text" in html  # nothing typed is lost
    resp = client.post(f"/deals/{deal.id}/edit", data={**form, "reason_id": str(price.id)})
    assert resp.status_code == 302
    page = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Preis zu hoch" in page and "Mein Text" in page
    history = client.get(f"/deals/{deal.id}/history").get_data(as_text=True)
    assert "Grund" in history and "Alt" in history and "Preis zu hoch" in history  # by name, not id
    # an open stage: the (hidden) reason fields are not sent, and the reason goes
    resp = client.post(f"/deals/{deal.id}/edit", data={**form, "stage_id": str(stage("Offen").id)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert (db.session.get(Deal, deal.id).reason_id, db.session.get(Deal, deal.id).reason_note) == (None, "")


def test_the_board_moves_a_deal_with_its_reason(make, client):
    user = make.user("normal")
    price = reason("Preis zu hoch")
    deal = make.deal("Board-Deal")
    make.login(client, user)
    resp = client.post(f"/deals/{deal.id}/stage", data={"stage_id": str(stage("Verloren").id),
                                                         "reason_id": str(price.id), "reason_note": "zu spät"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert (db.session.get(Deal, deal.id).reason_id, db.session.get(Deal, deal.id).reason_note) == (price.id, "zu spät")
    client.post(f"/deals/{deal.id}/stage", data={"stage_id": str(stage("Offen").id)})
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).reason_id is None


@pytest.fixture
def split(make):
    """Nord's user sees Nord's deals in full, Süd's and Geheim's restricted (a deal field is shared with Nord)."""
    make.enable_groups()
    u = make.user("extended")
    nord = make.group("Nord", [u])
    sued, secret = make.group("Süd"), make.group("Geheim")
    make.field("deal", "Quelle", shared_with=[nord])
    price, rival = reason("Preis zu hoch"), reason("Mitbewerber")
    lost = {"stage": "lost", "stage_id": stage("Verloren").id}
    make.deal("Nord 1", group=nord, reason_id=price.id, **lost)
    make.deal("Nord 2", group=nord, **lost)
    make.deal("Süd", group=sued, reason_id=rival.id, reason_note="Süd-Notiz", **lost)
    make.deal("Geheim", group=secret, reason_id=rival.id, reason_note="Geheim-Notiz", **lost)
    return u


def test_restricted_viewers_see_no_reason(app, make, client, split):
    make.login(client, split)
    text = client.get("/deals/export.csv").get_data(as_text=True)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(text[1:]))}
    assert (rows["Nord 1"]["reason"], rows["Nord 2"]["reason"]) == ("Preis zu hoch", "")
    for name in ("Süd", "Geheim"):
        assert rows[name]["access"] == "restricted" and (rows[name]["reason"], rows[name]["reason_note"]) == ("", "")
    sued = db.session.scalar(select(Deal.id).where(Deal.name == "Süd"))
    page = client.get(f"/deals/{sued}").get_data(as_text=True)
    assert "Süd" in page and "Mitbewerber" not in page and "Süd-Notiz" not in page


def test_lost_by_reason_counts_only_fully_visible_deals(app, make, client, split):
    with make.acting_as(app, split) as viewer:
        assert lost_by_reason(stage_sums(viewer)) == [("Preis zu hoch", 1), (None, 1)]
    make.login(client, split)
    html = client.get("/deals/pipeline").get_data(as_text=True)
    section = html.split('id="reasons-title"')[1].split("</section>")[0]
    assert "Preis zu hoch" in section and "ohne Grund" in section and "Mitbewerber" not in section


def test_settings_page_keeps_reasons_and_deleting_never_depends_on_hidden_deals(app, make, client):
    make.enable_groups()
    admin = make.user("admin")
    secret = make.group("Geheim")  # the admin is no member
    make.login(client, admin)
    pages = []
    for world in ("empty", "with hidden deal"):
        client.post("/settings/stages/reasons/new", data={"name": "Kein Budget", "outcome": "lost"})
        r = db.session.scalar(select(DealReason).where(DealReason.retired_at.is_(None)))
        if world != "empty":
            make.deal("Geheim-Deal", group=secret, stage="lost", stage_id=stage("Verloren").id, reason_id=r.id)
        client.post(f"/settings/stages/reasons/{r.id}", data={"name": "Budget fehlt"})
        html = client.get("/settings/stages").get_data(as_text=True)
        assert 'value="Budget fehlt"' in html
        done = client.post(f"/settings/stages/reasons/{r.id}/delete", follow_redirects=True)
        pages.append(make.without_csrf(done.get_data()))  # (no reason is listed: no id in it)
        assert "Der Grund Budget fehlt wurde gelöscht" in pages[-1]
        assert client.post(f"/settings/stages/reasons/{r.id}/delete").status_code == 404  # once only
    assert pages[0] == pages[1]
    other = app.test_client()
    make.login(other, make.user("normal"))
    assert other.post("/settings/stages/reasons/new", data={"name": "X", "outcome": "lost"}).status_code == 403
