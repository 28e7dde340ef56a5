"""Regression tests of issue 12, findings 3, 5, 7, 8 and 10: the edges of the trust rules
(product.md §8) - ids in forms, related lists, "who can see this", undo ids, URLs, CSV cells and
id lists."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from crm.auth.services import issue_token
from crm.extensions import db
from crm.models import Company, Deal


@pytest.fixture
def w(make) -> SimpleNamespace:
    """Groups on. ``u`` (normal) and ``boss`` (admin) are in Nord; ``sven`` in Süd. The company field
    "Kundenstatus" is shared with Nord: Süd's companies are restricted for Nord. Nothing else is
    shared: Süd's people, deals and projects are hidden for Nord."""
    make.enable_groups()
    u = make.user("normal", name="Nora Normal")
    boss = make.user("admin", name="Ada Admin")
    sven = make.user("normal", name="Sven Süd")
    nord = make.group("Nord", [u, boss])
    sued = make.group("Süd", [sven])
    make.field("company", "Kundenstatus", shared_with=[nord])
    c_nord = make.company("Nordlicht GmbH", group=nord)
    # ids no page has otherwise, so that a test can look for them anywhere in an answer
    c_sued = make.company("Südwind KG", group=sued, id=4711)  # restricted for u
    p_sued = make.person("Geheim", "Gustav", group=sued, company=c_nord, id=4712)  # hidden for u
    return SimpleNamespace(**locals())


def _hidden_values(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'<input[^>]*name="(\w+_id)"[^>]*value="([^"]*)"', html)}


# -- finding 3: forms carry no id of a record the user cannot fully see ----------------------------

def test_edit_form_carries_no_hidden_or_restricted_id_and_keeps_the_link(client, make, w):
    person = make.person("Link", "Lena", group=w.nord, company=w.c_sued)  # employer restricted for u
    d = make.deal("Link-Deal", group=w.nord, company=w.c_sued, person=w.p_sued)  # person hidden for u
    make.login(client, w.u)
    page = client.get(f"/people/{person.id}/edit").get_data(as_text=True)
    assert _hidden_values(page)["company_id"] == "unchanged"
    page = client.get(f"/deals/{d.id}/edit").get_data(as_text=True)
    values = _hidden_values(page)
    assert values["company_id"] == values["person_id"] == "unchanged"
    assert "4711" not in page and "4712" not in page
    assert 'class="placeholder"' in page
    # saving the form as it came keeps both links
    resp = client.post(f"/deals/{d.id}/edit", data={"name": "Link-Deal 2", "company_id": "unchanged",
                                                     "person_id": "unchanged", "currency": "EUR",
                                                     "stage": "open", "group_id": w.nord.id})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    deal = db.session.get(Deal, d.id)
    assert (deal.name, deal.company_id, deal.person_id) == ("Link-Deal 2", w.c_sued.id, w.p_sued.id)


def test_a_hidden_id_cannot_be_set_nor_confirmed_as_the_current_link(client, make, w):
    """Sending the hidden current target's id is refused exactly like a missing id (else the user
    could find out which record the placeholder stands for), and the link stays as it was."""
    d = make.deal("Link-Deal", group=w.nord, person=w.p_sued)
    mine = make.deal("Mein Deal", group=w.nord)
    make.login(client, w.u)
    base = {"name": "X", "currency": "EUR", "stage": "open", "group_id": w.nord.id}
    answers = []
    for target, probe in ((d, w.p_sued.id), (d, 999_999), (mine, w.p_sued.id), (mine, 999_999)):
        resp = client.post(f"/deals/{target.id}/edit", data={**base, "person_id": str(probe)})
        assert resp.status_code == 400
        page = resp.get_data(as_text=True)
        assert "4712" not in page
        answers.append(re.sub(r"/deals/\d+", "", make.without_csrf(page)))
    assert answers[0] == answers[1] and answers[2] == answers[3]
    db.session.expire_all()
    assert db.session.get(Deal, d.id).person_id == w.p_sued.id
    assert db.session.get(Deal, mine.id).person_id is None


def test_the_placeholder_link_can_still_be_removed(client, make, w):
    d = make.deal("Link-Deal", group=w.nord, person=w.p_sued)
    make.login(client, w.u)
    resp = client.post(f"/deals/{d.id}/edit", data={"name": "X", "currency": "EUR", "stage": "open",
                                                     "group_id": w.nord.id, "person_id": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Deal, d.id).person_id is None


def test_new_from_parent_takes_only_links_the_user_fully_sees(app, client, make, w):
    p = make.person("Link", "Lena", group=w.nord, company=w.c_sued)
    d = make.deal("Link-Deal", group=w.nord, company=w.c_nord, person=w.p_sued)
    make.login(client, w.u)
    page = client.get(f"/deals/new?person_id={p.id}").get_data(as_text=True)
    assert _hidden_values(page) == {"company_id": "", "person_id": str(p.id)}
    assert "4711" not in page
    page = client.get(f"/projects/new?deal_id={d.id}").get_data(as_text=True)
    assert _hidden_values(page) == {"company_id": str(w.c_nord.id), "person_id": ""}
    # a user who sees everything gets both
    other = app.test_client()
    make.login(other, w.sven)
    page = other.get(f"/projects/new?person_id={w.p_sued.id}").get_data(as_text=True)
    assert _hidden_values(page)["person_id"] == str(w.p_sued.id)


def test_api_keeps_a_hidden_link_and_refuses_its_id(client, make, w):
    d = make.deal("Link-Deal", group=w.nord, person=w.p_sued)
    token = issue_token(w.u)
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/deals/{d.id}", headers=headers).get_json()
    assert body["person_id"] is None and str(w.p_sued.id) not in str(body)
    resp = client.patch(f"/api/v1/deals/{d.id}", headers=headers, json={"name": "Neu"})
    assert resp.status_code == 200
    hidden = client.patch(f"/api/v1/deals/{d.id}", headers=headers, json={"person_id": w.p_sued.id})
    missing = client.patch(f"/api/v1/deals/{d.id}", headers=headers, json={"person_id": 999_999})
    assert hidden.status_code == missing.status_code == 422
    assert hidden.get_json() == missing.get_json()
    db.session.expire_all()
    assert db.session.get(Deal, d.id).person_id == w.p_sued.id


# -- finding 5: related lists show fully visible records only --------------------------------------

def test_related_lists_name_no_restricted_record(client, make, w):
    make.field("project", "Phase", shared_with=[w.nord])  # Süd's projects: restricted for u
    make.field("person", "Rolle", shared_with=[w.nord])  # Süd's people: restricted for u
    make.project("Geheimprojekt Süd", group=w.sued, company=w.c_nord)
    make.project("Nordprojekt", group=w.nord, company=w.c_nord)
    make.deal("Süd-Angebot", group=w.sued, company=w.c_nord)  # hidden (no deal field shared)
    make.login(client, w.u)
    assert client.get("/projects").get_data(as_text=True).count("Geheimprojekt Süd") == 1  # restricted, listed
    page = client.get(f"/companies/{w.c_nord.id}").get_data(as_text=True)
    for name in ("Geheimprojekt Süd", "Gustav", "Süd-Angebot", "4712"):
        assert name not in page
    assert "Nordprojekt" in page
    related = {m.group(1): int(m.group(2)) for m in re.finditer(
        r'id="related-(\w+)">.*?<small>\((\d+)\)</small>', page, re.S)}
    assert related == {"people": 0, "deals": 0, "projects": 1}


def test_related_list_counts_and_more_link_leave_restricted_records_out(client, make, w):
    make.field("person", "Rolle", shared_with=[w.nord])
    for i in range(30):
        make.person(f"Süd {i:02}", group=w.sued, company=w.c_nord)
    for i in range(3):
        make.person(f"Nord {i:02}", group=w.nord, company=w.c_nord)
    make.login(client, w.u)
    page = client.get(f"/companies/{w.c_nord.id}").get_data(as_text=True)
    assert "Süd 0" not in page and "weitere" not in page
    assert re.search(r'id="related-people">.*?<small>\(3\)</small>', page, re.S)


# -- finding 7: "Wer kann das sehen?" - the full panel for admins, one's own line for others -------

def _access(client, record_id: int):
    return client.get(f"/companies/{record_id}/access", headers={
        "Accept-Language": "en", "HX-Request": "true", "HX-Target": "access-body"})


def test_who_can_see_this_shows_others_only_their_own_access(app, client, make, w):
    make.field("company", "Umsatz", shared_with=[w.sued])  # shared with a group u is not in
    c = make.company("Nordkunde", group=w.nord)
    make.login(client, w.u)
    panel = _access(client, c.id).get_data(as_text=True)
    assert "Nora Normal" in panel and "member of Nord" in panel
    for other in ("Ada Admin", "Sven Süd", "Umsatz", "Kundenstatus", "Süd", "@example.com"):
        assert other not in panel, other
    assert len(re.findall(r"<tr class=\"access-", panel)) == 1
    full = client.get(f"/companies/{c.id}/access", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Sven Süd" not in full and "Ada Admin" not in full
    # the admin sees everyone, the field-sharing reasons included
    admin = app.test_client()
    make.login(admin, w.boss)
    panel = _access(admin, c.id).get_data(as_text=True)
    for name in ("Nora Normal", "Ada Admin", "Sven Süd", "Umsatz"):
        assert name in panel, name


def test_who_can_see_this_answers_a_hidden_record_like_a_missing_one(client, make, w):
    make.login(client, w.u)
    hidden = client.get(f"/people/{w.p_sued.id}/access")
    missing = client.get("/people/999999/access")
    assert hidden.status_code == missing.status_code == 404
    assert make.without_csrf(hidden.get_data()) == make.without_csrf(missing.get_data())


# -- finding 8: ids of someone else's things answer like ids that do not exist --------------------

def _same_answer(a, b) -> None:
    from tests.factories import without_csrf

    assert a.status_code == b.status_code, (a.status_code, b.status_code)
    assert without_csrf(a.get_data()) == without_csrf(b.get_data())


def test_undo_of_someone_elses_assignment_is_a_404_like_a_missing_one(app, client, make, w):
    from crm.audit.models import AuditEntry
    from crm.records.assign import assign_group
    from crm.records.types import TYPES

    c = make.company("Zu verschieben", group=w.nord)
    with make.acting_as(app, w.boss) as viewer:  # the admin's assignment
        assign_group(TYPES["company"], [c.id], w.sued.id, viewer)
        db.session.commit()
    entry_id = db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "group_assigned"))
    make.login(client, w.u)
    for headers in ({}, {"HX-Request": "true", "HX-Target": "bulk-message"}):
        theirs = client.post(f"/companies/bulk/undo/{entry_id}", headers=headers)
        missing = client.post(f"/companies/bulk/undo/{entry_id + 1000}", headers=headers)
        assert theirs.status_code == 404
        _same_answer(theirs, missing)
    db.session.expire_all()
    assert db.session.get(Company, c.id).group_id == w.sued.id


def test_other_id_addressed_things_answer_like_missing_ones(app, client, make, w):
    """Notes, tasks and import jobs of others (or of hidden records) answer exactly as ids that
    were never used."""
    from crm.imports.services import create_job

    hidden_note = make.note(w.p_sued, "geheim")
    private_task = make.task("Privat", created_by=w.sven, assignee=w.sven)
    hidden_task = make.task("Süd-Aufgabe", record=w.p_sued, created_by=w.sven)
    ext = make.user("extended", groups=[w.nord])
    other_ext = make.user("extended", groups=[w.nord])
    job = create_job(other_ext, "company", "firmen.csv", b"name\nAcme\n")
    db.session.commit()
    make.login(client, ext)
    for method, url, missing in (
        ("post", f"/notes/{hidden_note.id}/delete", "/notes/999999/delete"),
        ("post", f"/tasks/{private_task.id}/toggle", "/tasks/999999/toggle"),
        ("post", f"/tasks/{hidden_task.id}/delete", "/tasks/999999/delete"),
        ("get", f"/import/{job.id}", "/import/999999"),
        ("get", f"/import/{job.id}/map", "/import/999999/map"),
        ("post", f"/import/{job.id}/preview", "/import/999999/preview"),
        ("post", f"/import/{job.id}/undo", "/import/999999/undo"),
    ):
        theirs, none = getattr(client, method)(url), getattr(client, method)(missing)
        assert theirs.status_code == 404, url
        _same_answer(theirs, none)


# -- finding 10: URLs, CSV header cells, id lists ---------------------------------------------------

EVIL = "javascript://x/%0aalert(1)"


def test_a_web_address_must_be_http_or_https_everywhere_it_is_stored(app, client, make, w):
    url_field = make.field("company", "Link", kind="url")
    c = make.company("Acme", group=w.nord)
    make.login(client, w.u)
    not_web = "Keine Webadresse (http:// oder https://)."
    control = "Enthält Zeichen, die nicht gespeichert werden können."
    for evil, message in ((EVIL, not_web), ("JavaScript:alert(1)", not_web), ("data:text/html,<b>x</b>", not_web),
                          (" java\tscript://x/%0aalert(1)", control)):
        resp = client.post(f"/companies/{c.id}/edit", data={"name": "Acme", "website": evil, "group_id": w.nord.id})
        assert resp.status_code == 400 and message in resp.get_data(as_text=True)
        resp = client.post(f"/companies/{c.id}/edit", data={"name": "Acme", f"cf_{url_field.id}": evil,
                                                             "group_id": w.nord.id})
        assert resp.status_code == 400
        resp = client.post("/companies/new", data={"name": "Neu", "website": evil, "group_id": w.nord.id})
        assert resp.status_code == 400
    headers = {"Authorization": f"Bearer {issue_token(w.u)}"}
    resp = client.post("/api/v1/companies", headers=headers, json={"name": "Neu", "website": EVIL})
    assert resp.status_code == 422 and "website" in resp.get_json()["error"]["fields"]
    resp = client.patch(f"/api/v1/companies/{c.id}", headers=headers, json={"custom_fields": {"Link": EVIL}})
    assert resp.status_code == 422
    ok = client.patch(f"/api/v1/companies/{c.id}", headers=headers,
                      json={"website": "https://acme.example/pfad?x=1", "custom_fields": {"Link": "http://x.example"}})
    assert ok.status_code == 200
    db.session.expire_all()
    assert db.session.get(Company, c.id).website == "https://acme.example/pfad?x=1"
    assert db.session.scalar(select(Company.id).where(Company.website.like("%javascript%"))) is None


def test_a_stored_non_http_address_is_shown_as_text_not_as_a_link(client, make, w):
    url_field = make.field("company", "Link", kind="url")
    c = make.company("Altlast", group=w.nord, website=EVIL)
    make.value(url_field, c, "javascript:alert(2)")
    good = make.company("Gut", group=w.nord, website="https://gut.example")
    make.login(client, w.u)
    for page in (client.get(f"/companies/{c.id}").get_data(as_text=True), client.get("/companies").get_data(
            as_text=True)):
        assert 'href="javascript' not in page.lower()
        assert "javascript://x/%0aalert(1)" in page  # shown, as text
    assert 'href="https://gut.example"' in client.get(f"/companies/{good.id}").get_data(as_text=True)
    assert 'href="javascript' not in client.get(f"/companies/{c.id}").get_data(as_text=True)


def test_csv_header_cells_are_formula_escaped(client, make, w):
    make.field("company", "=HYPERLINK(\"http://evil.example\")")
    make.field("company", "@SUM(1)")
    make.company("Acme", group=w.nord)
    ext = make.user("extended", groups=[w.nord])
    make.login(client, ext)
    header = client.get("/companies/export.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()[0]
    assert "'=HYPERLINK" in header and "'@SUM(1)" in header
    assert ',"=HYPERLINK' not in header and ",=HYPERLINK" not in header and ",@SUM" not in header


@pytest.mark.parametrize("ids", ["²", "99999999999999999999", "1,abc", "-1", "0", "1.5", "٣", "9" * 5000])
def test_export_refuses_a_bad_id_list_before_streaming(client, make, w, ids):
    make.company("Acme", group=w.nord)
    ext = make.user("extended", groups=[w.nord])
    make.login(client, ext)
    for plural in ("companies", "people", "deals", "projects"):
        resp = client.get(f"/{plural}/export.csv", query_string={"ids": ids})
        assert resp.status_code == 400, (plural, ids)
        page = resp.get_data(as_text=True)
        assert 'class="error-page"' in page and "„ids“ muss aus Datensatz-IDs bestehen" in page


def test_export_takes_a_good_id_list_with_blanks(client, make, w):
    a = make.company("Acme", group=w.nord)
    make.company("Beta", group=w.nord)
    ext = make.user("extended", groups=[w.nord])
    make.login(client, ext)
    resp = client.get("/companies/export.csv", query_string={"ids": f" {a.id}, ,{a.id},"})
    assert resp.status_code == 200
    rows = resp.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert len(rows) == 2 and "Acme" in rows[1]
    assert client.get("/companies/export.csv", query_string={"ids": ""}).status_code == 200


def test_import_group_id_takes_ascii_ids_only(client, make, w):
    """``type=int`` took "٣" (an Arabic-Indic three) as group 3."""
    from crm.imports.models import ImportJob
    from crm.imports.services import create_job

    ext = make.user("extended", groups=[w.nord, w.sued])
    job = create_job(ext, "company", "firmen.csv", b"name\nAcme\n")
    db.session.commit()
    make.login(client, ext)
    assert w.sued.id == 3
    for value in ("٣", "²", "99999999999999999999", "3.0"):
        resp = client.post(f"/import/{job.id}/map", data={"col-0": "name", "group_id": value})
        assert resp.status_code == 422, value
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "mapping"
