"""axe-core finds no critical and no serious violation on Kontor's main pages and states, in
German and in English: lists (also with a selection), the assign dialog, a record, a restricted
record, a form with errors, settings, import, pipeline and search."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .axe import axe_violations
from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"
NORD = "lars.petersen@schmidt.example"
LOCALES = pytest.mark.parametrize("locale", ["de-DE", "en-GB"])


class Checked:
    """The violations of each page state looked at."""

    def __init__(self, page):
        self.page = page
        self.found: dict[str, list[str]] = {}

    def __call__(self, state: str) -> None:
        settled(self.page)
        problems = axe_violations(self.page)
        if problems:
            self.found[state] = problems

    def report(self) -> str:
        return "\n".join(f"{state}:\n  " + "\n  ".join(p) for state, p in self.found.items())


@LOCALES
def test_the_pages_of_an_admin_have_no_serious_violations(kontor, new_page, locale):
    server = kontor("schmidt")
    page = new_page(locale=locale)
    check = Checked(page)
    page.goto(server.url("/login"))
    check("login")
    login(page, server, BOSS)
    check("home")
    for path in ["/companies", "/people", "/deals", "/projects", "/tasks", "/deals/pipeline", "/import",
                 "/search?q=Bau", "/profile", "/settings/users", "/settings/groups", "/settings/fields",
                 "/settings/extensions", "/settings/account", "/settings/audit", "/settings/trash",
                 "/settings/users/new", "/settings/fields/new"]:
        page.goto(server.url(path))
        check(path)

    # the live search, open
    page.locator("#global-search").fill("Bau")
    expect(page.locator("#search-live .live-hit").first).to_be_visible()
    check("live search")

    # a list with a selection, the assign dialog
    page.goto(server.url("/companies"))
    settled(page)
    page.locator("#record-list input[data-select-id]").first.check()
    check("list with a selection")
    page.locator("#bulk summary").click()
    check("actions menu open")
    page.locator("#bulk [hx-post$='/bulk/assign']").click()
    expect(page.locator("dialog#dialog #assign-group")).to_be_visible()
    check("assign dialog")
    page.keyboard.press("Escape")

    # a record, its form, the form with errors
    page.locator("#record-list tbody tr a").first.click()
    expect(page).to_have_url(re.compile(r"/companies/\d+$"))
    check("company detail")
    page.goto(server.url("/companies/new"))
    check("new company form")
    page.watch.allow(400, r"^/companies/new$")
    page.locator("form.record-form button[type=submit]").click()
    expect(page.locator("form.record-form [aria-invalid=true]").first).to_be_visible()
    check("form with errors")
    assert not check.found, "axe-core found:\n" + check.report()


@LOCALES
def test_a_restricted_record_has_no_serious_violations(kontor, new_page, locale):
    server = kontor("schmidt")
    page = new_page(locale=locale)
    check = Checked(page)
    login(page, server, NORD)
    page.goto(server.url("/companies"))
    check("list with restricted rows")
    page.locator("#record-list tr.restricted a").first.click()
    expect(page.locator("h1 .lock")).to_be_visible()
    check("restricted company")
    assert not check.found, "axe-core found:\n" + check.report()
