"""Meier: the boss lets Leads hand records over to Company ("An Company übergeben") and names
Julia Krause whom to ask; Tim from the call centre (Leads only) hands a qualified lead over from
its page, is warned that it will leave his view, and then no longer finds it - on a desktop and on
a phone, with no critical or serious axe finding."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .axe import axe_violations
from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "frank.meier@meier.example"
AGENT = "tim.brandt@callcenter.example"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_hand_over_a_lead_to_company(kontor, new_page, width, height):
    server = kontor("meier")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)

    # -- the group Leads: hand-over to Company; Company's contact person ---------------------------
    page.goto(server.url("/settings/groups"))
    page.locator("table.groups").get_by_role("link", name="Leads", exact=True).click()
    settled(page)
    page.get_by_label("Übergeben an").select_option(label="Company")
    page.get_by_label("Name der Aktion").fill("An Company übergeben")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Übergabe erlauben").click()
    settled(page)
    expect(page.get_by_text("Übergabe gespeichert.")).to_be_visible()
    expect(page.locator("ul.handovers")).to_contain_text("An Company übergeben")
    page.goto(server.url("/settings/groups"))
    page.locator("table.groups").get_by_role("link", name="Company", exact=True).click()
    settled(page)
    contacts = page.locator("form", has=page.get_by_role("button", name="Ansprechpartner speichern"))
    contacts.get_by_label("Julia Krause").check()
    contacts.get_by_role("button", name="Ansprechpartner speichern").click()
    settled(page)
    page.context.clear_cookies()

    # -- Tim hands a lead over from its page -------------------------------------------------------
    login(page, server, AGENT)
    page.goto(server.url("/companies"))
    settled(page)
    link = page.locator("#record-list table tbody tr a[href^='/companies/']").first
    name = link.inner_text()
    link.click()
    settled(page)
    button = page.get_by_role("button", name="An Company übergeben")
    expect(button).to_be_visible()
    button.click()
    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("alert")).to_contain_text("Julia Krause")
    # the list's dialog: the target chosen, the company's people, deals, projects to take along
    expect(dialog.get_by_label("Zuständige Gruppe")).to_have_value(re.compile(r"\d+"))
    dialog.get_by_label("Personen").check()
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Weiter").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Julia Krause")
    dialog.get_by_role("button", name="Zuweisen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Firmen")  # back on the list
    expect(page.get_by_text("Der Gruppe Company zugewiesen")).to_be_visible()
    settled(page)
    page.goto(server.url(f"/search?q={name}"))
    settled(page)
    expect(page.locator("main")).to_contain_text(f"Nichts gefunden für „{name}“")  # gone from his view
