"""Files on a record page in the browser (issue 15), on a phone (390 x 844) and a laptop
(1280 x 800): several files chosen at once are uploaded with a progress bar, listed with size,
type and uploader; a file dropped onto the section is uploaded too; an image opens as an inline
preview; a file is deleted. No page is wider than the window, and axe-core finds no critical or
serious violation."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, settled
from .test_tasks_notes import BOSS, SIZES, first_company_url, fits_and_accessible

pytestmark = pytest.mark.browser

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

#: records every value the progress bar takes and whether it was shown (the page's own script sets
#: them; this only watches, through the DevTools protocol)
WATCH_PROGRESS = """() => {
    window.__progress = [];
    new MutationObserver(() => {
        const bar = document.querySelector('#files [data-files-progress]');
        if (bar && !bar.hidden) window.__progress.push(Number(bar.value));
    }).observe(document.getElementById('files'), {attributes: true, subtree: true, childList: true});
}"""


@SIZES
def test_upload_with_progress_preview_and_delete(kontor, new_page, width, height):
    server = kontor("schmidt")
    page = new_page(width=width, height=height)
    login(page, server, BOSS)
    first_company_url(page, server)
    section = page.locator("#files")
    expect(section.get_by_role("heading", name=re.compile("Dateien"))).to_be_visible()
    fits_and_accessible(page, "a company with no files")

    page.evaluate(WATCH_PROGRESS)
    section.locator('input[type="file"]').set_input_files([
        {"name": "Angebot Müller.txt", "mimeType": "text/plain", "buffer": ("Grüße\n" * 40_000).encode()},
        {"name": "Logo.png", "mimeType": "image/png", "buffer": PNG},
    ])
    section.get_by_role("button", name="Hochladen").click()
    expect(section.locator("tbody tr")).to_have_count(2)
    progress = page.evaluate("() => window.__progress")
    assert progress and progress[-1] == 100, f"the progress bar never showed the upload: {progress}"
    row = section.locator("tbody tr", has_text="Angebot Müller.txt")
    expect(row).to_contain_text("text/plain")
    expect(row).to_contain_text(re.compile(r"\d+(,\d)? KB"))
    expect(row).to_contain_text("Claudia Schmidt")
    fits_and_accessible(page, "a company with two files")

    # dropped onto the section
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File(['abgelegt'], 'Abgelegt.txt', {type: 'text/plain'}));
        const zone = document.getElementById('files');
        zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    }""")
    expect(section.locator("tbody tr")).to_have_count(3)
    expect(section).to_contain_text("Abgelegt.txt")

    # the image opens inline in a new tab; the text file has no preview
    text_row = section.locator("tbody tr", has_text="Angebot Müller.txt")
    expect(text_row.get_by_role("link", name="Vorschau")).to_have_count(0)
    with page.expect_popup() as popup_info:
        section.locator("tbody tr", has_text="Logo.png").get_by_role("link", name="Vorschau").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.evaluate("() => document.contentType") == "image/png"
    popup.close()

    # delete, after the browser's confirmation
    page.once("dialog", lambda dialog: dialog.accept())
    section.locator("tbody tr", has_text="Abgelegt.txt").get_by_role("button", name=re.compile("löschen")).click()
    settled(page)
    expect(section.locator("tbody tr")).to_have_count(2)
    page.reload()
    settled(page)
    expect(page.locator("#files tbody tr")).to_have_count(2)
