"""Each example user of the feature text logs in and sees exactly their part (product.md §4, §7).

What a user should see is worked out here from the rows and memberships in the database, by the
rule of product.md §4 (not by crm.visibility): full = the record's group is one of the user's
(Basis included); restricted = otherwise, if a custom field of the type is shared with one of the
user's groups; hidden = otherwise. The browser must show exactly that on the four lists, the
detail pages and the search.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.browser

PLURALS = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}


@dataclass
class Part:
    """The records of one type, by what the user may see of them: id -> (name, group name)."""

    full: dict[int, tuple[str, str]]
    restricted: dict[int, tuple[str, str]]
    hidden: dict[int, tuple[str, str]]


def expected_parts(email: str) -> dict[str, Part]:
    from sqlalchemy import select

    from crm.auth.models import User
    from crm.customfields.models import CustomField
    from crm.extensions import db
    from crm.groups.models import BASIS_ID, Group
    from crm.records.models import MODELS

    user = db.session.scalar(select(User).where(User.email == email))
    groups = {g.id: g for g in db.session.scalars(select(Group))}
    mine = {BASIS_ID} | {gid for gid, g in groups.items() if user in g.members}
    shared_types = {f.entity for f in db.session.scalars(select(CustomField))
                    if any(g.id in mine for g in f.shared_with)}
    parts = {}
    for key, model in MODELS.items():
        part = Part({}, {}, {})
        for rec in db.session.scalars(select(model)):
            entry = (rec.display_name, groups[rec.group_id].name)
            if rec.group_id in mine:
                part.full[rec.id] = entry
            elif key in shared_types:
                part.restricted[rec.id] = entry
            else:
                part.hidden[rec.id] = entry
        parts[key] = part
    return parts


def list_rows(page, server, plural: str) -> tuple[int, dict[int, bool]]:
    """The count the list states, and every row over all its pages: id -> restricted?"""
    rows: dict[int, bool] = {}
    page.goto(server.url(f"/{plural}"))
    count_text = page.locator("#list-count").inner_text()
    count = int(re.sub(r"[^\d]", "", count_text))
    for n in range(1, 100):
        if n > 1:
            page.goto(server.url(f"/{plural}?page={n}"))
        found = page.locator("#record-list tbody tr").evaluate_all(
            "trs => trs.map(tr => [tr.id, tr.classList.contains('restricted'), !!tr.querySelector('.lock')])")
        if not found:
            break
        for row_id, restricted, lock in found:
            assert restricted == lock, f"{row_id}: a restricted row shows the lock, a full one does not"
            rows[int(row_id.removeprefix("row-"))] = restricted
        if page.locator("#record-list a[rel=next]").count() == 0:
            break
    return count, rows


def not_found_page(page, server, url: str) -> str:
    page.watch.allow(404, "^" + re.escape(url) + "$")
    resp = page.goto(server.url(url))
    assert resp.status == 404, url
    return page.locator("#main").inner_html()


USERS = [
    # (example, email, what the case is about)
    ("schmidt", "lars.petersen@schmidt.example", "Vertrieb Nord: Nord and Basis, Süd companies restricted"),
    ("schmidt", "franz.huber@schmidt.example", "Vertrieb Süd: Süd and Basis, Nord companies restricted"),
    ("schmidt", "claudia.schmidt@schmidt.example", "the boss (admin, Nord and Süd): everything"),
    ("meier", "tim.brandt@callcenter.example", "external agent: only Leads, nothing of Company"),
    ("mueller", "jonas.schaefer@mueller.example", "sales: contacts and projects, no deals (Finanzen)"),
    ("mueller", "thomas.berger@mueller.example", "accounting, in Finanzen: everything"),
]


@pytest.mark.parametrize(("example", "email", "case"), USERS, ids=[u[1].split("@")[0] for u in USERS])
def test_each_user_sees_exactly_their_part(kontor, new_page, example, email, case):
    server = kontor(example)
    parts = server.run(expected_parts, email)
    page = new_page(locale="en-GB")
    login(page, server, email)

    # -- the four lists: count, rows, restricted marks - exactly the visible part ------------------
    for key, plural in PLURALS.items():
        part = parts[key]
        count, rows = list_rows(page, server, plural)
        visible = part.full.keys() | part.restricted.keys()
        assert count == len(visible), f"{plural}: the count"
        assert rows.keys() == visible, f"{plural}: the rows"
        assert {i for i, r in rows.items() if r} == part.restricted.keys(), f"{plural}: restricted rows"
        if not visible:
            expect(page.locator("#record-list .empty")).to_be_visible()

    # -- a restricted record: name, lock, group and shared field; no details, no edit -------------
    restricted = parts["company"].restricted
    if restricted:
        rid, (name, group) = min(restricted.items())
        page.goto(server.url(f"/companies/{rid}"))
        expect(page.locator("h1")).to_contain_text(name)
        expect(page.locator("h1 .lock")).to_be_visible()
        expect(page.locator("h1 .badge.group")).to_have_text(group)
        expect(page.locator("dl.shared")).to_contain_text("Kundenstatus")
        expect(page.locator("#main .placeholder").first).to_be_visible()
        expect(page.get_by_role("button", name="Edit")).to_have_count(0)
        page.watch.allow(403, rf"^/companies/{rid}/edit$")
        assert page.goto(server.url(f"/companies/{rid}/edit")).status == 403

    # -- a hidden record: its URL is the very 404 page of an id that never existed ----------------
    hidden = [(PLURALS[k], i, n) for k in PLURALS for i, (n, _g) in sorted(parts[k].hidden.items())]
    unused = not_found_page(page, server, "/deals/987654")
    if hidden:
        plural, hid, name = hidden[0]
        assert not_found_page(page, server, f"/{plural}/{hid}") == unused
        # ... and the search does not know it either
        page.goto(server.url(f"/search?q={name.split()[0]}"))
        expect(page.locator(f"#main a[href='/{plural}/{hid}']")).to_have_count(0)
    else:
        assert case.endswith("everything")


def _company_group_names():
    from sqlalchemy import select

    from crm.extensions import db
    from crm.groups.models import Group
    from crm.records.models import Company

    return list(db.session.scalars(select(Company.name).join(Group, Group.id == Company.group_id)
                                   .where(Group.name == "Company").order_by(Company.name)))


def test_meier_external_agents_see_nothing_of_company(kontor, new_page):
    server = kontor("meier")
    names = server.run(_company_group_names)
    assert names
    page = new_page(locale="en-GB")
    login(page, server, "aylin.demir@callcenter.example")
    for plural in PLURALS.values():
        page.goto(server.url(f"/{plural}"))
        for name in names:
            expect(page.locator("#main")).not_to_contain_text(name)
    page.goto(server.url("/deals"))
    expect(page.locator("#record-list .empty")).to_be_visible()
    # typed into the live search: not even a restricted hit
    page.goto(server.url("/"))
    page.locator("#global-search").press_sequentially(names[0].split()[0], delay=30)
    expect(page.locator("#search-live li").first).to_be_visible()
    for name in names:
        expect(page.locator("#search-live")).not_to_contain_text(name)
    expect(page.locator("#events")).not_to_contain_text(names[0])
