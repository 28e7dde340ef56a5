"""The live search in the header: debounced, keyboard navigable, restricted hits with the lock,
hidden records never."""
from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.browser


def _sued_names():
    """A word that finds a Süd company, and the names of Süd deals and people (hidden for Nord)."""
    from sqlalchemy import select

    from crm.extensions import db
    from crm.groups.models import Group
    from crm.records.models import Company, Deal

    sued = select(Group.id).where(Group.name == "Süd").scalar_subquery()
    company = db.session.scalar(select(Company).where(Company.group_id == sued).order_by(Company.name).limit(1))
    word = company.name.split()[0]
    deals = list(db.session.scalars(select(Deal.name).where(Deal.group_id == sued)))
    return word, company.id, company.name, deals


def test_live_search_by_keyboard_with_restricted_hits(kontor, page):
    server = kontor("schmidt")
    word, company_id, company_name, sued_deals = server.run(_sued_names)
    login(page, server, "lars.petersen@schmidt.example")
    searches = []
    page.on("request", lambda r: searches.append(r.url) if r.headers.get("hx-target") == "search-live" else None)

    box = page.locator("#global-search")
    box.press_sequentially(word, delay=40)  # faster than the 250 ms debounce
    hits = page.locator("#search-live .live-hit")
    expect(hits.first).to_be_visible()
    expect(page.locator("#search-live")).to_contain_text(company_name)
    assert 1 <= len(searches) < len(word), f"not debounced: {searches}"
    assert searches[-1].endswith(f"q={word}") or f"q={word}" in searches[-1]

    # the Süd company is there with the lock; no Süd deal (hidden for Nord) is
    restricted_hit = page.locator(f"#search-live a[href='/companies/{company_id}']")
    expect(restricted_hit.locator(".lock")).to_be_visible()
    for name in sued_deals:
        expect(page.locator("#search-live")).not_to_contain_text(name)
    # full hits carry no lock
    full_hits = page.locator("#search-live .live-hit:not(:has(.lock))")
    assert full_hits.count() >= 1  # "all results" at least

    # the hits are a list, one below the other
    boxes = [hits.nth(i).bounding_box() for i in range(hits.count())]
    assert all(a["y"] < b["y"] for a, b in itertools.pairwise(boxes)), boxes

    # keyboard: down into the hits, down, up, up back into the box; Escape closes
    box.press("ArrowDown")
    expect(hits.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(hits.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()
    box.press("Escape")
    expect(hits).to_have_count(0)

    # typing again brings the hits back (Escape also empties a search box); Enter opens a hit
    box.fill("")
    box.press_sequentially(word, delay=40)
    expect(restricted_hit).to_be_visible()
    box.press("ArrowDown")
    for _ in range(hits.count()):
        if restricted_hit.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("ArrowDown")
    expect(restricted_hit).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/companies/{company_id}$"))
    expect(page.locator("h1 .lock")).to_be_visible()


def test_full_search_page_marks_restricted_hits(kontor, page):
    server = kontor("schmidt")
    word, company_id, _company_name, sued_deals = server.run(_sued_names)
    login(page, server, "lars.petersen@schmidt.example")
    page.locator("#global-search").fill(word)
    page.locator("#global-search").press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))
    hit = page.locator("#main li", has=page.locator(f"a[href='/companies/{company_id}']"))
    expect(hit.locator(".lock")).to_be_visible()
    expect(hit.locator(".badge.group")).to_have_text("Süd")
    for name in sued_deals:
        expect(page.locator("#main")).not_to_contain_text(name)
