"""The recycle bin (Papierkorb, product.md §8; issue 12, findings 2 and 6): deleting moves a record
to the bin and changes nothing else; the bin is gone from every surface; links read "(gelöscht)"
only to those who fully see the deleted record's group; restore and purge follow their rules."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from crm.audit.models import AuditEntry
from crm.auth.services import issue_token
from crm.extensions import db
from crm.models import Company, Deal, Note, Person, Project, Task
from crm.records.models import MODELS, ContactDetail
from crm.records.trash import purge

API = "/api/v1"


def row(model, rid: int) -> tuple | None:
    """Every column of one row, read from the database (no ORM state)."""
    db.session.expire_all()
    found = db.session.execute(select(model.__table__).where(model.__table__.c.id == rid)).first()
    return tuple(found) if found is not None else None


def bearer(u) -> dict:
    return {"Authorization": f"Bearer {issue_token(u)}"}


def age(model, rid: int, days: int) -> None:
    """Pretend the record was deleted ``days`` days ago."""
    db.session.expire_all()
    when = db.session.scalar(select(model.deleted_at).where(model.id == rid))
    db.session.execute(update(model).where(model.id == rid).values(deleted_at=when - timedelta(days=days)))
    db.session.commit()


@pytest.fixture
def world(make):
    make.enable_groups()
    nord_user = make.user("extended")
    sued_user = make.user("extended")
    admin = make.user("admin")
    nord = make.group("Nord", [nord_user, admin])
    sued = make.group("Süd", [sued_user])
    company = make.company("Hafenwerk Nord GmbH", group=nord, emails=["info@hafenwerk.example"], tags=["Messe"])
    person = make.person("Süderlich", "Sören", group=sued, company=company)
    deal = make.deal("Süd-Auftrag", group=sued, company=company)
    project = make.project("Süd-Projekt", group=sued, company=company, person=person)
    make.note(company, "Erstgespräch Hafenwerk")
    make.task("Hafenwerk anrufen", record=company, assignee=nord_user)
    return {"nord_user": nord_user, "sued_user": sued_user, "admin": admin, "nord": nord, "sued": sued,
            "company": company.id, "person": person.id, "deal": deal.id, "project": project.id}


# -- finding 2: deleting never rewrites a record the actor cannot see ------------------------------

def test_deleting_leaves_linked_records_of_other_groups_byte_identical(client, make, world):
    w = world
    linked = {Person: w["person"], Deal: w["deal"], Project: w["project"]}
    before = {m: row(m, rid) for m, rid in linked.items()}
    make.login(client, w["nord_user"])
    assert client.post(f"/companies/{w['company']}/delete").status_code == 302
    after = {m: row(m, rid) for m, rid in linked.items()}
    assert after == before  # company_id still set, same version, same time of change
    company = db.session.get(Company, w["company"])
    assert company.deleted_at is not None and company.deleted_by_id == w["nord_user"].id
    assert company.version == 2
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "records_deleted"))
    assert entry.actor_id == w["nord_user"].id
    assert entry.details["counts"] == {"companies": 1} and entry.details["ids"] == [w["company"]]
    # the notes, tasks, contact details and tags stay with the record (until the purge)
    assert db.session.scalar(select(Note.id).where(Note.company_id == w["company"])) is not None
    assert db.session.scalar(select(Task.id).where(Task.company_id == w["company"])) is not None
    assert db.session.scalar(select(ContactDetail.id).where(ContactDetail.company_id == w["company"])) is not None


def test_bulk_delete_moves_to_the_bin_and_leaves_links(client, make, world):
    w = world
    before = row(Person, w["person"])
    make.login(client, w["nord_user"])
    resp = client.post("/companies/bulk/delete", data={"scope": "ids", "ids": [str(w["company"])], "step": "run"})
    assert resp.status_code == 302
    assert db.session.get(Company, w["company"]).deleted_at is not None
    assert row(Person, w["person"]) == before
    assert "Hafenwerk" not in client.get("/companies").text


def test_api_delete_moves_to_the_bin(client, make, world):
    w = world
    resp = client.delete(f"{API}/companies/{w['company']}", headers=bearer(w["nord_user"]))
    assert resp.status_code == 204
    assert db.session.get(Company, w["company"]).deleted_at is not None
    assert client.get(f"{API}/companies/{w['company']}", headers=bearer(w["nord_user"])).status_code == 404


# -- gone from every surface ---------------------------------------------------------------------

@pytest.mark.parametrize("groups_on", [True, False], ids=["groups-on", "groups-off"])
def test_a_trashed_record_is_gone_from_every_surface(client, make, world, groups_on):
    w = world
    make.login(client, w["nord_user"])
    assert client.post(f"/companies/{w['company']}/delete").status_code == 302
    if not groups_on:
        make.enable_groups(False)
    for u in (w["nord_user"], w["admin"], w["sued_user"]):
        client.post("/logout")
        make.login(client, u)
        for url in ("/companies", "/companies?q=hafenw", "/search?q=hafenw", "/search?q=info%40hafenw",
                    "/", "/tasks", "/tasks?scope=all", "/companies/export.csv", "/companies/lookup?q=Hafen",
                    "/deals/pipeline", f"/people/{w['person']}", f"/deals/{w['deal']}"):
            body = client.get(url).get_data(as_text=True)
            for secret in ("Hafenwerk", "hafenwerk.example", "anrufen"):
                assert secret not in body, (u.name, url, secret)
        for url in (f"/companies/{w['company']}", f"/companies/{w['company']}/edit",
                    f"/companies/{w['company']}/notes"):
            assert client.get(url).status_code == 404, url
        api = bearer(u)
        for url in (f"{API}/companies", f"{API}/search?q=hafenw", f"{API}/people/{w['person']}"):
            assert "Hafenwerk" not in client.get(url, headers=api).get_data(as_text=True), url
        assert client.get(f"{API}/companies/{w['company']}", headers=api).status_code == 404
        person = client.get(f"{API}/people/{w['person']}", headers=api).get_json()
        if person.get("access") == "full":
            assert person["company_id"] is None  # like a link to a hidden record
    if groups_on:
        admin_counts = client.get("/settings/groups").get_data(as_text=True)
        assert "Hafenwerk" not in admin_counts


def test_a_link_to_a_trashed_record_reads_deleted_only_to_full_viewers(client, make, world):
    w = world
    # a Nord person linked to the company, and a Süd user who sees the person's group (Basis)
    basis_person = make.person("Basisfrau", company=db.session.get(Company, w["company"]))
    make.login(client, w["nord_user"])
    assert client.post(f"/companies/{w['company']}/delete").status_code == 302
    for u, expected in ((w["nord_user"], "(gelöscht)"), (w["admin"], "(gelöscht)"),
                        (w["sued_user"], "Firma (verborgen)")):
        client.post("/logout")
        make.login(client, u)
        for url in (f"/people/{basis_person.id}", "/people"):
            body = client.get(url).get_data(as_text=True)
            assert expected in body, (u.name, url)
            assert "Hafenwerk" not in body and f"/companies/{w['company']}" not in body
            if expected != "(gelöscht)":
                assert "(gelöscht)" not in body  # deleted and hidden look alike to a non-member
        export = client.get("/people/export.csv").get_data(as_text=True)
        assert ("(gelöscht)" if expected == "(gelöscht)" else "(verborgen)") in export
    # the Süd user sees the Süd person's link as hidden, exactly as before the delete
    client.post("/logout")
    make.login(client, w["sued_user"])
    assert "Firma (verborgen)" in client.get(f"/people/{w['person']}").get_data(as_text=True)


# -- restore -------------------------------------------------------------------------------------

def _trash_company(client, make, w):
    make.login(client, w["nord_user"])
    assert client.post(f"/companies/{w['company']}/delete").status_code == 302
    client.post("/logout")


def test_the_deleter_restores_through_the_api(client, make, world):
    w = world
    _trash_company(client, make, w)
    resp = client.post(f"{API}/companies/{w['company']}/restore", headers=bearer(w["nord_user"]))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == w["company"] and body["name"] == "Hafenwerk Nord GmbH" and body["access"] == "full"
    company = db.session.get(Company, w["company"])
    assert company.deleted_at is None and company.deleted_by_id is None and company.version == 3
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "records_restored")) is not None
    # and the record is back everywhere, with its notes
    make.login(client, w["nord_user"])
    assert "Erstgespräch Hafenwerk" in client.get(f"/companies/{w['company']}").get_data(as_text=True)


def test_who_may_restore(client, make, world):
    w = world
    other_nord = make.user("extended", groups=[w["nord"]])
    _trash_company(client, make, w)
    unknown = client.post(f"{API}/companies/999999/restore", headers=bearer(w["sued_user"]))
    assert unknown.status_code == 404
    for u in (other_nord, w["sued_user"]):  # neither the deleter nor an admin; or not in the group
        resp = client.post(f"{API}/companies/{w['company']}/restore", headers=bearer(u))
        assert (resp.status_code, resp.get_json()) == (404, unknown.get_json())
        make.login(client, u)
        assert client.post(f"/settings/trash/companies/{w['company']}/restore").status_code == 404
        assert "Hafenwerk" not in client.get("/settings/trash").get_data(as_text=True)
        client.post("/logout")
    assert db.session.get(Company, w["company"]).deleted_at is not None
    # an admin who fully sees the group restores from the page
    make.login(client, w["admin"])
    assert "Hafenwerk" in client.get("/settings/trash").get_data(as_text=True)
    assert client.post(f"/settings/trash/companies/{w['company']}/restore").status_code == 302
    assert db.session.get(Company, w["company"]).deleted_at is None


def test_the_bin_counts_the_days_left_as_a_calendar(client, make, world):
    """Right after deleting, the bin says 30 days (not 29 and some hours); a day later 29."""
    w = world
    _trash_company(client, make, w)
    make.login(client, w["nord_user"])
    cells = "<td>30</td>"
    assert cells in client.get("/settings/trash").get_data(as_text=True)
    age(Company, w["company"], 1)
    page = client.get("/settings/trash").get_data(as_text=True)
    assert "<td>29</td>" in page and cells not in page


def test_no_restore_after_30_days(client, make, world):
    w = world
    _trash_company(client, make, w)
    age(Company, w["company"], 31)
    for u in (w["nord_user"], w["admin"]):
        assert client.post(f"{API}/companies/{w['company']}/restore", headers=bearer(u)).status_code == 404
    make.login(client, w["nord_user"])
    page = client.get("/settings/trash").get_data(as_text=True)
    assert "Hafenwerk" in page and "abgelaufen" in page and "/restore" not in page


def test_a_deleter_who_left_the_group_cannot_restore(client, make, world):
    w = world
    from crm.groups.models import group_members

    _trash_company(client, make, w)
    db.session.execute(group_members.delete().where(group_members.c.user_id == w["nord_user"].id))
    db.session.commit()
    resp = client.post(f"{API}/companies/{w['company']}/restore", headers=bearer(w["nord_user"]))
    assert resp.status_code == 404
    make.login(client, w["nord_user"])
    assert "Hafenwerk" not in client.get("/settings/trash").get_data(as_text=True)
    assert db.session.get(Company, w["company"]).deleted_at is not None


def test_normal_users_have_no_recycle_bin(client, make, world):
    w = world
    _trash_company(client, make, w)
    normal = make.user("normal", groups=[w["nord"]])
    make.login(client, normal)
    assert client.get("/settings/trash").status_code == 403
    assert client.post(f"/settings/trash/companies/{w['company']}/restore").status_code == 403
    assert client.post(f"{API}/companies/{w['company']}/restore", headers=bearer(normal)).status_code == 404


# -- purge ---------------------------------------------------------------------------------------

def _links_detached(w, before):
    for model, rid in ((Person, w["person"]), (Deal, w["deal"]), (Project, w["project"])):
        obj = db.session.get(model, rid)
        assert obj.company_id is None, model
        assert obj.version == before[model][0] + 1 and obj.updated_at >= before[model][1], model


def test_the_purge_command_removes_old_records_and_detaches_links(app, client, make, world):
    w = world
    _trash_company(client, make, w)
    db.session.expire_all()
    before = {m: (db.session.get(m, w[m.KEY]).version, db.session.get(m, w[m.KEY]).updated_at)
              for m in (Person, Deal, Project)}
    runner = app.test_cli_runner()
    result = runner.invoke(args=["trash", "purge"])
    assert result.exit_code == 0, result.output
    assert "0 companies" in result.output  # deleted today: kept for 30 days
    assert row(Company, w["company"]) is not None
    age(Company, w["company"], 31)
    result = runner.invoke(args=["trash", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 companies" in result.output and "3 links detached" in result.output
    assert row(Company, w["company"]) is None
    db.session.expire_all()
    _links_detached(w, before)
    for model in (Note, Task, ContactDetail):
        assert db.session.scalar(select(model.id).where(model.company_id == w["company"])) is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "records_purged"))
    assert entry.actor_id is None
    assert entry.details["counts"]["companies"] == 1 and entry.details["links"] == 3
    assert entry.details["ids"] == {"companies": [w["company"]]}
    result = runner.invoke(args=["trash", "purge", "--older-than", "0"])
    assert result.exit_code == 0 and "0 companies" in result.output


def test_admin_purges_one_record_and_the_expired_ones(client, make, world):
    w = world
    other = make.company("Zweite Nord AG", group=w["nord"]).id
    make.login(client, w["nord_user"])
    for cid in (w["company"], other):
        assert client.post(f"/companies/{cid}/delete").status_code == 302
    assert client.post(f"/settings/trash/companies/{other}/purge").status_code == 403  # not an admin
    client.post("/logout")
    db.session.expire_all()
    before = {m: (db.session.get(m, w[m.KEY]).version, db.session.get(m, w[m.KEY]).updated_at)
              for m in (Person, Deal, Project)}
    make.login(client, w["admin"])
    assert client.post(f"/settings/trash/companies/{other}/purge").status_code == 302
    assert row(Company, other) is None
    assert client.post(f"/settings/trash/companies/{other}/purge").status_code == 404  # gone now
    assert client.post("/settings/trash/purge-expired").status_code == 302
    assert row(Company, w["company"]) is not None  # not expired yet
    age(Company, w["company"], 40)
    assert client.post("/settings/trash/purge-expired").status_code == 302
    assert row(Company, w["company"]) is None
    _links_detached(w, before)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "records_purged")).all()
    assert [e.actor_id for e in entries] == [w["admin"].id, w["admin"].id]
    assert "Papierkorb" in client.get("/settings/audit").get_data(as_text=True)


def test_an_admin_purges_only_what_they_see(client, make, world):
    w = world
    sued_company = make.company("Süd GmbH", group=w["sued"])
    sued_id = sued_company.id
    make.login(client, w["sued_user"])
    assert client.post(f"/companies/{sued_id}/delete").status_code == 302
    client.post("/logout")
    age(Company, sued_id, 40)
    make.login(client, w["admin"])  # not in Süd
    assert "Süd GmbH" not in client.get("/settings/trash").get_data(as_text=True)
    assert client.post(f"/settings/trash/companies/{sued_id}/purge").status_code == 404
    assert client.post("/settings/trash/purge-expired").status_code == 302
    assert row(Company, sued_id) is not None
    purge(None)  # the daily job acts as the system
    db.session.commit()
    assert row(Company, sued_id) is None


# -- finding 6: import undo reports what it moved -------------------------------------------------

def test_import_undo_counts_what_it_moves_whatever_links_to_it_unseen(app, client, make):
    from tests.test_import import imported

    make.enable_groups()
    u = make.user("extended")
    u.locale = "en"
    db.session.commit()
    nord, sued = make.group("Nord", [u]), make.group("Süd")
    w = {"u": u, "nord": nord, "sued": sued}
    job = imported(app, client, make, w, ["Eins GmbH", "Zwei GmbH"])
    zwei = db.session.scalar(select(Company).where(Company.name == "Zwei GmbH"))
    hidden = make.person("Verdeckt", group=sued, company=zwei)  # a record u cannot see points at it
    before = row(Person, hidden.id)
    resp = client.post(f"/import/{job.id}/undo", follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "2 records deleted." in text and "kept" not in text
    live = db.session.scalars(select(Company.name).where(Company.deleted_at.is_(None))).all()
    assert live == []  # the count and the records moved agree
    assert row(Person, hidden.id) == before  # the unseen link is untouched


def test_every_record_class_has_the_bin_columns():
    for model in MODELS.values():
        assert {"deleted_at", "deleted_by_id"} <= set(model.__table__.c.keys())


@pytest.mark.parametrize("groups_on", [True, False], ids=["groups-on", "groups-off"])
def test_the_safety_net_hides_the_bin_from_queries_without_predicates(app, make, world, groups_on):
    """A query that forgets its predicate still cannot return a trashed record or anything
    attached to it, with the group system on or off; ``unscoped`` reads the bin."""
    from crm.customfields.models import CustomFieldValue
    from crm.records.services import delete_records
    from crm.records.types import TYPES
    from crm.visibility import unscoped

    w = world
    field = make.field("company", "Kundenstatus", shared_with=[w["sued"]])
    make.value(field, db.session.get(Company, w["company"]), "Top-Kunde")
    with make.acting_as(app, w["nord_user"]) as viewer:
        assert delete_records(TYPES["company"], [w["company"]], viewer) == 1
        db.session.commit()
    make.enable_groups(groups_on)
    for u in (w["nord_user"], w["sued_user"], w["admin"]):
        with make.acting_as(app, u):
            assert w["company"] not in db.session.scalars(select(Company.id)).all()
            for model in (Note, Task, ContactDetail, CustomFieldValue):
                assert db.session.scalars(select(model).where(model.company_id == w["company"])).all() == []
            assert db.session.scalar(unscoped(select(Company.id).where(Company.id == w["company"]))) == w["company"]


def test_the_purge_service_refuses_anyone_but_an_admin(make):
    """The rule lives in the service, not only in the page: an extended user's purge (of records
    they deleted themselves) is refused before anything is chosen or removed."""
    from crm.records.trash import NotAllowed
    from crm.visibility import viewer_for

    extended = make.user("extended")
    company = make.company("Weg GmbH")
    company.deleted_at, company.deleted_by_id = company.created_at, extended.id
    db.session.commit()
    with pytest.raises(NotAllowed):
        purge(extended, older_than_days=None, viewer=viewer_for(extended))
    db.session.rollback()
    assert db.session.get(Company, company.id) is not None
