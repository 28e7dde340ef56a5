"""Long actions (bulk assign, saving an import, undoing it) show that they run and cannot be sent
twice; the token page follows post/redirect/get."""
from __future__ import annotations

import io
import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"


def slow_runs(server, seconds: float) -> None:
    """Make the run step of every bulk action take ``seconds`` (as 16,800 records would)."""
    inner = server.app.wsgi_app

    def wsgi(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and "/bulk/" in environ["PATH_INFO"]:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            if b"step=run" in body:
                time.sleep(seconds)
        return inner(environ, start_response)

    server.app.wsgi_app = wsgi


def test_bulk_assign_shows_it_runs_and_cannot_be_sent_twice(kontor, new_page):
    server = kontor("schmidt")
    slow_runs(server, 2.0)
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    runs = []
    page.on("request", lambda r: runs.append(r.url) if "step=run" in (r.post_data or "") else None)
    page.goto(server.url("/companies"))
    settled(page)
    for box in page.locator("#record-list input[data-select-id]").all()[:2]:
        box.check()
    page.locator("#bulk summary").click()
    page.locator("#bulk").get_by_role("button", name="Assign group").click()
    dialog = page.locator("dialog#dialog")
    dialog.locator("#assign-group").select_option(index=1)
    settled(page)
    dialog.get_by_role("button", name="Continue").click()
    assign = dialog.get_by_role("button", name="Assign", exact=True)
    expect(assign).to_be_focused()
    settled(page)
    assign.click()
    expect(assign).to_be_disabled()
    expect(dialog.get_by_role("button", name="Back")).to_be_disabled()
    expect(dialog.get_by_role("status")).to_have_text(re.compile("Assigning"))
    expect(dialog.get_by_role("status")).to_be_visible()
    assign.click(force=True)  # a second click while it runs does nothing
    page.keyboard.press("Enter")
    # (the run takes 2 s here; on a loaded machine the request took 13 s once: room for that)
    expect(dialog).not_to_have_attribute("open", "", timeout=30_000)
    settled(page)
    assert len(runs) == 1, runs


def test_reloading_the_token_page_issues_no_new_token(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    page.goto(server.url("/profile"))
    page.locator("#api-token").get_by_role("button", name="Create token").click()
    expect(page).to_have_url(re.compile(r"/profile#api-token$"))
    token = page.locator("#new-token").inner_text().strip()
    assert len(token) >= 32
    page.reload()  # a GET now: no "resend the form?" and no second token
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("#api-token")).to_contain_text("You have a token")
    assert page.evaluate("""async t => (await fetch('/api/v1/companies',
        {headers: {Authorization: 'Bearer ' + t}})).status""", token) == 200


def slow_posts(server, path_end: str, seconds: float) -> list[str]:
    """Make every POST to a path ending in ``path_end`` take ``seconds``; the list collects them."""
    inner = server.app.wsgi_app
    seen: list[str] = []

    def wsgi(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith(path_end):
            seen.append(environ["PATH_INFO"])
            time.sleep(seconds)
        return inner(environ, start_response)

    server.app.wsgi_app = wsgi
    return seen


def test_an_import_is_saved_once_and_its_undo_asks_first_and_runs_once(kontor, new_page):
    server = kontor("schmidt")
    saves = slow_posts(server, "/map", 1.5)
    undos = slow_posts(server, "/undo", 1.5)
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    page.goto(server.url("/import"))
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "neu.csv", "mimeType": "text/csv", "buffer": b"Name\nEins GmbH\nZwei GmbH\n"}])
    page.get_by_role("button", name="Upload and choose columns").click()
    expect(page.get_by_role("button", name="Import 2 rows")).to_be_visible()
    page.wait_for_load_state("load")  # app.js (deferred) has wired the form
    page.locator("#group_id").select_option(label="Basis")  # (several groups, no default: she chooses)
    settled(page)
    # Click, then 50 ms later (the answer takes 1.5 s) look and try again: by the button and
    # by sending the form once more (Enter in a field does that)
    assert page.evaluate(SEND_TWICE, "Import 2 rows") == [True, "true"]
    expect(page.locator("#import-status")).to_contain_text("2 Companies were imported.")
    assert len(saves) == 1, saves
    settled(page)  # the result is a new page: its scripts (the send-once guard) run after it shows

    page.get_by_text("Undo this import…").click()
    expect(page.get_by_role("button", name="Undo: delete 2 records")).to_be_visible()
    assert page.evaluate(SEND_TWICE, "Undo: delete 2 records") == [True, "true"]
    expect(page.locator("main")).to_contain_text("This import was undone")
    assert len(undos) == 1, undos


#: Click the button named so, and 50 ms later: is it disabled and busy? Click it and send its form again.
SEND_TWICE = """name => {
    const b = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === name);
    b.click();
    return new Promise(done => setTimeout(() => {
        const seen = [b.disabled, b.getAttribute('aria-busy')];
        b.click();
        b.form.requestSubmit();
        done(seen);
    }, 50));
}"""
