"""Deleting, with confirmation: a note in place by its author (the browser's confirm), a record by
its confirmation page (extended and admin only) - to the recycle bin, and back from it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, settled

pytestmark = pytest.mark.browser

EXTENDED = "maria.bauer@schmidt.example"  # extended, Süd
NORMAL = "franz.huber@schmidt.example"  # normal, Süd


def _sued_company_with_notes():
    """A Süd company with two notes or more, all of them written by Maria (extended, Süd): only a
    note's author (or an admin) deletes it."""
    from sqlalchemy import func, select, update

    from crm.auth.models import User
    from crm.extensions import db
    from crm.groups.models import Group
    from crm.notes.models import Note
    from crm.records.models import Company

    sued = select(Group.id).where(Group.name == "Süd").scalar_subquery()
    n = func.count(Note.id)
    row = db.session.execute(
        select(Company.id, Company.name, n).join(Note, Note.company_id == Company.id)
        .where(Company.group_id == sued).group_by(Company.id, Company.name).having(n >= 2)
        .order_by(Company.id).limit(1)).one()
    maria = db.session.scalar(select(User.id).where(User.email == EXTENDED))
    db.session.execute(update(Note).where(Note.company_id == row.id).values(author_id=maria))
    db.session.commit()
    return row.id, row.name, row[2]


def _exists(company_id: int) -> bool:
    """The company is there and not in the recycle bin."""
    from crm.extensions import db
    from crm.records.models import Company

    db.session.expire_all()
    company = db.session.get(Company, company_id)
    return company is not None and company.deleted_at is None


def test_delete_a_note_in_place_only_when_confirmed(kontor, new_page):
    server = kontor("schmidt")
    cid, _name, notes = server.run(_sued_company_with_notes)
    page = new_page(locale="en-GB")
    login(page, server, EXTENDED)
    page.goto(server.url(f"/companies/{cid}"))
    items = page.locator("#note-items > li.note")
    expect(items).to_have_count(notes)
    first = items.first.get_attribute("id")

    page.once("dialog", lambda d: d.dismiss())
    items.first.get_by_role("button", name="delete").click()
    page.wait_for_timeout(300)
    expect(items).to_have_count(notes)

    page.once("dialog", lambda d: d.accept())
    items.first.get_by_role("button", name="delete").click()
    expect(items).to_have_count(notes - 1)
    expect(page.locator(f"#{first}")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/companies/{cid}$"))


def test_delete_a_record_by_its_confirmation_page(kontor, new_page):
    server = kontor("schmidt")
    cid, name, _notes = server.run(_sued_company_with_notes)

    normal = new_page(locale="en-GB")
    login(normal, server, NORMAL)
    normal.goto(server.url(f"/companies/{cid}"))
    expect(normal.locator(".page-head").get_by_role("button", name="Delete")).to_have_count(0)
    normal.watch.allow(403, rf"^/companies/{cid}/delete$")
    assert normal.goto(server.url(f"/companies/{cid}/delete")).status == 403

    page = new_page(locale="en-GB")
    login(page, server, EXTENDED)
    page.goto(server.url(f"/companies/{cid}"))
    settled(page)
    page.locator(".page-head").get_by_role("button", name="Delete").click()
    expect(page.locator("h1")).to_contain_text(name)
    page.get_by_role("button", name="Cancel").click()  # a link styled as a button
    expect(page).to_have_url(re.compile(rf"/companies/{cid}$"))
    assert server.run(_exists, cid)

    page.locator(".page-head").get_by_role("button", name="Delete").click()
    page.locator("article.confirm").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/companies$"))
    expect(page.locator(".flash-success")).to_contain_text(name)
    expect(page.locator(f"#row-{cid}")).to_have_count(0)
    assert not server.run(_exists, cid)
    page.watch.allow(404, rf"^/companies/{cid}$")
    assert page.goto(server.url(f"/companies/{cid}")).status == 404

    # Settings -> Recycle bin: the deleter brings it back (a plain form post, no script needed)
    page.goto(server.url("/settings/trash"))
    row = page.locator("#trash tr", has_text=name)
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Restore").click()
    expect(page).to_have_url(re.compile(r"/settings/trash$"))
    expect(page.locator(".flash-success")).to_contain_text(name)
    expect(page.locator("#trash tr", has_text=name)).to_have_count(0)
    assert server.run(_exists, cid)
    assert page.goto(server.url(f"/companies/{cid}")).status == 200
