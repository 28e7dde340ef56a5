"""The lists as a user works them, on a phone (390 x 844) and a laptop (1280 x 800): filters that
land in the URL and survive a reload, the column chooser with the shared "Kundenstatus", and a
saved view found again - with no page wider than the window and no critical or serious axe
violation."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .axe import axe_violations
from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"
SIZES = pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)], ids=["phone", "laptop"])


def fits_and_passes_axe(page, what: str) -> None:
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"{what}: the page is {sizes[0]} px wide in a {sizes[1]} px window"
    assert axe_violations(page) == [], what


@SIZES
def test_filters_go_into_the_url_and_survive_a_reload(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)
    page.goto(server.url("/deals"))
    settled(page)
    page.locator("#list-filter details.filter-more:not(.column-chooser) summary").click()
    page.get_by_label("gewonnen").check()
    expect(page).to_have_url(re.compile(r"stage=won"))
    settled(page)
    page.locator("#list-filter select[name=responsible]").select_option("me")
    expect(page).to_have_url(re.compile(r"responsible=me"))
    settled(page)
    fits_and_passes_axe(page, "deals filtered")
    page.reload()
    settled(page)
    expect(page.get_by_label("gewonnen")).to_be_checked()
    expect(page.locator("#list-filter select[name=responsible]")).to_have_value("me")


@SIZES
def test_column_chooser_shows_the_shared_field(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)
    page.goto(server.url("/companies"))
    settled(page)
    page.locator("#list-filter details.column-chooser summary").click()
    page.locator("#list-filter details.column-chooser").get_by_label("Kundenstatus").check()
    expect(page).to_have_url(re.compile(r"col=\d+"))
    settled(page)
    expect(page.locator("#record-list thead th", has_text="Kundenstatus")).to_be_visible()
    fits_and_passes_axe(page, "companies with a custom field column")


@SIZES
def test_a_saved_view_is_found_again(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)
    page.goto(server.url("/deals?stage=open&sort=value&dir=desc"))
    settled(page)
    page.locator("details.save-view summary").click()
    page.get_by_label("Name der Ansicht").fill("Offene nach Wert")
    page.get_by_role("button", name="Aktuellen Filter speichern").click()
    settled(page)
    views = page.get_by_role("navigation", name="Gespeicherte Ansichten")
    expect(views.get_by_role("link", name="Offene nach Wert")).to_be_visible()
    fits_and_passes_axe(page, "deals with a saved view")
    page.goto(server.url("/deals"))
    settled(page)
    page.get_by_role("navigation", name="Gespeicherte Ansichten").get_by_role("link", name="Offene nach Wert").click()
    expect(page).to_have_url(re.compile(r"stage=open"))
    expect(page.locator("#list-filter select[name=sort]")).to_have_value("value")
