"""The record pages as a user meets them: lists, detail, forms, notes, tasks, deletion."""
import re

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Company, CustomFieldValue, Deal, Note, Person, Task


@pytest.fixture
def user(make, client):
    u = make.user("normal", name="Nora Normal")
    make.login(client, u)
    return u


@pytest.mark.parametrize("plural", ["companies", "people", "deals", "projects"])
def test_list_pages_show_records(client, make, user, plural):
    c = make.company("Kontorhaus GmbH")
    make.person("Kurz", company=c)
    make.deal("Großauftrag", company=c, value=1234)
    make.project("Umbau Halle 3", company=c)
    body = client.get(f"/{plural}").get_data(as_text=True)
    expected = {"companies": "Kontorhaus GmbH", "people": "Kurz", "deals": "Großauftrag", "projects": "Umbau Halle 3"}
    assert expected[plural] in body
    assert "1 Datensatz" in body or "1 record" in body


def test_each_row_links_and_names_its_own_record_escaped(client, make, user):
    """A list's links and its rows' labels are made once per page and filled per row: each row has
    its own record's and company's link and its "Select …" label, the name escaped, in German and
    in English."""
    odd = make.company('<b>Tom & "Jerry"</b>')
    plain = make.company("Kontor §name§ GmbH")
    person = make.person("Kurz", company=odd)
    deal = make.deal("Großauftrag", company=odd, value=12)
    project = make.project("Umbau", company=odd)
    name = "&lt;b&gt;Tom &amp; &#34;Jerry&#34;&lt;/b&gt;"

    def row(html: str, rid: int) -> str:
        return html.split(f'id="row-{rid}"', 1)[1].split("</tr>", 1)[0]

    for locale, label in (("de", "{} auswählen"), ("en", "Select {}")):
        user.locale = locale
        db.session.commit()
        html = client.get("/companies").get_data(as_text=True)
        assert "<b>Tom" not in html
        mine = row(html, odd.id)
        assert f'href="/companies/{odd.id}">{name}</a>' in mine
        assert f'aria-label="{label.format(name)}"' in mine and f'value="{odd.id}"' in mine
        other = row(html, plain.id)
        assert f'href="/companies/{plain.id}">Kontor §name§ GmbH</a>' in other
        assert f'aria-label="{label.format("Kontor §name§ GmbH")}"' in other
        html = client.get("/people").get_data(as_text=True)
        theirs = row(html, person.id)
        assert f'href="/people/{person.id}">Anna Kurz</a>' in theirs
        assert f'<a href="/companies/{odd.id}">{name}</a>' in theirs
        deal_cells = ['class="num"', "12", 'class="badge stage-open"']
        for plural, rid, cells in (("deals", deal.id, deal_cells), ("projects", project.id, ["Umbau"])):
            mine = row(client.get(f"/{plural}").get_data(as_text=True), rid)
            assert f'href="/{plural}/{rid}">' in mine and f'<a href="/companies/{odd.id}">{name}</a>' in mine
            assert mine.count("<td") == (6 if plural == "deals" else 5), mine
            assert all(c in mine for c in cells), (plural, mine)


def test_a_restricted_row_shows_its_name_and_group_only(client, make):
    """A row the viewer sees restricted: its name (linked), the lock and its group; no checkbox,
    one placeholder over the type's cells."""
    make.enable_groups()
    u = make.user("normal")
    nord, sued = make.group("Nord", [u]), make.group("Süd")
    make.field("company", "Kundenstatus", shared_with=[nord])
    other = make.company("Südwind KG", group=sued, tags=["Geheim"], website="https://sued.example")
    make.login(client, u)
    html = client.get("/companies").get_data(as_text=True)
    mine = html.split(f'id="row-{other.id}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="restricted"' in html.split(f'id="row-{other.id}"', 1)[1][:30]
    assert f'href="/companies/{other.id}">Südwind KG</a>' in mine and 'class="lock"' in mine
    assert "data-select-id" not in mine and 'colspan="4"' in mine
    assert "Geheim" not in mine and "sued.example" not in mine and "Süd" in mine


def test_list_partial_for_htmx_target(client, make, user):
    make.company("Alpha AG")
    resp = client.get("/companies?q=alp", headers={"HX-Request": "true", "HX-Target": "record-list"})
    body = resp.get_data(as_text=True)
    assert "Alpha AG" in body and "<html" not in body
    boosted = client.get("/companies?q=alp", headers={"HX-Request": "true"})
    assert "<html" in boosted.get_data(as_text=True)
    assert "HX-Request" in resp.headers["Vary"]


def test_text_filter_by_name_email_and_phone(client, make, user):
    make.company("Nordlicht Logistik", emails=["info@nordlicht.example"])
    make.company("Südwind Bau")
    assert "Nordlicht" in client.get("/companies?q=nordl").get_data(as_text=True)
    by_mail = client.get("/companies?q=info@nordlicht").get_data(as_text=True)
    assert "Nordlicht" in by_mail and "Südwind" not in by_mail
    # case and umlauts do not matter for names
    assert "Südwind Bau" in client.get("/companies?q=SUDWIND").get_data(as_text=True)


def test_tag_filter_and_sorting(client, make, user):
    make.company("Beta", tags=["Messe"])
    make.company("Alpha")
    body = client.get("/companies?tag=Messe").get_data(as_text=True)
    assert "Beta" in body and ">Alpha<" not in body
    asc = client.get("/companies?sort=name").get_data(as_text=True)
    desc = client.get("/companies?sort=name&dir=desc").get_data(as_text=True)
    assert asc.index(">Alpha<") < asc.index(">Beta<")
    assert desc.index(">Beta<") < desc.index(">Alpha<")


def test_pagination(client, make, user, app):
    app.config["PAGE_SIZE"] = 5
    for i in range(12):
        make.company(f"Firma {i:02d}")
    page3 = client.get("/companies?page=3").get_data(as_text=True)
    assert "Firma 10" in page3 and "Firma 11" in page3 and "Firma 09" not in page3
    assert client.get("/companies?page=abc").status_code == 200  # junk page numbers fall back to 1


def test_create_company_with_custom_field(client, make, user):
    f = make.field("company", "Kundenstatus", "select", options=["Top-Kunde", "Neukunde"])
    resp = client.post("/companies/new", data={
        "name": "Hanse Logistik GmbH", "website": "https://hanse.example", "emails": "a@hanse.example\nb@hanse.example",
        "phones": "+49 40 123", "addresses": "Hafenstraße 1\n20457 Hamburg", "tags": "Messe, Kunde",
        "responsible_id": str(user.id), f"cf_{f.id}": "Top-Kunde",
    })
    assert resp.status_code == 302
    company = db.session.scalar(select(Company).where(Company.name == "Hanse Logistik GmbH"))
    assert company.created_by_id == user.id and company.group_id == 1
    assert sorted(t.name for t in company.tags) == ["Kunde", "Messe"]
    assert [d.value for d in company.contact_details if d.kind == "email"] == ["a@hanse.example", "b@hanse.example"]
    detail = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Top-Kunde" in detail and "Hafenstraße 1" in detail and "hanse.example" in detail


def test_form_errors_keep_input(client, make, user):
    resp = client.post("/companies/new", data={"name": "", "website": "https://kept.example",
                                               "background": "Typed text"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "https://kept.example" in body and "Typed text" in body
    assert 'aria-invalid="true"' in body


@pytest.mark.parametrize("data,field_message", [
    ({"name": "x" * 201}, "200"),
    ({"name": "Ok", "website": "not a url"}, "address"),
    ({"name": "Ok", "emails": "no-email"}, "no-email"),
])
def test_bad_company_input_is_explained(client, make, user, data, field_message):
    resp = client.post("/companies/new", data=data)
    assert resp.status_code == 400
    assert field_message in resp.get_data(as_text=True)
    assert db.session.scalar(select(Company)) is None


@pytest.mark.parametrize("value,ok", [("1.234,50", True), ("1234.50", True), ("-5", False), ("abc", False),
                                      ("1e20", False), ("", True)])
def test_deal_values(client, make, user, value, ok):
    resp = client.post("/deals/new", data={"name": "D", "value": value, "currency": "EUR", "stage": "open"})
    assert (resp.status_code == 302) == ok, resp.get_data(as_text=True)[:300]
    if ok and value:
        assert db.session.scalar(select(Deal)).value_cents == 123450


def test_link_to_unknown_or_hidden_company_is_refused(client, make, user):
    make.enable_groups()
    secret = make.group("Geheim")
    hidden = make.company("Versteckt", group=secret)
    for bad in (str(hidden.id), "999999", "abc"):
        resp = client.post("/people/new", data={"last_name": "Kurz", "company_id": bad})
        assert resp.status_code == 400
        assert "Versteckt" not in resp.get_data(as_text=True)
    assert db.session.scalar(select(Person)) is None


def test_new_deal_from_company_prefills_company(client, make, user):
    c = make.company("Prefill AG")
    body = client.get(f"/deals/new?company_id={c.id}").get_data(as_text=True)
    assert f'value="{c.id}"' in body and "Prefill AG" in body


def test_edit_and_conflict(client, make, user):
    c = make.company("Alt")
    form = client.get(f"/companies/{c.id}/edit").get_data(as_text=True)
    version = (re.search(r'name="version"[^>]*value="(\d+)"', form)
               or re.search(r'value="(\d+)"[^>]*name="version"', form))
    assert version
    # someone else saves first
    other = db.session.get(Company, c.id)
    other.name = "Von anderen"
    db.session.commit()
    resp = client.post(f"/companies/{c.id}/edit", data={"name": "Mein Name", "version": version.group(1)})
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "Mein Name" in body  # the user's input is kept
    assert db.session.get(Company, c.id).name == "Von anderen"
    fresh = re.search(r'name="version"[^>]*value="(\d+)"', body) or re.search(r'value="(\d+)"[^>]*name="version"', body)
    resp = client.post(f"/companies/{c.id}/edit", data={"name": "Mein Name", "version": fresh.group(1)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Company, c.id).name == "Mein Name"


def test_notes_in_place(client, make, user):
    c = make.company("Notizbuch AG")
    htmx = {"HX-Request": "true", "HX-Target": "notes"}
    resp = client.post(f"/companies/{c.id}/notes", data={"body": "Rückruf am Montag", "kind": "call"}, headers=htmx)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "Rückruf am Montag" in body and "<html" not in body
    empty = client.post(f"/companies/{c.id}/notes", data={"body": "  ", "kind": "call"}, headers=htmx)
    assert empty.status_code == 422
    assert db.session.scalar(select(Note)).author_id == user.id
    assert db.session.query(Note).count() == 1


def test_tasks_add_and_complete_in_place(client, make, user):
    c = make.company("Aufgaben AG")
    resp = client.post("/tasks", data={"title": "Angebot schicken", "record_type": "company", "record_id": str(c.id),
                                        "assignee_id": str(user.id)},
                       headers={"HX-Request": "true", "HX-Target": "tasks"})
    assert resp.status_code == 200 and "Angebot schicken" in resp.get_data(as_text=True)
    task = db.session.scalar(select(Task))
    assert task.company_id == c.id
    resp = client.post(f"/tasks/{task.id}/toggle", headers={"HX-Request": "true", "HX-Target": f"task-{task.id}"})
    assert resp.status_code == 200 and "done" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Task, task.id).done
    listed = client.get("/tasks?status=done").get_data(as_text=True)
    assert "Angebot schicken" in listed and "Aufgaben AG" in listed
    assert "Angebot schicken" in client.get("/tasks?scope=all&status=done").get_data(as_text=True)


def test_private_task_is_private(client, make, user):
    other = make.user()
    make.task("Geheime Aufgabe", created_by=other, assignee=other)
    assert "Geheime Aufgabe" not in client.get("/tasks?scope=all").get_data(as_text=True)


def test_home_shows_my_tasks_and_activity(client, make, user):
    c = make.company("Aktiv GmbH")
    make.note(c, "Erstgespräch geführt", author=user)
    make.task("Mein Termin", assignee=user, record=c)
    body = client.get("/").get_data(as_text=True)
    assert "Mein Termin" in body and "Erstgespräch geführt" in body and "Aktiv GmbH" in body


@pytest.mark.parametrize("role,status", [("normal", 403), ("extended", 302), ("admin", 302)])
def test_delete_needs_extended(client, make, role, status):
    u = make.user(role)
    make.login(client, u)
    cid = make.company("Weg damit").id
    make.note(db.session.get(Company, cid), "Notiz")
    resp = client.post(f"/companies/{cid}/delete")
    assert resp.status_code == status
    db.session.expire_all()
    trashed = db.session.get(Company, cid).deleted_at is not None
    assert trashed == (status == 302)
    assert (client.get(f"/companies/{cid}").status_code == 404) == trashed
    # the recycle bin keeps the notes with the record (until the purge)
    assert db.session.scalar(select(Note)) is not None


def test_delete_keeps_linked_people(client, make):
    u = make.user("extended")
    make.login(client, u)
    c = make.company("Arbeitgeber")
    p = make.person("Angestellt", company=c)
    version = p.version
    assert client.post(f"/companies/{c.id}/delete").status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, p.id)
    assert (person.company_id, person.version) == (c.id, version)  # the link stays, untouched
    assert "(gelöscht)" in client.get(f"/people/{p.id}").text


def test_unknown_ids_are_404(client, make, user):
    for path in ("/companies/999", "/people/999/edit", "/deals/999", "/projects/999/delete", "/tasks/999/toggle"):
        resp = client.get(path) if "toggle" not in path else client.post(path)
        assert resp.status_code == 404, path


def test_custom_field_values_validated(client, make, user):
    num = make.field("company", "Mitarbeiter", "number")
    day = make.field("company", "Gründung", "date")
    resp = client.post("/companies/new", data={"name": "X", f"cf_{num.id}": "viele", f"cf_{day.id}": "gestern"})
    assert resp.status_code == 400
    resp = client.post("/companies/new", data={"name": "X", f"cf_{num.id}": "1.250", f"cf_{day.id}": "2020-02-29"})
    assert resp.status_code == 302
    values = {v.field_id: v.value for v in db.session.scalars(select(CustomFieldValue))}
    assert values == {num.id: "1250", day.id: "2020-02-29"}


@pytest.mark.parametrize("root", ["", "/kontor", "/crm987654321"])
def test_a_record_link_built_once_takes_each_id(app, root):
    """Lists and the board build a record link once and put each id into it (record_url_parts):
    the same link as url_for's, also when the site lives under a path that holds digits."""
    from flask import url_for

    from crm.web import record_url_parts

    with app.test_request_context("/", base_url=f"http://localhost{root}/"):
        for endpoint in ("deals.detail", "companies.detail", "pipeline.move"):
            before, after = record_url_parts(endpoint)
            for rid in (1, 987654321, 42):
                assert f"{before}{rid}{after}" == url_for(endpoint, record_id=rid)


@pytest.mark.parametrize("plural", ["companies", "people", "deals", "projects"])
def test_the_detail_page_names_who_is_responsible_made_and_last_changed_the_record(client, make, user, plural):
    """Active users' names come from the page's user choices, a deactivated one's is looked up: the
    page names each of them, and a record nobody is responsible for says so."""
    makers = {"companies": make.company, "people": make.person, "deals": make.deal, "projects": make.project}
    rita, gone = make.user("normal", name="Rita Rot"), make.user("normal", name="Gerd Gegangen", active=False)
    record = makers[plural]("Kontorhaus")
    record.responsible_id, record.created_by_id, record.updated_by_id = rita.id, gone.id, user.id
    db.session.commit()
    meta = client.get(f"/{plural}/{record.id}").get_data(as_text=True).split('<p class="meta">')[1].split("</p>")[0]
    assert re.search(r"(Verantwortlich|Responsible): Rita Rot", meta), meta
    assert "Gerd Gegangen" in meta.split("·")[1] and "Nora Normal" in meta.split("·")[2], meta
    record.responsible_id = None
    db.session.commit()
    meta = client.get(f"/{plural}/{record.id}").get_data(as_text=True).split('<p class="meta">')[1].split("</p>")[0]
    assert re.search(r"(Verantwortlich|Responsible): —", meta), meta
