"""An admin switches the group system on, creates groups Nord and Süd with members, shares a custom
field with them, puts a company into Süd; a Nord salesman then sees it restricted."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import login
from .live import DEMO_PASSWORD, FRESH_ADMIN

pytestmark = pytest.mark.browser


def _staff_and_customers():
    from crm.auth.services import create_user
    from crm.customfields.models import CustomField
    from crm.extensions import db
    from crm.records.models import Company

    create_user("lars.petersen@firma.example", DEMO_PASSWORD, "normal", "Lars Petersen")
    create_user("franz.huber@firma.example", DEMO_PASSWORD, "normal", "Franz Huber")
    db.session.add(Company(name="Alpenland Logistik GmbH", website="https://alpenland.example", group_id=1))
    db.session.add(Company(name="Küstenfracht Nord AG", group_id=1))
    db.session.add(CustomField(entity="company", name="Kundenstatus", kind="select", position=1,
                               options=["Top-Kunde", "Stammkunde"]))
    db.session.commit()


def settings_link(page, name: str):
    return page.locator(".settings-nav").get_by_role("link", name=name)


def test_admin_sets_up_groups_and_a_shared_field(kontor, new_page):
    server = kontor("fresh")
    server.run(_staff_and_customers)
    page = new_page(locale="en-GB")
    login(page, server, FRESH_ADMIN[0])

    # -- the extension is off: no group UI; switch it on ------------------------------------------
    page.locator("header.topbar").get_by_role("link", name="Settings").click()
    expect(settings_link(page, "Groups")).to_have_count(0)
    settings_link(page, "Extensions").click()
    expect(page.locator("#groups_enabled")).not_to_be_checked()
    page.locator("#groups_enabled").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success")).to_contain_text("The group system is now on.")
    expect(page.locator("#groups_enabled")).to_be_checked()

    # -- groups Nord and Süd with their members; the admin, like the boss, joins both ------------
    settings_link(page, "Groups").click()
    for name, member in (("Nord", "Lars Petersen"), ("Süd", "Franz Huber")):
        page.locator("#name").fill(name)
        page.get_by_label(member).check()
        page.get_by_label(FRESH_ADMIN[1]).check()
        page.get_by_role("button", name="Create group").click()
        expect(page.locator(".flash-success")).to_contain_text(f"Group {name} was created.")
    rows = page.locator("table.groups tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="Nord")).to_contain_text("Lars Petersen")
    expect(rows.filter(has_text="Süd")).to_contain_text("Franz Huber")
    expect(rows.filter(has_text="Basis")).to_contain_text("everyone (3)")
    # a second group of the same name is refused, and the form keeps what was typed
    page.locator("#name").fill("nord")
    page.get_by_label("Franz Huber").check()
    page.watch.allow(400, r"^/settings/groups$")
    page.get_by_role("button", name="Create group").click()
    expect(page.locator(".field.has-error")).to_be_visible()
    expect(page.locator("#name")).to_have_value("nord")
    expect(page.get_by_label("Franz Huber")).to_be_checked()

    # -- the field Kundenstatus, shared with Nord and Süd -----------------------------------------
    settings_link(page, "Custom fields").click()
    page.locator("#fields-company").get_by_role("link", name="Kundenstatus").click()
    page.get_by_label("Nord").check()
    page.get_by_label("Süd").check()
    page.get_by_role("button", name="Save").click()
    shared = page.locator("#fields-company tr", has_text="Kundenstatus")
    expect(shared.locator(".badge.group")).to_have_text(["Nord", "Süd"])

    # -- the audit log tells what happened ----------------------------------------------------------
    settings_link(page, "Audit log").click()
    log = page.locator("table.audit")
    expect(log).to_contain_text("Nord")
    expect(log).to_contain_text("Süd")
    expect(log).to_contain_text("Kundenstatus")
    # switch, 2 groups, 4 members, 1 sharing, and 3 default groups: Lars's and Franz's only group became
    # theirs, and the admin's first one (the second does not replace it)
    expect(log.locator("tbody tr")).to_have_count(11)
    expect(log.locator("tbody tr", has_text="set the default group of")).to_have_count(3)

    # -- a company goes to Süd (by its form), with a Kundenstatus ---------------------------------
    page.locator("header.topbar").get_by_role("link", name="Companies").click()
    page.locator("#record-list").get_by_role("link", name="Alpenland Logistik GmbH").click()
    expect(page).to_have_url(re.compile(r"/companies/\d+$"))
    company_url = page.url
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Kundenstatus").select_option("Top-Kunde")
    page.locator("#group_id").select_option(label="Süd")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(company_url)
    expect(page.locator("h1 .badge.group")).to_have_text("Süd")

    # -- Lars (Nord) sees it restricted: name, lock, group, the shared field - nothing else -------
    lars = new_page(locale="en-GB")
    login(lars, server, "lars.petersen@firma.example")
    lars.locator("header.topbar").get_by_role("link", name="Companies").click()
    row = lars.locator("#record-list tbody tr", has_text="Alpenland Logistik GmbH")
    expect(row).to_have_class(re.compile(r"\brestricted\b"))
    expect(row.locator(".lock")).to_be_visible()
    expect(row).not_to_contain_text("alpenland.example")
    row.get_by_role("link", name="Alpenland Logistik GmbH").click()
    expect(lars).to_have_url(company_url)
    expect(lars.locator("h1 .lock")).to_be_visible()
    expect(lars.locator("h1 .badge.group")).to_have_text("Süd")
    expect(lars.locator("dl.shared")).to_contain_text("Kundenstatus")
    expect(lars.locator("dl.shared")).to_contain_text("Top-Kunde")
    expect(lars.locator("#main")).not_to_contain_text("alpenland.example")
    expect(lars.get_by_role("button", name="Edit")).to_have_count(0)
    # the other company stayed in Basis: full
    lars.go_back()
    expect(lars.locator("#record-list tbody tr", has_text="Küstenfracht Nord AG")).not_to_have_class(
        re.compile(r"\brestricted\b"))
