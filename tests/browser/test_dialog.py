"""The shared <dialog id="dialog"> (static/app.js)."""
from __future__ import annotations

import pytest

from .conftest import login

pytestmark = pytest.mark.browser


def test_a_dialog_opened_again_before_the_close_event_keeps_its_content(kontor, page):
    """Closing empties the dialog - by its close event, which comes queued, later. A dialog opened
    again in between (Esc, and at once the next action) must keep its new content."""
    server = kontor("schmidt")
    login(page, server, "claudia.schmidt@schmidt.example")
    page.evaluate("""() => {
        const d = document.getElementById('dialog');
        d.innerHTML = '<article><p>first</p></article>';
        d.showModal();
        d.close();
        d.innerHTML = '<article><p>second</p></article>';
        d.showModal();
    }""")
    page.wait_for_timeout(200)
    assert page.locator("dialog#dialog").evaluate("d => [d.open, d.textContent]") == [True, "second"]
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert page.locator("dialog#dialog").evaluate("d => [d.open, d.innerHTML]") == [False, ""]
