"""Merging two duplicates (issue 15): fields chosen per side, what moves (and what a hidden or
trashed linked record does: stays), refusals, the audit entry, undo and refused undo; the page
and the API."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from crm.audit.models import AuditEntry
from crm.auth.services import issue_token
from crm.errors import Conflict, Forbidden, Invalid, NotFound
from crm.extensions import db
from crm.history.models import RecordEvent
from crm.merge.schemas import MergeInput
from crm.merge.services import merge, preview, undo_merge
from crm.models import Company, Deal, Note, Person, Project, Task
from crm.records.types import TYPES

PEOPLE, COMPANIES = TYPES["person"], TYPES["company"]


@pytest.fixture
def world(make):
    make.enable_groups()
    ext = make.user("extended")
    other_user = make.user("extended")
    nord = make.group("Nord", [ext])
    sued = make.group("Süd", [other_user])
    status = make.field("company", "Kundenstatus")
    keep = make.company("Hafenwerk GmbH", group=nord, website="https://hafenwerk.example",
                        emails=["info@hafenwerk.example"], tags=["Messe"])
    dup = make.company("Hafenwerk", group=nord, background="Aus dem Import",
                       emails=["INFO@hafenwerk.example", "vertrieb@hafenwerk.example"], tags=["messe", "Kunde"])
    make.value(status, dup, "Top-Kunde")
    seen = make.person("Sichtbar", company=dup, group=nord)
    hidden = make.person("Verborgen", company=dup, group=sued)  # ext is not in Süd
    deal = make.deal("Auftrag", group=nord, company=dup)
    hidden_deal = make.deal("Süd-Auftrag", group=sued, company=dup)
    note = make.note(dup, "Erstgespräch")
    task = make.task("Anrufen", record=dup, assignee=ext)
    db.session.commit()
    ids = {k: v.id for k, v in locals().items() if k in (
        "nord", "sued", "keep", "dup", "seen", "hidden", "deal", "hidden_deal", "note", "task")}
    return ids | {"ext_user": ext, "other_user_obj": other_user, "nord_group": nord, "sued_group": sued}


def _merge(app, make, user, rtype, keep, other, choices=None, **kw):
    with make.acting_as(app, user) as viewer:
        result = merge(viewer, rtype, keep, MergeInput(other_id=other, choices=choices or {}, **kw))
        db.session.commit()
    return result


def test_fields_per_side_union_and_moves_only_what_the_actor_fully_sees(app, make, world):
    w = world
    hidden_before = db.session.execute(select(Person.__table__).where(Person.id == w["hidden"])).first()
    with make.acting_as(app, w["ext_user"]) as viewer:
        assert preview(COMPANIES, w["dup"], viewer) == {"notes": 1, "tasks": 1, "files": 0, "people": 1,
                                                         "deals": 1, "projects": 0}
    result = _merge(app, make, w["ext_user"], COMPANIES, w["keep"], w["dup"],
                    {"name": "keep", "background": "other", "custom_fields.Kundenstatus": "other"})
    assert result.moved == {"notes": 1, "tasks": 1, "files": 0, "people": 1, "deals": 1, "projects": 0}
    db.session.expire_all()
    keep = db.session.get(Company, w["keep"])
    assert keep.name == "Hafenwerk GmbH" and keep.background == "Aus dem Import"
    assert keep.website == "https://hafenwerk.example"
    assert [d.value for d in keep.contact_details] == ["info@hafenwerk.example", "vertrieb@hafenwerk.example"]
    assert sorted(t.name for t in keep.tags) == ["Kunde", "Messe"]
    from crm.history.services import stored_custom
    assert list(stored_custom(COMPANIES, keep.id).values()) == ["Top-Kunde"]
    assert db.session.get(Person, w["seen"]).company_id == keep.id
    assert db.session.get(Deal, w["deal"]).company_id == keep.id
    assert db.session.get(Note, w["note"]).company_id == keep.id
    assert db.session.get(Task, w["task"]).company_id == keep.id
    # the hidden person and deal stay with the record in the bin, untouched (as a delete leaves them)
    assert db.session.execute(select(Person.__table__).where(Person.id == w["hidden"])).first() == hidden_before
    assert db.session.get(Deal, w["hidden_deal"]).company_id == w["dup"]
    assert db.session.get(Company, w["dup"]).deleted_at is not None
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
        ["records_merged", "records_deleted"]))))
    assert [e.action for e in entries] == ["records_merged"]
    d = entries[0].details
    assert (d["keep_id"], d["other_id"], d["other_name"]) == (w["keep"], w["dup"], "Hafenwerk")
    assert d["counts"]["people"] == 1 and d["undo"]["fields"]["background"] == ""
    changed = db.session.scalars(select(RecordEvent).where(RecordEvent.company_id == w["keep"],
                                                           RecordEvent.kind == "changed")).one()
    assert {"background", "emails", "tags"} <= {c.field for c in changed.fields}
    moved = db.session.scalars(select(RecordEvent).where(RecordEvent.person_id == w["seen"],
                                                         RecordEvent.kind == "changed")).one()
    assert [(c.field, c.old, c.new) for c in moved.fields] == [("company_id", str(w["dup"]), str(w["keep"]))]
    assert not db.session.scalars(select(RecordEvent).where(RecordEvent.person_id == w["hidden"],
                                                            RecordEvent.kind == "changed")).all()


def test_refusals_same_hidden_restricted_trashed_role_stale(app, make, world):
    w = world
    ext = w["ext_user"]
    hidden_company = make.company("Süd GmbH", group=w["sued_group"])
    db.session.commit()
    with make.acting_as(app, ext) as viewer:
        with pytest.raises(Invalid):
            merge(viewer, COMPANIES, w["keep"], MergeInput(other_id=w["keep"]))
        with pytest.raises(NotFound) as hidden:
            merge(viewer, COMPANIES, w["keep"], MergeInput(other_id=hidden_company.id))
        with pytest.raises(NotFound) as missing:
            merge(viewer, COMPANIES, w["keep"], MergeInput(other_id=999999))
        assert hidden.value.message == missing.value.message
        with pytest.raises(Conflict):
            merge(viewer, COMPANIES, w["keep"], MergeInput(other_id=w["dup"], keep_version=0))
        with pytest.raises(Invalid):
            merge(viewer, COMPANIES, w["keep"], MergeInput(other_id=w["dup"], choices={"nonsense": "other"}))
    make.field("company", "Geteilt", shared_with=[w["nord_group"]])
    restricted = make.company("Süd-geteilt", group=w["sued_group"])
    db.session.commit()
    with make.acting_as(app, ext) as viewer, pytest.raises(Forbidden):
        merge(viewer, COMPANIES, w["keep"], MergeInput(other_id=restricted.id))
    normal = make.user("normal", groups=[w["nord_group"]])
    db.session.commit()
    with make.acting_as(app, normal) as viewer, pytest.raises(Forbidden):
        merge(viewer, COMPANIES, w["keep"], MergeInput(other_id=w["dup"]))
    db.session.rollback()
    _merge(app, make, ext, COMPANIES, w["keep"], w["dup"])
    with make.acting_as(app, ext) as viewer, pytest.raises(NotFound):  # in the bin now
        merge(viewer, COMPANIES, w["keep"], MergeInput(other_id=w["dup"]))
    db.session.rollback()


def test_group_choice_follows_assigning_and_groups_off_merges_without_it(app, make, world):
    w = world
    sued_company = make.company("Fremd", group=w["sued_group"])
    db.session.commit()
    both = make.user("extended", groups=[w["nord_group"], w["sued_group"]])
    db.session.commit()
    result = _merge(app, make, both, COMPANIES, w["keep"], sued_company.id, {"group_id": "other"})
    assert db.session.get(Company, result.survivor.id).group_id == w["sued"]
    make.enable_groups(False)
    db.session.commit()
    with make.acting_as(app, w["ext_user"]) as viewer:
        merge(viewer, COMPANIES, w["dup"], MergeInput(other_id=w["keep"], choices={"name": "other"}))
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Company, w["dup"]).name == "Hafenwerk GmbH"
    assert db.session.get(Company, w["dup"]).group_id == w["nord"]


def test_undo_puts_everything_back_and_is_refused_after_a_change(app, make, world):
    w = world
    result = _merge(app, make, w["ext_user"], COMPANIES, w["keep"], w["dup"],
                    {"background": "other", "custom_fields.Kundenstatus": "other"})
    entry = db.session.get(AuditEntry, result.audit_id)
    with make.acting_as(app, w["other_user_obj"]) as viewer, pytest.raises(Conflict):
        undo_merge(entry, viewer)  # not theirs
    db.session.rollback()
    with make.acting_as(app, w["ext_user"]) as viewer:
        undo_merge(db.session.get(AuditEntry, result.audit_id), viewer)
        db.session.commit()
    db.session.expire_all()
    keep, dup = db.session.get(Company, w["keep"]), db.session.get(Company, w["dup"])
    assert dup.deleted_at is None and keep.background == ""
    assert [d.value for d in keep.contact_details] == ["info@hafenwerk.example"]
    assert [t.name for t in keep.tags] == ["Messe"]
    from crm.history.services import stored_custom
    assert stored_custom(COMPANIES, keep.id) == {}
    assert db.session.get(Person, w["seen"]).company_id == dup.id
    assert db.session.get(Note, w["note"]).company_id == dup.id
    assert db.session.get(AuditEntry, result.audit_id).undone_at is not None
    # merge again, then someone changes a moved person: the undo is refused, nothing changes
    again = _merge(app, make, w["ext_user"], COMPANIES, w["keep"], w["dup"])
    db.session.execute(update(Person).where(Person.id == w["seen"]).values(version=Person.version + 1))
    db.session.commit()
    with make.acting_as(app, w["ext_user"]) as viewer, pytest.raises(Conflict):
        undo_merge(db.session.get(AuditEntry, again.audit_id), viewer)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Company, w["dup"]).deleted_at is not None
    assert db.session.get(AuditEntry, again.audit_id).undone_at is None


def test_people_merge_moves_deals_and_projects(app, make, world):
    w = world
    a = make.person("Kurz", "Anna", group=w["nord_group"], emails=["anna@example.com"])
    b = make.person("Kurz", "Anna-Lena", group=w["nord_group"], emails=["anna@example.com"], position="CEO")
    deal = make.deal("Lizenz", group=w["nord_group"], person=b)
    project = make.project("Rollout", group=w["nord_group"], person=b)
    db.session.commit()
    result = _merge(app, make, w["ext_user"], PEOPLE, a.id, b.id, {"position": "other"})
    assert result.moved["deals"] == 1 and result.moved["projects"] == 1
    db.session.expire_all()
    survivor = db.session.get(Person, a.id)
    assert (survivor.first_name, survivor.position) == ("Anna", "CEO")
    assert [d.value for d in survivor.contact_details] == ["anna@example.com"]
    assert db.session.get(Deal, deal.id).person_id == a.id
    assert db.session.get(Project, project.id).person_id == a.id


# -- the page ----------------------------------------------------------------------------------

def test_page_compares_merges_and_undoes(client, make, world):
    w = world
    make.login(client, w["ext_user"])
    page = client.get(f"/companies/{w['keep']}")
    assert f"/companies/{w['keep']}/merge" in page.get_data(as_text=True)
    picker = client.get(f"/companies/{w['keep']}/merge").get_data(as_text=True)
    assert "/companies/lookup?field=other_id" in picker  # the record picker, of companies
    compare = client.get(f"/companies/{w['keep']}/merge?other_id={w['dup']}")
    html = compare.get_data(as_text=True)
    assert compare.status_code == 200 and 'name="choice:background"' in html
    assert 'name="choice:website"' in html and "Verborgen" not in html  # the hidden person: not named
    moving = html[html.index('id="merge-moving"'):]
    assert "Personen: 1" in moving and "Angebote: 1" in moving  # counted over what the actor fully sees
    version = db.session.get(Company, w["keep"]).version
    done = client.post(f"/companies/{w['keep']}/merge", data={
        "other_id": w["dup"],
        "keep_version": version, "choice:background": "other"})
    assert done.status_code == 303, done.get_data(as_text=True)[:300]
    survivor = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "zusammengeführt" in survivor and "/undo" in survivor
    db.session.expire_all()
    assert db.session.get(Company, w["keep"]).background == "Aus dem Import"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "records_merged")).one()
    undone = client.post(f"/merges/{entry.id}/undo")
    assert undone.status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, w["dup"]).deleted_at is None
    again = client.post(f"/merges/{entry.id}/undo")
    assert again.status_code == 409
    assert "rückgängig" in again.get_data(as_text=True)


def test_admin_undoes_from_the_audit_log(client, make, world):
    w = world
    _merge(client.application, make, w["ext_user"], COMPANIES, w["keep"], w["dup"])
    outsider = make.user("admin")  # an admin who does not see Nord: the undo would change records
    admin = make.user("admin", groups=[w["nord_group"]])  # they cannot fully see - refused
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "records_merged")).one()
    make.login(client, outsider)
    assert client.post(f"/merges/{entry.id}/undo").status_code == 409
    db.session.expire_all()
    assert db.session.get(Company, w["dup"]).deleted_at is not None
    client = client.application.test_client()
    make.login(client, admin)
    log = client.get("/settings/audit").get_data(as_text=True)
    assert f"/merges/{entry.id}/undo" in log and "Hafenwerk" in log
    assert client.post(f"/merges/{entry.id}/undo").status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, w["dup"]).deleted_at is None


def test_page_bad_input_is_a_clear_message(client, make, world):
    w = world
    hidden = make.company("Süd GmbH", group=w["sued_group"])
    db.session.commit()
    make.login(client, w["ext_user"])
    same = client.get(f"/companies/{w['keep']}/merge?other_id={w['keep']}").get_data(as_text=True)
    assert 'id="merge-error"' in same
    shown_hidden = client.get(f"/companies/{w['keep']}/merge?other_id={hidden.id}").get_data(as_text=True)
    shown_missing = client.get(f"/companies/{w['keep']}/merge?other_id=99999").get_data(as_text=True)
    def error(html):
        return html[html.index('id="merge-error"'):].split("</p>")[0]
    assert error(shown_hidden) == error(shown_missing)
    assert "Süd GmbH" not in shown_hidden
    stale = client.post(f"/companies/{w['keep']}/merge", data={"other_id": w["dup"], "keep_version": 99,
                                                               "choice:background": "other"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert 'id="merge-error"' in html and 'name="choice:background" value="other" checked' in html
    db.session.expire_all()
    assert db.session.get(Company, w["dup"]).deleted_at is None
    assert client.get(f"/companies/{hidden.id}/merge").status_code == 404
    assert client.get("/deals/1/merge").status_code == 404


# -- the API -----------------------------------------------------------------------------------

def test_api_merges_and_answers_hidden_like_missing(client, make, world):
    w = world
    auth = {"Authorization": f"Bearer {issue_token(w['ext_user'])}"}
    hidden = make.company("Süd GmbH", group=w["sued_group"])
    db.session.commit()
    url = f"/api/v1/companies/{w['keep']}/merge"
    as_hidden = client.post(url, json={"other_id": hidden.id}, headers=auth)
    as_missing = client.post(url, json={"other_id": 99999}, headers=auth)
    assert as_hidden.status_code == as_missing.status_code == 404
    assert as_hidden.get_json() == as_missing.get_json()
    keep_hidden = client.post(f"/api/v1/companies/{hidden.id}/merge", json={"other_id": w["keep"]}, headers=auth)
    keep_missing = client.post("/api/v1/companies/99999/merge", json={"other_id": w["keep"]}, headers=auth)
    assert keep_hidden.status_code == 404 and keep_hidden.get_json() == keep_missing.get_json()
    assert client.post(url, json={"other_id": w["dup"], "choices": {"name": "maybe"}},
                       headers=auth).status_code == 422
    done = client.post(url, json={"other_id": w["dup"], "choices": {"background": "other"}}, headers=auth)
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["id"] == w["keep"] and body["background"] == "Aus dem Import"
    assert sorted(body["tags"]) == ["Kunde", "Messe"]
    assert client.get(f"/api/v1/companies/{w['dup']}", headers=auth).status_code == 404
    assert client.post("/api/v1/deals/1/merge", json={"other_id": 2}, headers=auth).status_code in (404, 405)



def test_the_survivors_page_offers_its_undo_however_many_merges_came_after(client, make, world):
    """The record's Undo was looked for among the actor's last 20 merges only: after 20 more merges
    of other records, the first survivor's page no longer offered its undo."""
    w = world
    ext = w["ext_user"]
    _merge(client.application, make, ext, COMPANIES, w["keep"], w["dup"])
    for i in range(20):
        a = make.company(f"Paar {i} A", group=w["nord_group"])
        b = make.company(f"Paar {i} B", group=w["nord_group"])
        db.session.commit()
        _merge(client.application, make, ext, COMPANIES, a.id, b.id)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "records_merged")
                               .order_by(AuditEntry.id)).first()
    make.login(client, ext)
    page = client.get(f"/companies/{w['keep']}").get_data(as_text=True)
    assert f"/merges/{entry.id}/undo" in page
    other = make.user("extended", groups=[w["nord_group"]])  # sees the survivor, did not merge it
    other_client = client.application.test_client()
    make.login(other_client, other)
    other_page = other_client.get(f"/companies/{w['keep']}").get_data(as_text=True)
    assert "Hafenwerk GmbH" in other_page and f"/merges/{entry.id}/undo" not in other_page
