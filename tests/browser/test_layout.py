"""Kontor on a phone (390 x 844) and on a laptop (1280 x 800): no page is wider than the window,
every target of the top navigation can be reached, and on the phone it is large enough to hit."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"
PHONE = (390, 844)
LAPTOP = (1280, 800)
SIZES = pytest.mark.parametrize(("width", "height"), [PHONE, LAPTOP], ids=["phone", "laptop"])

#: The pages of an admin, one of each kind ("{company}" is the first company of the list).
PAGES = [
    "/", "/companies", "/people", "/deals", "/projects", "/tasks", "/deals/pipeline", "/companies/{company}",
    "/companies/{company}/edit", "/companies/new", "/search?q=Schmidt", "/import", "/profile",
    "/settings/users", "/settings/groups", "/settings/fields", "/settings/audit", "/settings/trash",
]
NAV_TARGETS = ["Companies", "People", "Deals", "Pipeline", "Projects", "Tasks", "Settings", "Claudia Schmidt"]


def no_sideways_scrolling(page, what: str) -> None:
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"{what}: the page is {sizes[0]} px wide in a {sizes[1]} px window"


def first_company(page, server) -> int:
    page.goto(server.url("/companies"))
    return int(page.locator("#record-list tbody tr").first.get_attribute("id").removeprefix("row-"))


@SIZES
def test_no_page_is_wider_than_the_window(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    page.goto(server.url("/login"))
    no_sideways_scrolling(page, "/login")
    login(page, server, BOSS)
    company = first_company(page, server)
    for path in PAGES:
        path = path.format(company=company)
        resp = page.goto(server.url(path))
        assert resp.status == 200, path
        settled(page)  # what htmx loads after the page (the home page's dashboard) counts too
        no_sideways_scrolling(page, path)


@SIZES
def test_the_assign_dialog_fits(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)
    page.goto(server.url("/companies"))
    settled(page)
    page.locator("#record-list input[data-select-id]").first.check()
    page.locator("#bulk summary").click()
    page.locator("#bulk").get_by_role("button", name="Gruppe zuweisen").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.locator("#assign-group")).to_be_visible()
    no_sideways_scrolling(page, "the assign dialog")
    box = dialog.locator("article").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    for button in dialog.locator("footer button").all():
        b = button.bounding_box()
        assert b["x"] >= 0 and b["x"] + b["width"] <= width, b


@SIZES
def test_every_navigation_target_can_be_reached(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(locale="en-GB", width=width, height=height)
    login(page, server, BOSS)
    bar = page.locator("header.topbar")
    toggle = bar.get_by_role("button", name="Menu")
    if width < 900:
        expect(toggle).to_be_visible()
        expect(bar.get_by_role("link", name="Companies")).to_be_hidden()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    else:
        expect(toggle).to_be_hidden()
    expect(bar.get_by_role("searchbox", name="Search")).to_be_visible()
    targets = [bar.get_by_role("link", name=n, exact=True) for n in NAV_TARGETS]
    targets += [bar.get_by_role("button", name="Log out"), bar.get_by_role("link", name="Kontor")]
    for target in targets:
        expect(target).to_be_visible()
        expect(target).to_be_in_viewport()
        if width < 900:
            assert target.bounding_box()["height"] >= 44, f"{target}: a touch target of at least 44 px"
    if width < 900:
        assert toggle.bounding_box()["height"] >= 44
    no_sideways_scrolling(page, "the open menu")
    # a link of the menu leads to its page
    bar.get_by_role("link", name="Deals").click()
    expect(page).to_have_url(re.compile(r"/deals$"))
    expect(page.locator("h1")).to_have_text("Deals")


def test_the_menu_closes_with_escape_and_gives_the_focus_back(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB", width=PHONE[0], height=PHONE[1])
    login(page, server, BOSS)
    toggle = page.get_by_role("button", name="Menu")
    toggle.click()
    page.locator("#nav-menu").get_by_role("link", name="People").focus()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(page.locator("#nav-menu").get_by_role("link", name="People")).to_be_hidden()


def test_the_rule_form_fits_a_phone(kontor, new_page):
    """New-user trial: on a phone the rule form's help text was cut off at the right edge, the value
    input was about 40 px wide and the group column off-screen (the conditions' table scrolled
    inside the settings). Each condition's fields stack, full width, and nothing scrolls sideways."""
    server = kontor("schmidt")
    width = PHONE[0]
    page = new_page(width=width, height=PHONE[1])
    login(page, server, BOSS)
    page.goto(server.url("/settings/rules/new"))
    no_sideways_scrolling(page, "/settings/rules/new")
    inner = page.evaluate("() => { const m = document.querySelector('.settings-main');"
                          " return [m.scrollWidth, m.clientWidth]; }")
    assert inner[0] <= inner[1], f"the settings scroll sideways inside: {inner}"
    row = page.locator("fieldset.rule-conditions tbody tr").first
    fields = [page.locator("#conditions-help"), *row.locator("select, input").all()]
    assert len(fields) == 5
    for field in fields:
        box = field.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (field, box)
    for field in fields[1:]:
        assert field.bounding_box()["width"] >= 250, field
