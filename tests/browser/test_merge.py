"""Merging two duplicates (issue 15): open a person, pick the duplicate with the record picker,
choose a field of the other side, merge - the survivor's page says so and offers the undo."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, settled

pytestmark = pytest.mark.browser

EXTENDED = "maria.bauer@schmidt.example"  # extended, Süd


def _duplicates():
    """Two people of Süd, the second one as an import would have made it."""
    from sqlalchemy import select

    from crm.extensions import db
    from crm.groups.models import Group
    from crm.records.models import Person

    sued = db.session.scalar(select(Group.id).where(Group.name == "Süd"))
    keep = Person(first_name="Wiebke", last_name="Zweifach", group_id=sued, position="")
    dup = Person(first_name="Wiebke", last_name="Zweifach-Import", group_id=sued, position="Einkauf")
    db.session.add_all([keep, dup])
    db.session.commit()
    return keep.id, dup.id


def test_merge_a_person_with_its_duplicate(kontor, new_page):
    server = kontor("schmidt")
    keep, _dup = server.run(_duplicates)
    page = new_page(locale="en-GB")
    login(page, server, EXTENDED)
    page.goto(server.url(f"/people/{keep}"))
    settled(page)
    page.locator(".page-head").get_by_role("button", name="Merge…").click()
    expect(page).to_have_url(re.compile(rf"/people/{keep}/merge$"))
    page.locator("#other_id-q").fill("Zweifach-Import")
    page.locator("#other_id-options [data-pick-id]").first.click()
    page.get_by_role("button", name="Compare").click()
    page.locator('input[name="choice:position"][value="other"]').check()
    page.locator("#merge-form").get_by_role("button", name="Merge").click()
    expect(page).to_have_url(re.compile(rf"/people/{keep}$"))
    expect(page.locator(".flash-success")).to_contain_text("merged")
    expect(page.locator(".page-head")).to_contain_text("Wiebke Zweifach")
    expect(page.get_by_text("Einkauf")).to_be_visible()
    expect(page.get_by_role("button", name="Undo merge")).to_be_visible()
