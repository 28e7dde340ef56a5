"""Assigning groups from the list (issue 4, "tried as a new user would"): tick three companies,
Actions -> Assign group, the cascade dialog shows the right counts, take along people and deals
but not projects; the lists and the audit log show it; undo puts everything back. And the same
dialog by keyboard alone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"  # admin, in Nord and Süd: sees everything


def _groups_of(company_ids: list[int]) -> dict[str, dict[int, str]]:
    """The group name of the companies and of their people, deals and projects."""
    from sqlalchemy import select

    from crm.extensions import db
    from crm.groups.models import Group
    from crm.records.models import Company, Deal, Person, Project

    out = {}
    for plural, model, fk in (("companies", Company, Company.id), ("people", Person, Person.company_id),
                              ("deals", Deal, Deal.company_id), ("projects", Project, Project.company_id)):
        rows = db.session.execute(select(model.id, Group.name).join(Group, Group.id == model.group_id)
                                  .where(fk.in_(company_ids)))
        out[plural] = {row[0]: row[1] for row in rows}
    return out


def _group_id(name: str) -> int:
    from sqlalchemy import select

    from crm.extensions import db
    from crm.groups.models import Group

    return db.session.scalar(select(Group.id).where(Group.name == name))


def open_sued_companies(page, server) -> list[int]:
    page.locator("header.topbar").get_by_role("link", name="Companies").click()
    expect(page).to_have_url(re.compile(r"/companies$"))
    settled(page)
    page.locator("#list-filter select[name=group_id]").select_option(label="Süd")
    expect(page).to_have_url(re.compile(r"group_id=\d+"))
    expect(page.locator("#record-list .badge.group").first).to_have_text("Süd")
    rows = page.locator("#record-list tbody tr")
    return [int(rows.nth(i).get_attribute("id").removeprefix("row-")) for i in range(3)]


def test_assign_three_companies_with_people_and_deals_then_undo(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    ids = open_sued_companies(page, server)
    before = server.run(_groups_of, ids)
    assert set(before["companies"].values()) == {"Süd"}

    # -- tick three rows: the selection bar counts them -----------------------------------------
    for cid in ids:
        page.locator(f"#row-{cid} input[data-select-id]").check()
    expect(page.locator("#bulk [data-bulk-count]")).to_contain_text("3")

    # -- Actions -> Assign group: the dialog with the cascade counts -----------------------------
    page.locator("#bulk summary").click()
    page.locator("#bulk").get_by_role("button", name="Assign group").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_have_attribute("open", "")
    expect(dialog.locator("#assign-group")).to_be_focused()
    dialog.locator("#assign-group").select_option(label="Nord")
    preview = dialog.locator("#assign-preview")
    expect(preview.locator("[data-count=companies]")).to_contain_text("3")
    for plural in ("people", "deals", "projects"):
        expect(preview.locator(f".badge[data-count={plural}]")).to_have_text(str(len(before[plural])))
    dialog.locator("input[name=cascade][value=people]").check()
    dialog.locator("input[name=cascade][value=deals]").check()
    dialog.locator("input[name=cascade][value=projects]").uncheck()
    dialog.get_by_role("button", name="Continue").click()

    # -- the confirmation lists what moves; Assign ------------------------------------------------
    moving = dialog.locator("ul.moving")
    expect(moving.locator("[data-count=companies]")).to_contain_text("3")
    expect(moving.locator("[data-count=people]")).to_contain_text(str(len(before["people"])))
    expect(moving.locator("[data-count=deals]")).to_contain_text(str(len(before["deals"])))
    expect(moving.locator("[data-count=projects]")).to_have_count(0)
    settled(page)
    dialog.get_by_role("button", name="Assign").click()
    expect(dialog).not_to_have_attribute("open", "")
    expect(page.locator("#bulk-message")).to_contain_text("Nord")

    # -- the result: in the database, in the (Süd-filtered) list, in the Nord list ---------------
    after = server.run(_groups_of, ids)
    assert set(after["companies"].values()) == {"Nord"}
    assert set(after["people"].values()) <= {"Nord"}
    assert set(after["deals"].values()) <= {"Nord"}
    assert after["projects"] == before["projects"]  # not taken along
    for cid in ids:
        expect(page.locator(f"#row-{cid}")).to_have_count(0)  # no longer in Süd
    page.goto(server.url(f"/companies?group_id={server.run(_group_id, 'Nord')}"))
    for cid in ids:
        expect(page.locator(f"#row-{cid} .badge.group")).to_have_text("Nord")
    if before["projects"]:
        pid = min(before["projects"])
        page.goto(server.url(f"/projects/{pid}"))
        expect(page.locator("h1 .badge.group")).to_have_text("Süd")

    # -- the audit log tells it, and undoes it -----------------------------------------------------
    page.locator("header.topbar").get_by_role("link", name="Settings").click()
    page.locator(".settings-nav").get_by_role("link", name="Audit log").click()
    entry = page.locator("table.audit tbody tr").first
    expect(entry).to_contain_text("Nord")
    expect(entry).to_contain_text(str(len(before["people"])))
    entry.get_by_role("button", name="Undo").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("table.audit tbody tr").nth(1).locator(".undone")).to_be_visible()
    assert server.run(_groups_of, ids) == before


def test_the_assign_dialog_by_keyboard_alone(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    ids = open_sued_companies(page, server)
    before = server.run(_groups_of, ids[:1])

    # tick the first row with Space
    box = page.locator(f"#row-{ids[0]} input[data-select-id]")
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    # Shift+Tab back to the Actions menu of the selection bar: Enter opens it, Tab, Enter
    summary = page.locator("#bulk summary")
    for _ in range(10):
        if summary.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Shift+Tab")
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#bulk").get_by_role("button", name="Assign group")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#dialog")
    select = dialog.locator("#assign-group")
    expect(select).to_be_focused()

    # Esc closes the dialog; open it again
    page.keyboard.press("Escape")
    expect(dialog).not_to_have_attribute("open", "")
    summary.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(select).to_be_focused()

    # choose Nord by typing, Tab to the people checkbox, Space, Enter: the confirmation
    page.keyboard.type("Nord")
    expect(select.locator("option:checked")).to_have_text(re.compile("^Nord"))
    expect(dialog.locator("#assign-preview p[data-count=companies]")).to_be_visible()  # the counts came
    expect(dialog.locator(".badge[data-count=people]")).to_have_text(str(len(before["people"])))
    people = dialog.locator("input[name=cascade][value=people]")
    for _ in range(6):
        if people.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(people).to_be_focused()
    if not people.is_checked():
        page.keyboard.press("Space")
    expect(people).to_be_checked()
    page.keyboard.press("Enter")
    assign = dialog.get_by_role("button", name="Assign")
    expect(assign).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).not_to_have_attribute("open", "")
    after = server.run(_groups_of, ids[:1])
    assert set(after["companies"].values()) == {"Nord"}
    assert set(after["people"].values()) <= {"Nord"}


def test_enter_right_after_the_confirmation_appears_does_not_reload_the_page(kontor, new_page):
    """The dialog takes the focus only once htmx has wired up its new form; an Enter before that
    must not send the form the browser's way (a page load that assigns nothing)."""
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    ids = open_sued_companies(page, server)
    page.evaluate("htmx.config.defaultSettleDelay = 1500")  # a wide window instead of 20 ms
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.locator(f"#row-{ids[0]} input[data-select-id]").check()
    page.locator("#bulk summary").click()
    page.locator("#bulk").get_by_role("button", name="Assign group").click()
    dialog = page.locator("dialog#dialog")
    dialog.locator("#assign-group").select_option(label="Nord")
    dialog.get_by_role("button", name="Continue").click()
    dialog.locator("ul.moving").wait_for(state="attached")
    page.keyboard.press("Enter")  # at once: the new form is swapped in, not settled yet
    assign = dialog.get_by_role("button", name="Assign")
    expect(assign).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).not_to_have_attribute("open", "")
    assert navigations == [], navigations
    assert set(server.run(_groups_of, ids[:1])["companies"].values()) == {"Nord"}


def test_the_focus_stays_on_a_cascade_box_when_the_counts_refresh(kontor, new_page):
    """The counts come after the group is chosen; a keyboard user may have tabbed on already."""
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    ids = open_sued_companies(page, server)
    page.locator(f"#row-{ids[0]} input[data-select-id]").check()
    page.locator("#bulk summary").click()
    page.locator("#bulk").get_by_role("button", name="Assign group").click()
    dialog = page.locator("dialog#dialog")
    dialog.locator("#assign-group").select_option(label="Nord")
    expect(dialog.locator("#assign-preview p[data-count=companies]")).to_be_visible()
    people = dialog.locator("input[name=cascade][value=people]")
    people.focus()
    page.keyboard.press("Space")
    # the counts arrive (again) while the focus is on the box
    with page.expect_response(re.compile(r"step=preview")):
        dialog.locator("#assign-group").evaluate("s => htmx.trigger(s, 'change')")
    page.wait_for_timeout(100)  # htmx restores the focus when it settles
    expect(people).to_be_focused()
    expect(people).to_be_checked()
