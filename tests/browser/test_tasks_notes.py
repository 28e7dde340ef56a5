"""Tasks, notes and edit conflicts in the browser (issue 14), on a phone (390 x 844) and a laptop
(1280 x 800): a task is rescheduled with a quick choice and edited; a note is edited in place and
then says "(bearbeitet)", with the focus kept on it; an edit conflict shows both versions field by
field, takes the current value of a ticked field and keeps the other window's change of a field
this one never touched. No page is wider than the window, and
axe-core finds no critical or serious violation in any of these states."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.factories import account_today

from .axe import axe_violations
from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"
SIZES = pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)], ids=["phone", "laptop"])


def fits_and_accessible(page, what: str) -> None:
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"{what}: the page is {sizes[0]} px wide in a {sizes[1]} px window"
    problems = axe_violations(page)
    assert not problems, f"{what}: axe-core found\n" + "\n".join(problems)


def first_company_url(page, server) -> str:
    page.goto(server.url("/companies"))
    settled(page)
    page.locator("#record-list tbody tr a").first.click()
    expect(page).to_have_url(re.compile(r"/companies/\d+$"))
    settled(page)
    return page.url


@SIZES
def test_reschedule_a_task_to_tomorrow_and_edit_it(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)
    page.goto(server.url("/tasks"))
    settled(page)
    yesterday = account_today() - timedelta(days=1)
    form = page.locator("aside form")
    form.locator("#title").fill("Rückruf Messe")
    form.locator("#due_date").fill(yesterday.isoformat())
    form.locator("button[type=submit]").click()
    settled(page)
    row = page.locator("li.task", has_text="Rückruf Messe")
    expect(row).to_have_class(re.compile(r"\boverdue\b"))
    expect(page.locator("section.task-group-overdue")).to_contain_text("Rückruf Messe")
    fits_and_accessible(page, "/tasks with an overdue task")
    row.get_by_role("button", name="morgen").click()
    settled(page)
    expect(row).not_to_have_class(re.compile(r"\boverdue\b"))
    tomorrow = account_today() + timedelta(days=1)
    expect(row).to_contain_text(f"{tomorrow.day:02d}.{tomorrow.month:02d}.{tomorrow.year}")
    # after a reload the task is in its new group
    page.reload()
    settled(page)
    expect(page.locator("section.task-group-overdue")).to_have_count(0)
    # edit: a new title and "next week" from the quick choices
    page.locator("li.task", has_text="Rückruf Messe").get_by_role("link", name=re.compile("bearbeiten")).click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+/edit"))
    settled(page)
    fits_and_accessible(page, "a task's edit form")
    page.locator("#title").fill("Rückruf nach der Messe")
    page.get_by_role("button", name="nächste Woche").click()
    monday = account_today() + timedelta(days=7 - account_today().weekday())
    expect(page.locator("#due_date")).to_have_value(monday.isoformat())
    page.get_by_role("button", name="Speichern").click()
    expect(page).to_have_url(re.compile(r"/tasks"))
    settled(page)
    expect(page.locator("li.task", has_text="Rückruf nach der Messe")).to_be_visible()


@SIZES
def test_edit_a_note_in_place(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)
    first_company_url(page, server)
    page.locator("#notes .note-form textarea").fill("Angebot per Post")
    page.locator("#notes .note-form button[type=submit]").click()
    note = page.locator("#note-items li.note", has_text="Angebot per Post")
    expect(note).to_be_visible()
    settled(page)
    note.get_by_role("link", name=re.compile("bearbeiten")).click()
    editing = page.locator("#note-items li.note-editing")
    expect(editing.locator("textarea")).to_be_focused()
    settled(page)
    fits_and_accessible(page, "a note's edit form")
    # an empty text is refused: the field says why and has the focus
    editing.locator("textarea").fill("")
    page.watch.allow(422, r"^/notes/\d+/edit$")
    editing.get_by_role("button", name="Speichern").click()
    settled(page)
    expect(page.locator("#note-items li.note-editing textarea")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#note-items li.note-editing textarea")).to_be_focused()
    page.locator("#note-items li.note-editing textarea").fill("Angebot per E-Mail")
    page.locator("#note-items li.note-editing").get_by_role("button", name="Speichern").click()
    saved = page.locator("#note-items li.note", has_text="Angebot per E-Mail")
    expect(saved).to_contain_text("(bearbeitet)")
    settled(page)
    expect(saved).to_be_focused()
    fits_and_accessible(page, "a company with an edited note")


@SIZES
def test_an_edit_conflict_shows_both_versions(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)
    url = first_company_url(page, server)
    page.goto(url + "/edit")
    settled(page)
    # meanwhile, in another window, the same record gets a new background
    other = new_page(width=width, height=height)
    login(other, server, BOSS)
    other.goto(url + "/edit")
    other.locator("#background").fill("Von der anderen Seite")
    other.locator("#name").fill("Umbenannt GmbH")  # a field the first window never touches
    other.locator("form.record-form button[type=submit]").click()
    expect(other).to_have_url(re.compile(r"/companies/\d+$"))
    page.watch.allow(409, r"^/companies/\d+/edit$")
    page.locator("#website").fill("https://meine-seite.example")
    page.locator("#background").fill("Meine Sicht")
    page.locator("form.record-form button[type=submit]").click()
    table = page.locator("table.conflict-table")
    expect(table).to_be_visible()
    row = table.locator("tr[data-field=background]")
    expect(row).to_have_class(re.compile(r"\bdiffers\b"))
    expect(row.locator("td.mine")).to_have_text("Meine Sicht")
    expect(row.locator("td.theirs")).to_have_text("Von der anderen Seite")
    # the name only the other window changed is taken over, not offered to be undone
    expect(table.locator("tr[data-field=name]")).to_have_class(re.compile(r"\bsame\b"))
    expect(page.locator("#name")).to_have_value("Umbenannt GmbH")
    settled(page)
    fits_and_accessible(page, "the edit conflict")
    # take theirs for the background, keep my website
    row.get_by_role("checkbox").check()
    page.locator("form.record-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/companies/\d+$"))
    expect(page.locator("main")).to_contain_text("Von der anderen Seite")
    expect(page.locator("main")).to_contain_text("Umbenannt GmbH")
    expect(page.locator("main")).to_contain_text("meine-seite.example")
    expect(page.locator("main")).to_contain_text("meine-seite.example")
