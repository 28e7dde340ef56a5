"""German and English UI: the browser's language, and the user's own setting above it."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.browser

#: What the top bar and the login page say, by language.
WORDS = ["Companies", "People", "Deals", "Projects", "Tasks", "Log out"]


def _german(words: list[str]) -> list[str]:
    from flask_babel import force_locale, gettext

    with force_locale("de"):
        return [gettext(w) for w in words]


def _set_locale(email: str, locale: str | None) -> None:
    from sqlalchemy import select

    from crm.auth.models import User
    from crm.extensions import db

    db.session.scalar(select(User).where(User.email == email)).locale = locale
    db.session.commit()


def nav_texts(page) -> list[str]:
    return [t.strip() for t in page.locator("header.topbar ul.nav-main li").all_inner_texts()]


def assert_nav(page, words: list[str], not_words: list[str] = ()) -> None:
    """The top bar shows these words (it may show more entries) and none of ``not_words``."""
    texts = nav_texts(page)
    assert [w for w in words if w in texts] == words, texts
    assert not [w for w in not_words if w in texts and w not in words], texts


@pytest.mark.parametrize("locale", ["de-DE", "en-GB"])
def test_ui_follows_the_browser_language(kontor, new_page, locale):
    server = kontor("schmidt")
    german = server.run(_german, WORDS)
    page = new_page(locale=locale)
    page.goto(server.url("/login"))
    lang = locale[:2]
    expect(page.locator("html")).to_have_attribute("lang", lang)
    login(page, server, "lars.petersen@schmidt.example")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expected, other = (german, WORDS) if lang == "de" else (WORDS, german)
    assert_nav(page, expected[:5], other[:5])
    expect(page.locator("header.topbar form button")).to_have_text(expected[5])
    if lang == "de" and german == WORDS:
        pytest.xfail("the German catalog does not translate the top bar yet (the lead translates at the end)")


def test_the_users_setting_beats_the_browser(kontor, new_page):
    server = kontor("schmidt")
    email = "lars.petersen@schmidt.example"
    server.run(_set_locale, email, "en")
    page = new_page(locale="de-DE")
    login(page, server, email)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_nav(page, WORDS[:5])
    # and back to "as the browser says" in the profile: German again
    page.locator("header.topbar").get_by_role("link", name="Lars Petersen").click()
    page.locator("#profile-locale").select_option("")
    page.locator("form[action$='/profile']").get_by_role("button").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.locator("header.topbar a.brand").click()
    assert_nav(page, server.run(_german, WORDS)[:5], WORDS[:5])
