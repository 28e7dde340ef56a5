"""Schmidt's admin imports a list of people twice: the second time, the mapping page counts the rows
that are there already and those that repeat an earlier row, the counts follow the choice (skip,
update, create anyway), and the import does what it said - on a desktop and on a phone, with no
critical or serious axe finding."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .axe import axe_violations
from .conftest import login, settled

pytestmark = pytest.mark.browser

ADMIN = "claudia.schmidt@schmidt.example"
FIRST = "Vorname;Nachname;E-Mail;Position\nErika;Dublette;erika@dublette.example;\n"
SECOND = ("Vorname;Nachname;E-Mail;Position\n"
          "Erika;Dublette;ERIKA@dublette.example;Einkauf\n"
          "Otto;Neu;otto@neu.example;\n"
          "Otto;Neu;otto@neu.example;\n")


def upload(page, server, text: str, tmp_path, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page.goto(server.url("/import"))
    page.get_by_label("Personen").check()
    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("form[enctype] button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spalten wählen")
    # the boss is in several groups without a default one: she chooses (nothing is preselected)
    expect(page.locator("#group_id")).to_have_value("")
    page.locator("#group_id").select_option(label="Basis")
    settled(page)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_duplicate_choices(kontor, new_page, width, height, tmp_path):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, ADMIN)

    upload(page, server, FIRST, tmp_path, "erste.csv")
    page.get_by_role("button", name="1 Zeile importieren").click()
    expect(page.locator("#import-status")).to_contain_text("importiert")

    upload(page, server, SECOND, tmp_path, "zweite.csv")
    counts = page.locator(".import-duplicate-counts")
    expect(counts).to_contain_text("1 neue Zeile")
    expect(counts).to_contain_text("1 passt zu einem vorhandenen Datensatz")
    expect(counts).to_contain_text("1 wiederholt eine frühere Zeile")
    outcome = page.locator(".import-outcome")
    expect(outcome).to_contain_text("1 wird angelegt, 0 aktualisiert, 2 übersprungen")
    assert axe_violations(page) == []

    page.get_by_label("Trotzdem neu anlegen").check()
    expect(outcome).to_contain_text("3 werden angelegt, 0 aktualisiert, 0 übersprungen")
    page.get_by_label("Vorhandenen Datensatz aktualisieren").check()
    expect(outcome).to_contain_text("1 wird angelegt, 1 aktualisiert, 1 übersprungen")
    assert axe_violations(page) == []

    page.get_by_role("button", name="3 Zeilen importieren").click()
    status = page.locator("#import-status")
    expect(status).to_contain_text("1 vorhandener Datensatz wurde aktualisiert.")
    expect(status).to_contain_text("1 doppelte Zeile wurde übersprungen.")
    assert axe_violations(page) == []
