"""The administration pages count in the user's language (Babel plurals: "1 Firma", never
"1 Firmen") and say only what is true (the new-user form has no password to keep)."""
from __future__ import annotations

from crm.audit.services import audit
from crm.extensions import db


def test_audit_log_counts_records_with_plurals(client, make):
    admin = make.user("admin")
    make.login(client, admin)
    audit(admin, "group_deleted", group="Alt", group_id=9, moved_to="Basis",
          counts={"companies": 1, "people": 2, "deals": 1, "projects": 0})
    db.session.commit()
    page = client.get("/settings/audit").get_data(as_text=True)
    assert "1 Firma, 2 Personen, 1 Angebot, 0 Projekte" in page
    assert "1 Firmen" not in page


def test_group_pages_count_records_with_plurals(client, make):
    make.enable_groups()
    admin = make.user("admin")
    nord = make.group("Nord", [admin])
    make.company("Nordlicht", group=nord)
    make.login(client, admin)
    for url in (f"/settings/groups/{nord.id}/delete", f"/settings/groups/{nord.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "1 Firma" in page and "1 Firmen" not in page and "0 Personen" in page, url


def test_only_the_edit_form_offers_to_keep_the_password(client, make):
    admin = make.user("admin")
    make.login(client, admin)
    new = client.get("/settings/users/new").get_data(as_text=True)
    edit = client.get(f"/settings/users/{admin.id}").get_data(as_text=True)
    assert "Passwort zu behalten" not in new and "Mindestens 8 Zeichen." in new
    assert "Passwort zu behalten" in edit
