"""A record's change history (issue 15, "A dashboard and history"): who changed which field when,
old -> new, written with the change itself by the records' services and shown - on the record
page ("Verlauf") and at ``GET /api/v1/<type>/<id>/history`` - to those who see the record in full.
A restricted viewer gets 403 like for the notes (not even a shared field's old values), a hidden
record 404 like a missing one.
"""
from __future__ import annotations

from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.auth.services import issue_token
from crm.extensions import db
from crm.history.models import RecordEvent


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {issue_token(user)}"}


def history(client, headers, plural: str, rid: int):
    resp = client.get(f"/api/v1/{plural}/{rid}/history", headers=headers)
    return resp.status_code, resp.get_json()


def changes(entry) -> dict:
    return {c["field"]: (c["old"], c["new"]) for c in entry["changes"]}


def test_create_and_edit_record_who_changed_which_field_old_to_new(app, client, make):
    alice = make.user("normal", name="Alice Adler")
    status_field = make.field("company", "Kundenstatus")
    h = bearer(alice)
    resp = client.post("/api/v1/companies", headers=h, json={
        "name": "Müller GmbH", "website": "https://mueller.example", "emails": ["info@mueller.example"],
        "custom_fields": {"Kundenstatus": "Lead"}, "tags": ["Messe"]})
    assert resp.status_code == 201
    cid = resp.get_json()["id"]
    resp = client.patch(f"/api/v1/companies/{cid}", headers=h, json={
        "name": "Müller AG", "custom_fields": {"Kundenstatus": "Top-Kunde"}, "emails": []})
    assert resp.status_code == 200

    status, body = history(client, h, "companies", cid)
    assert status == 200
    changed, created = body["items"]
    assert changed["kind"] == "changed" and changed["who"] == "Alice Adler"
    assert changes(changed) == {
        "name": ("Müller GmbH", "Müller AG"),
        "emails": ("info@mueller.example", None),
        f"custom:{status_field.id}": ("Lead", "Top-Kunde"),
    }
    labels = {c["field"]: c["label"] for c in changed["changes"]}
    assert labels["name"] == "Name" and labels[f"custom:{status_field.id}"] == "Kundenstatus"
    assert created["kind"] == "created"
    assert changes(created)["name"] == (None, "Müller GmbH")
    assert changes(created)["group"] == (None, "Basis")
    assert changes(created)["tags"] == (None, "Messe")

    # a save that changes nothing adds no entry
    client.patch(f"/api/v1/companies/{cid}", headers=h, json={"name": "Müller AG"})
    assert len(history(client, h, "companies", cid)[1]["items"]) == 2

    # the record page: the "Verlauf" section loads the same entries
    make.login(client, alice)
    page = client.get(f"/companies/{cid}")
    assert f'/companies/{cid}/history' in page.get_data(as_text=True)
    part = client.get(f"/companies/{cid}/history", headers={"HX-Request": "true", "HX-Target": "history-body"})
    text = part.get_data(as_text=True)
    assert part.status_code == 200 and "<html" not in text
    assert "Müller GmbH" in text and "Top-Kunde" in text and "Alice Adler" in text


def test_group_change_trash_restore_and_bulk_assignment_are_in_the_history(app, client, make):
    make.enable_groups()
    boss = make.user("admin", name="Boss")
    nord = make.group("Nord", [boss])
    sued = make.group("Süd", [boss])
    company = make.company("Schmidt KG")
    deal = make.deal("Messestand", group=nord)
    h = bearer(boss)
    assert client.patch(f"/api/v1/companies/{company.id}", headers=h, json={"group_id": nord.id}).status_code == 200
    assert client.delete(f"/api/v1/companies/{company.id}", headers=h).status_code == 204
    assert client.post(f"/api/v1/companies/{company.id}/restore", headers=h).status_code == 200
    resp = client.post("/api/v1/deals/assign-group", headers=h, json={"ids": [deal.id], "group_id": sued.id})
    assert resp.get_json() == {"updated": {"deals": 1}}

    items = history(client, h, "companies", company.id)[1]["items"]
    assert [e["kind"] for e in items] == ["restored", "deleted", "changed", "created"]
    assert changes(items[2]) == {"group": ("Basis", "Nord")}
    assert {e["who"] for e in items[:3]} == {"Boss"}
    moved, _created = history(client, h, "deals", deal.id)[1]["items"]
    assert moved["kind"] == "assigned" and changes(moved) == {"group": ("Nord", "Süd")}

    # the undo of the bulk assignment (the page's button) moves it back: that is in the history too
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned")
                              .order_by(AuditEntry.id.desc()))
    make.login(client, boss)
    resp = client.post(f"/deals/bulk/undo/{entry.id}", data={},
                       headers={"HX-Request": "true", "HX-Target": "bulk-message"})
    assert resp.status_code == 200 and "flash-success" in resp.text
    back, moved_again, _created = history(client, h, "deals", deal.id)[1]["items"]
    assert back["kind"] == "assigned" and changes(back) == {"group": ("Süd", "Nord")} and back["who"] == "Boss"
    assert changes(moved_again) == {"group": ("Nord", "Süd")}


def test_a_cascade_and_its_undo_name_each_records_own_groups_and_skip_the_changed_one(app, client, make):
    # the history of a bulk move is written set-based: each record's event must still name the group
    # *it* came from and went back to, and a record the undo leaves alone gets no event
    make.enable_groups()
    boss = make.user("admin", name="Boss")
    nord, sued, ziel = make.group("Nord", [boss]), make.group("Süd", [boss]), make.group("Ziel", [boss])
    c_nord, c_sued = make.company("Nordlicht", group=nord), make.company("Südwind", group=sued)
    p_basis = make.person("Basis", company=c_nord)
    p_sued = make.person("Süd", group=sued, company=c_nord)
    p_edited = make.person("Später", group=nord, company=c_sued)
    h = bearer(boss)
    resp = client.post("/api/v1/companies/assign-group", headers=h, json={
        "ids": [c_nord.id, c_sued.id], "group_id": ziel.id, "cascade": ["people"]})
    assert resp.get_json()["updated"] | {"deals": 0, "projects": 0} == {
        "companies": 2, "people": 3, "deals": 0, "projects": 0}
    assert client.patch(f"/api/v1/people/{p_edited.id}", headers=h, json={"first_name": "Berta"}).status_code == 200

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned"))
    make.login(client, boss)
    resp = client.post(f"/companies/bulk/undo/{entry.id}", data={},
                       headers={"HX-Request": "true", "HX-Target": "bulk-message"})
    assert resp.status_code == 200 and "flash-warning" in resp.text  # one record skipped

    def moves(plural, rid):
        return [changes(e)["group"] for e in history(client, h, plural, rid)[1]["items"] if e["kind"] == "assigned"]

    assert moves("companies", c_nord.id) == [("Ziel", "Nord"), ("Nord", "Ziel")]
    assert moves("companies", c_sued.id) == [("Ziel", "Süd"), ("Süd", "Ziel")]
    assert moves("people", p_basis.id) == [("Ziel", "Basis"), ("Basis", "Ziel")]
    assert moves("people", p_sued.id) == [("Ziel", "Süd"), ("Süd", "Ziel")]
    assert moves("people", p_edited.id) == [("Nord", "Ziel")]  # changed since: stays, no undo event


def test_restricted_viewers_see_no_history_and_hidden_records_answer_like_missing_ones(app, client, make):
    make.enable_groups()
    insider = make.user("normal", name="Insider")
    outsider = make.user("normal", name="Outsider")
    nord = make.group("Nord", [insider])
    sued = make.group("Süd", [outsider])
    make.field("company", "Kundenstatus", shared_with=[sued])
    make.field("deal", "Intern")  # deals: shared with nobody -> hidden for the outsider
    company = make.company("Geheim GmbH", group=nord)
    deal = make.deal("Geheimdeal", group=nord)
    h = bearer(insider)
    client.patch(f"/api/v1/companies/{company.id}", headers=h,
                 json={"custom_fields": {"Kundenstatus": "AltWertKanarie"}})
    client.patch(f"/api/v1/companies/{company.id}", headers=h, json={"custom_fields": {"Kundenstatus": "Neu"}})
    assert "AltWertKanarie" in str(history(client, h, "companies", company.id)[1])

    o = bearer(outsider)
    status, body = history(client, o, "companies", company.id)  # restricted: the shared field, no history
    assert status == 403 and "AltWertKanarie" not in str(body)
    missing = client.get("/api/v1/deals/999999/history", headers=o)
    hidden = client.get(f"/api/v1/deals/{deal.id}/history", headers=o)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_data() == missing.get_data()

    make.login(client, outsider)
    assert client.get(f"/companies/{company.id}/history").status_code == 403
    assert client.get(f"/deals/{deal.id}/history").status_code == 404
    restricted_page = client.get(f"/companies/{company.id}").get_data(as_text=True)
    assert "/history" not in restricted_page and "AltWertKanarie" not in restricted_page


def test_a_link_to_a_record_the_viewer_does_not_fully_see_shows_neither_name_nor_id(app, client, make):
    make.enable_groups()
    anna = make.user("normal")
    boss = make.user("admin")
    finanzen = make.group("Finanzen", [boss])
    hidden_company = make.company("Verdeckt AG", group=finanzen)
    person = make.person("Kurz")
    hb = bearer(boss)
    assert client.patch(f"/api/v1/people/{person.id}", headers=hb,
                        json={"company_id": hidden_company.id}).status_code == 200
    assert client.patch(f"/api/v1/people/{person.id}", headers=hb, json={"company_id": None}).status_code == 200

    boss_view = history(client, hb, "people", person.id)[1]["items"]
    assert changes(boss_view[0])["company_id"] == ("Verdeckt AG", None)
    status, body = history(client, bearer(anna), "people", person.id)
    assert status == 200
    link = next(c for c in body["items"][0]["changes"] if c["field"] == "company_id")
    assert link == {"field": "company_id", "label": "Firma", "old": None, "new": None,
                    "old_hidden": True, "new_hidden": False}
    text = str(body)
    assert "Verdeckt" not in text and f"'{hidden_company.id}'" not in text


def test_the_purge_takes_the_history_along(app, client, make):
    from crm.records.trash import purge

    boss = make.user("admin")
    company = make.company("Weg GmbH")
    h = bearer(boss)
    client.patch(f"/api/v1/companies/{company.id}", headers=h, json={"name": "Weg AG"})
    client.delete(f"/api/v1/companies/{company.id}", headers=h)
    assert db.session.scalar(select(func.count()).select_from(RecordEvent)) == 3
    purge(boss, older_than_days=None)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(RecordEvent)) == 0
