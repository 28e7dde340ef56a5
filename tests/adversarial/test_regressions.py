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


def test_odd_numbers_in_query_strings_and_forms_are_no_server_error(app, client, make):
    """"²".isdigit() is True but int("²") fails; 5000 digits exceed int()'s limit."""
    c = make.company("Acme")
    make.note(c)
    make.login(client, make.user("admin"))
    for value in ("²", "٣", "9" * 5000, "-1", "1.5"):
        for url in ("/companies?page={v}", "/companies?group_id={v}", "/tasks?page={v}", "/settings/audit?page={v}",
                    "/companies/new?company_id={v}", f"/companies/{c.id}/notes?offset={{v}}"):
            assert client.get(url.format(v=value)).status_code == 200, url.format(v=value)[:60]
    resp = client.post("/people/new", data={"last_name": "X", "company_id": "²"})
    assert resp.status_code == 400
    resp = client.post("/tasks", data={"title": "x", "record_type": "company", "record_id": "²"})
    assert resp.status_code == 404


def test_nul_bytes_are_refused_with_a_message(app, client, make):
    make.login(client, make.user("admin"))
    before = client.get("/companies").status_code
    resp = client.get("/companies?q=a%00b")
    assert before == 200 and resp.status_code == 400
    assert 'class="error-page"' in resp.get_data(as_text=True)
    resp = client.post("/companies/new", data={"name": "Acme", "phones": "+49\x00 1"})
    assert resp.status_code == 400
    from crm.extensions import db
    from crm.models import Company

    assert db.session.query(Company).count() == 0


def test_edit_post_with_an_empty_body_is_no_server_error(app, client, make):
    """Flask-WTF reads no form data from an empty body, so every field falls back to the record:
    the tags field then held Tag objects, and its length check called len() on them."""
    c = make.company("Acme", tags=["Messe"])
    make.login(client, make.user("normal"))
    resp = client.post(f"/companies/{c.id}/edit")
    assert resp.status_code in (302, 400)
    assert "Messe" in client.get(f"/companies/{c.id}").get_data(as_text=True)


def test_assignment_waits_for_a_concurrent_edit_and_records_the_version_it_moved(app, make):
    """PostgreSQL: an edit holds its row; the assignment must wait and then record (for undo and
    for lost-update checks) the version it really moved, not the one it saw before the edit."""
    import threading

    import pytest
    from sqlalchemy import select, text

    from crm.audit.models import AssignmentChange
    from crm.extensions import db
    from crm.models import Company
    from crm.records.assign import assign_group
    from crm.records.types import TYPES

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers: no row locks to wait for")
    make.enable_groups()
    admin = make.user("admin")
    nord = make.group("Nord", [admin])
    c = make.company("Acme")
    edit = db.engine.connect()
    tx = edit.begin()
    edit.execute(text("UPDATE companies SET name = 'Acme (edited)', version = version + 1 WHERE id = :id"),
                 {"id": c.id})
    done = threading.Event()

    def assign():
        with app.app_context(), make.acting_as(app, admin) as viewer:
            assign_group(TYPES["company"], [c.id], nord.id, viewer)
            db.session.commit()
            db.session.remove()
        done.set()

    worker = threading.Thread(target=assign)
    worker.start()
    assert not done.wait(1.5), "the assignment did not wait for the row the edit holds"
    tx.commit()
    edit.close()
    worker.join(30)
    db.session.expire_all()
    company = db.session.get(Company, c.id)
    recorded = db.session.scalar(select(AssignmentChange.new_version))
    assert company.name == "Acme (edited)" and company.group_id == nord.id
    assert company.version == recorded == 3


def test_odd_numbers_in_bulk_forms_are_no_server_error(app, client, make):
    c = make.company("Acme")
    make.login(client, make.user("admin"))
    for data in ({"scope": "ids", "ids": ["²", str(c.id)]}, {"scope": "ids", "ids": [str(c.id)], "page": "²"},
                 {"scope": "ids", "ids": [str(c.id)], "step": "confirm", "target_id": "²"}):
        for action in ("tag", "delete", "assign"):
            assert client.post(f"/companies/bulk/{action}", data=data).status_code < 500


def test_a_task_assignee_tells_a_non_admin_nothing_of_other_users_groups(client, make):
    """Who sees a record at which level is for admins ("Wer kann das sehen?", product.md §8: other
    users see their own level only). The assignee check of a record's task was an oracle for it:
    a normal user of Nord, giving a task of a Nord company to each user in turn, read from the 422
    ("Sven Süd does not see this record in full") who is in Nord and who is not. For a non-admin,
    assigning to a user outside the record's group now answers as for a member; an admin still gets
    the refusal (the panel shows them every user's level anyway)."""
    from tests.api.conftest import build_world

    w = build_world(make)
    t = make.task("Nachfassen", record=w.c_nord, assignee=w.normal)
    make.login(client, w.normal)
    answers = {}
    for who, user in (("member", w.extended), ("outsider", w.sued_user)):
        api = client.patch(f"/api/v1/tasks/{t.id}", json={"assignee_id": user.id},
                           headers={"Authorization": f"Bearer {w.tokens.normal}"})
        page = client.post("/tasks", data={"title": f"Anruf {who}", "assignee_id": str(user.id),
                                           "record_type": "company", "record_id": str(w.c_nord.id)})
        answers[who] = (api.status_code, page.status_code)
    assert answers["outsider"] == answers["member"] == (200, 302)
    t2 = make.task("Angebot", record=w.c_nord, assignee=w.normal)
    admin = client.patch(f"/api/v1/tasks/{t2.id}", json={"assignee_id": w.sued_user.id},
                         headers={"Authorization": f"Bearer {w.tokens.admin}"})
    assert admin.status_code == 422 and "Sven Süd" in admin.get_json()["error"]["fields"]["assignee_id"]


def test_the_assign_confirmation_tells_a_non_admin_nothing_of_other_users_groups(client, make):
    """The assign dialog's confirmation named the users who work on the moving records "and no
    longer see them in full" in the target group: judged by their memberships, it was an oracle of
    them for a normal user (product.md §8: who sees what is the admins' panel; SECURITY.md rule 4).
    Making a user responsible for a record and opening the confirmation told whether that user is
    a member of the target group - named if not, left out if so. A non-admin now gets everyone who
    works on the records, whatever their groups; an admin still gets only those who lose them."""
    import re

    make.enable_groups()
    admin = make.user("admin", name="Ines Admin")
    u = make.user("normal", name="Udo Normal")
    anna = make.user("normal", name="Anna Nur-Nord")
    bob = make.user("normal", name="Bob Nord-und-Süd")
    nord = make.group("Nord", [admin, u, anna, bob])
    sued = make.group("Süd", [admin, u, bob])
    alpha = make.company("Alpha", group=nord, responsible_id=anna.id)
    beta = make.company("Beta", group=nord, responsible_id=bob.id)

    def notice(ids):
        resp = client.post("/companies/bulk/assign", headers={"HX-Request": "true", "HX-Target": "dialog"}, data={
            "scope": "ids", "ids": [str(i) for i in ids], "target_id": str(sued.id), "step": "confirm"})
        assert resp.status_code == 200
        found = re.search(r'id="workers-notice">(.*?)</p>', resp.text, re.S)
        return found.group(1) if found else ""

    make.login(client, u)
    of_anna, of_bob = notice([alpha.id]), notice([beta.id])
    assert "Anna Nur-Nord (1)" in of_anna and "Bob Nord-und-Süd (1)" in of_bob
    assert of_anna.replace("Anna Nur-Nord", "X") == of_bob.replace("Bob Nord-und-Süd", "X")
    client.post("/logout")
    make.login(client, admin)
    judged = notice([alpha.id, beta.id])
    assert "Anna Nur-Nord (1)" in judged and "Bob" not in judged
