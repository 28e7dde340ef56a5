"""Schmidt's admin finds Lars Petersen by searching on the group Süd and previews what adding him
would change before saving, then looks at the access review and downloads it as CSV - on a
desktop and on a phone, with no critical or serious axe finding."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .axe import axe_violations
from .conftest import login

pytestmark = pytest.mark.browser

ADMIN = "claudia.schmidt@schmidt.example"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_impact_preview_and_access_review(kontor, new_page, width, height, tmp_path):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, ADMIN)

    # -- the group Süd: tick Lars, ask for the impact, nothing is saved --------------------------
    page.goto(server.url("/settings/groups"))
    page.locator("table.groups").get_by_role("link", name="Süd", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Süd")
    page.get_by_label("Benutzer nach Name oder E-Mail suchen").fill("lars")
    page.locator("section.members").get_by_role("button", name="Suche", exact=True).click()
    found = page.locator("section.members fieldset").last
    expect(found.get_by_role("checkbox")).to_have_count(1)
    found.get_by_role("checkbox").check()
    page.locator("section.members").get_by_role("button", name="Auswirkungen anzeigen").click()
    impact = page.locator("#impact")
    expect(impact.get_by_role("heading")).to_have_text("Auswirkungen dieser Änderung")
    lars = impact.locator("tbody tr").filter(has_text="Lars Petersen").first
    expect(lars).to_contain_text("Firmen")
    expect(lars).to_contain_text("→")
    assert axe_violations(page) == []
    page.goto(server.url("/settings/groups"))
    expect(page.locator("table.groups tbody tr").filter(has_text="Süd")).not_to_contain_text("Lars Petersen")

    # -- the access review and its CSV ----------------------------------------------------------
    page.locator(".settings-nav").get_by_role("link", name="Zugriffsübersicht").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zugriffsübersicht")
    expect(page.locator("[aria-labelledby=review-counts] tbody tr").filter(has_text="Lars Petersen")).to_have_count(1)
    assert axe_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV exportieren").click()
    path = tmp_path / "review.csv"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Name,E-Mail,Rolle,Basis,Nord,Süd")
    assert "Lars Petersen" in text
