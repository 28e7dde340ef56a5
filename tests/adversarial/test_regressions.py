"""Focused tests for the bugs the adversarial suite found, one per fix."""
from __future__ import annotations


def test_tag_filter_offers_no_tag_of_hidden_or_restricted_records(app, client, make):
    make.enable_groups()
    nord = make.group("Nord")
    sued = make.group("Süd")
    u = make.user("normal", groups=[nord])
    make.field("company", "Kundenstatus", shared_with=[nord])  # Süd's companies: restricted for u
    make.company("Sichtbar", group=nord, tags=["Messe"])
    make.company("Eingeschränkt", group=sued, tags=["Geheimprojekt"])
    make.person("Verborgen", group=sued, tags=["Übernahmekandidat"])
    make.login(client, u)
    companies = client.get("/companies").get_data(as_text=True)
    people = client.get("/people").get_data(as_text=True)
    assert "Messe" in companies
    assert "Geheimprojekt" not in companies
    assert "Übernahmekandidat" not in people


def test_csv_export_is_not_cacheable(app, client, make):
    make.company("Acme")
    make.login(client, make.user("extended"))
    resp = client.get("/companies/export.csv")
    assert resp.status_code == 200
    assert "no-store" in resp.headers["Cache-Control"]


def test_edit_post_without_version_field_is_no_server_error(app, client, make):
    c = make.company("Acme")
    make.login(client, make.user("normal"))
    resp = client.post(f"/companies/{c.id}/edit", data={"name": "Acme neu"})
    assert resp.status_code == 302
    resp = client.post(f"/companies/{c.id}/edit", data={"name": "Acme neu", "version": "9" * 40})
    assert resp.status_code in (302, 409)
