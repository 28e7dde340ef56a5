"""Issue 12, findings 1 and 4: the record services' rules on groups and tags, through every edge.

1. While the group system is off, no path changes a record's group: bulk assignment (page and
   API), the group field on create and edit (page and API), the import, the undo of an
   assignment and deleting a group that holds records all refuse with the one message of
   ``crm.records.services.GroupsOff`` (API: 409 ``groups_off``) and change nothing. A new record
   goes to the default group; sending a record's current (or a new record's default) group is fine.
2. Tags only on records a user cannot fully see do not exist for that user: "remove tag" answers
   for such a name exactly as for a name that exists nowhere, and a tag typed in a form, the API
   or the bulk dialog keeps the user's own spelling instead of a hidden tag's.
"""
from __future__ import annotations

import difflib
import io
import re

import pytest
from sqlalchemy import delete, func, select

from crm.audit.models import AuditEntry
from crm.auth.services import issue_token
from crm.extensions import db
from crm.groups.models import BASIS_ID, Group
from crm.imports.models import ImportJob
from crm.models import Company, Deal, Person, Project, Tag
from crm.records.models import MODELS, TAG_TABLES

HX = {"HX-Request": "true", "HX-Target": "dialog"}
#: the German message (the default language of the pages and the API)
OFF = "Das Gruppensystem ist deaktiviert: Datensätze können nicht in eine andere Gruppe verschoben werden."


def rows() -> dict:
    """Every record's group, version and time of change, read fresh from the database."""
    db.session.expire_all()
    return {
        (key, rid): (gid, version, updated)
        for key, model in MODELS.items()
        for rid, gid, version, updated in db.session.execute(
            select(model.id, model.group_id, model.version, model.updated_at))
    }


def assignments() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "group_assigned")) or 0


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {issue_token(user)}"}


def refused_api(resp) -> None:
    assert resp.status_code == 409, resp.get_data(as_text=True)[:500]
    error = resp.get_json()["error"]
    assert error["code"] == "groups_off" and error["message"] == OFF
    assert list(error["fields"].values()) == [OFF]


# ---------------------------------------------------------------------------------------------
# 1. The group system switched off
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def off(make):
    """Nord and Süd; ``u`` (normal) is in Nord (its default group), ``admin`` in both. A Süd
    company with a person, a deal and a project. Then the admin switches the group system off."""
    make.enable_groups()
    u = make.user("normal")
    admin = make.user("admin")
    nord = make.group("Nord", [u, admin])
    sued = make.group("Süd", [admin])
    u.default_group_id = nord.id
    db.session.commit()
    c = make.company("Südwind KG", group=sued)
    p = make.person("Geheim", group=sued, company=c)
    d = make.deal("Süd-Deal", group=sued, company=c)
    pr = make.project("Süd-Projekt", group=sued, company=c)
    make.enable_groups(False)
    return {"u": u, "admin": admin, "nord": nord, "sued": sued, "c": c, "p": p, "d": d, "pr": pr}


def test_api_assign_group_is_refused_and_moves_nothing(client, make, off):
    before, entries = rows(), assignments()
    resp = client.post("/api/v1/companies/assign-group", headers=bearer(off["u"]), json={
        "ids": [off["c"].id], "group_id": off["nord"].id, "cascade": ["people", "deals", "projects"]})
    refused_api(resp)
    resp = client.post("/api/v1/people/assign-group", headers=bearer(off["admin"]),
                       json={"ids": [off["p"].id], "group_id": BASIS_ID})
    refused_api(resp)
    assert rows() == before and assignments() == entries
    # switched on again, the same call works (the rule is the switch, nothing else)
    make.enable_groups()
    resp = client.post("/api/v1/companies/assign-group", headers=bearer(off["admin"]), json={
        "ids": [off["c"].id], "group_id": off["nord"].id, "cascade": ["people", "deals", "projects"]})
    assert resp.status_code == 200
    assert resp.get_json()["updated"] == {"companies": 1, "people": 1, "deals": 1, "projects": 1}


@pytest.mark.parametrize("htmx", [True, False])
def test_page_bulk_assign_is_refused_with_the_message(client, make, off, htmx):
    make.login(client, off["u"])
    before, entries = rows(), assignments()
    data = {"scope": "ids", "ids": [str(off["c"].id)], "target_id": str(off["nord"].id),
            "cascade": ["people", "deals", "projects"]}
    for step in ("choose", "preview", "confirm", "run"):
        resp = client.post("/companies/bulk/assign", data={**data, "step": step}, headers=HX if htmx else {})
        if htmx:
            assert resp.status_code == 422 and OFF in resp.text, step
        else:
            assert resp.status_code == 302
            assert OFF in client.get(resp.headers["Location"]).text
    assert rows() == before and assignments() == entries


def test_api_create_goes_to_the_default_group_and_refuses_another(client, make, off):
    h = bearer(off["u"])
    resp = client.post("/api/v1/companies", headers=h, json={"name": "Ohne Gruppe"})
    assert resp.status_code == 201 and resp.get_json()["group"]["id"] == off["nord"].id
    resp = client.post("/api/v1/companies", headers=h, json={"name": "Mit Nord", "group_id": off["nord"].id})
    assert resp.status_code == 201 and resp.get_json()["group"]["id"] == off["nord"].id
    for gid in (off["sued"].id, BASIS_ID):
        refused_api(client.post("/api/v1/companies", headers=h, json={"name": "Woanders", "group_id": gid}))
    assert db.session.scalar(select(func.count()).select_from(Company).where(Company.name == "Woanders")) == 0


def test_api_patch_refuses_a_change_of_group_and_accepts_the_current_one(client, make, off):
    h = bearer(off["u"])
    before = rows()
    for key, plural, text in (("c", "companies", "background"), ("p", "people", "background"),
                              ("d", "deals", "description"), ("pr", "projects", "description")):
        refused_api(client.patch(f"/api/v1/{plural}/{off[key].id}", headers=h,
                                 json={"group_id": off["nord"].id, text: "x"}))
    assert rows() == before
    resp = client.patch(f"/api/v1/companies/{off['c'].id}", headers=h,
                        json={"group_id": off["sued"].id, "name": "Südwind KG neu"})
    assert resp.status_code == 200 and resp.get_json()["group"]["id"] == off["sued"].id
    db.session.expire_all()
    assert db.session.get(Company, off["c"].id).name == "Südwind KG neu"


def test_page_forms_refuse_a_change_of_group(client, make, off):
    make.login(client, off["u"])
    form = client.get(f"/companies/{off['c'].id}/edit").text
    assert 'name="group_id"' not in form  # the field is not offered while the system is off
    before = rows()
    resp = client.post(f"/companies/{off['c'].id}/edit", data={"name": "Umgezogen", "group_id": off["nord"].id})
    assert resp.status_code == 400 and OFF in resp.text
    assert rows() == before and db.session.get(Company, off["c"].id).name == "Südwind KG"
    resp = client.post(f"/companies/{off['c'].id}/edit", data={"name": "Gleich", "group_id": off["sued"].id})
    assert resp.status_code == 302 and db.session.get(Company, off["c"].id).group_id == off["sued"].id
    resp = client.post(f"/companies/{off['c'].id}/edit", data={"name": "Ohne Feld"})
    assert resp.status_code == 302 and db.session.get(Company, off["c"].id).group_id == off["sued"].id
    # new records: the default group; another group is refused
    resp = client.post("/companies/new", data={"name": "Neu in Basis?", "group_id": BASIS_ID})
    assert resp.status_code == 400 and OFF in resp.text
    assert db.session.scalar(select(Company.id).where(Company.name == "Neu in Basis?")) is None
    resp = client.post("/companies/new", data={"name": "Neu"})
    assert resp.status_code == 302
    assert db.session.scalar(select(Company.group_id).where(Company.name == "Neu")) == off["nord"].id
    resp = client.post("/people/new", data={"last_name": "Nordmann", "salutation": "", "group_id": off["nord"].id})
    assert resp.status_code == 302, re.findall(r"error[^>]*>([^<]*)", resp.text)
    assert db.session.scalar(select(Person.group_id).where(Person.last_name == "Nordmann")) == off["nord"].id


def test_new_from_a_parent_while_off_takes_the_parents_group_if_a_member(client, make, off):
    make.login(client, off["admin"])  # a member of Süd
    resp = client.post(f"/deals/new?company_id={off['c'].id}", data={"name": "Vom Elternteil"})
    assert resp.status_code == 302
    assert db.session.scalar(select(Deal.group_id).where(Deal.name == "Vom Elternteil")) == off["sued"].id


def upload(client, text: str) -> int:
    resp = client.post("/import", data={"record_type": "company", "file": (io.BytesIO(text.encode()), "x.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return int(re.search(r"/import/(\d+)/map", resp.headers["Location"]).group(1))


def test_import_refuses_a_target_group_while_off(client, make, off):
    ext = make.user("extended", groups=[off["nord"]])
    make.login(client, ext)
    job_id = upload(client, "Name\nImportiert GmbH\n")
    assert 'name="group_id"' not in client.get(f"/import/{job_id}/map").text
    resp = client.post(f"/import/{job_id}/map", data={"col-0": "name", "group_id": off["sued"].id})
    assert resp.status_code == 422 and OFF in resp.text
    assert db.session.get(ImportJob, job_id).status == "mapping"
    resp = client.post(f"/import/{job_id}/map", data={"col-0": "name"})
    assert resp.status_code == 302
    assert db.session.scalar(select(Company.group_id).where(Company.name == "Importiert GmbH")) == BASIS_ID


def test_import_queued_with_a_group_fails_when_the_system_is_off_by_its_run(client, make, off, monkeypatch):
    from crm.imports import services

    ext = make.user("extended", groups=[off["nord"]])
    make.enable_groups()
    make.login(client, ext)
    monkeypatch.setattr(services, "start", lambda job: None)  # queued, not run yet
    job_id = upload(client, "Name\nSpäter GmbH\n")
    assert client.post(f"/import/{job_id}/map", data={"col-0": "name", "group_id": off["nord"].id}).status_code == 302
    make.enable_groups(False)
    services.run(job_id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == "failed" and job.message == OFF
    assert db.session.scalar(select(Company.id).where(Company.name == "Später GmbH")) is None


def test_undo_of_an_assignment_is_refused_while_off_and_works_after(client, make, off):
    make.enable_groups()
    make.login(client, off["admin"])
    resp = client.post("/companies/bulk/assign", data={
        "scope": "ids", "ids": [str(off["c"].id)], "target_id": str(off["nord"].id),
        "cascade": ["people"], "step": "run"}, headers=HX)
    assert resp.status_code == 200
    entry_id = db.session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.action == "group_assigned"))
    make.enable_groups(False)
    before = rows()
    resp = client.post(f"/companies/bulk/undo/{entry_id}", data={})
    assert resp.status_code == 302
    assert OFF in client.get(resp.headers["Location"]).text
    assert rows() == before
    assert db.session.get(AuditEntry, entry_id).undone_at is None  # not used up by the refusal
    make.enable_groups()
    client.post(f"/companies/bulk/undo/{entry_id}", data={})
    db.session.expire_all()
    assert db.session.get(Company, off["c"].id).group_id == off["sued"].id
    assert db.session.get(Person, off["p"].id).group_id == off["sued"].id


def test_deleting_a_group_that_holds_records_is_refused_while_off(client, make, off):
    """Group administration, but it would move the group's records: refused (page and API) until
    the system is on again; an empty group can be deleted."""
    empty = make.group("Leer")
    make.login(client, off["admin"])
    before = rows()
    resp = client.post(f"/settings/groups/{off['sued'].id}/delete", data={"move_to": str(off["nord"].id)})
    assert resp.status_code == 400 and OFF in resp.text
    resp = client.delete(f"/api/v1/groups/{off['sued'].id}?move_to={off['nord'].id}", headers=bearer(off["admin"]))
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "groups_off"
    assert rows() == before and db.session.get(Group, off["sued"].id) is not None
    assert client.post(f"/settings/groups/{empty.id}/delete", data={}).status_code == 302
    make.enable_groups()
    resp = client.delete(f"/api/v1/groups/{off['sued'].id}?move_to={off['nord'].id}", headers=bearer(off["admin"]))
    assert resp.status_code == 204
    assert db.session.get(Project, off["pr"].id).group_id == off["nord"].id


# ---------------------------------------------------------------------------------------------
# 4. Tags of records a user cannot fully see
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def tags(make):
    """Groups on. ``u`` is in Nord; Süd's companies are restricted for u (a shared field), Süd's
    people hidden. "Geheim" is only on a restricted company, "Intern" only on a hidden person,
    "Messe" on u's own company."""
    make.enable_groups()
    u = make.user("normal")
    sued_user = make.user("normal")
    nord = make.group("Nord", [u])
    sued = make.group("Süd", [sued_user])
    make.field("company", "Kundenstatus", shared_with=[nord])
    own = make.company("Eigene GmbH", group=nord, tags=["Messe"])
    other = make.company("Zweite GmbH", group=nord)
    restricted = make.company("Südwind KG", group=sued, tags=["Geheim"])
    hidden = make.person("Verborgen", group=sued, tags=["Intern"])
    return {"u": u, "sued_user": sued_user, "own": own, "other": other, "restricted": restricted,
            "hidden": hidden}


def names_of(key: str, rid: int) -> set[str]:
    table = TAG_TABLES[key]
    db.session.expire_all()
    return set(db.session.scalars(select(Tag.name).join(table, table.c.tag_id == Tag.id)
                                  .where(table.c[f"{key}_id"] == rid)))


def _normal(text: str, name: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", text).replace(name, "NAME")


def remove(client, plural: str, rid: int, name: str):
    return client.post(f"/{plural}/bulk/tag", data={"scope": "ids", "ids": [str(rid)], "tag_name": name,
                                                    "mode": "remove", "step": "run"}, headers=HX)


def test_a_records_tags_and_the_tag_filter_name_only_what_the_user_fully_sees(client, make, tags):
    """A record's tags (detail page, API: load_tags) and the list's tag filter are read past the
    safety net's rules for tags, with the record's rule written out: asked outside a request, where
    no net helps, a record the user does not fully see has no tags, and the filter finds only
    records the user fully sees. In a request the record's tags come by that statement alone."""
    from crm.extensions import db as _db
    from crm.records.loaders import fully_visible_records, load_tags
    from crm.records.queries import ListFilter, filtered
    from crm.records.types import TYPES
    from crm.visibility import viewer_for
    from tests.factories import statements_of

    viewer = viewer_for(tags["u"])
    company, person = TYPES["company"], TYPES["person"]
    mine = fully_visible_records(company, [tags["own"].id, tags["restricted"].id], viewer)
    assert [(c.name, [t.name for t in c.tags]) for c in mine] == [("Eigene GmbH", ["Messe"])]
    # objects the caller got elsewhere (outside the rule): their tags are none of this user's
    others = [_db.session.get(Company, tags["restricted"].id), _db.session.get(Person, tags["hidden"].id)]
    load_tags(company, others[:1], viewer)
    load_tags(person, others[1:], viewer)
    assert [o.tags for o in others] == [[], []]
    _db.session.expire_all()
    for rtype, name in ((company, "Geheim"), (company, "Messe"), (person, "Intern")):
        found = _db.session.scalars(select(rtype.model.name if rtype is company else rtype.model.last_name)
                                    .where(filtered(rtype, viewer, ListFilter(tag=name)))).all()
        assert found == (["Eigene GmbH"] if name == "Messe" else []), name
    make.login(client, tags["u"])
    with statements_of(_db.engine) as seen:
        page = client.get(f"/companies/{tags['own'].id}").text
    assert "Messe" in page
    read = [s for s in seen if "company_tags" in s]
    assert read and not any("vis_" in s for s in read), read
    with statements_of(_db.engine) as seen:
        assert "Eigene GmbH" in client.get("/companies?tag=Messe").text
    assert not any("vis_company_tag" in s for s in seen if "companies.name" in s), seen


def test_remove_tag_answers_alike_for_a_hidden_tag_and_no_tag(client, make, tags):
    make.login(client, tags["u"])
    for plural, rid in (("companies", tags["own"].id), ("people", make.person("Eigen", group=None).id)):
        nowhere = remove(client, plural, rid, "Nirgends")
        assert nowhere.status_code == 422
        for name in ("Geheim", "geheim", "Intern", "INTERN"):
            resp = remove(client, plural, rid, name)
            assert (resp.status_code, _normal(resp.text, name)) == (422, _normal(nowhere.text, "Nirgends")), name
    # a tag the user sees elsewhere, but not on the selection: removed from 0 (seen, so no leak)
    resp = remove(client, "companies", tags["other"].id, "messe")
    assert resp.status_code == 200
    assert names_of("company", tags["restricted"].id) == {"Geheim"}
    assert names_of("person", tags["hidden"].id) == {"Intern"}


def test_a_typed_tag_keeps_the_users_spelling_not_a_hidden_ones(client, make, tags):
    own, other = tags["own"].id, tags["other"].id
    h = bearer(tags["u"])
    resp = client.patch(f"/api/v1/companies/{own}", headers=h, json={"tags": ["Messe", "geheim"]})
    assert resp.status_code == 200 and sorted(resp.get_json()["tags"]) == ["Messe", "geheim"]
    make.login(client, tags["u"])
    resp = client.post(f"/companies/{other}/edit", data={"name": "Zweite GmbH", "group_id": tags["own"].group_id,
                                                         "tags": "intern"})
    assert resp.status_code == 302 and names_of("company", other) == {"intern"}
    resp = client.post("/companies/bulk/tag", data={"scope": "ids", "ids": [str(other)], "tag_name": "GEHEIM",
                                                    "mode": "add", "step": "run"}, headers=HX)
    assert resp.status_code == 200
    # "geheim" is on a record u sees now: u's spelling, reused for u's next record
    assert names_of("company", other) == {"intern", "geheim"}
    # the hidden records keep theirs, and their users see their own spelling
    assert names_of("company", tags["restricted"].id) == {"Geheim"}
    assert names_of("person", tags["hidden"].id) == {"Intern"}
    resp = client.get(f"/api/v1/companies/{tags['restricted'].id}", headers=bearer(tags["sued_user"]))
    assert resp.get_json()["tags"] == ["Geheim"]
    # the filter choices name only what u sees
    page = client.get("/companies").text
    assert "Geheim" not in page.replace("geheim", "") and "Intern" not in page


def test_same_spelling_reuses_the_one_tag_and_seen_tags_stay_one(client, make, tags):
    """The exact spelling of a hidden tag tells nothing (it is the user's own): the row is reused,
    not a second one made (tags.name is unique). A tag the user sees is reused whatever its case."""
    h = bearer(tags["u"])
    resp = client.patch(f"/api/v1/companies/{tags['own'].id}", headers=h, json={"tags": ["Messe", "Geheim"]})
    assert resp.status_code == 200 and sorted(resp.get_json()["tags"]) == ["Geheim", "Messe"]
    resp = client.patch(f"/api/v1/companies/{tags['other'].id}", headers=h, json={"tags": ["MESSE"]})
    assert resp.status_code == 200 and resp.get_json()["tags"] == ["Messe"]
    counts = dict(db.session.execute(select(Tag.name, func.count()).group_by(Tag.name)).all())
    assert counts == {"Messe": 1, "Geheim": 1, "Intern": 1}


def test_answers_do_not_change_when_only_hidden_tags_do(client, make, tags):
    """Answer equivalence: the same requests, before and after the hidden records' tags are gone."""
    make.login(client, tags["u"])
    h = bearer(tags["u"])
    own = tags["own"].id

    def answers():
        out = []
        for name in ("Geheim", "geheim", "Intern"):
            out.append(_normal(remove(client, "companies", own, name).text, name))
        out.append(client.get("/companies").text)
        out.append(client.post("/companies/bulk/tag", data={"scope": "ids", "ids": [str(own)], "mode": "add"},
                               headers=HX).text)
        out.append(client.get("/companies?tag=Geheim").text)
        out = [re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]*"', "", a) for a in out]
        # the last-change column: the PATCH of the user's own "other" company between the rounds
        # moves its time, into the next minute when the clock passes one in between
        return [re.sub(r"<td>\d\d\.\d\d\.\d\d, \d\d:\d\d</td>", "<td>(time)</td>", a) for a in out]

    first = answers()
    with_hidden = client.patch(f"/api/v1/companies/{tags['other'].id}", headers=h, json={"tags": ["geheim"]})
    # world without the hidden tags
    for key, rid in (("company", tags["restricted"].id), ("person", tags["hidden"].id), ("company", tags["other"].id)):
        db.session.execute(delete(TAG_TABLES[key]).where(TAG_TABLES[key].c[f"{key}_id"] == rid))
    db.session.execute(delete(Tag).where(Tag.name.in_(["Geheim", "Intern", "geheim"])))
    db.session.commit()
    second = answers()
    for a, b in zip(first, second, strict=True):
        if a != b:
            print("\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="")))
    assert second == first
    without = client.patch(f"/api/v1/companies/{tags['other'].id}", headers=h, json={"tags": ["geheim"]})
    strip = ("updated_at", "version")
    assert ({k: v for k, v in with_hidden.get_json().items() if k not in strip}
            == {k: v for k, v in without.get_json().items() if k not in strip})


def test_the_lists_tags_name_only_what_the_user_fully_sees(client, make, tags):
    """A list's tag menu and its rows' tags are read past the safety net (the net's copy of the tag
    rule only repeated the statements' own): their own rules must keep out the tags of restricted,
    hidden and deleted records - asked directly, outside a request, where no net helps."""
    from crm.records import queries
    from crm.records.types import TYPES
    from crm.visibility import viewer_for

    nord = db.session.get(Group, tags["own"].group_id)
    gone = make.company("Alte GmbH", group=nord, tags=["Altlast"])
    gone.deleted_at = gone.created_at
    pending = make.company("Halbe GmbH", group=nord, tags=["Halbfertig"])
    pending.pending_import_id = 1  # (a row an import is still writing)
    # groups whose only company is deleted or pending: not among the group choices
    for name, status in (("Ost", "deleted"), ("West", "pending")):
        other = make.company(f"{name} KG", group=make.group(name), tags=[f"Nur{name}"])
        if status == "deleted":
            other.deleted_at = other.created_at
        else:
            other.pending_import_id = 1
    db.session.commit()
    viewer = viewer_for(tags["u"])
    company, person = TYPES["company"], TYPES["person"]
    ids = [tags["own"].id, tags["other"].id, tags["restricted"].id, gone.id]
    assert queries.tags_for(company, ids, viewer) == {tags["own"].id: ["Messe"]}
    assert queries.tags_for(person, [tags["hidden"].id], viewer) == {}
    names, groups = queries.tag_and_group_choices(company, viewer)
    assert names == ["Messe"]
    assert "Süd" in [g.name for g in groups]  # the restricted company's
    assert not {"Ost", "West"} & {g.name for g in groups}
    assert queries.all_tags(person, viewer) == []
    # and as the pages show them: the restricted company is listed, its tag is not
    make.login(client, tags["u"])
    page = client.get("/companies").text
    assert "Südwind KG" in page and "Messe" in page
    assert "Geheim" not in page and "Altlast" not in page and "Halbfertig" not in page
    assert "Intern" not in client.get("/people").text
    # the other user sees their tags as ever
    viewer = viewer_for(tags["sued_user"])
    assert queries.tags_for(company, ids, viewer) == {tags["restricted"].id: ["Geheim"]}
    assert queries.all_tags(person, viewer) == ["Intern"]
    # with the group system off: every record's tags but the deleted and pending ones'
    make.enable_groups(False)
    viewer = viewer_for(tags["u"])
    assert queries.all_tags(company, viewer) == ["Geheim", "Messe"]
    assert queries.tag_and_group_choices(company, viewer) == (["Geheim", "Messe"], ())
    assert queries.tags_for(company, [*ids, pending.id], viewer) == {tags["own"].id: ["Messe"],
                                                                     tags["restricted"].id: ["Geheim"]}
