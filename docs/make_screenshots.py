"""Regenerate the README's screenshots: `make screenshots` (or `python docs/make_screenshots.py`).

Starts Kontor with the Schmidt demo data (a temporary SQLite database, or PostgreSQL when
DATABASE_URL is set) and writes docs/screenshots/*.png, taken in Debian's Chromium.
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser.live import (  # noqa: E402
    CHROMIUM,
    DEMO_PASSWORD,
    Databases,
    LiveServer,
    launch_chromium,
)

OUT = ROOT / "docs" / "screenshots"
ADMIN = "claudia.schmidt@schmidt.example"  # in Nord and Süd
NORD = "lars.petersen@schmidt.example"  # Vertrieb Nord


def log_in(page, server: LiveServer, email: str) -> None:
    page.goto(server.url("/login"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("header.topbar")).to_be_visible()


def shot(page, name: str, full_page: bool = False, clip_to: str | None = None) -> Path:
    path = OUT / f"{name}.png"
    page.wait_for_load_state("networkidle")
    if clip_to:
        page.locator(clip_to).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    print(f"  {path.relative_to(ROOT)}")
    return path


def _a_sued_company(server: LiveServer) -> tuple[int, str]:
    def find():
        from sqlalchemy import select

        from crm.extensions import db
        from crm.groups.models import Group
        from crm.records.models import Company

        row = db.session.execute(
            select(Company.id, Company.name).join(Group, Group.id == Company.group_id)
            .where(Group.name == "Süd").order_by(Company.name).limit(1)).one()
        return row.id, row.name

    return server.run(find)


def take_all(server: LiveServer, browser, locale: str) -> None:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, server, ADMIN)

    # 1. the companies list with a selection, 2. the assign dialog with its cascade counts
    page.goto(server.url("/companies"))
    boxes = page.locator("#record-list tbody input[data-select-id]")
    for i in (0, 1, 3):
        if boxes.count() > i:
            boxes.nth(i).check()
    shot(page, "list-selection")
    if page.locator("#bulk summary").count():
        page.locator("#bulk summary").click()
        page.locator("#bulk button[hx-post$='/assign']").click()
        dialog = page.locator("dialog#dialog")
        dialog.locator("select[name=target_id]").select_option(label="Süd")
        expect(dialog.locator("#assign-preview p[data-count=companies]")).to_be_visible()
        dialog.locator("input[name=cascade][value=people]").check()
        dialog.locator("input[name=cascade][value=deals]").check()
        page.wait_for_timeout(300)  # the modal's fade-in
        shot(page, "cascade-dialog")
        page.keyboard.press("Escape")

    # 3. group settings: members and record counts per group
    page.goto(server.url("/settings/groups"))
    shot(page, "group-settings")

    # 4. the pipeline (once the deals pipeline exists)
    resp = page.goto(server.url("/deals/pipeline"))
    if resp is not None and resp.ok:
        shot(page, "pipeline", full_page=True)

    # 4a. the impact preview: what adding Lars Petersen to Süd would change, before saving
    page.goto(server.url("/settings/groups"))
    page.locator("table.groups").get_by_role("link", name="Süd", exact=True).click()
    page.locator("#member-q").fill("lars")
    page.locator("section.members #member-q + button").click()
    found = page.locator("section.members fieldset").last
    expect(found.get_by_role("checkbox")).to_have_count(1)
    found.get_by_role("checkbox").check()
    page.locator("section.members button[name=preview]").click()
    expect(page.locator("#impact tbody tr").first).to_be_visible()
    shot(page, "impact-preview", clip_to="#impact")

    # 4b. the access review: users x groups, and what each sees per type
    page.set_viewport_size({"width": 1680, "height": 760})  # (the counts table is wide)
    page.goto(server.url("/settings/access-review"))
    shot(page, "access-review")
    context.close()

    # 5. what a Nord salesman sees of a Süd company: name, group, shared field - nothing else
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, server, NORD)
    company_id, name = _a_sued_company(server)
    page.goto(server.url("/companies"))
    page.locator("#filter-q").fill("")
    shot(page, "restricted-list")
    page.goto(server.url(f"/companies/{company_id}"))
    shot(page, "restricted-view")

    # 6. live search in the header: restricted hits carry the lock
    page.goto(server.url("/"))
    page.locator("#global-search").press_sequentially(re.split(r"\s", name)[0][:5], delay=60)
    expect(page.locator("#search-live .live-hit").first).to_be_visible()
    shot(page, "live-search")
    context.close()

    # 7. the trade-fair scene on a phone: the Nord salesman looks up a Süd customer
    context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = context.new_page()
    log_in(page, server, NORD)
    page.goto(server.url(f"/companies/{company_id}"))
    shot(page, "phone-restricted-view")
    context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locale", default="de-DE", help="browser language (default: de-DE, Kontor's default)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"No Chromium at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 1
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        databases = Databases(Path(tmp), tag="shots")
        server = LiveServer(databases.copy("schmidt")).start()
        try:
            with sync_playwright() as p:
                browser = launch_chromium(p)
                take_all(server, browser, args.locale)
                browser.close()
        finally:
            server.stop()
            databases.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
