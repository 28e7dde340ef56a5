"""CSV export of lists: who may export, which rows and columns it carries."""
from __future__ import annotations

import csv
import io

import pytest

from crm.extensions import db
from crm.records.assign import assign_group
from crm.records.types import TYPES


def rows(resp):
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/csv"
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.fixture
def world(make):
    make.enable_groups()
    u = make.user("extended")
    nord = make.group("Nord", [u])
    sued = make.group("Süd")
    status = make.field("company", "Kundenstatus", shared_with=[nord])
    secret = make.field("company", "Interna")
    mine = make.company("Nordwerk", group=nord, emails=["info@nordwerk.example"], tags=["Messe"], website="https://n.example")
    theirs = make.company("Südhaus", group=sued, emails=["geheim@suedhaus.example"], tags=["Geheim"],
                          background="Nur für Süd")
    make.value(status, theirs, "Top-Kunde")
    make.value(secret, theirs, "Zahlt spät")
    make.value(secret, mine, "Pünktlich")
    make.field("person", "Notiz")  # nothing of people is shared: Süd's people are hidden
    p_mine = make.person("Nord", "Nina", group=nord, company=theirs, emails=["nina@n.example"])
    p_hidden = make.person("Süd", "Sven", group=sued, emails=["sven@s.example"])
    deal = make.deal("Auftrag", group=nord, company=mine, person=p_hidden, value=500)
    return locals()


def test_normal_users_may_not_export(client, make):
    u = make.user("normal")
    make.login(client, u)
    assert client.get("/companies/export.csv").status_code == 403


def test_extended_user_gets_full_and_restricted_rows_but_no_hidden(client, make, world):
    w = world
    make.login(client, w["u"])
    data = {r["name"]: r for r in rows(client.get("/companies/export.csv"))}
    assert set(data) == {"Nordwerk", "Südhaus"}
    full, restricted = data["Nordwerk"], data["Südhaus"]
    assert full["access"] == "full" and full["emails"] == "info@nordwerk.example" and full["tags"] == "Messe"
    assert full["Interna"] == "Pünktlich" and full["website"] == "https://n.example"
    assert restricted["access"] == "restricted" and restricted["group"] == "Süd"
    assert restricted["Kundenstatus"] == "Top-Kunde"  # shared with Nord
    hidden_cells = {k: v for k, v in restricted.items() if k not in ("id", "access", "group", "name", "Kundenstatus")}
    assert set(hidden_cells.values()) == {""}, hidden_cells
    text = client.get("/companies/export.csv").get_data(as_text=True)
    for secret in ("geheim@", "Geheim", "Nur für Süd", "Zahlt spät"):
        assert secret not in text


def test_the_files_column_counts_a_fully_visible_records_files_and_says_nothing_of_a_restricted_ones(
        client, make, world):
    w = world
    make.attachment(w["mine"], "Angebot.pdf")
    make.attachment(w["mine"], "Plan.pdf")
    make.attachment(w["theirs"], "Vertrag.pdf")
    make.company("Leerhaus", group=w["nord"])
    make.login(client, w["u"])
    data = {r["name"]: r["files"] for r in rows(client.get("/companies/export.csv"))}
    assert data == {"Nordwerk": "2", "Leerhaus": "0", "Südhaus": ""}


def test_hidden_records_and_links_to_them_are_not_exported(client, make, world):
    w = world
    make.login(client, w["u"])
    data = rows(client.get("/people/export.csv"))
    assert [r["last_name"] for r in data] == ["Nord"]  # Sven (Süd) is hidden
    nina = data[0]
    # her employer is restricted for the user: its name shows, as on the page
    assert nina["company_id"] == str(w["theirs"].id) and nina["company"] == "Südhaus"
    (deal,) = rows(client.get("/deals/export.csv"))
    assert deal["company"] == "Nordwerk"
    assert deal["person_id"] == "" and deal["person"] == "(verborgen)"  # "(hidden)" in the user's language
    assert "Sven" not in client.get("/deals/export.csv").get_data(as_text=True)


def test_export_follows_filter_and_selection(client, make, world):
    w = world
    make.login(client, w["u"])
    assert [r["name"] for r in rows(client.get("/companies/export.csv?q=nord"))] == ["Nordwerk"]
    assert [r["name"] for r in rows(client.get("/companies/export.csv?tag=Messe"))] == ["Nordwerk"]
    ids = f"{w['theirs'].id},{w['p_hidden'].id + 1000}"
    assert [r["name"] for r in rows(client.get(f"/companies/export.csv?ids={ids}"))] == ["Südhaus"]
    by_desc = [r["name"] for r in rows(client.get("/companies/export.csv?sort=name&dir=desc"))]
    assert by_desc == ["Südhaus", "Nordwerk"]


def test_export_changes_when_a_record_moves_to_a_group_the_user_is_not_in(app, client, make, world):
    w = world
    make.login(client, w["u"])
    assert [r["last_name"] for r in rows(client.get("/people/export.csv"))] == ["Nord"]
    admin = make.user("admin", groups=[w["nord"]])
    with make.acting_as(app, admin) as viewer:
        assign_group(TYPES["person"], [w["p_mine"].id], w["sued"].id, viewer)
        assign_group(TYPES["company"], [w["mine"].id], w["sued"].id, viewer)
        db.session.commit()
    assert rows(client.get("/people/export.csv")) == []
    now = {r["name"]: r["access"] for r in rows(client.get("/companies/export.csv"))}
    assert now == {"Nordwerk": "restricted", "Südhaus": "restricted"}
    (deal,) = rows(client.get("/deals/export.csv"))
    assert deal["company"] == "Nordwerk" and deal["company_id"] == str(w["mine"].id)


def test_deal_values_and_formula_cells(client, make):
    u = make.user("admin")
    make.deal("=HYPERLINK(\"x\")", value=1234.5)
    make.login(client, u)
    (deal,) = rows(client.get("/deals/export.csv"))
    assert deal["value"] == "1234.50"
    assert deal["name"].startswith("'=")


def test_several_addresses_and_tags_keep_their_order(client, make):
    """In the order of their positions (ties by the order they were added), as on the page - not
    in the order they were added or stored."""
    from crm.records.models import ContactDetail

    u = make.user("admin")
    c = make.company("Vielfach", emails=["zweit@v.example", "erst@v.example", "dritt@v.example"],
                     tags=["Messe", "Altkunde", "Zulieferer"])
    for detail, position in zip(c.contact_details, (1, 1, 0), strict=True):  # "dritt" moved to the top
        detail.position = position
    c.contact_details.append(ContactDetail(kind="phone", value="040 1", position=0))
    db.session.commit()
    make.login(client, u)
    (row,) = rows(client.get("/companies/export.csv"))
    assert row["emails"] == "dritt@v.example; zweit@v.example; erst@v.example"
    assert row["phones"] == "040 1"
    assert row["tags"] == "Altkunde, Messe, Zulieferer"  # by name


def test_the_export_reads_every_cell_in_one_statement_however_many_rows(client, make, monkeypatch, world):
    from sqlalchemy import event

    from crm.records import csvrows as export

    monkeypatch.setattr(export, "CHUNK", 2)  # several chunks from a few rows
    make.login(client, world["u"])
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    def statements(n_extra: int) -> int:
        for i in range(n_extra):
            make.company(f"Nordwerk {i}", group=world["nord"], emails=[f"{i}@n.example"], tags=["Messe"])
        seen.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            data = rows(client.get("/companies/export.csv"))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert all(r["emails"] and r["tags"] == "Messe" for r in data if r["name"].startswith("Nordwerk "))
        return len(data), len(seen)

    few, many = statements(0), statements(7)
    assert (few[0], many[0]) == (2, 9)
    assert many[1] == few[1], (few, many)


def test_postgresql_connections_run_without_jit_and_plan_cursors_for_every_row(app):
    """PostgreSQL's JIT spent 8 of 12 s of a people export compiling its statement; the export's
    cursor planned for its first 10 % of rows took 1.6 times the server's time (bench/export.py)."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    assert db.session.scalar(text("SHOW jit")) == "off"
    assert db.session.scalar(text("SHOW cursor_tuple_fraction")) == "1"


def test_formula_cells_are_escaped_in_any_row_and_column_of_a_chunk(client, make, monkeypatch, world):
    """Cells are checked column by column per chunk: a formula in one row of a chunk changes
    that cell only, in a plain column, a contact detail and a shared value of a restricted row."""
    from crm.records import csvrows
    from crm.records.models import ContactDetail

    monkeypatch.setattr(csvrows, "CHUNK", 2)
    w = world
    make.company("Aaa", group=w["nord"], website="=1+1", emails=["a@a.example"])
    bbb = make.company("Bbb", group=w["nord"])
    bbb.contact_details.append(ContactDetail(kind="phone", value="+49 40 123"))
    db.session.commit()
    make.value(w["status"], make.company("Ccc", group=w["sued"]), "@SUM(A1)")  # restricted, shared field
    make.login(client, w["u"])
    data = {r["name"]: r for r in rows(client.get("/companies/export.csv"))}
    assert (data["Aaa"]["website"], data["Aaa"]["emails"]) == ("'=1+1", "a@a.example")
    assert (data["Bbb"]["phones"], data["Bbb"]["website"]) == ("'+49 40 123", "")
    assert data["Ccc"]["access"] == "restricted" and data["Ccc"]["Kundenstatus"] == "'@SUM(A1)"
    assert data["Südhaus"]["Kundenstatus"] == "Top-Kunde" and data["Nordwerk"]["website"] == "https://n.example"
