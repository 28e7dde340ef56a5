"""Export CSV from a list: a small list downloads at once; a large one opens the page that starts
the export as a job (a new-user trial's browser saved that page as "export.html" instead)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.browser

ADMIN = "claudia.schmidt@schmidt.example"


def test_a_small_list_downloads_its_csv(kontor, new_page, tmp_path):
    server = kontor("schmidt")
    page = new_page()
    login(page, server, ADMIN)
    page.goto(server.url("/companies"))
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV exportieren").click()
    path = tmp_path / "companies.csv"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(".csv")
    assert path.read_text(encoding="utf-8-sig").splitlines()[0].startswith("id,access,group,name,")
    expect(page).to_have_url(re.compile(r"/companies$"))


def test_a_large_list_opens_the_page_that_starts_the_export(kontor, new_page):
    server = kontor("schmidt", config={"EXPORT_JOB_ROWS": 1})
    page = new_page()
    login(page, server, ADMIN)
    page.goto(server.url("/companies"))
    page.get_by_role("link", name="CSV exportieren").click()
    expect(page).to_have_url(re.compile(r"/companies/export\.csv"))
    expect(page.get_by_role("heading", level=1)).to_have_text("CSV-Export")
    page.get_by_role("button", name="Export starten").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_role("button", name="CSV-Datei herunterladen")).to_be_visible()
