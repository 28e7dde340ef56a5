"""CSV import: reading files, the mapping, all-or-nothing with a report by line, progress kept in
the database, and the undo."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, update

from crm.audit.models import AuditEntry
from crm.errors import Invalid
from crm.extensions import db
from crm.imports import csvfile, services
from crm.imports.models import ImportItem, ImportJob
from crm.models import Company, Person, group_members

# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------

def test_decodes_utf8_with_and_without_bom_windows_1252_and_utf16():
    text = "Name;Ort\nMüller & Söhne;Köln\n"
    for data, encoding in (
        (text.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8-sig"),
        (text.encode("cp1252"), "windows-1252"),
        (text.encode("utf-16"), "utf-16"),
    ):
        table = csvfile.read(data, 100)
        assert (table.encoding, table.delimiter, table.header) == (encoding, ";", ["Name", "Ort"])
        assert list(csvfile.rows(table.text, table.delimiter)) == [(2, ["Müller & Söhne", "Köln"])]


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_sniffs_the_delimiter(delimiter):
    header = delimiter.join(["Name", "E-Mail", "Umsatz"])
    text = header + "\n" + delimiter.join(['"A, B"', "a@b.de", '"1.234,50"']) + "\n"
    table = csvfile.read(text.encode(), 10)
    assert table.delimiter == delimiter
    assert next(iter(csvfile.rows(table.text, delimiter)))[1] == ["A, B", "a@b.de", "1.234,50"]


def test_line_numbers_count_lines_of_the_file():
    text = 'Name,Notiz\nA,"zwei\nZeilen"\n\nB,x\n'
    assert [line for line, _ in csvfile.rows(text, ",")] == [2, 5]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"), (b"Name\n", "no rows"), (b",,\nA,B,C\n", "name the columns"),
    (b"Name\n" + b"x\n" * 11, "more than 10 rows"), (b'Name\n"open\n', "cannot be read"),
])
def test_refuses_unreadable_files(data, message, app):
    with app.test_request_context(), force_locale("en"), pytest.raises(csvfile.FileError) as err:
        csvfile.read(data, 10)
    assert message in str(err.value)


# ---------------------------------------------------------------------------------------------
# The pages
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def world(make, app):
    make.enable_groups()
    u = make.user("extended")
    u.locale = "en"  # messages in the report as written in the code
    db.session.commit()
    nord = make.group("Nord", [u])
    sued = make.group("Süd")
    status = make.field("company", "Kundenstatus", kind="select", options=["Top-Kunde", "Klein"])
    since = make.field("company", "Kunde seit", kind="date")
    return {"u": u, "nord": nord, "sued": sued, "status": status, "since": since}


def upload(client, text: str | bytes, record_type="company", filename="liste.csv", encoding="cp1252"):
    data = text if isinstance(text, bytes) else text.encode(encoding)
    return client.post("/import", data={"record_type": record_type, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def job_id_of(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return int(re.search(r"/import/(\d+)/map", resp.headers["Location"]).group(1))


def columns(client, job_id: int) -> dict[str, str]:
    """The guessed mapping, as the mapping page shows it: column name -> chosen field."""
    html = client.get(f"/import/{job_id}/map").get_data(as_text=True)
    out = {}
    for i, name in re.findall(r'<label for="col-(\d+)">([^<]*)</label>', html):
        select_html = re.search(rf'<select id="col-{i}" name="col-{i}">(.*?)</select>', html, re.DOTALL).group(1)
        chosen = re.search(r'<option value="([^"]*)" selected>', select_html)
        out[name] = chosen.group(1) if chosen else ""
    return out


GERMAN_EXCEL = (
    "Firma;E-Mail;Telefon;Straße;PLZ;Ort;Kundenstatus;Kunde seit;Schlagworte;Webseite\n"
    "Müller Heizungsbau GmbH;info@mueller.example;0561 12345;Hauptstraße 1;34117;Kassel;Top-Kunde;31.12.2019;"
    "Wartung, Gewerbe;www.mueller.example\n"
    "Bäckerei Schäfer;;;;;;Klein;;;\n"
)


@pytest.mark.parametrize(("columns", "address"), [
    ([("Straße", "Hauptstr. 1"), ("PLZ", "10115"), ("Ort", "Berlin")], "Hauptstr. 1\n10115 Berlin"),
    ([("Ort", "Berlin"), ("PLZ", "10115")], "10115 Berlin"),  # city first: still "postcode city"
    ([("Straße", "Hauptstr. 1"), ("Ort", "Wien"), ("Land", "Österreich"), ("Postleitzahl", "1010")],
     "Hauptstr. 1\n1010 Wien\nÖsterreich"),
    ([("Anschrift", "Hauptstr. 1"), ("Spalte 2", "D-10115"), ("City", "Berlin")], "Hauptstr. 1\nD-10115 Berlin"),
    ([("Straße", "Hauptstr. 1"), ("PLZ", "10115")], "Hauptstr. 1\n10115"),
    ([("Adresse", "Hauptstr. 1\n10115 Berlin"), ("Land", "Deutschland")], "Hauptstr. 1\n10115 Berlin\nDeutschland"),
    ([("Straße", "Hauptstr. 1"), ("Zusatz", "Hinterhaus")], "Hauptstr. 1\nHinterhaus"),
])
def test_an_address_from_several_columns_is_written_as_a_german_address(columns, address):
    """New-user trial: Straße, PLZ and Ort mapped to the address were stored as three lines. The
    street stays on its line, postcode and city share one (postcode first), the country follows."""
    from crm.imports.mapping import formdata

    header = [name for name, _text in columns]
    data, _company = formdata([text for _name, text in columns], dict.fromkeys(range(len(columns)), "addresses"),
                              set(), header)
    assert data["addresses"] == address


def test_import_of_a_german_excel_file(app, client, make, world):
    w = world
    make.login(client, w["u"])
    job_id = job_id_of(upload(client, GERMAN_EXCEL))
    guessed = columns(client, job_id)
    assert guessed["Firma"] == "name" and guessed["E-Mail"] == "emails" and guessed["Telefon"] == "phones"
    assert guessed["Straße"] == guessed["PLZ"] == guessed["Ort"] == "addresses"
    assert guessed["Kundenstatus"] == f"cf_{w['status'].id}" and guessed["Schlagworte"] == "tags"
    form = {f"col-{i}": v for i, v in enumerate(guessed.values())}
    resp = client.post(f"/import/{job_id}/map", data={**form, "group_id": w["nord"].id})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "2 Companies were imported." in page and f'action="/import/{job_id}/undo"' in page
    # the report reads as sentences: a space after each (a template comment had eaten them)
    report = re.sub(r"<[^>]+>", "", page.split('class="flash flash-success">', 1)[1].split("</p>", 1)[0])
    assert re.search(r"were imported\.\s+Their group: Nord\.\s+Show them", report), report
    c = db.session.scalar(select(Company).where(Company.name == "Müller Heizungsbau GmbH"))
    assert c.group_id == w["nord"].id
    assert {d.kind: d.value for d in c.contact_details} == {
        "email": "info@mueller.example", "phone": "0561 12345", "address": "Hauptstraße 1\n34117 Kassel"}
    assert sorted(t.name for t in c.tags) == ["Gewerbe", "Wartung"]
    assert c.website == "https://www.mueller.example"  # typed without its scheme, as in most lists
    from crm.records.queries import custom_values
    from crm.records.types import TYPES

    values = {f.name: v for f, v in custom_values(TYPES["company"], c.id)}
    assert values == {"Kundenstatus": "Top-Kunde", "Kunde seit": "2019-12-31"}
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.created, job.content) == ("done", 2, "")
    assert db.session.scalar(select(func.count()).select_from(ImportItem).where(ImportItem.job_id == job_id)) == 2
    entry = db.session.get(AuditEntry, job.audit_id)
    assert entry.action == "import" and entry.details["counts"] == {"companies": 2}
    assert entry.details["group"] == "Nord"
    # the imported records are in the search index at once
    from crm.search.queries import search

    with make.acting_as(app, w["u"]) as viewer:
        assert [h.name for h in search(viewer, "schäfer")] == ["Bäckerei Schäfer"]


BAD = (
    "Name,E-Mail,Kundenstatus\n"
    "Gut AG,gut@example.com,Klein\n"
    "Schlecht GmbH,kein-mail,Unbekannt\n"
    ",leer@example.com,\n"
    "Auch gut KG,,Unbekannt\n"
)


def test_a_failing_file_imports_nothing_and_reports_lines(app, client, make, world):
    w = world
    make.login(client, w["u"])
    before = db.session.scalar(select(func.count()).select_from(Company))
    job_id = job_id_of(upload(client, BAD, encoding="utf-8"))
    mapping = {"col-0": "name", "col-1": "emails", "col-2": f"cf_{w['status'].id}", "group_id": w["nord"].id}
    client.post(f"/import/{job_id}/map", data=mapping)
    job = db.session.get(ImportJob, job_id)
    assert job.status == "failed", job.errors
    # every problem of a row at once: line 3 has a bad e-mail address and a select value no option has
    assert [e["line"] for e in job.errors] == [3, 3, 4, 5], job.errors
    assert "kein-mail" in job.errors[0]["message"] and job.errors[0]["column"]
    assert job.errors[1]["column"] == "Kundenstatus"
    assert db.session.scalar(select(func.count()).select_from(Company)) == before
    assert db.session.scalar(select(func.count()).select_from(ImportItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import")) == 0
    page = client.get(f"/import/{job_id}").get_data(as_text=True)
    assert re.search(r'<td class="num">3</td>', page) and re.search(r'<td class="num">5</td>', page)
    # the report's message is worded when shown, in the reader's language (new-user trial: a report
    # started on a German page stayed German for an English admin)
    for locale, text in (("en", "Nothing was imported: 4 errors in the file."),
                         ("de", "Es wurde nichts importiert: 4 Fehler in der Datei.")):
        w["u"].locale = locale
        db.session.commit()
        assert text in client.get(f"/import/{job_id}").get_data(as_text=True), locale


def test_a_phone_number_with_letters_is_reported_on_its_line(app, client, make, world):
    """The import refuses what the form and the API refuse: "abc" is no phone number; numbers
    as people write them (with +, brackets, slashes, an extension) are taken."""
    w = world
    make.login(client, w["u"])
    text = "Name,Telefon\nGut AG,+49 (561) 123/45-6 x12\nSchlecht GmbH,abc\n"
    job_id = job_id_of(upload(client, text, encoding="utf-8"))
    client.post(f"/import/{job_id}/map", data={"col-0": "name", "col-1": "phones", "group_id": w["nord"].id})
    job = db.session.get(ImportJob, job_id)
    assert job.status == "failed" and [(e["line"], e["column"]) for e in job.errors] == [(3, "Phone numbers")]
    assert job.errors[0]["message"].startswith("Not a phone number: abc")


def refusing(real, nth: int, field: str):
    """``crm.records.services.create_records`` that refuses the ``nth`` record of the import."""
    seen = {"n": 0}

    def create_records(rtype, items, viewer, user=None, **kw):
        first = seen["n"]
        seen["n"] += len(items)
        if not first < nth <= seen["n"]:
            return real(rtype, items, viewer, user, **kw)
        at = nth - first - 1
        out = real(rtype, items[:at] + items[at + 1:], viewer, user, **kw)
        return [*out[:at], Invalid(fields={field: "refused"}), *out[at:]]

    return create_records


def test_a_row_the_service_refuses_while_saving_undoes_the_rows_before_it(app, client, make, world, monkeypatch):
    w = world
    make.login(client, w["u"])
    from crm.imports import services as mod

    monkeypatch.setattr(mod, "create_records", refusing(mod.create_records, 3, "name"))
    text = "Name\n" + "".join(f"Firma {i}\n" for i in range(5))
    job_id = job_id_of(upload(client, text, encoding="utf-8"))
    client.post(f"/import/{job_id}/map", data={"col-0": "name", "group_id": w["nord"].id})
    job = db.session.get(ImportJob, job_id)
    assert job.status == "failed" and [e["line"] for e in job.errors] == [4]
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def test_people_are_linked_to_companies_the_user_sees(app, client, make, world):
    w = world
    make.company("Sichtbar GmbH", group=w["nord"])
    make.company("Fremd AG", group=w["sued"])
    make.login(client, w["u"])
    ok = "Vorname;Nachname;Firma\nAnna;Kurz;sichtbar gmbh\n"
    job_id = job_id_of(upload(client, ok, record_type="person"))
    assert columns(client, job_id) == {"Vorname": "first_name", "Nachname": "last_name", "Firma": "company"}
    client.post(f"/import/{job_id}/map", data={"col-0": "first_name", "col-1": "last_name", "col-2": "company",
                                                 "group_id": w["nord"].id})
    anna = db.session.scalar(select(Person).where(Person.last_name == "Kurz"))
    assert anna.company.name == "Sichtbar GmbH"
    # a company in a group the user is not in: as if it did not exist
    bad = "Vorname;Nachname;Firma\nBen;Lang;Fremd AG\n"
    job_id = job_id_of(upload(client, bad, record_type="person"))
    client.post(f"/import/{job_id}/map", data={"col-0": "first_name", "col-1": "last_name", "col-2": "company",
                                                 "group_id": w["nord"].id})
    job = db.session.get(ImportJob, job_id)
    assert job.status == "failed" and job.errors[0]["line"] == 2
    assert "Fremd AG" in job.errors[0]["message"]


def test_mapping_needs_the_name_and_one_of_the_users_groups(app, client, make, world):
    w = world
    make.login(client, w["u"])
    job_id = job_id_of(upload(client, "Name,Ort\nA,B\n", encoding="utf-8"))
    resp = client.post(f"/import/{job_id}/map", data={"col-0": "", "col-1": "", "group_id": w["nord"].id})
    assert resp.status_code == 422
    resp = client.post(f"/import/{job_id}/map", data={"col-0": "name", "group_id": w["sued"].id})
    assert resp.status_code == 422
    assert db.session.get(ImportJob, job_id).status == "mapping"
    preview = client.post(f"/import/{job_id}/preview", data={"col-0": "name", "col-1": "addresses"},
                          headers={"HX-Request": "true", "HX-Target": "import-preview"})
    html = preview.get_data(as_text=True)
    assert 'id="import-preview"' in html and "<html" not in html and "<td class=\"prose\">A</td>" in html


def test_the_mapping_page_preselects_the_group_a_new_record_would_get(client, make, world):
    """As on a new record's form: the user's only group; for a member of several groups without a
    default one an empty choice, not Basis (the first group of the list, which everyone sees)."""
    w = world
    make.login(client, w["u"])  # in Nord only, no default group set
    assert w["u"].default_group_id is None
    job_id = job_id_of(upload(client, "Name\nA\n", encoding="utf-8"))
    page = client.get(f"/import/{job_id}/map").get_data(as_text=True)
    assert re.findall(r'<option value="(\d*)" ?selected>', page) == [str(w["nord"].id)]
    db.session.execute(group_members.insert().values(group_id=w["sued"].id, user_id=w["u"].id))
    db.session.commit()
    page = client.get(f"/import/{job_id}/map").get_data(as_text=True)
    assert re.findall(r'<option value="(\d*)" ?selected>', page) == [""]
    # sent so, the job is refused and stays unconfigured
    resp = client.post(f"/import/{job_id}/map", data={"col-0": "name", "group_id": ""})
    assert resp.status_code == 422 and "Choose one of your groups." in resp.get_data(as_text=True)
    assert db.session.get(ImportJob, job_id).status == "mapping"


def test_the_mapping_page_offers_the_types_default_group_as_the_new_record_form_does(client, make, world):
    """An admin put every new company into Süd and lets nobody choose another group: the importer,
    not a member of Süd, is offered Süd (preselected) and only Süd - before, only their own groups,
    each of which the service refused."""
    from crm.groups.models import TypeDefault

    w = world
    db.session.add(TypeDefault(record_type="company", group_id=w["sued"].id, allow_own=False))
    db.session.commit()
    make.login(client, w["u"])
    job_id = job_id_of(upload(client, "Name\nA\n", encoding="utf-8"))
    page = client.get(f"/import/{job_id}/map").get_data(as_text=True)
    select_ = re.search(r'<select id="group_id".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="(\d*)" ?(?:selected)?>', select_) == [str(w["sued"].id)]
    assert re.findall(r'<option value="(\d*)" ?selected>', select_) == [str(w["sued"].id)]
    resp = client.post(f"/import/{job_id}/map", data={"col-0": "name", "group_id": w["sued"].id})
    assert resp.status_code == 302
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.group_id) == ("done", w["sued"].id), job.message
    assert db.session.scalar(select(Company.group_id).where(Company.name == "A")) == w["sued"].id


def test_only_extended_users_and_admins_import_and_only_their_own_jobs(client, make, world):
    w = world
    normal = make.user("normal")
    make.login(client, normal)
    assert client.get("/import").status_code == 403
    client.post("/logout")
    make.login(client, w["u"])
    job_id = job_id_of(upload(client, "Name\nA\n", encoding="utf-8"))
    client.post("/logout")
    other = make.user("extended")
    make.login(client, other)
    assert client.get(f"/import/{job_id}").status_code == 404
    assert client.get(f"/import/{job_id}/map").status_code == 404


def test_size_limit_has_a_clear_message(app, client, make, world):
    app.config["IMPORT_MAX_BYTES"] = 512 * 1024
    make.login(client, world["u"])
    resp = upload(client, "Name\n" + "x" * 530_000 + "\n", encoding="utf-8")
    assert resp.status_code == 422
    assert "The file is larger than 0.5 MB. Split it into smaller files." in resp.get_data(as_text=True)
    resp = upload(client, "Name\n" + "x" * 700_000 + "\n", encoding="utf-8")  # refused before reading it
    assert resp.status_code == 413 and "The file is larger than" in resp.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Progress in the database, one runner per job
# ---------------------------------------------------------------------------------------------

def test_large_files_run_in_the_background_and_the_page_polls(app, client, make, world):
    w = world
    app.config["IMPORT_INLINE_ROWS"] = 10
    make.login(client, w["u"])
    text = "Name\n" + "".join(f"Firma {i:03d}\n" for i in range(450))
    job_id = job_id_of(upload(client, text, encoding="utf-8"))
    # while a job runs, its page polls its state
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id)
                       .values(status="checking", processed=200, total=450))
    db.session.commit()
    part = client.get(f"/import/{job_id}", headers={"HX-Request": "true", "HX-Target": "import-status"})
    html = part.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and 'value="200" max="450"' in html and "<html" not in html
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="mapping", processed=0))
    db.session.commit()
    job = db.session.get(ImportJob, job_id)
    assert services.configure(job, _viewer(w["u"]), {0: "name"}, w["nord"].id) == []
    db.session.commit()
    with app.test_request_context():
        services.start(job)  # onto the job queue (the tests run it at once: JOBS_IMMEDIATE)
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.created) == ("done", 450)
    part = client.get(f"/import/{job_id}", headers={"HX-Request": "true", "HX-Target": "import-status"})
    assert "hx-trigger" not in part.get_data(as_text=True)


def _viewer(user):
    from crm.visibility import viewer_for

    return viewer_for(user)


def test_a_job_runs_once_even_if_started_twice(app, make, world):
    w = world
    job = services.create_job(w["u"], "company", "x.csv", b"Name\nEinmal GmbH\n")
    services.configure(job, _viewer(w["u"]), {0: "name"}, w["nord"].id)
    db.session.commit()
    services.run(job.id)
    services.run(job.id)  # a second server, a double click: nothing happens
    assert db.session.scalar(select(func.count()).select_from(Company)) == 1


def test_a_job_whose_runner_died_is_retried_once_then_failed(app, make, world):
    """Its worker died (no heartbeat): taken up once more and done; the second time failed."""
    w = world
    from crm.common import utcnow

    for attempts, status, companies in ((1, "done", 1), (2, "failed", 1)):
        job = services.create_job(w["u"], "company", "x.csv", b"Name\nA\n")
        services.configure(job, _viewer(w["u"]), {0: "name"}, w["nord"].id)
        db.session.commit()
        db.session.execute(update(ImportJob).where(ImportJob.id == job.id).values(
            status="saving", attempts=attempts, heartbeat_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        db.session.refresh(job)
        with app.test_request_context():
            assert services.refresh_stale(job).status == status
        assert db.session.scalar(select(func.count()).select_from(Company)) == companies


# ---------------------------------------------------------------------------------------------
# Undo
# ---------------------------------------------------------------------------------------------

def imported(app, client, make, w, names):
    make.login(client, w["u"])
    job_id = job_id_of(upload(client, "Name\n" + "".join(f"{n}\n" for n in names), encoding="utf-8"))
    # (create anyway: a name that is there already is imported again, and the undo must keep the old one)
    client.post(f"/import/{job_id}/map", data={"col-0": "name", "group_id": w["nord"].id, "on_duplicate": "create"})
    job = db.session.get(ImportJob, job_id)
    assert job.status == "done"
    return job


def live_names() -> list[str]:
    """Names of the companies not in the recycle bin."""
    return sorted(db.session.scalars(select(Company.name).where(Company.deleted_at.is_(None))))


def company(name):
    return db.session.scalar(select(Company).where(Company.name == name))


def test_undo_removes_exactly_the_imported_records(app, client, make, world):
    w = world
    make.company("Alpha", group=w["nord"])  # same name, not imported: stays
    job = imported(app, client, make, w, ["Alpha", "Beta", "Gamma"])
    resp = client.post(f"/import/{job.id}/undo")
    assert resp.status_code == 302
    names = live_names()
    assert names == ["Alpha"]
    db.session.refresh(job)
    assert job.status == "undone"
    entry = db.session.get(AuditEntry, job.audit_id)
    assert entry.undone_at is not None
    undone = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import_undone"))
    assert undone.details["counts"] == {"companies": 3} and undone.details["kept"] == 0
    assert client.post(f"/import/{job.id}/undo").status_code == 302  # a second time: refused, nothing happens
    assert live_names() == ["Alpha"]


def test_undo_keeps_records_changed_since_and_says_so(app, client, make, world):
    w = world
    job = imported(app, client, make, w, ["Bleibt", "Geaendert", "Notiert", "Verlinkt", "Geloescht", "Weg", "Datei"])
    from crm.records.schemas import record_input
    from crm.records.services import update_record
    from crm.records.types import TYPES

    with make.acting_as(app, w["u"]) as viewer:
        obj = company("Geaendert")
        update_record(TYPES["company"], obj, record_input("company", {"emails": ["neu@example.com"]}, patch=True),
                      viewer)  # contact details only
        db.session.commit()
    make.note(company("Notiert"), "Anruf")
    make.attachment(company("Datei"), "Vertrag.pdf", b"%PDF-1.4 Vertrag", w["u"], "application/pdf")
    make.person("Mitarbeiter", company=company("Verlinkt"), group=w["nord"])
    db.session.delete(company("Geloescht"))
    db.session.commit()
    resp = client.post(f"/import/{job.id}/undo", follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert live_names() == ["Datei", "Geaendert", "Notiert", "Verlinkt"]  # a file attached since keeps it too
    assert ("2 records deleted. 4 were changed since the import and were kept. "
            "1 was deleted already or is not in your view; it stays as it is.") in text
    undone = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import_undone"))
    assert (undone.details["counts"], undone.details["kept"], undone.details["gone"]) == ({"companies": 2}, 4, 1)


def test_undo_only_within_24_hours_and_by_the_importer_or_an_admin(app, client, make, world):
    w = world
    job = imported(app, client, make, w, ["Alt"])
    client.post("/logout")
    other = make.user("extended", groups=[w["nord"]])
    make.login(client, other)
    assert client.post(f"/import/{job.id}/undo").status_code == 404
    client.post("/logout")
    make.login(client, w["u"])
    db.session.execute(update(ImportJob).where(ImportJob.id == job.id).values(
        finished_at=job.finished_at - timedelta(hours=25)))
    db.session.commit()
    client.post(f"/import/{job.id}/undo")
    assert company("Alt") is not None
    assert db.session.get(ImportJob, job.id).status == "done"


def test_the_audit_log_tells_import_and_undo(app, client, make, world):
    w = world
    job = imported(app, client, make, w, ["Protokoll GmbH"])
    client.post(f"/import/{job.id}/undo")
    client.post("/logout")
    admin = make.user("admin")
    admin.locale = "en"
    db.session.commit()
    make.login(client, admin)
    page = client.get("/settings/audit").get_data(as_text=True)
    assert "imported liste.csv" in page and "undid the import of liste.csv" in page
    assert "1 company deleted" in page


def test_many_rows_in_chunks_without_the_group_system(app, make, monkeypatch):
    from crm.imports import services as mod

    monkeypatch.setattr(mod, "CHUNK", 5)
    u = make.user("admin")
    job = services.create_job(u, "person", "p.csv", ("Nachname;E-Mail\n" + "".join(
        f"Name{i};n{i}@example.com\n" for i in range(23))).encode())
    services.configure(job, _viewer(u), {0: "last_name", 1: "emails"}, None)
    db.session.commit()
    services.run(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.created, job.processed) == ("done", 23, 23)
    assert db.session.scalar(select(func.count()).select_from(Person)) == 23


def test_every_kind_of_attached_row_is_either_imported_or_keeps_a_record_from_the_undo():
    """A new kind of thing attached to records (declared in crm.visibility.SCOPES) must say whether
    users add it after an import (then a record carrying one is not undone) or the import writes it."""
    from crm.models import ContactDetail, CustomFieldValue, RecordEvent
    from crm.records.models import TAG_LINKS
    from crm.visibility import SCOPES, Attached

    # (the change history: the import writes each record's "created"; a later change moves the
    # record's version on, which keeps it from the undo anyway)
    written_by_import = {ContactDetail, CustomFieldValue, RecordEvent, *TAG_LINKS.values()}
    attached = {cls for cls, scope in SCOPES.items() if isinstance(scope, Attached)}
    assert attached == set(services.ADDED_AFTER_IMPORT) | written_by_import
    assert not set(services.ADDED_AFTER_IMPORT) & written_by_import


def test_undo_asks_first_naming_how_many_records_it_deletes(app, client, make, world):
    """Undoing deletes up to the whole import: the button only opens a second step that names the
    count; the form of that step is sent once (data-submit-once, static/app.js)."""
    job = imported(app, client, make, world, ["Alpha", "Beta", "Gamma"])
    page = client.get(f"/import/{job.id}").get_data(as_text=True)
    step = re.search(r'<details class="confirm-undo">(.*?)</details>', page, re.S)
    assert step, "the undo sits behind a confirmation step"
    assert "Undo this import…" in step.group(1)
    assert f'action="/import/{job.id}/undo"' in step.group(1) and "data-submit-once" in step.group(1)
    assert "Undo: delete 3 records" in step.group(1)
    assert f'action="/import/{job.id}/undo"' not in page.replace(step.group(0), "")


def test_show_them_lists_the_rows_of_this_import_only(app, client, make, world):
    """"Show them" after an import opens the list narrowed to the rows the import created, says
    so in the filter bar (with a way out), and the filter shows nothing of an import that is not
    the user's own."""
    w = world
    make.company("Alpha", group=w["nord"])  # there before, same name: not one of the import's rows
    job = imported(app, client, make, w, ["Alpha", "Beta"])
    page = client.get(f"/import/{job.id}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">Show them</a>', page).group(1)
    assert link == f"/companies?import={job.id}"
    from tests.test_list_filters import names

    assert names(client, link) == ["Alpha", "Beta"]
    listing = client.get(link).get_data(as_text=True)
    old_alpha, new_alpha = db.session.scalars(select(Company.id).where(Company.name == "Alpha").order_by(Company.id))
    assert f'href="/companies/{new_alpha}"' in listing and f'href="/companies/{old_alpha}"' not in listing
    assert f"Import: #{job.id}" in listing
    clear = re.search(r'<a href="([^"]+)" aria-label="Remove filter Import">', listing).group(1)
    assert "import=" not in clear and len(names(client, clear.replace("&amp;", "&"))) == 3
    other, theirs = make.user("extended", groups=[w["nord"]]), app.test_client()
    make.login(theirs, other)
    assert names(theirs, link) == [] and len(names(theirs, "/companies")) == 3
