"""Müller's boss makes Finanzen the default group of new deals and names Sabine Wolf whom to ask;
Jonas from sales, who is not in Finanzen, is told before saving that his new deal will leave his
view, and after saving that it did - on a desktop and on a phone, with no critical or serious axe
finding."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .axe import axe_violations
from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "katrin.mueller@mueller.example"
SALES = "jonas.schaefer@mueller.example"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_default_group_and_whom_to_ask(kontor, new_page, width, height):
    server = kontor("mueller")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)

    # -- Settings -> Gruppen: new deals go to Finanzen --------------------------------------------
    page.goto(server.url("/settings/groups"))
    page.get_by_label("Angebote", exact=True).select_option(label="Finanzen")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Standardgruppen speichern").click()
    settled(page)
    expect(page.get_by_text("Standardgruppen gespeichert.")).to_be_visible()
    expect(page.get_by_label("Angebote", exact=True)).to_have_value(
        page.get_by_label("Angebote", exact=True).locator("option", has_text="Finanzen").get_attribute("value"))

    # -- the group Finanzen: Sabine Wolf is whom to ask ---------------------------------------------
    page.locator("table.groups").get_by_role("link", name="Finanzen", exact=True).click()
    settled(page)
    contacts = page.locator("form", has=page.get_by_role("button", name="Ansprechpartner speichern"))
    contacts.get_by_label("Sabine Wolf").check()
    assert axe_violations(page) == []
    contacts.get_by_role("button", name="Ansprechpartner speichern").click()
    settled(page)
    expect(page.get_by_text("Ansprechpartner gespeichert.")).to_be_visible()
    page.context.clear_cookies()

    # -- Jonas (sales, not in Finanzen) creates a deal ----------------------------------------------
    login(page, server, SALES)
    page.goto(server.url("/deals/new"))
    notice = page.locator("#default-notice")
    expect(notice).to_contain_text("Neue Angebote kommen in die Gruppe Finanzen")
    expect(notice).to_contain_text("Sabine Wolf")
    assert axe_violations(page) == []
    page.get_by_label("Name", exact=True).fill("Wärmepumpe Bäckerei Kühn")
    page.get_by_role("button", name="Speichern", exact=True).click()
    settled(page)
    expect(page.get_by_text("in der Gruppe Finanzen angelegt, in der Sie nicht Mitglied sind")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Angebote")
    assert axe_violations(page) == []
