"""hx-boost turns links and forms into htmx requests; they must still behave like pages."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import login
from .live import FRESH_ADMIN

pytestmark = pytest.mark.browser


def test_wrong_password_shows_the_message_and_keeps_the_email(kontor, new_page):
    server = kontor("fresh")
    page = new_page(locale="en-GB")
    page.goto(server.url("/login"))
    page.locator("#email").fill(FRESH_ADMIN[0])
    page.locator("#password").fill("not-the-password")
    page.watch.allow(401, r"^/login$")
    page.locator("form button[type=submit]").click()
    expect(page.locator(".form-errors")).to_contain_text("Email or password is wrong.")
    expect(page.locator("#email")).to_have_value(FRESH_ADMIN[0])
    expect(page.locator("#toast")).to_be_hidden()


def test_after_logging_in_htmx_requests_carry_the_new_csrf_token(kontor, new_page):
    """Logging in starts a new session with a new token; the one in <head> must follow."""
    server = kontor("fresh")
    page = new_page(locale="en-GB")
    login(page, server, FRESH_ADMIN[0])
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token == page.locator("form input[name=csrf_token]").first.get_attribute("value")
    # what app.js does for every htmx request: the token from <head> in the X-CSRFToken header
    status = page.evaluate("""async () => {
        const r = await fetch('/tasks', {method: 'POST', body: new URLSearchParams({title: 'Rückruf'}),
            headers: {'X-CSRFToken': document.querySelector('meta[name="csrf-token"]').content}});
        return r.status; }""")
    assert status == 200


def test_switching_the_language_relabels_the_page(kontor, new_page):
    server = kontor("fresh")
    page = new_page(locale="en-GB")
    login(page, server, FRESH_ADMIN[0])
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("header.topbar").get_by_role("link", name=FRESH_ADMIN[1]).click()
    page.locator("#profile-locale").select_option("de")
    page.locator("form[action$='/profile']").get_by_role("button").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
