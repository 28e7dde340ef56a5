"""Issue 2, "tried as a new user would": a fresh Kontor, its admin does the daily things once.

Log in, create a company, add a person to it with the company picker, add a note (in place) and
a task (completed in place), define a custom field and fill it in, find the company again by the
list's text filter, switch the language. No page errors (the page watch), no lost input.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, settled
from .live import FRESH_ADMIN

pytestmark = pytest.mark.browser


def mark_in_place(page, selector: str) -> None:
    """Tag a DOM node; if it is still there later, the page was updated in place, not reloaded."""
    page.locator(selector).evaluate("el => { el.kontorMarker = true; }")


def still_in_place(page, selector: str) -> bool:
    return page.locator(selector).evaluate("el => el.kontorMarker === true")


def test_new_user_daily_work(kontor, new_page):
    server = kontor("fresh")
    page = new_page(locale="en-GB")
    login(page, server, FRESH_ADMIN[0])

    # -- a company; the first try has a wrong website: the error shows, everything typed stays ----
    page.locator("header.topbar").get_by_role("link", name="Companies").click()
    page.get_by_role("button", name="New company").click()
    expect(page).to_have_url(re.compile(r"/companies/new$"))
    page.locator("#name").fill("Hafenkontor Jansen GmbH")
    page.locator("#website").fill("not a web address")
    page.locator("#emails").fill("info@hafenkontor.example\nzentrale@hafenkontor.example")
    page.locator("#phones").fill("+49 40 5550123")
    page.locator("#background").fill("Reederei-Agentur am Sandtorkai.")
    page.locator("#tags").fill("Hamburg, Neukunde")
    page.watch.allow(400, r"^/companies/new$")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field.has-error")).to_contain_text("Not a web address (http:// or https://).")
    expect(page.locator("#name")).to_have_value("Hafenkontor Jansen GmbH")
    expect(page.locator("#emails")).to_have_value("info@hafenkontor.example\nzentrale@hafenkontor.example")
    expect(page.locator("#phones")).to_have_value("+49 40 5550123")
    expect(page.locator("#background")).to_have_value("Reederei-Agentur am Sandtorkai.")
    expect(page.locator("#tags")).to_have_value("Hamburg, Neukunde")
    settled(page)
    page.locator("#website").fill("https://hafenkontor.example")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/companies/\d+$"))
    company_url = page.url
    expect(page.locator("h1")).to_contain_text("Hafenkontor Jansen GmbH")
    expect(page.locator("article.fields")).to_contain_text("zentrale@hafenkontor.example")

    # -- a person at that company, chosen with the company picker (typed, then picked by keyboard)
    page.locator("header.topbar").get_by_role("link", name="People").click()
    page.get_by_role("button", name="New person").click()
    expect(page).to_have_url(re.compile(r"/people/new$"))
    settled(page)
    page.locator("#first_name").fill("Hanna")
    page.locator("#last_name").fill("Jansen")
    page.locator("#company_id-q").press_sequentially("hafen", delay=30)
    option = page.locator("#company_id-options [data-pick-id]")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("Hafenkontor Jansen GmbH")  # (and its website: telling duplicates apart)
    page.locator("#company_id-q").press("ArrowDown")
    expect(option).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#company_id-q")).to_have_value("Hafenkontor Jansen GmbH")
    settled(page)  # the picked company's group is proposed (the group field is swapped), as a user sees
    page.locator("#position").fill("Geschäftsführerin")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Hanna Jansen")
    page.locator("article.fields").get_by_role("link", name="Hafenkontor Jansen GmbH").click()
    expect(page).to_have_url(company_url)
    expect(page.locator("#related-people")).to_contain_text("Hanna Jansen")
    settled(page)

    # -- a note, added in place; an empty one is refused in place, what was chosen stays ---------
    mark_in_place(page, "article.fields")
    page.locator("#kind").select_option("call")
    page.watch.allow(422, r"^/companies/\d+/notes$")
    page.locator("#notes").get_by_role("button", name="Add").click()
    expect(page.locator("#notes .field.has-error")).to_be_visible()
    expect(page.locator("#kind")).to_have_value("call")
    settled(page)
    page.locator("#body").fill("Rückruf wegen Liegeplatz-Software, Angebot bis Freitag.")
    page.locator("#notes").get_by_role("button", name="Add").click()
    expect(page.locator("#note-items > li.note")).to_have_count(1)
    expect(page.locator("#note-items")).to_contain_text("Rückruf wegen Liegeplatz-Software")
    expect(page.locator("#note-items .badge.kind")).to_have_text("Call")
    expect(page.locator("#body")).to_have_value("")
    assert still_in_place(page, "article.fields"), "adding a note reloaded the page"

    # -- a task, added and completed in place ------------------------------------------------------
    page.locator("#title").fill("Angebot Liegeplatz-Software schicken")
    page.locator("#tasks").get_by_role("button", name="Add task").click()
    task = page.locator("#tasks li.task", has_text="Angebot Liegeplatz-Software schicken")
    expect(task).to_be_visible()
    expect(task).not_to_have_class(re.compile(r"\bdone\b"))
    settled(page)
    task.get_by_role("button", name="Mark as done").click()
    expect(task).to_have_class(re.compile(r"\bdone\b"))
    assert still_in_place(page, "article.fields"), "completing a task reloaded the page"
    page.reload()
    expect(page.locator("#tasks li.task.done")).to_contain_text("Angebot Liegeplatz-Software schicken")

    # -- a custom field: Settings -> Custom fields; a select without options is refused ------------
    page.locator("header.topbar").get_by_role("link", name="Settings").click()
    page.locator(".settings-nav").get_by_role("link", name="Custom fields").click()
    page.get_by_role("button", name="New field").click()
    page.locator("#entity").select_option("company")
    page.locator("#kind").select_option("select")
    page.locator("#name").fill("Kundenstatus")
    page.watch.allow(400, r"^/settings/fields/new$")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#options")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name")).to_have_value("Kundenstatus")
    expect(page.locator("#kind")).to_have_value("select")
    settled(page)
    page.locator("#options").fill("Top-Kunde\nStammkunde\nNeukunde")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#fields-company")).to_contain_text("Kundenstatus")

    # ... and filled in on the company
    page.goto(company_url)
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Kundenstatus").select_option("Top-Kunde")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(company_url)
    expect(page.locator("dl.custom-fields")).to_contain_text("Kundenstatus")
    expect(page.locator("dl.custom-fields")).to_contain_text("Top-Kunde")

    # -- find it again by the list's text filter (live, without reloading the page) ---------------
    server.run(_another_company)
    page.locator("header.topbar").get_by_role("link", name="Companies").click()
    expect(page.locator("#record-list tbody tr")).to_have_count(2)
    settled(page)
    mark_in_place(page, "#list-filter")
    page.locator("#filter-q").press_sequentially("jansen", delay=40)
    expect(page.locator("#record-list tbody tr")).to_have_count(1)
    expect(page.locator("#record-list tbody")).to_contain_text("Hafenkontor Jansen GmbH")
    expect(page).to_have_url(re.compile(r"/companies\?.*q=jansen"))
    assert still_in_place(page, "#list-filter"), "the filter reloaded the page"
    # by email and by phone, too
    page.locator("#filter-q").fill("zentrale@hafenkontor")
    expect(page.locator("#record-list tbody tr")).to_have_count(1)
    page.locator("#filter-q").fill("nobody-has-this")
    expect(page.locator("#record-list .empty")).to_be_visible()
    page.locator("#filter-q").fill("jansen")
    page.locator("#record-list").get_by_role("link", name="Hafenkontor Jansen GmbH").click()
    expect(page).to_have_url(company_url)

    # -- switch the language to German in the profile ---------------------------------------------
    page.locator("header.topbar").get_by_role("link", name=FRESH_ADMIN[1]).click()
    page.locator("#profile-locale").select_option("de")
    page.locator("form[action$='/profile']").get_by_role("button").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#profile-locale")).to_have_value("de")


def _another_company():
    from crm.extensions import db
    from crm.records.models import Company

    db.session.add(Company(name="Bergmann Bau KG", group_id=1))
    db.session.commit()
