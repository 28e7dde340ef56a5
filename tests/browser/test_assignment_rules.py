"""Schmidt's admin opens the assignment rules the demo ships (postcodes 1-3 -> Nord, 7-9 -> Süd),
looks at the preview of applying them to existing records and applies them; then Franz from
Vertrieb Süd creates a company with a Hamburg address, which lands in Nord (he sees it restricted from then on) -
on a desktop and on a phone, with no critical or serious axe finding."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .axe import axe_violations
from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"
SUED = "franz.huber@schmidt.example"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_schmidt_assignment_rules(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)

    # -- Settings -> Gruppen -> Zuweisungsregeln ------------------------------------------------------
    page.goto(server.url("/settings/groups"))
    page.locator("#rules-link").get_by_role("button", name="Zuweisungsregeln").click()
    settled(page)
    rules = page.locator("#rules-company")
    expect(rules.get_by_role("link", name="PLZ 1–3 → Nord")).to_be_visible()
    expect(rules.get_by_role("link", name="PLZ 7–9 → Süd")).to_be_visible()
    assert axe_violations(page) == []

    # -- the preview, then apply ------------------------------------------------------------------------
    page.get_by_role("button", name="Auf vorhandene Datensätze anwenden").click()
    settled(page)
    preview = page.locator("#rules-preview")
    expect(preview.get_by_role("rowheader", name="Nord")).to_be_visible()
    expect(preview.get_by_role("rowheader", name="Süd")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Regeln jetzt anwenden").click()
    settled(page)
    expect(page.get_by_text("Datensätze verschoben.")).to_be_visible()
    expect(page.locator("#rules-preview")).to_contain_text("Nichts würde verschoben")
    assert axe_violations(page) == []
    page.context.clear_cookies()

    # -- Franz (Süd) creates a company in Hamburg: it goes to Nord --------------------------------------
    login(page, server, SUED)
    page.goto(server.url("/companies/new"))
    expect(page.locator("#rules-notice")).to_contain_text("Nord")  # the rules may take it out of his view
    assert axe_violations(page) == []
    page.get_by_label("Name", exact=True).fill("Hafenlogistik Nord GmbH")
    page.get_by_label("Adressen", exact=True).fill("Am Sandtorkai 1\n20457 Hamburg")
    page.get_by_role("button", name="Speichern", exact=True).click()
    settled(page)
    expect(page.get_by_text("Firma „Hafenlogistik Nord GmbH“ wurde angelegt.")).to_be_visible()
    # now in Nord: Franz sees only its name, group and the shared "Kundenstatus" (restricted)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nord")
    expect(page.get_by_role("heading", level=1, name="eingeschränkt")).to_be_visible()
    assert axe_violations(page) == []
