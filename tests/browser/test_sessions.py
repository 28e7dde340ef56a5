"""Sessions end on the server, seen from real browsers: a copy of the session cookie in another
browser is logged out by "Log out", and an admin's "End sessions" logs a user out in every
browser."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.browser

NORD = "lars.petersen@schmidt.example"
ADMIN = "claudia.schmidt@schmidt.example"


def _user_id(email: str) -> int:
    from sqlalchemy import select

    from crm.auth.models import User
    from crm.extensions import db

    return db.session.scalar(select(User.id).where(User.email == email))


def _copy_cookies(source, target) -> None:
    target.context.add_cookies(source.context.cookies())


def test_a_copied_cookie_is_logged_out_with_its_browser(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, NORD)
    thief = new_page(locale="en-GB")
    _copy_cookies(page, thief)
    thief.goto(server.url("/companies"))
    expect(thief.locator("header.topbar")).to_contain_text("Lars Petersen")

    page.locator("header.topbar").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    thief.goto(server.url("/companies"))
    expect(thief).to_have_url(re.compile(r"/login\?next=/companies$"))
    expect(thief.locator("#email")).to_be_visible()


def test_admin_ends_a_users_sessions(kontor, new_page):
    server = kontor("schmidt")
    lars_id = server.run(_user_id, NORD)
    laptop, phone = new_page(locale="en-GB"), new_page(locale="en-GB")
    login(laptop, server, NORD)
    login(phone, server, NORD)

    admin = new_page(locale="en-GB")
    login(admin, server, ADMIN)
    admin.goto(server.url(f"/settings/users/{lars_id}"))
    expect(admin.locator(".user-sessions")).to_contain_text("2 active logins.")
    admin.once("dialog", lambda d: d.accept())
    admin.locator(".user-sessions").get_by_role("button", name="End sessions").click()
    expect(admin.locator(".flashes")).to_contain_text("Lars Petersen was logged out everywhere")
    expect(admin.locator(".user-sessions")).to_contain_text("0 active logins.")

    for page in (laptop, phone):
        page.goto(server.url("/deals"))
        expect(page).to_have_url(re.compile(r"/login\?next=/deals$"))
    # the admin is still logged in
    admin.goto(server.url("/companies"))
    expect(admin.locator("header.topbar")).to_be_visible()
