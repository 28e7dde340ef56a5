"""Where the keyboard focus goes: back to the opener when the dialog closes, to the note field
after a note was added, to the first invalid field after a form came back with errors; a skip
link leads past the top bar."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"


def open_assign_dialog(page, server):
    page.goto(server.url("/companies"))
    settled(page)
    page.locator("#record-list input[data-select-id]").first.check()
    page.locator("#bulk summary").click()
    page.locator("#bulk").get_by_role("button", name="Assign group").click()
    expect(page.locator("dialog#dialog #assign-group")).to_be_focused()
    settled(page)


@pytest.mark.parametrize("how", ["escape", "cancel"])
def test_closing_the_dialog_gives_the_focus_back_to_the_actions_menu(kontor, new_page, how):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    open_assign_dialog(page, server)
    if how == "escape":
        page.keyboard.press("Escape")
    else:
        page.locator("dialog#dialog").get_by_role("button", name="Cancel").click()
    expect(page.locator("dialog#dialog")).not_to_have_attribute("open", "")
    # the Assign button folded away with its menu: the menu's summary has the focus
    expect(page.locator("#bulk summary")).to_be_focused()


def test_after_adding_a_note_the_note_field_has_the_focus(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    page.goto(server.url("/companies"))
    page.locator("#record-list tbody tr a").first.click()
    expect(page).to_have_url(re.compile(r"/companies/\d+$"))
    settled(page)
    body = page.locator("#notes .note-form textarea")
    body.fill("Rückruf vereinbart")
    page.locator("#notes .note-form").get_by_role("button", name="Add").click()
    expect(page.locator("#note-items")).to_contain_text("Rückruf vereinbart")
    settled(page)
    expect(page.locator("#notes .note-form textarea")).to_be_focused()
    expect(page.locator("#notes .note-form textarea")).to_have_value("")


def test_after_an_invalid_submit_the_first_invalid_field_has_the_focus(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    page.watch.allow(400, r"^/companies/new$")
    login(page, server, BOSS)
    page.goto(server.url("/companies/new"))
    expect(page.locator("#name")).to_be_focused()
    page.locator("#name").fill("Testfirma")
    page.locator("#emails").fill("not an address")
    page.locator("form.record-form button[type=submit]").click()
    expect(page.locator("#emails")).to_have_attribute("aria-invalid", "true")
    settled(page)
    expect(page.locator("#emails")).to_be_focused()


def test_the_skip_link_leads_to_the_content(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    page.goto(server.url("/companies"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
