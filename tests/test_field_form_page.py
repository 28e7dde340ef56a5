"""Settings -> Custom fields: the form page of a new and of an existing field."""
from sqlalchemy import select

from crm.customfields.models import CustomField
from crm.extensions import db


def test_new_field_page_offers_record_type_and_kind(client, make):
    make.login(client, make.user(role="admin"))
    html = client.get("/settings/fields/new").get_data(as_text=True)
    assert 'name="entity"' in html and "<select" in html
    assert 'id="kind"' in html
    assert 'id="options"' in html
    resp = client.post("/settings/fields/new", data={
        "entity": "company", "kind": "select", "name": "Kundenstatus", "options": "Top-Kunde\nStammkunde"})
    assert resp.status_code == 302
    field = db.session.scalar(select(CustomField).where(CustomField.name == "Kundenstatus"))
    assert (field.entity, field.kind, field.options) == ("company", "select", ["Top-Kunde", "Stammkunde"])


def test_edit_page_of_a_select_field_keeps_its_options_and_saves_sharing(client, make):
    make.enable_groups()
    nord = make.group("Nord")
    admin = make.user(role="admin")
    field = make.field(entity="company", name="Kundenstatus", kind="select", options=["Top-Kunde", "Stammkunde"])
    make.login(client, admin)
    html = client.get(f"/settings/fields/{field.id}").get_data(as_text=True)
    assert "<h1>Kundenstatus</h1>" in html
    assert "Top-Kunde\nStammkunde" in html
    resp = client.post(f"/settings/fields/{field.id}", data={
        "entity": "company", "kind": "select", "name": "Kundenstatus", "options": "Top-Kunde\nStammkunde",
        "shared_with": [str(nord.id)]})
    assert resp.status_code == 302
    db.session.refresh(field)
    assert [g.name for g in field.shared_with] == ["Nord"]


def test_a_new_fields_impact_is_shown_before_it_is_saved(client, make):
    """Sharing a new deal field with Nord lets Nord's members see the other groups' deals
    restricted: the form's "Show impact" and the page of a refused save say so (not "nobody")."""
    make.enable_groups()
    lars = make.user(name="Lars Nord")
    nord, sued = make.group("Nord", [lars]), make.group("Süd")
    for n in range(3):
        make.deal(f"Süd-Deal {n}", group=sued)
    make.login(client, make.user(role="admin"))
    form = {"entity": "deal", "kind": "number", "name": "x" * 90, "shared_with": [str(nord.id)],
            "preview": "1"}
    assert 'name="preview"' in client.get("/settings/fields/new").get_data(as_text=True)
    for preview in (True, False):  # Show impact (with the name still too long); a refused save
        data = form if preview else {k: v for k, v in form.items() if k != "preview"}
        resp = client.post("/settings/fields/new", data=data, headers={"Accept-Language": "en"})
        html = resp.get_data(as_text=True)
        assert resp.status_code == (200 if preview else 400)
        assert "Lars Nord" in html and "0 → <strong>3</strong>" in html, html[html.find('id="impact"'):][:1500]
        assert "Nobody would see" not in html
    assert db.session.scalar(select(CustomField.id)) is None
